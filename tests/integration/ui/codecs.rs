//! Binary payloads in the GUI: Options → Codec with a .proto file from the test's folder, then a received
//! Protobuf message opens as a tree with its field names (and an unknown field by number).

use super::*;
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

/// A server that sends `payload` as one binary message to each client, then reads until it leaves.
async fn send_binary(payload: Vec<u8>) -> std::net::SocketAddr {
    send_all(vec![Message::binary(payload)]).await
}

/// A server that sends `messages` to each client, then reads until it leaves.
async fn send_all(messages: Vec<Message>) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let messages = messages.clone();
            tokio::spawn(async move {
                let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else {
                    return;
                };
                for m in messages {
                    let _ = ws.send(m).await;
                }
                while let Some(Ok(_)) = ws.next().await {}
            });
        }
    });
    addr
}

#[test]
fn a_protobuf_message_opens_as_a_tree_with_its_field_names() {
    let dir = tempfile::tempdir().expect("temp dir");
    let proto = dir.path().join("feed.proto");
    std::fs::write(
        &proto,
        "syntax = \"proto3\";\npackage feed;\nmessage Tick { string symbol = 1; int64 price = 2; }\n\
         message TickV2 { string symbol = 1; int64 price = 2; uint32 venue = 9; }\n",
    )
    .expect("write");
    // A newer sender's message: venue (9) is unknown to feed.Tick.
    let set = sockscope::model::codec::protobuf::compile(std::slice::from_ref(&proto), &[])
        .expect("compiles");
    let payload = set
        .message("feed.TickV2")
        .expect("type")
        .encode(&serde_json::json!({"symbol": "ACME", "price": "42", "venue": 7}))
        .expect("encodes");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let addr = runtime.block_on(send_binary(payload));

    let mut harness = harness(None);
    tab_for(&mut harness, format!("ws://{addr}/"));
    harness.get_by_label("Options").click();
    harness.run_steps(2);
    harness.get_by_label("Codec").click();
    harness.run_steps(2);
    harness.get_by_label("Protobuf").click();
    harness.run_steps(2);
    type_into(&mut harness, ".proto files", &proto.display().to_string());
    type_into(&mut harness, "Received message type", "feed.Tick");
    wait_for(&mut harness, "the .proto file compiled", |h| {
        h.query_by_label_contains("Ready: binary messages are shown decoded (Protobuf feed.Tick)")
            .is_some()
    });
    assert!(
        harness
            .query_by_label_contains("Message types: feed.Tick, feed.TickV2")
            .is_some()
    );
    connect(&mut harness);
    wait_for(&mut harness, "the binary message", |h| {
        h.query_all_by_label_contains("received binary")
            .next()
            .is_some()
    });
    harness
        .query_all_by_label_contains("received binary")
        .next()
        .expect("row")
        .click();
    wait_for(&mut harness, "the decoded tree", |h| {
        h.query_by_label_contains("Decoded (Protobuf feed.Tick)")
            .is_some()
    });
    for field in ["symbol:", "price:", "#9:"] {
        assert!(
            harness.query_all_by_label(field).next().is_some(),
            "the tree shows {field}"
        );
    }
    // Another message type that does not fit: said with its offset.
    harness.state_mut().tab_mut().session.endpoint.codec.kind =
        sockscope::model::codec::CodecKind::Cbor;
    wait_for(&mut harness, "the CBOR reading", |h| {
        h.query_by_label_contains("Does not decode as CBOR: at byte")
            .is_some()
    });
}

#[test]
fn the_composer_sends_json_encoded_with_the_codec_and_refuses_what_cannot_be() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let server = runtime.block_on(crate::servers::echo());
    let mut harness = harness(None);
    tab_for(&mut harness, server.url());
    harness.state_mut().tab_mut().session.endpoint.codec.kind =
        sockscope::model::codec::CodecKind::MessagePack;
    connect(&mut harness);
    {
        let composer = &mut harness.state_mut().tab_mut().composer;
        composer.format = sockscope::model::PayloadFormat::Json;
        composer.text = r#"{"op": "sub", "n": {{counter}}, "id": "18446744073709551615"}"#.into();
    }
    harness.run_steps(2);
    assert!(
        harness
            .query_by_label_contains("Encode as MessagePack")
            .is_some()
    );
    harness.get_by_label("Send").click();
    wait_for(&mut harness, "the echo of the encoded message", |h| {
        h.query_all_by_label_contains("received binary")
            .next()
            .is_some()
    });
    harness
        .query_all_by_label_contains("received binary")
        .next()
        .expect("row")
        .click();
    wait_for(&mut harness, "the decoded echo", |h| {
        h.query_by_label_contains("Decoded (MessagePack)").is_some()
    });
    for field in ["op:", "n:", "id:"] {
        assert!(
            harness.query_all_by_label(field).next().is_some(),
            "{field}"
        );
    }
    // A CBOR tag that is not a number: said in the composer, nothing sent.
    harness.state_mut().tab_mut().session.endpoint.codec.kind =
        sockscope::model::codec::CodecKind::Cbor;
    harness.state_mut().tab_mut().composer.text = r#"{"tag": "x", "value": 1}"#.into();
    // The codec follows the setting when a panel looks at it (the composer's Encode box).
    wait_for(&mut harness, "the CBOR codec", |h| {
        h.query_by_label_contains("Encode as CBOR").is_some()
    });
    let sent_before = harness.query_all_by_label_contains("sent binary").count();
    harness.get_by_label("Send").click();
    wait_for(&mut harness, "the refusal", |h| {
        h.query_by_label_contains("cannot be encoded as CBOR")
            .is_some()
    });
    harness.run_steps(5);
    assert_eq!(
        harness.query_all_by_label_contains("sent binary").count(),
        sent_before,
        "nothing was sent"
    );
}

#[test]
fn decoded_values_in_the_log_rows_the_search_the_collection_and_base64_inside_json() {
    let tick = serde_json::json!({"sym": "ACME", "px": 1.5});
    let packed = sockscope::model::codec::msgpack::encode(&tick).expect("encodes");
    let b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &packed);
    // As SignalR's JSON protocol and AWS payloads carry bytes: base64 in a text message's field.
    let carrier = serde_json::json!({"type": 1, "target": "tick", "arguments": [{"data": b64}]});
    let size = sockscope::model::format_size(packed.len());
    let row = format!(r#"received binary {size} {{"sym":"ACME","px":1.5}}"#);
    let field = format!("$.arguments[0].data ({size})");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let addr = runtime.block_on(send_all(vec![
        Message::binary(packed),
        Message::text(carrier.to_string()),
    ]));
    let mut harness = harness(None);
    tab_for(&mut harness, format!("ws://{addr}/"));
    harness.state_mut().tab_mut().session.endpoint.codec.kind =
        sockscope::model::codec::CodecKind::MessagePack;
    connect(&mut harness);
    // The row shows the decoded value in one line, not hex.
    wait_for(&mut harness, "the decoded row", |h| {
        h.query_all_by_label_contains(&row).next().is_some()
    });
    wait_for(&mut harness, "the text row", |h| {
        h.query_all_by_label_contains("received text")
            .next()
            .is_some()
    });
    // The search matches the decoded text, which the bytes do not hold.
    harness.state_mut().tab_mut().filter.query = r#""px":1.5"#.into();
    harness.run_steps(3);
    {
        let tab = harness.state_mut().tab_mut();
        assert_eq!(tab.filter.len(&tab.log), 1, "the MessagePack row only");
        tab.filter.query.clear();
    }
    harness.run_steps(2);
    // Saved to the collection in its JSON form, to be encoded again when sent.
    let seq = harness.state().tab().log.seq_of(0);
    harness
        .state_mut()
        .apply(sockscope::app::Action::SaveToCollection(seq));
    match harness.state().tab().session.collection.last() {
        Some(sockscope::model::session::Item::Step(step)) => match &step.payload {
            sockscope::model::session::Payload::Encoded(json) => {
                let value: serde_json::Value = serde_json::from_str(json).expect("JSON");
                assert_eq!(value, tick);
            }
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    }
    // The text message's base64 field opens as bytes, read with the tab's codec.
    harness
        .query_all_by_label_contains("received text")
        .next()
        .expect("row")
        .click();
    wait_for(&mut harness, "the base64 field", |h| {
        h.query_by_label_contains("Base64 inside").is_some()
    });
    let listed = harness.state().tab().caches.payload.current_inner_fields();
    assert_eq!(listed, vec![field]);
    for field in ["sym:", "px:"] {
        assert!(
            harness.query_all_by_label(field).next().is_some(),
            "the inner tree shows {field}"
        );
    }
}

#[test]
fn the_guis_replay_sends_encoded_steps_and_checks_decoded_replies() {
    use sockscope::model::session::{Expectation, Item, Matcher, Payload, Step};
    let mut harness = harness(None);
    let echo = harness.state().echo_url.clone().expect("echo");
    {
        let session = &mut harness.state_mut().tab_mut().session;
        session.endpoint.url = echo;
        session.endpoint.codec.kind = sockscope::model::codec::CodecKind::MessagePack;
        let step = |name: &str, expect: &str| {
            Item::Step(Step {
                name: name.into(),
                payload: Payload::Encoded(
                    r#"{"op":"sub","n":{{counter}},"id":"18446744073709551615"}"#.into(),
                ),
                expect: vec![Expectation {
                    matcher: Matcher::JsonSubset(expect.into()),
                    timeout_ms: 2_000,
                    ..Default::default()
                }],
                ..Default::default()
            })
        };
        // The built-in echo server sends the MessagePack back: the first expectation holds on its decoded
        // value, the second cannot.
        session.collection = vec![
            step(
                "decoded",
                r#"{"op":"sub","n":1,"id":"18446744073709551615"}"#,
            ),
            step("wrong", r#"{"op":"unsub"}"#),
        ];
    }
    harness.run_steps(1);
    harness.get_by_label("Run collection").click();
    wait_for(&mut harness, "the replay to finish", |h| {
        h.state().tab().replay.as_ref().is_some_and(|r| r.finished)
    });
    let run = harness.state().tab().replay.as_ref().expect("replay");
    let outcomes: Vec<_> = run.reports.iter().map(|r| r.outcome).collect();
    assert_eq!(
        outcomes,
        vec![
            sockscope::model::junit::Outcome::Pass,
            sockscope::model::junit::Outcome::Fail
        ],
        "{:?}",
        run.reports
    );
    // The failure shows the reply as JSON, not as bytes.
    assert!(
        run.reports[1].got.contains(r#""op":"sub""#),
        "{}",
        run.reports[1].got
    );
}
