//! What a GUI replay shows as it runs, on its way from the engine task to the tab: progress, step reports and
//! the connection's events for the log. The messages for the log are charged against a byte budget the UI
//! refunds as it drains; past it they are dropped and counted (the display falls behind, never the matcher: the
//! replay checks its expectations on every message inside the engine task before this feed sees them). Step
//! reports, states and the end always pass.

use crate::engine::replay::Progress;
use crate::engine::{EventKind, Waker};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc;

/// Bytes charged per message beyond its payload (the entry and the queue).
const OVERHEAD_BYTES: usize = 128;

/// What a replay reports to its tab.
pub enum ReplayUpdate {
    /// Something happened.
    Progress(Progress),
    /// The run ended (with why it could not run, if so).
    Done(Result<(), String>),
}

/// The engine side: cloned into each replay task.
#[derive(Clone)]
pub struct FeedSender {
    tx: mpsc::Sender<(u64, ReplayUpdate, usize)>,
    shared: Arc<Shared>,
    wake: Option<Waker>,
}

/// The UI side.
pub struct FeedReceiver {
    rx: mpsc::Receiver<(u64, ReplayUpdate, usize)>,
    shared: Arc<Shared>,
}

struct Shared {
    budget_bytes: usize,
    queued_bytes: AtomicUsize,
    dropped: AtomicU64,
}

/// A feed that holds at most `budget_bytes` of log messages at a time.
pub fn feed(budget_bytes: usize, wake: Option<Waker>) -> (FeedSender, FeedReceiver) {
    let (tx, rx) = mpsc::channel();
    let shared = Arc::new(Shared {
        budget_bytes,
        queued_bytes: AtomicUsize::new(0),
        dropped: AtomicU64::new(0),
    });
    (
        FeedSender {
            tx,
            shared: shared.clone(),
            wake,
        },
        FeedReceiver { rx, shared },
    )
}

impl FeedSender {
    /// Queues `update` for tab `tab_id`; a log message past the budget is dropped and counted instead.
    pub fn send(&self, tab_id: u64, update: ReplayUpdate) {
        let charge = match &update {
            ReplayUpdate::Progress(Progress::Connection(EventKind::Message(m))) => {
                m.payload.len() + OVERHEAD_BYTES
            }
            // The tab shows only the messages of a replay's connection: its other events need not travel.
            ReplayUpdate::Progress(Progress::Connection(_)) => return,
            _ => 0,
        };
        if charge > 0 {
            let queued = self.shared.queued_bytes.fetch_add(charge, Ordering::AcqRel);
            if queued + charge > self.shared.budget_bytes {
                self.shared.queued_bytes.fetch_sub(charge, Ordering::AcqRel);
                self.shared.dropped.fetch_add(1, Ordering::Relaxed);
                return;
            }
        }
        if self.tx.send((tab_id, update, charge)).is_err() {
            self.shared.queued_bytes.fetch_sub(charge, Ordering::AcqRel);
            return;
        }
        if let Some(wake) = &self.wake {
            wake();
        }
    }
}

impl FeedReceiver {
    /// The next update, refunding its charge.
    pub fn try_recv(&self) -> Option<(u64, ReplayUpdate)> {
        let (tab_id, update, charge) = self.rx.try_recv().ok()?;
        self.shared.queued_bytes.fetch_sub(charge, Ordering::AcqRel);
        Some((tab_id, update))
    }

    /// Log messages dropped because the display fell behind.
    pub fn dropped(&self) -> u64 {
        self.shared.dropped.load(Ordering::Relaxed)
    }

    /// Bytes of log messages queued now.
    #[cfg(test)]
    pub fn queued_bytes(&self) -> usize {
        self.shared.queued_bytes.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::junit::{Outcome, StepReport};
    use crate::model::{Direction, LogEntry, MessageKind};
    use std::time::{Duration, SystemTime};

    fn message(len: usize) -> ReplayUpdate {
        ReplayUpdate::Progress(Progress::Connection(EventKind::Message(LogEntry::new(
            1,
            Direction::Received,
            MessageKind::Binary,
            SystemTime::now(),
            Duration::ZERO,
            vec![0; len],
        ))))
    }

    fn report() -> ReplayUpdate {
        ReplayUpdate::Progress(Progress::StepFinished(StepReport {
            index: 1,
            folder: String::new(),
            name: "s".into(),
            outcome: Outcome::Pass,
            expected: String::new(),
            got: String::new(),
            seconds: 0.0,
        }))
    }

    #[test]
    fn the_display_feed_drops_messages_past_its_budget_but_never_reports() {
        // Room for exactly 4 messages of 1000 bytes.
        let (tx, rx) = feed(4 * (1000 + OVERHEAD_BYTES), None);
        for _ in 0..10 {
            tx.send(1, message(1000));
            tx.send(1, report());
        }
        tx.send(1, ReplayUpdate::Done(Ok(())));
        assert_eq!(
            rx.dropped(),
            6,
            "the 5th message and later are over the bound"
        );
        assert_eq!(rx.queued_bytes(), 4 * (1000 + OVERHEAD_BYTES));
        let mut messages = 0;
        let mut reports = 0;
        let mut done = false;
        while let Some((_, update)) = rx.try_recv() {
            match update {
                ReplayUpdate::Progress(Progress::Connection(_)) => messages += 1,
                ReplayUpdate::Progress(_) => reports += 1,
                ReplayUpdate::Done(_) => done = true,
            }
        }
        assert_eq!((messages, reports, done), (4, 10, true));
        assert_eq!(rx.queued_bytes(), 0, "draining refunds the budget");
        tx.send(1, message(1000));
        assert_eq!(rx.dropped(), 6);
        assert!(rx.try_recv().is_some());
    }
}
