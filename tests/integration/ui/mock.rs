//! The mock server window: start it, see a client appear, send it a message, close it with 4000.

use super::*;
use futures_util::StreamExt;
use tokio_tungstenite::tungstenite::Message;

/// Opens the Mock server window.
fn open_window(harness: &mut Harness<'static, AppState>) {
    harness.get_by_label("Mock server…").click();
    harness.run_steps(2);
    assert!(harness.state().mock.open, "the window opened");
    wait_for(harness, "the window", |h| {
        h.query_by_label("Start").is_some()
    });
}

/// Starts the window's server; its URL.
fn start(harness: &mut Harness<'static, AppState>) -> String {
    harness.get_by_label("Start").click();
    wait_for(harness, "the server to listen", |h| {
        h.query_by_label("Copy URL").is_some()
    });
    harness.state().mock.server.as_ref().expect("running").url()
}

/// An independent client (tokio-tungstenite) connected to `url`.
async fn client(url: &str) -> tokio_tungstenite::WebSocketStream<tokio::net::TcpStream> {
    let host = url
        .trim_start_matches("ws://")
        .split('/')
        .next()
        .unwrap_or_default();
    let tcp = tokio::net::TcpStream::connect(host).await.expect("tcp");
    tokio_tungstenite::client_async(url, tcp)
        .await
        .expect("upgrade")
        .0
}

/// Waits for the one client and its row; its connection id.
fn only_client(harness: &mut Harness<'static, AppState>) -> String {
    wait_for(harness, "the client's row", |h| {
        h.state()
            .mock
            .server
            .as_ref()
            .is_some_and(|s| s.clients().len() == 1)
    });
    let id = harness
        .state()
        .mock
        .server
        .as_ref()
        .expect("running")
        .clients()[0]
        .0
        .clone();
    wait_for(harness, "the row drawn", |h| {
        h.query_by_label(&id).is_some()
    });
    id
}

#[test]
fn the_mock_server_window_serves_a_client_sends_to_it_and_closes_it_with_4000() {
    let mut harness = harness(None);
    open_window(&mut harness);
    let url = start(&mut harness);
    assert!(url.starts_with("ws://127.0.0.1:"), "{url}");
    // An independent client, on its own runtime.
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let client = std::thread::spawn(move || {
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        runtime.block_on(async move {
            let mut ws = client(&format!("{url}/room")).await;
            while let Some(Ok(m)) = ws.next().await {
                match m {
                    Message::Text(t) => {
                        let _ = tx.send(format!("text {t}"));
                    }
                    Message::Close(frame) => {
                        let code = frame.map(|f| u16::from(f.code)).unwrap_or(0);
                        let _ = tx.send(format!("close {code}"));
                    }
                    _ => {}
                }
            }
        });
    });
    let id = only_client(&mut harness);
    assert!(
        harness
            .query_all_by_label_contains("connected from 127.0.0.1")
            .next()
            .is_some(),
        "the log says who connected"
    );
    harness.get_by_label(&id).click();
    harness.run_steps(2);
    type_into(&mut harness, "Message to send", "hello from the window");
    harness.get_by_label("Send to selected").click();
    harness.run_steps(2);
    let got = rx
        .recv_timeout(Duration::from_secs(5))
        .expect("the client got a message");
    assert_eq!(got, "text hello from the window");
    harness.state_mut().mock.close_code = 4000;
    harness.run_steps(1);
    harness.get_by_label("Close selected").click();
    harness.run_steps(2);
    let got = rx.recv_timeout(Duration::from_secs(5)).expect("the close");
    assert_eq!(got, "close 4000");
    wait_for(&mut harness, "the client gone from the list", |h| {
        h.state()
            .mock
            .server
            .as_ref()
            .is_some_and(|s| s.clients().is_empty())
    });
    client.join().expect("client thread");
    harness.get_by_label("Stop").click();
    harness.run_steps(2);
    assert!(harness.state().mock.server.is_none());
}

#[test]
fn a_fault_injected_from_the_window_reaches_the_client() {
    let mut harness = harness(None);
    open_window(&mut harness);
    let url = start(&mut harness);
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let client = std::thread::spawn(move || {
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        runtime.block_on(async move {
            let mut ws = client(&url).await;
            match ws.next().await {
                Some(Err(e)) => {
                    let _ = tx.send(format!("error {e}"));
                }
                other => {
                    let _ = tx.send(format!("{other:?}"));
                }
            }
        });
    });
    let id = only_client(&mut harness);
    harness.get_by_label(&id).click();
    harness.state_mut().mock.fault = sockscope::model::mock::Fault::BadUtf8;
    harness.run_steps(2);
    harness.get_by_label("Inject on selected").click();
    harness.run_steps(2);
    let got = rx
        .recv_timeout(Duration::from_secs(5))
        .expect("the client's reading");
    assert!(got.contains("UTF-8"), "{got}");
    wait_for(&mut harness, "the fault in the log", |h| {
        h.query_all_by_label_contains("fault: a text frame that is not UTF-8")
            .next()
            .is_some()
    });
    client.join().expect("client thread");
}

#[test]
fn rules_edited_in_the_window_are_checked_served_and_saved_only_when_they_parse() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("rules.ron");
    std::fs::write(&file, "MockRules(rules: [])").expect("write");
    let mut harness = harness(None);
    open_window(&mut harness);
    harness.state_mut().mock.rules_path = file.display().to_string();
    harness.get_by_label("Edit rules").click();
    harness.run_steps(2);
    // A broken text: its line and column, and Save leaves the file as it was.
    harness.state_mut().mock.rules_text = "MockRules(\n  rules: [Rule(when: Nope)],\n)".into();
    wait_for(&mut harness, "the error", |h| {
        h.query_all_by_label_contains("rules.ron:2:")
            .next()
            .is_some()
    });
    harness.get_by_label("Save to file").click();
    harness.run_steps(3);
    assert_eq!(
        std::fs::read_to_string(&file).expect("read"),
        "MockRules(rules: [])"
    );
    // Valid rules: served, and saved as typed.
    let rules = r#"MockRules(rules: [Rule(name: "echo", when: Route("$default"), then: [Reply("echo {{request.body}}")])])"#;
    harness.state_mut().mock.rules_text = rules.into();
    wait_for(&mut harness, "the check", |h| {
        h.query_by_label_contains("The rules parse: 1 rules.")
            .is_some()
    });
    harness.get_by_label("Save to file").click();
    wait_for(&mut harness, "the save", |h| {
        h.query_all_by_label_contains("saved ").next().is_some()
    });
    assert_eq!(std::fs::read_to_string(&file).expect("read"), rules);
    let url = start(&mut harness);
    let reply = std::thread::spawn(move || {
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        runtime.block_on(async move {
            use futures_util::SinkExt;
            let mut ws = client(&url).await;
            ws.send(Message::text("hi")).await.expect("send");
            match ws.next().await {
                Some(Ok(Message::Text(t))) => t.to_string(),
                other => format!("{other:?}"),
            }
        })
    });
    for _ in 0..50 {
        harness.run_steps(1);
        if reply.is_finished() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(reply.join().expect("client"), "echo hi");
}
