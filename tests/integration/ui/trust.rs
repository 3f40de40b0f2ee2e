//! The GUI side of issue 12's regressions, headless through egui_kittest: a refused certificate in the handshake
//! inspector with its ways forward, and the frame behind a protocol violation marked in the log and the Wire tab.

use crate::ui::{harness, wait_for};
use egui_kittest::kittest::Queryable;
use sockscope::model::ConnState;

#[test]
fn a_refused_certificate_shows_its_chain_and_skip_verification_connects() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let pki = crate::tls::pki(&["localhost"]);
    let addr = rt.block_on(crate::tls::wss_echo(&pki));
    let mut harness = harness(None);
    harness.state_mut().tab_mut().session.endpoint.url =
        format!("wss://localhost:{}/", addr.port());
    harness.get_by_label("Connect").click();
    wait_for(&mut harness, "the attempt to fail", |h| {
        h.state().tab().conn_state == ConnState::Closed
    });
    harness.run_steps(3);
    // The inspector opened by itself: no "No handshake yet", but the failure, the chain and two ways forward.
    assert!(
        harness
            .query_by_label_contains("No handshake yet")
            .is_none()
    );
    assert!(
        harness
            .query_by_label_contains("The TLS handshake failed: certificate not trusted")
            .is_some()
    );
    assert!(
        harness
            .query_by_label_contains("Server certificate: CN=localhost")
            .is_some()
    );
    assert!(harness.query_by_label("Use a CA file…").is_some());
    harness
        .get_by_label("Skip verification and connect")
        .click();
    wait_for(&mut harness, "the insecure connection to open", |h| {
        h.state().tab().conn_state == ConnState::Open
    });
    assert!(harness.state().tab().session.endpoint.tls.insecure);
    assert!(
        harness
            .query_by_label_contains("Certificate verification was skipped")
            .is_some()
    );
}

#[test]
fn the_offending_frame_is_a_red_row_and_marked_on_the_wire() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let (addr, _seen) = rt.block_on(crate::servers::raw_101_then(&[
        0x81, 0x02, b'o', b'k', 0xC1, 0x03, b'b', b'a', b'd',
    ]));
    let mut harness = harness(Some(format!("ws://{addr}/")));
    wait_for(&mut harness, "the connection to end", |h| {
        h.state().tab().conn_state == ConnState::Closed
    });
    harness.run_steps(2);
    let tab = harness.state().tab();
    let offending = tab
        .log
        .iter()
        .find(|e| e.extra.as_ref().is_some_and(|x| x.violation))
        .expect("the offending frame is logged");
    assert_eq!(&offending.payload[..], b"bad");
    assert!(
        harness
            .query_by_label_contains("received text 3 B bad")
            .is_some(),
        "its row is on screen"
    );
    harness.get_by_label("Wire").click();
    harness.run_steps(3);
    assert!(
        harness
            .query_by_label_contains("!! RSV bits set without a negotiated extension")
            .is_some(),
        "the Wire tab marks it"
    );
}
