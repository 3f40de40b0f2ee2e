//! Unit tests of the graphql codec on its spec's examples.
use super::*;

fn sent(out: &[Output]) -> Vec<Value> {
    out.iter()
        .filter_map(|o| match o {
            Output::Send(t) => Some(serde_json::from_str(t).expect("json")),
            _ => None,
        })
        .collect()
}

#[test]
fn the_specs_messages_decode() {
    let t = Dialect::TransportWs;
    assert_eq!(
        decode(t, r#"{"type":"connection_init","payload":{"token":"abc"}}"#),
        Ok(Message::ConnectionInit {
            payload: Some(json!({"token": "abc"}))
        })
    );
    assert_eq!(
        decode(t, r#"{"type":"connection_ack"}"#),
        Ok(Message::ConnectionAck { payload: None })
    );
    assert_eq!(
        decode(t, r#"{"type":"ping"}"#),
        Ok(Message::Ping { payload: None })
    );
    let sub = decode(
        t,
        r#"{"id":"1","type":"subscribe","payload":{"query":"subscription { greetings }","variables":{"n":3},"operationName":null}}"#,
    )
    .expect("subscribe");
    assert_eq!(
        sub,
        Message::Subscribe {
            id: "1".into(),
            operation: Operation {
                query: "subscription { greetings }".into(),
                variables: Some(json!({"n": 3})),
                operation_name: None,
                extensions: None,
            }
        }
    );
    assert_eq!(
        decode(
            t,
            r#"{"id":"1","type":"next","payload":{"data":{"greetings":"Hi"}}}"#
        ),
        Ok(Message::Next {
            id: "1".into(),
            payload: json!({"data": {"greetings": "Hi"}})
        })
    );
    assert_eq!(
        decode(
            t,
            r#"{"id":"1","type":"error","payload":[{"message":"bad"}]}"#
        ),
        Ok(Message::Error {
            id: "1".into(),
            payload: json!([{"message": "bad"}])
        })
    );
    assert_eq!(
        decode(t, r#"{"id":"1","type":"complete"}"#),
        Ok(Message::Complete { id: "1".into() })
    );

    let l = Dialect::Legacy;
    assert_eq!(decode(l, r#"{"type":"ka"}"#), Ok(Message::KeepAlive));
    assert_eq!(
        decode(l, r#"{"id":"2","type":"data","payload":{"data":{"n":1}}}"#),
        Ok(Message::Next {
            id: "2".into(),
            payload: json!({"data": {"n": 1}})
        })
    );
    assert!(matches!(
        decode(
            l,
            r#"{"id":"2","type":"start","payload":{"query":"{ a }"}}"#
        ),
        Ok(Message::Subscribe { .. })
    ));
    assert_eq!(
        decode(
            l,
            r#"{"type":"connection_error","payload":{"message":"no"}}"#
        ),
        Ok(Message::ConnectionError {
            payload: Some(json!({"message": "no"}))
        })
    );
}

#[test]
fn each_protocol_refuses_the_others_types_and_bad_input_in_words() {
    let err = decode(Dialect::TransportWs, r#"{"type":"ka"}"#).expect_err("refused");
    assert!(
        err.0
            .contains("\"ka\" is not a message type of the graphql-transport-ws"),
        "{err}"
    );
    assert!(decode(Dialect::Legacy, r#"{"type":"ping"}"#).is_err());
    assert!(decode(Dialect::Legacy, r#"{"type":"next","id":"1","payload":{}}"#).is_err());
    for bad in [
        "",
        "[]",
        "{}",
        r#"{"type":1}"#,
        r#"{"type":"next","payload":{}}"#,
        r#"{"type":"next","id":"1"}"#,
        r#"{"type":"subscribe","id":"1","payload":{}}"#,
    ] {
        let e = decode(Dialect::TransportWs, bad).expect_err("refused");
        assert!(!e.0.is_empty(), "{bad}");
    }
}

#[test]
fn encode_then_decode_is_the_identity_and_the_wire_names_follow_the_dialect() {
    let op = Operation {
        query: "query Q($n: Int) { a(n: $n) }".into(),
        variables: Some(json!({"n": 1})),
        operation_name: Some("Q".into()),
        extensions: None,
    };
    let shared = [
        Message::ConnectionInit {
            payload: Some(json!({"auth": "x"})),
        },
        Message::ConnectionAck { payload: None },
        Message::Subscribe {
            id: "7".into(),
            operation: op,
        },
        Message::Next {
            id: "7".into(),
            payload: json!({"data": null}),
        },
        Message::Error {
            id: "7".into(),
            payload: json!([{"message": "m"}]),
        },
        Message::Complete { id: "7".into() },
    ];
    for dialect in [Dialect::TransportWs, Dialect::Legacy] {
        for m in &shared {
            let text = encode(dialect, m).expect("exists in both");
            assert_eq!(decode(dialect, &text).as_ref(), Ok(m), "{text}");
        }
    }
    let start = encode(Dialect::Legacy, &shared[2]).expect("start");
    assert!(start.contains(r#""type":"start""#), "{start}");
    let data = encode(Dialect::Legacy, &shared[3]).expect("data");
    assert!(data.contains(r#""type":"data""#), "{data}");
    let err = encode(Dialect::Legacy, &Message::Ping { payload: None }).expect_err("refused");
    assert_eq!(
        err.to_string(),
        "ping does not exist in the graphql-ws protocol"
    );
    assert!(encode(Dialect::TransportWs, &Message::KeepAlive).is_err());
}

#[test]
fn the_client_inits_holds_operations_until_the_ack_and_answers_pings() {
    let now = Instant::now();
    let mut c = Client::new(Dialect::TransportWs, DEFAULT_ACK_TIMEOUT, None);
    let out = c.start(now, Some(json!({"token": "t"})));
    assert_eq!(
        sent(&out),
        vec![json!({"type": "connection_init", "payload": {"token": "t"}})]
    );
    let (id, out) = c.subscribe(
        Operation {
            query: "subscription { s }".into(),
            ..Operation::default()
        },
        None,
    );
    assert_eq!(id, "1");
    assert!(out.is_empty(), "held until the ack");
    let (_, out) = c.on_text(now, r#"{"type":"connection_ack"}"#);
    assert_eq!(out[0], Output::Acknowledged);
    assert_eq!(
        sent(&out),
        vec![json!({"id": "1", "type": "subscribe", "payload": {"query": "subscription { s }"}})]
    );
    let (_, out) = c.on_text(now, r#"{"type":"ping","payload":{"k":1}}"#);
    assert_eq!(
        sent(&out),
        vec![json!({"type": "pong", "payload": {"k": 1}})]
    );
    let _ = c.on_text(
        now,
        r#"{"id":"1","type":"next","payload":{"data":{"s":1}}}"#,
    );
    let _ = c.on_text(
        now,
        r#"{"id":"1","type":"next","payload":{"data":{"s":2}}}"#,
    );
    assert_eq!(
        c.operations()["1"],
        OperationState {
            results: 2,
            done: false
        }
    );
    assert_eq!(
        sent(&c.stop("1")),
        vec![json!({"id": "1", "type": "complete"})]
    );
    assert!(c.operations()["1"].done);
    assert!(c.stop("1").is_empty(), "stopped once");
    let (id, _) = c.subscribe(
        Operation {
            query: "{ q }".into(),
            ..Operation::default()
        },
        None,
    );
    assert_eq!(id, "2");
}

#[test]
fn a_missing_ack_or_silent_keepalives_fail_and_an_id_in_use_is_refused() {
    let t0 = Instant::now();
    let mut c = Client::new(Dialect::TransportWs, Duration::from_millis(500), None);
    c.start(t0, None);
    assert_eq!(c.next_deadline(), Some(t0 + Duration::from_millis(500)));
    assert!(c.on_time(t0 + Duration::from_millis(499)).is_empty());
    let out = c.on_time(t0 + Duration::from_millis(500));
    assert!(
        matches!(&out[..], [Output::Failed(w)] if w.contains("no connection_ack within 500 ms")),
        "{out:?}"
    );
    assert_eq!(c.next_deadline(), None, "fails once");

    let mut c = Client::new(
        Dialect::Legacy,
        DEFAULT_ACK_TIMEOUT,
        Some(Duration::from_secs(3)),
    );
    c.start(t0, None);
    let _ = c.on_text(t0, r#"{"type":"connection_ack"}"#);
    assert_eq!(c.next_deadline(), None, "no deadline before the first ka");
    let _ = c.on_text(t0, r#"{"type":"ka"}"#);
    assert!(c.on_time(t0 + Duration::from_secs(2)).is_empty());
    let out = c.on_time(t0 + Duration::from_secs(3));
    assert!(
        matches!(&out[..], [Output::Failed(w)] if w.contains("no keep-alive (ka)")),
        "{out:?}"
    );

    let mut c = Client::new(Dialect::Legacy, DEFAULT_ACK_TIMEOUT, None);
    c.start(t0, None);
    let _ = c.on_text(t0, r#"{"type":"connection_ack"}"#);
    let (_, out) = c.subscribe(
        Operation {
            query: "{ a }".into(),
            ..Operation::default()
        },
        Some("x".into()),
    );
    assert_eq!(sent(&out)[0]["type"], "start");
    let (_, out) = c.subscribe(
        Operation {
            query: "{ a }".into(),
            ..Operation::default()
        },
        Some("x".into()),
    );
    assert!(
        matches!(&out[..], [Output::Failed(w)] if w.contains("already running")),
        "{out:?}"
    );
    assert_eq!(sent(&c.stop("x")), vec![json!({"id": "x", "type": "stop"})]);
    let (_, out) = c.on_text(
        t0,
        r#"{"type":"connection_error","payload":{"message":"no"}}"#,
    );
    assert!(
        matches!(&out[..], [Output::Failed(w)] if w.contains("refused")),
        "{out:?}"
    );
}

#[test]
fn operations_waiting_for_the_ack_are_bounded() {
    let mut c = Client::new(Dialect::TransportWs, DEFAULT_ACK_TIMEOUT, None);
    c.start(Instant::now(), None);
    for _ in 0..MAX_WAITING_OPERATIONS {
        let (_, out) = c.subscribe(Operation::default(), None);
        assert!(out.is_empty());
    }
    let (_, out) = c.subscribe(Operation::default(), None);
    assert!(matches!(&out[..], [Output::Failed(_)]), "{out:?}");
    assert_eq!(c.operations().len(), MAX_WAITING_OPERATIONS);
}

/// The fuzz target's property on every prefix and one-byte change of the specs' examples (the fuzzer itself
/// runs with cargo-fuzz: fuzz/fuzz_targets/graphql.rs).
#[test]
fn truncated_and_mutated_messages_never_panic_and_what_decodes_round_trips() {
    let examples = [
        r#"{"type":"connection_init","payload":{"token":"abc"}}"#,
        r#"{"id":"1","type":"subscribe","payload":{"query":"{ a }","variables":{"n":3},"operationName":"Q"}}"#,
        r#"{"id":"1","type":"next","payload":{"data":{"a":1}}}"#,
        r#"{"id":2,"type":"start","payload":{"query":"{ a }","extensions":{}}}"#,
        r#"{"type":"ka"}"#,
    ];
    for example in examples {
        let bytes = example.as_bytes();
        let mut inputs: Vec<Vec<u8>> = (0..=bytes.len()).map(|n| bytes[..n].to_vec()).collect();
        for i in 0..bytes.len() {
            for b in [b'"', b'{', b'}', b'0', b'x', b'\\', b' '] {
                let mut m = bytes.to_vec();
                m[i] = b;
                inputs.push(m);
            }
        }
        for input in inputs {
            let Ok(text) = std::str::from_utf8(&input) else {
                continue;
            };
            for dialect in [Dialect::TransportWs, Dialect::Legacy] {
                if let Ok(message) = decode(dialect, text) {
                    let again = encode(dialect, &message).expect("exists in its protocol");
                    assert_eq!(decode(dialect, &again), Ok(message), "{text}");
                }
            }
        }
    }
}

#[test]
fn close_codes_have_meanings() {
    assert!(close_code_meaning(4403).is_some_and(|m| m.contains("forbidden")));
    assert!(close_code_meaning(4408).is_some_and(|m| m.contains("timeout")));
    assert_eq!(close_code_meaning(1000), None);
}
