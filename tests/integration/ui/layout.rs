//! The GUI at laptop size and in a newcomer's hands (issue 15): the payload column first, columns to hide and
//! resize, dividers between connections, the JSON composer, header rows that take the first keys, hints instead
//! of pre-filled text, the hex view's width, the keyboard (shortcuts inside text fields, the palette, F1).

use super::*;
use egui::{Key, Modifiers};
use sockscope::model::session::{Matcher, Payload};

fn send(harness: &mut Harness<'static, AppState>, text: &str) {
    harness.state_mut().tab_mut().composer.text = text.into();
    harness.run_steps(1);
    harness.get_by_label("Send").click();
    harness.run_steps(1);
}

#[test]
fn at_1280_by_800_the_payload_shows_forty_characters_and_columns_can_go() {
    let mut harness = harness_sized(None, [1280.0, 800.0]);
    connect(&mut harness);
    send(&mut harness, &"x".repeat(120));
    wait_for(&mut harness, "the echo", |h| h.state().tab().log.len() >= 2);
    harness.run_steps(2);
    let chars = harness.state().tab().log_payload_chars;
    assert!(
        chars >= 40,
        "the payload column has room for {chars} characters"
    );
    // Hide the time column from the Columns menu: the payload gets its width.
    assert!(harness.query_by_label("resize the time column").is_some());
    harness.get_by_label("Columns…").click();
    harness.run_steps(2);
    harness.get_by_label("time").click();
    harness.run_steps(2);
    assert!(harness.query_by_label("resize the time column").is_none());
    let wider = harness.state().tab().log_payload_chars;
    assert!(wider >= chars + 12, "{chars} -> {wider}");
    assert!(
        !harness
            .state()
            .log_columns
            .is_shown(sockscope::app::Column::Time, false),
        "the choice is the workspace's, kept between runs"
    );
    // The timing columns are hidden by default and can be shown.
    harness.get_by_label("reply time").click();
    harness.run_steps(2);
    assert!(
        harness
            .query_by_label("resize the reply time column")
            .is_some()
    );
}

#[test]
fn each_connection_is_divided_from_the_next_and_clear_starts_again() {
    let mut harness = harness(None);
    connect(&mut harness);
    send(&mut harness, "one");
    wait_for(&mut harness, "the echo", |h| h.state().tab().log.len() >= 2);
    harness.get_by_label("Disconnect").click();
    wait_for(&mut harness, "the close", |h| {
        h.state().tab().conn_state == ConnState::Closed
    });
    connect(&mut harness);
    harness.run_steps(2);
    assert_eq!(
        harness
            .query_all_by_label_contains("divider: connected to 127.0.0.1:")
            .count(),
        2
    );
    harness.get_by_label_contains("divider: closed by us · 1000 normal closure (clean)");
    harness.get_by_label("Clear").click();
    harness.run_steps(2);
    assert!(
        harness
            .query_by_label_contains("divider: connected")
            .is_none(),
        "Clear empties the dividers with the rows"
    );
    send(&mut harness, "two");
    wait_for(&mut harness, "the echo", |h| h.state().tab().log.len() >= 2);
    let tab = harness.state().tab();
    assert_eq!(
        tab.log.number(tab.log.seq_of(0)),
        1,
        "numbering starts again"
    );
}

#[test]
fn the_json_composer_checks_as_you_type_beautifies_and_expands_templates() {
    let mut harness = harness(None);
    connect(&mut harness);
    harness.get_by_label("Format").click();
    harness.run_steps(2);
    harness.get_by_label("JSON").click();
    harness.run_steps(2);
    harness.state_mut().tab_mut().composer.text = "{\"id\": {{counter}},\n \"ok\": tru}".into();
    harness.run_steps(2);
    harness.get_by_label_contains("not valid JSON: line 2, column");
    harness.get_by_label("Send").click();
    harness.run_steps(2);
    assert!(
        harness
            .state()
            .tab()
            .composer
            .error
            .as_deref()
            .is_some_and(|e| e.starts_with("JSON: line 2")),
        "{:?}",
        harness.state().tab().composer.error
    );
    harness.state_mut().tab_mut().composer.text =
        r#"{"id":{{counter}},"tags":["a","b"],"note":"x, y"}"#.into();
    harness.run_steps(2);
    harness.get_by_label("valid JSON");
    harness.get_by_label("Beautify").click();
    harness.run_steps(2);
    assert_eq!(
        harness.state().tab().composer.text,
        "{\n  \"id\": {{counter}},\n  \"tags\": [\n    \"a\",\n    \"b\"\n  ],\n  \"note\": \"x, y\"\n}"
    );
    harness.get_by_label("Minify").click();
    harness.run_steps(2);
    harness.get_by_label("Send").click();
    harness.run_steps(1);
    harness.get_by_label("Send").click();
    wait_for(&mut harness, "two echoes", |h| {
        h.state().tab().log.len() >= 4
    });
    let sent: Vec<String> = harness
        .state()
        .tab()
        .log
        .iter()
        .filter(|e| e.direction == sockscope::model::Direction::Sent)
        .map(|e| {
            format!(
                "{} {}",
                e.kind.as_str(),
                String::from_utf8_lossy(&e.payload)
            )
        })
        .collect();
    assert_eq!(
        sent,
        [
            r#"text {"id":0,"tags":["a","b"],"note":"x, y"}"#,
            r#"text {"id":1,"tags":["a","b"],"note":"x, y"}"#
        ],
        "sent as text messages, {{{{counter}}}} expanded and counting"
    );
}

#[test]
fn a_new_header_row_takes_the_first_keys_typed() {
    let mut harness = harness(None);
    harness.get_by_label("Options").click();
    harness.run_steps(2);
    harness.get_by_label("Headers").click();
    harness.run_steps(2);
    harness.get_by_label("Add header").click();
    harness.run_steps(1);
    // No click into the field: the keys go where the focus is.
    harness.event(egui::Event::Text("X-Trace".into()));
    harness.run_steps(2);
    let headers = &harness.state().tab().session.endpoint.headers;
    assert_eq!(headers.len(), 1);
    assert_eq!(headers[0].name, "X-Trace");
}

#[test]
fn a_new_expectation_starts_empty_and_its_json_is_checked_as_typed() {
    // Tall enough for the whole step editor to be in view.
    let mut harness = harness_sized(None, [1200.0, 1400.0]);
    harness.get_by_label("+ Message").click();
    harness.run_steps(2);
    assert_eq!(harness.state().tab().session.collection.len(), 1);
    harness.get_by_label("1. Message 1").click();
    harness.run_steps(2);
    harness.get_by_label("Add expectation").click();
    harness.run_steps(2);
    harness.get_by_label("match").click();
    harness.run_steps(2);
    harness.get_by_label("JSON subset").click();
    harness.run_steps(2);
    let matcher = || {
        let tab = harness.state().tab();
        match &tab.session.collection[0] {
            sockscope::model::session::Item::Step(s) => s.expect[0].matcher.clone(),
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(
        matcher(),
        Matcher::JsonSubset(String::new()),
        "a hint, not text"
    );
    type_into(&mut harness, "value", "{\"item\": tea}");
    harness.run_steps(2);
    harness.get_by_label(
        "the expected JSON is not valid JSON: line 1, column 11: a bare word must be true, false or null \
         (put text in \"quotes\")",
    );
    // The payload's JSON is checked the same way.
    harness.get_by_label("Payload").click();
    harness.run_steps(2);
    harness.get_by_label("JSON").click();
    harness.run_steps(2);
    let tab = harness.state_mut().tab_mut();
    if let sockscope::model::session::Item::Step(s) = &mut tab.session.collection[0] {
        s.payload = Payload::Json("[1, 2".into());
    }
    harness.run_steps(2);
    harness.get_by_label_contains("the payload is not valid JSON: line 1");
}

#[test]
fn the_hex_view_fits_its_bytes_per_line_to_the_panel() {
    let mut harness = harness_sized(None, [1280.0, 800.0]);
    connect(&mut harness);
    harness.get_by_label("Format").click();
    harness.run_steps(2);
    harness.get_by_label("Binary (hex)").click();
    harness.run_steps(1);
    send(
        &mut harness,
        "de ad be ef 00 01 02 03 04 05 06 07 08 09 0a 0b 0c",
    );
    wait_for(&mut harness, "the echo", |h| h.state().tab().log.len() >= 2);
    harness
        .get_all_by_label_contains("received binary 17 B")
        .next()
        .expect("the row")
        .click();
    harness.run_steps(3);
    let per_line = harness.state().tab().caches.payload.hex_per_line;
    assert_eq!(
        per_line, 8,
        "the side panel's default width holds 8 bytes a line"
    );
    let body = harness
        .get_by_label("Payload (hex)")
        .value()
        .unwrap_or_default();
    assert!(
        body.starts_with("0000  de ad be ef 00 01 02 03  |....") && body.contains("\n0008  04 05"),
        "{body}"
    );
}

#[test]
fn shortcuts_work_inside_a_text_field_and_the_palette_runs_any_command() {
    let mut harness = harness(None);
    connect(&mut harness);
    send(&mut harness, "hello");
    wait_for(&mut harness, "the echo", |h| h.state().tab().log.len() >= 2);
    // The composer has the keyboard; Ctrl+L still goes to the URL, and Ctrl+K stays with the text field.
    harness
        .get_by_role_and_label(egui::accesskit::Role::MultilineTextInput, "Message")
        .focus();
    harness.run_steps(1);
    harness.key_press_modifiers(Modifiers::COMMAND, Key::L);
    harness.run_steps(2);
    assert!(harness.get_by_label("URL").is_focused());
    // The palette: type, Enter runs.
    harness.key_press_modifiers(Modifiers::COMMAND | Modifiers::SHIFT, Key::P);
    harness.run_steps(2);
    harness.event(egui::Event::Text("clear log".into()));
    harness.run_steps(2);
    harness.key_press(Key::Enter);
    harness.run_steps(2);
    assert!(harness.state().tab().log.is_empty(), "Clear the log ran");
    assert!(
        harness.query_by_label("Command").is_none(),
        "the palette closed"
    );
    // F1 lists every shortcut.
    harness.key_press(Key::F1);
    harness.run_steps(2);
    harness.get_by_label("They work while a text field has focus.");
    harness.get_by_label("Ctrl+Shift+P");
    harness.key_press(Key::Escape);
    harness.run_steps(2);
    assert!(
        harness
            .query_by_label("They work while a text field has focus.")
            .is_none()
    );
}

#[test]
fn the_side_panel_keeps_its_width_through_failed_connections() {
    // A TLS server whose certificate is not trusted: the handshake fails with the certificate to inspect, and
    // the side panel's longest tab title, "Handshake (no reply)".
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let pki = crate::tls::pki(&["localhost"]);
    let addr = rt.block_on(crate::tls::wss_echo(&pki));
    let mut harness = harness_sized(None, [1280.0, 800.0]);
    harness.state_mut().tab_mut().session.endpoint.url =
        format!("wss://localhost:{}/", addr.port());
    harness.run_steps(2);
    // The side panel's first tab, "Message", sits at its left edge (the composer's "Message" title is far left).
    let left = |h: &Harness<'static, AppState>| {
        h.query_all_by_label("Message")
            .map(|n| n.rect().left())
            .fold(f32::MIN, f32::max)
    };
    let before = left(&harness);
    for _ in 0..4 {
        harness.get_by_label("Connect").click();
        wait_for(&mut harness, "the failure", |h| {
            h.state().tab().conn_state == ConnState::Closed
        });
        harness.run_steps(2);
    }
    harness.get_by_label("Handshake (no reply)");
    assert_eq!(left(&harness), before, "the panel did not widen itself");
    assert_eq!(
        harness
            .query_all_by_label_contains("divider: connection failed · ")
            .count(),
        4
    );
}
