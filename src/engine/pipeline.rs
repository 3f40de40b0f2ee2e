//! Connecting stage by stage — URL, DNS, TCP, TLS, HTTP upgrade — each timed and each bounded by the timeout.

use crate::engine::handshake::{self, UpgradeRequest};
use crate::engine::stream::Transport;
use crate::engine::target::{Target, parse_target};
use crate::engine::tls;
use crate::model::{ConnectRequest, HandshakeInfo, Stage, StageError};
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};

/// An open WebSocket over our transport.
pub type Socket = WebSocketStream<Transport>;

/// A failed attempt: the error, and the handshake data seen before it (if any got that far).
#[derive(Debug)]
pub struct Failure {
    /// What failed.
    pub error: StageError,
    /// The request/response seen so far, when the upgrade was attempted.
    pub handshake: Option<Box<HandshakeInfo>>,
}

impl From<StageError> for Failure {
    fn from(error: StageError) -> Self {
        Self {
            error,
            handshake: None,
        }
    }
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

async fn timed<T, F>(
    stage: Stage,
    what: &str,
    limit: Duration,
    fut: F,
) -> Result<(T, f64), StageError>
where
    F: Future<Output = Result<T, StageError>>,
{
    let started = Instant::now();
    match tokio::time::timeout(limit, fut).await {
        Ok(Ok(v)) => Ok((v, ms(started.elapsed()))),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(StageError::new(
            Stage::Timeout,
            format!(
                "{} ({what}) did not complete within {}",
                stage.title(),
                human_duration(limit)
            ),
        )),
    }
}

/// "10 s", "1.5 s", "250 ms".
pub fn human_duration(d: Duration) -> String {
    if d.as_millis() < 1000 {
        format!("{} ms", d.as_millis())
    } else if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

/// Opens a WebSocket as `req` describes. `started` is when the attempt began (for the total time).
pub async fn establish(
    req: &ConnectRequest,
    started: Instant,
) -> Result<(Socket, Box<HandshakeInfo>), Failure> {
    let limit = req.connect_timeout();
    let target = parse_target(&req.url)?;
    let upgrade_request = handshake::build_request(&target, req)?;
    let mut info = Box::new(HandshakeInfo::default());

    let addrs = match target.ip {
        Some(ip) => vec![SocketAddr::new(ip, target.port)],
        None => {
            let (addrs, t) = timed(
                Stage::Dns,
                &format!("resolving {}", target.host),
                limit,
                resolve(&target),
            )
            .await?;
            info.timings.dns_ms = Some(t);
            addrs
        }
    };
    let what = format!(
        "connecting to {}",
        addrs.first().map(|a| a.to_string()).unwrap_or_default()
    );
    let (tcp, t) = timed(Stage::Tcp, &what, limit, connect_tcp(&addrs)).await?;
    info.timings.tcp_ms = Some(t);
    info.peer_addr = tcp.peer_addr().ok().map(|a| a.to_string());

    let mut transport = if target.secure {
        let config = tls_config().await;
        let what = format!("TLS with {}", target.host);
        let (tls, t) = timed(
            Stage::Tls,
            &what,
            limit,
            tls::handshake(config, &target.host, tcp),
        )
        .await?;
        info.timings.tls_ms = Some(t);
        Transport::Tls(Box::new(tls))
    } else {
        Transport::Plain(tcp)
    };

    let upgraded = run_upgrade(&mut transport, &upgrade_request, &mut info, limit).await;
    info.timings.total_ms = ms(started.elapsed());
    let upgraded = match upgraded {
        Ok(u) => u,
        Err(error) => {
            return Err(Failure {
                error,
                handshake: Some(info),
            });
        }
    };
    let config = WebSocketConfig::default()
        .max_message_size(Some(req.max_message_size_bytes))
        .max_frame_size(Some(req.max_frame_size_bytes));
    let socket = WebSocketStream::from_partially_read(
        transport,
        upgraded.leftover,
        Role::Client,
        Some(config),
    )
    .await;
    Ok((socket, info))
}

async fn run_upgrade(
    transport: &mut Transport,
    request: &UpgradeRequest,
    info: &mut HandshakeInfo,
    limit: Duration,
) -> Result<handshake::Upgraded, StageError> {
    let started = Instant::now();
    let body_wait = Duration::from_millis(500).min(limit);
    let result = timed(
        Stage::Handshake,
        "waiting for the HTTP upgrade response",
        limit,
        handshake::upgrade(transport, request, info, body_wait),
    )
    .await;
    info.timings.upgrade_ms = Some(ms(started.elapsed()));
    result.map(|(u, _)| u)
}

async fn tls_config() -> std::sync::Arc<rustls::ClientConfig> {
    // Loading the OS trust store reads files: keep it off the async workers.
    match tokio::task::spawn_blocking(tls::default_config).await {
        Ok(config) => config,
        Err(_) => tls::default_config(),
    }
}

async fn resolve(target: &Target) -> Result<Vec<SocketAddr>, StageError> {
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((target.host.as_str(), target.port))
        .await
        .map_err(|e| {
            StageError::new(
                Stage::Dns,
                format!("could not resolve '{}': {e}", target.host),
            )
        })?
        .collect();
    if addrs.is_empty() {
        return Err(StageError::new(
            Stage::Dns,
            format!("'{}' resolved to no addresses", target.host),
        ));
    }
    Ok(addrs)
}

async fn connect_tcp(addrs: &[SocketAddr]) -> Result<TcpStream, StageError> {
    let mut last: Option<(SocketAddr, io::Error)> = None;
    for &addr in addrs {
        match TcpStream::connect(addr).await {
            Ok(stream) => {
                let _ = stream.set_nodelay(true);
                return Ok(stream);
            }
            Err(e) => last = Some((addr, e)),
        }
    }
    let Some((addr, err)) = last else {
        return Err(StageError::new(Stage::Tcp, "no address to connect to"));
    };
    let why = match err.kind() {
        io::ErrorKind::ConnectionRefused => {
            "connection refused (nothing is listening on that port)".to_owned()
        }
        io::ErrorKind::HostUnreachable | io::ErrorKind::NetworkUnreachable => {
            "the host or network is unreachable".to_owned()
        }
        io::ErrorKind::PermissionDenied => "not permitted by the system (a firewall?)".to_owned(),
        _ => err.to_string(),
    };
    Err(StageError::new(
        Stage::Tcp,
        format!("could not connect to {addr}: {why}"),
    ))
}
