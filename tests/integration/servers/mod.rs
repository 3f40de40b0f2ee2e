//! Servers the tests start on loopback, and the helpers that drive them: our echo server, scripted
//! tokio-tungstenite servers, starting and collecting a connection, and running the real binary. Raw TCP servers
//! that answer with crafted bytes are in `raw.rs`, proxies in `proxy.rs`; both are re-exported here, so every
//! test names them `crate::servers::…`.

use futures_util::{SinkExt, StreamExt};
use sockscope::engine::echo::EchoServer;
use sockscope::engine::{EventKind, EventStream, Overflow, events};
use sockscope::model::{CloseInfo, ConnectRequest, HandshakeInfo, LogEntry, StageError};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

mod proxy;
mod raw;

pub use proxy::*;
pub use raw::*;

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

/// Everything one connection reported, in order.
#[derive(Default, Debug)]
pub struct Transcript {
    pub handshake: Option<Box<HandshakeInfo>>,
    pub messages: Vec<LogEntry>,
    pub errors: Vec<StageError>,
    pub closed: Option<CloseInfo>,
    pub opened: bool,
    /// What the protocol on top of WebSocket reported.
    pub protocol: Vec<sockscope::engine::events::ProtocolEvent>,
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
            EventKind::Protocol(p) => t.protocol.push(p),
            EventKind::Reconnecting { .. } | EventKind::GaveUp { .. } | EventKind::Frames(_) => {}
        }
    }
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

/// Command-line arguments as owned strings.
pub fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

/// Runs the real binary with `args` and no stdin.
pub fn cli(args: &[&str]) -> std::process::Output {
    sockscope_command()
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run sockscope")
}

/// Runs the real binary with `args`, writing `input` to its stdin (then closing it), off the async workers.
pub async fn cli_with_stdin(args: Vec<String>, input: String) -> std::process::Output {
    tokio::task::spawn_blocking(move || {
        use std::io::Write;
        let mut child = sockscope_command()
            .args(&args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("run sockscope");
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(input.as_bytes()).expect("write stdin");
        drop(stdin);
        child.wait_with_output().expect("sockscope ends")
    })
    .await
    .expect("join")
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
