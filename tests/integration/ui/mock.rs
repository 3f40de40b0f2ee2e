//! The server tab: start it, see a client appear with its handshake, its traffic in the log under its
//! connection id, send it a message (templates expanded), close it with 4000.

use super::*;
use futures_util::StreamExt;
use tokio_tungstenite::tungstenite::Message;

/// Opens a server tab.
fn open_tab(harness: &mut Harness<'static, AppState>) {
    harness.get_by_label("+ Server tab").click();
    harness.run_steps(2);
    assert_eq!(harness.state().servers.len(), 1, "a server tab opened");
    assert_eq!(harness.state().server_view, Some(0), "and is shown");
    wait_for(harness, "the server tab", |h| {
        h.query_by_label("Start").is_some()
    });
}

/// Starts the tab's server; its URL.
fn start(harness: &mut Harness<'static, AppState>) -> String {
    harness.get_by_label("Start").click();
    wait_for(harness, "the server to listen", |h| {
        h.query_by_label("Copy URL").is_some()
    });
    harness.state().servers[0]
        .server
        .as_ref()
        .expect("running")
        .url()
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
        h.state().servers[0]
            .server
            .as_ref()
            .is_some_and(|s| s.clients().len() == 1)
    });
    let id = harness.state().servers[0]
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
fn the_server_tab_serves_a_client_sends_to_it_and_closes_it_with_4000() {
    let mut harness = harness(None);
    open_tab(&mut harness);
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
    // Ticking a client shows its upgrade request in the details.
    wait_for(&mut harness, "the handshake in the details", |h| {
        h.query_all_by_label_contains("GET /room HTTP/1.1")
            .next()
            .is_some()
    });
    type_into(
        &mut harness,
        "Message to send",
        "hello {{connection.id}} #{{counter}}",
    );
    harness.get_by_label("Send to selected").click();
    harness.run_steps(2);
    let got = rx
        .recv_timeout(Duration::from_secs(5))
        .expect("the client got a message");
    assert_eq!(
        got,
        format!("text hello {id} #1"),
        "templates expanded per client"
    );
    // The message is in the log under the client's connection id, going out.
    let sent = format!("hello {id} #1");
    let row = format!(
        "{id:<16} ↑ {:<6} {:>9}  {sent}",
        "text",
        format!("{} B", sent.len())
    );
    wait_for(&mut harness, "the sent row", |h| {
        h.query_all_by_label_contains(&row).next().is_some()
    });
    harness.state_mut().servers[0].close_code = 4000;
    harness.run_steps(1);
    harness.get_by_label("Close selected").click();
    harness.run_steps(2);
    let got = rx.recv_timeout(Duration::from_secs(5)).expect("the close");
    assert_eq!(got, "close 4000");
    wait_for(&mut harness, "the client gone from the list", |h| {
        h.state().servers[0]
            .server
            .as_ref()
            .is_some_and(|s| s.clients().is_empty())
    });
    client.join().expect("client thread");
    harness.get_by_label("Stop").click();
    harness.run_steps(2);
    assert!(harness.state().servers[0].server.is_none());
}

#[test]
fn a_fault_injected_from_the_server_tab_reaches_the_client() {
    let mut harness = harness(None);
    open_tab(&mut harness);
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
    harness.state_mut().servers[0].fault = sockscope::model::mock::Fault::BadUtf8;
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
fn rules_edited_in_the_server_tab_are_checked_served_and_saved_only_when_they_parse() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("rules.ron");
    std::fs::write(&file, "MockRules(rules: [])").expect("write");
    let mut harness = harness(None);
    open_tab(&mut harness);
    harness.state_mut().servers[0].rules_path = file.display().to_string();
    harness.get_by_label("Edit rules").click();
    // Ticking it reads the file named into the editor.
    wait_for(&mut harness, "the file loaded", |h| {
        h.query_by_label_contains("loaded: 0 rules").is_some()
    });
    // A broken text: its line and column, and Save leaves the file as it was.
    harness.state_mut().servers[0].rules_text =
        "MockRules(\n  rules: [Rule(when: Nope)],\n)".into();
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
    harness.state_mut().servers[0].rules_text = rules.into();
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

/// Two independent clients that each send one text and then wait for the close.
fn two_senders(url: String) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        runtime.block_on(async move {
            use futures_util::SinkExt;
            let mut a = client(&url).await;
            a.send(Message::text("from client A")).await.expect("send");
            let mut b = client(&url).await;
            b.send(Message::text("from client B")).await.expect("send");
            let (_, _) = tokio::join!(a.next(), b.next());
        });
    })
}

#[test]
fn the_log_shows_each_clients_traffic_under_its_id_and_filters_by_client() {
    let mut harness = harness(None);
    open_tab(&mut harness);
    let url = start(&mut harness);
    let clients = two_senders(url);
    wait_for(&mut harness, "both messages logged", |h| {
        h.query_all_by_label_contains("from client A")
            .next()
            .is_some()
            && h.query_all_by_label_contains("from client B")
                .next()
                .is_some()
    });
    let ids: Vec<String> = harness.state().servers[0]
        .clients
        .iter()
        .map(|(id, _)| id.clone())
        .collect();
    assert_eq!(ids.len(), 2, "{ids:?}");
    let a_row = format!(
        "{:<16} ↓ {:<6} {:>9}  from client A",
        ids[0], "text", "13 B"
    );
    assert!(
        harness.query_all_by_label_contains(&a_row).next().is_some(),
        "the row carries client A's id: {a_row}"
    );
    // Only client B's rows.
    harness.state_mut().servers[0].log.client = ids[1].clone();
    harness.run_steps(2);
    assert!(
        harness
            .query_all_by_label_contains("from client A")
            .next()
            .is_none(),
        "client A's row is filtered out"
    );
    assert!(
        harness
            .query_all_by_label_contains("from client B")
            .next()
            .is_some(),
        "client B's row stays"
    );
    // Search narrows further, across all clients again.
    harness.state_mut().servers[0].log.client.clear();
    type_into(&mut harness, "search", "client A");
    harness.run_steps(2);
    assert!(
        harness
            .query_all_by_label_contains("from client B")
            .next()
            .is_none()
    );
    assert!(
        harness
            .query_all_by_label_contains("from client A")
            .next()
            .is_some()
    );
    // The server tab's close button is the strip's last.
    harness
        .query_all_by_label("x")
        .last()
        .expect("close")
        .click();
    harness.run_steps(2);
    assert!(harness.state().servers.is_empty(), "the tab closed");
    clients.join().expect("clients");
}

#[test]
fn a_bearer_token_typed_in_the_tab_is_required_of_clients() {
    let mut harness = harness(None);
    open_tab(&mut harness);
    type_into(&mut harness, "Bearer token", "s3cret");
    let url = start(&mut harness);
    let outcome = std::thread::spawn(move || {
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        runtime.block_on(async move {
            use tokio_tungstenite::tungstenite::client::IntoClientRequest;
            let host = url.trim_start_matches("ws://").to_owned();
            let tcp = tokio::net::TcpStream::connect(&host).await.expect("tcp");
            // A hand-written upgrade without the token: the whole answer, status line to body.
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let mut tcp = tcp;
            tcp.write_all(
                format!(
                    "GET / HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                     Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
                )
                .as_bytes(),
            )
            .await
            .expect("write");
            let mut answer = String::new();
            let _ = tokio::time::timeout(Duration::from_secs(5), tcp.read_to_string(&mut answer)).await;
            let without = answer;
            let mut request = url.as_str().into_client_request().expect("request");
            request
                .headers_mut()
                .insert("Authorization", "Bearer s3cret".parse().expect("header"));
            let tcp = tokio::net::TcpStream::connect(&host).await.expect("tcp");
            let with = tokio_tungstenite::client_async(request, tcp).await.is_ok();
            (without, with)
        })
    });
    for _ in 0..100 {
        harness.run_steps(1);
        if outcome.is_finished() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let (without, with) = outcome.join().expect("client");
    assert!(without.starts_with("HTTP/1.1 401 "), "{without}");
    assert!(
        without.ends_with("{\"message\":\"Unauthorized\"}"),
        "the 401 has a body: {without}"
    );
    assert!(with, "the token lets the client in");
    wait_for(&mut harness, "the refusal in the log", |h| {
        h.query_all_by_label_contains("refused with 401")
            .next()
            .is_some()
    });
}

#[test]
fn a_rule_made_in_the_form_is_written_as_ron_and_served() {
    let mut harness = harness(None);
    open_tab(&mut harness);
    harness.get_by_label("Edit rules").click();
    harness.run_steps(2);
    harness.get_by_label("+ Rule").click();
    harness.run_steps(2);
    // The new rule's route key is $default: select it all and type over it.
    harness.get_by_label("route key").focus();
    harness.run_steps(1);
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    harness.run_steps(1);
    harness.get_by_label("route key").type_text("hello");
    harness.run_steps(2);
    harness.get_by_label("+ Action").click();
    harness.run_steps(2);
    type_into(&mut harness, "text", "hi {{request.body.user}}");
    let rules = sockscope::model::mock::MockRules::from_ron(
        &harness.state().servers[0].rules_text,
        std::path::Path::new("form"),
    )
    .expect("the form writes rules that parse");
    assert_eq!(rules.rules.len(), 1);
    let rule = &rules.rules[0];
    assert_eq!(rule.name, "rule 1", "named by its place");
    assert_eq!(
        rule.when,
        sockscope::model::mock::When::Route("hello".into())
    );
    assert_eq!(
        rule.then,
        vec![sockscope::model::mock::Then::Reply(
            "hi {{request.body.user}}".into()
        )]
    );
    let url = start(&mut harness);
    let reply = std::thread::spawn(move || {
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        runtime.block_on(async move {
            use futures_util::SinkExt;
            let mut ws = client(&url).await;
            ws.send(Message::text(r#"{"action":"hello","user":"ann"}"#))
                .await
                .expect("send");
            match ws.next().await {
                Some(Ok(Message::Text(t))) => t.to_string(),
                other => format!("{other:?}"),
            }
        })
    });
    for _ in 0..100 {
        harness.run_steps(1);
        if reply.is_finished() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(reply.join().expect("client"), "hi ann");
    // While it runs, the form is read-only.
    assert!(
        harness
            .query_by_label_contains("read-only while the server runs")
            .is_some()
    );
}
