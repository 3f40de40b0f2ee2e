//! Regressions found from outside (issue 12): each test is named after what broke, and failed before its fix.

use crate::servers::{self, collect, start};
use sockscope::engine::Command;
use sockscope::engine::echo::EchoServer;
use sockscope::model::{ConnectRequest, Direction, MessageKind, Stage};
use std::time::Duration;
use tokio::io::AsyncWriteExt;

use crate::servers::args;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn count_stops_printing_at_n_even_inside_a_burst() {
    // 1,000 small messages written in one go: they arrive in a handful of reads, so in bursts.
    let server = EchoServer::flood(1000, 16).await.expect("flood server");
    let url = server.url();
    let out = servers::cli_async(args(&["connect", &url, "--count", "3"])).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout.lines().count(), 3, "plain output: {stdout}");
    assert!(stdout.starts_with("0xxx"), "{stdout}");

    let out = servers::cli_async(args(&["connect", &url, "--count", "3", "--json"])).await;
    assert_eq!(out.status.code(), Some(0));
    let received = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["event"] == "message" && v["direction"] == "received" && v["kind"] == "text")
        .count();
    assert_eq!(received, 3, "--json prints three received messages");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn absurd_numbers_in_flags_are_usage_errors_not_panics() {
    for bad in [
        vec!["connect", "ws://127.0.0.1:9/", "--wait", "1e20"],
        vec!["connect", "ws://127.0.0.1:9/", "--ping-interval", "1e300"],
        vec!["connect", "ws://127.0.0.1:9/", "--pong-timeout", "1e300"],
        vec!["connect", "ws://127.0.0.1:9/", "--connect-timeout", "1e20"],
        vec!["connect", "ws://127.0.0.1:9/", "--wait", "NaN"],
        vec!["serve", "--flood", "1", "--size", "99999999999999"],
    ] {
        let out = servers::cli_async(args(&bad)).await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{bad:?}: {stderr}");
        assert!(stderr.contains("error:"), "{bad:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{bad:?}: {stderr}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_keepalive_intervals_from_a_session_do_not_panic() {
    let server = servers::echo().await;
    let mut req = ConnectRequest::new(server.url());
    req.keepalive.ping_interval_millis = Some(u64::MAX);
    req.keepalive.pong_timeout_millis = Some(u64::MAX);
    let t = servers::echo_once_with(req, "still here").await;
    assert!(
        t.errors.iter().all(|e| e.stage != Stage::Internal),
        "{:?}",
        t.errors
    );
    assert!(t.closed.is_some_and(|c| c.clean), "{:?}", t.errors);
}

/// A close reply can come back within microseconds on loopback; ours must still be logged first, every time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_close_is_logged_before_the_servers_reply() {
    let server = servers::echo().await;
    for round in 0..60 {
        let (handle, mut events) = start(ConnectRequest::new(server.url()));
        let t = collect(&mut events, |kind, _| {
            if matches!(
                kind,
                sockscope::engine::EventKind::State(sockscope::model::ConnState::Open)
            ) {
                handle.send(Command::Close {
                    code: 1000,
                    reason: "bye".into(),
                });
            }
        })
        .await;
        let closes: Vec<Direction> = t
            .messages
            .iter()
            .filter(|m| m.kind == MessageKind::Close)
            .map(|m| m.direction)
            .collect();
        assert_eq!(
            closes,
            [Direction::Sent, Direction::Received],
            "round {round}"
        );
    }
}

async fn offending(frames: &'static [u8]) -> sockscope::model::LogEntry {
    let (addr, _seen) = servers::raw_101_then(frames).await;
    let (_h, mut events) = start(ConnectRequest::new(format!("ws://{addr}/")));
    let t = collect(&mut events, |_, _| {}).await;
    let bad: Vec<_> = t
        .messages
        .iter()
        .filter(|m| m.extra.as_ref().is_some_and(|x| x.violation))
        .collect();
    assert_eq!(bad.len(), 1, "one red row: {:?}", t.messages);
    let ours = t
        .messages
        .iter()
        .position(|m| m.direction == Direction::Sent && m.kind == MessageKind::Close);
    let theirs = t
        .messages
        .iter()
        .position(|m| m.extra.as_ref().is_some_and(|x| x.violation));
    assert!(theirs < ours, "the offending frame comes before our close");
    bad[0].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_frame_behind_a_protocol_violation_is_logged_with_its_header() {
    // RSV1 on the second frame: the first is fine and must not be blamed.
    let rsv = offending(&[0x81, 0x02, b'o', b'k', 0xC1, 0x03, b'b', b'a', b'd']).await;
    assert_eq!(rsv.direction, Direction::Received);
    assert_eq!(&rsv.payload[..], b"bad");
    let note = rsv
        .extra
        .as_ref()
        .and_then(|x| x.note.clone())
        .unwrap_or_default();
    assert!(note.contains("RSV1"), "{note}");
    assert!(note.contains("payload length 3"), "{note}");

    // A masked frame from the server: the bytes as they were on the wire.
    let masked = offending(&[0x82, 0x82, 1, 2, 3, 4, 0x10, 0x20]).await;
    assert_eq!(masked.kind, MessageKind::Binary);
    let note = masked
        .extra
        .as_ref()
        .and_then(|x| x.note.clone())
        .unwrap_or_default();
    assert!(note.contains("masked"), "{note}");

    // Invalid UTF-8 in a text frame.
    let utf8 = offending(&[0x81, 0x02, 0xff, 0xfe]).await;
    assert_eq!(
        (utf8.kind, &utf8.payload[..]),
        (MessageKind::Text, &[0xff, 0xfe][..])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_certificate_shows_the_chain_and_the_stage_in_the_handshake() {
    let pki = crate::tls::pki(&["localhost"]);
    let addr = crate::tls::wss_echo(&pki).await;
    // No CA file: the test CA is unknown.
    let req = ConnectRequest::new(format!("wss://localhost:{}/", addr.port()));
    let (_h, mut events) = start(req);
    let t = collect(&mut events, |_, _| {}).await;
    assert_eq!(t.errors.first().map(|e| e.stage), Some(Stage::Tls));
    let handshake = t
        .handshake
        .expect("the handshake tab has something to show");
    let tls = handshake.tls.expect("TLS facts of the failed handshake");
    assert!(
        tls.failure
            .as_deref()
            .is_some_and(|f| f.contains("not trusted")),
        "{tls:?}"
    );
    assert!(tls.certificate_refused);
    assert!(!tls.certificates.is_empty(), "the chain the server sent");
    assert!(
        tls.certificates[0].sans.iter().any(|n| n == "localhost"),
        "{:?}",
        tls.certificates
    );
    assert_eq!(
        tls.certificates[0].sha256.len(),
        95,
        "a SHA-256 fingerprint"
    );
}

/// Peak resident memory of a process, from /proc.
fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// A server that floods binary messages and never reads what it is sent. Returns its address and the bytes it
/// managed to write before TCP stopped it (sent on `written` when it gives up: 2 s without progress, or 300 MB).
async fn flood_never_reading() -> (std::net::SocketAddr, tokio::sync::oneshot::Receiver<u64>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (tx, rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let Ok((mut stream, _)) = listener.accept().await else {
            return;
        };
        let Some(accept) = servers::read_upgrade_request(&mut stream).await else {
            return;
        };
        let head = format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: {accept}\r\n\r\n"
        );
        if stream.write_all(head.as_bytes()).await.is_err() {
            return;
        }
        // 64 messages of 16 KiB per write.
        let mut chunk = Vec::new();
        for _ in 0..64 {
            chunk.extend([0x82, 126, 0x40, 0x00]);
            chunk.extend(std::iter::repeat_n(b'x', 16 * 1024));
        }
        let mut written = 0u64;
        while written < 300_000_000 {
            match tokio::time::timeout(Duration::from_secs(2), stream.write_all(&chunk)).await {
                Ok(Ok(())) => written += chunk.len() as u64,
                _ => break,
            }
        }
        let _ = tx.send(written);
        // Hold the connection open (still not reading) while the test looks at the client.
        tokio::time::sleep(Duration::from_secs(5)).await;
    });
    (addr, rx)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echo_against_a_flood_that_never_reads_stays_bounded() {
    let (addr, written) = flood_never_reading().await;
    let mut child = servers::sockscope_command()
        .args(["connect", &format!("ws://{addr}/"), "--echo"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("sockscope runs");
    let pid = child.id();
    let written = tokio::time::timeout(Duration::from_secs(120), written)
        .await
        .expect("the flood ends within 2 minutes")
        .expect("the server reports");
    let peak_kib = peak_rss_kib(pid).expect("VmHWM");
    let _ = child.kill();
    let _ = child.wait();
    eprintln!(
        "connect --echo peak {} MiB; the server wrote {} MB before TCP slowed it",
        peak_kib / 1024,
        written / 1_000_000
    );
    assert!(
        written < 300_000_000,
        "TCP stopped the sender: it wrote {written} bytes, all of them"
    );
    assert!(
        peak_kib < 128 * 1024,
        "peak resident memory {} MiB (the server wrote {} MB before it was slowed)",
        peak_kib / 1024,
        written / 1_000_000
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_of_echo_messages_over_the_budget_still_arrives_whole() {
    // The budget slows a sender; it never drops: 40 MiB through an echo server in 1 MiB messages.
    let server = servers::echo().await;
    let (handle, mut events) = start(ConnectRequest::new(server.url()));
    let mut received = 0usize;
    while let Some(event) = events.recv().await {
        match event.kind {
            sockscope::engine::EventKind::State(sockscope::model::ConnState::Open) => {
                let handle = handle.clone();
                tokio::spawn(async move {
                    for _ in 0..40 {
                        assert!(
                            handle
                                .send_within_budget(Command::Binary(vec![7; 1 << 20]))
                                .await
                        );
                    }
                });
            }
            sockscope::engine::EventKind::Message(m)
                if m.direction == Direction::Received && m.kind == MessageKind::Binary =>
            {
                received += 1;
                if received == 40 {
                    handle.send(Command::Close {
                        code: 1000,
                        reason: String::new(),
                    });
                }
            }
            sockscope::engine::EventKind::Closed(_) => break,
            _ => {}
        }
    }
    assert_eq!(received, 40);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_self_signed_certificate_is_called_self_signed_not_a_bad_signature() {
    use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).expect("params");
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "localhost");
    let key = rcgen::KeyPair::generate().expect("key");
    let cert = params.self_signed(&key).expect("self-signed");
    let key_der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(vec![cert.der().clone()], key_der)
        .expect("server config");
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let _ = acceptor.accept(stream).await;
        }
    });
    let (_h, mut events) = start(ConnectRequest::new(format!("wss://localhost:{port}/")));
    let t = collect(&mut events, |_, _| {}).await;
    let error = t.errors.first().expect("an error");
    assert_eq!(error.stage, Stage::Tls);
    assert!(error.message.contains("self-signed"), "{error}");
    let tls = t.handshake.and_then(|h| h.tls).expect("TLS facts");
    assert!(tls.certificate_refused);
    assert_eq!(tls.certificates.len(), 1);
}

/// A message too big to leave in one poll (the flush waits for the peer to read) used to be sent but never logged:
/// the report was taken, and dropped, by the first flush that had to wait.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_whose_flush_waits_is_still_logged() {
    let server = servers::echo().await;
    let req = ConnectRequest::new(server.url());
    let t = servers::send_once_with(req, Command::Binary(vec![1; 16 << 20])).await;
    let sent: Vec<usize> = t
        .messages
        .iter()
        .filter(|m| m.direction == Direction::Sent && m.kind == MessageKind::Binary)
        .map(|m| m.payload.len())
        .collect();
    assert_eq!(sent, [16 << 20], "the 16 MiB message is in the log");
}
