//! Interop with independent server implementations that `scripts/test.sh` installs: Python `websockets`,
//! aiohttp, uvicorn (in the virtual environment `target/peers-venv`), node `ws`, and the GraphQL reference servers
//! `graphql-ws` and `subscriptions-transport-ws` (`tests/peers/node_modules`).
//! A test whose peer is missing fails under CI and skips visibly elsewhere (see `skips.rs`).

pub(crate) mod brokers;
mod codecs;
mod deflate;
mod graphql;
mod h2;
mod k6;
mod k6_lenses;
mod official_clients;
mod socketio;

use crate::servers::{collect, start};
use sockscope::engine::{Command, EventKind};
use sockscope::model::{ConnState, ConnectRequest, Direction, Initiator, MessageKind};
use std::ffi::OsString;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command as Process, Stdio};

pub(crate) struct Peer {
    child: Child,
    pub(crate) port: u16,
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn peers_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/peers")
}

/// What runs a peer's script.
#[derive(Clone, Copy)]
pub(crate) enum Runtime {
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

/// The interpreter of `runtime` when `probe` (its arguments, run in tests/peers) succeeds with it; None (after
/// recording the skip, which fails under CI) when the peer is unavailable.
pub(crate) fn peer_program(test: &str, runtime: Runtime, probe: &[&str]) -> Option<OsString> {
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
    Some(program)
}

/// Starts `runtime script` and reads the port it prints; None (after recording the skip) when the peer is
/// unavailable outside CI.
pub(crate) fn start_peer(
    test: &str,
    runtime: Runtime,
    script: &str,
    probe: &[&str],
) -> Option<Peer> {
    start_peer_with(test, runtime, script, probe, &[])
}

/// As [`start_peer`], passing `args` after the script.
pub(crate) fn start_peer_with(
    test: &str,
    runtime: Runtime,
    script: &str,
    probe: &[&str],
    args: &[&std::ffi::OsStr],
) -> Option<Peer> {
    let program = peer_program(test, runtime, probe)?;
    let mut child = Process::new(&program)
        .arg(script)
        .args(args)
        .current_dir(peers_dir())
        .stdout(Stdio::piped())
        .stderr(if std::env::var_os("SOCKSCOPE_PEER_STDERR").is_some() {
            Stdio::inherit()
        } else {
            Stdio::null()
        })
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
    exercise_request(ConnectRequest::new(format!(
        "ws://127.0.0.1:{}{path}",
        peer.port
    )))
    .await;
    drop(peer);
}

/// As [`exercise`], for any request (an HTTP version, TLS, a subprotocol); the transcript for more checks.
pub(crate) async fn exercise_request(req: ConnectRequest) -> crate::servers::Transcript {
    let (handle, mut events) = start(req);
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
    let closed = t.closed.clone().expect("closed");
    assert_eq!(closed.code, Some(4001), "{:?}", t.errors);
    assert_eq!(closed.reason, "peer says bye");
    assert_eq!(closed.initiated_by, Initiator::Server);
    assert!(closed.clean, "{:?}", t.errors);
    t
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

/// `sockscope connect URL ARGS… --json`: the events, the exit status and stderr.
pub(crate) async fn connect(
    url: &str,
    args: &[&str],
) -> (Vec<serde_json::Value>, Option<i32>, String) {
    let mut all: Vec<String> = vec!["connect".into(), url.into(), "--json".into()];
    all.extend(args.iter().map(|s| (*s).to_owned()));
    let out = crate::servers::cli_async(all).await;
    let events = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    (
        events,
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The message of the first `error` event at stage `protocol`, or a panic showing the events.
pub(crate) fn protocol_error(events: &[serde_json::Value]) -> &str {
    events
        .iter()
        .find(|e| e["event"] == "error" && e["stage"] == "protocol")
        .and_then(|e| e["message"].as_str())
        .unwrap_or_else(|| panic!("no protocol error: {events:#?}"))
}
