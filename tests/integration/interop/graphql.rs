//! GraphQL over WebSocket against the reference servers: `graphql-ws` (protocol graphql-transport-ws) and
//! `subscriptions-transport-ws` (the legacy graphql-ws), driven by `model::protocol::graphql::Client`.

use super::{Peer, Runtime, start_peer, start_peer_with};
use crate::servers::{collect, start};
use sockscope::engine::{Command, EventKind};
use sockscope::model::{ConnState, ConnectRequest, Direction, MessageKind};

/// The GraphQL client state machine (`model::protocol::graphql::Client`) over a real connection to a reference
/// server: what it sends goes out as text, every text message it receives goes in. Returns the transcript and the
/// messages as decoded, in order, with the client's failures.
async fn graphql_session(
    peer: &Peer,
    dialect: sockscope::model::protocol::graphql::Dialect,
    token: &str,
    operations: Vec<(String, sockscope::model::protocol::graphql::Operation)>,
) -> (
    crate::servers::Transcript,
    Vec<sockscope::model::protocol::graphql::Message>,
    Vec<String>,
    sockscope::model::protocol::graphql::Client,
) {
    use sockscope::model::protocol::graphql::{Client, DEFAULT_ACK_TIMEOUT, Message, Output};
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};
    let mut request = ConnectRequest::new(format!("ws://127.0.0.1:{}/graphql", peer.port));
    request.subprotocols = vec![dialect.subprotocol().to_owned()];
    let (handle, mut events) = start(request);
    let client = Arc::new(Mutex::new(Client::new(
        dialect,
        DEFAULT_ACK_TIMEOUT,
        Some(Duration::from_secs(5)),
    )));
    let decoded = Arc::new(Mutex::new(Vec::<Message>::new()));
    let failures = Arc::new(Mutex::new(Vec::<String>::new()));
    let (c, d, f) = (client.clone(), decoded.clone(), failures.clone());
    let expected = operations.len();
    let t = collect(&mut events, move |event, _| {
        let mut client = c.lock().expect("client");
        let outputs = match event {
            EventKind::State(ConnState::Open) => {
                let mut out =
                    client.start(Instant::now(), Some(serde_json::json!({ "token": token })));
                for (id, op) in &operations {
                    out.extend(client.subscribe(op.clone(), Some(id.clone())).1);
                }
                out
            }
            EventKind::Message(m)
                if m.direction == Direction::Received && m.kind == MessageKind::Text =>
            {
                let text = std::str::from_utf8(&m.payload).expect("utf-8");
                let (message, out) = client.on_text(Instant::now(), text);
                d.lock()
                    .expect("decoded")
                    .push(message.expect("the reference server's message decodes"));
                out
            }
            _ => Vec::new(),
        };
        for output in outputs {
            match output {
                Output::Send(text) => {
                    handle.send(Command::Text(text));
                }
                Output::Acknowledged => {
                    if dialect == sockscope::model::protocol::graphql::Dialect::TransportWs {
                        // The server answers a client ping with a pong.
                        handle.send(Command::Text(r#"{"type":"ping","payload":{"n":1}}"#.into()));
                    }
                }
                Output::Failed(why) => {
                    f.lock().expect("failures").push(why);
                    handle.send(Command::Close {
                        code: 1000,
                        reason: String::new(),
                    });
                }
            }
        }
        let finished = client.operations().values().filter(|op| op.done).count();
        let waited_for_ka = dialect == sockscope::model::protocol::graphql::Dialect::TransportWs
            || d.lock().expect("decoded").contains(&Message::KeepAlive);
        if expected > 0 && finished == expected && waited_for_ka {
            handle.send(Command::Close {
                code: 1000,
                reason: String::new(),
            });
        }
    })
    .await;
    let decoded = decoded.lock().expect("decoded").clone();
    let failures = failures.lock().expect("failures").clone();
    let client = Arc::try_unwrap(client)
        .expect("one owner")
        .into_inner()
        .expect("client");
    (t, decoded, failures, client)
}

fn graphql_operations() -> Vec<(String, sockscope::model::protocol::graphql::Operation)> {
    use sockscope::model::protocol::graphql::Operation;
    vec![
        (
            "count".into(),
            Operation {
                query: "subscription Count($from: Int!) { countdown(from: $from) }".into(),
                variables: Some(serde_json::json!({ "from": 3 })),
                operation_name: Some("Count".into()),
                extensions: None,
            },
        ),
        (
            "hi".into(),
            Operation {
                query: "query { hello(name: \"sockscope\") }".into(),
                ..Operation::default()
            },
        ),
    ]
}

/// What the countdown and hello operations produced, as (id, data) pairs of the results in order.
fn graphql_results(
    decoded: &[sockscope::model::protocol::graphql::Message],
) -> Vec<(String, serde_json::Value)> {
    use sockscope::model::protocol::graphql::Message;
    decoded
        .iter()
        .filter_map(|m| match m {
            Message::Next { id, payload } => Some((id.clone(), payload["data"].clone())),
            _ => None,
        })
        .collect()
}

/// The countdown streamed 3, 2, 1, 0 and the query said hello.
fn assert_operation_results(decoded: &[sockscope::model::protocol::graphql::Message]) {
    use serde_json::json;
    let results = graphql_results(decoded);
    let count: Vec<_> = results
        .iter()
        .filter(|(id, _)| id == "count")
        .map(|(_, d)| d.clone())
        .collect();
    assert_eq!(
        count,
        [3, 2, 1, 0].map(|n| json!({ "countdown": n })).to_vec(),
        "{decoded:?}"
    );
    assert!(
        results.contains(&("hi".into(), json!({ "hello": "hello sockscope" }))),
        "{decoded:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphql_transport_ws_with_the_graphql_ws_library() {
    use serde_json::json;
    use sockscope::model::protocol::graphql::{Dialect, Message, close_code_meaning};
    let Some(peer) = transport_ws_server("graphql_transport_ws") else {
        return;
    };
    let (t, decoded, failures, client) =
        graphql_session(&peer, Dialect::TransportWs, "secret", graphql_operations()).await;
    assert!(failures.is_empty(), "{failures:?}");
    assert_eq!(
        t.handshake
            .as_ref()
            .and_then(|h| h.subprotocol.clone())
            .as_deref(),
        Some("graphql-transport-ws")
    );
    assert!(
        matches!(decoded.first(), Some(Message::ConnectionAck { .. })),
        "{decoded:?}"
    );
    assert_operation_results(&decoded);
    assert!(decoded.contains(&Message::Complete { id: "count".into() }));
    assert!(
        decoded.contains(&Message::Pong {
            payload: Some(json!({ "n": 1 }))
        }),
        "{decoded:?}"
    );
    assert_eq!(client.operations()["count"].results, 4);
    assert!(t.closed.as_ref().is_some_and(|c| c.clean), "{:?}", t.errors);

    // A refused connection_init: the server closes with 4403, whose meaning sockscope knows.
    let (t, _, _, client) = graphql_session(&peer, Dialect::TransportWs, "wrong", Vec::new()).await;
    let code = t.closed.as_ref().and_then(|c| c.code);
    assert_eq!(code, Some(4403), "{:?}", t.closed);
    assert!(close_code_meaning(4403).is_some_and(|m| m.contains("forbidden")));
    assert!(!client.is_ready());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphql_ws_legacy_with_subscriptions_transport_ws() {
    use sockscope::model::protocol::graphql::{Dialect, Message};
    let Some(peer) = legacy_server("graphql_ws_legacy") else {
        return;
    };
    let (t, decoded, failures, _) =
        graphql_session(&peer, Dialect::Legacy, "secret", graphql_operations()).await;
    assert!(failures.is_empty(), "{failures:?}");
    assert!(
        decoded.contains(&Message::ConnectionAck { payload: None }),
        "{decoded:?}"
    );
    assert!(
        decoded.contains(&Message::KeepAlive),
        "the server's ka keep-alives decode"
    );
    assert_operation_results(&decoded);
    assert!(
        decoded.contains(&Message::Complete { id: "hi".into() }),
        "{decoded:?}"
    );
    assert!(t.closed.is_some());

    // A refused connection_init: connection_error, which the client reports as a refusal.
    let (_, decoded, failures, _) =
        graphql_session(&peer, Dialect::Legacy, "wrong", Vec::new()).await;
    assert!(
        decoded
            .iter()
            .any(|m| matches!(m, Message::ConnectionError { .. })),
        "{decoded:?}"
    );
    assert!(
        failures.iter().any(|f| f.contains("refused")),
        "{failures:?}"
    );
}

/// The `subscriptions-transport-ws` reference server (legacy protocol, `ka` every 200 ms).
fn legacy_server(test: &str) -> Option<Peer> {
    let probe = ["-e", "require('subscriptions-transport-ws')"];
    let args = [std::ffi::OsStr::new("legacy")];
    start_peer_with(test, Runtime::Node, "node_graphql_server.js", &probe, &args)
}

/// The `graphql-ws` reference server (protocol graphql-transport-ws).
fn transport_ws_server(test: &str) -> Option<Peer> {
    let probe = ["-e", "require('graphql-ws/use/ws')"];
    start_peer(test, Runtime::Node, "node_graphql_server.js", &probe)
}

/// `sockscope connect --protocol …` against a GraphQL reference server: stdout, stderr and the exit status.
async fn graphql_cli(
    peer: &Peer,
    protocol: &str,
    token: &str,
    extra: &[&str],
) -> std::process::Output {
    let mut args: Vec<String> = vec![
        "connect".into(),
        format!("ws://127.0.0.1:{}/graphql", peer.port),
        "--protocol".into(),
        protocol.into(),
        "--protocol-option".into(),
        format!(r#"init={{"token":"{token}"}}"#),
    ];
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    crate::servers::cli_async(args).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphql_cli_subscribes_queries_and_fails_in_words() {
    let Some(peer) = transport_ws_server("graphql_cli") else {
        return;
    };
    // A subscription and a query; --count counts application messages (results and the query's complete), not
    // the handshake or pings.
    let out = graphql_cli(
        &peer,
        "graphql-transport-ws",
        "secret",
        &[
            "--json",
            "--emit",
            r#"{"subscribe":"subscription { countdown(from: 2) }","id":"c"}"#,
            "--emit",
            r#"{"subscribe":"query Q($n: String) { hello(name: $n) }","variables":{"n":"cli"},"operationName":"Q"}"#,
            "--count",
            "5",
        ],
    )
    .await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "stderr: {stderr}");
    let events: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    assert_eq!(
        events[1],
        serde_json::json!({"event":"protocol","name":"graphql-transport-ws",
            "version":"graphql-transport-ws","reason":"chosen"})
    );
    let results: Vec<&serde_json::Value> = events
        .iter()
        .filter(|e| e["direction"] == "received" && e["protocol"]["type"] == "next")
        .map(|e| &e["protocol"])
        .collect();
    assert!(
        results
            .iter()
            .any(|p| p["id"] == "1" && p["payload"]["data"]["hello"] == "hello cli"),
        "{results:?}"
    );
    let counted: Vec<&serde_json::Value> = results
        .iter()
        .filter(|p| p["id"] == "c")
        .map(|p| &p["payload"]["data"]["countdown"])
        .collect();
    // Five counted: the query's result and its complete, and the countdown's three results (2, 1, 0).
    assert_eq!(results.len(), 4, "{results:?}");
    assert_eq!(
        counted,
        [
            &serde_json::json!(2),
            &serde_json::json!(1),
            &serde_json::json!(0)
        ]
    );

    // connection_init refused: graphql-ws closes with 4403; the protocol's handshake never completed (exit 3).
    let out = graphql_cli(
        &peer,
        "graphql-transport-ws",
        "wrong",
        &["--json", "--wait", "2"],
    )
    .await;
    assert_eq!(out.status.code(), Some(3));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let error = stdout
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("json"))
        .find(|e| e["event"] == "error" && e["stage"] == "protocol")
        .unwrap_or_else(|| panic!("no protocol error: {stdout}"));
    let message = error["message"].as_str().expect("message");
    assert!(
        message.contains("4403") && message.contains("forbidden"),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphql_ws_legacy_cli_hides_keepalives_in_text_output() {
    let Some(peer) = legacy_server("graphql_ws_legacy_cli") else {
        return;
    };
    // The legacy server sends ka every 200 ms; 1 s of waiting sees several, and none is printed.
    let out = graphql_cli(
        &peer,
        "graphql-ws",
        "secret",
        &[
            "--emit",
            r#"{"subscribe":"subscription { countdown(from: 1) }"}"#,
            "--wait",
            "1",
        ],
    )
    .await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "stderr: {stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let printed: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        printed,
        [
            r#"data 1 {"data":{"countdown":1}}"#,
            r#"data 1 {"data":{"countdown":0}}"#,
            "complete 1"
        ],
        "{stdout}"
    );
    // connection_error for a wrong token: the endpoint could not be used.
    let out = graphql_cli(&peer, "graphql-ws", "wrong", &["--wait", "2"]).await;
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("refused the connection (connection_error)"),
        "{stderr}"
    );
}
