//! Plain data shared by every layer: what a connection is asked to do, and what it reports.
//!
//! Nothing here knows about egui or tokio, so the GUI, the command line and the tests all speak the same types.

pub mod copy_as;
pub mod endpoint;
pub mod fsutil;
pub mod ndjson;
mod payload;

pub use payload::{PayloadFormat, PayloadParseError, hex_dump, hex_string, parse_payload, preview};

use serde::{Deserialize, Serialize};
use std::time::{Duration, SystemTime};

/// Identifies one connection for the lifetime of the process.
pub type ConnId = u64;

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

/// Which way a message travelled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// From us to the peer.
    Sent,
    /// From the peer to us.
    Received,
}

impl Direction {
    /// `"sent"` or `"received"`, as in the NDJSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sent => "sent",
            Self::Received => "received",
        }
    }

    /// An arrow for compact display.
    pub fn arrow(self) -> &'static str {
        match self {
            Self::Sent => "↑",
            Self::Received => "↓",
        }
    }
}

/// The kind of a WebSocket message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageKind {
    /// A UTF-8 text message.
    Text,
    /// A binary message.
    Binary,
    /// A ping control frame.
    Ping,
    /// A pong control frame.
    Pong,
    /// A close control frame.
    Close,
}

impl MessageKind {
    /// `"text"`, `"binary"`, … as in the NDJSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Binary => "binary",
            Self::Ping => "ping",
            Self::Pong => "pong",
            Self::Close => "close",
        }
    }

    /// Text and binary are data messages; the rest are control frames.
    pub fn is_data(self) -> bool {
        matches!(self, Self::Text | Self::Binary)
    }
}

/// One logged message, in either direction.
#[derive(Clone, Debug, PartialEq)]
pub struct LogEntry {
    /// The connection it belongs to.
    pub conn_id: ConnId,
    /// Sent or received.
    pub direction: Direction,
    /// Text, binary, ping, pong or close.
    pub kind: MessageKind,
    /// Wall-clock time the message was sent or read.
    pub at: SystemTime,
    /// Time since the connection attempt started.
    pub since_connect: Duration,
    /// The payload bytes (for close: the reason's bytes).
    pub payload: Vec<u8>,
    /// For close messages: the status code, if the frame had one.
    pub close_code: Option<u16>,
    /// Set when the library sent this on its own (the reply to a peer's close).
    pub automatic: bool,
}

impl LogEntry {
    /// Size of the payload in bytes.
    pub fn size(&self) -> usize {
        self.payload.len()
    }

    /// The payload as text, when it is valid UTF-8.
    pub fn text(&self) -> Option<&str> {
        std::str::from_utf8(&self.payload).ok()
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
    /// The server's certificate chain, leaf first.
    pub certificates: Vec<CertInfo>,
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
