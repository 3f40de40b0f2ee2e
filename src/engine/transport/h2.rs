//! WebSockets over HTTP/2 (RFC 8441): the HTTP/2 connection (ALPN `h2` or h2c with prior knowledge), the
//! server's SETTINGS, the extended CONNECT, and one stream as the byte stream under the WebSocket.
//!
//! The `h2` crate runs the connection in a task of its own; [`H2Stream`] is the WebSocket's side of one stream
//! (DATA in, flow-control credit returned as tungstenite takes the bytes; writes wait for send capacity, so at
//! most h2's send buffer waits in memory). [`Tapped`] reads the frame headers both ways as they pass
//! (`model::h2::FrameTap`), so the inspector shows the SETTINGS as sent and a RST_STREAM or GOAWAY in words.
//! With `h2_share`, connections are kept in [`POOL`] by origin and TLS settings: a second WebSocket opens a
//! stream on the first one's connection.

use crate::engine::handshake::{self, UpgradeRequest};
use crate::engine::stream::Transport;
use crate::engine::target::Target;
use crate::model::h2::{FrameTap, H2Info, connect_headers, error_code_words};
use crate::model::{
    Check, CheckOutcome, ConnectRequest, HandshakeInfo, HttpHead, Stage, StageError, TlsInfo,
};
use bytes::{Buf, Bytes};
use std::collections::HashMap;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;

/// The largest chunk one write asks send capacity for.
const WRITE_CHUNK: usize = 64 * 1024;
/// What h2 keeps buffered for sending, at most, per stream.
const SEND_BUFFER: usize = 256 * 1024;
/// The largest body of a refused CONNECT kept for the inspector.
const MAX_BODY: usize = 64 * 1024;

/// What both directions' frame readers saw, and when the connection ended.
#[derive(Debug, Default)]
pub struct TapState {
    /// The server's frames.
    pub from_server: FrameTap,
    /// Ours (after the 24-byte connection preface).
    pub from_us: FrameTap,
    preface_left: usize,
    /// The first bytes the server sent, to tell an HTTP/1.1 answer to h2c.
    pub first_bytes: Vec<u8>,
    /// Why the connection ended, once it did.
    pub ended: Option<String>,
}

type Shared = Arc<(Mutex<TapState>, Notify)>;

/// SETTINGS as sent: (identifier, value) in order.
type Settings = Vec<(u16, u32)>;

fn lock(shared: &Shared) -> std::sync::MutexGuard<'_, TapState> {
    shared.0.lock().unwrap_or_else(|p| p.into_inner())
}

/// The transport under h2, with the frame readers on both directions.
pub struct Tapped {
    inner: Transport,
    shared: Shared,
}

impl AsyncRead for Tapped {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let result = Pin::new(&mut this.inner).poll_read(cx, buf);
        let new = &buf.filled()[before..];
        if !new.is_empty() {
            let mut state = lock(&this.shared);
            let had = state.from_server.settings.is_some();
            if state.first_bytes.len() < 16 {
                let take = (16 - state.first_bytes.len()).min(new.len());
                state.first_bytes.extend_from_slice(&new[..take]);
            }
            state.from_server.feed(new);
            let now = state.from_server.settings.is_some();
            drop(state);
            if now && !had {
                this.shared.1.notify_one();
            }
        }
        result
    }
}

impl AsyncWrite for Tapped {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = result {
            let mut state = lock(&this.shared);
            let skip = state.preface_left.min(n);
            state.preface_left -= skip;
            state.from_us.feed(&buf[skip..n]);
        }
        result
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// An open HTTP/2 connection: where new streams are asked for, and what was seen of it.
#[derive(Clone)]
pub struct H2Connection {
    send: h2::client::SendRequest<Bytes>,
    shared: Shared,
    /// The open WebSockets on it (for the pool: the last one to close lets the connection go).
    users: Arc<std::sync::atomic::AtomicUsize>,
    /// `h2` or `h2c`.
    mode: &'static str,
    /// The TLS session and peer of the connection (for a stream opened on it later).
    tls: Option<TlsInfo>,
    peer_addr: Option<String>,
}

/// An error of an HTTP/2 stream in plain words (RST_STREAM, GOAWAY), carried inside an `io::Error`.
#[derive(Debug)]
pub struct H2StreamError(pub String);

impl std::fmt::Display for H2StreamError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for H2StreamError {}

/// `err` in words, with what the frame reader saw (the GOAWAY's debug data).
fn describe(err: &h2::Error, shared: &Shared, stream: Option<u32>) -> String {
    let state = lock(shared);
    // A GOAWAY the server sent explains what follows it: h2's own error, or the broken pipe of the close after.
    if ((err.is_go_away() && err.is_remote()) || err.is_io())
        && let Some(g) = &state.from_server.goaway
    {
        return format!("the server closed the HTTP/2 connection: {}", g.describe());
    }
    if let Some(reason) = err.reason() {
        let code = u32::from(reason);
        let whose = if err.is_remote() {
            "the server"
        } else {
            "sockscope"
        };
        if err.is_go_away() {
            return format!(
                "{whose} closed the HTTP/2 connection: GOAWAY {}",
                error_code_words(code)
            );
        }
        if err.is_reset() {
            let on = stream.map(|s| format!(" {s}")).unwrap_or_default();
            return format!(
                "{whose} reset the HTTP/2 stream{on}: RST_STREAM {}",
                error_code_words(code)
            );
        }
        return format!("HTTP/2 error: {}", error_code_words(code));
    }
    if let Some(io) = err.get_io() {
        return format!("the HTTP/2 connection failed: {io}");
    }
    if let Some(ended) = &state.ended {
        return ended.clone();
    }
    format!("HTTP/2: {err}")
}

fn stage_error(stage: Stage, message: impl Into<String>) -> StageError {
    StageError::new(stage, message)
}

/// The connection's window: the stream's (at least 1 MiB), or with sharing room for 16 streams' worth, so that
/// one stream whose reader stalls cannot hold every other stream on the connection.
fn connection_window(req: &ConnectRequest) -> u32 {
    let stream = req.h2_window_bytes.max(1 << 20);
    if req.h2_share {
        stream.saturating_mul(16).min(0x7fff_ffff)
    } else {
        stream
    }
}

/// Ours, as the SETTINGS h2 sends with the builder below say.
fn builder(req: &ConnectRequest) -> h2::client::Builder {
    let mut b = h2::client::Builder::new();
    b.enable_push(false)
        .initial_window_size(req.h2_window_bytes.max(1))
        .initial_connection_window_size(connection_window(req))
        .max_send_buffer_size(SEND_BUFFER);
    b
}

/// Starts HTTP/2 on `transport` (after ALPN picked `h2`, or over plain TCP with prior knowledge) and waits for
/// the server's SETTINGS. Their arrival is timed as the "h2 settings" stage.
pub async fn connect(
    transport: Transport,
    req: &ConnectRequest,
    mode: &'static str,
    info: &mut HandshakeInfo,
    limit: Duration,
) -> Result<H2Connection, StageError> {
    let started = Instant::now();
    let shared: Shared = Arc::new((
        Mutex::new(TapState {
            preface_left: 24,
            ..TapState::default()
        }),
        Notify::new(),
    ));
    let io = Tapped {
        inner: transport,
        shared: shared.clone(),
    };
    let waited = tokio::time::timeout(limit, async {
        let (send, connection) = builder(req).handshake::<_, Bytes>(io).await.map_err(|e| {
            stage_error(
                Stage::Handshake,
                format!("the HTTP/2 connection could not start: {}", describe(&e, &shared, None)),
            )
        })?;
        let watcher = shared.clone();
        tokio::spawn(async move {
            let outcome = connection.await;
            let why = match &outcome {
                Ok(()) => "the HTTP/2 connection ended".to_owned(),
                Err(e) => describe(e, &watcher, None),
            };
            lock(&watcher).ended = Some(why);
            watcher.1.notify_one();
        });
        loop {
            {
                let state = lock(&shared);
                if state.from_server.settings.is_some() {
                    break;
                }
                if let Some(ended) = &state.ended {
                    let message = if state.first_bytes.starts_with(b"HTTP/") {
                        format!(
                            "the server answered the HTTP/2 connection preface in HTTP/1.1: it does not speak \
                             {mode}"
                        )
                    } else if state.first_bytes.is_empty() {
                        format!(
                            "the server closed the connection without answering the HTTP/2 connection preface: \
                             it does not speak {mode}"
                        )
                    } else {
                        format!("the HTTP/2 connection ended before the server's SETTINGS: {ended}")
                    };
                    return Err(stage_error(Stage::Handshake, message));
                }
            }
            shared.1.notified().await;
        }
        Ok(send)
    })
    .await;
    info.timings.h2_settings_ms = Some(crate::model::millis(started.elapsed().as_secs_f64()));
    let send = match waited {
        Ok(r) => r?,
        Err(_) => {
            return Err(stage_error(
                Stage::Timeout,
                format!(
                    "the server sent no HTTP/2 SETTINGS within {}",
                    crate::engine::pipeline::human_duration(limit)
                ),
            ));
        }
    };
    Ok(H2Connection {
        send,
        shared,
        users: Arc::default(),
        mode,
        tls: info.tls.clone(),
        peer_addr: info.peer_addr.clone(),
    })
}

impl H2Connection {
    /// Whether a new stream can still be opened on it.
    fn usable(&self) -> bool {
        let state = lock(&self.shared);
        state.ended.is_none() && state.from_server.goaway.is_none()
    }

    /// The server's SETTINGS and ours, as sent.
    fn settings(&self) -> (Settings, Settings) {
        let state = lock(&self.shared);
        (
            state.from_server.merged_settings(),
            state.from_us.settings.clone().unwrap_or_default(),
        )
    }
}

/// A failed extended CONNECT, and what may follow it.
#[derive(Debug)]
pub struct ConnectFailure {
    pub error: StageError,
    /// `auto` may try HTTP/1.1: the server does not enable the extended CONNECT, or asked for HTTP/1.1.
    pub fallback: bool,
    /// Nothing of the request went out (a shared connection that takes no new stream: try a fresh one).
    pub before_headers: bool,
}

impl From<StageError> for ConnectFailure {
    fn from(error: StageError) -> Self {
        Self {
            error,
            fallback: false,
            before_headers: false,
        }
    }
}

/// Opens the WebSocket as an extended CONNECT on `conn`; `info` gets the HTTP/2 side and the checks.
pub async fn open_stream(
    conn: &H2Connection,
    target: &Target,
    request: &UpgradeRequest,
    info: &mut HandshakeInfo,
    reused: bool,
    limit: Duration,
) -> Result<H2Stream, ConnectFailure> {
    let started = Instant::now();
    let (server_settings, our_settings) = conn.settings();
    let mut h2 = H2Info {
        mode: conn.mode.to_owned(),
        reused,
        server_settings,
        our_settings,
        ..H2Info::default()
    };
    if reused {
        info.tls = conn.tls.clone();
        info.peer_addr = conn.peer_addr.clone();
    }
    let enabled = h2.connect_enabled();
    let settings_check = Check {
        name: "HTTP/2 SETTINGS".into(),
        outcome: if enabled {
            CheckOutcome::Pass
        } else {
            CheckOutcome::Fail
        },
        detail: if enabled {
            "SETTINGS_ENABLE_CONNECT_PROTOCOL = 1: the server accepts WebSockets over HTTP/2 (RFC 8441)".into()
        } else {
            "the server's SETTINGS do not enable the extended CONNECT (no SETTINGS_ENABLE_CONNECT_PROTOCOL = 1): \
             it takes no WebSockets over HTTP/2"
                .into()
        },
    };
    let scheme = if target.secure { "https" } else { "http" };
    let authority = crate::model::h2::authority(&request.head.headers)
        .unwrap_or_else(|| target.host_header.clone());
    let headers = connect_headers(&request.head.headers);
    h2.request_headers = vec![
        (":method".into(), "CONNECT".into()),
        (":protocol".into(), "websocket".into()),
        (":scheme".into(), scheme.into()),
        (":authority".into(), authority.clone()),
        (":path".into(), target.resource.clone()),
    ];
    h2.request_headers.extend(headers.iter().cloned());
    info.method = "CONNECT".into();
    info.target = target.resource.clone();
    info.request = HttpHead {
        start_line: format!("CONNECT {} HTTP/2 (:protocol websocket)", target.resource),
        headers: h2.request_headers.clone(),
    };
    info.checks = vec![settings_check.clone()];
    if !enabled {
        info.request_raw = render_headers("HEADERS (not sent)", &h2.request_headers);
        let error = stage_error(Stage::Handshake, settings_check.detail);
        info.h2 = Some(Box::new(h2));
        return Err(ConnectFailure {
            error,
            fallback: true,
            before_headers: true,
        });
    }
    let uri = format!("{scheme}://{authority}{}", target.resource);
    let mut builder = http::Request::builder()
        .method(http::Method::CONNECT)
        .uri(&uri);
    for (name, value) in &headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    let mut http_request = builder.body(()).map_err(|e| {
        stage_error(
            Stage::Handshake,
            format!("the extended CONNECT could not be built ({uri}): {e}"),
        )
    })?;
    http_request
        .extensions_mut()
        .insert(h2::ext::Protocol::from_static("websocket"));
    let shared = conn.shared.clone();
    let send_request = conn.send.clone();
    let tap = shared.clone();
    let exchange = async move {
        let shared = tap;
        let mut send_request = send_request.ready().await.map_err(|e| {
            stage_error(
                Stage::Handshake,
                format!(
                    "the HTTP/2 connection takes no new stream: {}",
                    describe(&e, &shared, None)
                ),
            )
        })?;
        let (response, send) = send_request
            .send_request(http_request, false)
            .map_err(|e| {
                stage_error(
                    Stage::Handshake,
                    format!(
                        "the extended CONNECT could not be sent: {}",
                        describe(&e, &shared, None)
                    ),
                )
            })?;
        let stream_id = response.stream_id().as_u32();
        let response = response.await.map_err(|e| (stream_id, e));
        Ok::<_, StageError>((stream_id, response, send))
    };
    let outcome = tokio::time::timeout(limit, exchange).await;
    let before_headers = matches!(&outcome, Ok(Err(_)));
    info.timings.upgrade_ms = Some(crate::model::millis(started.elapsed().as_secs_f64()));
    let (stream_id, response, send) = match outcome {
        Err(_) => {
            info.request_raw = render_headers("HEADERS", &h2.request_headers);
            info.h2 = Some(Box::new(h2));
            return Err(stage_error(
                Stage::Timeout,
                format!(
                    "no response to the extended CONNECT within {}",
                    crate::engine::pipeline::human_duration(limit)
                ),
            )
            .into());
        }
        Ok(Err(error)) => {
            info.request_raw = render_headers("HEADERS", &h2.request_headers);
            info.h2 = Some(Box::new(h2));
            return Err(ConnectFailure {
                error,
                fallback: false,
                before_headers,
            });
        }
        Ok(Ok(v)) => v,
    };
    h2.stream_id = stream_id;
    info.request_raw = render_headers(
        &format!("HEADERS (stream {stream_id})"),
        &h2.request_headers,
    );
    let response = match response {
        Ok(r) => r,
        Err((id, e)) => {
            let error = stage_error(
                Stage::Handshake,
                format!(
                    "the extended CONNECT failed: {}",
                    describe(&e, &shared, Some(id))
                ),
            );
            info.h2 = Some(Box::new(h2));
            // As browsers do: HTTP/1.1 is tried again only when the server asks for it.
            let http1_required = e.reason() == Some(h2::Reason::HTTP_1_1_REQUIRED);
            return Err(ConnectFailure {
                error,
                fallback: http1_required,
                before_headers: false,
            });
        }
    };
    let (parts, mut recv) = response.into_parts();
    let status = parts.status.as_u16();
    info.status = status;
    info.reason = parts.status.canonical_reason().unwrap_or("").to_owned();
    h2.response_headers = vec![(":status".into(), status.to_string())];
    h2.response_headers
        .extend(parts.headers.iter().map(|(n, v)| {
            (
                n.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        }));
    info.response = HttpHead {
        start_line: format!("HTTP/2 {status} {}", info.reason)
            .trim_end()
            .to_owned(),
        headers: h2.response_headers[1..].to_vec(),
    };
    info.response_raw = render_headers(
        &format!("HEADERS (stream {stream_id})"),
        &h2.response_headers,
    );
    if !parts.status.is_success() {
        let body_wait = Duration::from_millis(500).min(limit);
        info.response_body = read_body(&mut recv, body_wait).await;
        let error = refused_error(info);
        info.checks.push(Check {
            name: "Status".into(),
            outcome: CheckOutcome::Fail,
            detail: format!("{status} {} instead of a 2xx (RFC 9113 §8.5)", info.reason),
        });
        info.h2 = Some(Box::new(h2));
        // A refusal over HTTP/2 is the server's answer: no second try over HTTP/1.1 (browsers make none).
        return Err(error.into());
    }
    info.checks.push(Check {
        name: "Status".into(),
        outcome: CheckOutcome::Pass,
        detail: if status == 200 {
            "200: the stream is the WebSocket".into()
        } else {
            format!("{status}: a 2xx, success (RFC 9113 §8.5)")
        },
    });
    let response_headers = info.response.headers.clone();
    let subprotocol = handshake::check_subprotocol(&response_headers, request, info);
    info.checks.push(subprotocol);
    let extensions = handshake::check_extensions(&response_headers, request, info);
    info.checks.push(extensions);
    info.h2 = Some(Box::new(h2));
    if let Some(failed) = info.checks.iter().find(|c| c.outcome == CheckOutcome::Fail) {
        let error = stage_error(Stage::Handshake, failed.detail.clone());
        return Err(error.into());
    }
    Ok(H2Stream {
        send,
        recv,
        pending: Bytes::new(),
        ended: false,
        shared,
        stream_id,
        lease: None,
    })
}

/// The error for a CONNECT answered with a status that is not 2xx, like a failed HTTP/1.1 upgrade's.
fn refused_error(info: &HandshakeInfo) -> StageError {
    let mut msg = format!(
        "the server answered the extended CONNECT with {} {} instead of 200",
        info.status, info.reason
    );
    msg.push_str(handshake::refusal_hint(info.status));
    msg.push_str(&handshake::body_snippet(&info.response_body));
    StageError::new(Stage::Handshake, msg)
}

/// The body of a refused CONNECT: what arrives within `wait`, at most 64 KiB.
async fn read_body(recv: &mut h2::RecvStream, wait: Duration) -> Vec<u8> {
    let mut body = Vec::new();
    let _ = tokio::time::timeout(wait, async {
        while let Some(Ok(chunk)) = recv.data().await {
            let _ = recv.flow_control().release_capacity(chunk.len());
            let room = MAX_BODY - body.len();
            body.extend_from_slice(&chunk[..chunk.len().min(room)]);
            if body.len() >= MAX_BODY {
                break;
            }
        }
    })
    .await;
    body
}

/// Header fields as the inspector shows them: a title line, then `name: value` per line.
fn render_headers(title: &str, headers: &[(String, String)]) -> Vec<u8> {
    let mut text = format!("{title}\r\n");
    for (n, v) in headers {
        text.push_str(&format!("{n}: {v}\r\n"));
    }
    text.into_bytes()
}

/// One HTTP/2 stream as a byte stream, under the WebSocket.
pub struct H2Stream {
    send: h2::SendStream<Bytes>,
    recv: h2::RecvStream,
    /// The DATA not yet handed on.
    pending: Bytes,
    ended: bool,
    shared: Shared,
    stream_id: u32,
    /// On a shared connection: its place in the pool, given up with the last stream.
    lease: Option<Lease>,
}

/// One WebSocket's hold on a pooled connection.
struct Lease {
    key: PoolKey,
    users: Arc<std::sync::atomic::AtomicUsize>,
}

impl Drop for Lease {
    fn drop(&mut self) {
        use std::sync::atomic::Ordering;
        if self.users.fetch_sub(1, Ordering::AcqRel) == 1 {
            // The last WebSocket on it closed: the pool lets the connection go (h2 then closes it), unless
            // another took it meanwhile (counted under the same lock as in `share`).
            let mut pool = pool();
            if pool.get(&self.key).is_some_and(|c| {
                Arc::ptr_eq(&c.users, &self.users) && self.users.load(Ordering::Acquire) == 0
            }) {
                pool.remove(&self.key);
            }
        }
    }
}

impl std::fmt::Debug for H2Stream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("H2Stream")
            .field("stream_id", &self.stream_id)
            .field("pending", &self.pending.len())
            .finish()
    }
}

impl H2Stream {
    /// Ends the stream, once: END_STREAM when the server has ended its side (an orderly close both ways), else
    /// RST_STREAM CANCEL ("no longer needed": the WebSocket's close handshake is complete). Servers that forget
    /// the stream after their close reply, as hypercorn does, fail on a DATA frame for it (even an empty one
    /// with END_STREAM), and take their whole connection down with it, other WebSockets on it included.
    pub fn end(&mut self) {
        if !std::mem::replace(&mut self.ended, true) {
            if self.recv.is_end_stream() {
                let _ = self.send.send_data(Bytes::new(), true);
            } else {
                self.send.send_reset(h2::Reason::CANCEL);
            }
        }
        // The stream is done: its hold on a shared connection ends now, before the connection reports its
        // close (the socket itself may be dropped a little later).
        self.lease = None;
    }

    fn error(&self, err: &h2::Error) -> io::Error {
        io::Error::other(H2StreamError(describe(
            err,
            &self.shared,
            Some(self.stream_id),
        )))
    }
}

impl AsyncRead for H2Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            if !this.pending.is_empty() {
                let n = this.pending.len().min(buf.remaining());
                buf.put_slice(&this.pending[..n]);
                this.pending.advance(n);
                // The credit goes back as the bytes are taken: the server sends no more than we hold.
                if let Err(e) = this.recv.flow_control().release_capacity(n) {
                    return Poll::Ready(Err(this.error(&e)));
                }
                return Poll::Ready(Ok(()));
            }
            match ready!(this.recv.poll_data(cx)) {
                None => return Poll::Ready(Ok(())),
                Some(Ok(data)) => this.pending = data,
                Some(Err(e)) => return Poll::Ready(Err(this.error(&e))),
            }
        }
    }
}

impl AsyncWrite for H2Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        if this.ended {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                H2StreamError("the HTTP/2 stream is already ended".into()),
            )));
        }
        loop {
            let capacity = this.send.capacity();
            if capacity > 0 {
                let n = capacity.min(buf.len());
                if let Err(e) = this
                    .send
                    .send_data(Bytes::copy_from_slice(&buf[..n]), false)
                {
                    return Poll::Ready(Err(this.error(&e)));
                }
                return Poll::Ready(Ok(n));
            }
            this.send.reserve_capacity(buf.len().min(WRITE_CHUNK));
            match ready!(this.send.poll_capacity(cx)) {
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Poll::Ready(Err(this.error(&e))),
                None => {
                    // The stream can take no more: say why, from what the server sent when it sent something.
                    let (reset, goaway) = {
                        let state = lock(&this.shared);
                        (
                            state.from_server.reset_of(this.stream_id),
                            state.from_server.goaway.clone(),
                        )
                    };
                    let why = match (reset, goaway, this.send.poll_reset(cx)) {
                        (Some(code), _, _) => format!(
                            "the server reset the HTTP/2 stream {}: RST_STREAM {}",
                            this.stream_id,
                            error_code_words(code)
                        ),
                        (None, Some(g), _) => {
                            format!("the server closed the HTTP/2 connection: {}", g.describe())
                        }
                        (None, None, Poll::Ready(Ok(reason))) => format!(
                            "the HTTP/2 stream {} was reset: {}",
                            this.stream_id,
                            error_code_words(u32::from(reason))
                        ),
                        _ => format!("the HTTP/2 stream {} is closed for sending", this.stream_id),
                    };
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::BrokenPipe,
                        H2StreamError(why),
                    )));
                }
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // h2's connection task writes what was queued.
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().end();
        Poll::Ready(Ok(()))
    }
}

/// Shared connections by origin: scheme, host, port, and the TLS and proxy settings they were made with.
type PoolKey = String;

/// HTTP/2 connections kept for `h2_share` (a dead one is replaced on the next use).
static POOL: OnceLock<Mutex<HashMap<PoolKey, H2Connection>>> = OnceLock::new();

fn pool() -> std::sync::MutexGuard<'static, HashMap<PoolKey, H2Connection>> {
    POOL.get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner())
}

/// The key of `req`'s connection in the pool.
pub fn pool_key(req: &ConnectRequest, target: &Target) -> PoolKey {
    format!(
        "{}|{}|{}|{:?}|{:?}|{}|{}",
        target.secure,
        target.host,
        target.port,
        req.tls,
        req.proxy,
        req.proxy_from_env,
        req.h2_window_bytes
    )
}

/// Forgets the shared connection for `key` (it takes no new stream).
pub fn forget(key: &PoolKey) {
    pool().remove(key);
}

/// A live shared connection for `key`, if one is kept.
pub fn pooled(key: &PoolKey) -> Option<H2Connection> {
    let mut pool = pool();
    match pool.get(key) {
        Some(conn) if conn.usable() => Some(conn.clone()),
        Some(_) => {
            pool.remove(key);
            None
        }
        None => None,
    }
}

/// Keeps `conn` for the next WebSocket to the same origin, for as long as `stream` or another WebSocket on it is
/// open.
pub fn share(key: PoolKey, conn: &H2Connection, stream: &mut H2Stream) {
    use std::sync::atomic::Ordering;
    let mut pool = pool();
    conn.users.fetch_add(1, Ordering::AcqRel);
    stream.lease = Some(Lease {
        key: key.clone(),
        users: conn.users.clone(),
    });
    pool.entry(key).or_insert_with(|| conn.clone());
}
