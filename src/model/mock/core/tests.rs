use super::*;
use crate::model::mock::{ConnectCondition, HeaderValue, MockRules};
use std::path::Path;

fn chat() -> MockCore {
    let text = include_str!("../../../../assets/mock/chat.ron");
    let rules = MockRules::from_ron(text, Path::new("chat.ron")).expect("chat.ron loads");
    MockCore::with_env(rules, |name| (name == "CHAT_TOKEN").then(|| "T".to_owned()))
        .expect("compiles")
}

fn request(token: Option<&str>) -> Request {
    Request {
        path: "/".into(),
        headers: token
            .map(|t| vec![("Authorization".to_owned(), format!("Bearer {t}"))])
            .unwrap_or_default(),
        peer: "127.0.0.1:5000".into(),
        ..Request::default()
    }
}

fn open(core: &mut MockCore, id: &str) {
    let (upgrade, effects) = core.connect(id, request(Some("T")));
    assert!(matches!(upgrade, Upgrade::Accept { .. }), "{upgrade:?}");
    assert!(effects.is_empty(), "{effects:?}");
    core.opened(id);
}

fn sends(effects: &[Effect]) -> Vec<(Vec<String>, String)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Send {
                to,
                message: Outgoing::Text(t),
            } => Some((to.clone(), t.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn the_chat_rules_route_join_talk_and_leave_by_action() {
    let mut core = chat();
    // No token, a wrong one: 401 with the body.
    for token in [None, Some("nope")] {
        let (upgrade, _) = core.connect("x", request(token));
        match upgrade {
            Upgrade::Refuse { status, body, .. } => {
                assert_eq!(status, 401);
                assert_eq!(body, r#"{"message":"Unauthorized"}"#);
            }
            other => panic!("{other:?}"),
        }
        assert!(
            core.connection("x").is_none(),
            "a refused client is forgotten"
        );
    }
    open(&mut core, "A");
    open(&mut core, "B");
    open(&mut core, "C");
    let joined = core.message(
        "A",
        true,
        br#"{"action":"join","room":"lobby","user":"alice"}"#,
    );
    assert_eq!(
        sends(&joined),
        vec![(
            vec!["A".to_owned()],
            r#"{"type":"joined","room":"lobby"}"#.to_owned()
        )]
    );
    assert_eq!(
        joined[0],
        Effect::Fired {
            rule: "join".into()
        }
    );
    core.message(
        "B",
        true,
        br#"{"action":"join","room":"lobby","user":"bob"}"#,
    );
    core.message(
        "C",
        true,
        br#"{"action":"join","room":"attic","user":"carol"}"#,
    );
    assert_eq!(core.group("lobby"), vec!["A", "B"]);
    // To every member of the room, the sender included, from the user who joined.
    let said = core.message(
        "B",
        true,
        br#"{"action":"sendmessage","room":"lobby","text":"hi all"}"#,
    );
    assert_eq!(
        sends(&said),
        vec![(
            vec!["A".to_owned(), "B".to_owned()],
            r#"{"type":"message","room":"lobby","from":"bob","text":"hi all"}"#.to_owned()
        )]
    );
    // An unknown action takes $default.
    let other = core.message("A", true, br#"{"action":"dance"}"#);
    assert_eq!(
        other[0],
        Effect::Fired {
            rule: "unknown action".into()
        }
    );
    let not_json = core.message("A", true, b"hello");
    assert_eq!(
        not_json[0],
        Effect::Fired {
            rule: "unknown action".into()
        }
    );
    let left = core.message("A", true, br#"{"action":"leave","room":"lobby"}"#);
    assert_eq!(sends(&left)[0].1, r#"{"type":"left"}"#);
    assert_eq!(core.group("lobby"), vec!["B"]);
    // $disconnect leaves every group.
    core.closed("B");
    assert!(core.group("lobby").is_empty());
    assert!(core.connection("B").is_none());
}

#[test]
fn connect_rules_refuse_or_fault_the_upgrade_and_continue_runs_the_next_rule() {
    let rules = MockRules {
        server: crate::model::mock::ServerSettings {
            subprotocols: vec!["v2.chat".into(), "v1.chat".into()],
            ..Default::default()
        },
        rules: vec![
            Rule {
                name: "no bots".into(),
                when: When::Connect(ConnectCondition {
                    headers: vec![HeaderValue {
                        name: "user-agent".into(),
                        value: "bot".into(),
                    }],
                    ..Default::default()
                }),
                then: vec![Then::Refuse {
                    status: 403,
                    body: "no bots on {{request.path}}".into(),
                }],
                ..Rule::default()
            },
            Rule {
                name: "slow".into(),
                when: When::Connect(ConnectCondition {
                    query: vec![HeaderValue {
                        name: "slow".into(),
                        value: String::new(),
                    }],
                    ..Default::default()
                }),
                then: vec![
                    Then::Fault(Fault::DelayUpgrade(500)),
                    Then::Set {
                        name: "speed".into(),
                        value: "slow:{{request.query.slow}}".into(),
                    },
                ],
                and_continue: true,
                ..Rule::default()
            },
            Rule {
                name: "welcome".into(),
                when: When::Route("$connect".into()),
                then: vec![Then::Reply(
                    "hello {{connection.id}} ({{connection.speed}})".into(),
                )],
                ..Rule::default()
            },
            Rule {
                name: "echo".into(),
                when: When::Message(crate::model::session::Matcher::Contains("ping".into())),
                then: vec![
                    Then::Reply("pong #{{counter}}: {{request.body}}".into()),
                    Then::Reply("{{nothing}}".into()),
                    Then::Reply("never".into()),
                ],
                ..Rule::default()
            },
        ],
        ..MockRules::default()
    };
    let mut core = MockCore::with_env(rules, |_| None).expect("compiles");
    let mut bot = request(None);
    bot.path = "/chat".into();
    bot.headers.push(("User-Agent".into(), "bot".into()));
    let (upgrade, _) = core.connect("bot", bot);
    assert_eq!(
        upgrade,
        Upgrade::Refuse {
            status: 403,
            body: "no bots on /chat".into(),
            why: "refused by rule 'no bots'".into()
        }
    );
    let mut slow = request(None);
    slow.query.push(("slow".into(), "1".into()));
    slow.subprotocols = vec!["v1.chat".into(), "v2.chat".into()];
    let (upgrade, effects) = core.connect("s", slow);
    assert_eq!(
        upgrade,
        Upgrade::Accept {
            subprotocol: Some("v2.chat".into()),
            faults: vec![Fault::DelayUpgrade(500)]
        },
        "the server's preference wins"
    );
    assert_eq!(
        sends(&effects),
        vec![(vec!["s".to_owned()], "hello s (slow:1)".to_owned())]
    );
    core.opened("s");
    let effects = core.message("s", true, b"ping!");
    assert_eq!(sends(&effects)[0].1, "pong #1: ping!");
    // A template that names nothing stops the rule there, said.
    assert!(matches!(
        effects.last(),
        Some(Effect::Failed { rule, why }) if rule == "echo" && why.contains("nothing")
    ));
    assert_eq!(sends(&effects).len(), 1);
    // A message matching no rule: nothing.
    assert!(core.message("s", true, b"other").is_empty());
}

#[test]
fn audiences_streams_and_bounds() {
    let rules = MockRules {
        rules: vec![
            Rule {
                name: "fan out".into(),
                when: When::Route("all".into()),
                then: vec![
                    Then::Send {
                        to: Audience::Others,
                        text: "from {{connection.id}}".into(),
                    },
                    Then::Send {
                        to: Audience::All,
                        text: "everyone".into(),
                    },
                    Then::Send {
                        to: Audience::Connection("{{request.body.to}}".into()),
                        text: "just you".into(),
                    },
                ],
                ..Rule::default()
            },
            Rule {
                name: "stream".into(),
                when: When::Route("stream".into()),
                then: vec![
                    Then::Stream {
                        count: 3,
                        interval_ms: 10,
                        text: "tick {{counter}}".into(),
                    },
                    Then::Delay(5),
                    Then::Close {
                        code: 4000,
                        reason: "done".into(),
                    },
                ],
                ..Rule::default()
            },
            Rule {
                name: "too much".into(),
                when: When::Route("flood".into()),
                then: vec![Then::Stream {
                    count: MAX_STREAM_COUNT + 1,
                    interval_ms: 0,
                    text: "x".into(),
                }],
                ..Rule::default()
            },
        ],
        ..MockRules::default()
    };
    let mut core = MockCore::with_env(rules, |_| None).expect("compiles");
    for id in ["a", "b", "c"] {
        open(&mut core, id);
    }
    // One still in its $connect route gets no broadcast.
    let (_, _) = core.connect("d", request(None));
    let effects = core.message("a", true, br#"{"action":"all","to":"c"}"#);
    assert_eq!(
        sends(&effects),
        vec![
            (vec!["b".to_owned(), "c".to_owned()], "from a".to_owned()),
            (
                vec!["a".to_owned(), "b".to_owned(), "c".to_owned()],
                "everyone".to_owned()
            ),
            (vec!["c".to_owned()], "just you".to_owned()),
        ]
    );
    let effects = core.message("a", true, br#"{"action":"all","to":"d"}"#);
    assert!(
        matches!(effects.last(), Some(Effect::Failed { why, .. }) if why.contains("no open connection d"))
    );
    let effects = core.message("b", true, br#"{"action":"stream"}"#);
    assert_eq!(
        effects[1..],
        [
            Effect::Stream {
                id: "b".into(),
                messages: vec!["tick 1".into(), "tick 2".into(), "tick 3".into()],
                interval_ms: 10
            },
            Effect::Delay(5),
            Effect::Close {
                id: "b".into(),
                code: 4000,
                reason: "done".into()
            },
        ]
    );
    let effects = core.message("b", true, br#"{"action":"flood"}"#);
    assert!(matches!(effects.last(), Some(Effect::Failed { why, .. }) if why.contains("at most")));
}

#[test]
fn a_rules_file_that_does_not_load_says_where_and_ids_look_like_api_gateways() {
    let err = MockRules::from_ron(
        "MockRules(\n  rules: [Rule(when: Nope)],\n)",
        Path::new("r.ron"),
    )
    .expect_err("bad");
    let text = err.to_string();
    assert!(text.starts_with("r.ron:2:"), "{text}");
    let too_new = MockRules::from_ron("MockRules(format_version: 99)", Path::new("r.ron"))
        .expect_err("newer");
    assert!(too_new.to_string().contains("update sockscope"));
    // Every field has a default; saved rules read back the same.
    let rules = MockRules::from_ron("MockRules()", Path::new("r.ron")).expect("empty loads");
    assert_eq!(rules.route_selection, "$request.body.action");
    let chat = chat();
    let again = MockRules::from_ron(&chat.rules().to_ron().expect("ron"), Path::new("x"))
        .expect("round trip");
    assert_eq!(&again, chat.rules());
    let id = new_connection_id();
    assert_eq!(id.len(), 16, "{id}");
    assert_ne!(id, new_connection_id());
    // A bad regex is said with its rule.
    let bad = MockRules {
        rules: vec![Rule {
            name: "r".into(),
            when: When::Message(crate::model::session::Matcher::Regex("(".into())),
            ..Rule::default()
        }],
        ..MockRules::default()
    };
    let err = MockCore::with_env(bad, |_| None).expect_err("bad regex");
    assert!(err.starts_with("rule 1 ('r'): invalid regex"), "{err}");
}

#[test]
fn hostile_messages_are_bounded_and_never_panic() {
    let mut core = chat();
    open(&mut core, "A");
    // Deep nesting, many fields, a huge body, non-UTF-8, an action that is not a string.
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let many = format!(
        "{{\"action\":\"join\",\"room\":\"r\",\"user\":\"u\",{}\"end\":1}}",
        (0..20_000)
            .map(|i| format!("\"k{i}\":{i},"))
            .collect::<String>()
    );
    let huge = format!(
        "{{\"action\":\"join\",\"room\":\"{}\"}}",
        "x".repeat(2 << 20)
    );
    for message in [
        deep.as_bytes(),
        many.as_bytes(),
        huge.as_bytes(),
        &[0xff, 0xfe, 0x00][..],
        br#"{"action":{"nested":[1,2]}}"#,
        br#"{"action":null}"#,
        br#"{"action":"join"}"#,
    ] {
        let _ = core.message("A", true, message);
        let _ = core.message("A", false, message);
    }
    // The many-field join ran (its room and user were read) and the huge one took $default (not read as JSON).
    assert!(core.group("r").contains(&"A".to_owned()));
    assert!(core.group(&"x".repeat(2 << 20)).is_empty());
    let _ = core.closed("A");
    let _ = core.closed("never connected");
    assert!(core.message("gone", true, b"{}").is_empty());
}
