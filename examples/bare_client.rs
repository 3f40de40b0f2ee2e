//! The baseline for the command-line ingest comparison (benches/ingest_cli.sh): the least a tokio-tungstenite client
//! can do to print every message it receives, one per line, to stdout, until the server closes.
//!
//! `cargo run --release --example bare_client -- ws://127.0.0.1:PORT/`

use futures_util::StreamExt;
use std::io::Write;
use tokio_tungstenite::tungstenite::Message;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let Some(url) = std::env::args().nth(1) else {
        eprintln!("usage: bare_client ws://HOST:PORT/");
        std::process::exit(2);
    };
    let Some(addr) = url
        .strip_prefix("ws://")
        .map(|rest| rest.trim_end_matches('/').to_owned())
    else {
        eprintln!("only ws:// URLs");
        std::process::exit(2);
    };
    let stream = match tokio::net::TcpStream::connect(&addr).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("connect {addr}: {e}");
            std::process::exit(3);
        }
    };
    let _ = stream.set_nodelay(true);
    let (mut ws, _) = match tokio_tungstenite::client_async(url.as_str(), stream).await {
        Ok(ws) => ws,
        Err(e) => {
            eprintln!("handshake: {e}");
            std::process::exit(3);
        }
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    while let Some(message) = ws.next().await {
        match message {
            Ok(Message::Text(t)) => {
                let _ = writeln!(out, "{}", t.as_str());
            }
            Ok(Message::Binary(b)) => {
                let _ = out.write_all(&b);
                let _ = out.write_all(b"\n");
            }
            Ok(_) => {}
            Err(_) => break,
        }
    }
    let _ = out.flush();
}
