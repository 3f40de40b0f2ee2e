//! One task owns each connection: it connects, relays commands to the socket and reports everything that
//! happens. A separate reader task keeps polling the socket at all times, so automatic pongs and close replies
//! flow even while a write is pending. Around the attempts sits the reconnect loop; within an attempt run the
//! interval pings, the pong watchdog and the heartbeat.

use crate::engine::errors::describe_ws_error;
use crate::engine::events::{EventKind, EventSink};
use crate::engine::pipeline::{self, human_duration};
use crate::engine::reader::{Clock, ReadOutcome, Shared, read_loop};
use crate::engine::task::{deadline_after, sleep_until, tick, timer_period};
use crate::model::template::{self, Context};
use crate::model::{
    CloseInfo, ConnId, ConnState, ConnectRequest, Direction, EntryExtra, Initiator, LogEntry,
    MessageKind, OutgoingMessage, RawFrame, Stage, StageError, close_code_sendable, fragment,
};
use futures_util::SinkExt;
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{CloseCode, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::{Frame, Utf8Bytes};
use tokio_tungstenite::tungstenite::{self, Message, protocol::CloseFrame};

/// How long we wait for the peer's reply after sending a close frame.
pub const CLOSE_REPLY_TIMEOUT: Duration = Duration::from_secs(5);

/// What a connection can be told to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// Send a text message.
    Text(String),
    /// Send a binary message.
    Binary(Vec<u8>),
    /// Send a ping with this payload (at most 125 bytes).
    Ping(Vec<u8>),
    /// Send a pong with this payload (at most 125 bytes).
    Pong(Vec<u8>),
    /// Send a message split into frames of at most `fragment_size` bytes.
    Fragmented {
        /// The message.
        payload: Vec<u8>,
        /// Text (else binary).
        text: bool,
        /// Largest frame payload.
        fragment_size: usize,
    },
    /// Send one hand-built frame, as is.
    Raw(RawFrame),
    /// Start the close handshake with this code (any u16) and reason.
    Close {
        /// The close code.
        code: u16,
        /// The close reason (at most 123 bytes of UTF-8).
        reason: String,
    },
    /// Drop the connection at once, without a close handshake (no reconnect follows).
    Abort,
    /// Reconnect at once: skips a pending backoff delay, or drops the open connection and reconnects.
    ReconnectNow,
}

impl Command {
    /// The payload bytes this command carries (what it holds in memory while queued).
    pub fn payload_len(&self) -> usize {
        match self {
            Self::Text(t) => t.len(),
            Self::Binary(b) | Self::Ping(b) | Self::Pong(b) => b.len(),
            Self::Fragmented { payload, .. } => payload.len(),
            Self::Raw(raw) => raw.payload.len(),
            Self::Close { reason, .. } => reason.len(),
            Self::Abort | Self::ReconnectNow => 0,
        }
    }
}

/// A command in the queue, with its share of the handle's byte budget when it was sent within one (given
/// back as the connection takes the command off the queue).
#[derive(Debug)]
pub struct Queued {
    command: Command,
    _budget: Option<tokio::sync::OwnedSemaphorePermit>,
}

impl Queued {
    /// A command outside any budget.
    pub(crate) fn now(command: Command) -> Self {
        Self {
            command,
            _budget: None,
        }
    }

    /// A command holding `permit` until it is taken off the queue.
    pub(crate) fn within(command: Command, permit: tokio::sync::OwnedSemaphorePermit) -> Self {
        Self {
            command,
            _budget: Some(permit),
        }
    }
}

/// The commands of one connection, in order.
pub type Commands = mpsc::UnboundedReceiver<Queued>;

/// The next command; its budget is given back as it leaves the queue.
async fn next(commands: &mut Commands) -> Option<Command> {
    commands.recv().await.map(|queued| queued.command)
}

/// How an attempt ended, for the reconnect loop.
struct AttemptEnd {
    /// The user ended it (close, abort, cancel, or every handle dropped): no reconnect.
    by_user: bool,
    /// The handshake completed.
    opened: bool,
    /// "Reconnect now": skip the delay.
    immediately: bool,
}

/// Runs one connection — with its reconnections, when enabled — to its end.
pub async fn run(conn_id: ConnId, req: ConnectRequest, mut commands: Commands, sink: EventSink) {
    let mut template_counter = 0u64;
    let mut reconnects = 0u32;
    let mut failures_in_a_row = 0u32;
    loop {
        let end = run_attempt(conn_id, &req, &mut commands, &sink, &mut template_counter).await;
        if end.by_user || !req.reconnect.enabled {
            return;
        }
        failures_in_a_row = if end.opened { 1 } else { failures_in_a_row + 1 };
        reconnects += 1;
        if req
            .reconnect
            .max_attempts
            .is_some_and(|max| reconnects > max)
        {
            sink.emit(
                conn_id,
                EventKind::GaveUp {
                    attempts: reconnects - 1,
                },
            )
            .await;
            return;
        }
        let delay = if end.immediately {
            Duration::ZERO
        } else {
            req.reconnect
                .delay(failures_in_a_row, template::random_unit())
        };
        sink.emit(
            conn_id,
            EventKind::Reconnecting {
                attempt: reconnects,
                delay,
            },
        )
        .await;
        let wake_at = deadline_after(delay);
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(wake_at) => break,
                cmd = next(&mut commands) => match cmd {
                    Some(Command::ReconnectNow) => break,
                    Some(Command::Close { .. } | Command::Abort) | None => return,
                    Some(_) => {
                        sink.emit(conn_id, EventKind::Error(StageError::new(
                            Stage::Write,
                            "not connected (waiting to reconnect): message not sent",
                        ))).await;
                    }
                },
            }
        }
    }
}

async fn run_attempt(
    conn_id: ConnId,
    req: &ConnectRequest,
    commands: &mut Commands,
    sink: &EventSink,
    template_counter: &mut u64,
) -> AttemptEnd {
    let clock = Clock::start();
    sink.emit(conn_id, EventKind::State(ConnState::Connecting))
        .await;

    // Commands that arrive while connecting wait for the socket; a close or abort cancels the attempt.
    let mut pending = VecDeque::new();
    let established = {
        let observer = req.observe_frames.then(|| {
            Arc::new(crate::engine::observer::Observer::new(
                conn_id,
                sink.clone(),
                clock.started,
            ))
        });
        let connecting = pipeline::establish(req, clock.started, observer, clock.arrivals.clone());
        tokio::pin!(connecting);
        loop {
            tokio::select! {
                result = &mut connecting => break Some(result),
                cmd = next(commands) => match cmd {
                    Some(Command::Close { .. } | Command::Abort) | None => break None,
                    Some(Command::ReconnectNow) => {}
                    Some(other) => pending.push_back(other),
                },
            }
        }
    };
    let (socket, handshake) = match established {
        None => {
            let cancelled = StageError::new(Stage::Tcp, "connection attempt cancelled");
            sink.emit(conn_id, EventKind::Error(cancelled)).await;
            finish(sink, conn_id, None, String::new(), false, Initiator::None).await;
            return AttemptEnd {
                by_user: true,
                opened: false,
                immediately: false,
            };
        }
        Some(Err(failure)) => {
            if let Some(h) = failure
                .handshake
                .filter(|h| h.status != 0 || h.proxy.is_some() || h.tls.is_some())
            {
                sink.emit(conn_id, EventKind::Handshake(h)).await;
            }
            sink.emit(conn_id, EventKind::Error(failure.error)).await;
            finish(sink, conn_id, None, String::new(), false, Initiator::None).await;
            return AttemptEnd {
                by_user: false,
                opened: false,
                immediately: false,
            };
        }
        Some(Ok(v)) => v,
    };
    sink.emit(conn_id, EventKind::Handshake(handshake)).await;
    sink.emit(conn_id, EventKind::State(ConnState::Open)).await;

    // On-connect messages go first, before anything queued while connecting.
    for (i, message) in req.on_connect.iter().enumerate() {
        match expand_outgoing(message, template_counter) {
            Ok(cmd) => pending.insert(i, cmd),
            Err(e) => {
                let err = StageError::new(
                    Stage::Write,
                    format!("on-connect message {} not sent: {e}", i + 1),
                );
                sink.emit(conn_id, EventKind::Error(err)).await;
            }
        }
    }

    let (mut writer, reader) = crate::engine::duplex::split(socket);
    let shared = Arc::new(Shared::default());
    let mut reader_task = tokio::spawn(crate::engine::task::catch_panic(read_loop(
        conn_id,
        reader,
        sink.clone(),
        clock.clone(),
        shared.clone(),
    )));
    let mut close_deadline: Option<tokio::time::Instant> = None;
    let mut write_error: Option<StageError> = None;
    let mut aborted = false;
    let mut by_user = false;
    let mut immediately = false;
    let mut dead = false;

    let mut ping_timer = req
        .keepalive
        .ping_interval_millis
        .filter(|&ms| ms > 0)
        .map(|ms| {
            let period = timer_period(ms);
            tokio::time::interval_at(deadline_after(period), period)
        });
    let pong_timeout = req
        .keepalive
        .pong_timeout_millis
        .filter(|&ms| ms > 0)
        .map(timer_period);
    let mut watchdog = pong_timeout.map(|t| {
        let period = (t / 4).clamp(Duration::from_millis(10), Duration::from_millis(250));
        tokio::time::interval(period)
    });
    let mut heartbeat_timer = req
        .heartbeat
        .as_ref()
        .filter(|h| h.interval_millis > 0)
        .map(|h| {
            let period = timer_period(h.interval_millis);
            tokio::time::interval_at(deadline_after(period), period)
        });
    let mut ping_number = 0u64;

    let outcome = loop {
        let next_command = async {
            match pending.pop_front() {
                Some(c) => Some(c),
                None => next(commands).await,
            }
        };
        let cmd = tokio::select! {
            biased;
            joined = &mut reader_task => break Some(reader_outcome(joined)),
            _ = sleep_until(close_deadline) => {
                reader_task.abort();
                let msg = format!(
                    "the server did not answer our close frame within {}",
                    human_duration(CLOSE_REPLY_TIMEOUT)
                );
                sink.emit(conn_id, EventKind::Error(StageError::new(Stage::Timeout, msg))).await;
                break None;
            }
            _ = tick(&mut watchdog) => {
                let Some(limit) = pong_timeout else { continue };
                let oldest = shared.pings().front().map(|(_, sent)| sent.elapsed());
                if dead || oldest.is_none_or(|age| age <= limit) {
                    continue;
                }
                dead = true;
                let msg = format!(
                    "no pong within {} of our ping: the connection looks dead{}",
                    human_duration(limit),
                    if req.keepalive.close_when_dead { " (dropping it)" } else { "" }
                );
                sink.emit(conn_id, EventKind::Error(StageError::new(Stage::Timeout, msg))).await;
                if req.keepalive.close_when_dead {
                    reader_task.abort();
                    break None;
                }
                continue;
            }
            _ = tick(&mut ping_timer) => {
                ping_number += 1;
                Command::Ping(format!("sockscope-{ping_number}").into_bytes())
            }
            _ = tick(&mut heartbeat_timer) => {
                let Some(h) = &req.heartbeat else { continue };
                match expand_outgoing(&OutgoingMessage::Text(h.text.clone()), template_counter) {
                    Ok(cmd) => cmd,
                    Err(e) => {
                        let err = StageError::new(Stage::Write, format!("heartbeat not sent: {e}"));
                        sink.emit(conn_id, EventKind::Error(err)).await;
                        continue;
                    }
                }
            }
            cmd = next_command => match cmd {
                Some(c) => c,
                // Every handle is gone (the app is closing): leave politely.
                None => Command::Close { code: 1001, reason: "going away".into() },
            },
        };
        if matches!(cmd, Command::Close { .. } | Command::Abort) {
            by_user = true;
        }
        if shared.close_sent.load(Ordering::Acquire)
            && !matches!(cmd, Command::Abort | Command::ReconnectNow)
        {
            if !matches!(cmd, Command::Close { .. }) {
                let err =
                    StageError::new(Stage::Write, "the connection is closing: message not sent");
                sink.emit(conn_id, EventKind::Error(err)).await;
            }
            continue;
        }
        let (messages, entry) = match outgoing(conn_id, &clock, cmd) {
            Outgoing::Send(m, e) => (m, e),
            Outgoing::Abort => {
                aborted = true;
                reader_task.abort();
                break None;
            }
            Outgoing::Reconnect => {
                immediately = true;
                reader_task.abort();
                break None;
            }
            Outgoing::Invalid(err) => {
                sink.emit(conn_id, EventKind::Error(err)).await;
                continue;
            }
        };
        // Our close handshake (a raw close frame, which has no parsed code here, is just a frame).
        let is_close = entry.kind == MessageKind::Close && entry.close_code().is_some();
        if is_close {
            shared.close_sent.store(true, Ordering::Release);
        }
        if entry.kind == MessageKind::Ping && entry.direction == Direction::Sent {
            shared.ping_sent(entry.payload.to_vec(), Instant::now());
        }
        // Reported before the socket is let go, so before any reply to it.
        let result = writer
            .send_then(messages, || {
                sink.emit_now(conn_id, EventKind::Message(entry))
            })
            .await;
        match result {
            Ok(()) => {
                if is_close {
                    sink.emit(conn_id, EventKind::State(ConnState::Closing))
                        .await;
                    close_deadline = Some(tokio::time::Instant::now() + CLOSE_REPLY_TIMEOUT);
                }
            }
            Err(
                tungstenite::Error::ConnectionClosed
                | tungstenite::Error::AlreadyClosed
                | tungstenite::Error::Protocol(tungstenite::error::ProtocolError::SendAfterClosing),
            ) => {
                let err =
                    StageError::new(Stage::Write, "the connection is closing: message not sent");
                sink.emit(conn_id, EventKind::Error(err)).await;
            }
            Err(e) => {
                write_error = Some(StageError::new(Stage::Write, describe_ws_error(&e)));
                reader_task.abort();
                break None;
            }
        }
    };

    if let Some(err) = write_error {
        sink.emit(conn_id, EventKind::Error(err)).await;
    }
    let close_sent = shared.close_sent.load(Ordering::Acquire);
    let (peer_close, read_error, fail) = match outcome {
        Some(o) => (o.peer_close, o.error, o.fail_code),
        None => (None, None, None),
    };
    if let Some(err) = read_error {
        sink.emit(conn_id, EventKind::Error(err)).await;
    }
    // The server broke the protocol: tell it why before dropping the connection (RFC 6455 §7.1.7). The
    // library's state is already failed, so the close goes out as a raw frame.
    if let Some(code) = fail.filter(|_| !shared.close_sent.load(Ordering::Acquire)) {
        let reason = match code {
            1007 => "invalid UTF-8",
            1009 => "message too big",
            _ => "protocol error",
        };
        let frame = Frame::close(Some(CloseFrame {
            code: CloseCode::from(code),
            reason: Utf8Bytes::from(reason),
        }));
        let sent = tokio::time::timeout(Duration::from_secs(1), async {
            writer.feed(Message::Frame(frame)).await?;
            writer.flush().await
        })
        .await;
        if matches!(sent, Ok(Ok(()))) {
            let mut entry = clock.sent(
                conn_id,
                MessageKind::Close,
                reason.as_bytes().to_vec(),
                Some(code),
            );
            entry.extra = Some(Box::new(EntryExtra {
                note: Some(format!(
                    "sent because the server broke the protocol ({reason})"
                )),
                ..EntryExtra::default()
            }));
            sink.emit(conn_id, EventKind::Message(entry)).await;
        }
    }
    if aborted {
        let err = StageError::new(
            Stage::Write,
            "connection dropped without a close handshake (abort)",
        );
        sink.emit(conn_id, EventKind::Error(err)).await;
    }
    let (code, reason, clean, initiated_by) = match peer_close {
        Some((code, reason)) => {
            let initiated_by = if shared.peer_first.load(Ordering::Acquire) {
                Initiator::Server
            } else {
                Initiator::Client
            };
            (code, reason, true, initiated_by)
        }
        None => {
            let initiated_by = if close_sent {
                Initiator::Client
            } else {
                Initiator::None
            };
            (None, String::new(), false, initiated_by)
        }
    };
    finish(sink, conn_id, code, reason, clean, initiated_by).await;
    AttemptEnd {
        by_user,
        opened: true,
        immediately,
    }
}

/// How the reader task ended, as the connection reports it: a panic in it is a bug reported as an internal
/// error (the connection then ends unclean), never a silent end.
fn reader_outcome(
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
    }
}

fn expand_outgoing(
    message: &OutgoingMessage,
    counter: &mut u64,
) -> Result<Command, template::TemplateError> {
    match message {
        OutgoingMessage::Text(text) => {
            *counter += 1;
            let ctx = Context {
                counter: *counter,
                ..Context::default()
            };
            template::expand(text, &ctx, |name| std::env::var(name).ok()).map(Command::Text)
        }
        OutgoingMessage::Binary(bytes) => Ok(Command::Binary(bytes.clone())),
    }
}

async fn finish(
    sink: &EventSink,
    conn_id: ConnId,
    code: Option<u16>,
    reason: String,
    clean: bool,
    initiated_by: Initiator,
) {
    sink.emit(conn_id, EventKind::State(ConnState::Closed))
        .await;
    let info = CloseInfo {
        code,
        reason,
        clean,
        initiated_by,
    };
    sink.emit(conn_id, EventKind::Closed(info)).await;
}

enum Outgoing {
    Send(Vec<Message>, LogEntry),
    Abort,
    Reconnect,
    Invalid(StageError),
}

fn with_note(mut entry: LogEntry, note: String, violation: bool) -> LogEntry {
    let extra = entry.extra_mut();
    extra.note = Some(note);
    extra.violation = violation;
    entry
}

fn to_frame(raw: &RawFrame) -> Frame {
    let mut frame = Frame::message(
        raw.payload.clone(),
        OpCode::from(raw.opcode & 0x0f),
        raw.fin,
    );
    let header = frame.header_mut();
    header.rsv1 = raw.rsv1;
    header.rsv2 = raw.rsv2;
    header.rsv3 = raw.rsv3;
    frame
}

fn outgoing(conn_id: ConnId, clock: &Clock, cmd: Command) -> Outgoing {
    let entry = |kind, payload: Vec<u8>, code| clock.sent(conn_id, kind, payload, code);
    let control_limit = |what: &str, p: &[u8]| {
        (p.len() > crate::model::MAX_CONTROL_PAYLOAD).then(|| {
            StageError::new(
                Stage::Write,
                format!(
                    "a {what} payload may be at most 125 bytes (this one is {}); send a raw frame to break the rule on purpose",
                    p.len()
                ),
            )
        })
    };
    match cmd {
        Command::Text(t) => {
            let e = entry(MessageKind::Text, t.clone().into_bytes(), None);
            Outgoing::Send(vec![Message::text(t)], e)
        }
        Command::Binary(b) => {
            let e = entry(MessageKind::Binary, b.clone(), None);
            Outgoing::Send(vec![Message::binary(b)], e)
        }
        Command::Ping(p) => match control_limit("ping", &p) {
            Some(err) => Outgoing::Invalid(err),
            None => Outgoing::Send(
                vec![Message::Ping(p.clone().into())],
                entry(MessageKind::Ping, p, None),
            ),
        },
        Command::Pong(p) => match control_limit("pong", &p) {
            Some(err) => Outgoing::Invalid(err),
            None => Outgoing::Send(
                vec![Message::Pong(p.clone().into())],
                entry(MessageKind::Pong, p, None),
            ),
        },
        Command::Fragmented {
            payload,
            text,
            fragment_size,
        } => {
            if text && std::str::from_utf8(&payload).is_err() {
                return Outgoing::Invalid(StageError::new(
                    Stage::Write,
                    "a text message must be valid UTF-8",
                ));
            }
            let frames = fragment(&payload, text, fragment_size);
            let note = format!(
                "sent as {} frames of at most {} bytes",
                frames.len(),
                fragment_size.max(1)
            );
            let kind = if text {
                MessageKind::Text
            } else {
                MessageKind::Binary
            };
            let messages = frames.iter().map(|f| Message::Frame(to_frame(f))).collect();
            Outgoing::Send(messages, with_note(entry(kind, payload, None), note, false))
        }
        Command::Raw(raw) => {
            let kind = match raw.opcode {
                1 => MessageKind::Text,
                8 => MessageKind::Close,
                9 => MessageKind::Ping,
                10 => MessageKind::Pong,
                _ => MessageKind::Binary,
            };
            let (note, violation) = match raw.violation() {
                Some(v) => (format!("{}; protocol violation: {v}", raw.describe()), true),
                None => (raw.describe(), false),
            };
            let e = with_note(entry(kind, raw.payload.clone(), None), note, violation);
            Outgoing::Send(vec![Message::Frame(to_frame(&raw))], e)
        }
        Command::Close { code, reason } => {
            if reason.len() > 123 {
                return Outgoing::Invalid(StageError::new(
                    Stage::Write,
                    format!(
                        "a close reason may be at most 123 bytes (this one is {})",
                        reason.len()
                    ),
                ));
            }
            let mut e = entry(MessageKind::Close, reason.clone().into_bytes(), Some(code));
            if !close_code_sendable(code) {
                let note = format!("close code {code} is reserved: RFC 6455 forbids sending it");
                e.extra = Some(Box::new(EntryExtra {
                    note: Some(note),
                    violation: true,
                    ..EntryExtra::default()
                }));
                let frame = Frame::close(Some(CloseFrame {
                    code: CloseCode::from(code),
                    reason: Utf8Bytes::from(reason),
                }));
                // A reserved code is sent as a raw frame: tungstenite would otherwise refuse or rewrite it.
                return Outgoing::Send(vec![Message::Frame(frame)], e);
            }
            let frame = CloseFrame {
                code: CloseCode::from(code),
                reason: reason.into(),
            };
            Outgoing::Send(vec![Message::Close(Some(frame))], e)
        }
        Command::Abort => Outgoing::Abort,
        Command::ReconnectNow => Outgoing::Reconnect,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
