//! What a connection is asked to do: the target, headers, subprotocols, TLS, proxy, timeouts, keepalive,
//! heartbeat, reconnects and on-connect messages.

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
    /// The protocol spoken on top of WebSocket (raw when absent, as in older session files).
    pub protocol: ProtocolChoice,
    /// permessage-deflate: offered or not, and the exact offer (on by default, also for older session files).
    pub deflate: crate::model::deflate::DeflateSetting,
    /// Answer the server's pings (the library does it by itself); off, pings go unanswered, to test a server's
    /// ping timeout.
    pub auto_pong: bool,
    /// HTTP/1.1 (the default, also for older session files), HTTP/2 (RFC 8441) or auto.
    pub http_version: crate::model::h2::HttpVersion,
    /// Several WebSockets to one origin share one HTTP/2 connection (a stream each).
    pub h2_share: bool,
    /// Our HTTP/2 initial stream window (SETTINGS_INITIAL_WINDOW_SIZE), in bytes.
    pub h2_window_bytes: u32,
}

/// The protocol of a connection, whether its automatic part (handshake, keep-alive) runs, and its options.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ProtocolChoice {
    /// `raw`, `auto` or a protocol.
    pub protocol: crate::model::protocol::Protocol,
    /// Run the protocol's handshake and keep-alive (off: decode only).
    pub automatic: bool,
    /// `--protocol-option KEY=VALUE`s.
    pub options: std::collections::BTreeMap<String, String>,
}

impl Default for ProtocolChoice {
    fn default() -> Self {
        Self {
            protocol: crate::model::protocol::Protocol::Raw,
            automatic: true,
            options: std::collections::BTreeMap::new(),
        }
    }
}

/// A data message to send.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum OutgoingMessage {
    /// Text (templates such as `{{counter}}` are expanded when sent).
    Text(String),
    /// Binary.
    Binary(Vec<u8>),
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
            protocol: ProtocolChoice::default(),
            deflate: crate::model::deflate::DeflateSetting::default(),
            auto_pong: true,
            http_version: crate::model::h2::HttpVersion::Http1,
            h2_share: false,
            h2_window_bytes: DEFAULT_H2_WINDOW,
        }
    }
}

/// Our default HTTP/2 stream window: 1 MiB (h2's own default, 64 KiB, makes a large message crawl).
pub const DEFAULT_H2_WINDOW: u32 = 1 << 20;

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
