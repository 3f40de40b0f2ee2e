//! Connecting stage by stage — URL, DNS, TCP, TLS, HTTP upgrade — each timed and each bounded by the timeout.

use crate::engine::handshake::{self, UpgradeRequest};
use crate::engine::observer::{Arrivals, Observed, Observer};
use crate::engine::proxy::{
    Proxy, ProxyScheme, http_connect, parse_proxy, proxy_from_env, socks5_connect,
};
use crate::engine::stream::Transport;
use crate::engine::target::{Target, parse_target};
use crate::engine::tls;
use crate::model::deflate::ReadSide;
use crate::model::{ConnectRequest, HandshakeInfo, ProxyExchange, Stage, StageError, TlsInfo};
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};

/// An open WebSocket over our transport (watched by the frame observer when one is given).
pub type Socket = WebSocketStream<Observed<Transport>>;

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
    crate::model::millis(d.as_secs_f64())
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

/// Opens a WebSocket as `req` describes. `started` is when the attempt began (for the total time); `arrivals`
/// is stamped whenever bytes arrive on the open socket.
pub async fn establish(
    req: &ConnectRequest,
    started: Instant,
    observer: Option<std::sync::Arc<Observer>>,
    arrivals: std::sync::Arc<Arrivals>,
) -> Result<(Socket, Box<HandshakeInfo>), Failure> {
    let mut info = Box::new(HandshakeInfo::default());
    let result = run_stages(req, &mut info).await;
    // Frames that came in the same read as the 101 response arrived now, not when they are handed out.
    arrivals.stamp();
    info.timings.total_ms = ms(started.elapsed());
    let (transport, upgraded) = match result {
        Ok(v) => v,
        Err(error) => {
            return Err(Failure {
                error,
                handshake: Some(info),
            });
        }
    };
    let config = WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER_BYTES)
        .max_message_size(Some(req.max_message_size_bytes))
        .max_frame_size(Some(req.max_frame_size_bytes));
    // Frames that arrived with the 101 response are read (and observed) first.
    let agreed = info.deflate.as_ref();
    let read_side = ReadSide::needed(agreed, req.auto_pong).then(|| {
        ReadSide::new(agreed, req.auto_pong, req.max_message_size_bytes)
            .with_max_frame(req.max_frame_size_bytes)
    });
    let stream =
        Observed::new(transport, upgraded.leftover, observer, arrivals).with_read_side(read_side);
    let socket = WebSocketStream::from_raw_socket(stream, Role::Client, Some(config)).await;
    Ok((socket, info))
}

/// How much tungstenite reads from the socket at most per call. It zero-fills that much of its buffer before
/// every read, whatever arrives: with its default of 128 KiB, a sender whose messages come a few hundred bytes per
/// read (node `ws` at its own pace) made that zeroing 15 % of the client's CPU. 16 KiB still takes a batched flood
/// in a few hundred reads (`benches/ingest_cli.sh`).
const READ_BUFFER_BYTES: usize = 16 * 1024;

/// The proxy to use for `target`: the explicit one, else the environment's (unless `NO_PROXY` excludes it).
pub fn select_proxy(req: &ConnectRequest, target: &Target) -> Result<Option<Proxy>, StageError> {
    match req
        .proxy
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        Some(p) => parse_proxy(p, "the proxy setting").map(Some),
        None if req.proxy_from_env => {
            proxy_from_env(target, |name| std::env::var(name).ok()).transpose()
        }
        None => Ok(None),
    }
}

async fn run_stages(
    req: &ConnectRequest,
    info: &mut HandshakeInfo,
) -> Result<(Transport, handshake::Upgraded), StageError> {
    use crate::model::h2::HttpVersion;
    let limit = req.connect_timeout();
    let target = parse_target(&req.url)?;
    let upgrade_request = handshake::build_request(&target, req)?;
    info.request = upgrade_request.head.clone();
    info.request_raw = upgrade_request.raw.clone();
    let wants_h2 = match req.http_version {
        HttpVersion::Http1 => false,
        HttpVersion::Http2 => true,
        HttpVersion::Auto => target.secure,
    };
    if !wants_h2 {
        return http1_stages(req, &target, &upgrade_request, info, limit).await;
    }
    let fallback = req.http_version == HttpVersion::Auto;
    match h2_stages(req, &target, &upgrade_request, info, limit).await {
        H2Outcome::Open(stream) => Ok((
            Transport::h2(stream),
            handshake::Upgraded {
                leftover: Vec::new(),
            },
        )),
        H2Outcome::Http1(mut transport) => {
            // ALPN chose HTTP/1.1 (auto): the upgrade goes on the same TLS connection, as a browser's does.
            let upgraded = run_upgrade(transport.as_mut(), &upgrade_request, info, limit).await?;
            Ok((*transport, upgraded))
        }
        H2Outcome::Failed(failure) if fallback && failure.fallback => {
            info.warnings.push(format!(
                "HTTP/2 was tried and not used ({}); fell back to HTTP/1.1 on a fresh connection",
                failure.error.message
            ));
            info.h2 = None;
            info.checks.clear();
            info.timings.h2_settings_ms = None;
            info.timings.upgrade_ms = None;
            info.method.clear();
            info.target.clear();
            info.status = 0;
            info.reason.clear();
            info.response = Default::default();
            info.response_raw.clear();
            info.response_body.clear();
            info.request = upgrade_request.head.clone();
            info.request_raw = upgrade_request.raw.clone();
            let result = http1_stages(req, &target, &upgrade_request, info, limit).await;
            // The fresh connection's TLS warnings are those of the first.
            let mut seen = std::collections::HashSet::new();
            info.warnings.retain(|w| seen.insert(w.clone()));
            result
        }
        H2Outcome::Failed(failure) => Err(failure.error),
    }
}

/// DNS, TCP, the proxy and TLS (ALPN as `alpn` says): the transport the upgrade goes over.
async fn connection_stages(
    req: &ConnectRequest,
    target: &Target,
    alpn: &[&[u8]],
    info: &mut HandshakeInfo,
    limit: Duration,
) -> Result<Transport, StageError> {
    let proxy = select_proxy(req, target)?;
    let mut tcp = tcp_stage(target, proxy.as_ref(), info, limit).await?;
    if let Some(proxy) = &proxy {
        tcp = proxy_stage(tcp, proxy, target, info, limit).await?;
    }
    Ok(if target.secure {
        Transport::tls(tls_stage(req, target, tcp, alpn, info, limit).await?)
    } else {
        Transport::plain(tcp)
    })
}

const ALPN_HTTP1: &[&[u8]] = &[b"http/1.1"];

/// The WebSocket as RFC 6455 has it: a connection, then the HTTP/1.1 upgrade.
async fn http1_stages(
    req: &ConnectRequest,
    target: &Target,
    upgrade_request: &UpgradeRequest,
    info: &mut HandshakeInfo,
    limit: Duration,
) -> Result<(Transport, handshake::Upgraded), StageError> {
    let mut transport = connection_stages(req, target, ALPN_HTTP1, info, limit).await?;
    let upgraded = run_upgrade(&mut transport, upgrade_request, info, limit).await?;
    Ok((transport, upgraded))
}

enum H2Outcome {
    /// The extended CONNECT succeeded: the stream is the WebSocket.
    Open(super::h2::H2Stream),
    /// `auto` over TLS, and the server's ALPN chose HTTP/1.1.
    Http1(Box<Transport>),
    Failed(super::h2::ConnectFailure),
}

/// The WebSocket over HTTP/2: a shared connection when there is one (`h2_share`), else a new one (ALPN `h2` for
/// wss, prior knowledge for ws), the server's SETTINGS, then the extended CONNECT.
async fn h2_stages(
    req: &ConnectRequest,
    target: &Target,
    upgrade_request: &UpgradeRequest,
    info: &mut HandshakeInfo,
    limit: Duration,
) -> H2Outcome {
    use super::h2;
    use crate::model::h2::HttpVersion;
    let key = h2::pool_key(req, target);
    if req.h2_share
        && let Some(conn) = h2::pooled(&key)
    {
        match h2::open_stream(&conn, target, upgrade_request, info, true, limit).await {
            Ok(mut stream) => {
                h2::share(key, &conn, &mut stream);
                return H2Outcome::Open(stream);
            }
            // The shared connection takes no new stream (a GOAWAY, its stream limit): a fresh one.
            Err(failure) if failure.before_headers && !failure.fallback => {
                h2::forget(&key);
                info.h2 = None;
                info.tls = None;
                info.peer_addr = None;
                info.checks.clear();
            }
            Err(failure) => return H2Outcome::Failed(failure),
        }
    }
    let alpn: &[&[u8]] = match req.http_version {
        HttpVersion::Http2 => &[b"h2"],
        _ => &[b"h2", b"http/1.1"],
    };
    let transport = match connection_stages(req, target, alpn, info, limit).await {
        Ok(t) => t,
        Err(error) => return H2Outcome::Failed(error.into()),
    };
    let mode = if target.secure {
        let chosen = info.tls.as_ref().and_then(|t| t.alpn.clone());
        if chosen.as_deref() != Some("h2") {
            if req.http_version == HttpVersion::Auto {
                return H2Outcome::Http1(Box::new(transport));
            }
            let what = match chosen {
                Some(p) => format!("chose '{p}' in ALPN"),
                None => "chose no protocol in ALPN".to_owned(),
            };
            return H2Outcome::Failed(
                StageError::new(
                    Stage::Handshake,
                    format!(
                        "the server {what}, not h2: it does not speak HTTP/2 here (use HTTP/1.1 or auto)"
                    ),
                )
                .into(),
            );
        }
        "h2"
    } else {
        "h2c"
    };
    let conn = match h2::connect(transport, req, mode, info, limit).await {
        Ok(c) => c,
        Err(error) => {
            // ALPN chose h2 and HTTP/2 did not start (no SETTINGS, an HTTP/1.1 answer): auto may try HTTP/1.1.
            return H2Outcome::Failed(h2::ConnectFailure {
                fallback: error.stage == Stage::Handshake,
                before_headers: false,
                error,
            });
        }
    };
    match h2::open_stream(&conn, target, upgrade_request, info, false, limit).await {
        Ok(mut stream) => {
            if req.h2_share {
                h2::share(key, &conn, &mut stream);
            }
            H2Outcome::Open(stream)
        }
        Err(failure) => H2Outcome::Failed(failure),
    }
}

/// DNS (unless the host is an address) and TCP. With a proxy, both concern the proxy; the proxy resolves the
/// target.
async fn tcp_stage(
    target: &Target,
    proxy: Option<&Proxy>,
    info: &mut HandshakeInfo,
    limit: Duration,
) -> Result<TcpStream, StageError> {
    let (host, port, ip) = match proxy {
        Some(p) => (p.host.clone(), p.port, p.host.parse::<IpAddr>().ok()),
        None => (target.host.clone(), target.port, target.ip),
    };
    let addrs = match ip {
        Some(ip) => vec![SocketAddr::new(ip, port)],
        None => {
            let (addrs, t) = timed(
                Stage::Dns,
                &format!("resolving {host}"),
                limit,
                resolve(&host, port),
            )
            .await?;
            info.timings.dns_ms = Some(t);
            addrs
        }
    };
    let what = match proxy {
        Some(p) => format!("connecting to the proxy {}", p.display()),
        None => format!(
            "connecting to {}",
            addrs.first().map(|a| a.to_string()).unwrap_or_default()
        ),
    };
    let (tcp, t) = timed(
        Stage::Tcp,
        &what,
        limit,
        connect_tcp(&addrs, proxy.is_some()),
    )
    .await?;
    info.timings.tcp_ms = Some(t);
    info.peer_addr = tcp.peer_addr().ok().map(|a| a.to_string());
    Ok(tcp)
}

/// The tunnel through an HTTP CONNECT or SOCKS5 proxy; the exchange is kept for the inspector either way.
async fn proxy_stage(
    mut tcp: TcpStream,
    proxy: &Proxy,
    target: &Target,
    info: &mut HandshakeInfo,
    limit: Duration,
) -> Result<TcpStream, StageError> {
    let mut exchange = ProxyExchange {
        kind: match proxy.scheme {
            ProxyScheme::Http => "HTTP CONNECT".into(),
            ProxyScheme::Socks5 => "SOCKS5".into(),
        },
        proxy: proxy.display(),
        source: proxy.source.clone(),
        ..ProxyExchange::default()
    };
    let what = format!("{} via {}", exchange.kind, proxy.display());
    let negotiated = match proxy.scheme {
        ProxyScheme::Http => {
            timed(Stage::Proxy, &what, limit, async {
                http_connect(&mut tcp, proxy, target, &mut exchange)
                    .await
                    .map(|()| tcp)
            })
            .await
        }
        ProxyScheme::Socks5 => {
            timed(
                Stage::Proxy,
                &what,
                limit,
                socks5_connect(tcp, proxy, target, &mut exchange),
            )
            .await
        }
    };
    info.proxy = Some(exchange);
    let (tunnel, t) = negotiated?;
    info.timings.proxy_ms = Some(t);
    Ok(tunnel)
}

/// The TLS handshake. On failure the inspector still gets what the server sent; on success, the session and
/// warnings about the certificate's dates.
async fn tls_stage(
    req: &ConnectRequest,
    target: &Target,
    tcp: TcpStream,
    alpn: &[&[u8]],
    info: &mut HandshakeInfo,
    limit: Duration,
) -> Result<TlsStream<TcpStream>, StageError> {
    let config = tls_config(&req.tls).await?;
    let sni = req
        .tls
        .sni
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .unwrap_or(&target.host)
        .to_owned();
    if req.tls.insecure {
        info.warnings.push(
            "TLS certificate verification is disabled (insecure): the server's identity was not checked"
                .to_owned(),
        );
    }
    let what = format!("TLS with {sni}");
    let mut refused = None;
    let handshake = async {
        tls::handshake(&config, &sni, tcp, alpn)
            .await
            .map_err(|failure| {
                refused = Some((failure.certificates, failure.certificate_refused));
                failure.error
            })
    };
    let shaken = timed(Stage::Tls, &what, limit, handshake).await;
    if let Err(error) = &shaken {
        // The inspector shows what the server sent, and the ways forward.
        let (certificates, certificate_refused) = refused.unwrap_or_default();
        info.tls = Some(TlsInfo {
            version: "not negotiated".into(),
            cipher: "-".into(),
            key_exchange: None,
            alpn: None,
            sni: sni.clone(),
            insecure: req.tls.insecure,
            handshake_kind: "failed".into(),
            certificates,
            failure: Some(error.message.clone()),
            certificate_refused,
        });
    }
    let (tls, t) = shaken?;
    info.timings.tls_ms = Some(t);
    let session = tls::describe_session(tls.get_ref().1, &sni, req.tls.insecure);
    if let Some(leaf) = session.certificates.first() {
        if leaf.days_left < 0 {
            info.warnings.push(format!(
                "the server's certificate expired {} days ago ({})",
                -leaf.days_left, leaf.not_after
            ));
        } else if leaf.days_left < 14 {
            info.warnings.push(format!(
                "the server's certificate expires in {} days ({})",
                leaf.days_left, leaf.not_after
            ));
        }
    }
    info.tls = Some(session);
    Ok(tls)
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

async fn tls_config(options: &crate::model::TlsOptions) -> Result<tls::TlsConfig, StageError> {
    // Loading the OS trust store and CA files reads files: keep it off the async workers.
    let options = options.clone();
    tokio::task::spawn_blocking(move || tls::config_for(&options))
        .await
        .map_err(|e| {
            StageError::new(
                Stage::Tls,
                format!("loading the TLS configuration failed: {e}"),
            )
        })?
}

async fn resolve(host: &str, port: u16) -> Result<Vec<SocketAddr>, StageError> {
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| StageError::new(Stage::Dns, format!("could not resolve '{host}': {e}")))?
        .collect();
    if addrs.is_empty() {
        return Err(StageError::new(
            Stage::Dns,
            format!("'{host}' resolved to no addresses"),
        ));
    }
    Ok(addrs)
}

async fn connect_tcp(addrs: &[SocketAddr], to_proxy: bool) -> Result<TcpStream, StageError> {
    let stage = if to_proxy { Stage::Proxy } else { Stage::Tcp };
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
        return Err(StageError::new(stage, "no address to connect to"));
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
    let whom = if to_proxy { "the proxy at " } else { "" };
    Err(StageError::new(
        stage,
        format!("could not connect to {whom}{addr}: {why}"),
    ))
}

/// The largest HTTP response body [`http_post`] reads.
const MAX_HTTP_BODY: usize = 1 << 20;

/// An HTTP POST with an empty body to `url` (http/https or ws/wss), through the same stages as a connection
/// (DNS, TCP, the proxy, TLS with the request's TLS options) and with the request's own headers (its
/// Authorization, cookies, …): the status and the body (at most 1 MiB). SignalR's negotiate uses it.
pub async fn http_post(req: &ConnectRequest, url: &str) -> Result<(u16, Vec<u8>), StageError> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let limit = req.connect_timeout();
    let target = parse_target(url)?;
    let mut info = HandshakeInfo::default();
    let mut transport = connection_stages(req, &target, ALPN_HTTP1, &mut info, limit).await?;
    let mut head = format!(
        "POST {} HTTP/1.1\r\nHost: {}\r\nContent-Length: 0\r\nContent-Type: text/plain;charset=UTF-8\r\nAccept: */*\r\nConnection: close\r\n",
        target.resource, target.host_header
    );
    // The request's own headers (the URL's Basic credentials, its Authorization, cookies, …), with one
    // Authorization: the last given (a header of the user's, or a redirect's bearer token, over the URL's).
    let extra = handshake::extra_headers(req)?;
    let last_auth = extra
        .iter()
        .rposition(|(name, _)| name.eq_ignore_ascii_case("Authorization"));
    for (i, (name, value)) in extra.into_iter().enumerate() {
        if name.eq_ignore_ascii_case("Authorization") && Some(i) != last_auth {
            continue;
        }
        if !name.eq_ignore_ascii_case("Sec-WebSocket-Extensions") {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
    }
    head.push_str("\r\n");
    let exchange = async {
        transport.write_all(head.as_bytes()).await?;
        transport.flush().await?;
        let mut response = Vec::new();
        let mut chunk = [0u8; 8192];
        loop {
            let n = transport.read(&mut chunk).await?;
            if n == 0 {
                break;
            }
            response.extend_from_slice(&chunk[..n]);
            if response.len() > MAX_HTTP_BODY + 64 * 1024 {
                return Err(io::Error::other("the response is larger than 1 MiB"));
            }
            if let Some(done) = http_response_complete(&response) {
                response.truncate(done);
                break;
            }
        }
        Ok::<_, io::Error>(response)
    };
    let what = format!("POST {}", target.resource);
    let (response, _) = timed(Stage::Handshake, &what, limit, async {
        exchange
            .await
            .map_err(|e| StageError::new(Stage::Handshake, format!("{what}: {e}")))
    })
    .await?;
    parse_http_response(&response)
        .map_err(|why| StageError::new(Stage::Handshake, format!("{what}: {why}")))
}

/// The length of a complete response (head and a Content-Length or chunked body), once it is all there.
fn http_response_complete(bytes: &[u8]) -> Option<usize> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut response = httparse::Response::new(&mut headers);
    let Ok(httparse::Status::Complete(head)) = response.parse(bytes) else {
        return None;
    };
    let header = |name: &str| {
        response
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| String::from_utf8_lossy(h.value).into_owned())
    };
    if let Some(length) = header("content-length").and_then(|l| l.trim().parse::<usize>().ok()) {
        // A length past the limit: take what came (the caller refuses a response that big).
        let end = head.saturating_add(length.min(MAX_HTTP_BODY + 1));
        return (bytes.len() >= end).then_some(end);
    }
    if header("transfer-encoding").is_some_and(|t| t.to_ascii_lowercase().contains("chunked")) {
        return dechunk(&bytes[head..]).map(|(_, used)| head + used);
    }
    None
}

/// A chunked body: its bytes and how many bytes of input it used, once the last chunk came.
pub(crate) fn dechunk(mut bytes: &[u8]) -> Option<(Vec<u8>, usize)> {
    let total = bytes.len();
    let mut body = Vec::new();
    loop {
        let eol = bytes.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&bytes[..eol]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        bytes = &bytes[eol + 2..];
        if size == 0 {
            // Trailers, if any, end with an empty line.
            let mut at = 0;
            loop {
                let line = bytes[at..].windows(2).position(|w| w == b"\r\n")?;
                at += line + 2;
                if line == 0 {
                    return Some((body, total - bytes.len() + at));
                }
            }
        }
        if size > MAX_HTTP_BODY || bytes.len() < size.saturating_add(2) {
            return None;
        }
        body.extend_from_slice(&bytes[..size]);
        bytes = &bytes[size + 2..];
    }
}

/// The status and body of a whole response.
fn parse_http_response(bytes: &[u8]) -> Result<(u16, Vec<u8>), String> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut response = httparse::Response::new(&mut headers);
    let head = match response.parse(bytes) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => {
            return Err("the connection closed before the response's headers ended".into());
        }
        Err(e) => return Err(format!("not an HTTP response ({e})")),
    };
    let status = response.code.unwrap_or(0);
    let chunked = response.headers.iter().any(|h| {
        h.name.eq_ignore_ascii_case("transfer-encoding")
            && String::from_utf8_lossy(h.value)
                .to_ascii_lowercase()
                .contains("chunked")
    });
    let rest = &bytes[head..];
    let body = if chunked {
        dechunk(rest)
            .map(|(b, _)| b)
            .ok_or("the chunked body ended early")?
    } else {
        rest.to_vec()
    };
    Ok((status, body))
}

#[cfg(test)]
mod http_tests {
    use super::*;

    #[test]
    fn responses_with_a_length_or_chunks_are_read_whole() {
        let plain = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}";
        assert_eq!(http_response_complete(plain), Some(plain.len()));
        assert_eq!(http_response_complete(&plain[..plain.len() - 1]), None);
        assert_eq!(parse_http_response(plain), Ok((200, b"{}".to_vec())));
        let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{\"\r\n4\r\na\":1\r\n0\r\n\r\n";
        assert_eq!(http_response_complete(chunked), Some(chunked.len()));
        assert_eq!(
            parse_http_response(chunked),
            Ok((200, b"{\"a\":1".to_vec()))
        );
        assert!(parse_http_response(b"garbage\r\n\r\n").is_err());
    }
}
