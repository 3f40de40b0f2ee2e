//! Connection states, the stages of a connect (DNS, TCP, proxy, TLS, upgrade, …), stage errors and timings.

use serde::{Deserialize, Serialize};

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
    /// The protocol on top of WebSocket failed (a namespace refused, no `connection_ack`, a server gone silent).
    Protocol,
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
            Self::Protocol => "protocol",
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
            Self::Protocol => "Protocol",
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
    /// HTTP/2: from the connection preface to the server's SETTINGS.
    pub h2_settings_ms: Option<f64>,
    /// HTTP upgrade request and response (over HTTP/2: the extended CONNECT and its response).
    pub upgrade_ms: Option<f64>,
    /// From start to open (or failure).
    pub total_ms: f64,
}

/// Seconds as milliseconds rounded to the microsecond: how every duration is written in NDJSON and the log
/// (`connect_ms`, `at_ms`, `rtt_ms`, `ms`).
pub fn millis(seconds: f64) -> f64 {
    (seconds * 1e6).round() / 1e3
}
