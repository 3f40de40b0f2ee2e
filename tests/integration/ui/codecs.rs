//! Binary payloads in the GUI: Options → Codec with a .proto file from the test's folder, then a received
//! Protobuf message opens as a tree with its field names (and an unknown field by number).

use super::*;
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

/// A server that sends `payload` as one binary message to each client, then reads until it leaves.
async fn send_binary(payload: Vec<u8>) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let payload = payload.clone();
            tokio::spawn(async move {
                let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else {
                    return;
                };
                let _ = ws.send(Message::binary(payload)).await;
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
