//! Replaying a session's collection against a live endpoint: connect, send each enabled step after its delay,
//! wait for its expectations, report pass/fail per step. Used by `sockscope run` and by the GUI.

use crate::engine::{self, Command, EventKind, Overflow, events};
use crate::model::expect::{self, Received};
use crate::model::junit::{Outcome, StepReport};
use crate::model::session::{Prepared, Session};
use crate::model::{ConnState, Direction, MessageKind, StageError, preview};
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

/// What the runner has seen since the current step began.
#[derive(Default)]
struct Inbox {
    messages: Vec<Vec<u8>>,
    closed: Option<Option<u16>>,
}

/// Runs `session`. `progress` sees every connection event and step outcome as they happen.
pub async fn run(
    session: &Session,
    options: &ReplayOptions,
    mut control: watch::Receiver<Control>,
    mut progress: impl FnMut(Progress),
) -> Result<ReplayResult, ReplayError> {
    let started = Instant::now();
    let mut ctx = session.context(&options.variables);
    let mut request = session
        .request(&ctx)
        .map_err(|e| ReplayError::Request(e.to_string()))?;
    if let Some(url) = &options.url {
        request.url = url.clone();
    }
    request.reconnect.enabled = false;
    let (sink, mut events) = events::channel(64 << 20, Overflow::Wait, None);
    let (handle, task) = engine::spawn_connection(request, sink);

    // Wait for the connection to open (or fail).
    let mut last_error: Option<StageError> = None;
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
        let open = matches!(kind, EventKind::State(ConnState::Open));
        progress(Progress::Connection(kind));
        if open {
            break;
        }
    }

    let steps = session.steps();
    let mut inbox = Inbox::default();
    let mut reports = Vec::with_capacity(steps.len());
    for (i, (folder, step)) in steps.iter().enumerate() {
        let index = i + 1;
        let mut report = StepReport {
            index,
            folder: folder.clone(),
            name: step.name.clone(),
            outcome: Outcome::Pass,
            expected: String::new(),
            got: String::new(),
            seconds: 0.0,
        };
        if !step.enabled || *control.borrow() == Control::Stop {
            report.outcome = Outcome::Skip;
            progress(Progress::StepFinished(report.clone()));
            reports.push(report);
            continue;
        }
        // Hold while paused.
        while *control.borrow() == Control::Pause {
            if control.changed().await.is_err() {
                break;
            }
        }
        if *control.borrow() == Control::Stop {
            report.outcome = Outcome::Skip;
            progress(Progress::StepFinished(report.clone()));
            reports.push(report);
            continue;
        }
        progress(Progress::StepStarted {
            index,
            name: step.name.clone(),
        });
        let step_started = Instant::now();
        if step.delay_ms > 0 {
            let until = tokio::time::Instant::now() + Duration::from_millis(step.delay_ms);
            pump_until(&mut events, &mut inbox, &mut progress, until).await;
        }
        ctx.counter = index as u64;
        let prepared = step.payload.prepare(&ctx, options.base_dir.as_deref());
        let sent = match prepared {
            Err(e) => {
                report.outcome = Outcome::Fail;
                report.expected = "a message that can be sent".into();
                report.got = e.to_string();
                None
            }
            Ok(Prepared::Nothing) => Some(false),
            Ok(Prepared::Text(t)) => {
                inbox.messages.clear();
                handle.send(Command::Text(t));
                Some(true)
            }
            Ok(Prepared::Binary(b)) => {
                inbox.messages.clear();
                handle.send(Command::Binary(b));
                Some(true)
            }
        };
        if sent.is_some() {
            // Every expectation looks at all messages received since the step was sent.
            for e in step.expect.iter().filter(|e| e.enabled) {
                let compiled = match expect::compile(&e.matcher, &ctx) {
                    Ok(c) => c,
                    Err(why) => {
                        report.outcome = Outcome::Fail;
                        report.expected = format!("{:?}", e.matcher);
                        report.got = why;
                        break;
                    }
                };
                let deadline = tokio::time::Instant::now() + Duration::from_millis(e.timeout_ms);
                let found = loop {
                    if inbox
                        .messages
                        .iter()
                        .any(|m| compiled.matches(Received::Data(m)))
                    {
                        break true;
                    }
                    if let Some(code) = inbox.closed
                        && compiled.matches(Received::Close(code))
                    {
                        break true;
                    }
                    if inbox.closed.is_some() || tokio::time::Instant::now() >= deadline {
                        break false;
                    }
                    pump_until(&mut events, &mut inbox, &mut progress, deadline).await;
                };
                if !found {
                    report.outcome = Outcome::Fail;
                    report.expected = compiled.describe();
                    report.got = describe_got(&inbox, e.timeout_ms);
                    break;
                }
            }
        }
        report.seconds = step_started.elapsed().as_secs_f64();
        progress(Progress::StepFinished(report.clone()));
        reports.push(report);
    }

    // Close politely and let the last events through.
    handle.send(Command::Close {
        code: 1000,
        reason: String::new(),
    });
    let until = tokio::time::Instant::now() + Duration::from_secs(6);
    while inbox.closed.is_none() && tokio::time::Instant::now() < until {
        pump_until(&mut events, &mut inbox, &mut progress, until).await;
    }
    drop(handle);
    while let Ok(Some(event)) =
        tokio::time::timeout(Duration::from_millis(200), events.recv()).await
    {
        progress(Progress::Connection(event.kind));
    }
    let _ = task.await;
    Ok(ReplayResult {
        reports,
        elapsed: started.elapsed(),
    })
}

fn describe_got(inbox: &Inbox, timeout_ms: u64) -> String {
    let unmatched = &inbox.messages;
    let mut got = match unmatched.last() {
        None => format!("no message within {timeout_ms} ms"),
        Some(last) => format!(
            "{} message(s) that did not match; the last: {}",
            unmatched.len(),
            preview(last, std::str::from_utf8(last).is_ok(), 200)
        ),
    };
    if let Some(code) = inbox.closed {
        let code = code
            .map(|c| c.to_string())
            .unwrap_or_else(|| "no code".into());
        got.push_str(&format!("; the connection closed ({code})"));
    }
    got
}

/// Takes events until `until` (or one relevant arrival), filing data messages and closes into the inbox.
async fn pump_until(
    events: &mut events::EventStream,
    inbox: &mut Inbox,
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
            inbox.messages.push(m.payload.to_vec());
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
