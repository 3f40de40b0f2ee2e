//! Raw TCP servers that answer the upgrade by hand with crafted bytes (plain HTTP answers, 101 heads written
//! slowly or in the same packet as frames, deaf or resetting peers), and readers for the frames a client sent.

use super::serve_each;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

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

/// As [`raw_101_then`], the 101 agreeing to permessage-deflate (default parameters) whatever was offered.
pub async fn raw_101_deflate_then(frames: Vec<u8>) -> (SocketAddr, Recorded) {
    raw_101_recording_with(
        "Sec-WebSocket-Extensions: permessage-deflate\r\n",
        Box::leak(frames.into_boxed_slice()),
        usize::MAX,
    )
    .await
}

async fn raw_101_recording(frames: &'static [u8], stop_after: usize) -> (SocketAddr, Recorded) {
    raw_101_recording_with("", frames, stop_after).await
}

async fn raw_101_recording_with(
    extra_headers: &'static str,
    frames: &'static [u8],
    stop_after: usize,
) -> (SocketAddr, Recorded) {
    let (tx, recorded) = tokio::sync::mpsc::unbounded_channel();
    let addr = serve_each(move |mut stream| {
        let tx = tx.clone();
        async move {
            let Some(accept) = read_upgrade_request(&mut stream).await else {
                return;
            };
            let mut out = switching_protocols(&accept);
            if !extra_headers.is_empty() {
                out.truncate(out.len() - 2);
                out.extend_from_slice(extra_headers.as_bytes());
                out.extend_from_slice(b"\r\n");
            }
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
