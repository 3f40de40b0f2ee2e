//! The reader task of a connection: it keeps polling the socket (so automatic pongs and close replies flow even
//! while a write waits), dates each message by the socket read that completed it, gathers the data messages that
//! are ready into bursts, and reports control frames — with the round-trip time of a pong that answers our ping.

use super::duplex::Reader;
use crate::engine::errors::{describe_ws_error, fail_code, wire_error};
use crate::engine::events::{BURST_BYTES, BURST_MESSAGES, EventKind, EventSink, Incoming};
use crate::engine::observer::Arrivals;
use crate::model::deflate::Fact;
use crate::model::{
    ConnId, ConnState, Direction, FrameInfo, LogEntry, MAX_CONTROL_PAYLOAD, MessageKind, Stage,
    StageError, saturating_nanos, unix_nanos,
};
use futures_util::Stream;
use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::{Instant, SystemTime};
use tokio_tungstenite::tungstenite::{self, Message};

/// When the attempt started, on both clocks, and when bytes last arrived. Entries are dated on the monotonic
/// clock and placed on the wall clock from the attempt's start, so "at" and "since connect" always agree.
#[derive(Clone)]
pub(super) struct Clock {
    pub(super) started: Instant,
    started_unix_ns: i64,
    pub(super) arrivals: Arc<Arrivals>,
}

impl Clock {
    pub(super) fn start() -> Self {
        let started = Instant::now();
        Self {
            started,
            started_unix_ns: unix_nanos(SystemTime::now()),
            arrivals: Arc::new(Arrivals::new(started)),
        }
    }

    /// `since` (nanoseconds since the start) as nanoseconds since the Unix epoch.
    pub(super) fn unix_ns(&self, since_ns: u64) -> i64 {
        self.started_unix_ns
            .saturating_add(i64::try_from(since_ns).unwrap_or(i64::MAX))
    }

    /// An entry for a message we sent (or the library sent for us), dated now.
    pub(super) fn sent(
        &self,
        conn_id: ConnId,
        kind: MessageKind,
        payload: impl Into<Box<[u8]>>,
        close_code: Option<u16>,
    ) -> LogEntry {
        let since_ns = saturating_nanos(self.started.elapsed());
        self.entry(
            conn_id,
            Direction::Sent,
            kind,
            payload,
            close_code,
            since_ns,
        )
    }

    /// An entry for a received message, dated by the read that completed it.
    fn received(
        &self,
        conn_id: ConnId,
        kind: MessageKind,
        payload: impl Into<Box<[u8]>>,
        close_code: Option<u16>,
    ) -> LogEntry {
        let since_ns = self.arrivals.last_ns();
        self.entry(
            conn_id,
            Direction::Received,
            kind,
            payload,
            close_code,
            since_ns,
        )
    }

    fn entry(
        &self,
        conn_id: ConnId,
        direction: Direction,
        kind: MessageKind,
        payload: impl Into<Box<[u8]>>,
        close_code: Option<u16>,
        since_ns: u64,
    ) -> LogEntry {
        LogEntry::from_nanos(
            conn_id,
            direction,
            kind,
            self.unix_ns(since_ns),
            since_ns,
            payload,
        )
        .with_close_code(close_code)
    }
}

/// Facts the reader and the writer share.
#[derive(Default)]
pub(super) struct Shared {
    /// A close frame went out (ours, or the library's reply to the peer's).
    pub(super) close_sent: AtomicBool,
    /// The peer's close frame arrived before we sent one.
    pub(super) peer_first: AtomicBool,
    /// Pings we sent and have no pong for yet: payload and send time.
    pub(super) pending_pings: Mutex<VecDeque<(Vec<u8>, Instant)>>,
}

/// How many unanswered pings are remembered for their round trip: a peer that never answers (with no pong timeout
/// set) would otherwise make the list grow with every interval ping.
pub(super) const MAX_PENDING_PINGS: usize = 256;

impl Shared {
    /// Remembers a ping we sent, forgetting the oldest unanswered one past [`MAX_PENDING_PINGS`].
    pub(super) fn ping_sent(&self, payload: Vec<u8>, at: Instant) {
        let mut pings = self.pings();
        if pings.len() >= MAX_PENDING_PINGS {
            pings.pop_front();
        }
        pings.push_back((payload, at));
    }

    pub(super) fn pings(&self) -> std::sync::MutexGuard<'_, VecDeque<(Vec<u8>, Instant)>> {
        // A panic while holding this lock cannot leave the queue inconsistent: take it anyway.
        self.pending_pings.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// What the reader saw when the socket ended.
pub(super) struct ReadOutcome {
    pub(super) peer_close: Option<(Option<u16>, String)>,
    pub(super) error: Option<StageError>,
    /// The close code RFC 6455 asks us to send for what the server did wrong (1002, 1007, 1009).
    pub(super) fail_code: Option<u16>,
    /// The reason to send with it, when the usual one for the code would be wrong.
    pub(super) fail_reason: Option<&'static str>,
}

/// The reader task: takes messages off the socket until it ends, reporting data messages in bursts and control
/// frames one by one, and says how the socket ended.
pub(super) async fn read_loop(
    conn_id: ConnId,
    reader: Reader,
    sink: EventSink,
    clock: Clock,
    shared: Arc<Shared>,
    mut lens: Option<super::lens::ReaderLens>,
) -> ReadOutcome {
    let mut outcome = ReadOutcome {
        peer_close: None,
        error: None,
        fail_code: None,
        fail_reason: None,
    };
    // Data messages that came off the socket without waiting, not yet reported.
    let mut burst: Vec<Incoming> = Vec::new();
    let mut burst_bytes = 0usize;
    let detach = sink.detaches_payloads();
    loop {
        if sink.lagging() {
            // The GUI is far behind (a flood faster than it can draw): read more slowly, so that TCP slows the
            // sender down instead of the backlog growing in memory. The socket is still read every
            // millisecond, so pings are answered, and past the budget messages are dropped and counted.
            tokio::time::sleep(PACE_DELAY).await;
        }
        // Wait for a message, then take every data message that is ready, under one lock.
        let step = std::future::poll_fn(|cx| {
            let mut socket = reader.lock();
            loop {
                let (text, payload) = match Pin::new(&mut *socket).poll_next(cx) {
                    Poll::Ready(Some(Ok(Message::Text(t)))) => (true, bytes::Bytes::from(t)),
                    Poll::Ready(Some(Ok(Message::Binary(b)))) => (false, b),
                    Poll::Ready(Some(Ok(control))) => {
                        // A ping the read side handed on as a pong, so that it goes unanswered.
                        let unanswered = matches!(
                            socket.get_mut().next_fact(),
                            Some(Fact::Control {
                                unanswered_ping: true
                            })
                        );
                        return Poll::Ready(match control {
                            Message::Pong(p) if unanswered => Step::UnansweredPing(p),
                            other => Step::Other(Ok(other)),
                        });
                    }
                    Poll::Ready(Some(other)) => return Poll::Ready(Step::Other(other)),
                    Poll::Ready(None) => return Poll::Ready(Step::Ended),
                    Poll::Pending if burst.is_empty() => return Poll::Pending,
                    Poll::Pending => return Poll::Ready(Step::Waiting),
                };
                let payload = if detach {
                    bytes::Bytes::from(payload.to_vec())
                } else {
                    payload
                };
                let since_ns = clock.arrivals.last_ns();
                burst_bytes += payload.len();
                let compressed_size = match socket.get_mut().next_fact() {
                    Some(Fact::Data {
                        compressed: true,
                        wire_size,
                    }) => Some(wire_size),
                    _ => None,
                };
                burst.push(Incoming {
                    text,
                    at_ns: clock.unix_ns(since_ns),
                    since_ns,
                    payload,
                    protocol: None,
                    compressed_size,
                });
                if burst.len() >= BURST_MESSAGES || burst_bytes >= BURST_BYTES {
                    return Poll::Ready(Step::Full);
                }
            }
        })
        .await;
        // What came before a control frame, an error or the end is reported first (decoded, with a protocol,
        // and followed by what the protocol made of it).
        let after = lens.as_mut().map(|l| l.decode(&mut burst));
        send_burst(&sink, conn_id, &mut burst, &mut burst_bytes).await;
        if let (Some(l), Some(after)) = (&lens, after) {
            l.finish(after, conn_id, &sink).await;
        }
        let message = match step {
            Step::Waiting => continue,
            Step::Full => {
                // Let the consumer take it: once it drops the payloads, tungstenite reuses its read buffer
                // instead of allocating (and zeroing) a new one.
                tokio::task::yield_now().await;
                continue;
            }
            Step::Ended => break,
            Step::UnansweredPing(p) => {
                let mut entry = clock.received(conn_id, MessageKind::Ping, p.to_vec(), None);
                entry.extra_mut().note =
                    Some("not answered: automatic pongs are off (--no-auto-pong)".to_owned());
                sink.emit(conn_id, EventKind::Message(entry)).await;
                continue;
            }
            Step::Other(Ok(m)) => m,
            Step::Other(Err(
                tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed,
            )) => break,
            Step::Other(Err(e)) => {
                // A TLS peer that drops TCP after a completed close is not an error.
                if outcome.peer_close.is_none() {
                    outcome.error = Some(StageError::new(Stage::Read, describe_ws_error(&e)));
                    outcome.fail_code = fail_code(&e);
                    outcome.fail_reason = wire_error(&e).map(|w| match w.code {
                        1007 => "invalid compressed data",
                        1009 => "message too big",
                        _ => "protocol error",
                    });
                    if outcome.fail_code.is_some() {
                        let entry = offending_frame(conn_id, &clock, &reader, &e);
                        if let Some(entry) = entry {
                            sink.emit(conn_id, EventKind::Message(entry)).await;
                        }
                    }
                }
                break;
            }
        };
        let close = matches!(message, Message::Close(_));
        report_control(conn_id, message, &sink, &clock, &shared, &mut outcome).await;
        // Over HTTP/2 the reply to our close completes the WebSocket: the server gets a moment to end its side
        // of the stream (then we end ours with END_STREAM), and the stream ends here either way (a server need
        // not end it; hypercorn does not).
        if close
            && !shared.peer_first.load(Ordering::Acquire)
            && reader.lock().get_ref().inner().is_h2()
        {
            let _ = tokio::time::timeout(H2_END_GRACE, until_end(&reader)).await;
            break;
        }
    }
    // Over HTTP/2: END_STREAM when the server ended its side, else RST_STREAM CANCEL.
    reader.lock().get_mut().inner_mut().end_h2_stream();
    outcome
}

/// How long the server has to end its side of an HTTP/2 stream after its reply to our close.
const H2_END_GRACE: std::time::Duration = std::time::Duration::from_millis(200);

/// Reads until the stream ends (after a close handshake nothing more is a message).
async fn until_end(reader: &Reader) {
    std::future::poll_fn(|cx| {
        let mut socket = reader.lock();
        loop {
            match Pin::new(&mut *socket).poll_next(cx) {
                Poll::Ready(None | Some(Err(_))) => return Poll::Ready(()),
                Poll::Ready(Some(Ok(_))) => continue,
                Poll::Pending => return Poll::Pending,
            }
        }
    })
    .await;
}

/// The frame behind a protocol violation, as a red log row with its header and first bytes: the earliest kept
/// frame that breaks the rule the library reported (it stops at the first), or the latest that can carry the
/// fault (invalid UTF-8, a message too big).
fn offending_frame(
    conn_id: ConnId,
    clock: &Clock,
    reader: &Reader,
    err: &tungstenite::Error,
) -> Option<LogEntry> {
    use tungstenite::error::ProtocolError as P;
    let socket = reader.lock();
    let recent = socket.get_ref().recent_frames();
    let compressed_data = |f: &FrameInfo| f.rsv1 && matches!(f.opcode, 1 | 2);
    let wire = wire_error(err).map(|w| match w.code {
        1002 => recent.first_where(|f| f.rsv1 && !compressed_data(f) || f.masked),
        _ => recent.last_where(compressed_data),
    });
    let frame = match err {
        _ if wire.is_some() => wire.flatten(),
        tungstenite::Error::Protocol(P::NonZeroReservedBits) => {
            recent.first_where(|f| f.rsv1 || f.rsv2 || f.rsv3)
        }
        tungstenite::Error::Protocol(P::MaskedFrameFromServer) => recent.first_where(|f| f.masked),
        tungstenite::Error::Protocol(
            P::InvalidOpcode(_) | P::UnknownControlFrameType(_) | P::UnknownDataFrameType(_),
        ) => recent.first_where(|f| matches!(f.opcode, 3..=7 | 11..=15)),
        tungstenite::Error::Protocol(P::FragmentedControlFrame) => {
            recent.first_where(|f| f.opcode >= 8 && !f.fin)
        }
        tungstenite::Error::Protocol(P::ControlFrameTooBig) => {
            recent.first_where(|f| f.opcode >= 8 && f.payload_len > MAX_CONTROL_PAYLOAD as u64)
        }
        tungstenite::Error::Protocol(P::UnexpectedContinueFrame) => {
            recent.first_where(|f| f.opcode == 0)
        }
        tungstenite::Error::Protocol(P::InvalidCloseSequence) => {
            recent.first_where(|f| f.opcode == 8)
        }
        tungstenite::Error::Utf8(_) => recent.last_where(|f| matches!(f.opcode, 0 | 1 | 8)),
        _ => None,
    }
    .or_else(|| recent.last_where(|_| true))?;
    let info = &frame.info;
    let kind = match info.opcode {
        1 => MessageKind::Text,
        8 => MessageKind::Close,
        9 => MessageKind::Ping,
        10 => MessageKind::Pong,
        _ => MessageKind::Binary,
    };
    let mut header = format!(
        "opcode 0x{:x} ({}), FIN={}",
        info.opcode,
        info.opcode_name(),
        u8::from(info.fin)
    );
    for (bit, on) in [
        ("RSV1", info.rsv1),
        ("RSV2", info.rsv2),
        ("RSV3", info.rsv3),
    ] {
        if on {
            header.push_str(", ");
            header.push_str(bit);
        }
    }
    if info.masked {
        header.push_str(", masked");
    }
    let note = format!(
        "the frame that broke the protocol ({}): {header}, payload length {}; showing its first {} bytes",
        describe_ws_error(err),
        info.payload_len,
        frame.first_bytes().len()
    );
    let mut entry = LogEntry::from_nanos(
        conn_id,
        Direction::Received,
        kind,
        clock.unix_ns(info.since_ns),
        info.since_ns,
        frame.first_bytes(),
    );
    let extra = entry.extra_mut();
    extra.note = Some(note);
    extra.violation = true;
    Some(entry)
}

/// How long the reader pauses before each burst while its consumer lags.
const PACE_DELAY: std::time::Duration = std::time::Duration::from_millis(1);

/// Where one turn of the reader stopped.
enum Step {
    /// The socket would wait (and a burst was gathered).
    Waiting,
    /// The burst is full.
    Full,
    /// Something other than a data message: a control frame or an error.
    Other(tungstenite::Result<Message>),
    /// A ping that goes unanswered (automatic pongs are off).
    UnansweredPing(bytes::Bytes),
    /// The socket ended.
    Ended,
}

/// Sends the burst gathered so far (if any), and starts the next with room for as many messages.
async fn send_burst(
    sink: &EventSink,
    conn_id: ConnId,
    burst: &mut Vec<Incoming>,
    bytes: &mut usize,
) {
    if burst.is_empty() {
        return;
    }
    let next = Vec::with_capacity(burst.len());
    *bytes = 0;
    sink.emit_burst(conn_id, std::mem::replace(burst, next))
        .await;
}

/// Reports a received ping, pong or close (with the round-trip time of a pong that answers our ping, and the
/// library's automatic reply to a close).
async fn report_control(
    conn_id: ConnId,
    message: Message,
    sink: &EventSink,
    clock: &Clock,
    shared: &Shared,
    outcome: &mut ReadOutcome,
) {
    let (kind, payload, code) = match message {
        Message::Ping(p) => (MessageKind::Ping, p.to_vec(), None),
        Message::Pong(p) => (MessageKind::Pong, p.to_vec(), None),
        Message::Close(frame) => {
            let (code, reason) = match frame {
                Some(f) => (Some(u16::from(f.code)), f.reason.to_string()),
                None => (None, String::new()),
            };
            outcome.peer_close = Some((code, reason.clone()));
            (MessageKind::Close, reason.into_bytes(), code)
        }
        Message::Text(_) | Message::Binary(_) | Message::Frame(_) => return,
    };
    let is_close = kind == MessageKind::Close;
    let mut entry = clock.received(conn_id, kind, payload, code);
    if kind == MessageKind::Pong {
        let mut pings = shared.pings();
        if let Some(pos) = pings.iter().position(|(p, _)| **p == *entry.payload) {
            let (_, sent) = pings[pos];
            // Older pings than the answered one are answered too (RFC 6455 allows one pong for several).
            pings.drain(..=pos);
            entry.extra_mut().rtt = Some(sent.elapsed());
        }
    }
    let reply_payload = is_close.then(|| entry.payload.clone());
    sink.emit(conn_id, EventKind::Message(entry)).await;
    if is_close && !shared.close_sent.swap(true, Ordering::AcqRel) {
        shared.peer_first.store(true, Ordering::Release);
        // The peer closed first: the library answers with the same close frame.
        let reply = clock
            .sent(
                conn_id,
                MessageKind::Close,
                reply_payload.unwrap_or_default(),
                code,
            )
            .with_automatic();
        sink.emit(conn_id, EventKind::State(ConnState::Closing))
            .await;
        sink.emit(conn_id, EventKind::Message(reply)).await;
    }
}

/// How the reader task ended, as the connection reports it: a panic in it is a bug reported as an internal
/// error (the connection then ends unclean), never a silent end.
pub(super) fn reader_outcome(
    joined: Result<Result<ReadOutcome, String>, tokio::task::JoinError>,
) -> ReadOutcome {
    let what = match joined {
        Ok(Ok(outcome)) => return outcome,
        Ok(Err(panic)) => panic,
        Err(e) => e.to_string(),
    };
    tracing::error!("a connection's reader task failed: {what}");
    ReadOutcome {
        peer_close: None,
        error: Some(StageError::new(
            Stage::Internal,
            format!(
                "sockscope hit a bug while reading and ended this connection ({what}); other connections are unaffected"
            ),
        )),
        fail_code: None,
        fail_reason: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unanswered_pings_are_bounded_oldest_first() {
        let shared = Shared::default();
        let start = Instant::now();
        for n in 0..(MAX_PENDING_PINGS + 10) {
            shared.ping_sent(n.to_string().into_bytes(), start);
        }
        let pings = shared.pings();
        assert_eq!(pings.len(), MAX_PENDING_PINGS);
        assert_eq!(pings.front().map(|(p, _)| p.as_slice()), Some(&b"10"[..]));
        let last = (MAX_PENDING_PINGS + 9).to_string();
        assert_eq!(
            pings.back().map(|(p, _)| p.clone()),
            Some(last.into_bytes())
        );
    }

    #[tokio::test]
    async fn a_panic_in_the_reader_is_reported_as_an_internal_error() {
        let task = tokio::spawn(crate::engine::task::catch_panic(async {
            if std::hint::black_box(true) {
                panic!("reader exploded");
            }
            ReadOutcome {
                peer_close: None,
                error: None,
                fail_code: None,
                fail_reason: None,
            }
        }));
        let outcome = reader_outcome(task.await);
        let error = outcome.error.expect("an error, not a silent end");
        assert_eq!(error.stage, Stage::Internal);
        assert!(
            error.message.contains("reader exploded"),
            "{}",
            error.message
        );
        assert!(outcome.peer_close.is_none(), "so the close is not clean");
    }
}
