//! One connection attempt: connect through the pipeline, then relay commands, run the timers (interval pings,
//! pong watchdog, heartbeat) and close.

use super::outgoing::{Outgoing, expand_outgoing, outgoing};
use super::reader::reader_outcome;
use super::reader::{Clock, Shared, read_loop};
use super::{AttemptEnd, CLOSE_REPLY_TIMEOUT, Command, Commands, next};
use crate::engine::errors::describe_ws_error;
use crate::engine::events::{EventKind, EventSink};
use crate::engine::pipeline::{self, human_duration};
use crate::engine::task::{deadline_after, sleep_until, tick, timer_period};
use crate::model::{
    CloseInfo, ConnId, ConnState, ConnectRequest, Direction, EntryExtra, Initiator, MessageKind,
    OutgoingMessage, Stage, StageError,
};
use futures_util::SinkExt;
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::frame::{Frame, Utf8Bytes};
use tokio_tungstenite::tungstenite::{self, Message, protocol::CloseFrame};

pub(super) async fn run_attempt(
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

    let (mut writer, reader) = super::duplex::split(socket);
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

pub(super) async fn finish(
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
