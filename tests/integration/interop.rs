//! Interop with independent server implementations that `scripts/test.sh` installs: Python `websockets`,
//! aiohttp, uvicorn (in the virtual environment `target/peers-venv`), node `ws`, and the GraphQL reference servers
//! `graphql-ws` and `subscriptions-transport-ws` (`tests/peers/node_modules`).
//! A test whose peer is missing fails under CI and skips visibly elsewhere (see `skips.rs`).

use crate::servers::{collect, start};
use sockscope::engine::{Command, EventKind};
use sockscope::model::{ConnState, ConnectRequest, Direction, Initiator, MessageKind};
use std::ffi::OsString;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command as Process, Stdio};

struct Peer {
    child: Child,
    port: u16,
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn peers_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/peers")
}

/// What runs a peer's script.
#[derive(Clone, Copy)]
enum Runtime {
    Python,
    Node,
}

impl Runtime {
    /// The interpreter: for Python `SOCKSCOPE_PYTHON` if set (scripts/test.sh sets it), else the virtual
    /// environment scripts/test.sh makes (so a plain `cargo test` after it finds the peers too), else `python3`.
    fn program(self) -> OsString {
        match self {
            Self::Python => {
                if let Some(python) = std::env::var_os("SOCKSCOPE_PYTHON") {
                    return python;
                }
                let venv =
                    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/peers-venv/bin/python");
                if venv.exists() {
                    venv.into_os_string()
                } else {
                    "python3".into()
                }
            }
            Self::Node => "node".into(),
        }
    }
}

/// Starts `runtime script` and reads the port it prints; None (after recording the skip) when the peer is
/// unavailable outside CI.
fn start_peer(test: &str, runtime: Runtime, script: &str, probe: &[&str]) -> Option<Peer> {
    start_peer_with(test, runtime, script, probe, &[])
}

/// As [`start_peer`], passing `args` after the script.
fn start_peer_with(
    test: &str,
    runtime: Runtime,
    script: &str,
    probe: &[&str],
    args: &[&std::ffi::OsStr],
) -> Option<Peer> {
    let program = runtime.program();
    let available = Process::new(&program)
        .args(probe)
        .current_dir(peers_dir())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !available {
        let reason = match runtime {
            Runtime::Python => format!(
                "the Python interop peers are not installed ({} {} failed; scripts/test.sh installs them \
                 into target/peers-venv)",
                program.to_string_lossy(),
                probe.join(" ")
            ),
            Runtime::Node => {
                "the node interop peer is not installed (node -e \"require('ws')\" failed; \
                 scripts/test.sh runs npm ci --prefix tests/peers)"
                    .to_owned()
            }
        };
        crate::skips::skip(test, &reason);
        return None;
    }
    let mut child = Process::new(&program)
        .arg(script)
        .args(args)
        .current_dir(peers_dir())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("start {script}: {e}"));
    let mut line = String::new();
    let stdout = child.stdout.take().expect("stdout");
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("port line");
    let port = line
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("{script} printed '{line}' instead of a port"));
    Some(Peer { child, port })
}

/// Text, binary (including a 1 MiB message) and ping round trips, then a server-initiated close with a code.
async fn exercise(peer: Peer, path: &str) {
    let (handle, mut events) = start(ConnectRequest::new(format!(
        "ws://127.0.0.1:{}{path}",
        peer.port
    )));
    let big: Vec<u8> = (0..(1 << 20)).map(|i: u32| (i % 251) as u8).collect();
    let big_for_send = big.clone();
    let t = collect(&mut events, move |event, t| match event {
        EventKind::State(ConnState::Open) => {
            handle.send(Command::Text("héllo interop".into()));
            handle.send(Command::Binary(vec![0, 1, 254, 255]));
            handle.send(Command::Binary(big_for_send.clone()));
            handle.send(Command::Ping(b"are you there".to_vec()));
        }
        EventKind::Message(m) if m.direction == Direction::Received && m.kind.is_data() => {
            let received = t
                .messages
                .iter()
                .filter(|m| m.direction == Direction::Received && m.kind.is_data());
            if received.count() == 2 {
                handle.send(Command::Text("close:4001:peer says bye".into()));
            }
        }
        _ => {}
    })
    .await;
    assert!(t.opened, "{:?}", t.errors);
    let data: Vec<_> = t
        .messages
        .iter()
        .filter(|m| m.direction == Direction::Received && m.kind.is_data())
        .collect();
    assert_eq!(data.len(), 3, "{:?}", t.errors);
    assert_eq!(
        (data[0].kind, &data[0].payload[..]),
        (MessageKind::Text, "héllo interop".as_bytes())
    );
    assert_eq!(
        (data[1].kind, &data[1].payload[..]),
        (MessageKind::Binary, &[0u8, 1, 254, 255][..])
    );
    assert!(
        data[2].payload[..] == big[..],
        "the 1 MiB message came back intact"
    );
    assert!(
        t.messages
            .iter()
            .any(|m| m.kind == MessageKind::Pong && &m.payload[..] == b"are you there")
    );
    let closed = t.closed.expect("closed");
    assert_eq!(closed.code, Some(4001), "{:?}", t.errors);
    assert_eq!(closed.reason, "peer says bye");
    assert_eq!(closed.initiated_by, Initiator::Server);
    assert!(closed.clean, "{:?}", t.errors);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_websockets() {
    if let Some(peer) = start_peer(
        "python_websockets",
        Runtime::Python,
        "python_websockets_echo.py",
        &["-c", "import websockets"],
    ) {
        exercise(peer, "/").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_aiohttp() {
    if let Some(peer) = start_peer(
        "python_aiohttp",
        Runtime::Python,
        "python_aiohttp_echo.py",
        &["-c", "import aiohttp"],
    ) {
        exercise(peer, "/any/path").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_uvicorn() {
    if let Some(peer) = start_peer(
        "python_uvicorn",
        Runtime::Python,
        "python_uvicorn_echo.py",
        &["-c", "import uvicorn, websockets"],
    ) {
        exercise(peer, "/ws").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_ws() {
    if let Some(peer) = start_peer(
        "node_ws",
        Runtime::Node,
        "node_ws_echo.js",
        &["-e", "require('ws')"],
    ) {
        exercise(peer, "/").await;
    }
}

/// A text and a binary message sent in small fragments come back whole.
async fn fragmented(peer: Peer) {
    let (handle, mut events) = start(ConnectRequest::new(format!(
        "ws://127.0.0.1:{}/",
        peer.port
    )));
    let text = "fragmented across many frames — ünïcödé included".to_owned();
    let binary: Vec<u8> = (0..=255).collect();
    let (t2, b2) = (text.clone(), binary.clone());
    let t = collect(&mut events, move |event, t| match event {
        EventKind::State(ConnState::Open) => {
            handle.send(Command::Fragmented {
                payload: t2.clone().into_bytes(),
                text: true,
                fragment_size: 5,
            });
            handle.send(Command::Fragmented {
                payload: b2.clone(),
                text: false,
                fragment_size: 7,
            });
        }
        EventKind::Message(m)
            if m.direction == Direction::Received
                && m.kind.is_data()
                && t.messages
                    .iter()
                    .filter(|m| m.direction == Direction::Received)
                    .count()
                    == 1 =>
        {
            handle.send(Command::Close {
                code: 1000,
                reason: String::new(),
            });
        }
        _ => {}
    })
    .await;
    let data: Vec<_> = t
        .messages
        .iter()
        .filter(|m| m.direction == Direction::Received && m.kind.is_data())
        .collect();
    assert_eq!(data.len(), 2, "{:?}", t.errors);
    assert_eq!(
        (data[0].kind, &data[0].payload[..]),
        (MessageKind::Text, text.as_bytes())
    );
    assert_eq!(
        (data[1].kind, &data[1].payload[..]),
        (MessageKind::Binary, binary.as_slice())
    );
    assert!(t.closed.expect("closed").clean);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_websockets_reassembles_fragments() {
    if let Some(peer) = start_peer(
        "python_websockets_reassembles_fragments",
        Runtime::Python,
        "python_websockets_echo.py",
        &["-c", "import websockets"],
    ) {
        fragmented(peer).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_ws_reassembles_fragments() {
    if let Some(peer) = start_peer(
        "node_ws_reassembles_fragments",
        Runtime::Node,
        "node_ws_echo.js",
        &["-e", "require('ws')"],
    ) {
        fragmented(peer).await;
    }
}

/// Over wss with a CA made at test time: subprotocol negotiation, a server ping answered by us, a 10 MiB message
/// both ways, fragments from us reassembled by the peer, and a server close with code and reason.
async fn exercise_tls(peer: Peer, pki: &crate::tls::TestPki) {
    let mut req = ConnectRequest::new(format!("wss://localhost:{}/", peer.port));
    req.tls.ca_file = Some(pki.ca_file.clone());
    req.subprotocols = vec!["chat.v2".into(), "chat.v1".into()];
    let (handle, mut events) = start(req);
    let big: Vec<u8> = (0..(10 << 20)).map(|i: u32| (i % 253) as u8).collect();
    let big_for_send = big.clone();
    let t = collect(&mut events, move |event, t| match event {
        EventKind::State(ConnState::Open) => {
            handle.send(Command::Text("ping:heartbeat-7".into()));
            handle.send(Command::Binary(big_for_send.clone()));
            handle.send(Command::Fragmented {
                payload: b"in three parts".to_vec(),
                text: true,
                fragment_size: 5,
            });
        }
        EventKind::Message(m) if m.direction == Direction::Received && m.kind.is_data() => {
            let received = t
                .messages
                .iter()
                .filter(|m| m.direction == Direction::Received && m.kind.is_data());
            if received.count() == 2 {
                handle.send(Command::Text("close:4002:secure bye".into()));
            }
        }
        _ => {}
    })
    .await;
    assert!(t.opened, "{:?}", t.errors);
    let hs = t.handshake.expect("handshake");
    assert_eq!(hs.subprotocol.as_deref(), Some("chat.v2"));
    assert!(hs.tls.is_some(), "TLS details are recorded");
    let data: Vec<_> = t
        .messages
        .iter()
        .filter(|m| m.direction == Direction::Received && m.kind.is_data())
        .collect();
    assert_eq!(data.len(), 3, "{:?}", t.errors);
    assert!(
        t.messages.iter().any(|m| m.direction == Direction::Received
            && m.kind == MessageKind::Ping
            && &m.payload[..] == b"heartbeat-7"),
        "the server's ping is logged"
    );
    assert!(
        data.iter().any(|m| &m.payload[..] == b"pong:heartbeat-7"),
        "the server got our pong"
    );
    assert!(
        data.iter().any(|m| m.payload[..] == big[..]),
        "10 MiB came back intact"
    );
    assert!(
        data.iter().any(|m| &m.payload[..] == b"in three parts"),
        "fragments reassembled"
    );
    let closed = t.closed.expect("closed");
    assert_eq!(
        (closed.code, closed.reason.as_str()),
        (Some(4002), "secure bye")
    );
    assert_eq!(closed.initiated_by, Initiator::Server);
    assert!(closed.clean, "{:?}", t.errors);
}

/// Starts the peer with a certificate made here and runs [`exercise_tls`] against it.
async fn over_wss(test: &str, runtime: Runtime, script: &str, probe: &[&str]) {
    let pki = crate::tls::pki(&["localhost"]);
    let args = [
        pki.server_cert_file.as_os_str(),
        pki.server_key_file.as_os_str(),
    ];
    if let Some(peer) = start_peer_with(test, runtime, script, probe, &args) {
        exercise_tls(peer, &pki).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_websockets_over_wss() {
    over_wss(
        "python_websockets_over_wss",
        Runtime::Python,
        "python_websockets_echo.py",
        &["-c", "import websockets"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_ws_over_wss() {
    over_wss(
        "node_ws_over_wss",
        Runtime::Node,
        "node_ws_echo.js",
        &["-e", "require('ws')"],
    )
    .await;
}

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphql_transport_ws_with_the_graphql_ws_library() {
    use serde_json::json;
    use sockscope::model::protocol::graphql::{Dialect, Message, close_code_meaning};
    let probe = ["-e", "require('graphql-ws/use/ws')"];
    let Some(peer) = start_peer(
        "graphql_transport_ws",
        Runtime::Node,
        "node_graphql_server.js",
        &probe,
    ) else {
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
    let results = graphql_results(&decoded);
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
    use serde_json::json;
    use sockscope::model::protocol::graphql::{Dialect, Message};
    let probe = ["-e", "require('subscriptions-transport-ws')"];
    let args = [std::ffi::OsStr::new("legacy")];
    let Some(peer) = start_peer_with(
        "graphql_ws_legacy",
        Runtime::Node,
        "node_graphql_server.js",
        &probe,
        &args,
    ) else {
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
    let results = graphql_results(&decoded);
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
