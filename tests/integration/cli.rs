//! The real `sockscope` binary: `connect` against servers started here, its NDJSON contract and exit codes,
//! and `serve`.

use crate::servers;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Output, Stdio};

async fn run(args: Vec<String>) -> Output {
    crate::servers::cli_async(args).await
}

use crate::servers::args;

fn ndjson(out: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_contract_of_a_full_echo_session() {
    let server = servers::echo().await;
    let url = server.url();
    let out = run(args(&[
        "connect",
        &url,
        "--json",
        "--send",
        "hello",
        "--send-binary",
        "00ff10",
        "--count",
        "2",
        "--close",
        "4000:done",
        "-H",
        "X-Test: yes",
        "-s",
        "chat",
        "--origin",
        "http://tests",
    ]))
    .await;
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    let events = ndjson(&out);
    let hs = &events[0];
    assert_eq!(hs["event"], "handshake");
    assert_eq!(hs["status"], 101);
    assert_eq!(hs["request"]["method"], "GET");
    assert_eq!(hs["request"]["target"], "/");
    let req_headers = hs["request"]["headers"].as_array().expect("headers array");
    assert!(
        req_headers
            .iter()
            .any(|h| h[0] == "X-Test" && h[1] == "yes")
    );
    assert!(
        req_headers
            .iter()
            .any(|h| h[0] == "Origin" && h[1] == "http://tests")
    );
    assert_eq!(hs["response"]["status"], 101);
    assert_eq!(hs["response"]["reason"], "Switching Protocols");
    assert_eq!(hs["subprotocol"], "chat");
    assert!(hs["timings_ms"]["total"].as_f64().is_some_and(|t| t > 0.0));
    assert!(hs["warnings"].as_array().is_some_and(Vec::is_empty));

    let messages: Vec<&Value> = events.iter().filter(|e| e["event"] == "message").collect();
    let find = |dir: &str, kind: &str| {
        messages
            .iter()
            .find(|m| m["direction"] == dir && m["kind"] == kind)
            .unwrap_or_else(|| panic!("no {dir} {kind} in {messages:?}"))
    };
    assert_eq!(find("sent", "text")["text"], "hello");
    assert_eq!(find("received", "text")["text"], "hello");
    assert_eq!(find("received", "text")["size"], 5);
    assert_eq!(find("received", "binary")["base64"], "AP8Q");
    assert!(find("received", "binary")["at_ms"].as_f64().is_some());
    assert_eq!(find("sent", "close")["code"], 4000);
    assert_eq!(find("sent", "close")["reason"], "done");
    let closed = events.last().expect("events");
    assert_eq!(closed["event"], "closed");
    assert_eq!(closed["code"], 4000);
    assert_eq!(closed["reason"], "done");
    assert_eq!(closed["clean"], true);
    assert_eq!(closed["initiated_by"], "client");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_output_is_one_line_per_received_message() {
    let server = servers::echo().await;
    let url = server.url();
    let out = run(args(&[
        "connect",
        &url,
        "--send",
        "one",
        "--send-binary",
        "cafe",
        "--send",
        "three",
        "--count",
        "3",
    ]))
    .await;
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "one\ncafe\nthree\n");
    assert!(
        stderr(&out).contains("connected to 127.0.0.1:"),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("closed by us: 1000 normal closure (clean)"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_closes_after_the_given_time() {
    let server = servers::echo().await;
    let url = server.url();
    let started = std::time::Instant::now();
    let out = run(args(&[
        "connect", &url, "--send", "x", "--wait", "0.3", "--json",
    ]))
    .await;
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    assert!(started.elapsed().as_secs_f64() >= 0.3);
    let events = ndjson(&out);
    assert!(
        events
            .iter()
            .any(|e| e["direction"] == "received" && e["text"] == "x")
    );
    assert_eq!(events.last().expect("closed")["initiated_by"], "client");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_close_ends_the_run_with_exit_zero() {
    let addr = servers::greet_then_close("hi there", 4002, "go away").await;
    let out = run(args(&["connect", &format!("ws://{addr}"), "--json"])).await;
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    let events = ndjson(&out);
    let closed = events.last().expect("closed");
    assert_eq!(closed["code"], 4002);
    assert_eq!(closed["reason"], "go away");
    assert_eq!(closed["initiated_by"], "server");
    assert_eq!(closed["clean"], true);
    let out = run(args(&["connect", &format!("ws://{addr}")])).await;
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hi there\n");
    assert!(
        stderr(&out).contains("closed by the server: 4002 private use 'go away' (clean)"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echo_mode_sends_messages_back() {
    let addr = servers::greet_then_close("ping me back", 1000, "").await;
    let out = run(args(&[
        "connect",
        &format!("ws://{addr}"),
        "--echo",
        "--json",
    ]))
    .await;
    let events = ndjson(&out);
    // The server closes right after its greeting, so our echo may race its close; the received one is certain.
    assert!(
        events
            .iter()
            .any(|e| e["direction"] == "received" && e["text"] == "ping me back")
    );
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));

    let server = servers::echo().await;
    let out = run(args(&[
        "connect",
        &server.url(),
        "--echo",
        "--send",
        "loop",
        "--count",
        "3",
        "--json",
    ]))
    .await;
    let events = ndjson(&out);
    let received = events
        .iter()
        .filter(|e| e["direction"] == "received" && e["text"] == "loop")
        .count();
    assert_eq!(received, 3, "{events:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_connection_exits_3_with_a_tcp_error() {
    let port = servers::closed_port().await;
    let out = run(args(&[
        "connect",
        &format!("ws://127.0.0.1:{port}"),
        "--json",
    ]))
    .await;
    assert_eq!(out.status.code(), Some(3));
    let events = ndjson(&out);
    assert_eq!(events[0]["event"], "error");
    assert_eq!(events[0]["stage"], "tcp");
    assert!(
        events[0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("refused"))
    );
    assert_eq!(events[1]["event"], "closed");
    assert_eq!(events[1]["initiated_by"], "none");
    let out = run(args(&["connect", &format!("ws://127.0.0.1:{port}")])).await;
    assert_eq!(out.status.code(), Some(3));
    assert!(
        stderr(&out).contains("error: TCP: could not connect to 127.0.0.1:"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_exits_2_with_a_clear_message() {
    for (bad, needle) in [
        (vec!["connect", "ftp://x"], "unsupported scheme"),
        (vec!["connect", "ws://"], "not a valid URL"),
        (
            vec!["connect", "ws://h", "--send-binary", "zz"],
            "not a hex digit",
        ),
        (
            vec!["connect", "ws://h", "--close", "x"],
            "must be a number",
        ),
        (vec!["connect", "ws://h", "--count"], "a value is required"),
    ] {
        let out = run(args(&bad)).await;
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
        assert!(stderr(&out).contains(needle), "{bad:?}: {}", stderr(&out));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_connection_exits_1() {
    let addr = servers::send_then_drop().await;
    let out = run(args(&["connect", &format!("ws://{addr}"), "--json"])).await;
    assert_eq!(out.status.code(), Some(1), "stderr: {}", stderr(&out));
    let events = ndjson(&out);
    assert!(
        events
            .iter()
            .any(|e| e["event"] == "error" && e["stage"] == "read")
    );
    assert_eq!(events.last().expect("closed")["clean"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_upgrade_prints_the_response_and_exits_3() {
    let addr =
        servers::raw_http(b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nno route!").await;
    let out = run(args(&["connect", &format!("ws://{addr}/nope"), "--json"])).await;
    assert_eq!(out.status.code(), Some(3));
    let events = ndjson(&out);
    assert_eq!(events[0]["event"], "handshake");
    assert_eq!(events[0]["status"], 404);
    assert_eq!(events[0]["response"]["body"]["text"], "no route!");
    assert_eq!(events[1]["stage"], "handshake");
}

#[test]
fn serve_prints_its_url_and_echoes() {
    let mut child = servers::sockscope_command()
        .args(["serve", "--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start serve");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("url line");
    let url = line.trim().to_owned();
    assert!(url.starts_with("ws://127.0.0.1:"), "{url}");
    let out = servers::sockscope_command()
        .args(["connect", &url, "--send", "via serve", "--count", "1"])
        .stdin(Stdio::null())
        .output()
        .expect("connect");
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "via serve\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frames_show_fragments_masks_and_control_frames() {
    let server = servers::echo().await;
    let out = run(args(&[
        "connect",
        &server.url(),
        "--json",
        "--frames",
        "--send-fragmented",
        "abcdefgh",
        "--fragment-size",
        "3",
        "--count",
        "1",
    ]))
    .await;
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    let frames: Vec<Value> = ndjson(&out)
        .into_iter()
        .filter(|e| e["event"] == "frame")
        .collect();
    let sent: Vec<&Value> = frames.iter().filter(|f| f["direction"] == "sent").collect();
    let received: Vec<&Value> = frames
        .iter()
        .filter(|f| f["direction"] == "received")
        .collect();
    // Three fragments out: text (FIN 0), continuation (FIN 0), continuation (FIN 1); then our close.
    assert_eq!(sent[0]["opcode"], "text");
    assert_eq!(sent[0]["fin"], false);
    assert_eq!(sent[1]["opcode"], "continuation");
    assert_eq!(sent[2]["opcode"], "continuation");
    assert_eq!(sent[2]["fin"], true);
    assert_eq!(sent[2]["payload_len"], 2);
    assert!(
        sent.iter().all(|f| f["masked"] == true),
        "client frames are masked"
    );
    assert_eq!(sent.last().expect("close")["opcode"], "close");
    // The echo comes back as one unmasked text frame, then the server's close reply.
    assert_eq!(received[0]["opcode"], "text");
    assert_eq!(received[0]["payload_len"], 8);
    assert_eq!(received[0]["masked"], false);
    assert_eq!(received.last().expect("close")["opcode"], "close");
}
