//! Socket.IO through `sockscope connect --protocol socket.io`, against the reference servers: node `socket.io`
//! 4.x (Engine.IO 4), node `socket.io` 2.x (Engine.IO 3, installed as `socket.io-v2`) and `python-socketio`
//! under uvicorn. All three run websocket-only with pingInterval 1000 / pingTimeout 1500 ms.

use super::{Peer, Runtime, start_peer, start_peer_with};
use serde_json::{Value, json};

const NODE_PROBE: &[&str] = &["-e", "require('socket.io'); require('socket.io-v2')"];
const PYTHON_PROBE: &[&str] = &["-c", "import socketio, uvicorn"];

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Server {
    Node4,
    Node2,
    Python,
}

impl Server {
    fn start(self, test: &str) -> Option<Peer> {
        match self {
            Server::Node4 => start_peer(test, Runtime::Node, "node_socketio_server.js", NODE_PROBE),
            Server::Node2 => start_peer_with(
                test,
                Runtime::Node,
                "node_socketio_server.js",
                NODE_PROBE,
                &["v2".as_ref()],
            ),
            Server::Python => start_peer(
                test,
                Runtime::Python,
                "python_socketio_server.py",
                PYTHON_PROBE,
            ),
        }
    }

    /// The flags that pick this server's Engine.IO version.
    fn version_flags(self) -> Vec<String> {
        match self {
            Server::Node2 => vec!["--protocol-option".into(), "eio=3".into()],
            _ => Vec::new(),
        }
    }
}

async fn connect(peer: &Peer, server: Server, extra: &[&str]) -> std::process::Output {
    let mut args: Vec<String> = vec![
        "connect".into(),
        format!("http://127.0.0.1:{}/", peer.port),
        "--protocol".into(),
        "socket.io".into(),
        "--json".into(),
    ];
    args.extend(server.version_flags());
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    crate::servers::cli_async(args).await
}

fn lines(out: &std::process::Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

/// The decoded `protocol` objects of the messages in `direction`.
fn decoded<'a>(events: &'a [Value], direction: &str) -> Vec<&'a Value> {
    events
        .iter()
        .filter(|e| e["event"] == "message" && e["direction"] == direction)
        .filter_map(|e| e.get("protocol"))
        .collect()
}

fn find<'a>(items: &[&'a Value], kind: &str, event: &str) -> Option<&'a Value> {
    items
        .iter()
        .copied()
        .find(|p| p["type"] == kind && p["event"] == event)
}

/// Events with args, acks with their round-trip time, binary attachments both ways, and a connection that
/// stays up for 5 s because sockscope answers the server's pings (Engine.IO 4) or sends its own (Engine.IO 3).
async fn events_acks_binary_and_keepalive(server: Server, test: &str) {
    let Some(peer) = server.start(test) else {
        return;
    };
    let out = connect(
        &peer,
        server,
        &[
            "--emit",
            r#"{"event":"echo","args":["hi",{"n":1}]}"#,
            "--emit",
            r#"{"event":"sum","args":[1,2],"ack":true}"#,
            "--emit",
            r#"{"event":"bin","ack":true}"#,
            "--emit",
            r#"{"event":"echo","args":["x",{"base64":"qrs="}],"ack":true}"#,
            "--wait",
            "5",
        ],
    )
    .await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{server:?} stderr: {stderr}\nstdout: {stdout}"
    );
    let events = lines(&out);
    let errors: Vec<&Value> = events.iter().filter(|e| e["event"] == "error").collect();
    assert!(errors.is_empty(), "{server:?}: {errors:?}");
    // The first line after the handshake says which protocol and why.
    assert_eq!(events[0]["event"], "handshake");
    let version = if server == Server::Node2 { "3" } else { "4" };
    assert_eq!(
        events[1],
        json!({"event":"protocol","name":"socket.io","version":version,"reason":"chosen"})
    );
    let got = decoded(&events, "received");
    let open = got
        .iter()
        .find(|p| p["type"] == "open")
        .expect("open packet");
    assert_eq!(open["layer"], "engine.io");
    assert_eq!(open["data"]["pingInterval"], 1000);
    let welcome = find(&got, "event", "welcome").expect("welcome");
    assert!(welcome["args"][0]["id"].is_string(), "{welcome}");
    let echo = find(&got, "event", "echo").expect("echo event");
    assert_eq!(echo["args"], json!(["hi", {"n":1}]));
    let sum = find(&got, "ack", "sum").expect("sum ack");
    assert_eq!(sum["args"], json!([3]));
    assert!(sum["rtt_ms"].as_f64().is_some_and(|ms| ms >= 0.0), "{sum}");
    // Binary from the server, as an event and as an ack: one decoded message each, the bytes in place.
    let bin = find(&got, "event", "bin").expect("binary event");
    assert_eq!(bin["args"], json!(["file", {"base64":"AAECA/8="}]));
    let bin_ack = find(&got, "ack", "bin").expect("binary ack");
    assert_eq!(bin_ack["args"], json!([{"base64":"CQgH"}]));
    // Binary to the server: it came back as bytes.
    let echoed = find(&got, "ack", "echo").expect("echo ack");
    assert_eq!(echoed["args"], json!(["x", {"base64":"qrs="}]));
    // Keep-alive: 5 s with pingInterval 1000 + pingTimeout 1500 only survives when pings are answered or sent.
    let sent = decoded(&events, "sent");
    let (ours, theirs) = if server == Server::Node2 {
        ("ping", "pong")
    } else {
        ("pong", "ping")
    };
    let keepalives = sent.iter().filter(|p| p["type"] == ours).count();
    assert!(keepalives >= 3, "{server:?}: {keepalives} {ours}s sent");
    assert!(got.iter().any(|p| p["type"] == theirs), "{server:?}");
    let closed = events.last().expect("closed");
    assert_eq!(closed["event"], "closed");
    assert_eq!(closed["clean"], true, "{closed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn socketio4_node_events_acks_binary_and_keepalive() {
    events_acks_binary_and_keepalive(
        Server::Node4,
        "socketio4_node_events_acks_binary_and_keepalive",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn socketio2_node_events_acks_binary_and_keepalive() {
    events_acks_binary_and_keepalive(
        Server::Node2,
        "socketio2_node_events_acks_binary_and_keepalive",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_socketio_events_acks_binary_and_keepalive() {
    events_acks_binary_and_keepalive(
        Server::Python,
        "python_socketio_events_acks_binary_and_keepalive",
    )
    .await;
}

/// A namespace behind an auth middleware: connected with the right token before its first event, refused
/// in words (and exit 1) with a wrong one.
async fn namespace_auth(server: Server, test: &str) {
    let Some(peer) = server.start(test) else {
        return;
    };
    let out = connect(
        &peer,
        server,
        &[
            "--emit",
            r#"{"event":"echo","args":["a"],"namespace":"/admin","auth":{"token":"secret"},"ack":true}"#,
            "--wait",
            "0.5",
        ],
    )
    .await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{server:?} stderr: {stderr}");
    let events = lines(&out);
    let got = decoded(&events, "received");
    let hello = find(&got, "event", "hello-admin").expect("hello-admin");
    assert_eq!(hello["namespace"], "/admin");
    let ack = find(&got, "ack", "echo").expect("ack on /admin");
    assert_eq!(
        (ack["namespace"].clone(), ack["args"].clone()),
        (json!("/admin"), json!(["a"]))
    );

    let out = connect(
        &peer,
        server,
        &[
            "--emit",
            r#"{"event":"echo","namespace":"/admin","auth":{"token":"bad"}}"#,
            "--wait",
            "0.5",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "{server:?}");
    let events = lines(&out);
    let error = events
        .iter()
        .find(|e| e["event"] == "error")
        .expect("an error event");
    assert_eq!(error["stage"], "protocol");
    let message = error["message"].as_str().expect("message");
    assert!(
        message.contains("refused namespace /admin: not authorized (1 event(s) not sent)"),
        "{server:?}: {message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn socketio4_node_namespace_auth() {
    namespace_auth(Server::Node4, "socketio4_node_namespace_auth").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn socketio2_node_namespace_auth() {
    namespace_auth(Server::Node2, "socketio2_node_namespace_auth").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_socketio_namespace_auth() {
    namespace_auth(Server::Python, "python_socketio_namespace_auth").await;
}

/// Text output speaks in protocol terms and leaves keep-alives out; `--count` counts application messages.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn socketio_text_output_and_count() {
    let test = "socketio_text_output_and_count";
    let Some(peer) = Server::Node4.start(test) else {
        return;
    };
    let args = crate::servers::args(&[
        "connect",
        &format!("ws://127.0.0.1:{}/socket.io/", peer.port),
        "--protocol",
        "auto",
        "--emit",
        r#"{"event":"echo","args":["hi"]}"#,
        "--count",
        "2",
    ]);
    let out = crate::servers::cli_async(args).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "stderr: {stderr}");
    assert!(
        stderr.contains("protocol: socket.io 4 (the URL's path is /socket.io/"),
        "{stderr}"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let printed: Vec<&str> = stdout.lines().collect();
    assert_eq!(printed.len(), 2, "{stdout}");
    assert!(
        printed[0].starts_with(r#"event welcome [{"id":"#),
        "{stdout}"
    );
    assert_eq!(printed[1], r#"event echo ["hi"]"#);
}

/// A plain WebSocket server is no Socket.IO server: no open packet comes, and the endpoint could not be used.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn socketio_without_an_open_packet_exits_3() {
    let server = crate::servers::echo().await;
    let args = crate::servers::args(&[
        "connect",
        &server.url(),
        "--protocol",
        "socket.io",
        "--protocol-option",
        "open_timeout_ms=300",
        "--emit",
        r#"{"event":"x"}"#,
        "--json",
    ]);
    let out = crate::servers::cli_async(args).await;
    assert_eq!(out.status.code(), Some(3));
    let events = lines(&out);
    let hs = &events[0];
    assert_eq!(
        hs["request"]["target"],
        "/socket.io/?EIO=4&transport=websocket"
    );
    let error = events
        .iter()
        .find(|e| e["event"] == "error")
        .expect("error");
    assert_eq!(error["stage"], "protocol");
    assert!(
        error["message"]
            .as_str()
            .is_some_and(|m| m.contains("no Engine.IO open packet within 300 ms")),
        "{error}"
    );
}

/// `sockscope run` with protocol steps: an event asking for an ack, expectations on the decoded ack (this
/// step's) and on an event's name and args; a wrong expected value fails the step.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn socketio_session_run_checks_decoded_expectations() {
    use sockscope::model::session::{Expectation, Item, Matcher, Payload, Session, Step};
    let test = "socketio_session_run_checks_decoded_expectations";
    let Some(peer) = Server::Node4.start(test) else {
        return;
    };
    let mut session = Session::default();
    session.endpoint.url = format!("http://127.0.0.1:{}/", peer.port);
    session.endpoint.proxy_mode = sockscope::model::endpoint::ProxyMode::Direct;
    session.endpoint.protocol.protocol = sockscope::model::protocol::Protocol::SocketIo;
    let expect = |matcher| Expectation {
        matcher,
        timeout_ms: 3000,
        enabled: true,
    };
    let decoded = |path: &str, equals: &str| {
        expect(Matcher::Decoded {
            path: path.into(),
            equals: equals.into(),
        })
    };
    let step = |name: &str, emit: &str, expect: Vec<Expectation>| {
        Item::Step(Step {
            name: name.into(),
            payload: Payload::Emit(emit.into()),
            expect,
            ..Step::default()
        })
    };
    session.collection = vec![
        step(
            "sum",
            r#"{"event":"sum","args":[1,2],"ack":true}"#,
            vec![
                expect(Matcher::Reply("ack".into())),
                decoded("$.args[0]", "3"),
            ],
        ),
        step(
            "echo",
            r#"{"event":"echo","args":["hi"]}"#,
            vec![
                decoded("$.event", r#""echo""#),
                decoded("$.args[0]", r#""hi""#),
            ],
        ),
        step(
            "wrong sum",
            r#"{"event":"sum","args":[2,2],"ack":true}"#,
            vec![decoded("$.args[0]", "5")],
        ),
    ];
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("sio.ron");
    std::fs::write(&path, session.to_ron()).expect("write");
    let out = crate::servers::cli_async(vec![
        "run".into(),
        path.display().to_string(),
        "--json".into(),
    ])
    .await;
    let events = lines(&out);
    let steps: Vec<(String, String)> = events
        .iter()
        .filter(|e| e["event"] == "step")
        .map(|e| {
            (
                e["name"].as_str().unwrap_or("").to_owned(),
                e["outcome"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    assert_eq!(
        steps,
        [
            ("sum".to_owned(), "pass".to_owned()),
            ("echo".to_owned(), "pass".to_owned()),
            ("wrong sum".to_owned(), "fail".to_owned())
        ],
        "{events:?}"
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        events
            .iter()
            .any(|e| e["event"] == "protocol" && e["name"] == "socket.io")
    );
}

/// `--stdin` with a protocol: each line is one emit, sent once the handshake completed; a line that is no emit
/// is refused in words and the rest go on; `--wait` keeps reading for the replies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn socketio_stdin_lines_are_emits() {
    let test = "socketio_stdin_lines_are_emits";
    let Some(peer) = Server::Node4.start(test) else {
        return;
    };
    let args = crate::servers::args(&[
        "connect",
        &format!("http://127.0.0.1:{}/", peer.port),
        "--protocol",
        "socket.io",
        "--stdin",
        "--json",
        "--wait",
        "1",
    ]);
    let input = "{\"event\":\"sum\",\"args\":[2,3],\"ack\":true}\nnot json\n{\"event\":\"echo\",\"args\":[\"last\"]}\n";
    let out = crate::servers::cli_with_stdin(args, input.into()).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "stderr: {stderr}");
    assert!(
        stderr.contains("stdin line not sent (not valid JSON"),
        "{stderr}"
    );
    let events = lines(&out);
    let got = decoded(&events, "received");
    assert_eq!(
        find(&got, "ack", "sum").map(|a| a["args"].clone()),
        Some(json!([5]))
    );
    assert_eq!(
        find(&got, "event", "echo").map(|e| e["args"].clone()),
        Some(json!(["last"]))
    );
}

/// `--reconnect` with a protocol runs its handshake again and sends the emits again on each connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn socketio_reconnect_runs_the_handshake_and_resends() {
    let test = "socketio_reconnect_runs_the_handshake_and_resends";
    let Some(peer) = Server::Node4.start(test) else {
        return;
    };
    // The server drops the connection on "drop": the emit is sent again after the reconnection, which drops
    // it again, and after one reconnection sockscope gives up.
    let out = connect(
        &peer,
        Server::Node4,
        &[
            "--emit",
            r#"{"event":"drop"}"#,
            "--reconnect",
            "--max-reconnects",
            "1",
        ],
    )
    .await;
    let events = lines(&out);
    let count = |f: &dyn Fn(&Value) -> bool| events.iter().filter(|e| f(e)).count();
    assert_eq!(count(&|e| e["event"] == "protocol"), 2, "{events:?}");
    assert_eq!(
        count(&|e| e["direction"] == "received" && e["protocol"]["type"] == "connect"),
        2
    );
    assert_eq!(
        count(&|e| e["direction"] == "sent" && e["protocol"]["event"] == "drop"),
        2
    );
    assert!(events.iter().any(|e| e["event"] == "gave_up"), "{events:?}");
    assert_eq!(out.status.code(), Some(1));
}
