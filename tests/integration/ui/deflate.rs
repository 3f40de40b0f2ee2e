//! permessage-deflate in the GUI: what a compressed message weighs on the wire (row, details, Wire column,
//! Traffic), the composer's Compress choice, and the Compression options.

use super::*;
use sockscope::model::deflate::{Compressor, Negotiated};

fn compressed_text_frame(text: &[u8]) -> Vec<u8> {
    let data = Compressor::new(&Negotiated::default_parameters()).compress(text);
    assert!(data.len() < 126);
    let mut frame = vec![0xC1, data.len() as u8];
    frame.extend(data);
    frame
}

#[test]
fn a_compressed_connection_shows_wire_sizes_and_sends_as_the_user_chooses() {
    let text = "{\"price\":1,\"price\":1,\"price\":1,\"price\":1,\"price\":1,\"price\":1}";
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let (addr, mut seen) = runtime.block_on(crate::servers::raw_101_deflate_then(
        compressed_text_frame(text.as_bytes()),
    ));
    let mut harness = harness(Some(format!("ws://{addr}/")));
    wait_for(&mut harness, "the compressed message", |h| {
        h.query_by_label_contains("received text 61 B (compressed to")
            .is_some()
    });
    assert!(harness.state().tab().deflate_agreed());
    harness
        .get_by_label_contains("received text 61 B (compressed to")
        .click();
    harness.run_steps(2);
    assert!(
        harness
            .query_by_label_contains("compressed (permessage-deflate):")
            .is_some(),
        "the details say what it weighed on the wire"
    );
    // The Wire column, from the Columns… menu's choices.
    harness
        .state_mut()
        .log_columns
        .set_shown(sockscope::app::Column::Wire, true);
    harness.run_steps(2);
    assert!(
        harness
            .query_by_label("resize the wire (compressed size) column")
            .is_some(),
        "the Wire column is shown"
    );

    // Sent as is, then compressed.
    harness.state_mut().tab_mut().composer.text = "as is".into();
    harness.get_by_label("Compress").click();
    harness.step();
    assert!(!harness.state().tab().composer.compress);
    harness.get_by_label("Send").click();
    wait_for(&mut harness, "the message sent as is", |h| {
        h.query_by_label_contains("sent text 5 B as is").is_some()
    });
    harness.get_by_label("Compress").click();
    harness.state_mut().tab_mut().composer.text = "squeezed".into();
    harness.step();
    harness.get_by_label("Send").click();
    wait_for(&mut harness, "the compressed send", |h| {
        h.query_by_label_contains("sent text 8 B (compressed to")
            .is_some()
    });
    harness.get_by_label("Close").click();
    wait_for(&mut harness, "the close", |h| {
        h.state().tab().conn_state == ConnState::Closed
    });
    let recorded = runtime.block_on(crate::servers::recorded(&mut seen));
    let frames = crate::servers::client_frames(&recorded);
    assert_eq!(frames[0], (0x81, b"as is".to_vec()), "RSV1 off");
    assert_eq!(frames[1].0, 0xC1, "RSV1 on");
}

#[test]
fn the_compression_options_change_the_offer_and_say_what_is_wrong() {
    let mut harness = harness(None);
    harness.get_by_label("Options").click();
    harness.run_steps(2);
    harness.get_by_label("Compression").click();
    harness.run_steps(2);
    let offer = harness.state().tab().session.endpoint.deflate.clone();
    assert!(offer.enabled, "offered by default");
    harness.get_by_label("Small windows").click();
    harness.run_steps(2);
    assert_eq!(
        harness.state().tab().session.endpoint.deflate.offer,
        "permessage-deflate; server_max_window_bits=10; client_max_window_bits=10"
    );
    harness.state_mut().tab_mut().session.endpoint.deflate.offer =
        "permessage-deflate; server_max_window_bits=20".into();
    harness.run_steps(2);
    assert!(
        harness
            .query_by_label_contains("server_max_window_bits=20 is not a window size")
            .is_some(),
        "a bad offer is explained as typed"
    );
    harness
        .get_by_label("Offer permessage-deflate (RFC 7692), as browsers do")
        .click();
    harness.run_steps(2);
    assert!(
        !harness
            .state()
            .tab()
            .session
            .endpoint
            .to_request()
            .deflate
            .enabled
    );
}
