//! How a connection closed: who started it, the code and reason, and the names of close codes.

use serde::{Deserialize, Serialize};

/// The longest close reason, in bytes: a close frame's payload is at most 125 bytes, two of them the code.
pub const MAX_CLOSE_REASON: usize = super::MAX_CONTROL_PAYLOAD - 2;

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

impl CloseInfo {
    /// The outcome in words: `closed by the server · 1000 normal closure · "bye" (clean)`.
    pub fn summary(&self) -> String {
        let who = match self.initiated_by {
            Initiator::Client => "closed by us",
            Initiator::Server => "closed by the server",
            Initiator::None => "connection lost",
        };
        let code = self
            .code
            .map(|code| format!(" · {code} {}", close_code_name(code)))
            .unwrap_or_default();
        let reason = if self.reason.is_empty() {
            String::new()
        } else {
            format!(" · \"{}\"", self.reason)
        };
        let clean = if self.clean { "clean" } else { "not clean" };
        format!("{who}{code}{reason} ({clean})")
    }
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
