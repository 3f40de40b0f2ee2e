//! Replaying a session's collection against a live endpoint: connect, send each enabled step after its delay,
//! wait for its expectations, report pass/fail per step. Used by `sockscope run` and by the GUI.

use crate::engine::events::ProtocolEvent;
use crate::engine::{self, Command, EventKind, Overflow, events};
use crate::model::expect;
use crate::model::junit::{Outcome, StepReport};
use crate::model::protocol::Class;
use crate::model::session::{Prepared, Session, Step};
use crate::model::template::Context;
use crate::model::{ConnState, Direction, MessageKind, StageError};
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// How a replay is run.
#[derive(Clone, Debug, Default)]
pub struct ReplayOptions {
    /// Connect here instead of the session's URL.
    pub url: Option<String>,
    /// Variables that override the session's.
    pub variables: HashMap<String, String>,
    /// Where relative payload files are looked up (the session file's folder).
    pub base_dir: Option<PathBuf>,
    /// The session's codec, when the caller built it already (`sockscope run` prints with it too); else the
    /// replay builds it from the session.
    pub codec: Option<std::sync::Arc<crate::model::codec::Codec>>,
}

/// Pause, resume or stop a running replay.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Control {
    /// Keep going.
    Run,
    /// Hold before the next step.
    Pause,
    /// Stop: remaining steps are skipped.
    Stop,
}

/// Progress of a replay, as it happens.
#[derive(Clone, Debug)]
pub enum Progress {
    /// Something the connection reported (for NDJSON output and the GUI log).
    Connection(EventKind),
    /// A step is about to run.
    StepStarted {
        /// Position, from 1.
        index: usize,
        /// Step name.
        name: String,
    },
    /// A step finished.
    StepFinished(StepReport),
}

/// Why a replay could not run at all.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// A template in the URL or headers failed.
    #[error("cannot build the request: {0}")]
    Request(String),
    /// The connection could not be made.
    #[error("cannot connect: {0}")]
    Connect(StageError),
}

/// The result of a replay that connected.
#[derive(Clone, Debug)]
pub struct ReplayResult {
    /// One report per step, in order.
    pub reports: Vec<StepReport>,
    /// Wall time of the whole run.
    pub elapsed: Duration,
}

impl ReplayResult {
    /// True when no step failed.
    pub fn passed(&self) -> bool {
        self.reports.iter().all(|r| r.outcome != Outcome::Fail)
    }
}

mod inbox;

#[cfg(test)]
use inbox::LAST_KEPT_BYTES;
pub use inbox::{INBOX_MAX_BYTES, INBOX_MAX_MESSAGES};
use inbox::{Inbox, Reading, describe_got};

/// Runs `session`. `progress` sees every connection event and step outcome as they happen.
pub async fn run(
    session: &Session,
    options: &ReplayOptions,
    mut control: watch::Receiver<Control>,
    mut progress: impl FnMut(Progress),
) -> Result<ReplayResult, ReplayError> {
    let started = Instant::now();
    let ctx = session.context(&options.variables);
    let mut request = session
        .request(&ctx)
        .map_err(|e| ReplayError::Request(e.to_string()))?;
    if let Some(url) = &options.url {
        request.url = url.clone();
    }
    request.reconnect.enabled = false;
    // The session's codec: its steps' JSON is encoded with it and its binary messages are matched decoded.
    // Compiling .proto files reads them: off the runtime's threads.
    let codec = match &options.codec {
        Some(codec) => Some(codec.clone()),
        None => {
            let setting = session
                .endpoint
                .codec
                .relative_to(options.base_dir.as_deref());
            tokio::task::spawn_blocking(move || setting.build())
                .await
                .map_err(|e| ReplayError::Request(format!("the codec could not be built: {e}")))?
                .map_err(|e| ReplayError::Request(format!("codec: {e}")))?
                .map(|(codec, _)| std::sync::Arc::new(codec))
        }
    };
    let (sink, mut events) = events::channel(64 << 20, Overflow::Wait, None);
    let (handle, mut task) = engine::spawn_connection(request, sink);
    wait_for_open(&mut events, &mut task, &mut progress).await?;

    let steps = session.steps();
    let mut replay = Replay {
        options,
        ctx,
        handle,
        events,
        inbox: Inbox::default(),
        progress,
        codec,
    };
    let mut reports = Vec::with_capacity(steps.len());
    for (i, (folder, step)) in steps.iter().enumerate() {
        let report = replay.step(i + 1, folder, step, &mut control).await;
        (replay.progress)(Progress::StepFinished(report.clone()));
        reports.push(report);
    }
    replay.close().await;
    let _ = task.await;
    Ok(ReplayResult {
        reports,
        elapsed: started.elapsed(),
    })
}

/// Waits for the connection to open, or says why it did not.
async fn wait_for_open(
    events: &mut events::EventStream,
    task: &mut tokio::task::JoinHandle<()>,
    progress: &mut impl FnMut(Progress),
) -> Result<(), ReplayError> {
    let mut last_error: Option<StageError> = None;
    // With a protocol whose handshake runs, the steps start once it completed.
    let mut protocol_handshake = false;
    let mut open = false;
    loop {
        let Some(event) = events.recv().await else {
            return Err(ReplayError::Connect(last_error.unwrap_or_else(|| {
                StageError::new(crate::model::Stage::Tcp, "the connection ended")
            })));
        };
        let kind = event.kind;
        match &kind {
            EventKind::Error(e) => last_error = Some(e.clone()),
            EventKind::Closed(_) => {
                progress(Progress::Connection(kind));
                let _ = task.await;
                return Err(ReplayError::Connect(last_error.unwrap_or_else(|| {
                    StageError::new(
                        crate::model::Stage::Tcp,
                        "the connection closed before opening",
                    )
                })));
            }
            _ => {}
        }
        match &kind {
            EventKind::State(ConnState::Open) => open = true,
            EventKind::Protocol(ProtocolEvent::Chosen {
                name, automatic, ..
            }) => protocol_handshake = *automatic && name != "raw",
            EventKind::Protocol(ProtocolEvent::Failed { message, .. }) => {
                last_error = Some(StageError::new(
                    crate::model::Stage::Protocol,
                    message.clone(),
                ));
            }
            _ => {}
        }
        let ready = matches!(kind, EventKind::Protocol(ProtocolEvent::Ready));
        progress(Progress::Connection(kind));
        if open && (!protocol_handshake || ready) {
            return Ok(());
        }
    }
}

/// A replay under way: its connection, what it received since the last send, and where progress goes.
struct Replay<'a, P> {
    options: &'a ReplayOptions,
    ctx: Context,
    handle: engine::ConnectionHandle,
    events: events::EventStream,
    inbox: Inbox,
    progress: P,
    /// The session's codec.
    codec: Option<std::sync::Arc<crate::model::codec::Codec>>,
}

impl<P: FnMut(Progress)> Replay<'_, P> {
    /// Runs one step (index from 1): skipped when disabled or stopped, held while paused, else sent and checked.
    async fn step(
        &mut self,
        index: usize,
        folder: &str,
        step: &Step,
        control: &mut watch::Receiver<Control>,
    ) -> StepReport {
        let mut report = StepReport {
            index,
            folder: folder.to_owned(),
            name: step.name.clone(),
            outcome: Outcome::Pass,
            expected: String::new(),
            got: String::new(),
            seconds: 0.0,
        };
        if !step.enabled || *control.borrow() == Control::Stop {
            report.outcome = Outcome::Skip;
            return report;
        }
        // Hold while paused.
        while *control.borrow() == Control::Pause {
            if control.changed().await.is_err() {
                break;
            }
        }
        if *control.borrow() == Control::Stop {
            report.outcome = Outcome::Skip;
            return report;
        }
        (self.progress)(Progress::StepStarted {
            index,
            name: step.name.clone(),
        });
        let step_started = Instant::now();
        if step.delay_ms > 0 {
            let until = crate::engine::task::deadline_after(Duration::from_millis(step.delay_ms));
            self.pump_until(until).await;
        }
        self.ctx.counter = index as u64;
        if self.send(step, &mut report) {
            self.check(step, &mut report).await;
        }
        report.seconds = step_started.elapsed().as_secs_f64();
        report
    }

    /// Sends the step's message, if it has one; false when it could not be prepared (the report says why).
    fn send(&mut self, step: &Step, report: &mut StepReport) -> bool {
        let prepared = step
            .payload
            .prepare(&self.ctx, self.options.base_dir.as_deref())
            .map_err(|e| e.to_string())
            .and_then(|p| p.encoded_with(self.codec.as_deref()));
        match prepared {
            Err(e) => {
                report.outcome = Outcome::Fail;
                report.expected = "a message that can be sent".into();
                report.got = e;
                false
            }
            // `encoded_with` leaves no value to encode.
            Ok(Prepared::Encode(_)) => {
                report.outcome = Outcome::Fail;
                report.expected = "a message that can be sent".into();
                report.got = "the JSON was not encoded".into();
                false
            }
            Ok(Prepared::Nothing) => true,
            Ok(Prepared::Text(t)) => {
                self.inbox.sent();
                self.handle.send(Command::Text(t));
                true
            }
            Ok(Prepared::Binary(b)) => {
                self.inbox.sent();
                self.handle.send(Command::Binary(b));
                true
            }
            Ok(Prepared::Emit(v)) => {
                self.inbox.sent();
                self.inbox.awaiting_id = true;
                self.handle.send(Command::Emit(v));
                true
            }
        }
    }

    /// Every expectation looks at all messages received since the step was sent: each message is checked against
    /// every expectation as it arrives, so a later expectation has already seen earlier messages.
    async fn check(&mut self, step: &Step, report: &mut StepReport) {
        let enabled: Vec<_> = step.expect.iter().filter(|e| e.enabled).collect();
        let mut matchers = Vec::with_capacity(enabled.len());
        let mut errors = Vec::with_capacity(enabled.len());
        for e in &enabled {
            match expect::compile(&e.matcher, &self.ctx) {
                Ok(c) => {
                    matchers.push(Some(c));
                    errors.push(None);
                }
                Err(why) => {
                    matchers.push(None);
                    errors.push(Some(why));
                }
            }
        }
        self.inbox.watch(matchers);
        for (i, (e, error)) in enabled.iter().zip(errors).enumerate() {
            if let Some(why) = error {
                report.outcome = Outcome::Fail;
                report.expected = format!("{:?}", e.matcher);
                report.got = why;
                return;
            }
            let deadline = crate::engine::task::deadline_after(Duration::from_millis(e.timeout_ms));
            if !self.wait_for_match(i, deadline).await {
                report.outcome = Outcome::Fail;
                report.expected = self.inbox.describe(i);
                report.got = describe_got(&self.inbox, e.timeout_ms);
                return;
            }
        }
    }

    /// Whether expectation `i` is met (by a message, or by the close it asks for) before `deadline`.
    async fn wait_for_match(&mut self, i: usize, deadline: tokio::time::Instant) -> bool {
        loop {
            if self.inbox.matched(i) {
                return true;
            }
            if let Some(code) = self.inbox.closed
                && self.inbox.close_matches(i, code)
            {
                return true;
            }
            if self.inbox.closed.is_some() || tokio::time::Instant::now() >= deadline {
                return false;
            }
            self.pump_until(deadline).await;
        }
    }

    async fn pump_until(&mut self, until: tokio::time::Instant) {
        pump_until(
            &mut self.events,
            &mut self.inbox,
            self.codec.as_deref(),
            &mut self.progress,
            until,
        )
        .await;
    }

    /// Closes politely and lets the last events through.
    async fn close(mut self) {
        self.handle.send(Command::Close {
            code: 1000,
            reason: String::new(),
        });
        let until = tokio::time::Instant::now() + Duration::from_secs(6);
        while self.inbox.closed.is_none() && tokio::time::Instant::now() < until {
            self.pump_until(until).await;
        }
        drop(self.handle);
        while let Ok(Some(event)) =
            tokio::time::timeout(Duration::from_millis(200), self.events.recv()).await
        {
            (self.progress)(Progress::Connection(event.kind));
        }
    }
}

/// Takes events until `until` (or one relevant arrival), filing data messages and closes into the inbox.
async fn pump_until(
    events: &mut events::EventStream,
    inbox: &mut Inbox,
    codec: Option<&crate::model::codec::Codec>,
    progress: &mut impl FnMut(Progress),
    until: tokio::time::Instant,
) {
    let event = match tokio::time::timeout_at(until, events.recv()).await {
        Err(_) => return,
        Ok(None) => {
            // The event stream ended: the connection is gone.
            inbox.closed.get_or_insert(None);
            return;
        }
        Ok(Some(event)) => event,
    };
    match &event.kind {
        EventKind::Message(m) if m.direction == Direction::Received && m.kind.is_data() => {
            // Keep-alives and the first parts of a multi-message packet are no answer to anything.
            let decoded = m.decoded();
            if !decoded.is_some_and(|d| matches!(d.class, Class::KeepAlive | Class::Part)) {
                let reading = match (decoded, codec) {
                    (Some(d), _) => Reading::Protocol(d.value.clone()),
                    // A binary message that does not decode is matched by its bytes.
                    (None, Some(codec)) if m.kind == MessageKind::Binary => codec
                        .decode_received(&m.payload)
                        .map_or(Reading::Raw, Reading::Codec),
                    (None, _) => Reading::Raw,
                };
                inbox.file(&m.payload, reading);
            }
        }
        EventKind::Message(m) if m.direction == Direction::Sent && inbox.awaiting_id => {
            // The step's own protocol message, as it went out: its ack id or operation id.
            if let Some(d) = m
                .decoded()
                .filter(|d| d.class == Class::Application && !m.automatic())
            {
                inbox.step_id = d.id();
                inbox.awaiting_id = d.id().is_none();
            }
        }
        EventKind::Message(m)
            if m.direction == Direction::Received && m.kind == MessageKind::Close =>
        {
            inbox.closed = Some(m.close_code());
        }
        EventKind::Closed(c) => {
            inbox.closed.get_or_insert(c.code);
        }
        _ => {}
    }
    progress(Progress::Connection(event.kind));
}

/// Runs `future`, turning a panic into an error that says so, so a bug in a replay ends that replay only (the
/// connection task inside it is already contained the same way, see `engine::spawn_connection`).
pub async fn contain_panics<T>(future: impl std::future::Future<Output = T>) -> Result<T, String> {
    super::task::catch_panic(future).await.map_err(|what| {
        tracing::error!("a replay panicked: {what}");
        format!("sockscope hit a bug and stopped this replay ({what})")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::session::Matcher;

    fn contains(s: &str) -> Option<expect::Compiled> {
        expect::compile(&Matcher::Contains(s.into()), &Default::default()).ok()
    }

    #[test]
    fn the_inbox_checks_each_message_once_and_keeps_a_bounded_tail() {
        let mut inbox = Inbox::default();
        inbox.sent();
        inbox.watch(vec![contains("never"), contains("needle")]);
        let filler = vec![b'x'; 100];
        let n = 10 * INBOX_MAX_MESSAGES;
        for _ in 0..n {
            inbox.file(&filler, Reading::Raw);
        }
        // Linear: one run per message and waiting expectation (the old inbox rescanned every message on each one).
        assert_eq!(inbox.evaluations, 2 * n as u64);
        assert_eq!(inbox.recent.len(), INBOX_MAX_MESSAGES, "at the bound");
        assert_eq!(inbox.received, n);
        inbox.file(b"the needle", Reading::Raw);
        assert!(inbox.matched(1) && !inbox.matched(0));
        // A matched expectation is not run again.
        inbox.file(&filler, Reading::Raw);
        assert_eq!(inbox.evaluations, 2 * n as u64 + 2 + 1);
        // A step that only waits sees the recent tail.
        inbox.watch(vec![contains("needle")]);
        assert!(inbox.matched(0));
        let got = describe_got(&inbox, 10);
        assert!(got.starts_with(&format!("{} message(s)", n + 2)), "{got}");
    }

    #[test]
    fn the_inbox_bounds_its_bytes() {
        let mut inbox = Inbox::default();
        let big = vec![b'y'; INBOX_MAX_BYTES / 4 + 1];
        for _ in 0..10 {
            inbox.file(&big, Reading::Raw);
        }
        assert!(inbox.recent_bytes <= INBOX_MAX_BYTES);
        assert_eq!(inbox.recent.len(), 3);
        inbox.file(&vec![b'z'; INBOX_MAX_BYTES + 1], Reading::Raw);
        assert!(
            inbox.recent_bytes <= INBOX_MAX_BYTES,
            "a huge one is counted, not kept"
        );
        assert_eq!(
            inbox.last.as_ref().map(|(l, _)| l.len()),
            Some(LAST_KEPT_BYTES)
        );
    }

    #[tokio::test]
    async fn a_panicking_replay_is_reported_not_propagated() {
        let result: Result<(), String> = contain_panics(async { panic!("boom in replay") }).await;
        let Err(why) = result else {
            panic!("the panic is caught")
        };
        assert!(why.contains("boom in replay"), "{why}");
        assert_eq!(contain_panics(async { 7 }).await, Ok(7));
    }
}
