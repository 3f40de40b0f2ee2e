use super::*;
use crate::model::endpoint::{Auth, HeaderRow};

fn sample() -> Session {
    let mut s = Session {
        name: "Chat".into(),
        notes: "API-Gateway style".into(),
        ..Session::default()
    };
    s.endpoint.url = "wss://{{host}}/prod".into();
    s.endpoint.headers.push(HeaderRow {
        name: "X-Api-Key".into(),
        value: "k-123".into(),
        secret: true,
        ..HeaderRow::default()
    });
    s.endpoint.headers.push(HeaderRow {
        name: "Authorization".into(),
        value: "Bearer {{env.CHAT_TOKEN}}".into(),
        ..HeaderRow::default()
    });
    s.endpoint.auth = Auth::Basic {
        user: "u".into(),
        password: "hunter2".into(),
    };
    s.variables = vec![
        Variable {
            name: "host".into(),
            value: "chat.example".into(),
            secret: false,
        },
        Variable {
            name: "password".into(),
            value: "s3cret".into(),
            secret: true,
        },
    ];
    s.collection = vec![Item::Folder(Folder {
        name: "Room".into(),
        notes: String::new(),
        items: vec![Item::Step(Step {
            name: "join".into(),
            payload: Payload::Json(r#"{"action":"join","room":"{{room}}"}"#.into()),
            expect: vec![Expectation {
                matcher: Matcher::JsonPath {
                    path: "$.ok".into(),
                    equals: "true".into(),
                },
                timeout_ms: 2000,
                enabled: true,
            }],
            ..Step::default()
        })],
    })];
    s
}

#[test]
fn round_trip_keeps_every_field_but_secrets() {
    let s = sample();
    let text = s.to_ron();
    assert!(text.contains("format_version: 1"));
    assert!(
        !text.contains("k-123") && !text.contains("s3cret") && !text.contains("hunter2"),
        "{text}"
    );
    assert!(text.contains("{{env.CHAT_TOKEN}}"));
    let back = Session::from_ron(&text, Path::new("x.ron")).expect("loads");
    let mut expected = s.clone();
    expected.endpoint.headers[0].value.clear();
    expected.variables[1].value.clear();
    expected.endpoint.auth = Auth::Basic {
        user: "u".into(),
        password: String::new(),
    };
    assert_eq!(back, expected);
    assert_eq!(back.steps().len(), 1);
    assert_eq!(back.steps()[0].0, "Room");
}

#[test]
fn files_missing_later_fields_still_load() {
    let old = r#"(format_version: 1, name: "old", endpoint: (url: "ws://h/"), collection: [Step((name: "a", payload: Text("hi")))])"#;
    let s = Session::from_ron(old, Path::new("old.ron")).expect("loads");
    assert_eq!(s.endpoint.url, "ws://h/");
    assert!(s.endpoint.headers.is_empty() && !s.endpoint.reconnect.enabled);
    assert!(s.steps()[0].1.enabled);
    // Saved before protocols existed: plain WebSocket, as it behaved then.
    assert_eq!(s.endpoint.protocol, crate::model::ProtocolChoice::default());
    assert_eq!(
        s.endpoint.protocol.protocol,
        crate::model::protocol::Protocol::Raw
    );
    // Saved before compression existed: offered, as in a new session (and pings answered).
    assert_eq!(
        s.endpoint.deflate,
        crate::model::deflate::DeflateSetting::default()
    );
    assert!(s.endpoint.deflate.enabled && s.endpoint.auto_pong);
    assert!(s.endpoint.to_request().deflate.enabled);
    // Saved before codecs existed: binary messages as bytes.
    assert_eq!(
        s.endpoint.codec,
        crate::model::codec::CodecSetting::default()
    );
    // Saved before HTTP/2 existed: HTTP/1.1, unshared.
    assert_eq!(
        s.endpoint.http_version,
        crate::model::h2::HttpVersion::Http1
    );
    assert!(!s.endpoint.to_request().h2_share);
}

#[test]
fn the_deflate_choice_survives_a_save() {
    let mut s = Session::default();
    s.endpoint.deflate.enabled = false;
    s.endpoint.deflate.offer = "permessage-deflate; server_max_window_bits=10".into();
    s.endpoint.auto_pong = false;
    s.endpoint.http_version = crate::model::h2::HttpVersion::Auto;
    s.endpoint.h2_share = true;
    s.endpoint.codec.kind = crate::model::codec::CodecKind::Protobuf;
    s.endpoint.codec.proto_files = vec!["feed.proto".into()];
    s.endpoint.codec.proto_message = "feed.Tick".into();
    let text = s.to_ron();
    assert!(text.contains("kind: \"protobuf\""), "{text}");
    assert!(text.contains("http_version: \"auto\""), "{text}");
    let back = Session::from_ron(&text, Path::new("s.ron")).expect("loads");
    assert_eq!(back.endpoint.deflate, s.endpoint.deflate);
    assert!(!back.endpoint.auto_pong);
    assert_eq!(
        back.endpoint.http_version,
        crate::model::h2::HttpVersion::Auto
    );
    let req = back.endpoint.to_request();
    assert!(req.h2_share && req.http_version == crate::model::h2::HttpVersion::Auto);
    assert_eq!(back.endpoint.codec, s.endpoint.codec);
}

#[test]
fn protocol_options_take_variables_and_the_environment() {
    let mut s = Session::default();
    s.endpoint.protocol.protocol = crate::model::protocol::Protocol::GraphqlTransportWs;
    s.endpoint
        .protocol
        .options
        .insert("init".into(), r#"{"token":"{{tok}}"}"#.into());
    s.variables.push(Variable {
        name: "tok".into(),
        value: "t-1".into(),
        secret: false,
    });
    let request = s.request(&s.context(&Default::default())).expect("request");
    assert_eq!(request.protocol.options["init"], r#"{"token":"t-1"}"#);
}

#[test]
fn the_protocol_and_its_options_are_saved() {
    let mut s = sample();
    s.endpoint.protocol.protocol = crate::model::protocol::Protocol::SocketIo;
    s.endpoint.protocol.options.insert("eio".into(), "3".into());
    let back = Session::from_ron(&s.to_ron(), Path::new("x.ron")).expect("loads");
    assert_eq!(back.endpoint.protocol, s.endpoint.protocol);
    assert_eq!(back.endpoint.to_request().protocol, s.endpoint.protocol);
}

#[test]
fn errors_name_file_line_and_column() {
    let err = Session::from_ron(
        "(\n  name: \"x\",\n  endpoint: 42,\n)",
        Path::new("bad.ron"),
    )
    .expect_err("bad");
    let text = err.to_string();
    assert!(text.starts_with("bad.ron:3:"), "{text}");
    let err = Session::from_ron("(name: \"trunc", Path::new("t.ron")).expect_err("truncated");
    assert!(err.to_string().starts_with("t.ron:1:"), "{err}");
    let err = Session::from_ron("(format_version: 99)", Path::new("new.ron")).expect_err("too new");
    assert!(err.to_string().contains("format 99"), "{err}");
}

#[test]
fn request_and_payload_expand_variables() {
    let mut s = sample();
    // A variable no environment sets (CHAT_TOKEN may be set on a developer's machine).
    s.endpoint.headers[1].value = "Bearer {{env.SOCKSCOPE_TEST_NEVER_SET_7F3A}}".into();
    let mut overrides = HashMap::new();
    overrides.insert("room".to_owned(), "lobby".to_owned());
    let ctx = s.context(&overrides);
    let err = s.request(&ctx).expect_err("an unset environment variable");
    assert!(err.to_string().contains("SOCKSCOPE_TEST_NEVER_SET_7F3A"));
    let step = s.steps()[0].1;
    let prepared = step.payload.prepare(&ctx, None).expect("prepared");
    assert_eq!(
        prepared,
        Prepared::Text(r#"{"action":"join","room":"lobby"}"#.into())
    );
    let bad = Payload::Json("{nope".into())
        .prepare(&ctx, None)
        .expect_err("json");
    assert!(bad.to_string().contains("not valid JSON"));
    let unknown = Payload::Text("{{nobody}}".into())
        .prepare(&ctx, None)
        .expect_err("unknown");
    assert!(unknown.to_string().contains("unknown variable"));
}

#[test]
fn saving_over_an_older_format_backs_the_old_file_up_first() {
    let dir = std::env::temp_dir().join(format!("sockscope-migrate-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("old.ron");
    let old_text = r#"(format_version: 0, name: "old", endpoint: (url: "ws://h/"))"#;
    std::fs::write(&path, old_text).expect("write");
    let session = Session::load(&path).expect("an older format loads");
    session.save(&path).expect("save");
    let backup = backup_path(&path, 0);
    assert_eq!(backup, dir.join("old.ron.v0.bak"));
    assert_eq!(std::fs::read_to_string(&backup).expect("backup"), old_text);
    assert!(
        std::fs::read_to_string(&path)
            .expect("new")
            .contains("format_version: 1")
    );
    // Saving again in the current format leaves the backup as it was and makes no other.
    session.save(&path).expect("save again");
    assert_eq!(std::fs::read_to_string(&backup).expect("backup"), old_text);
    assert_eq!(std::fs::read_dir(&dir).expect("dir").count(), 2);
    std::fs::remove_dir_all(&dir).expect("clean up");
}

#[test]
fn subprotocols_are_saved_as_they_are_sent() {
    let mut s = Session::default();
    s.endpoint.subprotocols = vec!["graphql-ws".into(), " chat".into(), " ".into()];
    let back = Session::from_ron(&s.to_ron(), Path::new("x.ron")).expect("loads");
    assert_eq!(back.endpoint.subprotocols, ["graphql-ws", "chat"]);
}

#[test]
fn an_encoded_step_is_json_that_the_sessions_codec_writes_and_round_trips_in_ron() {
    let mut overrides = HashMap::new();
    overrides.insert("room".to_owned(), "lobby".to_owned());
    let ctx = sample().context(&overrides);
    let payload = Payload::Encoded(r#"{"op":"join","room":"{{room}}","n":{{counter}}}"#.into());
    let prepared = payload.prepare(&ctx, None).expect("prepared");
    assert_eq!(
        prepared,
        Prepared::Encode(serde_json::json!({"op": "join", "room": "lobby", "n": 0}))
    );
    let codec = crate::model::codec::Codec::MessagePack;
    let Prepared::Binary(bytes) = prepared
        .clone()
        .encoded_with(Some(&codec))
        .expect("encodes")
    else {
        panic!("binary");
    };
    assert_eq!(
        codec.decode_received(&bytes),
        Ok(serde_json::json!({"op": "join", "room": "lobby", "n": 0}))
    );
    let none = prepared.encoded_with(None).expect_err("no codec");
    assert!(none.contains("has no codec"), "{none}");
    // Anything else passes through.
    assert_eq!(
        Prepared::Text("x".into()).encoded_with(None),
        Ok(Prepared::Text("x".into()))
    );
    // Kept in the session file as it was written.
    let mut s = sample();
    s.collection.push(Item::Step(Step {
        payload: payload.clone(),
        ..Step::default()
    }));
    let back = Session::from_ron(&s.to_ron(), Path::new("x.ron")).expect("loads");
    assert_eq!(
        back.steps().last().map(|(_, st)| &st.payload),
        Some(&payload)
    );
}
