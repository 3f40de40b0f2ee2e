//! The mock server (`sockscope serve --rules`): the chat rules against the chat session, both sockscope's; an
//! independent Python client (websockets + urllib) through the rules and API Gateway's management API; and an
//! independent node `ws` client observing every fault.

use crate::interop::{Runtime, peers_dir};
use crate::servers::{args, cli_async, sockscope_command};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};

/// `sockscope serve --rules FILE --port 0 --json` as a child process, its NDJSON collected as it comes.
struct Served {
    child: Child,
    url: String,
    events: Arc<Mutex<Vec<Value>>>,
}

impl Served {
    fn start(rules: &Path, env: &[(&str, &str)]) -> Served {
        Self::with(rules, &[], env).0
    }

    /// Started with extra flags; also the `listening` event.
    fn with(rules: &Path, flags: &[&str], env: &[(&str, &str)]) -> (Served, Value) {
        let mut command = sockscope_command();
        command
            .args(["serve", "--rules"])
            .arg(rules)
            .args(["--port", "0", "--json"])
            .args(flags)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        for (k, v) in env {
            command.env(k, v);
        }
        let mut child = command.spawn().expect("start sockscope serve");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let first = lines.next().expect("a first line").expect("read");
        let listening: Value = serde_json::from_str(&first).expect("NDJSON");
        assert_eq!(listening["event"], "listening", "{first}");
        let url = listening["url"].as_str().expect("url").to_owned();
        let events = Arc::new(Mutex::new(Vec::new()));
        let sink = events.clone();
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                if let Ok(v) = serde_json::from_str(&line) {
                    sink.lock().expect("events").push(v);
                }
            }
        });
        (Served { child, url, events }, listening)
    }

    fn events(&self) -> Vec<Value> {
        self.events.lock().expect("events").clone()
    }

    /// Waits (up to 5 s) until an event passes `test`.
    fn wait_for(&self, what: &str, test: impl Fn(&Value) -> bool) -> Value {
        for _ in 0..100 {
            if let Some(e) = self.events().into_iter().find(|e| test(e)) {
                return e;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("no {what} event in {:#?}", self.events());
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn repo(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(path)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_chat_rules_serve_the_chat_session() {
    let served = Served::start(&repo("assets/mock/chat.ron"), &[("CHAT_TOKEN", "T")]);
    let run = |token: &str| {
        cli_async(args(&[
            "run",
            repo("assets/sessions/chat.ron").to_str().expect("path"),
            "--url",
            &served.url,
            "--var",
            &format!("token={token}"),
        ]))
    };
    let out = run("T").await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // A wrong token: 401 with the body, and the run cannot start.
    let out = run("wrong").await;
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("401"), "{stderr}");
    // The server's side, in NDJSON (directions are the server's).
    let connected = served.wait_for("client_connected", |e| e["event"] == "client_connected");
    let id = connected["connection_id"].as_str().expect("id").to_owned();
    assert_eq!(id.len(), 16, "an API Gateway-shaped id: {id}");
    assert_eq!(connected["request"]["headers"]["authorization"], "Bearer T");
    served.wait_for("the join rule", |e| {
        e["event"] == "rule" && e["rule"] == "join"
    });
    let joined = served.wait_for("the joined reply", |e| {
        e["event"] == "message" && e["direction"] == "sent"
    });
    assert_eq!(joined["connection_id"], id.as_str());
    assert_eq!(joined["text"], r#"{"type":"joined","room":"lobby"}"#);
    served.wait_for("the message to the room", |e| {
        e["event"] == "message"
            && e["direction"] == "sent"
            && e["text"]
                .as_str()
                .is_some_and(|t| t.contains(r#""from":"alice""#))
    });
    let closed = served.wait_for("client_closed", |e| e["event"] == "client_closed");
    assert_eq!(closed["by"], "client");
    assert_eq!(closed["code"], 1000);
    served.wait_for("the refusal", |e| {
        e["event"] == "refused" && e["status"] == 401
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rules_file_that_does_not_load_exits_2_with_its_line_and_column() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("bad.ron");
    std::fs::write(&path, "MockRules(\n  rules: [Rule(when: Nope)],\n)\n").expect("write");
    let out = cli_async(args(&["serve", "--rules", path.to_str().expect("path")])).await;
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("bad.ron:2:"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(&path).expect("still there"),
        "MockRules(\n  rules: [Rule(when: Nope)],\n)\n",
        "left untouched"
    );
}

/// Runs a peer script to its end and reads the one JSON line it prints; None when the peer is missing (a skip,
/// or a failure under CI).
fn run_peer(
    test: &str,
    runtime: Runtime,
    script: &str,
    probe: &[&str],
    extra: &[&str],
) -> Option<Value> {
    let program = crate::interop::peer_program(test, runtime, probe)?;
    let out = std::process::Command::new(&program)
        .arg(script)
        .args(extra)
        .current_dir(peers_dir())
        .output()
        .expect("run the peer");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout.lines().last().unwrap_or_default();
    Some(serde_json::from_str(line).unwrap_or_else(|e| {
        panic!(
            "{script}: {e}: {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    }))
}

#[test]
fn python_websockets_clients_talk_through_the_chat_rules_and_the_management_api() {
    let served = Served::start(&repo("assets/mock/chat.ron"), &[("CHAT_TOKEN", "sesame")]);
    let Some(out) = run_peer(
        "python_websockets_clients_talk_through_the_chat_rules_and_the_management_api",
        Runtime::Python,
        "python_mock_client.py",
        &["-c", "import websockets"],
        &[&served.url, "sesame"],
    ) else {
        return;
    };
    assert_eq!(out["unauthorized"]["status"], 401, "{out:#}");
    assert_eq!(out["unauthorized"]["body"], r#"{"message":"Unauthorized"}"#);
    assert_eq!(
        out["alice_joined"],
        serde_json::json!({"type":"joined","room":"lobby"})
    );
    let said = serde_json::json!({"type":"message","room":"lobby","from":"alice","text":"hi"});
    assert_eq!(out["alice_got"], said, "the sender gets it too");
    assert_eq!(out["bob_got"], said);
    let id = out["whoami"]["connectionId"].as_str().expect("id");
    let get = &out["get"];
    assert_eq!(get["status"], 200, "{get:#}");
    let connected_at = get["body"]["connectedAt"].as_str().expect("connectedAt");
    assert!(
        chrono::DateTime::parse_from_rfc3339(connected_at).is_ok(),
        "ISO-8601: {connected_at}"
    );
    assert!(get["body"]["lastActiveAt"].is_string());
    assert_eq!(get["body"]["identity"]["sourceIp"], "127.0.0.1");
    assert_eq!(out["post"], 200);
    assert_eq!(out["pushed"], "pushed by the backend");
    assert_eq!(out["post_binary"], 200, "under a stage");
    assert_eq!(out["pushed_binary"], "0001fe");
    assert_eq!(out["post_unknown"], 410);
    assert_eq!(out["delete"], 204);
    assert_eq!(out["after_delete"]["code"], 1000);
    assert_eq!(out["get_after_delete"], 410);
    // The server logged the API calls and who closed.
    served.wait_for("the DELETE", |e| {
        e["event"] == "api" && e["method"] == "DELETE" && e["status"] == 204
    });
    let closed = served.wait_for("the deleted client", |e| {
        e["event"] == "client_closed" && e["connection_id"] == id
    });
    assert_eq!(closed["by"], "server");
}

const FAULTS: &str = r#"MockRules(
  rules: [
    Rule(name: "refuse", when: Connect(ConnectCondition(query: [HeaderValue(name: "fault", value: "refuse")])),
      then: [Refuse(status: 418, body: "{\"error\":\"teapot\"}")]),
    Rule(name: "accept", when: Connect(ConnectCondition(query: [HeaderValue(name: "fault", value: "accept")])),
      then: [Fault(WrongAccept)]),
    Rule(name: "proto", when: Connect(ConnectCondition(query: [HeaderValue(name: "fault", value: "proto")])),
      then: [Fault(UnofferedSubprotocol("nobody.asked"))]),
    Rule(name: "slow", when: Connect(ConnectCondition(query: [HeaderValue(name: "fault", value: "slow")])),
      then: [Fault(DelayUpgrade(700))]),
    Rule(name: "drop", when: Route("drop"), then: [Fault(Drop)]),
    Rule(name: "utf8", when: Route("utf8"), then: [Fault(BadUtf8)]),
    Rule(name: "rsv1", when: Route("rsv1"), then: [Fault(Rsv1)]),
    Rule(name: "masked", when: Route("masked"), then: [Fault(MaskedFrame)]),
    Rule(name: "control", when: Route("control"), then: [Fault(OversizedControl)]),
    Rule(name: "fragment", when: Route("fragment"), then: [Fault(Fragment(3)), Reply("fragmented reply")]),
    Rule(name: "drip", when: Route("drip"), then: [Fault(Drip(bytes: 10, interval_ms: 50)), Reply("{{request.body}} dripped slowly, ten bytes at a time")]),
    Rule(name: "stopread", when: Route("stopread"), then: [Fault(StopReading)]),
    Rule(name: "deaf", when: Route("deaf"), then: [Fault(PingThenDeaf)]),
    Rule(name: "close", when: Route("close"), then: [Delay(100), Close(code: 4000, reason: "bye {{connection.id}}")]),
    Rule(name: "stream", when: Route("stream"), then: [Stream(count: 5, interval_ms: 20, text: "tick {{counter}}")]),
  ],
)"#;

#[test]
fn every_fault_is_seen_by_a_node_ws_client() {
    let dir = tempfile::tempdir().expect("temp dir");
    let rules = dir.path().join("faults.ron");
    std::fs::write(&rules, FAULTS).expect("write");
    let served = Served::start(&rules, &[]);
    let case = |name: &str| {
        run_peer(
            "every_fault_is_seen_by_a_node_ws_client",
            Runtime::Node,
            "node_mock_faults.js",
            &["-e", "require('ws')"],
            &[&served.url, name],
        )
    };
    let Some(refused) = case("refuse") else {
        return;
    };
    assert_eq!(refused["status"], 418, "{refused:#}");
    assert_eq!(refused["body"], r#"{"error":"teapot"}"#);
    let accept = case("accept").expect("peer");
    assert_eq!(accept["opened"], false);
    assert_eq!(
        accept["error"], "Invalid Sec-WebSocket-Accept header",
        "{accept:#}"
    );
    let proto = case("proto").expect("peer");
    assert_eq!(
        proto["error"], "Server sent a subprotocol but none was requested",
        "{proto:#}"
    );
    let slow = case("slow").expect("peer");
    assert_eq!(slow["opened"], true);
    assert!(slow["upgradeMs"].as_u64().expect("ms") >= 700, "{slow:#}");
    let dropped = case("drop").expect("peer");
    assert_eq!(dropped["code"], 1006, "no close frame: {dropped:#}");
    for (name, error) in [
        ("utf8", "Invalid WebSocket frame: invalid UTF-8 sequence"),
        ("rsv1", "Invalid WebSocket frame: RSV1 must be clear"),
        ("masked", "Invalid WebSocket frame: MASK must be clear"),
        // ws reads the 7-bit length field of a control frame: 126 announces a 16-bit length, over 125.
        (
            "control",
            "Invalid WebSocket frame: invalid payload length 126",
        ),
    ] {
        let got = case(name).expect("peer");
        assert_eq!(got["error"], error, "{got:#}");
    }
    let fragmented = case("fragment").expect("peer");
    assert_eq!(
        fragmented["messages"],
        serde_json::json!(["fragmented reply"])
    );
    let dripped = case("drip").expect("peer");
    let text = dripped["messages"][0].as_str().expect("the message");
    assert!(
        text.ends_with("dripped slowly, ten bytes at a time"),
        "{dripped:#}"
    );
    // 55 bytes on the wire in batches of 10, 50 ms apart: at least 250 ms (about 1 ms without the fault).
    assert!(
        dripped["dripMs"].as_u64().expect("ms") >= 240,
        "{dripped:#}"
    );
    let stopped = case("stopread").expect("peer");
    assert!(
        stopped["backedUp"].as_u64().expect("bytes") > 8 << 20,
        "the client's sends back up: {stopped:#}"
    );
    let deaf = case("deaf").expect("peer");
    assert_eq!(deaf["pinged"], true, "{deaf:#}");
    assert!(deaf["pongs"].is_null(), "no pong for its pings: {deaf:#}");
    let closed = case("close").expect("peer");
    assert_eq!(closed["code"], 4000);
    assert!(
        closed["reason"]
            .as_str()
            .expect("reason")
            .starts_with("bye "),
        "{closed:#}"
    );
    let streamed = case("stream").expect("peer");
    assert_eq!(
        streamed["messages"],
        serde_json::json!(["tick 1", "tick 2", "tick 3", "tick 4", "tick 5"])
    );
    // Each fault is logged as deliberate.
    for fault in [
        "a wrong Sec-WebSocket-Accept",
        "a text frame that is not UTF-8",
        "a masked frame from the server",
    ] {
        served.wait_for(fault, |e| e["event"] == "fault" && e["fault"] == fault);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fragmenting_is_seen_frame_by_frame() {
    let dir = tempfile::tempdir().expect("temp dir");
    let rules = dir.path().join("faults.ron");
    std::fs::write(&rules, FAULTS).expect("write");
    let served = Served::start(&rules, &[]);
    let (events, _, _) = crate::interop::connect(
        &served.url,
        &[
            "--send",
            r#"{"action":"fragment"}"#,
            "--frames",
            "--count",
            "1",
        ],
    )
    .await;
    let frames: Vec<&Value> = events
        .iter()
        .filter(|e| e["event"] == "frame" && e["direction"] == "received" && e["opcode"] != "close")
        .collect();
    // "fragmented reply" (16 bytes) in frames of 3: a text frame and five continuations, the last with FIN.
    assert_eq!(frames.len(), 6, "{frames:#?}");
    assert_eq!(frames[0]["opcode"], "text");
    assert!(frames[1..].iter().all(|f| f["opcode"] == "continuation"));
    assert_eq!(frames[5]["fin"], true);
    assert_eq!(frames[0]["fin"], false);
}

/// Room for `needed` open files: the soft limit raised to the hard one (with util-linux's `prlimit`) when it is
/// lower; a hard limit below it fails the test, saying so.
pub(crate) fn room_for_sockets(needed: u64) {
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap_or_default()
        .to_owned();
    let numbers: Vec<u64> = line
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    let (soft, hard) = (
        numbers.first().copied().unwrap_or(0),
        numbers.get(1).copied().unwrap_or(0),
    );
    if soft >= needed {
        return;
    }
    assert!(
        hard >= needed,
        "this test needs {needed} open files; the hard limit is {hard}"
    );
    let status = std::process::Command::new("prlimit")
        .arg(format!("--pid={}", std::process::id()))
        .arg(format!("--nofile={hard}:{hard}"))
        .status();
    assert!(
        status.is_ok_and(|s| s.success()),
        "could not raise the open-file limit from {soft} to {hard} (prlimit, util-linux)"
    );
}

/// A plain client connection.
async fn connect(
    url: &str,
) -> Result<
    tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>,
    tokio_tungstenite::tungstenite::Error,
> {
    let addr = url.trim_start_matches("ws://").to_owned();
    let tcp = tokio::net::TcpStream::connect(&addr).await?;
    Ok(tokio_tungstenite::client_async(url, tcp).await?.0)
}

const BROADCAST: &str = r#"MockRules(rules: [
  Rule(name: "broadcast", when: Route("broadcast"), then: [Send(to: All, text: "{{request.body.n}}")]),
])"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broadcast_reaches_a_thousand_clients() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    const CLIENTS: usize = 1_000;
    room_for_sockets(3 * CLIENTS as u64 + 256);
    let rules =
        sockscope::model::mock::MockRules::from_ron(BROADCAST, Path::new("b.ron")).expect("rules");
    let core = sockscope::model::mock::core::MockCore::new(rules).expect("core");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let (server, _events) =
        sockscope::engine::server::mock::MockServer::start(listener, core).expect("server");
    let url = server.url();
    let mut clients = Vec::with_capacity(CLIENTS);
    for chunk in 0..CLIENTS / 100 {
        let batch = (0..100).map(|_| connect(&url));
        for (n, connected) in futures_util::future::join_all(batch)
            .await
            .into_iter()
            .enumerate()
        {
            let ws = connected.unwrap_or_else(|e| panic!("client {}: {e}", chunk * 100 + n));
            clients.push(ws);
        }
    }
    // Every upgrade is through before the broadcast.
    for _ in 0..100 {
        if server.clients().len() == CLIENTS {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(server.clients().len(), CLIENTS);
    clients[0]
        .send(Message::text(r#"{"action":"broadcast","n":"go"}"#))
        .await
        .expect("send");
    let receipts = clients.into_iter().map(|mut ws| async move {
        tokio::time::timeout(std::time::Duration::from_secs(30), ws.next())
            .await
            .ok()
            .flatten()
            .and_then(Result::ok)
            .and_then(|m| m.into_text().ok())
            .map(|t| t.to_string())
    });
    let got = futures_util::future::join_all(receipts).await;
    let reached = got.iter().filter(|t| t.as_deref() == Some("go")).count();
    assert_eq!(reached, CLIENTS, "every client got the broadcast");
}

const ECHO: &str = r#"MockRules(rules: [
  Rule(name: "echo", when: Route("$default"), then: [Reply("echo {{request.body}}")]),
])"#;

#[test]
fn wss_with_a_self_signed_certificate_or_the_users_own() {
    let dir = tempfile::tempdir().expect("temp dir");
    let rules = dir.path().join("echo.ron");
    std::fs::write(&rules, ECHO).expect("write");
    // Made on the spot: node sees the fingerprint sockscope printed, talks wss and calls the API over HTTPS.
    let (served, listening) = Served::with(&rules, &["--tls-self-signed"], &[]);
    assert!(served.url.starts_with("wss://127.0.0.1:"), "{}", served.url);
    let sha = listening["sha256"].as_str().expect("sha256").to_owned();
    assert_eq!(sha.len(), 95, "32 bytes as AB:CD:…: {sha}");
    let Some(node) = run_peer(
        "wss_with_a_self_signed_certificate_or_the_users_own",
        Runtime::Node,
        "node_mock_tls.js",
        &["-e", "require('ws')"],
        &[&served.url],
    ) else {
        return;
    };
    assert_eq!(node["sha256"], sha.as_str(), "{node:#}");
    assert_eq!(node["reply"], "echo over tls");
    assert_eq!(node["api"], 410, "HTTPS on the same port: {node:#}");
    drop(served);
    // The user's certificate and key: Python verifies it, 127.0.0.1 included.
    let key = rcgen::KeyPair::generate().expect("key");
    let cert = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
        .expect("params")
        .self_signed(&key)
        .expect("cert");
    let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_path, cert.pem()).expect("cert written");
    std::fs::write(&key_path, key.serialize_pem()).expect("key written");
    let (served, _) = Served::with(
        &rules,
        &[
            "--tls-cert",
            cert_path.to_str().expect("path"),
            "--tls-key",
            key_path.to_str().expect("path"),
        ],
        &[],
    );
    let python = run_peer(
        "wss_with_a_self_signed_certificate_or_the_users_own",
        Runtime::Python,
        "python_wss_client.py",
        &["-c", "import websockets"],
        &[&served.url, cert_path.to_str().expect("path")],
    )
    .expect("python peer");
    assert_eq!(python["reply"], "echo verified", "{python:#}");
    // A key that is not the certificate's: exit 2, said.
    let other = rcgen::KeyPair::generate().expect("key");
    std::fs::write(&key_path, other.serialize_pem()).expect("key written");
    let out = crate::servers::cli(&[
        "serve",
        "--rules",
        rules.to_str().expect("path"),
        "--tls-cert",
        cert_path.to_str().expect("path"),
        "--tls-key",
        key_path.to_str().expect("path"),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("do not go together"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_the_server_closes_its_clients_with_1001() {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    let rules =
        sockscope::model::mock::MockRules::from_ron(ECHO, Path::new("e.ron")).expect("rules");
    let core = sockscope::model::mock::core::MockCore::new(rules).expect("core");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let (server, _events) =
        sockscope::engine::server::mock::MockServer::start(listener, core).expect("server");
    let mut ws = connect(&server.url()).await.expect("connect");
    for _ in 0..100 {
        if server.clients().len() == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    server.stop();
    let closed = tokio::time::timeout(std::time::Duration::from_secs(5), ws.next())
        .await
        .expect("in time");
    match closed {
        Some(Ok(Message::Close(Some(frame)))) => {
            assert_eq!(u16::from(frame.code), 1001);
            assert_eq!(frame.reason.as_str(), "the mock server stopped");
        }
        other => panic!("{other:?}"),
    }
    // No new client is taken.
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let again =
        tokio::time::timeout(std::time::Duration::from_secs(2), connect(&server.url())).await;
    assert!(
        !matches!(again, Ok(Ok(_))),
        "a client connected after the stop"
    );
}
