//! The embedded echo server: text comes back as text, binary as binary, pings are answered, closes are echoed.
//! It selects the first subprotocol a client offers, so clients that insist on one can still connect.
//!
//! In flood mode (`sockscope serve --flood N`) it instead sends every client N text messages as fast as the
//! socket takes them and then closes with 1000: the load for ingest benchmarks and for watching the GUI under a
//! flood.

use futures_util::{SinkExt, StreamExt};
use std::io;
use std::net::SocketAddr;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Message, http::HeaderValue};

/// A running echo server.
pub struct EchoServer {
    /// Where it listens.
    pub local_addr: SocketAddr,
    task: JoinHandle<()>,
}

/// Whether the server reports each client's arrival and departure on stderr (`sockscope serve` does).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Verbosity {
    /// Say nothing (the GUI's built-in server).
    #[default]
    Quiet,
    /// One line on stderr per connection and per close.
    Connections,
}

/// What the server does with each client.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Behaviour {
    /// Send back what arrives.
    #[default]
    Echo,
    /// Send `count` text messages of `size` bytes, then close with 1000.
    Flood {
        /// Messages per client.
        count: u64,
        /// Bytes per message.
        size: usize,
    },
}

impl EchoServer {
    /// Binds to `addr` (use port 0 for a free port) and starts serving on the current runtime.
    pub async fn start(addr: SocketAddr) -> io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        Ok(Self::from_listener(listener, Verbosity::Quiet))
    }

    /// A flood server on a free loopback port: every client gets `count` text messages of `size` bytes, then a
    /// close (for tests and benchmarks).
    pub async fn flood(count: u64, size: usize) -> io::Result<Self> {
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        Ok(Self::with_behaviour(
            listener,
            Behaviour::Flood { count, size },
            Verbosity::Quiet,
        ))
    }

    /// Serves on an already bound listener.
    pub fn from_listener(listener: TcpListener, verbosity: Verbosity) -> Self {
        Self::with_behaviour(listener, Behaviour::Echo, verbosity)
    }

    /// Serves on an already bound listener, echoing or flooding.
    pub fn with_behaviour(
        listener: TcpListener,
        behaviour: Behaviour,
        verbosity: Verbosity,
    ) -> Self {
        let local_addr = listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)));
        let task = tokio::spawn(accept_loop(listener, behaviour, verbosity));
        Self { local_addr, task }
    }

    /// The `ws://` URL clients should use.
    pub fn url(&self) -> String {
        format!("ws://{}", self.local_addr)
    }

    /// Stops accepting; open connections end with the runtime.
    pub fn stop(&self) {
        self.task.abort();
    }
}

impl Drop for EchoServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn accept_loop(listener: TcpListener, behaviour: Behaviour, verbosity: Verbosity) {
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                tokio::spawn(serve_connection(stream, peer, behaviour, verbosity));
            }
            Err(e) => {
                tracing::warn!("echo server: accept failed: {e}");
                // Out of file descriptors and similar: back off instead of spinning.
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
    }
}

async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    behaviour: Behaviour,
    verbosity: Verbosity,
) {
    let say = |line: String| {
        if verbosity == Verbosity::Connections {
            eprintln!("{peer}: {line}");
        }
    };
    let _ = stream.set_nodelay(true);
    #[allow(clippy::result_large_err)] // The callback's signature is tungstenite's.
    let pick_protocol = |req: &Request, mut resp: Response| {
        let first = req
            .headers()
            .get("Sec-WebSocket-Protocol")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').map(str::trim).find(|p| !p.is_empty()))
            .and_then(|p| HeaderValue::from_str(p).ok());
        if let Some(p) = first {
            resp.headers_mut().insert("Sec-WebSocket-Protocol", p);
        }
        Ok(resp)
    };
    let mut ws = match tokio_tungstenite::accept_hdr_async(stream, pick_protocol).await {
        Ok(ws) => ws,
        Err(e) => {
            say(format!("handshake failed: {e}"));
            return;
        }
    };
    say("connected".into());
    if let Behaviour::Flood { count, size } = behaviour {
        match flood(&mut ws, count, size).await {
            Ok(()) => say(format!(
                "sent {count} messages of {size} bytes, then closed"
            )),
            Err(e) => say(format!("flood ended early: {e}")),
        }
    }
    let mut messages = 0u64;
    // Reading on after a close lets the library flush its close reply; the stream then ends.
    loop {
        match ws.next().await {
            Some(Ok(Message::Close(frame))) => {
                let code = frame.as_ref().map(|f| u16::from(f.code).to_string());
                let reason = frame
                    .as_ref()
                    .map(|f| f.reason.to_string())
                    .unwrap_or_default();
                say(format!(
                    "closed by the client: code {}, reason '{reason}', after {messages} messages",
                    code.as_deref().unwrap_or("none")
                ));
            }
            Some(Ok(message @ (Message::Text(_) | Message::Binary(_))))
                if behaviour == Behaviour::Echo =>
            {
                messages += 1;
                if ws.send(message).await.is_err() {
                    break;
                }
            }
            Some(Ok(_)) => {}
            Some(Err(e)) => {
                say(format!("connection ended: {e}"));
                break;
            }
            None => break,
        }
    }
}

/// Sends `count` messages of `size` bytes (`x`s, each starting with its decimal number) and a close with 1000.
async fn flood<S>(
    ws: &mut tokio_tungstenite::WebSocketStream<S>,
    count: u64,
    size: usize,
) -> Result<(), tokio_tungstenite::tungstenite::Error>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let mut payload = vec![b'x'; size];
    for n in 0..count {
        let number = n.to_string();
        let digits = number.len().min(size);
        payload[..digits].copy_from_slice(&number.as_bytes()[..digits]);
        let text = String::from_utf8_lossy(&payload).into_owned();
        // `feed` queues without flushing each message; the library flushes when its buffer fills.
        ws.feed(Message::text(text)).await?;
    }
    ws.send(Message::Close(Some(CloseFrame {
        code: CloseCode::Normal,
        reason: "flood done".into(),
    })))
    .await
}
