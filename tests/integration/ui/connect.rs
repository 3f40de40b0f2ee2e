//! Connecting from the GUI: the prefilled echo URL, a refused connection, the handshake inspector (a failed and
//! a good upgrade, TLS details), request headers, query parameters and auth, tabs, and reconnection.

use super::*;

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
fn a_refused_connection_shows_the_stage_and_cause() {
    let port = crate::servers::refused_port();
    let mut harness = harness(Some(format!("ws://127.0.0.1:{port}")));
    wait_for(&mut harness, "the failure", |h| {
        h.state().tab().conn_state == ConnState::Closed
    });
    harness.step();
    // The connection bar says what failed, and so does a divider in the log.
    let bar = harness.get_by_label_contains("Error: TCP: could not connect to 127.0.0.1");
    assert!(format!("{bar:?}").contains("connection refused"));
    harness.get_by_label_contains("divider: connection failed · TCP: could not connect");
    assert!(harness.query_by_label("Connect").is_some());
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
    harness.get_by_label("+ New tab").click();
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
    // Each tab says its state (a shape and a colour; "state: …" for assistive tools).
    assert_eq!(harness.get_all_by_label("state: open").count(), 2);
    harness.get_by_label(&first_title).click();
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
