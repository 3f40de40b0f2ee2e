//! Sending from the GUI: binary from hex, refused input, a close with a code and reason, a protocol violation asked
//! about once, fragments, and the Frames tab.

use super::*;

#[test]
fn typing_a_url_then_ctrl_enter_sends_binary_from_hex() {
    let mut harness = harness(None);
    harness.step();
    let echo = harness.state().echo_url.clone().expect("echo server");
    let field = harness.get_by_label("URL");
    field.focus();
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    harness
        .get_by_label("URL")
        .type_text(&format!("{echo}/typed?x=1"));
    harness.step();
    assert_eq!(
        harness.state().tab().session.endpoint.url,
        format!("{echo}/typed?x=1")
    );
    connect(&mut harness);
    assert_eq!(
        harness
            .state()
            .tab()
            .handshake
            .as_ref()
            .expect("handshake")
            .target,
        "/typed?x=1"
    );

    harness.state_mut().tab_mut().composer.format = sockscope::model::PayloadFormat::Hex;
    harness.state_mut().tab_mut().composer.text = "de ad be ef".into();
    harness.step();
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Enter);
    wait_for(&mut harness, "the binary echo", |h| {
        h.query_by_label_contains("received binary 4 B de ad be ef")
            .is_some()
    });
}

#[test]
fn invalid_hex_is_refused_in_plain_words() {
    let mut harness = harness(None);
    connect(&mut harness);
    harness.state_mut().tab_mut().composer.format = sockscope::model::PayloadFormat::Hex;
    harness.state_mut().tab_mut().composer.text = "0x4g".into();
    harness.step();
    harness.get_by_label("Send").click();
    harness.step();
    harness.step();
    assert!(
        harness
            .query_by_label_contains("'g' at position 4 is not a hex digit")
            .is_some()
    );
}

#[test]
fn close_with_a_code_and_reason_from_the_ui() {
    let mut harness = harness(None);
    connect(&mut harness);
    harness.state_mut().tab_mut().composer.close_code = "4000".into();
    harness.state_mut().tab_mut().composer.close_reason = "ui bye".into();
    harness.step();
    harness.get_by_label("Close").click();
    wait_for(&mut harness, "the close", |h| {
        h.state().tab().conn_state == ConnState::Closed
    });
    harness.step();
    assert!(
        harness
            .query_by_label("closed by us · 4000 private use · \"ui bye\" (clean)")
            .is_some(),
        "close outcome not shown"
    );
    assert!(
        harness
            .query_by_label_contains("sent close 8 B 4000 \"ui bye\"")
            .is_some()
    );
    assert!(
        harness
            .query_by_label_contains("received close 8 B 4000 \"ui bye\"")
            .is_some()
    );
}

#[test]
fn a_protocol_violation_asks_once_and_is_marked_in_the_log() {
    let mut harness = harness(None);
    connect(&mut harness);
    harness.get_by_label("Frames").click();
    harness.run_steps(2);
    harness.get_by_label("RSV1").click();
    harness.run_steps(1);
    harness.get_by_label("Send frame").click();
    harness.run_steps(4);
    assert!(harness.state().confirming.is_some());
    assert!(
        harness.query_by_label("Send anyway").is_some(),
        "the confirmation dialog is shown"
    );
    assert!(
        harness
            .query_by_label_contains("RSV bits set without a negotiated extension")
            .is_some()
    );
    harness.get_by_label("Send anyway").click();
    wait_for(&mut harness, "the frame in the log", |h| {
        h.query_by_label_contains("protocol violation: RSV bits")
            .is_some()
    });
    assert!(harness.state().confirmed_violations.contains("RSV bits"));
}

#[test]
fn fragmented_send_from_the_ui_comes_back_whole() {
    let mut harness = harness(None);
    connect(&mut harness);
    harness.get_by_label("Frames").click();
    harness.run_steps(2);
    harness.get_by_label("Send fragmented").click();
    wait_for(&mut harness, "the echo", |h| {
        h.query_by_label_contains("received text 17 B Hello, sockscope!")
            .is_some()
    });
    assert!(
        harness
            .query_by_label_contains("sent as 5 frames of at most 4 bytes")
            .is_some()
    );
    assert!(
        harness.state().confirming.is_none(),
        "a valid fragmented send needs no confirmation"
    );
}

#[test]
fn the_frames_tab_lists_every_frame_header() {
    let mut harness = harness(None);
    connect(&mut harness);
    harness.get_by_label("Frames").click();
    harness.run_steps(2);
    harness.get_by_label("Send fragmented").click();
    wait_for(&mut harness, "the echo", |h| h.state().tab().log.len() >= 2);
    harness.get_by_label("Wire").click();
    harness.run_steps(3);
    // 17 bytes in 4-byte fragments: 5 frames out, 1 back.
    assert_eq!(harness.state().tab().frames.len(), 6);
    assert_eq!(
        harness.query_all_by_label_contains("continuation").count(),
        4
    );
    assert!(
        harness
            .query_by_label_contains("6 frames on the wire")
            .is_some()
    );
}
