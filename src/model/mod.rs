//! Plain data shared by every layer: what a connection is asked to do, and what it reports.
//!
//! Nothing here knows about egui or tokio, so the GUI, the command line and the tests all speak the same types.

pub mod copy_as;
pub mod endpoint;
mod entry;
pub mod expect;
pub mod fsutil;
pub mod har;
pub mod junit;
pub mod k6;
pub mod ndjson;
mod payload;
pub mod session;
pub mod template;

pub use entry::{Direction, EntryExtra, LogEntry, MessageKind, saturating_nanos, unix_nanos};
pub use payload::{PayloadFormat, PayloadParseError, hex_dump, hex_string, parse_payload, preview};

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Identifies one connection for the lifetime of the process.
pub type ConnId = u32;

/// Everything needed to open one WebSocket connection.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ConnectRequest {
    /// The URL as the user typed it (`ws://`, `wss://`; `http(s)://` and bare `host:port` are accepted too).
    pub url: String,
    /// Extra request headers, in the order and case the user gave them.
    pub headers: Vec<(String, String)>,
    /// Subprotocols to offer in `Sec-WebSocket-Protocol`, in order of preference.
    pub subprotocols: Vec<String>,
    /// The `Origin` header, when set.
    pub origin: Option<String>,
    /// Bounds each stage up to and including the HTTP upgrade.
    pub connect_timeout_millis: u64,
    /// The largest message accepted from the peer, in bytes.
    pub max_message_size_bytes: usize,
    /// The largest single frame accepted from the peer, in bytes.
    pub max_frame_size_bytes: usize,
    /// TLS settings for `wss://`.
    pub tls: TlsOptions,
    /// Proxy URL (`http://[user:pass@]host:port` or `socks5://…`); `None` = see `proxy_from_env`.
    pub proxy: Option<String>,
    /// When no proxy is given, honour `HTTPS_PROXY` / `HTTP_PROXY` / `ALL_PROXY` / `NO_PROXY`.
    pub proxy_from_env: bool,
    /// Pings on an interval and the pong timeout.
    pub keepalive: Keepalive,
    /// An application-level message sent on an interval while connected.
    pub heartbeat: Option<Heartbeat>,
    /// Messages sent after every successful handshake (auth, subscribe), including reconnects.
    pub on_connect: Vec<OutgoingMessage>,
    /// Automatic reconnection.
    pub reconnect: ReconnectPolicy,
    /// Report every frame header seen on the wire (`connect --frames`, the GUI's frame view).
    pub observe_frames: bool,
}

/// A data message to send.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum OutgoingMessage {
    /// Text (templates such as `{{counter}}` are expanded when sent).
    Text(String),
    /// Binary.
    Binary(Vec<u8>),
}

/// A frame built by hand, for testing servers: any opcode, FIN and RSV bits, any payload.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RawFrame {
    /// Opcode, 0–15 (0 continuation, 1 text, 2 binary, 8 close, 9 ping, 10 pong; the rest are reserved).
    pub opcode: u8,
    /// The FIN bit.
    pub fin: bool,
    /// RSV1 (meaningful only with a negotiated extension).
    pub rsv1: bool,
    /// RSV2.
    pub rsv2: bool,
    /// RSV3.
    pub rsv3: bool,
    /// Payload bytes.
    pub payload: Vec<u8>,
}

impl RawFrame {
    /// What RFC 6455 says is wrong with this frame, if anything (for a one-time confirmation and the log).
    pub fn violation(&self) -> Option<String> {
        let mut problems = Vec::new();
        if self.opcode > 15 {
            problems.push(format!("opcode {} does not fit in 4 bits", self.opcode));
        } else if matches!(self.opcode, 3..=7 | 11..=15) {
            problems.push(format!("opcode 0x{:x} is reserved", self.opcode));
        }
        if self.rsv1 || self.rsv2 || self.rsv3 {
            problems.push("RSV bits set without a negotiated extension".to_owned());
        }
        if self.opcode >= 8 {
            if !self.fin {
                problems.push("a control frame must not be fragmented (FIN=0)".to_owned());
            }
            if self.payload.len() > MAX_CONTROL_PAYLOAD {
                problems.push(format!(
                    "a control frame payload may be at most 125 bytes (this one is {})",
                    self.payload.len()
                ));
            }
        }
        if self.opcode == 0 {
            problems.push("a continuation frame with no message started".to_owned());
        }
        (!problems.is_empty()).then(|| problems.join("; "))
    }

    /// The kinds of rule this frame breaks, for asking the user once per kind.
    pub fn violation_kinds(&self) -> Vec<&'static str> {
        let mut kinds = Vec::new();
        if self.opcode > 15 || matches!(self.opcode, 3..=7 | 11..=15) {
            kinds.push("reserved opcode");
        }
        if self.rsv1 || self.rsv2 || self.rsv3 {
            kinds.push("RSV bits");
        }
        if self.opcode >= 8 && !self.fin {
            kinds.push("fragmented control frame");
        }
        if self.opcode >= 8 && self.payload.len() > MAX_CONTROL_PAYLOAD {
            kinds.push("oversized control frame");
        }
        if self.opcode == 0 {
            kinds.push("orphan continuation frame");
        }
        kinds
    }

    /// "opcode 0x1 (text) FIN RSV1 …" for the log.
    pub fn describe(&self) -> String {
        let name = match self.opcode {
            0 => "continuation",
            1 => "text",
            2 => "binary",
            8 => "close",
            9 => "ping",
            10 => "pong",
            _ => "reserved",
        };
        let mut s = format!(
            "raw frame: opcode 0x{:x} ({name}), FIN={}",
            self.opcode,
            u8::from(self.fin)
        );
        for (bit, on) in [
            ("RSV1", self.rsv1),
            ("RSV2", self.rsv2),
            ("RSV3", self.rsv3),
        ] {
            if on {
                s.push_str(&format!(", {bit}=1"));
            }
        }
        s
    }
}

/// Splits `payload` into frames of at most `size` bytes: the first carries the opcode, the rest are
/// continuations, the last has FIN set. An empty payload is one empty final frame.
pub fn fragment(payload: &[u8], text: bool, size: usize) -> Vec<RawFrame> {
    let size = size.max(1);
    let chunks: Vec<&[u8]> = if payload.is_empty() {
        vec![&[][..]]
    } else {
        payload.chunks(size).collect()
    };
    let last = chunks.len() - 1;
    chunks
        .into_iter()
        .enumerate()
        .map(|(i, chunk)| RawFrame {
            opcode: if i > 0 {
                0
            } else if text {
                1
            } else {
                2
            },
            fin: i == last,
            payload: chunk.to_vec(),
            ..RawFrame::default()
        })
        .collect()
}

/// Pings on an interval.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Keepalive {
    /// Send a ping this often (milliseconds); `None` = never.
    pub ping_interval_millis: Option<u64>,
    /// A ping unanswered this long (milliseconds) marks the connection dead; `None` = never.
    pub pong_timeout_millis: Option<u64>,
    /// Drop a dead connection (and reconnect, when enabled) instead of only reporting it.
    pub close_when_dead: bool,
}

/// An application-level message sent on an interval.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Heartbeat {
    /// Interval in milliseconds.
    pub interval_millis: u64,
    /// The text to send (a template: `{{counter}}`, `{{timestamp_ms}}`, `{{uuid}}`, `{{random_int}}`).
    pub text: String,
}

impl Default for Heartbeat {
    fn default() -> Self {
        Self {
            interval_millis: 30_000,
            text: r#"{"type":"ping","n":{{counter}}}"#.into(),
        }
    }
}

/// Automatic reconnection with exponential backoff and jitter.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ReconnectPolicy {
    /// Reconnect when the connection ends without us closing it.
    pub enabled: bool,
    /// Give up after this many reconnection attempts; `None` = never give up.
    pub max_attempts: Option<u32>,
    /// Delay before the first reconnection, milliseconds.
    pub initial_delay_millis: u64,
    /// Longest delay between attempts, milliseconds.
    pub max_delay_millis: u64,
}

impl Default for ReconnectPolicy {
    fn default() -> Self {
        Self {
            enabled: false,
            max_attempts: Some(10),
            initial_delay_millis: 500,
            max_delay_millis: 30_000,
        }
    }
}

impl ReconnectPolicy {
    /// The delay before reconnection attempt `attempt` (1-based): doubling from the initial delay up to the
    /// maximum, then scaled by `jitter` in [0, 1) into the range [50 %, 100 %] so clients do not stampede.
    pub fn delay(&self, attempt: u32, jitter: f64) -> Duration {
        let base = self.initial_delay_millis.max(1) as f64
            * 2f64.powi(attempt.saturating_sub(1).min(30) as i32);
        let capped = base.min(self.max_delay_millis.max(1) as f64);
        Duration::from_millis((capped * (0.5 + 0.5 * jitter.clamp(0.0, 1.0))) as u64)
    }
}

/// TLS settings for `wss://` connections.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TlsOptions {
    /// A PEM file of extra CA certificates to trust, besides the web PKI and OS roots.
    pub ca_file: Option<std::path::PathBuf>,
    /// Skip certificate verification (shown as a warning wherever it applies).
    pub insecure: bool,
    /// PEM certificate chain presented to servers that ask for a client certificate (mTLS).
    pub client_cert_file: Option<std::path::PathBuf>,
    /// PEM private key for `client_cert_file`.
    pub client_key_file: Option<std::path::PathBuf>,
    /// Server name sent in SNI and checked against the certificate, instead of the URL's host.
    pub sni: Option<String>,
}

impl TlsOptions {
    /// True when nothing differs from the defaults (the shared default configuration applies).
    pub fn is_default(&self) -> bool {
        self == &Self::default()
    }
}

impl Default for ConnectRequest {
    fn default() -> Self {
        Self {
            url: String::new(),
            headers: Vec::new(),
            subprotocols: Vec::new(),
            origin: None,
            connect_timeout_millis: 10_000,
            max_message_size_bytes: 64 << 20,
            max_frame_size_bytes: 16 << 20,
            tls: TlsOptions::default(),
            proxy: None,
            proxy_from_env: true,
            keepalive: Keepalive::default(),
            heartbeat: None,
            on_connect: Vec::new(),
            reconnect: ReconnectPolicy::default(),
            observe_frames: false,
        }
    }
}

impl ConnectRequest {
    /// A request for `url` with default options.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            ..Self::default()
        }
    }

    /// The per-stage connect timeout.
    pub fn connect_timeout(&self) -> Duration {
        Duration::from_millis(self.connect_timeout_millis)
    }
}

/// Where a connection stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ConnState {
    /// No connection.
    Idle,
    /// Resolving, connecting, negotiating TLS or upgrading.
    Connecting,
    /// The handshake completed; messages flow.
    Open,
    /// We sent a close frame and wait for the peer's reply.
    Closing,
    /// The connection ended.
    Closed,
}

impl ConnState {
    /// A short word for display.
    pub fn label(self) -> &'static str {
        match self {
            Self::Idle => "not connected",
            Self::Connecting => "connecting",
            Self::Open => "open",
            Self::Closing => "closing",
            Self::Closed => "closed",
        }
    }
}

/// The stage of a connection at which something failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    /// The URL could not be understood.
    Url,
    /// The host name could not be resolved.
    Dns,
    /// The TCP connection could not be made.
    Tcp,
    /// A proxy refused or failed.
    Proxy,
    /// The TLS handshake failed.
    Tls,
    /// The HTTP upgrade failed.
    Handshake,
    /// Reading from an open connection failed.
    Read,
    /// Writing to an open connection failed.
    Write,
    /// A stage did not complete in time.
    Timeout,
    /// sockscope itself failed (a bug, caught so that only this connection ends).
    Internal,
}

impl Stage {
    /// The lower-case name used in NDJSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Url => "url",
            Self::Dns => "dns",
            Self::Tcp => "tcp",
            Self::Proxy => "proxy",
            Self::Tls => "tls",
            Self::Handshake => "handshake",
            Self::Read => "read",
            Self::Write => "write",
            Self::Timeout => "timeout",
            Self::Internal => "internal",
        }
    }

    /// The name shown to people.
    pub fn title(self) -> &'static str {
        match self {
            Self::Url => "URL",
            Self::Dns => "DNS",
            Self::Tcp => "TCP",
            Self::Proxy => "Proxy",
            Self::Tls => "TLS",
            Self::Handshake => "Handshake",
            Self::Read => "Read",
            Self::Write => "Write",
            Self::Timeout => "Timeout",
            Self::Internal => "Internal error",
        }
    }
}

/// A failure, with the stage it happened at and a plain-words explanation.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}: {message}", stage.title())]
pub struct StageError {
    /// Where it failed.
    pub stage: Stage,
    /// What failed and why, in plain words.
    pub message: String,
}

impl StageError {
    /// A new error at `stage`.
    pub fn new(stage: Stage, message: impl Into<String>) -> Self {
        Self {
            stage,
            message: message.into(),
        }
    }
}

/// Milliseconds spent in each stage of connecting (`None` for stages that did not run).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StageTimings {
    /// Name resolution.
    pub dns_ms: Option<f64>,
    /// TCP connect (to the proxy, when there is one).
    pub tcp_ms: Option<f64>,
    /// Proxy negotiation (HTTP CONNECT or SOCKS5).
    pub proxy_ms: Option<f64>,
    /// TLS handshake (wss only).
    pub tls_ms: Option<f64>,
    /// HTTP upgrade request and response.
    pub upgrade_ms: Option<f64>,
    /// From start to open (or failure).
    pub total_ms: f64,
}

/// An HTTP message of the upgrade exchange: start line and headers as on the wire.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HttpHead {
    /// The request line or status line, without CRLF.
    pub start_line: String,
    /// Headers in wire order and case, duplicates kept.
    pub headers: Vec<(String, String)>,
}

/// What happened during the HTTP upgrade.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HandshakeInfo {
    /// The request as sent.
    pub request: HttpHead,
    /// Request method (always GET).
    pub method: String,
    /// Request target (path and query).
    pub target: String,
    /// The exact request bytes.
    pub request_raw: Vec<u8>,
    /// The response head as received (empty when no response arrived).
    pub response: HttpHead,
    /// Response status code (0 when no response arrived).
    pub status: u16,
    /// Response reason phrase.
    pub reason: String,
    /// The exact response head bytes.
    pub response_raw: Vec<u8>,
    /// The response body of a non-101 reply (capped).
    pub response_body: Vec<u8>,
    /// The subprotocol the server selected.
    pub subprotocol: Option<String>,
    /// Time spent per stage.
    pub timings: StageTimings,
    /// Things that worked but deserve attention.
    pub warnings: Vec<String>,
    /// The peer address the TCP connection went to.
    pub peer_addr: Option<String>,
    /// Each check of the server's response, with its outcome.
    pub checks: Vec<Check>,
    /// The negotiated TLS session (wss only).
    pub tls: Option<TlsInfo>,
    /// The exchange with the proxy, when one was used.
    pub proxy: Option<ProxyExchange>,
}

/// How a handshake check came out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckOutcome {
    /// As RFC 6455 requires.
    Pass,
    /// Legal, but worth knowing.
    Warn,
    /// A violation: the connection was refused because of it.
    Fail,
}

impl CheckOutcome {
    /// `"pass"`, `"warn"` or `"fail"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Warn => "warn",
            Self::Fail => "fail",
        }
    }
}

/// One check of the upgrade response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Check {
    /// What was checked ("Sec-WebSocket-Accept", …).
    pub name: String,
    /// Pass, warning or failure.
    pub outcome: CheckOutcome,
    /// One line of explanation.
    pub detail: String,
}

/// The negotiated TLS session.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TlsInfo {
    /// "TLSv1.3", …
    pub version: String,
    /// Cipher suite name.
    pub cipher: String,
    /// Key exchange group, when known.
    pub key_exchange: Option<String>,
    /// ALPN protocol the server chose.
    pub alpn: Option<String>,
    /// The server name sent in SNI.
    pub sni: String,
    /// True when certificate verification was skipped.
    pub insecure: bool,
    /// "full" or "resumed".
    pub handshake_kind: String,
    /// The server's certificate chain, leaf first (also when the handshake failed, if the server sent one).
    pub certificates: Vec<CertInfo>,
    /// Why the TLS handshake failed (`None`: it succeeded).
    pub failure: Option<String>,
    /// The handshake failed because the server's certificate was refused: trusting its CA, or skipping
    /// verification, may get further.
    pub certificate_refused: bool,
}

/// One certificate of the server's chain.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CertInfo {
    /// Subject distinguished name.
    pub subject: String,
    /// Issuer distinguished name.
    pub issuer: String,
    /// Start of validity (UTC).
    pub not_before: String,
    /// End of validity (UTC).
    pub not_after: String,
    /// Whole days until it expires (negative once expired).
    pub days_left: i64,
    /// Subject alternative names (DNS names and IP addresses).
    pub sans: Vec<String>,
    /// SHA-256 fingerprint, colon-separated upper-case hex.
    pub sha256: String,
}

/// The exchange with a proxy.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProxyExchange {
    /// "HTTP CONNECT" or "SOCKS5".
    pub kind: String,
    /// The proxy address, without credentials.
    pub proxy: String,
    /// Where the proxy setting came from ("--proxy", "HTTPS_PROXY", …).
    pub source: String,
    /// What we sent (credentials masked).
    pub request: String,
    /// What the proxy answered.
    pub response: String,
}

/// The largest payload of a control frame (ping, pong, close), RFC 6455 §5.5.
pub const MAX_CONTROL_PAYLOAD: usize = 125;

/// One frame header as seen on the wire.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameInfo {
    /// Which way it went.
    pub direction: Direction,
    /// FIN bit.
    pub fin: bool,
    /// RSV1.
    pub rsv1: bool,
    /// RSV2.
    pub rsv2: bool,
    /// RSV3.
    pub rsv3: bool,
    /// Opcode (0 continuation, 1 text, 2 binary, 8 close, 9 ping, 10 pong).
    pub opcode: u8,
    /// Whether the payload is masked (ours always are; a server's must not be).
    pub masked: bool,
    /// Payload length from the header.
    pub payload_len: u64,
    /// Time since the connection attempt started, in nanoseconds (kept small: the Wire view holds a million).
    pub since_ns: u64,
}

impl FrameInfo {
    /// What RFC 6455 says is wrong with this header, if anything: reserved opcodes, RSV bits (no extension is
    /// ever negotiated), a fragmented or oversized control frame, a masked frame from the server or an unmasked
    /// one from us. The Wire view marks such frames.
    pub fn violation(&self) -> Option<&'static str> {
        if matches!(self.opcode, 3..=7 | 11..=15) {
            Some("reserved opcode")
        } else if self.rsv1 || self.rsv2 || self.rsv3 {
            Some("RSV bits set without a negotiated extension")
        } else if self.opcode >= 8 && !self.fin {
            Some("fragmented control frame")
        } else if self.opcode >= 8 && self.payload_len > MAX_CONTROL_PAYLOAD as u64 {
            Some("control frame over 125 bytes")
        } else if self.direction == Direction::Received && self.masked {
            Some("masked frame from the server")
        } else if self.direction == Direction::Sent && !self.masked {
            Some("unmasked frame from the client")
        } else {
            None
        }
    }

    /// Time since the connection attempt started.
    pub fn since_connect(&self) -> Duration {
        Duration::from_nanos(self.since_ns)
    }
    /// The opcode's name, as in the NDJSON output.
    pub fn opcode_name(&self) -> &'static str {
        match self.opcode {
            0 => "continuation",
            1 => "text",
            2 => "binary",
            8 => "close",
            9 => "ping",
            10 => "pong",
            _ => "reserved",
        }
    }
}

/// Who started the close handshake.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Initiator {
    /// We sent the first close frame.
    Client,
    /// The peer sent the first close frame.
    Server,
    /// No close frame was exchanged (the connection broke or never opened).
    None,
}

impl Initiator {
    /// `"client"`, `"server"` or `"none"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Client => "client",
            Self::Server => "server",
            Self::None => "none",
        }
    }
}

/// How a connection ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CloseInfo {
    /// The peer's close code, when it sent one.
    pub code: Option<u16>,
    /// The peer's close reason.
    pub reason: String,
    /// True when both close frames were exchanged.
    pub clean: bool,
    /// Who sent the first close frame.
    pub initiated_by: Initiator,
}

/// Human words for a close code.
pub fn close_code_name(code: u16) -> &'static str {
    match code {
        1000 => "normal closure",
        1001 => "going away",
        1002 => "protocol error",
        1003 => "unsupported data",
        1005 => "no status received",
        1006 => "abnormal closure",
        1007 => "invalid payload data",
        1008 => "policy violation",
        1009 => "message too big",
        1010 => "mandatory extension",
        1011 => "internal error",
        1012 => "service restart",
        1013 => "try again later",
        1014 => "bad gateway",
        1015 => "TLS handshake",
        3000..=3999 => "registered (library/framework)",
        4000..=4999 => "private use",
        _ => "reserved",
    }
}

/// Whether `code` may be sent in a close frame (RFC 6455 §7.4).
pub fn close_code_sendable(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}
