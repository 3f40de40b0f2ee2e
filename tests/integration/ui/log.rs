//! The message log in the GUI: latency and traffic tabs, search and JSON, a million rows, log limits, a flood of
//! messages.

use super::*;

#[test]
fn latency_tab_shows_rtt_statistics() {
    let mut harness = harness(None);
    harness
        .state_mut()
        .tab_mut()
        .session
        .endpoint
        .keepalive
        .ping_interval_millis = Some(30);
    connect(&mut harness);
    wait_for(&mut harness, "three pongs", |h| {
        (0..h.state().tab().log.len())
            .filter(|&i| {
                h.state()
                    .tab()
                    .log
                    .get(i)
                    .is_some_and(|e| e.rtt().is_some())
            })
            .count()
            >= 3
    });
    harness.get_by_label("Latency").click();
    harness.run_steps(2);
    assert!(harness.query_by_label_contains(" pongs · min ").is_some());
    assert!(harness.query_by_label_contains("p95").is_some());
}

#[test]
fn search_filters_the_log_and_json_is_shown_pretty() {
    let mut harness = harness(None);
    connect(&mut harness);
    for text in [
        r#"{"type":"order","id":41}"#,
        "plain words",
        r#"{"type":"order","id":42}"#,
    ] {
        harness.state_mut().tab_mut().composer.text = text.into();
        harness.run_steps(1);
        harness.get_by_label("Send").click();
        harness.run_steps(1);
    }
    wait_for(&mut harness, "six rows", |h| h.state().tab().log.len() >= 6);
    type_into(&mut harness, "Search", r#""id":4\d"#);
    harness.get_by_label("Regex").click();
    harness.run_steps(3);
    assert!(
        harness.query_by_label_contains("4 of 6").is_some(),
        "regex search over payloads"
    );
    harness.get_by_label("Direction").click();
    harness.run_steps(2);
    harness.get_by_label("Received").click();
    harness.run_steps(3);
    assert!(
        harness.query_by_label_contains("2 of 6").is_some(),
        "direction filter"
    );
    harness
        .get_all_by_label_contains("received text 24 B")
        .next()
        .expect("a row")
        .click();
    harness.run_steps(2);
    // JSON opens as a foldable tree with coloured leaves...
    assert!(harness.query_by_label("$: {…} 2 keys").is_some());
    assert!(harness.query_by_label("\"order\"").is_some());
    harness.get_by_label("$: {…} 2 keys").click();
    harness.run_steps(3);
    assert!(
        harness.query_by_label("\"order\"").is_none(),
        "a click folds the object"
    );
    // ...or as pretty text.
    harness.get_by_label("As text").click();
    harness.run_steps(2);
    let json = harness
        .get_by_label("Payload (JSON)")
        .value()
        .expect("value");
    assert_eq!(json, "{\n  \"type\": \"order\",\n  \"id\": 41\n}");
    harness.get_by_label("Base64").click();
    harness.run_steps(2);
    assert!(
        harness
            .get_by_label("Payload (base64)")
            .value()
            .is_some_and(|v| v.starts_with("eyJ0eXBlIjoib3JkZXIi"))
    );
}

#[test]
fn the_traffic_tab_plots_rates() {
    let mut harness = harness(None);
    connect(&mut harness);
    harness.get_by_label("Send").click();
    wait_for(&mut harness, "the echo", |h| h.state().tab().log.len() >= 2);
    harness.get_by_label("Traffic").click();
    harness.run_steps(2);
    assert!(
        harness
            .query_by_label_contains(
                "peak: 1 msg/s sent, 1 msg/s received, 17 B/s sent, 17 B/s received"
            )
            .is_some()
    );
}

fn numbered(n: u64) -> sockscope::model::LogEntry {
    use sockscope::model::{Direction, LogEntry, MessageKind};
    let mut payload = format!("message-{n}-").into_bytes();
    payload.resize(64, b'x');
    let since = Duration::from_micros(n);
    LogEntry::new(
        1,
        Direction::Received,
        MessageKind::Text,
        std::time::SystemTime::now(),
        since,
        payload,
    )
}

#[test]
fn a_million_rows_scroll_to_the_last_one_and_home_goes_back_to_the_first() {
    let mut harness = harness(None);
    for n in 0..1_000_000 {
        harness.state_mut().tab_mut().log.push(numbered(n));
    }
    harness.run_steps(2);
    // Following the end: the millionth row is drawn in place (egui's pixel-based scroll area cannot get there).
    assert!(harness.query_by_label_contains("message-999999-").is_some());
    assert!(harness.query_by_label_contains("message-0-").is_none());
    // Home (with the pointer over the log) goes to the top and stops following.
    harness.hover_at(egui::pos2(600.0, 400.0));
    harness.key_press(egui::Key::Home);
    harness.run_steps(2);
    assert!(harness.query_by_label_contains("message-0-").is_some());
    assert!(!harness.state().tab().follow);
    // The default limit is a million: the new row drops message 0, and the view stays at the top.
    harness.state_mut().tab_mut().log.push(numbered(1_000_000));
    harness.run_steps(1);
    assert!(harness.query_by_label_contains("message-0-").is_none());
    assert!(
        harness.query_by_label_contains("message-1-").is_some(),
        "new rows do not move a view that stopped following"
    );
    assert!(harness.query_by_label("(1 oldest dropped)").is_some());
}

#[test]
fn log_limits_drop_the_oldest_and_say_how_many() {
    let mut harness = harness(None);
    harness.state_mut().log_limits = sockscope::app::LogLimits {
        max_entries: 1_000,
        max_mib: 512,
    };
    for n in 0..1_500 {
        harness.state_mut().tab_mut().log.push(numbered(n));
    }
    harness.run_steps(2);
    assert_eq!(harness.state().tab().log.len(), 1_000);
    assert!(harness.query_by_label("(500 oldest dropped)").is_some());
    assert!(harness.query_by_label_contains("message-1499-").is_some());
}

#[test]
fn a_flood_of_100k_messages_lands_in_the_log_and_the_close_is_shown() {
    use sockscope::engine::echo::EchoServer;
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let server = runtime
        .block_on(EchoServer::flood(100_000, 64))
        .expect("flood server");
    let mut harness = harness(Some(server.url()));
    wait_for(&mut harness, "the flood to end", |h| {
        h.state().tab().conn_state == ConnState::Closed
    });
    harness.run_steps(2);
    let log = &harness.state().tab().log;
    // 100,000 messages plus the server's close and our reply; nothing dropped under the GUI's budget.
    assert_eq!(log.len() as u64 + log.dropped(), 100_002);
    assert!(
        harness.query_by_label_contains("99999xxxx").is_some(),
        "the last message is in view"
    );
    assert_eq!(
        harness
            .get_all_by_label_contains("1000 \"flood done\"")
            .count(),
        2,
        "the server's close and our automatic reply are in view"
    );
}

#[test]
fn a_log_limit_being_dragged_applies_only_when_the_drag_ends() {
    let mut harness = harness(None);
    for n in 0..5_000 {
        harness.state_mut().tab_mut().log.push(numbered(n));
    }
    harness.run_steps(2);
    harness.get_by_label("Limits…").click();
    harness.run_steps(2);
    let field = harness.get_by_label("Keep messages").rect();
    let (start, left) = (field.center(), field.center() - egui::vec2(60.0, 0.0));
    harness.drag_at(start);
    harness.run_steps(1);
    harness.hover_at(left);
    harness.run_steps(2);
    // Mid-drag the field shows a lower value, but nothing is applied or dropped yet.
    assert_eq!(harness.state().log_limits.max_entries, 1_000_000);
    assert_eq!(harness.state().tab().log.len(), 5_000);
    // Dragging back up and letting go keeps every entry.
    harness.hover_at(start + egui::vec2(10.0, 0.0));
    harness.run_steps(2);
    harness.drop_at(start + egui::vec2(10.0, 0.0));
    harness.run_steps(2);
    assert!(harness.state().log_limits.max_entries > 1_000_000);
    assert_eq!(harness.state().tab().log.len(), 5_000);
    assert_eq!(harness.state().tab().log.dropped(), 0);
    // Dragged down and let go, the lower limit applies.
    harness.drag_at(start);
    harness.run_steps(1);
    harness.hover_at(left - egui::vec2(200.0, 0.0));
    harness.run_steps(2);
    harness.drop_at(left - egui::vec2(200.0, 0.0));
    harness.run_steps(2);
    assert_eq!(harness.state().log_limits.max_entries, 1_000);
    assert_eq!(harness.state().tab().log.len(), 1_000);
}

#[test]
fn a_search_that_matches_nothing_says_so_and_clears_in_one_click() {
    let mut harness = harness(None);
    connect(&mut harness);
    harness.get_by_label("Send").click();
    wait_for(&mut harness, "the echo", |h| h.state().tab().log.len() >= 2);
    type_into(&mut harness, "Search", "no such text anywhere");
    harness.run_steps(3);
    assert!(
        harness
            .query_by_label_contains("No message matches \"no such text anywhere\" with these filters (2 messages hidden)")
            .is_some()
    );
    harness.get_by_label("Clear search and filters").click();
    harness.run_steps(3);
    assert!(harness.state().tab().filter.query.is_empty());
    assert!(
        harness
            .query_by_label_contains("received text 17 B Hello, sockscope!")
            .is_some()
    );
}
