//! One logged message and its direction and kind.
//!
//! A log may hold a million entries, so [`LogEntry`] is kept at 56 bytes beside its payload: times are stored as
//! nanosecond integers, the payload as a boxed slice, the size on the wire of a compressed message as a 32-bit
//! count (on a permessage-deflate connection nearly every message has one), and what few entries have (a
//! round-trip time, a note, the automatic-reply flag) sits behind one optional box.

use crate::model::ConnId;
use serde::{Deserialize, Serialize};
use std::num::NonZeroU16;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

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
    close_code: Option<NonZeroU16>,
    /// For a message that went compressed (permessage-deflate): its payload bytes on the wire.
    compressed_size: Option<u32>,
    /// Wall-clock time, nanoseconds since the Unix epoch (negative before it).
    at_ns: i64,
    /// Time since the connection attempt started, in nanoseconds.
    since_ns: u64,
    /// The payload bytes (for close: the reason's bytes).
    pub payload: Box<[u8]>,
    /// Rarely present details: round-trip time, notes. Boxed to keep every entry small.
    pub extra: Option<Box<EntryExtra>>,
}

/// Details only some log entries have.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EntryExtra {
    /// For a pong that answers one of our pings: the round-trip time.
    pub rtt: Option<Duration>,
    /// A remark shown with the entry ("sent as 3 frames", "protocol violation: …").
    pub note: Option<String>,
    /// True when this entry is a deliberate protocol violation.
    pub violation: bool,
    /// Set when the library sent this on its own (the reply to a peer's close, a protocol's keep-alive).
    pub automatic: bool,
    /// The message read in its protocol's terms, on connections with a protocol.
    pub protocol: Option<crate::model::protocol::Decoded>,
}

/// `d` in nanoseconds, saturating (a u64 of nanoseconds lasts 584 years).
pub fn saturating_nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// `at` as nanoseconds since the Unix epoch (negative before it), saturating.
pub fn unix_nanos(at: SystemTime) -> i64 {
    match at.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_nanos()).unwrap_or(i64::MAX),
        Err(before) => i64::try_from(before.duration().as_nanos())
            .map(|n| -n)
            .unwrap_or(i64::MIN),
    }
}

impl LogEntry {
    /// An entry stamped `at`, `since_connect` after its connection attempt started.
    pub fn new(
        conn_id: ConnId,
        direction: Direction,
        kind: MessageKind,
        at: SystemTime,
        since_connect: Duration,
        payload: impl Into<Box<[u8]>>,
    ) -> Self {
        Self::from_nanos(
            conn_id,
            direction,
            kind,
            unix_nanos(at),
            saturating_nanos(since_connect),
            payload,
        )
    }

    /// An entry stamped with nanosecond times as stored: `at_ns` since the Unix epoch, `since_ns` since its
    /// connection attempt started.
    pub fn from_nanos(
        conn_id: ConnId,
        direction: Direction,
        kind: MessageKind,
        at_ns: i64,
        since_ns: u64,
        payload: impl Into<Box<[u8]>>,
    ) -> Self {
        Self {
            conn_id,
            direction,
            kind,
            close_code: None,
            compressed_size: None,
            at_ns,
            since_ns,
            payload: payload.into(),
            extra: None,
        }
    }

    /// Sets the close status code (code 0, which no frame can carry, is kept as "no code").
    pub fn with_close_code(mut self, code: Option<u16>) -> Self {
        self.close_code = code.and_then(NonZeroU16::new);
        self
    }

    /// Marks the message as compressed, with `wire_size` payload bytes on the wire (saturating at 4 GiB).
    pub fn with_compressed_size(mut self, wire_size: Option<u64>) -> Self {
        self.compressed_size = wire_size.map(|n| u32::try_from(n).unwrap_or(u32::MAX));
        self
    }

    /// True when the message went compressed (permessage-deflate).
    pub fn compressed(&self) -> bool {
        self.compressed_size.is_some()
    }

    /// Payload bytes on the wire: the compressed size, else the payload's size.
    pub fn wire_size(&self) -> usize {
        self.compressed_size
            .map_or_else(|| self.size(), |n| n as usize)
    }

    /// Marks the entry as sent by the library on its own.
    pub fn with_automatic(mut self) -> Self {
        self.extra_mut().automatic = true;
        self
    }

    /// The rare details, created on first use.
    pub fn extra_mut(&mut self) -> &mut EntryExtra {
        self.extra.get_or_insert_with(Box::default)
    }

    /// Wall-clock time the message was sent or read.
    pub fn at(&self) -> SystemTime {
        if self.at_ns >= 0 {
            UNIX_EPOCH + Duration::from_nanos(self.at_ns.unsigned_abs())
        } else {
            UNIX_EPOCH - Duration::from_nanos(self.at_ns.unsigned_abs())
        }
    }

    /// Time since the connection attempt started.
    pub fn since_connect(&self) -> Duration {
        Duration::from_nanos(self.since_ns)
    }

    /// For close messages: the status code, if the frame had one.
    pub fn close_code(&self) -> Option<u16> {
        self.close_code.map(NonZeroU16::get)
    }

    /// True when the library sent this on its own (the reply to a peer's close).
    pub fn automatic(&self) -> bool {
        self.extra.as_ref().is_some_and(|e| e.automatic)
    }

    /// The message in its protocol's terms, on connections with a protocol.
    pub fn decoded(&self) -> Option<&crate::model::protocol::Decoded> {
        self.extra.as_ref().and_then(|e| e.protocol.as_ref())
    }

    /// The round-trip time, for pongs that answer our pings.
    pub fn rtt(&self) -> Option<Duration> {
        self.extra.as_ref().and_then(|e| e.rtt)
    }

    /// The note, if any.
    pub fn note(&self) -> Option<&str> {
        self.extra.as_ref().and_then(|e| e.note.as_deref())
    }

    /// Size of the payload in bytes.
    pub fn size(&self) -> usize {
        // A close frame's payload is its 2-byte code and then the reason (the entry keeps the code apart).
        self.payload.len() + if self.close_code().is_some() { 2 } else { 0 }
    }

    /// The payload as text, when it is valid UTF-8.
    pub fn text(&self) -> Option<&str> {
        std::str::from_utf8(&self.payload).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_is_56_bytes_beside_its_payload() {
        assert_eq!(std::mem::size_of::<LogEntry>(), 56);
        // The Wire view holds up to a million frame headers too.
        assert_eq!(std::mem::size_of::<crate::model::FrameInfo>(), 24);
    }

    #[test]
    fn times_and_codes_round_trip() {
        let at = UNIX_EPOCH + Duration::new(1_700_000_000, 123_456_789);
        let e = LogEntry::new(
            7,
            Direction::Received,
            MessageKind::Close,
            at,
            Duration::from_micros(1500),
            b"bye".to_vec(),
        )
        .with_close_code(Some(4000));
        assert_eq!(e.at(), at);
        assert_eq!(e.since_connect(), Duration::from_micros(1500));
        assert_eq!(e.close_code(), Some(4000));
        assert!(!e.automatic());
        assert_eq!(e.with_close_code(Some(0)).close_code(), None);
        let before = UNIX_EPOCH - Duration::from_secs(5);
        let old = LogEntry::new(
            1,
            Direction::Sent,
            MessageKind::Text,
            before,
            Duration::ZERO,
            vec![],
        );
        assert_eq!(old.at(), before);
    }
}
