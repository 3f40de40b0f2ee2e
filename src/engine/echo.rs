//! The embedded echo server: text comes back as text, binary as binary, pings are answered, closes are echoed.
//! It selects the first subprotocol a client offers, so clients that insist on one can still connect.

use futures_util::{SinkExt, StreamExt};
use std::io;
use std::net::SocketAddr;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::{Message, http::HeaderValue};

/// A running echo server.
pub struct EchoServer {
    /// Where it listens.
    pub local_addr: SocketAddr,
    task: JoinHandle<()>,
}

impl EchoServer {
    /// Binds to `addr` (use port 0 for a free port) and starts serving on the current runtime.
    pub async fn start(addr: SocketAddr) -> io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        Ok(Self::from_listener(listener))
    }

    /// Serves on an already bound listener.
    pub fn from_listener(listener: TcpListener) -> Self {
        let local_addr = listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)));
        let task = tokio::spawn(accept_loop(listener));
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

async fn accept_loop(listener: TcpListener) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                tokio::spawn(echo_connection(stream));
            }
            Err(e) => {
                tracing::warn!("echo server: accept failed: {e}");
                // Out of file descriptors and similar: back off instead of spinning.
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
    }
}

async fn echo_connection(stream: TcpStream) {
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
    let Ok(mut ws) = tokio_tungstenite::accept_hdr_async(stream, pick_protocol).await else {
        return;
    };
    // Reading on after a close lets the library flush its close reply; the stream then ends.
    while let Some(Ok(message)) = ws.next().await {
        if matches!(message, Message::Text(_) | Message::Binary(_))
            && ws.send(message).await.is_err()
        {
            break;
        }
    }
}
