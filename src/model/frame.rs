//! WebSocket frames as sockscope builds and reads them: raw frames (any bits), fragmenting, the frame headers
//! the observer reports, and the RFC 6455 rules a frame can break.

use super::Direction;
use serde::{Deserialize, Serialize};
use std::time::Duration;

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
                    "a control frame payload may be at most {MAX_CONTROL_PAYLOAD} bytes (this one is {})",
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
        let name = opcode_name(self.opcode);
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

/// An opcode's name, as in the log and the NDJSON output.
pub fn opcode_name(opcode: u8) -> &'static str {
    match opcode {
        0 => "continuation",
        1 => "text",
        2 => "binary",
        8 => "close",
        9 => "ping",
        10 => "pong",
        _ => "reserved",
    }
}

/// The rule a control frame over [`MAX_CONTROL_PAYLOAD`] breaks, as the Wire view names it.
const OVERSIZED_CONTROL: &str = "control frame over 125 bytes";

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
        self.violation_with(false)
    }

    /// As [`violation`](Self::violation), on a connection that negotiated permessage-deflate when `deflate`:
    /// RSV1 then marks a compressed message's first frame, and is wrong only on control and continuation frames.
    pub fn violation_with(&self, deflate: bool) -> Option<&'static str> {
        if deflate && self.rsv1 && !self.rsv2 && !self.rsv3 {
            if self.opcode >= 8 {
                return Some(
                    "RSV1 on a control frame (permessage-deflate compresses data messages only)",
                );
            }
            if self.opcode == 0 {
                return Some(
                    "RSV1 on a continuation frame (only a message's first frame carries it)",
                );
            }
            let plain = Self {
                rsv1: false,
                ..self.clone()
            };
            return plain.violation_with(false);
        }
        if matches!(self.opcode, 3..=7 | 11..=15) {
            Some("reserved opcode")
        } else if self.rsv1 || self.rsv2 || self.rsv3 {
            Some("RSV bits set without a negotiated extension")
        } else if self.opcode >= 8 && !self.fin {
            Some("fragmented control frame")
        } else if self.opcode >= 8 && self.payload_len > MAX_CONTROL_PAYLOAD as u64 {
            Some(OVERSIZED_CONTROL)
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
        opcode_name(self.opcode)
    }
}

/// Bytes in a frame header that starts with `h` (once its first two bytes are known).
pub fn header_len(h: &[u8]) -> Option<usize> {
    let second = *h.get(1)?;
    let ext = match second & 0x7f {
        126 => 2,
        127 => 8,
        _ => 0,
    };
    Some(2 + ext + if second & 0x80 != 0 { 4 } else { 0 })
}

/// The payload length a complete frame header `h` declares.
pub fn payload_len(h: &[u8]) -> u64 {
    match h[1] & 0x7f {
        126 => u64::from(u16::from_be_bytes([h[2], h[3]])),
        127 => u64::from_be_bytes([h[2], h[3], h[4], h[5], h[6], h[7], h[8], h[9]]),
        n => u64::from(n),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oversized_control_rule_names_the_limit() {
        assert!(OVERSIZED_CONTROL.contains(&MAX_CONTROL_PAYLOAD.to_string()));
    }
}
