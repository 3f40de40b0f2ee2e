//! Sessions, collections and replay headless: `sockscope run` with expectations, exit codes and JUnit;
//! `import-har`; `export-k6`; the shipped example sessions.

use crate::servers;
use std::path::Path;
use std::process::{Command, Output};

fn asset(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("assets/sessions")
        .join(name)
        .display()
        .to_string()
}

/// A fresh folder for one test, removed when dropped.
fn temp_dir(name: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("sockscope-sessions-{name}-"))
        .tempdir()
        .expect("temp dir")
}

async fn sockscope(args: Vec<String>) -> Output {
    servers::cli_async(args).await
}

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shipped_echo_session_passes_against_our_echo_server() {
    let server = servers::echo().await;
    let out = sockscope(strings(&[
        "run",
        &asset("echo.ron"),
        "--url",
        &server.url(),
    ]))
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.matches("PASS").count(), 5, "{stdout}");
    assert!(
        stdout.contains("Echo smoke test: 5 of 5 steps passed, 0 failed, 0 skipped"),
        "{stdout}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_chat_example_passes_with_its_token_and_writes_valid_junit() {
    let addr = servers::chat("t0k3n").await;
    let dir = temp_dir("chat");
    let junit = dir.path().join("report.xml");
    let out = sockscope(strings(&[
        "run",
        &asset("chat.ron"),
        "--url",
        &format!("ws://{addr}/production"),
        "--var",
        "token=t0k3n",
        "--junit",
        &junit.display().to_string(),
    ]))
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let xml = std::fs::read_to_string(&junit).expect("junit written");
    let doc = roxmltree::Document::parse(&xml).expect("well-formed XML");
    let suite = doc
        .descendants()
        .find(|n| n.has_tag_name("testsuite"))
        .expect("testsuite");
    assert_eq!(suite.attribute("tests"), Some("3"));
    assert_eq!(suite.attribute("failures"), Some("0"));
    let names: Vec<&str> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .filter_map(|n| n.attribute("name"))
        .collect();
    assert_eq!(names, ["1. join", "2. sendmessage", "3. leave"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_expectation_exits_1_with_expected_and_got() {
    // Against an echo server the chat replies never come: every expectation fails.
    let server = servers::echo().await;
    let dir = temp_dir("fail");
    let junit = dir.path().join("report.xml");
    let out = sockscope(strings(&[
        "run",
        &asset("chat.ron"),
        "--url",
        &server.url(),
        "--var",
        "token=x",
        "--junit",
        &junit.display().to_string(),
        "--json",
    ]))
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let events: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("ndjson"))
        .collect();
    let steps: Vec<&serde_json::Value> = events.iter().filter(|e| e["event"] == "step").collect();
    assert_eq!(steps.len(), 3);
    assert_eq!(steps[0]["outcome"], "fail");
    assert!(
        steps[0]["expected"]
            .as_str()
            .is_some_and(|e| e.contains(r#""type":"joined""#)),
        "{}",
        steps[0]
    );
    assert!(
        steps[0]["got"]
            .as_str()
            .is_some_and(|g| g.contains("did not match") && g.contains(r#""action":"join""#)),
        "{}",
        steps[0]
    );
    assert!(events.iter().any(|e| e["event"] == "handshake"));
    assert_eq!(events.last().expect("summary")["event"], "summary");
    assert_eq!(events.last().expect("summary")["failed"], 3);
    let xml = std::fs::read_to_string(&junit).expect("junit");
    let doc = roxmltree::Document::parse(&xml).expect("well-formed");
    let failures: Vec<String> = doc
        .descendants()
        .filter(|n| n.has_tag_name("failure"))
        .map(|n| n.text().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(failures.len(), 3);
    assert!(
        failures[0].starts_with("expected: a JSON message containing"),
        "{}",
        failures[0]
    );
    assert!(failures[0].contains("\ngot: "), "{}", failures[0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_connection_or_no_session_exits_2() {
    let addr = servers::chat("right").await;
    let out = sockscope(strings(&[
        "run",
        &asset("chat.ron"),
        "--url",
        &format!("ws://{addr}"),
        "--var",
        "token=wrong",
    ]))
    .await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("401"), "{}", text(&out));
    let out = sockscope(strings(&["run", "/nonexistent/session.ron"])).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).contains("could not read /nonexistent/session.ron"),
        "{}",
        text(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_session_names_the_position_and_is_left_untouched() {
    let dir = temp_dir("corrupt");
    let path = dir.path().join("broken.ron");
    let content = "Session(\n  name: \"broken\",\n  collection: [Step(Step(name: 42))],\n)\n";
    std::fs::write(&path, content).expect("write");
    let out = sockscope(strings(&["run", &path.display().to_string()])).await;
    assert_eq!(out.status.code(), Some(2));
    let message = text(&out);
    assert!(
        message.contains(&format!("{}:3:", path.display())),
        "{message}"
    );
    assert_eq!(
        std::fs::read_to_string(&path).expect("read"),
        content,
        "the file is untouched"
    );
    // A truncated file too.
    std::fs::write(&path, "Session(\n  name: \"trunc").expect("write");
    let out = sockscope(strings(&["run", &path.display().to_string()])).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).contains(&format!("{}:2:", path.display())),
        "{}",
        text(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_har_capture_imports_and_replays() {
    let server = servers::echo().await;
    let dir = temp_dir("har");
    let har = dir.path().join("capture.har");
    let session = dir.path().join("capture.ron");
    std::fs::write(
        &har,
        format!(
            r#"{{"log":{{"version":"1.2","creator":{{"name":"WebInspector","version":"537.36"}},"entries":[
            {{"request":{{"method":"GET","url":"{}/live","headers":[{{"name":"Origin","value":"http://localhost"}}]}},
              "response":{{"status":101}},
              "_webSocketMessages":[
                {{"type":"send","time":1700000000.0,"opcode":1,"data":"{{\"op\":\"sub\",\"ch\":\"prices\"}}"}},
                {{"type":"receive","time":1700000000.05,"opcode":1,"data":"{{\"op\":\"sub\",\"ch\":\"prices\"}}"}},
                {{"type":"send","time":1700000000.25,"opcode":2,"data":"AAEC"}},
                {{"type":"send","time":1700000000.30,"opcode":1,"data":"bye"}},
                {{"type":"receive","time":1700000000.31,"opcode":1,"data":"bye"}}]}}]}}}}"#,
            server.url()
        ),
    )
    .expect("write har");
    let out = sockscope(strings(&[
        "import-har",
        &har.display().to_string(),
        "-o",
        &session.display().to_string(),
    ]))
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let loaded = sockscope::model::session::Session::load(&session).expect("valid session");
    assert_eq!(loaded.steps().len(), 3);
    assert_eq!(loaded.steps()[1].1.delay_ms, 250);
    let out = sockscope(strings(&["run", &session.display().to_string()])).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = sockscope(strings(&[
        "import-har",
        &dir.path().join("missing.har").display().to_string(),
        "-o",
        "x.ron",
    ]))
    .await;
    assert_eq!(out.status.code(), Some(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_k6_writes_a_script() {
    let dir = temp_dir("k6");
    let script = dir.path().join("chat.js");
    let out = sockscope(strings(&[
        "export-k6",
        &asset("chat.ron"),
        "-o",
        &script.display().to_string(),
    ]))
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let js = std::fs::read_to_string(&script).expect("script");
    assert!(js.contains("import ws from 'k6/ws';"));
    assert!(js.contains("ws.connect(url, params"));
    assert!(js.contains(r#"name: "Talk / sendmessage""#), "{js}");
    assert_eq!(js.matches("kind: ").count(), 4);
    // The script must at least be valid JavaScript (k6 itself is not installed for the tests).
    let node = Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !node {
        crate::skips::skip(
            "export_k6_writes_a_script",
            "node is not installed, so the script's JavaScript syntax was not checked",
        );
        return;
    }
    let check = dir.path().join("check.mjs");
    let stripped = js
        .replace("import ws from 'k6/ws';", "const ws = {};")
        .replace(
            "import encoding from 'k6/encoding';",
            "const encoding = {};",
        )
        .replace(
            "import { check } from 'k6';",
            "const check = () => true; const __ENV = {};",
        );
    std::fs::write(&check, stripped).expect("write");
    let out = Command::new("node")
        .arg("--check")
        .arg(&check)
        .output()
        .expect("node");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
