//! The read side of sockscope's own frame layer, sans-IO: bytes from the server in, the bytes the WebSocket
//! library should see out.
//!
//! - A message whose first frame has RSV1 set (on a connection that negotiated permessage-deflate) is inflated
//!   and handed on as plain frames of at most [`CHUNK`] bytes, with the negotiated window and with or without
//!   context takeover; the inflated size is bounded by the connection's message limit (a decompression bomb
//!   stops there, and memory stays bounded: at most [`BUDGET`] bytes wait here at a time).
//! - Every other frame passes untouched; [`ReadSide::scan`] lets it through in place, without a copy.
//! - With automatic pongs off, a ping is handed on as a pong (so the library does not answer it) and its
//!   [`Fact`] says it was a ping.
//! - RSV1 where RFC 7692 forbids it (a control frame, a continuation frame), compressed data that does not
//!   inflate, and a message that inflates past the limit each end the stream with a [`WireError`] (1002, 1007,
//!   1009) once everything before it has been handed on.
//!
//! For every message the library will yield, a [`Fact`] says what was on the wire, in order.

use super::Negotiated;
use super::compress::TAIL;
use crate::model::frame::{header_len, payload_len};
use flate2::{Decompress, FlushDecompress, Status};
use std::collections::VecDeque;

/// Largest plain frame handed on for an inflated message.
pub const CHUNK: usize = 64 * 1024;
/// How much output waits here before more input is taken.
pub const BUDGET: usize = 256 * 1024;

/// What one message was on the wire, for each message the library yields, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fact {
    /// A text or binary message: compressed or not, and its payload bytes over all its frames on the wire.
    Data {
        /// RSV1 was set on its first frame and it was inflated.
        compressed: bool,
        /// Payload bytes on the wire, over all its frames.
        wire_size: u64,
    },
    /// A ping, pong or close.
    Control {
        /// A ping handed on as a pong, so that nobody answers it.
        unanswered_ping: bool,
    },
}

/// Why the stream ends: the close code to send and what happened, in plain words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WireError {
    /// 1002 (protocol error), 1007 (bad data) or 1009 (too big).
    pub code: u16,
    /// What the server did.
    pub message: String,
}

impl std::fmt::Display for WireError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for WireError {}

struct Inflate {
    decompress: Decompress,
    /// The server keeps its context across messages.
    takeover: bool,
    /// Inflated bytes not yet handed on: the first `filled` of a buffer zeroed once. (flate2's `decompress_vec`
    /// zeroes the whole spare capacity on every call; with a 64 KiB buffer and 1 KiB messages that was most of
    /// the cost of inflating.)
    chunk: Box<[u8]>,
    filled: usize,
}

/// Where the current frame is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum At {
    /// Reading a header (`header_len` bytes so far), passing it on unless `rewrite`.
    Header { rewrite: bool },
    /// Passing on this many more payload bytes.
    Pass(u64),
    /// Inflating this many more payload bytes; `fin` ends the message.
    Inflate { left: u64, fin: bool },
}

/// The data message in progress on the wire.
#[derive(Clone, Copy, Debug)]
struct Message {
    opcode: u8,
    compressed: bool,
    inflated: u64,
    wire: u64,
    /// A frame of it has been handed on (the next is a continuation).
    started: bool,
    /// The deflate stream hit BFINAL: the rest of the message is ignored, and the context starts afresh.
    ended: bool,
}

/// The read side of one connection (see the module's documentation).
pub struct ReadSide {
    inflate: Option<Inflate>,
    answer_pings: bool,
    max_message: u64,
    /// The largest frame accepted; inflated data goes on in frames no larger (and of at most [`CHUNK`]).
    max_frame: u64,
    header: [u8; 14],
    header_len: usize,
    at: At,
    message: Option<Message>,
    /// Received bytes taken in but not yet worked through.
    backlog: Vec<u8>,
    backlog_at: usize,
    /// Bytes ready for the library.
    out: Vec<u8>,
    out_at: usize,
    facts: VecDeque<Fact>,
    error: Option<WireError>,
}

impl std::fmt::Debug for ReadSide {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadSide")
            .field("inflating", &self.inflate.is_some())
            .field("answer_pings", &self.answer_pings)
            .field("at", &self.at)
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}

fn frame_name(opcode: u8) -> &'static str {
    crate::model::frame::opcode_name(opcode)
}

impl ReadSide {
    /// A read side inflating as `agreed` says (none: nothing is inflated, and RSV1 is left to the library),
    /// answering pings or not, with messages bounded at `max_message` bytes.
    pub fn new(agreed: Option<&Negotiated>, answer_pings: bool, max_message: usize) -> Self {
        Self {
            inflate: agreed.map(|a| Inflate {
                // zlib inflates raw deflate with windows of 9..15; a stream made with 8 inflates with 9.
                decompress: Decompress::new_with_window_bits(
                    false,
                    a.server_max_window_bits.clamp(9, 15),
                ),
                takeover: !a.server_no_context_takeover,
                chunk: Box::default(),
                filled: 0,
            }),
            answer_pings,
            max_message: max_message as u64,
            max_frame: u64::MAX,
            header: [0; 14],
            header_len: 0,
            at: At::Header { rewrite: false },
            message: None,
            backlog: Vec::new(),
            backlog_at: 0,
            out: Vec::new(),
            out_at: 0,
            facts: VecDeque::new(),
            error: None,
        }
    }

    /// Frames of at most `max_frame` bytes, on the wire and as handed on.
    pub fn with_max_frame(mut self, max_frame: usize) -> Self {
        self.max_frame = (max_frame as u64).max(1);
        self
    }

    /// Whether this side changes anything at all (else the stream need not have one).
    pub fn needed(agreed: Option<&Negotiated>, answer_pings: bool) -> bool {
        agreed.is_some() || !answer_pings
    }

    /// What the next message the library yields was on the wire.
    pub fn next_fact(&mut self) -> Option<Fact> {
        self.facts.pop_front()
    }

    /// Bytes are waiting to be handed on (or worked through) before the socket is read again.
    pub fn busy(&self) -> bool {
        self.out_at < self.out.len() || self.backlog_at < self.backlog.len()
    }

    /// The error that ends the stream, once everything before it has been handed on.
    pub fn error(&self) -> Option<&WireError> {
        self.error.as_ref().filter(|_| !self.busy())
    }

    /// Works on freshly read `bytes` in place: returns how many leading bytes go on to the library as they are
    /// (a ping may have been turned into a pong on the way). The rest have been taken in, to come out of
    /// [`read`](Self::read).
    pub fn scan(&mut self, bytes: &mut [u8]) -> usize {
        if self.error.is_some() {
            return 0;
        }
        let mut i = 0;
        while i < bytes.len() {
            match self.at {
                At::Pass(left) => {
                    let n = left.min((bytes.len() - i) as u64);
                    i += n as usize;
                    self.at = if left == n {
                        At::Header { rewrite: false }
                    } else {
                        At::Pass(left - n)
                    };
                }
                At::Header { rewrite: false } => {
                    if self.header_len == 0 {
                        if self.rewrites(bytes[i]) {
                            break;
                        }
                        if self.turns_into_pong(bytes[i]) {
                            self.header[0] = bytes[i];
                            self.header_len = 1;
                            bytes[i] = (bytes[i] & 0xf0) | 0x0a;
                            i += 1;
                            continue;
                        }
                    }
                    self.header[self.header_len] = bytes[i];
                    self.header_len += 1;
                    i += 1;
                    self.header_done(false);
                }
                At::Header { rewrite: true } | At::Inflate { .. } => break,
            }
        }
        if i < bytes.len() {
            self.take_in(&bytes[i..]);
        }
        i
    }

    /// Takes in received bytes to be worked through by [`read`](Self::read).
    pub fn take_in(&mut self, bytes: &[u8]) {
        if self.error.is_some() {
            return;
        }
        if self.backlog_at == self.backlog.len() {
            self.backlog.clear();
            self.backlog_at = 0;
        }
        self.backlog.extend_from_slice(bytes);
    }

    /// Hands on up to `dst.len()` bytes for the library, working through what was taken in.
    pub fn read(&mut self, dst: &mut [u8]) -> usize {
        if self.out_at == self.out.len() {
            self.out.clear();
            self.out_at = 0;
            self.work();
        }
        let n = (self.out.len() - self.out_at).min(dst.len());
        dst[..n].copy_from_slice(&self.out[self.out_at..self.out_at + n]);
        self.out_at += n;
        n
    }

    /// A first byte that starts a frame this side must rewrite.
    /// (A data frame while a compressed message is open is taken too: it is refused, as the library refuses a
    /// new message before the last one ended.)
    fn rewrites(&self, first: u8) -> bool {
        self.inflate.is_some()
            && (first & 0x40 != 0
                || (matches!(first & 0x0f, 0..=2) && self.message.is_some_and(|m| m.compressed)))
    }

    fn turns_into_pong(&self, first: u8) -> bool {
        !self.answer_pings && first & 0x0f == 9
    }

    /// Completes a header if its bytes are all in: records what it is and where its payload goes.
    fn header_done(&mut self, rewrite: bool) {
        let Some(needed) = header_len(&self.header[..self.header_len]) else {
            return;
        };
        if self.header_len < needed {
            return;
        }
        let h = self.header;
        self.header_len = 0;
        let (fin, opcode, len) = (h[0] & 0x80 != 0, h[0] & 0x0f, payload_len(&h));
        if rewrite && let Some(e) = self.refuse(&h) {
            self.fail(e);
            return;
        }
        match opcode {
            8..=15 => self.facts.push_back(Fact::Control {
                unanswered_ping: opcode == 9 && !self.answer_pings,
            }),
            1 | 2 => {
                self.message = Some(Message {
                    opcode,
                    compressed: rewrite,
                    inflated: 0,
                    wire: 0,
                    started: false,
                    ended: false,
                });
            }
            _ => {}
        }
        if opcode < 8
            && let Some(m) = &mut self.message
        {
            m.wire = m.wire.saturating_add(len);
            if fin {
                self.facts.push_back(Fact::Data {
                    compressed: m.compressed,
                    wire_size: m.wire,
                });
                if !rewrite {
                    self.message = None;
                }
            }
        }
        self.at = match (rewrite, len) {
            (true, _) => At::Inflate { left: len, fin },
            (false, 0) => At::Header { rewrite: false },
            (false, len) => At::Pass(len),
        };
        if rewrite && len == 0 {
            self.frame_end();
        }
    }

    /// What RFC 7692 forbids in a frame with RSV1 set (or a continuation of a compressed message).
    fn refuse(&self, h: &[u8; 14]) -> Option<WireError> {
        let (rsv1, opcode, masked) = (h[0] & 0x40 != 0, h[0] & 0x0f, h[1] & 0x80 != 0);
        let protocol = |message: String| {
            Some(WireError {
                code: 1002,
                message,
            })
        };
        if rsv1 && opcode >= 8 {
            return protocol(format!(
                "the server set RSV1 on a {} frame: permessage-deflate compresses only data messages, never control frames (RFC 7692 §6)",
                frame_name(opcode)
            ));
        }
        if rsv1 && opcode == 0 {
            return protocol(
                "the server set RSV1 on a continuation frame: only the first frame of a compressed message carries it (RFC 7692 §6.1)"
                    .to_owned(),
            );
        }
        if rsv1 && !matches!(opcode, 1 | 2) {
            return protocol(format!(
                "the server sent a frame with the reserved opcode 0x{opcode:x}"
            ));
        }
        if h[0] & 0x30 != 0 {
            return protocol(
                "the server set RSV2 or RSV3, which no negotiated extension defines".to_owned(),
            );
        }
        if matches!(opcode, 1 | 2) && self.message.is_some() {
            return protocol(
                "the server started a new message before finishing the previous one (a continuation frame was expected)"
                    .to_owned(),
            );
        }
        if masked {
            return protocol("the server masked a frame (RFC 6455 §5.1 forbids it)".to_owned());
        }
        let len = payload_len(h);
        if len > self.max_frame {
            return Some(WireError {
                code: 1009,
                message: format!(
                    "the server sent a compressed frame of {len} bytes, over the limit of {} bytes on a frame",
                    self.max_frame
                ),
            });
        }
        None
    }

    fn fail(&mut self, error: WireError) {
        self.error = Some(error);
        self.backlog = Vec::new();
        self.backlog_at = 0;
        self.message = None;
    }

    /// Works through the backlog until [`BUDGET`] bytes are ready or it is empty.
    fn work(&mut self) {
        while self.error.is_none()
            && self.out.len() < BUDGET
            && self.backlog_at < self.backlog.len()
        {
            let byte = self.backlog[self.backlog_at];
            match self.at {
                At::Pass(left) => {
                    let rest = &self.backlog[self.backlog_at..];
                    let n = left.min(rest.len() as u64) as usize;
                    self.out.extend_from_slice(&rest[..n]);
                    self.backlog_at += n;
                    self.at = if left == n as u64 {
                        At::Header { rewrite: false }
                    } else {
                        At::Pass(left - n as u64)
                    };
                }
                At::Header { rewrite } => {
                    self.backlog_at += 1;
                    let rewrite = if self.header_len == 0 {
                        self.rewrites(byte)
                    } else {
                        rewrite
                    };
                    self.at = At::Header { rewrite };
                    if !rewrite {
                        self.out
                            .push(if self.header_len == 0 && self.turns_into_pong(byte) {
                                (byte & 0xf0) | 0x0a
                            } else {
                                byte
                            });
                    }
                    self.header[self.header_len] = byte;
                    self.header_len += 1;
                    self.header_done(rewrite);
                }
                At::Inflate { left, fin } => {
                    let rest = self.backlog.len() - self.backlog_at;
                    // A slice at a time, so that the budget is checked between them.
                    let n = left.min(rest.min(16 * 1024) as u64) as usize;
                    let input = std::mem::take(&mut self.backlog);
                    let used = self.inflate_some(&input[self.backlog_at..self.backlog_at + n]);
                    if self.error.is_some() {
                        // Failing dropped the backlog; it stays dropped.
                        return;
                    }
                    self.backlog = input;
                    self.backlog_at += used;
                    let left = left - used as u64;
                    self.at = At::Inflate { left, fin };
                    if left == 0 {
                        self.frame_end();
                    }
                }
            }
        }
        if self.backlog_at == self.backlog.len() {
            self.backlog.clear();
            self.backlog_at = 0;
        }
    }

    /// Inflates some of a compressed frame's payload; returns how much of `input` it took (it stops early when
    /// enough output waits).
    fn inflate_some(&mut self, input: &[u8]) -> usize {
        let mut used = 0;
        while used < input.len() && self.out.len() < BUDGET && self.error.is_none() {
            let (took, made) = self.inflate_step(&input[used..], FlushDecompress::None);
            used += took;
            if self.message.is_some_and(|m| m.ended) {
                // After BFINAL, the rest of the message is not deflate data.
                return input.len();
            }
            if took == 0 && made == 0 && self.error.is_none() {
                // With input and room for output, an inflater that neither takes nor makes is stuck.
                self.fail(WireError {
                    code: 1007,
                    message: "the server sent a compressed message whose data does not inflate (the inflater stopped making progress)".to_owned(),
                });
            }
        }
        used
    }

    /// One call into the inflater; returns the input taken and the output made.
    fn inflate_step(&mut self, input: &[u8], flush: FlushDecompress) -> (usize, u64) {
        let (Some(inflate), Some(message)) = (&mut self.inflate, &mut self.message) else {
            return (input.len(), 0);
        };
        if message.ended {
            return (input.len(), 0);
        }
        if inflate.chunk.is_empty() {
            let size = CHUNK.min(usize::try_from(self.max_frame).unwrap_or(CHUNK));
            inflate.chunk = vec![0; size].into_boxed_slice();
        }
        let (in_before, out_before) = (
            inflate.decompress.total_in(),
            inflate.decompress.total_out(),
        );
        let status =
            inflate
                .decompress
                .decompress(input, &mut inflate.chunk[inflate.filled..], flush);
        let took = (inflate.decompress.total_in() - in_before) as usize;
        let made = inflate.decompress.total_out() - out_before;
        message.inflated += made;
        match status {
            Err(e) => {
                let e = WireError {
                    code: 1007,
                    message: format!(
                        "the server sent a compressed message whose data does not inflate ({e}) after {} inflated bytes",
                        message.inflated
                    ),
                };
                self.fail(e);
                return (took, made);
            }
            Ok(Status::StreamEnd) => message.ended = true,
            Ok(_) => {}
        }
        if message.inflated > self.max_message {
            let e = WireError {
                code: 1009,
                message: format!(
                    "a compressed message from the server inflated past the {} limit on message size (after {} compressed bytes); it was stopped there",
                    crate::model::format_size(
                        usize::try_from(self.max_message).unwrap_or(usize::MAX)
                    ),
                    message.wire
                ),
            };
            self.fail(e);
            return (took, made);
        }
        inflate.filled += made as usize;
        if inflate.filled == inflate.chunk.len() {
            self.emit(false);
        }
        (took, made)
    }

    /// At the end of a compressed frame: on the message's last, the trailer goes in and the rest comes out as
    /// its final frame.
    fn frame_end(&mut self) {
        let At::Inflate { fin, .. } = self.at else {
            return;
        };
        self.at = At::Header { rewrite: false };
        if !fin {
            return;
        }
        let mut tail: &[u8] = &TAIL;
        // The trailer, then whatever output is still held: a call that takes nothing and makes nothing is done.
        loop {
            let (took, made) = self.inflate_step(tail, FlushDecompress::Sync);
            if self.error.is_some() {
                return;
            }
            tail = &tail[took.min(tail.len())..];
            if took == 0 && made == 0 || self.message.is_some_and(|m| m.ended) {
                break;
            }
        }
        self.emit(true);
        let ended = self.message.is_some_and(|m| m.ended);
        if let Some(inflate) = &mut self.inflate
            && (!inflate.takeover || ended)
        {
            inflate.decompress.reset(false);
        }
        self.message = None;
    }

    /// Hands on what is inflated as one plain frame (the message's last when `fin`).
    fn emit(&mut self, fin: bool) {
        let (Some(inflate), Some(message)) = (&mut self.inflate, &mut self.message) else {
            return;
        };
        let opcode = if message.started { 0 } else { message.opcode };
        message.started = true;
        let len = inflate.filled;
        self.out.push(if fin { 0x80 } else { 0 } | opcode);
        match len {
            0..=125 => self.out.push(len as u8),
            126..=0xffff => {
                self.out.push(126);
                self.out.extend_from_slice(&(len as u16).to_be_bytes());
            }
            _ => {
                self.out.push(127);
                self.out.extend_from_slice(&(len as u64).to_be_bytes());
            }
        }
        self.out.extend_from_slice(&inflate.chunk[..len]);
        inflate.filled = 0;
    }
}

#[cfg(test)]
mod tests;
