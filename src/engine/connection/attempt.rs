//! One connection attempt, in steps: [`Attempt::connect`] runs the pipeline (commands that arrive meanwhile wait;
//! a close cancels), [`Open::run`] relays commands to the socket and runs the timers (interval pings, the pong
//! watchdog, the heartbeat) until the socket, the user or a timer ends it, and [`Open::close`] reports how it
//! ended — the errors, our close frame for a server that broke the protocol, and who closed.

mod close;
mod protocol;

pub(super) use close::finish;

use super::command::{Command, Commands, next};
use super::duplex::Writer;
use super::lens::{Driver, ReaderLens};
use super::outgoing::{Outgoing, expand_outgoing, outgoing};
use super::reader::reader_outcome;
use super::reader::{Clock, ReadOutcome, Shared, read_loop};
use crate::engine::errors::describe_ws_error;
use crate::engine::events::{EventKind, EventSink};
use crate::engine::pipeline::{self, human_duration};
use crate::engine::pipeline::{Failure, Socket};
use crate::engine::task::{deadline_after, sleep_until, tick, timer_period};
use crate::model::HandshakeInfo;
use crate::model::{
    ConnId, ConnState, ConnectRequest, Direction, Initiator, MessageKind, OutgoingMessage, Stage,
    StageError,
};
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;
use tokio::time::Interval;
use tokio_tungstenite::tungstenite;

/// How long we wait for the peer's reply after sending a close frame.
pub const CLOSE_REPLY_TIMEOUT: Duration = Duration::from_secs(5);

/// How an attempt ended, for the reconnect loop.
pub(super) struct AttemptEnd {
    /// The user ended it (close, abort, cancel, or every handle dropped): no reconnect.
    pub(super) by_user: bool,
    /// The handshake completed.
    pub(super) opened: bool,
    /// "Reconnect now": skip the delay.
    pub(super) immediately: bool,
}

/// Runs one attempt to its end and says how it ended.
pub(super) async fn run_attempt(
    conn_id: ConnId,
    req: &ConnectRequest,
    commands: &mut Commands,
    sink: &EventSink,
    template_counter: &mut u64,
) -> AttemptEnd {
    let attempt = Attempt {
        conn_id,
        req,
        commands,
        sink,
        template_counter,
        clock: Clock::start(),
        pending: VecDeque::new(),
    };
    match attempt.connect().await {
        Err(end) => end,
        Ok(mut open) => {
            let ending = open.run().await;
            open.close(ending).await
        }
    }
}

/// What an attempt was given, and the commands waiting for its socket.
struct Attempt<'a> {
    conn_id: ConnId,
    req: &'a ConnectRequest,
    commands: &'a mut Commands,
    sink: &'a EventSink,
    template_counter: &'a mut u64,
    clock: Clock,
    /// Commands that arrived while connecting (after the on-connect messages, once open).
    pending: VecDeque<Command>,
}

/// The interval ping, the pong watchdog and the heartbeat of an open connection.
struct Timers {
    ping: Option<Interval>,
    ping_number: u64,
    pong_timeout: Option<Duration>,
    watchdog: Option<Interval>,
    /// The watchdog already said the connection looks dead (it says so once).
    dead: bool,
    heartbeat: Option<Interval>,
}

/// An open connection: the attempt plus its socket, reader task and timers.
struct Open<'a> {
    a: Attempt<'a>,
    writer: Writer,
    reader_task: JoinHandle<Result<ReadOutcome, String>>,
    shared: Arc<Shared>,
    timers: Timers,
    /// When our close frame's reply is due.
    close_deadline: Option<tokio::time::Instant>,
    /// The user ended it (close, abort, or every handle dropped): no reconnect.
    by_user: bool,
    /// The protocol on top of WebSocket, when there is one.
    driver: Option<Driver>,
    /// Compresses what we send, when permessage-deflate was agreed.
    compressor: Option<crate::model::deflate::Compressor>,
}

/// How an open connection's loop ended; each ending has its own report in [`Open::close`].
enum Ending {
    /// The reader task ended: the socket closed or failed.
    Read(ReadOutcome),
    /// A timer ended it and has said why already (no close reply in time, a dead connection).
    TimedOut,
    /// The user dropped the connection without a close handshake.
    Aborted,
    /// "Reconnect now".
    ReconnectNow,
    /// A write failed.
    WriteFailed(StageError),
}

/// Which branch of the open connection's wait fired.
enum Fired {
    Reader(Result<Result<ReadOutcome, String>, tokio::task::JoinError>),
    CloseReplyDue,
    Watchdog,
    Ping,
    Heartbeat,
    Command(Option<Command>),
    /// The reader handed over what the protocol wants done (`None`: the reader is gone).
    Lens(Option<Vec<crate::model::protocol::Output>>),
    /// The protocol's timer.
    LensTime,
}

impl<'a> Attempt<'a> {
    /// Connecting: the pipeline, then the handshake report and the on-connect messages.
    async fn connect(mut self) -> Result<Open<'a>, AttemptEnd> {
        let (conn_id, sink) = (self.conn_id, self.sink);
        sink.emit(conn_id, EventKind::State(ConnState::Connecting))
            .await;
        let (socket, handshake) = match self.establish().await {
            Some(Ok(v)) => v,
            Some(Err(failure)) => return Err(self.failed(Some(failure)).await),
            None => return Err(self.failed(None).await),
        };
        let (driver, said) = Driver::open(self.req, handshake.subprotocol.as_deref());
        let compressor = handshake
            .deflate
            .as_ref()
            .map(crate::model::deflate::Compressor::new);
        sink.emit(conn_id, EventKind::Handshake(handshake)).await;
        if let Some(said) = said {
            sink.emit(conn_id, EventKind::Protocol(said)).await;
        }
        sink.emit(conn_id, EventKind::State(ConnState::Open)).await;
        self.queue_on_connect().await;
        Ok(Open::start(self, socket, driver, compressor))
    }

    /// Runs the pipeline while taking commands: `None` when a close or abort (or the last handle going) cancels.
    async fn establish(&mut self) -> Option<Result<(Socket, Box<HandshakeInfo>), Failure>> {
        let observer = self.req.observe_frames.then(|| {
            Arc::new(crate::engine::observer::Observer::new(
                self.conn_id,
                self.sink.clone(),
                self.clock.started,
            ))
        });
        let connecting = pipeline::establish(
            self.req,
            self.clock.started,
            observer,
            self.clock.arrivals.clone(),
        );
        tokio::pin!(connecting);
        loop {
            tokio::select! {
                result = &mut connecting => break Some(result),
                cmd = next(self.commands) => match cmd {
                    Some(Command::Close { .. } | Command::Abort) | None => break None,
                    Some(Command::ReconnectNow) => {}
                    Some(other) => self.pending.push_back(other),
                },
            }
        }
    }

    /// Reports a failed attempt, or a cancelled one (`None`).
    async fn failed(&self, failure: Option<Failure>) -> AttemptEnd {
        let (conn_id, sink) = (self.conn_id, self.sink);
        let by_user = match failure {
            None => {
                let cancelled = StageError::new(Stage::Tcp, "connection attempt cancelled");
                sink.emit(conn_id, EventKind::Error(cancelled)).await;
                true
            }
            Some(failure) => {
                if let Some(h) = failure.handshake.filter(|h| {
                    h.status != 0 || h.proxy.is_some() || h.tls.is_some() || h.h2.is_some()
                }) {
                    sink.emit(conn_id, EventKind::Handshake(h)).await;
                }
                sink.emit(conn_id, EventKind::Error(failure.error)).await;
                false
            }
        };
        finish(sink, conn_id, None, String::new(), false, Initiator::None).await;
        AttemptEnd {
            by_user,
            opened: false,
            immediately: false,
        }
    }

    /// On-connect messages go first, before anything queued while connecting.
    async fn queue_on_connect(&mut self) {
        for (i, message) in self.req.on_connect.iter().enumerate() {
            match expand_outgoing(message, self.template_counter) {
                Ok(cmd) => self.pending.insert(i, cmd),
                Err(e) => {
                    let err = StageError::new(
                        Stage::Write,
                        format!("on-connect message {} not sent: {e}", i + 1),
                    );
                    self.sink.emit(self.conn_id, EventKind::Error(err)).await;
                }
            }
        }
    }
}

impl Timers {
    fn new(req: &ConnectRequest) -> Self {
        let ping = req
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
        let watchdog = pong_timeout.map(|t| {
            let period = (t / 4).clamp(Duration::from_millis(10), Duration::from_millis(250));
            tokio::time::interval(period)
        });
        let heartbeat = req
            .heartbeat
            .as_ref()
            .filter(|h| h.interval_millis > 0)
            .map(|h| {
                let period = timer_period(h.interval_millis);
                tokio::time::interval_at(deadline_after(period), period)
            });
        Self {
            ping,
            ping_number: 0,
            pong_timeout,
            watchdog,
            dead: false,
            heartbeat,
        }
    }
}

impl<'a> Open<'a> {
    /// Splits the socket and starts the reader task.
    fn start(
        a: Attempt<'a>,
        socket: Socket,
        driver: Option<(Driver, ReaderLens)>,
        compressor: Option<crate::model::deflate::Compressor>,
    ) -> Self {
        let (writer, reader) = super::duplex::split(socket);
        let shared = Arc::new(Shared::default());
        let (driver, reader_lens) = driver.unzip();
        let reader_task = tokio::spawn(crate::engine::task::catch_panic(read_loop(
            a.conn_id,
            reader,
            a.sink.clone(),
            a.clock.clone(),
            shared.clone(),
            reader_lens,
        )));
        let timers = Timers::new(a.req);
        Self {
            a,
            writer,
            reader_task,
            shared,
            timers,
            close_deadline: None,
            by_user: false,
            driver,
            compressor,
        }
    }

    /// Relays commands and timer messages to the socket until something ends the connection.
    async fn run(&mut self) -> Ending {
        if let Some(ending) = self.start_protocol().await {
            return ending;
        }
        loop {
            let cmd = match self.wait().await {
                Fired::Reader(joined) => return Ending::Read(reader_outcome(joined)),
                Fired::CloseReplyDue => return self.close_reply_timed_out().await,
                Fired::Watchdog => match self.watchdog().await {
                    Some(ending) => return ending,
                    None => continue,
                },
                Fired::Ping => {
                    self.timers.ping_number += 1;
                    Command::Ping(format!("sockscope-{}", self.timers.ping_number).into_bytes())
                }
                Fired::Heartbeat => match self.heartbeat().await {
                    Some(cmd) => cmd,
                    None => continue,
                },
                Fired::Lens(Some(outputs)) => match self.apply_outputs(outputs, false).await {
                    Some(ending) => return ending,
                    None => continue,
                },
                Fired::Lens(None) => continue,
                Fired::LensTime => match self.on_lens_time().await {
                    Some(ending) => return ending,
                    None => continue,
                },
                Fired::Command(Some(cmd)) => match self.route(cmd).await {
                    Ok(cmd) => cmd,
                    Err(Some(ending)) => return ending,
                    Err(None) => continue,
                },
                // Every handle is gone (the app is closing): leave politely.
                Fired::Command(None) => Command::Close {
                    code: 1001,
                    reason: "going away".into(),
                },
            };
            if let Some(ending) = self.send(cmd, None).await {
                return ending;
            }
        }
    }

    /// Waits for the first of: the reader ending, our close's reply being due, a timer, a command (first those
    /// that waited for the socket). The reader goes first, so what the socket did is seen before what we do.
    async fn wait(&mut self) -> Fired {
        let pending = &mut self.a.pending;
        let commands = &mut *self.a.commands;
        let next_command = async move {
            match pending.pop_front() {
                Some(c) => Some(c),
                None => next(commands).await,
            }
        };
        // Once our close is on its way the protocol's timers have nothing left to guard.
        let closing = self.shared.close_sent.load(Ordering::Acquire);
        let lens_deadline = self
            .driver
            .as_ref()
            .filter(|_| !closing)
            .and_then(Driver::deadline);
        let driver = &mut self.driver;
        let lens_outputs = async move {
            match driver {
                Some(d) => d.next_outputs().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            biased;
            joined = &mut self.reader_task => Fired::Reader(joined),
            _ = sleep_until(self.close_deadline) => Fired::CloseReplyDue,
            outputs = lens_outputs => Fired::Lens(outputs),
            _ = sleep_until(lens_deadline) => Fired::LensTime,
            _ = tick(&mut self.timers.watchdog) => Fired::Watchdog,
            _ = tick(&mut self.timers.ping) => Fired::Ping,
            _ = tick(&mut self.timers.heartbeat) => Fired::Heartbeat,
            cmd = next_command => Fired::Command(cmd),
        }
    }

    async fn close_reply_timed_out(&mut self) -> Ending {
        self.reader_task.abort();
        let msg = format!(
            "the server did not answer our close frame within {}",
            human_duration(CLOSE_REPLY_TIMEOUT)
        );
        let err = StageError::new(Stage::Timeout, msg);
        self.a
            .sink
            .emit(self.a.conn_id, EventKind::Error(err))
            .await;
        Ending::TimedOut
    }

    /// The oldest unanswered ping is older than the pong timeout: say so once, and drop the connection when
    /// asked to.
    async fn watchdog(&mut self) -> Option<Ending> {
        let limit = self.timers.pong_timeout?;
        let oldest = self.shared.pings().front().map(|(_, sent)| sent.elapsed());
        if self.timers.dead || oldest.is_none_or(|age| age <= limit) {
            return None;
        }
        self.timers.dead = true;
        let close_when_dead = self.a.req.keepalive.close_when_dead;
        let msg = format!(
            "no pong within {} of our ping: the connection looks dead{}",
            human_duration(limit),
            if close_when_dead {
                " (dropping it)"
            } else {
                ""
            }
        );
        let err = StageError::new(Stage::Timeout, msg);
        self.a
            .sink
            .emit(self.a.conn_id, EventKind::Error(err))
            .await;
        if close_when_dead {
            self.reader_task.abort();
            return Some(Ending::TimedOut);
        }
        None
    }

    /// The heartbeat's message, its template expanded.
    async fn heartbeat(&mut self) -> Option<Command> {
        let h = self.a.req.heartbeat.as_ref()?;
        match expand_outgoing(
            &OutgoingMessage::Text(h.text.clone()),
            self.a.template_counter,
        ) {
            Ok(cmd) => Some(cmd),
            Err(e) => {
                let err = StageError::new(Stage::Write, format!("heartbeat not sent: {e}"));
                self.a
                    .sink
                    .emit(self.a.conn_id, EventKind::Error(err))
                    .await;
                None
            }
        }
    }

    /// Sends one command, reporting it before the socket is let go (so before any reply to it); `decoded` is
    /// the protocol's view of it (and whether the protocol sent it by itself).
    async fn send(
        &mut self,
        cmd: Command,
        decoded: Option<(crate::model::protocol::Decoded, bool)>,
    ) -> Option<Ending> {
        let (conn_id, sink) = (self.a.conn_id, self.a.sink);
        if matches!(cmd, Command::Close { .. } | Command::Abort) {
            self.by_user = true;
        }
        if self.shared.close_sent.load(Ordering::Acquire)
            && !matches!(cmd, Command::Abort | Command::ReconnectNow)
        {
            // The protocol's own replies (a PUBCOMP, a heart-beat) are not the user's messages: after our close
            // they are dropped without a word.
            let automatic = decoded.as_ref().is_some_and(|(_, automatic)| *automatic);
            if !matches!(cmd, Command::Close { .. }) && !automatic {
                let err =
                    StageError::new(Stage::Write, "the connection is closing: message not sent");
                sink.emit(conn_id, EventKind::Error(err)).await;
            }
            return None;
        }
        let (messages, entry) =
            match outgoing(conn_id, &self.a.clock, cmd, self.compressor.as_mut()) {
                Outgoing::Send(m, e) => (m, e),
                Outgoing::Abort => {
                    self.reader_task.abort();
                    return Some(Ending::Aborted);
                }
                Outgoing::Reconnect => {
                    self.reader_task.abort();
                    return Some(Ending::ReconnectNow);
                }
                Outgoing::Invalid(err) => {
                    sink.emit(conn_id, EventKind::Error(err)).await;
                    return None;
                }
            };
        let mut entry = entry;
        self.annotate(&mut entry, decoded);
        // Our close handshake (a raw close frame, which has no parsed code here, is just a frame).
        let is_close = entry.kind == MessageKind::Close && entry.close_code().is_some();
        if is_close {
            self.shared.close_sent.store(true, Ordering::Release);
        }
        if entry.kind == MessageKind::Ping && entry.direction == Direction::Sent {
            self.shared
                .ping_sent(entry.payload.to_vec(), Instant::now());
        }
        let result = self
            .writer
            .send_then(messages, || {
                sink.emit_now(conn_id, EventKind::Message(entry))
            })
            .await;
        match result {
            Ok(()) => {
                if is_close {
                    sink.emit(conn_id, EventKind::State(ConnState::Closing))
                        .await;
                    self.close_deadline = Some(tokio::time::Instant::now() + CLOSE_REPLY_TIMEOUT);
                }
                None
            }
            Err(
                tungstenite::Error::ConnectionClosed
                | tungstenite::Error::AlreadyClosed
                | tungstenite::Error::Protocol(tungstenite::error::ProtocolError::SendAfterClosing),
            ) => {
                let err =
                    StageError::new(Stage::Write, "the connection is closing: message not sent");
                sink.emit(conn_id, EventKind::Error(err)).await;
                None
            }
            Err(e) => {
                self.reader_task.abort();
                Some(Ending::WriteFailed(StageError::new(
                    Stage::Write,
                    describe_ws_error(&e),
                )))
            }
        }
    }
}
