//! Watching frames on the wire: a stream wrapper between TLS and tungstenite that parses frame headers in both
//! directions (tungstenite itself only yields reassembled messages). It sees everything — fragments,
//! continuation frames, the automatic pongs and close replies the library sends — and reports each header.

use crate::engine::events::{EventKind, EventSink};
use crate::model::deflate::{Fact, ReadSide};
use crate::model::frame::{header_len, payload_len};
use crate::model::{ConnId, Direction, FrameInfo};
use std::io;
use std::pin::Pin;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Instant;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Incremental frame-header parser for one direction.
#[derive(Debug, Default)]
pub struct FrameParser {
    header: Vec<u8>,
    remaining: u64,
}

impl FrameParser {
    /// Feeds bytes; returns the headers completed by them.
    pub fn feed(&mut self, mut bytes: &[u8]) -> Vec<FrameInfo> {
        let mut frames = Vec::new();
        while !bytes.is_empty() {
            if self.remaining > 0 {
                let skip = (self.remaining.min(bytes.len() as u64)) as usize;
                self.remaining -= skip as u64;
                bytes = &bytes[skip..];
                continue;
            }
            self.header.push(bytes[0]);
            bytes = &bytes[1..];
            let Some(needed) = header_len(&self.header) else {
                continue;
            };
            if self.header.len() < needed {
                continue;
            }
            let info = parse_header(&self.header, 0);
            self.header.clear();
            self.remaining = info.payload_len;
            frames.push(info);
        }
        frames
    }
}

/// How many payload bytes of each received frame [`RecentFrames`] keeps.
pub const FIRST_BYTES: usize = 16;
/// How many received frames [`RecentFrames`] keeps.
const RECENT: usize = 8;

/// A received frame's header and the first bytes of its payload (as on the wire: masked, if the server masked).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CapturedFrame {
    /// The header (direction Received, dated by the read that brought it).
    pub info: FrameInfo,
    first: [u8; FIRST_BYTES],
    first_len: u8,
}

impl CapturedFrame {
    /// The first bytes of the payload that had arrived.
    pub fn first_bytes(&self) -> &[u8] {
        &self.first[..usize::from(self.first_len)]
    }
}

/// The last few frames received, kept on every connection (not only when frames are observed) so that the frame
/// behind a protocol violation can be shown. Cheap on the hot path: no allocation, work per frame not per byte.
#[derive(Debug, Default)]
pub struct RecentFrames {
    header: [u8; 14],
    header_len: usize,
    remaining: u64,
    capture_left: usize,
    ring: std::collections::VecDeque<CapturedFrame>,
}

impl RecentFrames {
    /// Feeds bytes read from the socket at `since_ns`.
    pub fn feed(&mut self, mut bytes: &[u8], since_ns: u64) {
        while !bytes.is_empty() {
            if self.remaining > 0 {
                let n = (self.remaining.min(bytes.len() as u64)) as usize;
                if self.capture_left > 0
                    && let Some(frame) = self.ring.back_mut()
                {
                    let take = self.capture_left.min(n);
                    let at = usize::from(frame.first_len);
                    frame.first[at..at + take].copy_from_slice(&bytes[..take]);
                    frame.first_len += take as u8;
                    self.capture_left -= take;
                }
                self.remaining -= n as u64;
                bytes = &bytes[n..];
                continue;
            }
            self.header[self.header_len] = bytes[0];
            self.header_len += 1;
            bytes = &bytes[1..];
            let Some(needed) = header_len(&self.header[..self.header_len]) else {
                continue;
            };
            if self.header_len < needed {
                continue;
            }
            let info = parse_header(&self.header[..self.header_len], since_ns);
            self.header_len = 0;
            self.remaining = info.payload_len;
            self.capture_left = (info.payload_len.min(FIRST_BYTES as u64)) as usize;
            if self.ring.len() == RECENT {
                self.ring.pop_front();
            }
            self.ring.push_back(CapturedFrame {
                info,
                first: [0; FIRST_BYTES],
                first_len: 0,
            });
        }
    }

    /// The earliest kept frame for which `rule` holds (the library stops at the first that breaks a rule).
    pub fn first_where(&self, rule: impl Fn(&FrameInfo) -> bool) -> Option<&CapturedFrame> {
        self.ring.iter().find(|f| rule(&f.info))
    }

    /// The latest kept frame for which `rule` holds.
    pub fn last_where(&self, rule: impl Fn(&FrameInfo) -> bool) -> Option<&CapturedFrame> {
        self.ring.iter().rev().find(|f| rule(&f.info))
    }
}

/// A complete header `h` as a received frame at `since_ns`.
fn parse_header(h: &[u8], since_ns: u64) -> FrameInfo {
    let masked = h[1] & 0x80 != 0;
    let payload_len = payload_len(h);
    FrameInfo {
        direction: Direction::Received,
        fin: h[0] & 0x80 != 0,
        rsv1: h[0] & 0x40 != 0,
        rsv2: h[0] & 0x20 != 0,
        rsv3: h[0] & 0x10 != 0,
        opcode: h[0] & 0x0f,
        masked,
        payload_len,
        since_ns,
    }
}

/// Reports frames of one connection.
pub struct Observer {
    conn_id: ConnId,
    sink: EventSink,
    started: Instant,
    read: Mutex<FrameParser>,
    write: Mutex<FrameParser>,
}

impl Observer {
    /// An observer reporting to `sink` with times relative to `started`.
    pub fn new(conn_id: ConnId, sink: EventSink, started: Instant) -> Self {
        Self {
            conn_id,
            sink,
            started,
            read: Mutex::default(),
            write: Mutex::default(),
        }
    }

    /// Feeds bytes seen in `direction`.
    pub fn observe(&self, direction: Direction, bytes: &[u8]) {
        let parser = match direction {
            Direction::Received => &self.read,
            Direction::Sent => &self.write,
        };
        let mut frames = parser.lock().unwrap_or_else(|e| e.into_inner()).feed(bytes);
        if frames.is_empty() {
            return;
        }
        // The headers completed by these bytes arrived (or left) together.
        let since_ns = crate::model::saturating_nanos(self.started.elapsed());
        for f in &mut frames {
            f.direction = direction;
            f.since_ns = since_ns;
        }
        self.sink.emit_now(self.conn_id, EventKind::Frames(frames));
    }
}

/// A stream that shows every byte to an [`Observer`], when there is one.
pub struct Observed<S> {
    inner: S,
    observer: Option<std::sync::Arc<Observer>>,
    arrivals: std::sync::Arc<Arrivals>,
    /// Bytes read before the stream was wrapped (frames that came with the 101 response), served first.
    prefix: Vec<u8>,
    prefix_at: usize,
    recent: RecentFrames,
    /// sockscope's own frame layer (permessage-deflate, pings left unanswered), when the connection needs it.
    read_side: Option<ReadSide>,
}

impl<S> Observed<S> {
    /// Wraps `inner`, to be read after `prefix`; every read that returns bytes is stamped in `arrivals`.
    ///
    /// Handing the prefix to tungstenite instead (`from_partially_read`) would size its read buffer from the
    /// prefix, and once the reader keeps payloads alive in a burst, tungstenite would read a few bytes at a time.
    pub fn new(
        inner: S,
        prefix: Vec<u8>,
        observer: Option<std::sync::Arc<Observer>>,
        arrivals: std::sync::Arc<Arrivals>,
    ) -> Self {
        Self {
            inner,
            observer,
            arrivals,
            prefix,
            prefix_at: 0,
            recent: RecentFrames::default(),
            read_side: None,
        }
    }

    /// Puts `side` between the wire and the library: what the library reads is what it hands on.
    pub fn with_read_side(mut self, side: Option<ReadSide>) -> Self {
        self.read_side = side;
        self
    }

    /// What the next message the library yields was on the wire (`None` without a read side: as it came).
    pub fn next_fact(&mut self) -> Option<Fact> {
        self.read_side.as_mut().and_then(ReadSide::next_fact)
    }

    /// The last few frames received (for showing the one behind a protocol violation).
    pub fn recent_frames(&self) -> &RecentFrames {
        &self.recent
    }

    /// The stream underneath.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    /// The stream underneath, to change.
    pub fn inner_mut(&mut self) -> &mut S {
        &mut self.inner
    }
}

/// When bytes last arrived from the socket: the stream stamps each read, and the reader dates each message by
/// the read that completed it (one clock reading per read, not per message — a read often holds hundreds).
#[derive(Debug)]
pub struct Arrivals {
    base: Instant,
    last_ns: AtomicU64,
}

impl Arrivals {
    /// Times are kept as nanoseconds since `base` (the start of the connection attempt); stamped now.
    pub fn new(base: Instant) -> Self {
        let arrivals = Self {
            base,
            last_ns: AtomicU64::new(0),
        };
        arrivals.stamp();
        arrivals
    }

    /// Records that bytes arrived now.
    pub fn stamp(&self) {
        let ns = crate::model::saturating_nanos(self.base.elapsed());
        self.last_ns.store(ns, Ordering::Relaxed);
    }

    /// When bytes last arrived, in nanoseconds since the base instant.
    pub fn last_ns(&self) -> u64 {
        self.last_ns.load(Ordering::Relaxed)
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Observed<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.read_side.is_none() || buf.remaining() == 0 {
            return this.poll_wire(cx, buf);
        }
        loop {
            let side = this.read_side.as_mut().expect("checked above");
            // What the read side made of earlier reads goes first; the socket is read only once it is all out.
            if side.busy() {
                let n = side.read(buf.initialize_unfilled());
                buf.advance(n);
                if n > 0 {
                    return Poll::Ready(Ok(()));
                }
                continue;
            }
            if let Some(e) = side.error() {
                return Poll::Ready(Err(io::Error::new(io::ErrorKind::InvalidData, e.clone())));
            }
            let before = buf.filled().len();
            match this.poll_wire(cx, buf) {
                Poll::Ready(Ok(())) if buf.filled().len() > before => {}
                other => return other,
            }
            let side = this.read_side.as_mut().expect("checked above");
            let keep = side.scan(&mut buf.filled_mut()[before..]);
            buf.set_filled(before + keep);
            if keep > 0 {
                return Poll::Ready(Ok(()));
            }
            // Everything read went into the read side: hand on what it makes of it (never an empty read, which
            // would mean the end of the stream).
        }
    }
}

impl<S: AsyncRead + Unpin> Observed<S> {
    /// Reads bytes as they are on the wire (the prefix first), stamping and watching them.
    fn poll_wire(&mut self, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self;
        let before = buf.filled().len();
        // Bytes that came with the 101 response were stamped when it was read (see `pipeline::establish`).
        let from_prefix = this.prefix_at < this.prefix.len();
        let result = if from_prefix {
            let rest = &this.prefix[this.prefix_at..];
            let n = rest.len().min(buf.remaining());
            buf.put_slice(&rest[..n]);
            this.prefix_at += n;
            if this.prefix_at == this.prefix.len() {
                this.prefix = Vec::new();
                this.prefix_at = 0;
            }
            Poll::Ready(Ok(()))
        } else {
            Pin::new(&mut this.inner).poll_read(cx, buf)
        };
        if let Poll::Ready(Ok(())) = &result
            && buf.filled().len() > before
        {
            if !from_prefix {
                this.arrivals.stamp();
            }
            this.recent
                .feed(&buf.filled()[before..], this.arrivals.last_ns());
            if let Some(observer) = &this.observer {
                observer.observe(Direction::Received, &buf.filled()[before..]);
            }
        }
        result
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Observed<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.inner).poll_write(cx, data);
        if let (Poll::Ready(Ok(n)), Some(observer)) = (&result, &this.observer) {
            observer.observe(Direction::Sent, &data[..*n]);
        }
        result
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_prefix_is_read_first_and_every_read_is_stamped() {
        use tokio::io::AsyncReadExt;
        let base = Instant::now() - std::time::Duration::from_secs(1);
        let arrivals = std::sync::Arc::new(Arrivals::new(base));
        let stamped = arrivals.last_ns();
        assert!(stamped >= 1_000_000_000);
        std::thread::sleep(std::time::Duration::from_millis(2));
        let mut stream = Observed::new(&b"cd"[..], b"ab".to_vec(), None, arrivals.clone());
        let mut out = Vec::new();
        stream.read_to_end(&mut out).await.expect("read");
        assert_eq!(out, b"abcd");
        assert!(arrivals.last_ns() >= stamped + 2_000_000);
    }

    #[tokio::test]
    async fn bytes_that_came_with_the_101_keep_the_time_they_arrived() {
        use tokio::io::AsyncReadExt;
        let arrivals = std::sync::Arc::new(Arrivals::new(Instant::now()));
        let arrived = arrivals.last_ns();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let mut stream = Observed::new(&b""[..], b"ab".to_vec(), None, arrivals.clone());
        let mut out = Vec::new();
        stream.read_to_end(&mut out).await.expect("read");
        assert_eq!(out, b"ab");
        assert_eq!(
            arrivals.last_ns(),
            arrived,
            "handing out the prefix is not an arrival"
        );
    }

    #[test]
    fn parses_headers_split_anywhere() {
        // A masked 300-byte binary frame (16-bit length), then an unmasked FIN text "hi" with RSV1.
        let mut wire = vec![0x02, 0x80 | 126, 0x01, 0x2c, 1, 2, 3, 4];
        wire.extend(std::iter::repeat_n(0u8, 300));
        wire.extend([0xC1, 0x02, b'h', b'i']);
        for split in [1, 3, 7, 64, 1000] {
            let mut p = FrameParser::default();
            let frames: Vec<FrameInfo> = wire.chunks(split).flat_map(|c| p.feed(c)).collect();
            assert_eq!(frames.len(), 2, "split {split}");
            assert_eq!(
                (
                    frames[0].opcode,
                    frames[0].fin,
                    frames[0].masked,
                    frames[0].payload_len
                ),
                (2, false, true, 300)
            );
            assert_eq!(
                (
                    frames[1].opcode,
                    frames[1].fin,
                    frames[1].rsv1,
                    frames[1].payload_len
                ),
                (1, true, true, 2)
            );
        }
    }

    #[test]
    fn a_huge_length_is_reported_not_allocated() {
        let mut p = FrameParser::default();
        let mut header = vec![0x82, 127];
        header.extend((1u64 << 40).to_be_bytes());
        let frames = p.feed(&header);
        assert_eq!(frames[0].payload_len, 1 << 40);
        assert!(p.feed(&[0; 4096]).is_empty());
    }

    #[test]
    fn recent_frames_keep_headers_and_first_bytes_split_anywhere() {
        // A text "hello, world! and more" (22 bytes), a masked binary, then a text with RSV1.
        let mut wire = vec![0x81, 22];
        wire.extend(b"hello, world! and more");
        wire.extend([0x82, 0x80 | 3, 9, 9, 9, 9, 1, 2, 3]);
        wire.extend([0xC1, 0x02, b'h', b'i']);
        for split in [1, 2, 5, 13, 1000] {
            let mut recent = RecentFrames::default();
            for (n, chunk) in wire.chunks(split).enumerate() {
                recent.feed(chunk, n as u64);
            }
            let first = recent.first_where(|_| true).expect("frames");
            assert_eq!(first.first_bytes(), b"hello, world! an", "split {split}");
            let masked = recent.first_where(|f| f.masked).expect("masked");
            assert_eq!(
                (masked.info.opcode, masked.first_bytes()),
                (2, &[1u8, 2, 3][..])
            );
            let rsv = recent.first_where(|f| f.rsv1).expect("rsv");
            assert_eq!(rsv.first_bytes(), b"hi");
            assert_eq!(
                rsv.info.violation(),
                Some("RSV bits set without a negotiated extension")
            );
            assert_eq!(first.info.violation(), None);
        }
    }

    #[test]
    fn recent_frames_are_bounded() {
        let mut recent = RecentFrames::default();
        for n in 0..100u8 {
            recent.feed(&[0x81, 1, n], 0);
        }
        assert_eq!(recent.ring.len(), RECENT);
        assert_eq!(
            recent.first_where(|_| true).map(|f| f.first_bytes()[0]),
            Some(92)
        );
    }
}
