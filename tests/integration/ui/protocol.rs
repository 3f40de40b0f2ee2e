//! Protocols in the GUI against the reference servers: pick Socket.IO, connect, emit an event asking for an
//! ack, see the decoded rows and the ack's time; pick GraphQL, subscribe, see results, stop it from the list of
//! what is open.

use super::*;
use crate::interop::{Runtime, start_peer, start_peer_with};

#[test]
fn socketio_emit_with_ack_shows_decoded_rows_and_the_ack_time() {
    let probe = ["-e", "require('socket.io')"];
    let Some(peer) = start_peer(
        "ui_socketio",
        Runtime::Node,
        "node_socketio_server.js",
        &probe,
    ) else {
        return;
    };
    let mut harness = harness(None);
    tab_for(&mut harness, format!("http://127.0.0.1:{}/", peer.port));
    pick_protocol(&mut harness, "Socket.IO");
    let choice = harness.state().tab().session.endpoint.protocol.clone();
    assert_eq!(
        choice.protocol,
        sockscope::model::protocol::Protocol::SocketIo
    );
    assert!(
        choice.automatic,
        "choosing a protocol turns its handshake on"
    );
    connect(&mut harness);
    wait_for(&mut harness, "the Socket.IO handshake", |h| {
        h.state().tab().protocol.as_ref().is_some_and(|p| p.ready)
    });
    // The server's welcome event, decoded.
    wait_for(&mut harness, "the welcome event", |h| {
        h.query_by_label_contains("event welcome [{\"id\":")
            .is_some()
    });
    {
        let form = &mut harness.state_mut().tab_mut().composer.protocol;
        form.event = "echo".into();
        form.args = "[\"hi\", {\"n\": 1}]".into();
    }
    harness.get_by_label("Expect ack").click();
    harness.run_steps(1);
    harness.get_by_label("Emit").click();
    wait_for(&mut harness, "the ack row", |h| {
        h.query_by_label_contains("ack echo 0 [\"hi\",{\"n\":1}] (")
            .is_some()
    });
    assert!(
        harness
            .query_by_label_contains("B event echo 0 [\"hi\",{\"n\":1}]")
            .is_some()
    );
    let ack = harness
        .state()
        .tab()
        .log
        .iter()
        .filter_map(|e| e.decoded())
        .find(|d| d.kind() == "ack")
        .cloned()
        .expect("an ack in the log");
    assert!(
        ack.field("rtt_ms").and_then(|v| v.as_f64()).is_some(),
        "{ack:?}"
    );
    // The panel of what is open lists the main namespace with its count.
    assert!(
        harness
            .query_by_label_contains("namespace / · connected")
            .is_some()
    );
}

#[test]
fn graphql_subscribe_and_stop_from_the_open_list() {
    let probe = ["-e", "require('graphql-ws/use/ws')"];
    let Some(peer) = start_peer_with(
        "ui_graphql",
        Runtime::Node,
        "node_graphql_server.js",
        &probe,
        &[],
    ) else {
        return;
    };
    let mut harness = harness(None);
    tab_for(
        &mut harness,
        format!("ws://127.0.0.1:{}/graphql", peer.port),
    );
    pick_protocol(&mut harness, "GraphQL (graphql-transport-ws)");
    // The connection_init payload, typed in Options → Protocol options.
    harness.get_by_label("Options").click();
    harness.run_steps(2);
    harness.get_by_label("Protocol options").click();
    harness.run_steps(2);
    type_into(&mut harness, "init", r#"{"token":"secret"}"#);
    assert_eq!(
        harness
            .state()
            .tab()
            .session
            .endpoint
            .protocol
            .options
            .get("init")
            .map(String::as_str),
        Some(r#"{"token":"secret"}"#)
    );
    connect(&mut harness);
    wait_for(&mut harness, "connection_ack", |h| {
        h.state().tab().protocol.as_ref().is_some_and(|p| p.ready)
    });
    harness.state_mut().tab_mut().composer.protocol.query =
        "subscription { countdown(from: 1000) }".into();
    harness.get_by_label("Subscribe").click();
    wait_for(&mut harness, "a result", |h| {
        h.query_by_label_contains("next 1 {\"data\":{\"countdown\":")
            .is_some()
    });
    wait_for(&mut harness, "the subscription in the open list", |h| {
        h.query_by_label_contains("subscription 1 · running")
            .is_some()
    });
    harness.get_by_label("×").click();
    wait_for(&mut harness, "the complete we sent", |h| {
        h.query_by_label_contains("B complete 1").is_some()
    });
    wait_for(&mut harness, "the subscription done", |h| {
        h.state()
            .tab()
            .protocol
            .as_ref()
            .is_some_and(|p| p.items.iter().any(|i| i.key == "1" && i.state == "done"))
    });
}
