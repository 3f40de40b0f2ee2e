//! What the handshake showed: the HTTP request and response, the checks on the 101, TLS and certificate facts,
//! and the proxy exchange.

use super::StageTimings;
use serde::{Deserialize, Serialize};

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
    /// The extensions the server enabled, as it wrote them.
    pub extensions: Vec<crate::model::deflate::Extension>,
    /// What permessage-deflate was agreed, when it was.
    pub deflate: Option<crate::model::deflate::Negotiated>,
    /// The HTTP/2 side, when the WebSocket went over HTTP/2 (or the extended CONNECT was tried).
    pub h2: Option<Box<crate::model::h2::H2Info>>,
}

impl HandshakeInfo {
    /// Whether the server accepted the WebSocket: 101 over HTTP/1.1, a 2xx to the extended CONNECT over HTTP/2.
    pub fn accepted(&self) -> bool {
        if self.h2.is_some() {
            (200..300).contains(&self.status)
        } else {
            self.status == 101
        }
    }

    /// `"2"` over HTTP/2, else `"1.1"`.
    pub fn http_version(&self) -> &'static str {
        if self.h2.is_some() { "2" } else { "1.1" }
    }
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
