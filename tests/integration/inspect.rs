//! The handshake inspector's data and the connection options: checks, proxies (HTTP CONNECT, SOCKS5), slow
//! servers, and "copy as" commands.

use crate::servers::{self, cli, collect, start};
use sockscope::model::{CheckOutcome, ConnectRequest, Direction, Stage};

async fn echo_once(req: ConnectRequest) -> servers::Transcript {
    servers::echo_once_with(req, "through").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checks_explain_a_good_upgrade() {
    let server = servers::echo().await;
    let mut req = ConnectRequest::new(server.url());
    req.subprotocols = vec!["chat".into()];
    let t = echo_once(req).await;
    let hs = t.handshake.expect("handshake");
    let names: Vec<&str> = hs.checks.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "Status",
            "Upgrade",
            "Connection",
            "Sec-WebSocket-Accept",
            "Subprotocol",
            "Extensions"
        ]
    );
    assert!(
        hs.checks.iter().all(|c| c.outcome == CheckOutcome::Pass),
        "{:?}",
        hs.checks
    );
    assert!(
        hs.checks[3]
            .detail
            .starts_with("matches base64(SHA-1(key + GUID))")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checks_mark_the_failure_and_the_warning() {
    let addr = servers::raw_http(
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Accept: bad\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=16\r\n\r\n",
    )
    .await;
    // We offer a subprotocol and the server selects none: legal, and a warning.
    let mut req = ConnectRequest::new(format!("ws://{addr}/"));
    req.subprotocols = vec!["chat".into()];
    let t = echo_once(req).await;
    let hs = t
        .handshake
        .expect("handshake is reported for a failed upgrade");
    let outcome = |name: &str| hs.checks.iter().find(|c| c.name == name).map(|c| c.outcome);
    assert_eq!(outcome("Sec-WebSocket-Accept"), Some(CheckOutcome::Fail));
    assert_eq!(outcome("Extensions"), Some(CheckOutcome::Fail));
    assert_eq!(outcome("Upgrade"), Some(CheckOutcome::Pass));
    assert_eq!(outcome("Subprotocol"), Some(CheckOutcome::Warn));
    let subprotocol = hs
        .checks
        .iter()
        .find(|c| c.name == "Subprotocol")
        .expect("subprotocol check");
    assert!(
        subprotocol
            .detail
            .contains("selected none of the offered subprotocols (chat)"),
        "{}",
        subprotocol.detail
    );
    assert!(
        hs.warnings.iter().any(|w| w == &subprotocol.detail),
        "the warning is listed too: {:?}",
        hs.warnings
    );
    let ext = hs
        .checks
        .iter()
        .find(|c| c.name == "Extensions")
        .expect("extensions check");
    assert!(
        ext.detail
            .contains("client_max_window_bits=16 is not a window size"),
        "{}",
        ext.detail
    );
    // The raw response bytes are kept as received.
    assert!(
        hs.response_raw
            .starts_with(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n")
    );
    // Offered as Chrome offers it.
    assert!(
        hs.request_raw
            .windows(68)
            .any(|w| w == b"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits"),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_byte_by_byte_response_still_works() {
    let addr = servers::slow_101().await;
    let (_h, mut events) = start(ConnectRequest::new(format!("ws://{addr}/")));
    let t = collect(&mut events, |_, _| {}).await;
    assert!(t.opened, "{:?}", t.errors);
    assert_eq!(&t.messages[0].payload[..], b"slow");
    assert!(t.closed.expect("closed").clean);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_an_http_connect_proxy_with_credentials() {
    let server = servers::echo().await;
    let (proxy, log) = servers::http_proxy(Some(("alice", "s3cret"))).await;
    let mut req = ConnectRequest::new(server.url());
    req.proxy = Some(format!("http://alice:s3cret@{proxy}"));
    let t = echo_once(req).await;
    assert!(t.opened, "{:?}", t.errors);
    let hs = t.handshake.expect("handshake");
    let exchange = hs.proxy.expect("proxy exchange");
    assert_eq!(exchange.kind, "HTTP CONNECT");
    assert!(
        exchange
            .request
            .starts_with(&format!("CONNECT {} HTTP/1.1", server.local_addr))
    );
    assert!(
        exchange
            .request
            .contains("Proxy-Authorization: Basic ••••••"),
        "secret masked: {}",
        exchange.request
    );
    assert!(exchange.response.starts_with("HTTP/1.1 200"));
    assert!(hs.timings.proxy_ms.is_some());
    assert_eq!(log.lock().expect("log").len(), 1);
    assert!(
        t.messages
            .iter()
            .any(|m| m.direction == Direction::Received && &m.payload[..] == b"through")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proxy_that_wants_credentials_says_so() {
    let server = servers::echo().await;
    let (proxy, _) = servers::http_proxy(Some(("alice", "s3cret"))).await;
    let mut req = ConnectRequest::new(server.url());
    req.proxy = Some(format!("http://{proxy}"));
    let t = echo_once(req.clone()).await;
    assert_eq!(t.errors[0].stage, Stage::Proxy);
    assert!(
        t.errors[0].message.contains("requires authentication"),
        "{}",
        t.errors[0].message
    );
    req.proxy = Some(format!("http://alice:wrong@{proxy}"));
    let t = echo_once(req).await;
    assert!(
        t.errors[0].message.contains("rejected our credentials"),
        "{}",
        t.errors[0].message
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_or_failing_proxy_is_a_proxy_error() {
    let server = servers::echo().await;
    let port = servers::closed_port().await;
    let mut req = ConnectRequest::new(server.url());
    req.proxy = Some(format!("http://127.0.0.1:{port}"));
    let t = echo_once(req).await;
    assert_eq!(t.errors[0].stage, Stage::Proxy);
    assert!(
        t.errors[0]
            .message
            .contains("could not connect to the proxy at"),
        "{}",
        t.errors[0].message
    );

    let (proxy, _) = servers::http_proxy(None).await;
    let mut req = ConnectRequest::new(format!("ws://127.0.0.1:{port}/"));
    req.proxy = Some(format!("http://{proxy}"));
    let t = echo_once(req).await;
    assert_eq!(t.errors[0].stage, Stage::Proxy);
    assert!(
        t.errors[0].message.contains("502 Bad Gateway"),
        "{}",
        t.errors[0].message
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_a_socks5_proxy_with_and_without_auth() {
    let server = servers::echo().await;
    let (proxy, log) = servers::socks5_proxy(None).await;
    let mut req = ConnectRequest::new(format!("ws://localhost:{}/", server.local_addr.port()));
    req.proxy = Some(format!("socks5://{proxy}"));
    let t = echo_once(req).await;
    assert!(t.opened, "{:?}", t.errors);
    // The proxy resolved the name, not us.
    assert_eq!(
        log.lock().expect("log")[0],
        format!("localhost:{}", server.local_addr.port())
    );
    assert_eq!(
        t.handshake
            .expect("handshake")
            .proxy
            .expect("exchange")
            .kind,
        "SOCKS5"
    );

    let (proxy, _) = servers::socks5_proxy(Some(("bob", "pw"))).await;
    let mut req = ConnectRequest::new(server.url());
    req.proxy = Some(format!("socks5://bob:pw@{proxy}"));
    assert!(echo_once(req.clone()).await.opened);
    req.proxy = Some(format!("socks5://bob:nope@{proxy}"));
    let t = echo_once(req).await;
    assert_eq!(t.errors[0].stage, Stage::Proxy);
    assert!(
        t.errors[0]
            .message
            .contains("rejected our user name or password"),
        "{}",
        t.errors[0].message
    );
}

#[test]
fn print_gives_equivalent_commands() {
    let out = cli(&[
        "connect",
        "wss://h.example/ws?x=1",
        "--print",
        "curl",
        "-H",
        "Authorization: Bearer t0k",
        "-s",
        "v1",
        "--origin",
        "https://o.example",
        "-k",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let line = String::from_utf8_lossy(&out.stdout);
    assert!(
        line.starts_with("curl --include --no-buffer --http1.1 -H 'Connection: Upgrade'"),
        "{line}"
    );
    assert!(
        line.contains("-H 'Authorization: Bearer t0k'") && line.contains("--insecure"),
        "{line}"
    );
    assert!(
        line.trim_end().ends_with("'https://h.example/ws?x=1'"),
        "{line}"
    );
    let out = cli(&[
        "connect",
        "ws://h/",
        "--print",
        "websocat",
        "-H",
        "X-A: 1",
        "--no-deflate",
    ]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "websocat -H 'X-A: 1' ws://h/"
    );
    let out = cli(&["connect", "ws://h/", "--print", "websocat"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "websocat ws://h/  # websocat cannot compress (vi/websocat#47): it connects without permessage-deflate"
    );
    let out = cli(&[
        "connect",
        "ws://h/",
        "--print",
        "curl",
        "--deflate-offer",
        "permessage-deflate; server_no_context_takeover",
    ]);
    let line = String::from_utf8_lossy(&out.stdout);
    assert!(
        line.contains(
            "-H 'Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover'"
        ),
        "{line}"
    );
    let out = cli(&["connect", "ws://h/", "--print", "wscat", "-s", "chat"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "wscat --connect ws://h/ -H 'Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits' -s chat"
    );
    let out = cli(&["connect", "ws://h/", "--print", "nc"]);
    assert_eq!(out.status.code(), Some(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_handshake_carries_checks_timings_and_proxy() {
    let server = servers::echo().await;
    let (proxy, _) = servers::http_proxy(None).await;
    let url = server.url();
    let proxy_url = format!("http://{proxy}");
    let out = tokio::task::spawn_blocking(move || {
        cli(&[
            "connect", &url, "--json", "--proxy", &proxy_url, "--send", "x", "--count", "1",
        ])
    })
    .await
    .expect("join");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let first: serde_json::Value = serde_json::from_str(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .next()
            .expect("line"),
    )
    .expect("json");
    assert_eq!(first["checks"][3]["name"], "Sec-WebSocket-Accept");
    assert_eq!(first["checks"][3]["outcome"], "pass");
    assert!(first["timings_ms"]["proxy"].as_f64().is_some());
    assert_eq!(first["proxy"]["kind"], "HTTP CONNECT");
    assert_eq!(first["proxy"]["source"], "the proxy setting");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_from_the_environment_and_no_proxy() {
    let server = servers::echo().await;
    let (proxy, log) = servers::http_proxy(None).await;
    let url = server.url();
    let run = move |no_proxy: &'static str, extra: &'static [&'static str]| {
        let url = url.clone();
        let proxy = format!("http://{proxy}");
        tokio::task::spawn_blocking(move || {
            servers::sockscope_command()
                .args(["connect", &url, "--send", "x", "--count", "1"])
                .args(extra)
                .env("HTTP_PROXY", &proxy)
                .env("NO_PROXY", no_proxy)
                .stdin(std::process::Stdio::null())
                .output()
                .expect("run")
        })
    };
    let out = run("", &[]).await.expect("join");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(log.lock().expect("log").len(), 1, "HTTP_PROXY was used");
    let out = run("127.0.0.1", &[]).await.expect("join");
    assert_eq!(out.status.code(), Some(0));
    let out = run("", &["--no-proxy"]).await.expect("join");
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        log.lock().expect("log").len(),
        1,
        "NO_PROXY and --no-proxy bypassed it"
    );
}
