//! SignalR, Phoenix Channels and Action Cable: their servers (ASP.NET, Elixir, Rails) do not install here, so
//! each protocol is checked against its official client library from npm (`@microsoft/signalr` with
//! `@microsoft/signalr-protocol-msgpack`, `phoenix`, `@rails/actioncable`) through a small in-test server in
//! `tests/peers` that answers as the protocol's spec says and records every message:
//! 1. the official client runs against the server and must get every answer it expects (so the server speaks
//!    the protocol as the official client reads it);
//! 2. every message the official client sent, and every answer, is read by sockscope's lens (decoding only)
//!    and must decode to what the official client meant;
//! 3. `sockscope connect --protocol …` makes the same calls against the same server, which must accept them
//!    (it closes with 4000 on anything off-spec), and sockscope must decode the answers.

use super::{Peer, Runtime, connect, peers_dir, protocol_error, start_peer_with};
use serde_json::{Value, json};
use sockscope::model::protocol::engineio::WsData;
use sockscope::model::protocol::lens::{Lens, Options, for_protocol};
use sockscope::model::protocol::{Decoded, Protocol};
use std::path::Path;
use std::time::Instant;

fn server(test: &str, script: &str, module: &str, record: &Path) -> Option<Peer> {
    let probe = format!("require('{module}')");
    start_peer_with(
        test,
        Runtime::Node,
        script,
        &["-e", &probe],
        &[record.as_os_str()],
    )
}

/// Runs an official client script (`node SCRIPT PORT ARGS…`) to its end: its stdout, or a panic with both.
async fn official_client(script: &str, port: u16, args: &[&str]) -> String {
    let mut command = std::process::Command::new("timeout");
    command
        .args(["20", "node", script])
        .arg(port.to_string())
        .args(args)
        .current_dir(peers_dir());
    let out = tokio::task::spawn_blocking(move || command.output())
        .await
        .expect("join")
        .expect("run node");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{script} failed ({}): {stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// The recorded messages: (direction, message) with direction "in" (to the server) or "out" (from it), and
/// what the server noted otherwise ("error: …", "negotiate: …", "connect: …").
fn recorded(path: &Path) -> (Vec<(String, WsData)>, Vec<String>) {
    use base64::Engine as _;
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut messages = Vec::new();
    let mut errors = Vec::new();
    for line in text.lines() {
        let v: Value = serde_json::from_str(line).expect("record line");
        let dir = v["dir"].as_str().expect("dir").to_owned();
        if dir != "in" && dir != "out" {
            // What the server noted: "error: …", "negotiate: <Authorization>", "connect: <URL>".
            errors.push(format!("{dir}: {}", v["text"].as_str().unwrap_or("")));
            continue;
        }
        let data = match (v.get("text"), v.get("base64")) {
            (Some(Value::String(t)), _) => WsData::Text(t.clone()),
            (_, Some(Value::String(b))) => WsData::Binary(
                base64::engine::general_purpose::STANDARD
                    .decode(b)
                    .expect("base64"),
            ),
            _ => panic!("record line without data: {line}"),
        };
        messages.push((dir, data));
    }
    (messages, errors)
}

/// Decodes a recording with `protocol`'s lens, decoding only: what the client sent as sent messages, what the
/// server sent as received ones. Returns (direction, decoded part) for every protocol message, in order.
fn decode_recording(
    protocol: Protocol,
    options: &Options,
    messages: Vec<(String, WsData)>,
) -> Vec<(String, Decoded)> {
    let mut lens: Box<dyn Lens> = for_protocol(protocol, options, false, "ws://127.0.0.1/")
        .expect("options")
        .expect("a lens");
    let now = Instant::now();
    let mut out = Vec::new();
    for (dir, data) in messages {
        let decoded = if dir == "in" {
            lens.describe_sent(&data)
        } else {
            lens.on_message(now, data).0
        };
        for part in decoded.parts() {
            let mut part = part.clone();
            part.more.clear();
            out.push((dir.clone(), part));
        }
    }
    out
}

fn types(decoded: &[(String, Decoded)], dir: &str) -> Vec<String> {
    decoded
        .iter()
        .filter(|(d, _)| d == dir)
        .map(|(_, p)| p.kind().to_owned())
        .collect()
}

fn parts<'a>(events: &'a [Value], direction: &str, kind: &str) -> Vec<&'a Value> {
    events
        .iter()
        .filter(|e| e["event"] == "message" && e["direction"] == direction)
        .filter_map(|e| e.get("protocol"))
        .filter(|p| p["type"] == kind)
        .collect()
}

fn no_errors(events: &[Value]) {
    let errors: Vec<&Value> = events.iter().filter(|e| e["event"] == "error").collect();
    assert!(errors.is_empty(), "{errors:#?}");
}

fn closed_by_client(events: &[Value]) {
    let closed = events.last().expect("events");
    assert_eq!(closed["event"], "closed", "{events:#?}");
    assert_eq!(closed["initiated_by"], "client", "{closed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signalr_against_the_official_client_and_its_protocols() {
    let dir = tempfile::tempdir().expect("tempdir");
    let record = dir.path().join("signalr.jsonl");
    let Some(hub) = server(
        "signalr_official",
        "node_signalr_hub.js",
        "@microsoft/signalr-protocol-msgpack",
        &record,
    ) else {
        return;
    };
    // 1. The official client, JSON then MessagePack, gets every answer it expects.
    official_client("node_signalr_client.js", hub.port, &[]).await;
    official_client("node_signalr_client.js", hub.port, &["messagepack"]).await;
    // 2. sockscope reads what it sent and what the hub answered. The recording holds the JSON connection,
    //    then the MessagePack one: split at the second handshake.
    let (messages, _) = recorded(&record);
    let second = messages
        .iter()
        .rposition(|(d, m)| d == "in" && matches!(m, WsData::Text(t) if t.contains("messagepack")))
        .expect("the MessagePack handshake");
    let (json_part, msgpack_part) = messages.split_at(second);
    let json_decoded = decode_recording(Protocol::SignalR, &Options::new(), json_part.to_vec());
    let sent = types(&json_decoded, "in");
    assert_eq!(sent.first().map(String::as_str), Some("handshake"));
    for kind in ["invocation", "stream_invocation", "close"] {
        assert!(sent.iter().any(|t| t == kind), "{kind} not in {sent:?}");
    }
    let echo = json_decoded
        .iter()
        .find(|(d, p)| d == "in" && p.value["target"] == "Echo")
        .expect("Echo");
    assert_eq!(echo.1.value["args"], json!(["hi"]));
    assert!(echo.1.value["invocation_id"].is_string());
    let notify = json_decoded
        .iter()
        .find(|(d, p)| d == "in" && p.value["target"] == "Notify")
        .expect("Notify");
    assert!(
        notify.1.value.get("invocation_id").is_none(),
        "a send has no id"
    );
    let answered = types(&json_decoded, "out");
    for kind in ["handshake", "completion", "stream_item", "invocation"] {
        assert!(
            answered.iter().any(|t| t == kind),
            "{kind} not in {answered:?}"
        );
    }
    let mut mp = Options::new();
    mp.insert("hub_protocol".into(), "messagepack".into());
    let msgpack_decoded = decode_recording(Protocol::SignalR, &mp, msgpack_part.to_vec());
    let echo = msgpack_decoded
        .iter()
        .find(|(d, p)| d == "in" && p.value["target"] == "Echo")
        .unwrap_or_else(|| panic!("{msgpack_decoded:#?}"));
    assert_eq!(echo.1.value["args"], json!(["hi"]));
    let items: Vec<&Value> = msgpack_decoded
        .iter()
        .filter(|(d, p)| d == "out" && p.kind() == "stream_item")
        .map(|(_, p)| &p.value["item"])
        .collect();
    assert_eq!(items, [&json!(0), &json!(1), &json!(2)]);

    // 3. sockscope makes the same calls; the hub reads them with the spec's rules.
    let url = format!("ws://127.0.0.1:{}/chathub", hub.port);
    for hub_protocol in ["json", "messagepack"] {
        let option = format!("hub_protocol={hub_protocol}");
        let (events, code, stderr) = connect(
            &url,
            &[
                "--protocol",
                "signalr",
                "--protocol-option",
                &option,
                "--protocol-option",
                "keepalive_ms=500",
                "--emit",
                r#"{"invoke":"Echo","args":["from sockscope"]}"#,
                "--emit",
                r#"{"stream":"Counter","args":[3]}"#,
                "--emit",
                r#"{"send":"Notify","args":["note"]}"#,
                "--wait",
                "1.5",
            ],
        )
        .await;
        assert_eq!(code, Some(0), "{hub_protocol}: {stderr}\n{events:#?}");
        no_errors(&events);
        closed_by_client(&events);
        let completions = parts(&events, "received", "completion");
        let echo = completions
            .iter()
            .find(|c| c["target"] == "Echo")
            .unwrap_or_else(|| panic!("{completions:?}"));
        assert_eq!(echo["result"], "from sockscope");
        let counter = completions
            .iter()
            .find(|c| c["target"] == "Counter")
            .expect("Counter");
        assert_eq!(counter["items"], 3);
        let notified = parts(&events, "received", "invocation");
        assert_eq!(notified[0]["target"], "notified");
        assert_eq!(notified[0]["args"], json!(["note"]));
        assert!(parts(&events, "sent", "ping").len() >= 2, "{hub_protocol}");
        assert!(!parts(&events, "received", "ping").is_empty());
    }

    // The negotiate step: the official client's (the hub's answer is what it expects), then sockscope's, with
    // the request's own Authorization header, connecting with id=connectionToken.
    official_client("node_signalr_client.js", hub.port, &["json", "negotiate"]).await;
    let (events, code, stderr) = connect(
        &url,
        &[
            "--protocol",
            "signalr",
            "--protocol-option",
            "negotiate=true",
            "--header",
            "Authorization: Bearer sockscope",
            "--emit",
            r#"{"invoke":"Echo","args":["negotiated"]}"#,
            "--count",
            "1",
        ],
    )
    .await;
    assert_eq!(code, Some(0), "{stderr}\n{events:#?}");
    let handshake = events
        .iter()
        .find(|e| e["event"] == "handshake")
        .expect("handshake");
    let target = handshake["request"]["target"].as_str().expect("target");
    assert!(target.starts_with("/chathub?id=tok-"), "{target}");
    let completion = parts(&events, "received", "completion");
    assert_eq!(completion[0]["result"], "negotiated");
    let (_, notes) = recorded(&record);
    assert!(
        notes.iter().any(|n| n == "negotiate: Bearer sockscope"),
        "{notes:?}"
    );
    assert!(
        notes
            .iter()
            .filter(|n| n.starts_with("connect: /chathub?id=tok-"))
            .count()
            >= 2,
        "{notes:?}"
    );
    // A hub without /negotiate: the failure says where and why.
    let (events, code, _) = connect(
        &format!("ws://127.0.0.1:{}/elsewhere", hub.port),
        &[
            "--protocol",
            "signalr",
            "--protocol-option",
            "negotiate=true",
        ],
    )
    .await;
    assert_ne!(code, Some(0));
    let error = events
        .iter()
        .find(|e| e["event"] == "error")
        .unwrap_or_else(|| panic!("{events:#?}"));
    let message = error["message"].as_str().expect("message");
    assert!(
        message.contains("negotiate") && message.contains("404"),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn phoenix_against_the_official_client() {
    let dir = tempfile::tempdir().expect("tempdir");
    let record = dir.path().join("phoenix.jsonl");
    let Some(socket) = server(
        "phoenix_official",
        "node_phoenix_server.js",
        "phoenix",
        &record,
    ) else {
        return;
    };
    official_client("node_phoenix_client.js", socket.port, &[]).await;
    let (messages, _) = recorded(&record);
    let decoded = decode_recording(Protocol::Phoenix, &Options::new(), messages);
    let sent = types(&decoded, "in");
    assert_eq!(sent.first().map(String::as_str), Some("phx_join"));
    for kind in ["new_msg", "ping", "heartbeat", "phx_leave"] {
        assert!(sent.iter().any(|t| t == kind), "{kind} not in {sent:?}");
    }
    let join = &decoded[0].1.value;
    assert_eq!(join["topic"], "room:lobby");
    assert_eq!(join["join_ref"], join["ref"]);
    let replies: Vec<&Value> = decoded
        .iter()
        .filter(|(d, p)| d == "out" && p.kind() == "phx_reply")
        .map(|(_, p)| &p.value)
        .collect();
    assert!(replies.iter().all(|r| r["status"] == "ok"), "{replies:?}");
    // The official client's v1 serializer, read with vsn=1.0.0.
    std::fs::remove_file(&record).expect("rm");
    official_client("node_phoenix_client.js", socket.port, &["1.0.0"]).await;
    let mut v1 = Options::new();
    v1.insert("vsn".into(), "1.0.0".into());
    let decoded = decode_recording(Protocol::Phoenix, &v1, recorded(&record).0);
    assert!(
        decoded.iter().all(|(_, p)| p.kind() != "invalid"),
        "{decoded:#?}"
    );
    assert_eq!(decoded[0].1.kind(), "phx_join");

    // sockscope: the endpoint URL as a user types it gets /websocket?vsn=2.0.0.
    let url = format!("ws://127.0.0.1:{}/socket", socket.port);
    let (events, code, stderr) = connect(
        &url,
        &[
            "--protocol",
            "phoenix",
            "--protocol-option",
            "heartbeat_ms=400",
            "--emit",
            r#"{"topic":"room:lobby","event":"phx_join","payload":{}}"#,
            "--emit",
            r#"{"topic":"room:lobby","event":"new_msg","payload":{"body":"from sockscope"}}"#,
            "--emit",
            r#"{"topic":"room:lobby","event":"ping","payload":{"n":7}}"#,
            "--emit",
            r#"{"topic":"room:secret","event":"phx_join","payload":{"token":"bad"}}"#,
            "--wait",
            "1.5",
        ],
    )
    .await;
    // The refused join is a protocol failure: exit 1, as for any protocol error after the handshake.
    assert_eq!(code, Some(1), "{stderr}\n{events:#?}");
    closed_by_client(&events);
    let handshake = events
        .iter()
        .find(|e| e["event"] == "handshake")
        .expect("handshake");
    assert_eq!(
        handshake["request"]["target"],
        "/socket/websocket?vsn=2.0.0"
    );
    let replies = parts(&events, "received", "phx_reply");
    let join = replies
        .iter()
        .find(|r| r["reply_to"] == "phx_join" && r["topic"] == "room:lobby")
        .expect("join reply");
    assert_eq!(join["status"], "ok");
    let ping = replies
        .iter()
        .find(|r| r["reply_to"] == "ping")
        .expect("ping reply");
    assert_eq!(ping["payload"]["response"], json!({"n": 7}));
    let broadcast = parts(&events, "received", "new_msg");
    assert_eq!(broadcast[0]["payload"]["body"], "from sockscope");
    assert!(parts(&events, "sent", "heartbeat").len() >= 2);
    // The refused join is said in words, the connection goes on.
    let message = protocol_error(&events);
    assert!(
        message.contains("room:secret refused phx_join") && message.contains("unauthorized"),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn action_cable_against_the_official_client() {
    let dir = tempfile::tempdir().expect("tempdir");
    let record = dir.path().join("cable.jsonl");
    let Some(cable) = server(
        "actioncable_official",
        "node_actioncable_server.js",
        "@rails/actioncable",
        &record,
    ) else {
        return;
    };
    official_client("node_actioncable_client.js", cable.port, &[]).await;
    let (messages, notes) = recorded(&record);
    assert!(!notes.iter().any(|n| n.starts_with("error")), "{notes:?}");
    let decoded = decode_recording(Protocol::ActionCable, &Options::new(), messages);
    assert_eq!(
        types(&decoded, "in"),
        ["subscribe", "message", "unsubscribe"]
    );
    let subscribe = &decoded.iter().find(|(d, _)| d == "in").expect("in").1.value;
    assert_eq!(
        subscribe["identifier"],
        json!({"channel":"ChatChannel","room":"1"})
    );
    let message = decoded
        .iter()
        .find(|(d, p)| d == "in" && p.kind() == "message")
        .expect("message");
    assert_eq!(
        message.1.value["data"],
        json!({"message":"hello","action":"speak"})
    );
    let out = types(&decoded, "out");
    assert_eq!(out[..3], ["welcome", "confirm_subscription", "message"]);

    // sockscope: the identifier string of the subscription is reused byte for byte by perform (the server
    // finds the subscription by that exact string, as Rails does), pings arrive every 3 s.
    let url = format!("ws://127.0.0.1:{}/cable", cable.port);
    std::fs::remove_file(&record).expect("rm");
    let (events, code, stderr) = connect(
        &url,
        &[
            "--protocol",
            "actioncable",
            "--emit",
            r#"{"subscribe":{"channel":"ChatChannel","room":"7"}}"#,
            "--emit",
            r#"{"perform":"speak","identifier":{"channel":"ChatChannel","room":"7"},"data":{"message":"from sockscope"}}"#,
            "--emit",
            r#"{"subscribe":{"channel":"SecretChannel"}}"#,
            "--wait",
            "3.5",
        ],
    )
    .await;
    // The rejected subscription is a protocol failure: exit 1.
    assert_eq!(code, Some(1), "{stderr}\n{events:#?}");
    closed_by_client(&events);
    let (_, errors) = recorded(&record);
    assert!(
        errors.is_empty(),
        "the server did not find the subscription: {errors:?}"
    );
    assert_eq!(events[1]["name"], "actioncable");
    let confirm = parts(&events, "received", "confirm_subscription");
    assert_eq!(
        confirm[0]["identifier"],
        json!({"channel":"ChatChannel","room":"7"})
    );
    let messages = parts(&events, "received", "message");
    assert_eq!(messages[0]["message"]["message"], "from sockscope");
    assert!(!parts(&events, "received", "ping").is_empty());
    let reject = events
        .iter()
        .find(|e| e["event"] == "error" && e["stage"] == "protocol")
        .expect("rejection");
    assert!(
        reject["message"]
            .as_str()
            .is_some_and(|m| m.contains("rejected the subscription")),
        "{reject}"
    );

    // A disconnect before the welcome: the handshake failed, with the reason and the reconnect hint.
    let (events, code, _) = connect(
        &format!("{url}?reject=1"),
        &["--protocol", "actioncable", "--wait", "2"],
    )
    .await;
    assert_eq!(code, Some(3), "{events:#?}");
    let message = protocol_error(&events);
    assert!(
        message.contains("unauthorized") && message.contains("not to reconnect"),
        "{message}"
    );
}
