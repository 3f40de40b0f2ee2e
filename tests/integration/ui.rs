//! The GUI, headless through egui_kittest: typing a URL, connecting to the built-in echo server, sending,
//! seeing rows appear, errors in plain words, and closing with a code and reason.

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use sockscope::app::AppState;
use sockscope::model::ConnState;
use sockscope::model::endpoint::ProxyMode;
use std::time::{Duration, Instant};

/// The app headless; with `url`, its first tab connects there at once (as `sockscope URL` does).
pub(crate) fn harness(url: Option<String>) -> Harness<'static, AppState> {
    let mut state = sockscope::app::headless_state(None).expect("engine starts");
    direct(&mut state);
    if let Some(url) = url {
        let tab = state.tab_mut();
        let mut session = tab.session.clone();
        session.endpoint.url = url;
        *tab = sockscope::app::ConnTab::with_session(session, None);
        state.apply(sockscope::app::Action::Connect);
    }
    Harness::builder()
        .with_size([1200.0, 760.0])
        .build_ui_state(
            |ui, state: &mut AppState| {
                state.drain_events();
                state.ui(ui);
            },
            state,
        )
}

/// Steps frames until `done` holds (the engine works on its own threads meanwhile).
pub(crate) fn wait_for(
    harness: &mut Harness<'static, AppState>,
    what: &str,
    done: impl Fn(&Harness<'static, AppState>) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        harness.step();
        if done(harness) {
            return;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn type_into(harness: &mut Harness<'static, AppState>, label: &str, text: &str) {
    harness.get_by_label(label).focus();
    harness.run_steps(1);
    harness.get_by_label(label).type_text(text);
    harness.run_steps(2);
}

/// Makes the active tab connect without a proxy, whatever proxy the developer's environment names (the proxy
/// modes have tests of their own), and leaves it unmodified (no `*`, no "unsaved" question on close).
fn direct(state: &mut AppState) {
    let tab = state.tab_mut();
    if tab.session.endpoint.proxy_mode == ProxyMode::Direct {
        return;
    }
    assert!(!tab.is_dirty(), "direct() runs before a test edits the tab");
    let mut session = tab.session.clone();
    session.endpoint.proxy_mode = ProxyMode::Direct;
    let path = tab.session_path.clone();
    *tab = sockscope::app::ConnTab::with_session(session, path);
}

fn connect(harness: &mut Harness<'static, AppState>) {
    assert_eq!(
        harness.state().tab().session.endpoint.proxy_mode,
        ProxyMode::Direct,
        "a test tab connects directly: call direct() on a new tab"
    );
    harness.get_by_label("Connect").click();
    wait_for(harness, "the connection to open", |h| {
        h.state().tab().conn_state == ConnState::Open
    });
}

#[test]
fn the_url_is_prefilled_with_the_builtin_echo_server_and_send_shows_rows() {
    let mut harness = harness(None);
    harness.step();
    let url = harness.state().tab().session.endpoint.url.clone();
    assert!(url.starts_with("ws://127.0.0.1:"), "{url}");
    assert_eq!(Some(url), harness.state().echo_url);
    connect(&mut harness);
    harness.get_by_label("Send").click();
    wait_for(&mut harness, "the echo", |h| {
        h.query_by_label_contains("received text 17 B Hello, sockscope!")
            .is_some()
    });
    assert!(
        harness
            .query_by_label_contains("sent text 17 B Hello, sockscope!")
            .is_some()
    );
    // Selecting the row shows the whole payload.
    harness.get_by_label_contains("received text").click();
    harness.run_steps(2);
    assert!(harness.state().tab().selected.is_some());
    let payload = harness.get_by_label("Payload (text)").value();
    assert_eq!(payload.as_deref(), Some("Hello, sockscope!"));
}

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
fn a_refused_connection_shows_the_stage_and_cause() {
    let port = crate::servers::refused_port();
    let mut harness = harness(Some(format!("ws://127.0.0.1:{port}")));
    wait_for(&mut harness, "the failure", |h| {
        h.state().tab().conn_state == ConnState::Closed
    });
    harness.step();
    assert!(
        harness
            .query_by_label_contains("TCP: could not connect to 127.0.0.1")
            .is_some()
    );
    assert!(
        harness
            .query_by_label_contains("connection refused")
            .is_some()
    );
    assert!(harness.query_by_label("Connect").is_some());
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
            .query_by_label_contains("closed by us · 4000 private use · \"ui bye\" (clean)")
            .is_some(),
        "close outcome not shown"
    );
    assert!(
        harness
            .query_by_label_contains("sent close 6 B 4000 \"ui bye\"")
            .is_some()
    );
    assert!(
        harness
            .query_by_label_contains("received close 6 B 4000 \"ui bye\"")
            .is_some()
    );
}

#[test]
fn the_inspector_shows_a_failed_upgrade_with_its_body_and_checks() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let addr = rt.block_on(crate::servers::raw_http(
        b"HTTP/1.1 401 Unauthorized\r\nContent-Type: text/plain\r\nContent-Length: 22\r\n\r\nmissing or bad token!\n",
    ));
    let mut harness = harness(Some(format!("ws://{addr}/private")));
    wait_for(&mut harness, "the failure", |h| {
        h.state().tab().conn_state == ConnState::Closed
    });
    harness.run_steps(2);
    assert_eq!(
        harness.state().tab().side_tab,
        sockscope::app::SideTab::Handshake,
        "a failed upgrade opens the inspector"
    );
    assert!(
        harness
            .query_all_by_label_contains("HTTP/1.1 401 Unauthorized")
            .count()
            >= 2,
        "status line and raw response"
    );
    assert!(
        harness
            .query_all_by_label_contains("missing or bad token!")
            .count()
            >= 2,
        "error line and body"
    );
    assert!(harness.query_by_label("FAIL").is_some());
    assert!(
        harness
            .query_by_label("401 Unauthorized instead of 101 Switching Protocols")
            .is_some()
    );
    assert!(
        harness
            .query_by_label_contains("GET /private HTTP/1.1")
            .is_some()
    );
}

#[test]
fn the_inspector_shows_checks_and_timings_of_a_good_upgrade() {
    let mut harness = harness(None);
    connect(&mut harness);
    harness.get_by_label_contains("Handshake").click();
    harness.run_steps(2);
    assert_eq!(harness.get_all_by_label("PASS").count(), 6);
    assert!(
        harness
            .query_by_label_contains("matches base64(SHA-1(key + GUID))")
            .is_some()
    );
    assert!(
        harness.query_by_label_contains("Upgrade ").is_some(),
        "the upgrade stage has a bar"
    );
    assert!(harness.query_by_label_contains("Total ").is_some());
    harness.get_by_label("curl").click();
    harness.run_steps(2);
    assert!(
        harness
            .query_by_label_contains("copied the curl command")
            .is_some()
    );
}

#[test]
fn header_rows_query_params_and_auth_reach_the_request() {
    let mut harness = harness(None);
    harness.get_by_label("Options").click();
    harness.run_steps(2);
    harness.get_by_label("Add header").click();
    harness.run_steps(2);
    type_into(&mut harness, "Header name", "X-Trace");
    type_into(&mut harness, "Header value", "abc123");
    // A second row, switched off, must not be sent.
    harness.get_by_label("Add header").click();
    harness.run_steps(2);
    harness.state_mut().tab_mut().session.endpoint.headers[1] =
        sockscope::model::endpoint::HeaderRow {
            enabled: false,
            name: "X-Off".into(),
            value: "1".into(),
            secret: false,
        };
    harness.get_by_label("Params").click();
    harness.run_steps(2);
    harness.get_by_label("Add parameter").click();
    harness.run_steps(2);
    assert!(
        harness
            .state()
            .tab()
            .session
            .endpoint
            .url
            .ends_with("?param1="),
        "{}",
        harness.state().tab().session.endpoint.url
    );
    harness.get_by_label("Auth").click();
    harness.run_steps(2);
    harness.get_by_label("Bearer token").click();
    harness.run_steps(2);
    type_into(&mut harness, "Token", "s3cr3t");
    connect(&mut harness);
    let request = String::from_utf8_lossy(
        &harness
            .state()
            .tab()
            .handshake
            .as_ref()
            .expect("handshake")
            .request_raw,
    )
    .into_owned();
    assert!(request.starts_with("GET /?param1= HTTP/1.1"), "{request}");
    assert!(request.contains("\r\nX-Trace: abc123\r\n"), "{request}");
    assert!(
        request.contains("\r\nAuthorization: Bearer s3cr3t\r\n"),
        "{request}"
    );
    assert!(!request.contains("X-Off"), "{request}");
}

#[test]
fn the_inspector_shows_tls_details_and_the_certificate() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let pki = crate::tls::pki(&["localhost"]);
    let addr = rt.block_on(crate::tls::wss_echo(&pki));
    let mut harness = harness(None);
    harness.state_mut().tab_mut().session.endpoint.url =
        format!("wss://localhost:{}/", addr.port());
    harness.state_mut().tab_mut().session.endpoint.tls.ca_file = Some(pki.ca_file.clone());
    connect(&mut harness);
    harness.get_by_label_contains("Handshake").click();
    harness.run_steps(2);
    assert!(harness.query_by_label("TLS 1.3").is_some());
    assert!(
        harness
            .query_by_label_contains("Server certificate: CN=localhost")
            .is_some()
    );
    assert!(
        harness.get_all_by_label_contains("TLS ").count() >= 2,
        "TLS 1.3 and a TLS bar in the waterfall"
    );
}

#[test]
fn tabs_open_switch_and_close_cleanly() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let (addr, seen) = rt.block_on(crate::servers::flaky(Duration::from_secs(30)));
    let mut harness = harness(None);
    connect(&mut harness);
    harness.get_by_label("+ New").click();
    harness.run_steps(2);
    assert_eq!(harness.state().tabs.len(), 2);
    assert_eq!(harness.state().active, 1);
    direct(harness.state_mut());
    harness.state_mut().tab_mut().session.endpoint.url = format!("ws://{addr}/second");
    harness.state_mut().tab_mut().composer.text = "to the second server".into();
    connect(&mut harness);
    harness.get_by_label("Send").click();
    wait_for(&mut harness, "the second server to get the message", |_| {
        !seen.lock().expect("log").is_empty()
    });
    // Each tab has its own log.
    wait_for(
        &mut harness,
        "the sent message in the second tab's log",
        |h| h.state().tabs[1].log.len() == 1,
    );
    assert!(harness.state().tabs[0].log.is_empty());
    let first_title = harness.state().tabs[0].title();
    harness.get_by_label(&format!("• {first_title}")).click();
    harness.run_steps(2);
    assert_eq!(harness.state().active, 0);
    // Closing the second tab closes its connection cleanly (the tab is gone, the handle's task ends).
    let second = harness.state().tabs[1]
        .connection()
        .expect("connected")
        .clone();
    harness
        .get_all_by_label("x")
        .nth(1)
        .expect("close button of tab 2")
        .click();
    harness.run_steps(2);
    assert_eq!(harness.state().tabs.len(), 1);
    let deadline = Instant::now() + Duration::from_secs(10);
    while second.is_alive() {
        assert!(
            Instant::now() < deadline,
            "the closed tab's connection ended"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(
        harness.state().tab().conn_state,
        ConnState::Open,
        "the other tab is untouched"
    );
    harness.get_by_label("Disconnect all").click();
    wait_for(&mut harness, "disconnect all", |h| {
        h.state().tab().conn_state == ConnState::Closed
    });
}

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
fn reconnect_shows_a_countdown_and_reconnect_now() {
    let port = crate::servers::refused_port();
    let mut harness = harness(None);
    {
        let e = &mut harness.state_mut().tab_mut().session.endpoint;
        e.url = format!("ws://127.0.0.1:{port}/");
        e.reconnect.enabled = true;
        e.reconnect.initial_delay_millis = 60_000;
    }
    harness.get_by_label("Connect").click();
    wait_for(&mut harness, "the countdown", |h| {
        h.state().tab().reconnect.is_some()
    });
    harness.run_steps(1);
    assert!(
        harness
            .query_by_label_contains("Reconnecting in ")
            .is_some()
    );
    harness.get_by_label("Reconnect now").click();
    wait_for(&mut harness, "the second attempt", |h| {
        h.state().tab().attempts.len() >= 2
    });
    harness.get_by_label("Cancel").click();
    wait_for(&mut harness, "reconnection to stop", |h| {
        h.state().tab().reconnect.is_none() && h.state().tab().connection().is_none()
    });
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
fn a_collection_is_built_saved_reopened_and_replayed() {
    let dir = std::env::temp_dir().join(format!("sockscope-ui-session-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("built.ron");
    let mut harness = harness(None);
    connect(&mut harness);
    harness.get_by_label("Send").click();
    wait_for(&mut harness, "the echo", |h| h.state().tab().log.len() >= 2);
    // Save the echoed message from the log into the collection.
    harness.get_by_label_contains("received text 17 B").click();
    harness.run_steps(2);
    harness.get_by_label("Save to collection").click();
    harness.run_steps(2);
    assert_eq!(harness.state().tab().session.steps().len(), 1);
    // Add a second message from the composer, and give it an expectation.
    harness.get_by_label("+ Message").click();
    harness.run_steps(2);
    {
        let tab = harness.state_mut().tab_mut();
        let sockscope::model::session::Item::Step(step) = &mut tab.session.collection[1] else {
            panic!("a step")
        };
        step.expect.push(sockscope::model::session::Expectation {
            matcher: sockscope::model::session::Matcher::Equals("Hello, sockscope!".into()),
            timeout_ms: 3000,
            enabled: true,
        });
        tab.session.name = "Built in the UI".into();
    }
    harness.run_steps(1);
    assert!(
        harness.query_by_label("*").is_some(),
        "the unsaved marker shows"
    );
    let active = harness.state().active;
    harness.state_mut().save_tab_to(active, path.clone());
    // The save runs on the file worker.
    harness
        .state_mut()
        .finish_file_work(Duration::from_secs(10));
    harness.run_steps(2);
    assert!(harness.query_by_label("*").is_none(), "saved");
    assert!(
        std::fs::read_to_string(&path)
            .expect("file")
            .contains("Built in the UI")
    );

    // Reopen it in a fresh app from the recent list, then replay it against the echo server.
    drop(harness);
    let mut harness = self::harness(None);
    harness.state_mut().recent = vec![path.clone()];
    harness.run_steps(1);
    harness.get_by_label("Recent").click();
    harness.run_steps(2);
    harness.get_by_label("built.ron").click();
    harness.run_steps(1);
    harness
        .state_mut()
        .finish_file_work(Duration::from_secs(10));
    harness.run_steps(2);
    assert_eq!(harness.state().tab().session.name, "Built in the UI");
    let echo = harness.state().echo_url.clone().expect("echo");
    harness.state_mut().tab_mut().session.endpoint.url = echo;
    harness.get_by_label("Run collection").click();
    wait_for(&mut harness, "the replay to finish", |h| {
        h.state().tab().replay.as_ref().is_some_and(|r| r.finished)
    });
    harness.run_steps(2);
    let run = harness.state().tab().replay.as_ref().expect("replay");
    assert_eq!(run.reports.len(), 2);
    assert!(
        run.reports
            .iter()
            .all(|r| r.outcome == sockscope::model::junit::Outcome::Pass),
        "{:?}",
        run.reports
    );
    assert!(
        harness
            .query_by_label_contains("finished: 2/2 steps, 2 passed, 0 failed")
            .is_some()
    );
    // Sending one step by hand needs a connection: it says so.
    harness
        .get_all_by_label("Send")
        .next()
        .expect("a step's Send")
        .click();
    harness.run_steps(2);
    assert!(
        harness
            .query_by_label_contains("not connected: press Connect first")
            .is_some()
    );
}

#[test]
fn a_failing_replay_shows_expected_and_got() {
    let mut harness = harness(None);
    {
        let tab = harness.state_mut().tab_mut();
        tab.session
            .collection
            .push(sockscope::model::session::Item::Step(
                sockscope::model::session::Step {
                    name: "wants a pong".into(),
                    payload: sockscope::model::session::Payload::Text("ping".into()),
                    expect: vec![sockscope::model::session::Expectation {
                        matcher: sockscope::model::session::Matcher::Equals("pong".into()),
                        timeout_ms: 200,
                        enabled: true,
                    }],
                    ..Default::default()
                },
            ));
    }
    harness.run_steps(1);
    harness.get_by_label("Run collection").click();
    wait_for(&mut harness, "the replay to finish", |h| {
        h.state().tab().replay.as_ref().is_some_and(|r| r.finished)
    });
    harness.run_steps(2);
    assert!(
        harness
            .query_by_label_contains("1. wants a pong: expected a message equal to \"pong\"")
            .is_some()
    );
    assert!(harness.query_by_label_contains("1 failed").is_some());
}

#[test]
fn the_workspace_is_restored_and_an_unreadable_one_is_left_alone() {
    let dir = std::env::temp_dir().join(format!("sockscope-ui-ws-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let ws = dir.join("workspace.ron");
    let _ = std::fs::remove_file(&ws);
    {
        let mut state = sockscope::app::headless_state(None).expect("state");
        state.restore_workspace(ws.clone());
        state.tab_mut().composer.text = "keep me".into();
        state.tab_mut().session.name = "unsaved work".into();
        state.apply(sockscope::app::Action::NewTab);
        state.tab_mut().session.endpoint.url = "ws://example.invalid/second".into();
        state.save_workspace();
    }
    let mut state = sockscope::app::headless_state(None).expect("state");
    state.restore_workspace(ws.clone());
    assert_eq!(state.tabs.len(), 2);
    assert_eq!(state.tabs[0].composer.text, "keep me");
    assert_eq!(state.tabs[0].session.name, "unsaved work");
    assert!(state.tabs[0].is_dirty(), "unsaved edits stay marked");
    assert_eq!(
        state.tabs[1].session.endpoint.url,
        "ws://example.invalid/second"
    );
    assert_eq!(state.active, 1);

    std::fs::write(&ws, "not (ron").expect("write");
    let mut state = sockscope::app::headless_state(None).expect("state");
    state.restore_workspace(ws.clone());
    assert!(
        state
            .notice
            .as_deref()
            .is_some_and(|n| n.contains("left as it is"))
    );
    state.save_workspace();
    assert_eq!(
        std::fs::read_to_string(&ws).expect("read"),
        "not (ron",
        "never overwritten"
    );
}

#[test]
fn the_log_becomes_a_collection_with_its_original_timing() {
    let mut harness = harness(None);
    connect(&mut harness);
    harness.get_by_label("Send").click();
    wait_for(&mut harness, "the first echo", |h| {
        h.state().tab().log.len() >= 2
    });
    std::thread::sleep(Duration::from_millis(300));
    harness.state_mut().tab_mut().composer.text = "second".into();
    harness.run_steps(1);
    harness.get_by_label("Send").click();
    wait_for(&mut harness, "the second echo", |h| {
        h.state().tab().log.len() >= 4
    });
    harness.get_by_label("Log to collection").click();
    harness.run_steps(2);
    let steps = harness.state().tab().session.steps();
    assert_eq!(steps.len(), 2);
    assert_eq!(steps[0].1.delay_ms, 0);
    assert!(
        steps[1].1.delay_ms >= 300,
        "recorded gap: {} ms",
        steps[1].1.delay_ms
    );
    assert_eq!(
        steps[1].1.payload,
        sockscope::model::session::Payload::Text("second".into())
    );
    assert_eq!(steps[1].1.expect.len(), 1, "the echo became an expectation");
    assert!(
        !steps[1].1.expect[0].enabled,
        "switched off until the user wants it"
    );
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
        harness
            .query_all_by_label_contains("0 continuation")
            .count(),
        4
    );
    assert!(
        harness
            .query_by_label_contains("6 frames on the wire")
            .is_some()
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

#[test]
fn session_variables_apply_to_the_url_and_unknown_ones_stop_the_connect() {
    let mut harness = harness(None);
    let echo = harness.state().echo_url.clone().expect("echo");
    let port = echo.rsplit(':').next().expect("port").to_owned();
    {
        let tab = harness.state_mut().tab_mut();
        tab.session.endpoint.url = "ws://127.0.0.1:{{port}}/{{room}}".into();
        tab.session.variables = vec![
            sockscope::model::session::Variable {
                name: "port".into(),
                value: port,
                secret: false,
            },
            sockscope::model::session::Variable {
                name: "room".into(),
                value: "lobby".into(),
                secret: false,
            },
        ];
    }
    connect(&mut harness);
    assert_eq!(
        harness
            .state()
            .tab()
            .handshake
            .as_ref()
            .expect("handshake")
            .target,
        "/lobby"
    );
    harness.get_by_label("Disconnect").click();
    wait_for(&mut harness, "closed", |h| {
        h.state().tab().conn_state == ConnState::Closed
    });
    harness.state_mut().tab_mut().session.endpoint.url = "ws://127.0.0.1:{{nope}}/".into();
    harness.get_by_label("Connect").click();
    harness.run_steps(2);
    assert!(
        harness
            .query_by_label_contains("unknown variable '{{nope}}'")
            .is_some()
    );
    assert!(
        harness.state().tab().connection().is_none(),
        "nothing was sent"
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
fn hostile_servers_end_in_plain_words_with_the_close_code_we_sent() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    // (frames after the 101, words the error must contain, the close code we send)
    let cases: [(&'static [u8], &str, u16); 3] = [
        (
            &[0x81, 0x02, b'o', b'k', 0x81, 0x02, 0xff, 0xfe],
            "not valid UTF-8",
            1007,
        ),
        (
            &[0x81, 0x02, b'o', b'k', 0xC1, 0x01, b'x'],
            "protocol violation",
            1002,
        ),
        (
            &[0x81, 0x02, b'o', b'k', 0x82, 127, 0, 0, 1, 0, 0, 0, 0, 0],
            "the server sent a message of 1099511627776 bytes, over the limit of",
            1009,
        ),
    ];
    for (frames, words, code) in cases {
        let (addr, _seen) = rt.block_on(crate::servers::raw_101_then(frames));
        let mut harness = harness(Some(format!("ws://{addr}/")));
        wait_for(&mut harness, "the connection to end", |h| {
            h.state().tab().conn_state == ConnState::Closed
        });
        harness.run_steps(2);
        let tab = harness.state().tab();
        let error = tab.error.as_ref().expect("an error is shown");
        assert_eq!(error.stage, sockscope::model::Stage::Read, "{error}");
        assert!(error.message.contains(words), "{error}");
        assert!(
            harness
                .query_by_label_contains(&error.to_string())
                .is_some(),
            "the error is on screen: {error}"
        );
        assert!(
            harness
                .query_by_label_contains("received text 2 B ok")
                .is_some(),
            "what came before is kept"
        );
        let sent_close = tab
            .log
            .iter()
            .find(|e| {
                e.direction == sockscope::model::Direction::Sent
                    && e.kind == sockscope::model::MessageKind::Close
            })
            .expect("our close is logged");
        assert_eq!(sent_close.close_code(), Some(code));
        let row = format!("sent close {} B", sent_close.size());
        assert!(
            harness
                .query_by_label_contains(&format!("{row} {code}"))
                .is_some(),
            "our close with {code} is on screen"
        );
    }
}

#[test]
fn a_reset_mid_frame_and_a_server_ignoring_our_close_end_in_plain_words() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let addr = rt.block_on(crate::servers::raw_101_then_reset(&[
        0x81, 0x02, b'o', b'k', 0x81, 0x05, b'h', b'e',
    ]));
    let mut harness = harness(Some(format!("ws://{addr}/")));
    wait_for(&mut harness, "the reset", |h| {
        h.state().tab().conn_state == ConnState::Closed
    });
    harness.run_steps(2);
    let error = harness.state().tab().error.clone().expect("an error");
    assert_eq!(error.stage, sockscope::model::Stage::Read, "{error}");
    assert!(
        harness
            .query_by_label_contains(&error.to_string())
            .is_some()
    );
    assert!(
        harness
            .query_by_label_contains("received text 2 B ok")
            .is_some()
    );

    drop(harness);
    let addr = rt.block_on(crate::servers::raw_101_deaf());
    let mut harness = self::harness(Some(format!("ws://{addr}/")));
    wait_for(&mut harness, "the connection to open", |h| {
        h.state().tab().conn_state == ConnState::Open
    });
    harness.get_by_label("Disconnect").click();
    wait_for(&mut harness, "giving up on the close", |h| {
        h.state().tab().conn_state == ConnState::Closed
    });
    harness.run_steps(2);
    let error = harness.state().tab().error.clone().expect("an error");
    assert_eq!(error.stage, sockscope::model::Stage::Timeout, "{error}");
    assert!(
        error.message.contains("did not answer our close frame"),
        "{error}"
    );
    assert!(
        harness
            .query_by_label_contains(&error.to_string())
            .is_some()
    );
}

#[test]
fn a_server_close_without_a_code_or_with_an_unallowed_one_is_shown_as_a_server_close() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    // (frames, the close code the GUI reports, the code of our reply)
    let cases: [(&'static [u8], Option<u16>, Option<u16>); 2] = [
        (&[0x81, 0x02, b'o', b'k', 0x88, 0x00], None, None),
        // Code 999 is not allowed: the library answers 1002 and reports 1002.
        (
            &[0x81, 0x02, b'o', b'k', 0x88, 0x02, 0x03, 0xE7],
            Some(1002),
            Some(1002),
        ),
    ];
    for (frames, reported, reply) in cases {
        let (addr, _seen) = rt.block_on(crate::servers::raw_101_then(frames));
        let mut harness = harness(Some(format!("ws://{addr}/")));
        wait_for(&mut harness, "the close", |h| {
            h.state().tab().conn_state == ConnState::Closed
        });
        harness.run_steps(2);
        let tab = harness.state().tab();
        let info = tab.close_info.clone().expect("close info");
        assert_eq!(info.code, reported);
        assert_eq!(info.initiated_by, sockscope::model::Initiator::Server);
        assert!(tab.error.is_none(), "{:?}", tab.error);
        let our_reply = tab
            .log
            .iter()
            .find(|e| {
                e.direction == sockscope::model::Direction::Sent
                    && e.kind == sockscope::model::MessageKind::Close
            })
            .expect("our reply is logged");
        assert!(our_reply.automatic());
        assert_eq!(our_reply.close_code(), reply);
        assert!(
            harness
                .query_by_label_contains("closed by the server")
                .is_some()
        );
        assert!(
            harness
                .query_by_label_contains("received text 2 B ok")
                .is_some()
        );
    }
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
