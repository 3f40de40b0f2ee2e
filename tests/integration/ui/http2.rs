//! WebSockets over HTTP/2 in the GUI: the HTTP options tab, the inspector's HTTP/2 side (stream, SETTINGS, the
//! "h2 settings" stage), the connect divider naming the stream, and Copy as saying what the tools cannot do.

use super::*;
use crate::interop::Runtime;

#[test]
fn an_http2_connection_is_chosen_in_options_and_shown_in_the_inspector() {
    let Some(peer) = crate::interop::start_peer_with(
        "ui_http2",
        Runtime::Python,
        "python_hypercorn_h2.py",
        &["-c", "import hypercorn"],
        &[],
    ) else {
        return;
    };
    let mut harness = harness(None);
    tab_for(&mut harness, format!("ws://127.0.0.1:{}/", peer.port));
    harness.get_by_label("Options").click();
    harness.run_steps(2);
    harness.get_by_label("HTTP").click();
    harness.run_steps(2);
    harness.get_by_label("HTTP/2 (RFC 8441)").click();
    harness.run_steps(2);
    assert_eq!(
        harness.state().tab().session.endpoint.http_version,
        sockscope::model::h2::HttpVersion::Http2
    );
    connect(&mut harness);
    wait_for(&mut harness, "the divider naming the stream", |h| {
        h.query_by_label_contains("HTTP/2 200 · stream 1").is_some()
    });
    assert!(
        harness
            .query_by_label_contains("Last handshake: HTTP/2 (h2c), stream 1")
            .is_some()
    );
    harness.get_by_label_contains("Handshake").click();
    harness.run_steps(2);
    assert!(
        harness
            .query_by_label_contains("HTTP/2: h2c, prior knowledge, stream 1")
            .is_some(),
        "the HTTP/2 section"
    );
    assert!(
        harness.query_by_label("ENABLE_CONNECT_PROTOCOL").is_some(),
        "its row in the SETTINGS grid"
    );
    assert!(
        harness
            .query_by_label_contains("SETTINGS_ENABLE_CONNECT_PROTOCOL = 1: the server accepts")
            .is_some(),
        "the check"
    );
    assert!(
        harness.query_by_label_contains("h2 settings ").is_some(),
        "its stage"
    );
    assert!(
        harness
            .query_by_label_contains(":protocol: websocket")
            .is_some()
    );
    harness.get_by_label("curl").click();
    harness.run_steps(2);
    assert!(
        harness
            .query_by_label_contains("cannot open a WebSocket over HTTP/2")
            .is_some(),
        "Copy as says so instead of a wrong command"
    );
    harness.state_mut().tab_mut().composer.text = "version".into();
    harness.run_steps(1);
    harness.get_by_label("Send").click();
    wait_for(&mut harness, "the answer", |h| {
        h.query_by_label_contains("http/2").is_some()
    });
}
