//! WebSockets over HTTP/2 (RFC 8441) against hypercorn (PyPI), an implementation nobody here wrote: h2c with
//! prior knowledge and TLS with ALPN h2, `auto` (h2 with hypercorn, HTTP/1.1 with Python `websockets`), a refused
//! CONNECT, flow control through a small window, shared connections; and, against small servers on the `h2`
//! crate's server side, SETTINGS without the extended CONNECT, RST_STREAM and GOAWAY in words.

use super::{Peer, Runtime, exercise_request, start_peer_with};
use crate::servers::{cli_async, collect, start};
use sockscope::engine::{Command, EventKind};
use sockscope::model::h2::HttpVersion;
use sockscope::model::{ConnState, ConnectRequest, Direction, MessageKind};
use std::ffi::OsStr;
use std::time::Duration;

const PROBE: &[&str] = &["-c", "import hypercorn"];

/// hypercorn on plain TCP (HTTP/1.1, and h2c with prior knowledge).
fn hypercorn(test: &str) -> Option<Peer> {
    start_peer_with(test, Runtime::Python, "python_hypercorn_h2.py", PROBE, &[])
}

/// hypercorn on TLS with ALPN h2, http/1.1, its certificate signed by the returned CA.
fn hypercorn_tls(test: &str) -> Option<(Peer, crate::tls::TestPki)> {
    let pki = crate::tls::pki(&["localhost"]);
    let peer = start_peer_with(
        test,
        Runtime::Python,
        "python_hypercorn_h2.py",
        PROBE,
        &[
            pki.server_cert_file.as_os_str(),
            pki.server_key_file.as_os_str(),
        ],
    )?;
    Some((peer, pki))
}

fn request(url: String, version: HttpVersion) -> ConnectRequest {
    let mut req = ConnectRequest::new(url);
    req.http_version = version;
    req
}

/// Sends `command` once open, closes after the first data message back: the transcript.
async fn exchange(req: ConnectRequest, command: Command) -> crate::servers::Transcript {
    let (handle, mut events) = start(req);
    collect(&mut events, move |event, _| match event {
        EventKind::State(ConnState::Open) => {
            handle.send(command.clone());
        }
        EventKind::Message(m) if m.direction == Direction::Received && m.kind.is_data() => {
            handle.send(Command::Close {
                code: 1000,
                reason: String::new(),
            });
        }
        _ => {}
    })
    .await
}

/// One text message's answer (and the transcript).
async fn ask(
    req: ConnectRequest,
    text: &'static str,
) -> (Option<String>, crate::servers::Transcript) {
    let t = exchange(req, Command::Text(text.into())).await;
    let answer = t
        .messages
        .iter()
        .find(|m| m.direction == Direction::Received && m.kind == MessageKind::Text)
        .map(|m| String::from_utf8_lossy(&m.payload).into_owned());
    (answer, t)
}

fn assert_h2(t: &crate::servers::Transcript, mode: &str) {
    let h = t.handshake.as_ref().expect("handshake");
    assert_eq!(h.http_version(), "2", "{:?}", t.errors);
    assert_eq!(h.status, 200);
    let h2 = h.h2.as_ref().expect("the HTTP/2 side");
    assert_eq!(h2.mode, mode);
    assert_eq!(h2.stream_id, 1);
    assert!(h2.connect_enabled(), "{:?}", h2.server_settings);
    assert!(h.timings.h2_settings_ms.is_some());
    assert!(
        h2.request_headers
            .iter()
            .any(|(n, v)| n == ":protocol" && v == "websocket")
    );
    let scheme = if mode == "h2" { "https" } else { "http" };
    assert!(
        h2.request_headers
            .iter()
            .any(|(n, v)| n == ":scheme" && v == scheme),
        "{:?}",
        h2.request_headers
    );
    assert!(
        h.checks.iter().any(|c| c.name == "HTTP/2 SETTINGS"),
        "{:?}",
        h.checks
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h2c_with_prior_knowledge_carries_everything_a_websocket_does() {
    let Some(peer) = hypercorn("h2c_with_prior_knowledge_carries_everything_a_websocket_does")
    else {
        return;
    };
    let url = format!("ws://127.0.0.1:{}/echo", peer.port);
    // Text, binary, 1 MiB, a ping and its pong, a close with a code, through permessage-deflate (wsproto's).
    let t = exercise_request(request(url.clone(), HttpVersion::Http2)).await;
    assert_h2(&t, "h2c");
    assert!(
        t.handshake
            .as_ref()
            .and_then(|h| h.deflate.as_ref())
            .is_some(),
        "hypercorn agrees to permessage-deflate over HTTP/2 too"
    );
    assert!(
        t.messages
            .iter()
            .any(|m| m.direction == Direction::Received && m.compressed())
    );
    // The server saw HTTP/2; the same server over HTTP/1.1 says so too.
    let (answer, t) = ask(request(url.clone(), HttpVersion::Http2), "version").await;
    assert_eq!(answer.as_deref(), Some("http/2"), "{:?}", t.errors);
    let closed = t.closed.expect("closed");
    assert!(
        closed.clean,
        "our close completes over HTTP/2: {:?}",
        t.errors
    );
    let (answer, t) = ask(request(url, HttpVersion::Http1), "version").await;
    assert_eq!(answer.as_deref(), Some("http/1.1"), "{:?}", t.errors);
    assert_eq!(t.handshake.expect("handshake").http_version(), "1.1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wss_with_alpn_h2_selects_the_subprotocol_and_sends_the_users_headers() {
    let Some((peer, pki)) =
        hypercorn_tls("wss_with_alpn_h2_selects_the_subprotocol_and_sends_the_users_headers")
    else {
        return;
    };
    let mut req = request(
        format!("wss://localhost:{}/echo", peer.port),
        HttpVersion::Http2,
    );
    req.tls.ca_file = Some(pki.ca_file.clone());
    req.subprotocols = vec!["chat".into(), "superchat".into()];
    req.headers = vec![
        ("X-Trace-ID".into(), "abc".into()),
        ("Connection".into(), "keep-alive".into()),
    ];
    let t = exercise_request(req.clone()).await;
    assert_h2(&t, "h2");
    let h = t.handshake.as_ref().expect("handshake");
    assert_eq!(h.tls.as_ref().and_then(|t| t.alpn.as_deref()), Some("h2"));
    assert_eq!(h.subprotocol.as_deref(), Some("chat"));
    let (answer, t) = ask(req, "headers").await;
    let seen: Vec<(String, String)> =
        serde_json::from_str(&answer.expect("headers")).expect("JSON");
    assert!(
        seen.contains(&("x-trace-id".into(), "abc".into())),
        "{seen:?}"
    );
    assert!(
        seen.contains(&("sec-websocket-protocol".into(), "chat, superchat".into())),
        "{seen:?}"
    );
    // What HTTP/2 forbids was not sent (hypercorn would have refused the request).
    assert!(
        !seen
            .iter()
            .any(|(n, _)| n == "connection" || n == "upgrade" || n == "sec-websocket-key")
    );
    assert!(t.closed.expect("closed").clean);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_picks_h2_with_hypercorn_and_http1_with_python_websockets() {
    let test = "auto_picks_h2_with_hypercorn_and_http1_with_python_websockets";
    let Some((peer, pki)) = hypercorn_tls(test) else {
        return;
    };
    let mut req = request(format!("wss://localhost:{}/", peer.port), HttpVersion::Auto);
    req.tls.ca_file = Some(pki.ca_file.clone());
    let (answer, t) = ask(req, "version").await;
    assert_eq!(answer.as_deref(), Some("http/2"), "{:?}", t.errors);
    assert_h2(&t, "h2");

    // Python websockets offers no ALPN: the upgrade goes over HTTP/1.1 on the same connection, no warning.
    let pki = crate::tls::pki(&["localhost"]);
    let Some(websockets) = start_peer_with(
        test,
        Runtime::Python,
        "python_websockets_echo.py",
        &["-c", "import websockets"],
        &[
            pki.server_cert_file.as_os_str(),
            pki.server_key_file.as_os_str(),
        ],
    ) else {
        return;
    };
    let mut req = request(
        format!("wss://localhost:{}/", websockets.port),
        HttpVersion::Auto,
    );
    req.tls.ca_file = Some(pki.ca_file.clone());
    req.subprotocols = vec!["chat.v2".into()];
    let (answer, t) = ask(req.clone(), "hello").await;
    assert_eq!(answer.as_deref(), Some("hello"), "{:?}", t.errors);
    let h = t.handshake.expect("handshake");
    assert_eq!((h.http_version(), h.status), ("1.1", 101));
    assert!(h.warnings.is_empty(), "{:?}", h.warnings);
    // Asked for HTTP/2 only, the same server is refused in words.
    req.http_version = HttpVersion::Http2;
    let (_, t) = ask(req, "hello").await;
    assert!(!t.opened);
    let message = &t.errors.first().expect("an error").message;
    assert!(
        message.contains("ALPN") && message.contains("not h2"),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_connect_shows_its_status_and_body_and_auto_does_not_retry() {
    let Some((peer, pki)) =
        hypercorn_tls("a_refused_connect_shows_its_status_and_body_and_auto_does_not_retry")
    else {
        return;
    };
    let url = format!("wss://localhost:{}/refuse", peer.port);
    let ca = pki.ca_file.to_string_lossy().into_owned();
    let out = cli_async(vec![
        "connect".into(),
        url.clone(),
        "--http".into(),
        "2".into(),
        "--ca".into(),
        ca.clone(),
        "--json".into(),
    ])
    .await;
    assert_eq!(out.status.code(), Some(3), "the handshake never completed");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let handshake: serde_json::Value = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["event"] == "handshake")
        .expect("a handshake event");
    assert_eq!(handshake["http_version"], "2");
    assert_eq!(handshake["status"], 403);
    assert_eq!(handshake["response"]["body"]["text"], "no entry here");
    assert_eq!(handshake["h2"]["response_headers"][0][0], ":status");
    assert!(stdout.contains("instead of 200"), "{stdout}");

    // auto: a refusal over HTTP/2 is the server's answer (no second try over HTTP/1.1, as browsers do).
    let mut req = request(url, HttpVersion::Auto);
    req.tls.ca_file = Some(pki.ca_file.clone());
    let (_, t) = ask(req.clone(), "x").await;
    let h = t.handshake.expect("handshake");
    assert_eq!((h.http_version(), h.status), ("2", 403));
    assert!(
        !h.warnings.iter().any(|w| w.contains("fell back")),
        "{:?}",
        h.warnings
    );
    // The same refusal over HTTP/1.1: hypercorn sends the body chunked; it reads without its chunk sizes.
    req.http_version = HttpVersion::Http1;
    let (_, t) = ask(req, "x").await;
    let h = t.handshake.expect("handshake");
    assert_eq!((h.http_version(), h.status), ("1.1", 403));
    assert_eq!(h.response_body, b"no entry here");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixteen_mib_pass_through_a_small_window_both_ways() {
    let Some(peer) = hypercorn("sixteen_mib_pass_through_a_small_window_both_ways") else {
        return;
    };
    let mut req = request(format!("ws://127.0.0.1:{}/", peer.port), HttpVersion::Http2);
    // Our window is 16 KiB (hypercorn's toward us is 64 KiB): a thousand window updates each way.
    req.h2_window_bytes = 16 * 1024;
    req.deflate.enabled = false;
    let big: Vec<u8> = (0..(16u32 << 20)).map(|i| (i % 253) as u8).collect();
    let t = exchange(req, Command::Binary(big.clone())).await;
    assert_h2(&t, "h2c");
    let back = t
        .messages
        .iter()
        .find(|m| m.direction == Direction::Received && m.kind == MessageKind::Binary)
        .expect("the message came back");
    assert!(back.payload[..] == big[..], "16 MiB intact");
    let h2 = t
        .handshake
        .as_ref()
        .and_then(|h| h.h2.as_ref())
        .expect("h2");
    assert!(
        h2.our_settings.contains(&(4, 16 * 1024)),
        "our SETTINGS as sent: {:?}",
        h2.our_settings
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_connection_streams_close_one_by_one() {
    let Some(peer) = hypercorn("shared_connection_streams_close_one_by_one") else {
        return;
    };
    let mut req = request(
        format!("ws://127.0.0.1:{}/shared-{}", peer.port, std::process::id()),
        HttpVersion::Http2,
    );
    req.h2_share = true;
    let req_again = req.clone();
    let (first, mut first_events) = start(req.clone());
    let mut opened = None;
    while let Some(e) = first_events.recv().await {
        match e.kind {
            EventKind::Handshake(h) => opened = Some(h),
            EventKind::State(ConnState::Open) => break,
            EventKind::Closed(c) => panic!("closed: {c:?}"),
            _ => {}
        }
    }
    let h = opened.expect("handshake");
    let h2 = h.h2.as_ref().expect("h2");
    assert!(!h2.reused);
    let first_stream = h2.stream_id;
    // The second WebSocket opens a stream on the first one's connection.
    let (second, mut second_events) = start(req);
    let mut second_handshake = None;
    while let Some(e) = second_events.recv().await {
        match e.kind {
            EventKind::Handshake(h) => second_handshake = Some(h),
            EventKind::State(ConnState::Open) => break,
            EventKind::Closed(c) => panic!("closed: {c:?}"),
            _ => {}
        }
    }
    let h = second_handshake.expect("handshake");
    let h2 = h.h2.as_ref().expect("h2");
    assert!(h2.reused);
    assert!(
        h2.stream_id > first_stream,
        "{} after {first_stream}",
        h2.stream_id
    );
    assert_eq!(h.timings.tcp_ms, None, "no new TCP connection");
    // Closing the first leaves the second open.
    first.send(Command::Close {
        code: 1000,
        reason: String::new(),
    });
    let t = collect(&mut first_events, |_, _| {}).await;
    assert!(t.closed.expect("closed").clean);
    tokio::time::sleep(Duration::from_millis(100)).await;
    second.send(Command::Text("still here".into()));
    let t = collect(&mut second_events, move |event, _| {
        if let EventKind::Message(m) = event
            && m.direction == Direction::Received
        {
            second.send(Command::Close {
                code: 1000,
                reason: String::new(),
            });
        }
    })
    .await;
    assert!(
        t.messages
            .iter()
            .any(|m| m.direction == Direction::Received && &m.payload[..] == b"still here"),
        "{:?}",
        t.errors
    );
    // With the last WebSocket on it closed, the connection is let go: the next one makes its own.
    let (third, mut third_events) = start(req_again);
    let t = collect(&mut third_events, move |event, _| {
        if let EventKind::State(ConnState::Open) = event {
            third.send(Command::Close {
                code: 1000,
                reason: String::new(),
            });
        }
    })
    .await;
    let h = t.handshake.expect("handshake");
    let h2 = h.h2.as_ref().expect("h2");
    assert!(!h2.reused, "a new connection");
    assert_eq!(h2.stream_id, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_reports_the_http2_side() {
    let Some(peer) = hypercorn("the_cli_reports_the_http2_side") else {
        return;
    };
    let url = format!("ws://127.0.0.1:{}/", peer.port);
    let out = cli_async(vec![
        "connect".into(),
        url.clone(),
        "--http".into(),
        "2".into(),
        "--json".into(),
        "--send".into(),
        "version".into(),
        "--count".into(),
        "1".into(),
    ])
    .await;
    assert_eq!(out.status.code(), Some(0));
    let events: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let h = events
        .iter()
        .find(|v| v["event"] == "handshake")
        .expect("handshake");
    assert_eq!(h["http_version"], "2");
    assert_eq!(h["status"], 200);
    assert_eq!(h["h2"]["stream_id"], 1);
    assert_eq!(h["h2"]["settings"]["SETTINGS_ENABLE_CONNECT_PROTOCOL"], 1);
    assert_eq!(
        h["h2"]["request_headers"][0],
        serde_json::json!([":method", "CONNECT"])
    );
    assert_eq!(
        h["h2"]["request_headers"][1],
        serde_json::json!([":protocol", "websocket"])
    );
    assert!(h["timings_ms"]["h2_settings"].is_number());
    assert!(
        events
            .iter()
            .any(|v| v["event"] == "message" && v["text"] == "http/2")
    );
    let plain = cli_async(vec![
        "connect".into(),
        url.clone(),
        "--http".into(),
        "2".into(),
        "--no-deflate".into(),
        "--send".into(),
        "hi".into(),
        "--count".into(),
        "1".into(),
    ])
    .await;
    let stderr = String::from_utf8_lossy(&plain.stderr);
    assert!(stderr.contains("(HTTP/2 200) in "), "{stderr}");
    // HTTP/1.1 stays the default, with "http_version":"1.1".
    let out = cli_async(vec![
        "connect".into(),
        url,
        "--json".into(),
        "--send".into(),
        "version".into(),
        "--count".into(),
        "1".into(),
    ])
    .await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("\"http_version\":\"1.1\""), "{stdout}");
    assert!(stdout.contains("\"text\":\"http/1.1\""), "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h2c_to_a_server_that_speaks_only_http1_says_so() {
    let Some(peer) = start_peer_with(
        "h2c_to_a_server_that_speaks_only_http1_says_so",
        Runtime::Python,
        "python_websockets_echo.py",
        &["-c", "import websockets"],
        &[] as &[&OsStr],
    ) else {
        return;
    };
    let (_, t) = ask(
        request(format!("ws://127.0.0.1:{}/", peer.port), HttpVersion::Http2),
        "x",
    )
    .await;
    assert!(!t.opened);
    let message = &t.errors.first().expect("an error").message;
    assert!(message.contains("h2c"), "{message}");
}

mod h2_servers {
    //! Servers on the `h2` crate's server side, for what hypercorn does not do on demand.
    use super::*;
    use bytes::Bytes;
    use tokio::net::TcpListener;

    #[derive(Clone, Copy)]
    pub enum Misbehaviour {
        /// SETTINGS without SETTINGS_ENABLE_CONNECT_PROTOCOL.
        NoConnectProtocol,
        /// Accepts, then resets the stream with ENHANCE_YOUR_CALM on the first DATA.
        ResetOnData,
        /// Accepts, then sends GOAWAY INTERNAL_ERROR on the first DATA.
        GoAwayOnData,
        /// Accepts, then starts a graceful shutdown (GOAWAY NO_ERROR) on the first DATA, serving open streams on.
        GracefulGoAwayOnData,
    }

    pub async fn start(how: Misbehaviour) -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                tokio::spawn(serve(tcp, how));
            }
        });
        port
    }

    /// Like nginx and many proxies: HTTP/2 through ALPN, without the extended CONNECT, and WebSockets over
    /// HTTP/1.1 (a tungstenite echo) when ALPN chose http/1.1.
    pub async fn start_tls_without_connect(pki: &crate::tls::TestPki) -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let acceptor =
            tokio_rustls::TlsAcceptor::from(pki.server_config_with_alpn(&[b"h2", b"http/1.1"]));
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    if tls.get_ref().1.alpn_protocol() == Some(b"h2") {
                        let Ok(mut conn) =
                            h2::server::Builder::new().handshake::<_, Bytes>(tls).await
                        else {
                            return;
                        };
                        while let Some(Ok(_)) = conn.accept().await {}
                        return;
                    }
                    use futures_util::{SinkExt, StreamExt};
                    let Ok(mut ws) = tokio_tungstenite::accept_async(tls).await else {
                        return;
                    };
                    while let Some(Ok(m)) = ws.next().await {
                        if m.is_text() && ws.send(m).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        port
    }

    async fn serve(tcp: tokio::net::TcpStream, how: Misbehaviour) {
        let mut builder = h2::server::Builder::new();
        if !matches!(how, Misbehaviour::NoConnectProtocol) {
            builder.enable_connect_protocol();
        }
        let Ok(mut conn) = builder.handshake::<_, Bytes>(tcp).await else {
            return;
        };
        let (goaway, mut go) = tokio::sync::mpsc::channel::<()>(1);
        loop {
            tokio::select! {
                next = conn.accept() => {
                    let Some(Ok((request, respond))) = next else { break };
                    tokio::spawn(answer(request, respond, how, goaway.clone()));
                }
                _ = go.recv() => {
                    if matches!(how, Misbehaviour::GracefulGoAwayOnData) {
                        conn.graceful_shutdown();
                    } else {
                        conn.abrupt_shutdown(h2::Reason::INTERNAL_ERROR);
                        break;
                    }
                }
            }
        }
        let _ = std::future::poll_fn(|cx| conn.poll_closed(cx)).await;
    }

    async fn answer(
        request: http::Request<h2::RecvStream>,
        mut respond: h2::server::SendResponse<Bytes>,
        how: Misbehaviour,
        goaway: tokio::sync::mpsc::Sender<()>,
    ) {
        let response = http::Response::builder()
            .status(200)
            .body(())
            .expect("response");
        let Ok(mut send) = respond.send_response(response, false) else {
            return;
        };
        let mut body = request.into_body();
        if let Some(Ok(_)) = body.data().await {
            match how {
                Misbehaviour::ResetOnData => send.send_reset(h2::Reason::ENHANCE_YOUR_CALM),
                Misbehaviour::GoAwayOnData | Misbehaviour::GracefulGoAwayOnData => {
                    let _ = goaway.send(()).await;
                }
                Misbehaviour::NoConnectProtocol => {}
            }
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_without_the_extended_connect_are_refused_in_words() {
    let port = h2_servers::start(h2_servers::Misbehaviour::NoConnectProtocol).await;
    let (_, t) = ask(
        request(format!("ws://127.0.0.1:{port}/"), HttpVersion::Http2),
        "x",
    )
    .await;
    assert!(!t.opened);
    let message = &t.errors.first().expect("an error").message;
    assert!(
        message.contains("SETTINGS_ENABLE_CONNECT_PROTOCOL"),
        "{message}"
    );
    let h = t
        .handshake
        .unwrap_or_else(|| panic!("a handshake: {:?}", t.errors));
    let check = h
        .checks
        .iter()
        .find(|c| c.name == "HTTP/2 SETTINGS")
        .expect("the check");
    assert_eq!(check.outcome, sockscope::model::CheckOutcome::Fail);
    assert!(!h.h2.expect("h2").connect_enabled());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_stream_and_a_goaway_are_said_in_words() {
    for (how, words) in [
        (
            h2_servers::Misbehaviour::ResetOnData,
            "reset the HTTP/2 stream 1: RST_STREAM ENHANCE_YOUR_CALM (0xb)",
        ),
        (
            h2_servers::Misbehaviour::GoAwayOnData,
            "closed the HTTP/2 connection: GOAWAY INTERNAL_ERROR (0x2)",
        ),
    ] {
        let port = h2_servers::start(how).await;
        let mut req = request(format!("ws://127.0.0.1:{port}/"), HttpVersion::Http2);
        req.deflate.enabled = false;
        let (handle, mut events) = start(req);
        let t = collect(&mut events, move |event, _| {
            if let EventKind::State(ConnState::Open) = event {
                handle.send(Command::Text("trigger".into()));
            }
        })
        .await;
        assert!(t.opened, "{:?}", t.errors);
        assert!(
            t.errors.iter().any(|e| e.message.contains(words)),
            "{words}: {:?}",
            t.errors
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_falls_back_to_http1_when_h2_has_no_extended_connect() {
    let pki = crate::tls::pki(&["localhost"]);
    let port = h2_servers::start_tls_without_connect(&pki).await;
    let mut req = request(format!("wss://localhost:{port}/"), HttpVersion::Auto);
    req.tls.ca_file = Some(pki.ca_file.clone());
    let (answer, t) = ask(req.clone(), "over HTTP/1.1").await;
    assert_eq!(answer.as_deref(), Some("over HTTP/1.1"), "{:?}", t.errors);
    let h = t.handshake.expect("handshake");
    assert_eq!((h.http_version(), h.status), ("1.1", 101));
    assert_eq!(
        h.tls.as_ref().and_then(|t| t.alpn.as_deref()),
        Some("http/1.1"),
        "the fresh connection offered HTTP/1.1 only"
    );
    let warning = h
        .warnings
        .iter()
        .find(|w| w.contains("fell back to HTTP/1.1"))
        .unwrap_or_else(|| panic!("{:?}", h.warnings));
    assert!(
        warning.contains("SETTINGS_ENABLE_CONNECT_PROTOCOL"),
        "{warning}"
    );
    // Asked for HTTP/2, the same server is refused with the reason.
    req.http_version = HttpVersion::Http2;
    let (_, t) = ask(req, "x").await;
    assert!(!t.opened);
    assert!(
        t.errors[0]
            .message
            .contains("SETTINGS_ENABLE_CONNECT_PROTOCOL"),
        "{:?}",
        t.errors
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_saved_with_http2_replays_over_http2() {
    let Some(peer) = hypercorn("a_session_saved_with_http2_replays_over_http2") else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("h2.ron");
    std::fs::write(
        &file,
        r#"Session(
  format_version: 1,
  name: "over HTTP/2",
  endpoint: Endpoint(url: "ws://127.0.0.1:1/", http_version: "2"),
  collection: [
    Step(Step(
      name: "the server saw HTTP/2",
      payload: Text("version"),
      expect: [Expectation(matcher: Equals("http/2"), timeout_ms: 3000)],
    )),
    Step(Step(
      name: "binary echo",
      payload: Hex("de ad be ef"),
      expect: [Expectation(matcher: Bytes("deadbeef"), timeout_ms: 3000)],
    )),
  ],
)"#,
    )
    .expect("write");
    let out = cli_async(vec![
        "run".into(),
        file.display().to_string(),
        "--url".into(),
        format!("ws://127.0.0.1:{}/", peer.port),
    ])
    .await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("2 of 2 steps passed"), "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frames_are_observed_inside_the_stream() {
    let Some(peer) = hypercorn("frames_are_observed_inside_the_stream") else {
        return;
    };
    let out = cli_async(vec![
        "connect".into(),
        format!("ws://127.0.0.1:{}/", peer.port),
        "--http".into(),
        "2".into(),
        "--json".into(),
        "--frames".into(),
        "--send".into(),
        "framed".into(),
        "--count".into(),
        "1".into(),
    ])
    .await;
    let frames: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["event"] == "frame")
        .collect();
    // Our masked, compressed text frame, and the server's unmasked answer, as WebSocket frames (not DATA frames).
    assert!(
        frames.iter().any(|f| f["direction"] == "sent"
            && f["opcode"] == "text"
            && f["masked"] == true
            && f["rsv1"] == true),
        "{frames:?}"
    );
    assert!(
        frames
            .iter()
            .any(|f| f["direction"] == "received" && f["opcode"] == "text" && f["masked"] == false),
        "{frames:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shared_connection_that_got_goaway_is_not_used_again() {
    let port = h2_servers::start(h2_servers::Misbehaviour::GracefulGoAwayOnData).await;
    let mut req = request(format!("ws://127.0.0.1:{port}/"), HttpVersion::Http2);
    req.h2_share = true;
    req.deflate.enabled = false;
    let (first, mut first_events) = start(req.clone());
    loop {
        match first_events.recv().await.expect("events").kind {
            EventKind::State(ConnState::Open) => break,
            EventKind::Closed(c) => panic!("closed: {c:?}"),
            _ => {}
        }
    }
    first.send(Command::Text("goaway, please".into()));
    // The server's GOAWAY comes back on loopback well within this.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (second, mut second_events) = start(req);
    let t = collect(&mut second_events, move |event, _| {
        if let EventKind::State(ConnState::Open) = event {
            second.send(Command::Abort);
        }
    })
    .await;
    assert!(t.opened, "{:?}", t.errors);
    let h = t.handshake.expect("handshake");
    let h2 = h.h2.as_ref().expect("h2");
    assert!(
        !h2.reused,
        "the connection after GOAWAY takes no new stream: a fresh one"
    );
    assert_eq!(h2.stream_id, 1);
    first.send(Command::Abort);
}
