//! Proxies the tests start on loopback: HTTP CONNECT and SOCKS5, each recording what it saw.

use super::serve_each;
use std::net::SocketAddr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

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
