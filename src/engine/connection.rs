//! One task owns each connection: it connects, then relays commands to the socket and everything that happens
//! to the event sink. A separate reader task keeps polling the socket at all times, so automatic pongs and close
//! replies flow even while a write is pending.

use crate::engine::events::{EventKind, EventSink};
use crate::engine::pipeline::{self, human_duration};
use crate::model::{
    CloseInfo, ConnId, ConnState, ConnectRequest, Direction, Initiator, LogEntry, MessageKind,
    Stage, StageError,
};
use futures_util::{SinkExt, StreamExt};
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::{
    self, Message, protocol::CloseFrame, protocol::frame::coding::CloseCode,
};

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
    /// Start the close handshake with this code and reason.
    Close {
        /// The close code.
        code: u16,
        /// The close reason (at most 123 bytes of UTF-8).
        reason: String,
    },
    /// Drop the connection at once, without a close handshake.
    Abort,
}

/// When the connection started, on both clocks.
#[derive(Clone, Copy)]
struct Clock {
    started: Instant,
}

impl Clock {
    fn entry(
        &self,
        conn_id: ConnId,
        direction: Direction,
        kind: MessageKind,
        payload: Vec<u8>,
        close_code: Option<u16>,
    ) -> LogEntry {
        LogEntry {
            conn_id,
            direction,
            kind,
            at: SystemTime::now(),
            since_connect: self.started.elapsed(),
            payload,
            close_code,
            automatic: false,
        }
    }
}

/// Facts the reader and the writer share.
#[derive(Default)]
struct Shared {
    /// A close frame went out (ours, or the library's reply to the peer's).
    close_sent: AtomicBool,
    /// The peer's close frame arrived before we sent one.
    peer_first: AtomicBool,
}

/// What the reader saw when the socket ended.
struct ReadOutcome {
    peer_close: Option<(Option<u16>, String)>,
    error: Option<StageError>,
}

/// Runs one connection to its end. The last event is always `Closed`.
pub async fn run(
    conn_id: ConnId,
    req: ConnectRequest,
    mut commands: mpsc::UnboundedReceiver<Command>,
    sink: EventSink,
) {
    let clock = Clock {
        started: Instant::now(),
    };
    sink.emit(conn_id, EventKind::State(ConnState::Connecting))
        .await;

    // Commands that arrive while connecting wait for the socket; a close or abort cancels the attempt.
    let mut pending = VecDeque::new();
    let established = {
        let connecting = pipeline::establish(&req, clock.started);
        tokio::pin!(connecting);
        loop {
            tokio::select! {
                result = &mut connecting => break Some(result),
                cmd = commands.recv() => match cmd {
                    Some(Command::Close { .. } | Command::Abort) | None => break None,
                    Some(other) => pending.push_back(other),
                },
            }
        }
    };
    let (socket, handshake) = match established {
        None => {
            sink.emit(
                conn_id,
                EventKind::Error(StageError::new(Stage::Tcp, "connection attempt cancelled")),
            )
            .await;
            finish(&sink, conn_id, None, String::new(), false, Initiator::None).await;
            return;
        }
        Some(Err(failure)) => {
            if let Some(h) = failure
                .handshake
                .filter(|h| h.status != 0 || h.proxy.is_some())
            {
                sink.emit(conn_id, EventKind::Handshake(h)).await;
            }
            sink.emit(conn_id, EventKind::Error(failure.error)).await;
            finish(&sink, conn_id, None, String::new(), false, Initiator::None).await;
            return;
        }
        Some(Ok(v)) => v,
    };
    sink.emit(conn_id, EventKind::Handshake(handshake)).await;
    sink.emit(conn_id, EventKind::State(ConnState::Open)).await;

    let (mut writer, reader) = socket.split();
    let shared = Arc::new(Shared::default());
    let mut reader_task = tokio::spawn(read_loop(
        conn_id,
        reader,
        sink.clone(),
        clock,
        shared.clone(),
    ));
    let mut close_deadline: Option<tokio::time::Instant> = None;
    let mut write_error: Option<StageError> = None;
    let mut aborted = false;

    let outcome = loop {
        let next_command = async {
            match pending.pop_front() {
                Some(c) => Some(c),
                None => commands.recv().await,
            }
        };
        tokio::select! {
            biased;
            joined = &mut reader_task => break joined.ok(),
            _ = sleep_until(close_deadline) => {
                reader_task.abort();
                sink.emit(conn_id, EventKind::Error(StageError::new(
                    Stage::Timeout,
                    format!("the server did not answer our close frame within {}", human_duration(CLOSE_REPLY_TIMEOUT)),
                ))).await;
                break None;
            }
            cmd = next_command => {
                let cmd = match cmd {
                    Some(c) => c,
                    // Every handle is gone (the app is closing): leave politely.
                    None => Command::Close { code: 1001, reason: "going away".into() },
                };
                if shared.close_sent.load(Ordering::Acquire) && !matches!(cmd, Command::Abort) {
                    if matches!(cmd, Command::Close { .. }) {
                        continue;
                    }
                    sink.emit(conn_id, EventKind::Error(StageError::new(
                        Stage::Write, "the connection is closing: message not sent"))).await;
                    continue;
                }
                let (message, entry) = match outgoing(conn_id, &clock, cmd) {
                    Outgoing::Send(m, e) => (m, e),
                    Outgoing::Abort => { aborted = true; reader_task.abort(); break None; }
                    Outgoing::Invalid(err) => { sink.emit(conn_id, EventKind::Error(err)).await; continue; }
                };
                let is_close = matches!(message, Message::Close(_));
                if is_close {
                    shared.close_sent.store(true, Ordering::Release);
                }
                match writer.send(message).await {
                    Ok(()) => {
                        sink.emit(conn_id, EventKind::Message(entry)).await;
                        if is_close {
                            sink.emit(conn_id, EventKind::State(ConnState::Closing)).await;
                            close_deadline = Some(tokio::time::Instant::now() + CLOSE_REPLY_TIMEOUT);
                        }
                    }
                    Err(tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed)
                    | Err(tungstenite::Error::Protocol(tungstenite::error::ProtocolError::SendAfterClosing)) => {
                        sink.emit(conn_id, EventKind::Error(StageError::new(
                            Stage::Write, "the connection is closing: message not sent"))).await;
                    }
                    Err(e) => {
                        write_error = Some(StageError::new(Stage::Write, describe_ws_error(&e)));
                        reader_task.abort();
                        break None;
                    }
                }
            }
        }
    };

    if let Some(err) = write_error {
        sink.emit(conn_id, EventKind::Error(err)).await;
    }
    let close_sent = shared.close_sent.load(Ordering::Acquire);
    let (peer_close, read_error) = match outcome {
        Some(o) => (o.peer_close, o.error),
        None => (None, None),
    };
    if let Some(err) = read_error {
        sink.emit(conn_id, EventKind::Error(err.clone())).await;
    }
    if aborted {
        sink.emit(
            conn_id,
            EventKind::Error(StageError::new(
                Stage::Write,
                "connection dropped without a close handshake (abort)",
            )),
        )
        .await;
    }
    let (code, reason, clean, initiated_by) = match peer_close {
        Some((code, reason)) => (
            code,
            reason,
            true,
            if shared.peer_first.load(Ordering::Acquire) {
                Initiator::Server
            } else {
                Initiator::Client
            },
        ),
        None => (
            None,
            String::new(),
            false,
            if close_sent {
                Initiator::Client
            } else {
                Initiator::None
            },
        ),
    };
    finish(&sink, conn_id, code, reason, clean, initiated_by).await;
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
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
    sink.emit(
        conn_id,
        EventKind::Closed(CloseInfo {
            code,
            reason,
            clean,
            initiated_by,
        }),
    )
    .await;
}

enum Outgoing {
    Send(Message, LogEntry),
    Abort,
    Invalid(StageError),
}

fn outgoing(conn_id: ConnId, clock: &Clock, cmd: Command) -> Outgoing {
    let entry =
        |kind, payload: Vec<u8>, code| clock.entry(conn_id, Direction::Sent, kind, payload, code);
    let control_limit = |what: &str, p: &[u8]| {
        (p.len() > 125).then(|| {
            StageError::new(
                Stage::Write,
                format!(
                    "a {what} payload may be at most 125 bytes (this one is {})",
                    p.len()
                ),
            )
        })
    };
    match cmd {
        Command::Text(t) => {
            let e = entry(MessageKind::Text, t.clone().into_bytes(), None);
            Outgoing::Send(Message::text(t), e)
        }
        Command::Binary(b) => {
            let e = entry(MessageKind::Binary, b.clone(), None);
            Outgoing::Send(Message::binary(b), e)
        }
        Command::Ping(p) => match control_limit("ping", &p) {
            Some(err) => Outgoing::Invalid(err),
            None => Outgoing::Send(
                Message::Ping(p.clone().into()),
                entry(MessageKind::Ping, p, None),
            ),
        },
        Command::Pong(p) => match control_limit("pong", &p) {
            Some(err) => Outgoing::Invalid(err),
            None => Outgoing::Send(
                Message::Pong(p.clone().into()),
                entry(MessageKind::Pong, p, None),
            ),
        },
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
            let e = entry(MessageKind::Close, reason.clone().into_bytes(), Some(code));
            let frame = CloseFrame {
                code: CloseCode::from(code),
                reason: reason.into(),
            };
            Outgoing::Send(Message::Close(Some(frame)), e)
        }
        Command::Abort => Outgoing::Abort,
    }
}

async fn read_loop(
    conn_id: ConnId,
    mut reader: futures_util::stream::SplitStream<pipeline::Socket>,
    sink: EventSink,
    clock: Clock,
    shared: Arc<Shared>,
) -> ReadOutcome {
    let mut outcome = ReadOutcome {
        peer_close: None,
        error: None,
    };
    while let Some(item) = reader.next().await {
        let message = match item {
            Ok(m) => m,
            Err(tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed) => break,
            Err(e) => {
                // A TLS peer that drops TCP after a completed close is not an error.
                if outcome.peer_close.is_none() {
                    outcome.error = Some(StageError::new(Stage::Read, describe_ws_error(&e)));
                }
                break;
            }
        };
        let (kind, payload, code) = match message {
            Message::Text(t) => (MessageKind::Text, t.as_bytes().to_vec(), None),
            Message::Binary(b) => (MessageKind::Binary, b.to_vec(), None),
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
            Message::Frame(_) => continue,
        };
        let is_close = kind == MessageKind::Close;
        sink.emit(
            conn_id,
            EventKind::Message(clock.entry(
                conn_id,
                Direction::Received,
                kind,
                payload.clone(),
                code,
            )),
        )
        .await;
        if is_close && !shared.close_sent.swap(true, Ordering::AcqRel) {
            shared.peer_first.store(true, Ordering::Release);
            // The peer closed first: the library answers with the same close frame.
            let mut reply =
                clock.entry(conn_id, Direction::Sent, MessageKind::Close, payload, code);
            reply.automatic = true;
            sink.emit(conn_id, EventKind::State(ConnState::Closing))
                .await;
            sink.emit(conn_id, EventKind::Message(reply)).await;
        }
    }
    outcome
}

/// Plain words for an error on an open connection.
pub fn describe_ws_error(err: &tungstenite::Error) -> String {
    use std::io::ErrorKind;
    use tungstenite::error::{CapacityError, ProtocolError};
    match err {
        tungstenite::Error::Io(e) => match e.kind() {
            ErrorKind::ConnectionReset => "the server reset the connection".into(),
            ErrorKind::UnexpectedEof => {
                "the server closed the TCP connection without a close frame".into()
            }
            ErrorKind::BrokenPipe => "the connection is broken (the server went away)".into(),
            _ => format!("I/O error: {e}"),
        },
        tungstenite::Error::Protocol(ProtocolError::ResetWithoutClosingHandshake) => {
            "the server closed the TCP connection without a close frame".into()
        }
        tungstenite::Error::Protocol(p) => format!("protocol violation by the server: {p}"),
        tungstenite::Error::Capacity(CapacityError::MessageTooLong { size, max_size }) => {
            format!("the server sent a message of {size} bytes, over the limit of {max_size} bytes")
        }
        tungstenite::Error::Capacity(c) => format!("limit exceeded: {c}"),
        tungstenite::Error::Utf8(_) => {
            "the server sent a text message that is not valid UTF-8".into()
        }
        other => other.to_string(),
    }
}
