//! Servers the tests start on loopback: our echo server, scripted tokio-tungstenite servers, and raw TCP servers
//! that answer with crafted bytes.

use futures_util::{SinkExt, StreamExt};
use sockscope::engine::echo::EchoServer;
use sockscope::engine::{EventKind, EventStream, Overflow, events};
use sockscope::model::{CloseInfo, ConnectRequest, HandshakeInfo, LogEntry, StageError};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

/// Listens on a free loopback port and runs `handle` on each accepted connection, in a task of its own.
async fn serve_each<F, Fut>(handle: F) -> SocketAddr
where
    F: Fn(tokio::net::TcpStream) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(handle(stream));
        }
    });
    addr
}

/// Our echo server on a free loopback port.
pub async fn echo() -> EchoServer {
    EchoServer::start(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .expect("bind echo server")
}

/// A port on which nothing listens — and nothing else can start listening while the tests run: the port is
/// bound by a socket that never listens (so connections are refused) and is kept for the whole run.
pub fn refused_port() -> u16 {
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket
        .bind("127.0.0.1:0".parse().expect("addr"))
        .expect("bind");
    let port = socket.local_addr().expect("addr").port();
    std::mem::forget(socket);
    port
}

/// [`refused_port`], for async tests.
pub async fn closed_port() -> u16 {
    refused_port()
}

/// A tokio-tungstenite server that sends `greeting` to each client, then closes with `code` and `reason`.
pub async fn greet_then_close(
    greeting: &'static str,
    code: u16,
    reason: &'static str,
) -> SocketAddr {
    serve_each(move |stream| {
        async move {
            let mut ws = tokio_tungstenite::accept_async(stream)
                .await
                .expect("accept");
            ws.send(Message::text(greeting))
                .await
                .expect("send greeting");
            ws.send(Message::Close(Some(CloseFrame {
                code: CloseCode::from(code),
                reason: reason.into(),
            })))
            .await
            .expect("send close");
            // Read until the client's reply completes the close handshake.
            while let Some(Ok(_)) = ws.next().await {}
        }
    })
    .await
}

/// A tokio-tungstenite server that sends one message and then drops the TCP connection without a close frame.
pub async fn send_then_drop() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let mut ws = tokio_tungstenite::accept_async(stream)
                .await
                .expect("accept");
            ws.send(Message::text("bye, abruptly")).await.expect("send");
            tokio::time::sleep(Duration::from_millis(50)).await;
            drop(ws);
        }
    });
    addr
}

/// A raw TCP server that reads the request head and answers with `response` bytes, then closes.
pub async fn raw_http(response: &'static [u8]) -> SocketAddr {
    serve_each(move |mut stream| async move {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 1024];
        while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        let _ = stream.write_all(response).await;
        let _ = stream.shutdown().await;
    })
    .await
}

/// A TCP server that accepts and never says anything.
pub async fn silent() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    addr
}

/// Everything one connection reported, in order.
#[derive(Default, Debug)]
pub struct Transcript {
    pub handshake: Option<Box<HandshakeInfo>>,
    pub messages: Vec<LogEntry>,
    pub errors: Vec<StageError>,
    pub closed: Option<CloseInfo>,
    pub opened: bool,
}

/// Starts a connection in the engine and returns its handle plus the event stream. The request never takes a
/// proxy from the environment (see [`ENVIRONMENT`]): a test that wants a proxy names it.
pub fn start(mut req: ConnectRequest) -> (sockscope::engine::ConnectionHandle, EventStream) {
    req.proxy_from_env = false;
    let (sink, stream) = events::channel(16 << 20, Overflow::Wait, None);
    let (handle, _task) = sockscope::engine::spawn_connection(req, sink);
    (handle, stream)
}

/// Collects events until `Closed`, calling `on_event` after each so a test can react (send, close, …).
pub async fn collect(
    events: &mut EventStream,
    mut on_event: impl FnMut(&EventKind, &Transcript),
) -> Transcript {
    let mut t = Transcript::default();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let event = tokio::time::timeout_at(deadline, events.recv())
            .await
            .expect("the connection ends within 20 s")
            .expect("a Closed event before the stream ends");
        on_event(&event.kind, &t);
        match event.kind {
            EventKind::State(sockscope::model::ConnState::Open) => t.opened = true,
            EventKind::State(_) => {}
            EventKind::Handshake(h) => t.handshake = Some(h),
            EventKind::Message(m) => t.messages.push(m),
            EventKind::Error(e) => t.errors.push(e),
            EventKind::Closed(c) => {
                t.closed = Some(c);
                return t;
            }
            EventKind::Reconnecting { .. } | EventKind::GaveUp { .. } | EventKind::Frames(_) => {}
        }
    }
}

/// A raw server that completes the upgrade by hand with `Connection: keep-alive, Upgrade` and no subprotocol,
/// writes a text frame "hi" and a close frame (1000) in the same packet as the 101 head, then waits for our
/// close reply.
pub async fn raw_101_token_list() -> SocketAddr {
    serve_each(move |mut stream| {
        async move {
                let Some(accept) = read_upgrade_request(&mut stream).await else {
                    return;
                };
                let mut chunk = [0u8; 1024];
                let mut out = format!(
                    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: WebSocket\r\nConnection: keep-alive, Upgrade\r\n\
                     Sec-WebSocket-Accept: {accept}\r\nX-Custom-Case: Kept\r\n\r\n"
                )
                .into_bytes();
                out.extend_from_slice(&[0x81, 0x02, b'h', b'i', 0x88, 0x02, 0x03, 0xe8]);
                let _ = stream.write_all(&out).await;
                // Wait for the client's masked close frame, then hang up.
                let _ = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut chunk)).await;
        }
    })
    .await
}

/// What a test proxy saw.
pub type ProxyLog = std::sync::Arc<std::sync::Mutex<Vec<String>>>;

/// An HTTP CONNECT proxy on loopback. With `credentials`, it answers 407 unless they are given.
pub async fn http_proxy(
    credentials: Option<(&'static str, &'static str)>,
) -> (SocketAddr, ProxyLog) {
    use base64::Engine as _;
    let log: ProxyLog = Default::default();
    let seen = log.clone();
    let addr = serve_each(move |mut client| {
            let seen = seen.clone();
        async move {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    match client.read(&mut byte).await {
                        Ok(1) => head.push(byte[0]),
                        _ => return,
                    }
                }
                let text = String::from_utf8_lossy(&head).into_owned();
                seen.lock().expect("log").push(text.clone());
                if let Some((user, pass)) = credentials {
                    let token =
                        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
                    if !text.contains(&format!("Proxy-Authorization: Basic {token}")) {
                        let _ = client
                            .write_all(b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n")
                            .await;
                        return;
                    }
                }
                let authority = text
                    .split_whitespace()
                    .nth(1)
                    .unwrap_or_default()
                    .to_owned();
                let Ok(mut upstream) = tokio::net::TcpStream::connect(&authority).await else {
                    let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n").await;
                    return;
                };
                let _ = client
                    .write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n")
                    .await;
                let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
        }
    })
    .await;
    (addr, log)
}

/// A SOCKS5 proxy on loopback (CONNECT only; domain names resolved here). With `credentials`, it requires
/// user/password authentication.
pub async fn socks5_proxy(
    credentials: Option<(&'static str, &'static str)>,
) -> (SocketAddr, ProxyLog) {
    let log: ProxyLog = Default::default();
    let seen = log.clone();
    let addr = serve_each(move |mut c| {
        let seen = seen.clone();
        async move {
            let mut hdr = [0u8; 2];
            if c.read_exact(&mut hdr).await.is_err() {
                return;
            }
            let mut methods = vec![0u8; hdr[1] as usize];
            if c.read_exact(&mut methods).await.is_err() {
                return;
            }
            let wanted = if credentials.is_some() { 2 } else { 0 };
            if !methods.contains(&wanted) {
                let _ = c.write_all(&[5, 0xff]).await;
                return;
            }
            let _ = c.write_all(&[5, wanted]).await;
            if let Some((user, pass)) = credentials {
                let mut v = [0u8; 2];
                let _ = c.read_exact(&mut v).await;
                let mut u = vec![0u8; v[1] as usize];
                let _ = c.read_exact(&mut u).await;
                let mut pl = [0u8; 1];
                let _ = c.read_exact(&mut pl).await;
                let mut p = vec![0u8; pl[0] as usize];
                let _ = c.read_exact(&mut p).await;
                let ok = u == user.as_bytes() && p == pass.as_bytes();
                let _ = c.write_all(&[1, if ok { 0 } else { 1 }]).await;
                if !ok {
                    return;
                }
            }
            let mut req = [0u8; 4];
            if c.read_exact(&mut req).await.is_err() {
                return;
            }
            let host = match req[3] {
                1 => {
                    let mut a = [0u8; 4];
                    let _ = c.read_exact(&mut a).await;
                    std::net::Ipv4Addr::from(a).to_string()
                }
                3 => {
                    let mut l = [0u8; 1];
                    let _ = c.read_exact(&mut l).await;
                    let mut d = vec![0u8; l[0] as usize];
                    let _ = c.read_exact(&mut d).await;
                    String::from_utf8_lossy(&d).into_owned()
                }
                _ => return,
            };
            let mut port = [0u8; 2];
            let _ = c.read_exact(&mut port).await;
            let port = u16::from_be_bytes(port);
            seen.lock().expect("log").push(format!("{host}:{port}"));
            match tokio::net::TcpStream::connect((host.as_str(), port)).await {
                Ok(mut upstream) => {
                    let _ = c.write_all(&[5, 0, 0, 1, 0, 0, 0, 0, 0, 0]).await;
                    let _ = tokio::io::copy_bidirectional(&mut c, &mut upstream).await;
                }
                Err(_) => {
                    let _ = c.write_all(&[5, 5, 0, 1, 0, 0, 0, 0, 0, 0]).await;
                }
            }
        }
    })
    .await;
    (addr, log)
}

/// A server that completes a correct upgrade but sends its response one byte at a time, then closes (1000).
pub async fn slow_101() -> SocketAddr {
    serve_each(move |mut stream| async move {
        let Some(accept) = read_upgrade_request(&mut stream).await else {
            return;
        };
        let mut chunk = [0u8; 1024];
        let mut out = switching_protocols(&accept);
        out.extend_from_slice(&[0x81, 0x04, b's', b'l', b'o', b'w', 0x88, 0x02, 0x03, 0xe8]);
        for b in out {
            if stream.write_all(&[b]).await.is_err() {
                return;
            }
            let _ = stream.flush().await;
            tokio::time::sleep(Duration::from_millis(3)).await;
        }
        let _ = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut chunk)).await;
    })
    .await
}

/// Every event of a connection until its task ends (all attempts, for reconnect tests).
pub async fn collect_all(
    events: &mut EventStream,
    mut on_event: impl FnMut(&EventKind),
) -> Vec<EventKind> {
    let mut all = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while let Some(event) = tokio::time::timeout_at(deadline, events.recv())
        .await
        .expect("ends within 20 s")
    {
        on_event(&event.kind);
        all.push(event.kind);
    }
    all
}

/// A server that completes the upgrade by hand and then reads and ignores everything: no pongs, no close reply.
pub async fn raw_101_deaf() -> SocketAddr {
    serve_each(move |mut stream| async move {
        let Some(accept) = read_upgrade_request(&mut stream).await else {
            return;
        };
        let mut chunk = [0u8; 1024];
        let _ = stream.write_all(&switching_protocols(&accept)).await;
        while let Ok(n) = stream.read(&mut chunk).await {
            if n == 0 {
                break;
            }
        }
    })
    .await
}

/// A tokio-tungstenite server that records every text message it gets and drops each connection after
/// `keep` (no close frame).
pub async fn flaky(keep: Duration) -> (SocketAddr, ProxyLog) {
    let log: ProxyLog = Default::default();
    let seen = log.clone();
    let addr = serve_each(move |stream| {
        let seen = seen.clone();
        async move {
            let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else {
                return;
            };
            let _ = tokio::time::timeout(keep, async {
                while let Some(Ok(m)) = ws.next().await {
                    if let Message::Text(t) = m {
                        seen.lock().expect("log").push(t.to_string());
                    }
                }
            })
            .await;
            drop(ws);
        }
    })
    .await;
    (addr, log)
}

/// A tokio-tungstenite server that records the first text message of each connection and then drops that
/// connection (no close frame): a server that fails right after a client's first message, whatever the timing.
pub async fn drop_after_first_message() -> (SocketAddr, ProxyLog) {
    let log: ProxyLog = Default::default();
    let seen = log.clone();
    let addr = serve_each(move |stream| {
        let seen = seen.clone();
        async move {
            let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else {
                return;
            };
            while let Some(Ok(m)) = ws.next().await {
                if let Message::Text(t) = m {
                    seen.lock().expect("log").push(t.to_string());
                    break;
                }
            }
            drop(ws);
        }
    })
    .await;
    (addr, log)
}

/// An API-Gateway-style chat server: JSON messages routed by "action" (join, sendmessage, leave). It refuses
/// upgrades without `Authorization: Bearer <token>` (401).
pub async fn chat(token: &'static str) -> SocketAddr {
    use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};

    serve_each(move |stream| {
        async move {
                #[allow(clippy::result_large_err)]
                let check = |req: &Request, resp: Response| -> Result<Response, ErrorResponse> {
                    let ok = req
                        .headers()
                        .get("Authorization")
                        .and_then(|v| v.to_str().ok())
                        .is_some_and(|v| v == format!("Bearer {token}"));
                    if ok {
                        Ok(resp)
                    } else {
                        let mut e = ErrorResponse::new(Some("missing or wrong token".into()));
                        *e.status_mut() =
                            tokio_tungstenite::tungstenite::http::StatusCode::UNAUTHORIZED;
                        Err(e)
                    }
                };
                let Ok(mut ws) = tokio_tungstenite::accept_hdr_async(stream, check).await else {
                    return;
                };
                let mut user = String::new();
                while let Some(Ok(Message::Text(t))) = ws.next().await {
                    let Ok(v) = serde_json::from_str::<serde_json::Value>(&t) else {
                        continue;
                    };
                    let room = v["room"].as_str().unwrap_or_default().to_owned();
                    let reply = match v["action"].as_str() {
                        Some("join") => {
                            user = v["user"].as_str().unwrap_or_default().to_owned();
                            serde_json::json!({"type": "joined", "room": room, "user": user})
                        }
                        Some("sendmessage") => {
                            serde_json::json!({"type": "message", "room": room, "from": user, "text": v["text"]})
                        }
                        Some("leave") => serde_json::json!({"type": "left", "room": room}),
                        _ => serde_json::json!({"type": "error", "message": "unknown action"}),
                    };
                    if ws.send(Message::text(reply.to_string())).await.is_err() {
                        break;
                    }
                }
        }
    })
    .await
}

/// Connects, sends "through" (inspect) or "over tls" when open, closes after the first data reply.
pub async fn echo_once_with(req: ConnectRequest, text: &'static str) -> Transcript {
    send_once_with(req, sockscope::engine::Command::Text(text.into())).await
}

/// Connects, sends `command` once open, closes (1000) after the first data message back, and collects it all.
pub async fn send_once_with(
    req: ConnectRequest,
    command: sockscope::engine::Command,
) -> Transcript {
    use sockscope::engine::Command;
    use sockscope::model::{ConnState, Direction};
    let (handle, mut events) = start(req);
    let mut command = Some(command);
    collect(&mut events, move |event, _| match event {
        EventKind::State(ConnState::Open) => {
            if let Some(c) = command.take() {
                handle.send(c);
            }
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

/// Variables of the developer's environment that change what sockscope does: the proxy settings (curl reads
/// both cases, and so does sockscope) and the token the shipped chat session reads with `{{env.CHAT_TOKEN}}`.
pub const ENVIRONMENT: &[&str] = &[
    "http_proxy",
    "HTTP_PROXY",
    "https_proxy",
    "HTTPS_PROXY",
    "all_proxy",
    "ALL_PROXY",
    "no_proxy",
    "NO_PROXY",
    "CHAT_TOKEN",
];

/// The real binary, with none of the [`ENVIRONMENT`] variables: a test that wants one sets it.
pub fn sockscope_command() -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_sockscope"));
    for name in ENVIRONMENT {
        command.env_remove(name);
    }
    command
}

/// Runs the real binary with `args` and no stdin.
pub fn cli(args: &[&str]) -> std::process::Output {
    sockscope_command()
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run sockscope")
}

/// [`cli`] off the async workers, for tests whose servers run on the same runtime.
pub async fn cli_async(args: Vec<String>) -> std::process::Output {
    tokio::task::spawn_blocking(move || {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        cli(&refs)
    })
    .await
    .expect("join")
}

/// Reads an upgrade request head from `stream` and returns the Sec-WebSocket-Accept value for it.
pub async fn read_upgrade_request(stream: &mut tokio::net::TcpStream) -> Option<String> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let head = String::from_utf8_lossy(&buf).into_owned();
    let key = head
        .lines()
        .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))?
        .trim()
        .to_owned();
    Some(tokio_tungstenite::tungstenite::handshake::derive_accept_key(key.as_bytes()))
}

/// What a raw server recorded from each of its clients, handed over when that connection ends.
pub type Recorded = tokio::sync::mpsc::UnboundedReceiver<Vec<u8>>;

/// A server that completes the upgrade, sends `frames` (raw bytes), then records what the client sends back
/// until the client hangs up, or for two seconds at most.
pub async fn raw_101_then(frames: &'static [u8]) -> (SocketAddr, Recorded) {
    raw_101_recording(frames, usize::MAX).await
}

/// A server that completes the upgrade, records the first `bytes` bytes the client sends, and then drops the
/// connection (no close frame).
pub async fn raw_101_then_drop_after(bytes: usize) -> (SocketAddr, Recorded) {
    raw_101_recording(&[], bytes).await
}

async fn raw_101_recording(frames: &'static [u8], stop_after: usize) -> (SocketAddr, Recorded) {
    let (tx, recorded) = tokio::sync::mpsc::unbounded_channel();
    let addr = serve_each(move |mut stream| {
        let tx = tx.clone();
        async move {
            let Some(accept) = read_upgrade_request(&mut stream).await else {
                return;
            };
            let mut out = switching_protocols(&accept);
            out.extend_from_slice(frames);
            let _ = stream.write_all(&out).await;
            let mut seen = Vec::new();
            let mut chunk = [0u8; 4096];
            let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
            while seen.len() < stop_after {
                match tokio::time::timeout_at(deadline, stream.read(&mut chunk)).await {
                    Ok(Ok(n)) if n > 0 => seen.extend_from_slice(&chunk[..n]),
                    _ => break,
                }
            }
            drop(stream);
            let _ = tx.send(seen);
        }
    })
    .await;
    (addr, recorded)
}

/// The next connection's recorded bytes, once it has ended.
pub async fn recorded(recorded: &mut Recorded) -> Vec<u8> {
    tokio::time::timeout(Duration::from_secs(10), recorded.recv())
        .await
        .expect("the server's connection ends within 10 s")
        .expect("the server recorded the connection")
}

/// A plain `101 Switching Protocols` head accepting with `accept`.
fn switching_protocols(accept: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {accept}\r\n\r\n"
    )
    .into_bytes()
}

/// The frames (opcode byte, unmasked payload) among `bytes` a client sent; a client's frames are masked. Stops at
/// a frame that is cut short or has a 16- or 64-bit length (these tests send only short frames).
pub fn client_frames(bytes: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut frames = Vec::new();
    let mut i = 0;
    while i + 6 <= bytes.len() {
        let len = (bytes[i + 1] & 0x7f) as usize;
        if len > 125 || bytes[i + 1] & 0x80 == 0 {
            break;
        }
        let mask = &bytes[i + 2..i + 6];
        let Some(payload) = bytes.get(i + 6..i + 6 + len) else {
            break;
        };
        let payload = payload
            .iter()
            .enumerate()
            .map(|(j, b)| b ^ mask[j % 4])
            .collect();
        frames.push((bytes[i], payload));
        i += 6 + len;
    }
    frames
}

/// The client's first close frame among `bytes`: None when it sent none; `Some(None)` for a close frame
/// without a code; `Some(Some(code))` otherwise.
pub fn client_close(bytes: &[u8]) -> Option<Option<u16>> {
    let (_, payload) = client_frames(bytes)
        .into_iter()
        .find(|(first, _)| first & 0x0f == 8)?;
    Some((payload.len() >= 2).then(|| u16::from_be_bytes([payload[0], payload[1]])))
}

/// A server that completes the upgrade, writes `frames`, and resets the connection (RST, not FIN) at once.
pub async fn raw_101_then_reset(frames: &'static [u8]) -> SocketAddr {
    serve_each(move |mut stream| async move {
        let Some(accept) = read_upgrade_request(&mut stream).await else {
            return;
        };
        let mut out = switching_protocols(&accept);
        out.extend_from_slice(frames);
        let _ = stream.write_all(&out).await;
        let _ = stream.flush().await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        // Linger 0: closing sends RST and drops what is unsent.
        let _ = stream.set_zero_linger();
        drop(stream);
    })
    .await
}
