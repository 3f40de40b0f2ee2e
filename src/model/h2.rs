//! WebSockets over HTTP/2 (RFC 8441), the plain-data part: the HTTP version choice, what the inspector shows of
//! the HTTP/2 side, the extended CONNECT's header list, words for HTTP/2 error codes and SETTINGS, and a sans-IO
//! reader of the server's frame headers (its SETTINGS, RST_STREAM and GOAWAY, which the `h2` crate does not
//! expose as sent).

use serde::{Deserialize, Serialize};

/// Which HTTP carries the WebSocket. Saved as the string `"1.1"`, `"2"` or `"auto"`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum HttpVersion {
    /// HTTP/1.1 with `Upgrade: websocket` (RFC 6455), as every tester does.
    #[default]
    Http1,
    /// HTTP/2 with an extended CONNECT (RFC 8441): ALPN `h2` for wss, h2c with prior knowledge for ws.
    Http2,
    /// wss: offer ALPN `h2, http/1.1` and use HTTP/2 when the server picks it and enables the extended CONNECT;
    /// otherwise HTTP/1.1 (on a fresh connection when HTTP/2 was tried). ws: HTTP/1.1.
    Auto,
}

impl Serialize for HttpVersion {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for HttpVersion {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl HttpVersion {
    /// Every choice, in the order the GUI lists them.
    pub const ALL: [Self; 3] = [Self::Http1, Self::Http2, Self::Auto];

    /// `1.1`, `2` or `auto`: the command line's and the session file's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Http1 => "1.1",
            Self::Http2 => "2",
            Self::Auto => "auto",
        }
    }

    /// What the GUI shows.
    pub fn label(self) -> &'static str {
        match self {
            Self::Http1 => "HTTP/1.1",
            Self::Http2 => "HTTP/2 (RFC 8441)",
            Self::Auto => "auto (HTTP/2 when offered)",
        }
    }

    /// Parses `1.1`, `1`, `2`, `h2` or `auto`.
    pub fn parse(text: &str) -> Result<Self, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "1.1" | "1" | "http/1.1" => Ok(Self::Http1),
            "2" | "h2" | "http/2" => Ok(Self::Http2),
            "auto" => Ok(Self::Auto),
            other => Err(format!(
                "unknown HTTP version '{other}' (use 1.1, 2 or auto)"
            )),
        }
    }
}

/// The HTTP/2 side of a handshake, for the inspector and the handshake event.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct H2Info {
    /// The stream that carries the WebSocket (1, 3, 5, … on one connection).
    pub stream_id: u32,
    /// `h2` (TLS, chosen by ALPN) or `h2c` (plain TCP, prior knowledge).
    pub mode: String,
    /// The connection was one another WebSocket of this process had opened already.
    pub reused: bool,
    /// The server's SETTINGS as it sent them (identifier, value), in order.
    pub server_settings: Vec<(u16, u32)>,
    /// Ours, as sent.
    pub our_settings: Vec<(u16, u32)>,
    /// The CONNECT's HEADERS with its pseudo-headers, as sent.
    pub request_headers: Vec<(String, String)>,
    /// The response's HEADERS, `:status` first.
    pub response_headers: Vec<(String, String)>,
}

impl H2Info {
    /// Whether the server's SETTINGS enable the extended CONNECT (SETTINGS_ENABLE_CONNECT_PROTOCOL = 1).
    pub fn connect_enabled(&self) -> bool {
        enables_connect(&self.server_settings)
    }
}

/// Whether `settings` carry SETTINGS_ENABLE_CONNECT_PROTOCOL = 1 (the last value given counts).
pub fn enables_connect(settings: &[(u16, u32)]) -> bool {
    settings
        .iter()
        .rev()
        .find(|(id, _)| *id == SETTINGS_ENABLE_CONNECT_PROTOCOL)
        .is_some_and(|(_, v)| *v == 1)
}

/// RFC 8441 §3.
pub const SETTINGS_ENABLE_CONNECT_PROTOCOL: u16 = 0x8;

/// The RFC's name of a SETTINGS identifier (`0x…` for one it does not know).
pub fn setting_name(id: u16) -> String {
    match id {
        0x1 => "SETTINGS_HEADER_TABLE_SIZE".into(),
        0x2 => "SETTINGS_ENABLE_PUSH".into(),
        0x3 => "SETTINGS_MAX_CONCURRENT_STREAMS".into(),
        0x4 => "SETTINGS_INITIAL_WINDOW_SIZE".into(),
        0x5 => "SETTINGS_MAX_FRAME_SIZE".into(),
        0x6 => "SETTINGS_MAX_HEADER_LIST_SIZE".into(),
        0x8 => "SETTINGS_ENABLE_CONNECT_PROTOCOL".into(),
        0x9 => "SETTINGS_NO_RFC7540_PRIORITIES".into(),
        other => format!("0x{other:x}"),
    }
}

/// An HTTP/2 error code (RST_STREAM, GOAWAY) in plain words: its name and what it means.
pub fn error_code_words(code: u32) -> String {
    let (name, meaning) = match code {
        0x0 => ("NO_ERROR", "a graceful end, no error"),
        0x1 => ("PROTOCOL_ERROR", "the peer saw an HTTP/2 protocol error"),
        0x2 => ("INTERNAL_ERROR", "the peer failed internally"),
        0x3 => ("FLOW_CONTROL_ERROR", "flow control was violated"),
        0x4 => (
            "SETTINGS_TIMEOUT",
            "our SETTINGS were not acknowledged in time",
        ),
        0x5 => ("STREAM_CLOSED", "a frame came on a stream already closed"),
        0x6 => ("FRAME_SIZE_ERROR", "a frame had a size that is not allowed"),
        0x7 => (
            "REFUSED_STREAM",
            "the stream was refused before any processing; it can be retried",
        ),
        0x8 => ("CANCEL", "the stream is no longer needed"),
        0x9 => ("COMPRESSION_ERROR", "the header compression state broke"),
        0xa => (
            "CONNECT_ERROR",
            "the connection behind the CONNECT was reset or closed",
        ),
        0xb => (
            "ENHANCE_YOUR_CALM",
            "the peer thinks we send too much (rate limit)",
        ),
        0xc => (
            "INADEQUATE_SECURITY",
            "the TLS settings are too weak for HTTP/2",
        ),
        0xd => (
            "HTTP_1_1_REQUIRED",
            "the server wants this request over HTTP/1.1",
        ),
        other => return format!("error code 0x{other:x} (not one RFC 9113 defines)"),
    };
    format!("{name} (0x{code:x}): {meaning}")
}

/// Header fields HTTP/2 forbids (RFC 9113 §8.2.2), and those RFC 8441 §5 leaves out: dropped from the CONNECT.
const DROPPED: [&str; 7] = [
    "connection",
    "upgrade",
    "keep-alive",
    "transfer-encoding",
    "proxy-connection",
    "sec-websocket-key",
    "host",
];

/// The regular header fields of the extended CONNECT, from the HTTP/1.1 upgrade's list: names in lower case,
/// minus the connection-specific ones, `Sec-WebSocket-Key` and `Host` (which becomes `:authority`). `TE` stays
/// only as `trailers`.
pub fn connect_headers(http1: &[(String, String)]) -> Vec<(String, String)> {
    // The fields a Connection header names are connection-specific too (RFC 9113 §8.2.2).
    let named: Vec<String> = http1
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("connection"))
        .flat_map(|(_, v)| v.split(','))
        .map(|t| t.trim().to_ascii_lowercase())
        .filter(|t| !t.is_empty())
        .collect();
    http1
        .iter()
        .map(|(n, v)| (n.to_ascii_lowercase(), v.clone()))
        .filter(|(n, v)| {
            !DROPPED.contains(&n.as_str())
                && !named.contains(n)
                && (n != "te" || v.trim().eq_ignore_ascii_case("trailers"))
        })
        .map(|(n, v)| {
            // h2 takes TE only as the exact bytes "trailers".
            let v = if n == "te" { "trailers".to_owned() } else { v };
            (n, v)
        })
        .collect()
}

/// The `:authority`: the request's Host header (the user's, when they replaced it).
pub fn authority(http1: &[(String, String)]) -> Option<String> {
    http1
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("host"))
        .map(|(_, v)| {
            // No userinfo in :authority (RFC 9113 §8.3.1).
            let v = v.trim();
            v.rsplit_once('@').map_or(v, |(_, host)| host).to_owned()
        })
}

/// What the server said at the connection level, read from its frames.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GoAway {
    /// The last stream the server processed.
    pub last_stream_id: u32,
    /// Its error code.
    pub code: u32,
    /// Its debug data (the first 256 bytes), as text.
    pub debug: String,
}

impl GoAway {
    /// "GOAWAY PROTOCOL_ERROR (0x1): …; debug data 'x'".
    pub fn describe(&self) -> String {
        let mut s = format!("GOAWAY {}", error_code_words(self.code));
        if !self.debug.is_empty() {
            s.push_str(&format!("; debug data '{}'", self.debug));
        }
        s
    }
}

/// The largest frame payload the tap keeps to read (a SETTINGS or GOAWAY); longer ones are skipped.
const MAX_KEPT_PAYLOAD: usize = 16 * 1024;
/// RST_STREAMs remembered (the latest ones).
const MAX_RESETS: usize = 16;

/// Reads the frame headers of the server → client byte stream as it passes, keeping what the inspector shows:
/// the first SETTINGS (not an ACK), the latest GOAWAY and the latest RST_STREAMs. Sans-IO and bounded: a
/// DATA payload is skipped as it passes, a SETTINGS or GOAWAY payload is kept only up to 16 KiB, and input that
/// is not HTTP/2 never makes it panic.
#[derive(Debug, Default)]
pub struct FrameTap {
    header: [u8; 9],
    header_len: usize,
    /// Payload bytes still to come of the current frame.
    remaining: usize,
    /// The current frame's payload, when it is kept.
    kept: Option<Vec<u8>>,
    kind: u8,
    flags: u8,
    stream: u32,
    /// The server's first SETTINGS.
    pub settings: Option<Vec<(u16, u32)>>,
    /// SETTINGS frames seen (not counting ACKs).
    pub settings_frames: u32,
    /// Every SETTINGS frame's values, the latest value per identifier, in first-seen order (at most 64).
    merged: Vec<(u16, u32)>,
    /// The latest GOAWAY.
    pub goaway: Option<GoAway>,
    /// The latest RST_STREAMs: (stream, error code).
    pub resets: Vec<(u32, u32)>,
    /// Frames read whole.
    pub frames: u64,
}

impl FrameTap {
    /// Reads `bytes`, the next bytes from the server.
    pub fn feed(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            if self.header_len < 9 {
                let take = (9 - self.header_len).min(bytes.len());
                self.header[self.header_len..self.header_len + take]
                    .copy_from_slice(&bytes[..take]);
                self.header_len += take;
                bytes = &bytes[take..];
                if self.header_len == 9 {
                    self.start_frame();
                }
                continue;
            }
            let take = self.remaining.min(bytes.len());
            if let Some(kept) = &mut self.kept {
                kept.extend_from_slice(&bytes[..take]);
            }
            self.remaining -= take;
            bytes = &bytes[take..];
            if self.remaining == 0 {
                self.end_frame();
            }
        }
    }

    fn start_frame(&mut self) {
        let h = self.header;
        self.remaining = (usize::from(h[0]) << 16) | (usize::from(h[1]) << 8) | usize::from(h[2]);
        self.kind = h[3];
        self.flags = h[4];
        self.stream = u32::from_be_bytes([h[5] & 0x7f, h[6], h[7], h[8]]);
        // SETTINGS (not an ACK), RST_STREAM and GOAWAY are read; everything else passes by.
        let wanted =
            matches!(self.kind, 0x4 if self.flags & 0x1 == 0) || matches!(self.kind, 0x3 | 0x7);
        self.kept = (wanted && self.remaining <= MAX_KEPT_PAYLOAD)
            .then(|| Vec::with_capacity(self.remaining));
        if self.remaining == 0 {
            self.end_frame();
        }
    }

    fn end_frame(&mut self) {
        self.header_len = 0;
        self.frames = self.frames.saturating_add(1);
        let Some(payload) = self.kept.take() else {
            return;
        };
        match self.kind {
            0x4 => {
                self.settings_frames = self.settings_frames.saturating_add(1);
                let pairs: Vec<(u16, u32)> = payload
                    .chunks_exact(6)
                    .map(|c| {
                        (
                            u16::from_be_bytes([c[0], c[1]]),
                            u32::from_be_bytes([c[2], c[3], c[4], c[5]]),
                        )
                    })
                    .collect();
                for &(id, value) in &pairs {
                    match self.merged.iter().position(|(i, _)| *i == id) {
                        Some(at) => self.merged[at].1 = value,
                        None if self.merged.len() < 64 => self.merged.push((id, value)),
                        None => {}
                    }
                }
                if self.settings.is_none() {
                    self.settings = Some(pairs);
                }
            }
            0x3 if payload.len() == 4 => {
                if self.resets.len() == MAX_RESETS {
                    self.resets.remove(0);
                }
                let code = u32::from_be_bytes([payload[0], payload[1], payload[2], payload[3]]);
                self.resets.push((self.stream, code));
            }
            0x7 if payload.len() >= 8 => {
                let last =
                    u32::from_be_bytes([payload[0] & 0x7f, payload[1], payload[2], payload[3]]);
                let code = u32::from_be_bytes([payload[4], payload[5], payload[6], payload[7]]);
                let debug: String =
                    String::from_utf8_lossy(&payload[8..payload.len().min(8 + 256)])
                        .chars()
                        .map(|c| if c.is_control() { ' ' } else { c })
                        .collect();
                self.goaway = Some(GoAway {
                    last_stream_id: last,
                    code,
                    debug,
                });
            }
            _ => {}
        }
    }

    /// The server's SETTINGS now: every frame's values, the latest per identifier.
    pub fn merged_settings(&self) -> Vec<(u16, u32)> {
        self.merged.clone()
    }

    /// The error code of the latest RST_STREAM on `stream`.
    pub fn reset_of(&self, stream: u32) -> Option<u32> {
        self.resets
            .iter()
            .rev()
            .find(|(s, _)| *s == stream)
            .map(|(_, c)| *c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
        let len = payload.len();
        let mut f = vec![(len >> 16) as u8, (len >> 8) as u8, len as u8, kind, flags];
        f.extend_from_slice(&stream.to_be_bytes());
        f.extend_from_slice(payload);
        f
    }

    #[test]
    fn the_tap_reads_settings_resets_and_goaway_byte_by_byte() {
        let mut settings = Vec::new();
        for (id, v) in [(0x3u16, 100u32), (0x8, 1), (0x4, 65535)] {
            settings.extend_from_slice(&id.to_be_bytes());
            settings.extend_from_slice(&v.to_be_bytes());
        }
        let mut wire = frame(0x4, 0, 0, &settings);
        wire.extend(frame(0x4, 0x1, 0, &[])); // an ACK
        wire.extend(frame(0x0, 0, 1, &vec![7u8; 40_000])); // DATA, skipped
        wire.extend(frame(0x3, 0, 1, &8u32.to_be_bytes()));
        let mut goaway = 1u32.to_be_bytes().to_vec();
        goaway.extend_from_slice(&0xbu32.to_be_bytes());
        goaway.extend_from_slice(b"slow\ndown");
        wire.extend(frame(0x7, 0, 0, &goaway));
        for split in [1, 7, 9, 4096, wire.len()] {
            let mut tap = FrameTap::default();
            for chunk in wire.chunks(split) {
                tap.feed(chunk);
            }
            assert_eq!(tap.settings, Some(vec![(3, 100), (8, 1), (4, 65535)]));
            assert!(enables_connect(tap.settings.as_deref().unwrap_or_default()));
            assert_eq!(tap.settings_frames, 1);
            assert_eq!(tap.merged_settings(), vec![(3, 100), (8, 1), (4, 65535)]);
            assert_eq!(tap.reset_of(1), Some(8));
            assert_eq!(tap.reset_of(3), None);
            let g = tap.goaway.clone().expect("goaway");
            assert_eq!((g.last_stream_id, g.code), (1, 0xb));
            assert_eq!(
                g.describe(),
                "GOAWAY ENHANCE_YOUR_CALM (0xb): the peer thinks we send too much (rate limit); debug data 'slow down'"
            );
            assert_eq!(tap.frames, 5);
        }
    }

    #[test]
    fn the_tap_is_bounded_and_never_panics_on_garbage() {
        let mut tap = FrameTap::default();
        // A SETTINGS header announcing 16 MiB: nothing is kept, and it is skipped as it passes.
        tap.feed(&[0xff, 0xff, 0xff, 0x4, 0, 0, 0, 0, 0]);
        tap.feed(&vec![0u8; 100_000]);
        assert!(tap.settings.is_none());
        assert!(tap.kept.is_none());
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..2000 {
            let mut junk = [0u8; 97];
            for b in &mut junk {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                *b = seed as u8;
            }
            tap.feed(&junk);
        }
        assert!(tap.resets.len() <= MAX_RESETS);
    }

    #[test]
    fn connect_headers_drop_what_http2_forbids() {
        let http1: Vec<(String, String)> = [
            ("Host", "example.com:8443"),
            ("Upgrade", "websocket"),
            ("Connection", "Upgrade"),
            ("Sec-WebSocket-Key", "k"),
            ("Sec-WebSocket-Version", "13"),
            ("Sec-WebSocket-Protocol", "chat"),
            ("Keep-Alive", "5"),
            ("Proxy-Connection", "x"),
            ("Transfer-Encoding", "chunked"),
            ("TE", "gzip"),
            ("X-Trace-ID", "abc"),
            ("connection", "x-hop"),
            ("X-Hop", "1"),
        ]
        .iter()
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .collect();
        assert_eq!(
            connect_headers(&http1),
            vec![
                ("sec-websocket-version".to_owned(), "13".to_owned()),
                ("sec-websocket-protocol".to_owned(), "chat".to_owned()),
                ("x-trace-id".to_owned(), "abc".to_owned()),
            ]
        );
        assert_eq!(authority(&http1).as_deref(), Some("example.com:8443"));
        let te = vec![("TE".to_owned(), "Trailers".to_owned())];
        assert_eq!(
            connect_headers(&te),
            vec![("te".to_owned(), "trailers".to_owned())]
        );
        let host = vec![("Host".to_owned(), "user:pw@h:1".to_owned())];
        assert_eq!(authority(&host).as_deref(), Some("h:1"));
    }

    #[test]
    fn versions_and_words() {
        for v in HttpVersion::ALL {
            assert_eq!(HttpVersion::parse(v.as_str()), Ok(v));
        }
        assert!(HttpVersion::parse("3").is_err());
        assert_eq!(setting_name(8), "SETTINGS_ENABLE_CONNECT_PROTOCOL");
        assert_eq!(setting_name(0x77), "0x77");
        assert!(error_code_words(0xd).starts_with("HTTP_1_1_REQUIRED (0xd)"));
        assert!(error_code_words(0x99).contains("0x99"));
    }
}
