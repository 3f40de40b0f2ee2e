//! Routing what arrives between frames: engine events to the tab that owns their connection, replay progress to
//! its tab, and file outcomes; each within a frame's time budget.

use super::AppState;
use super::replay_feed::ReplayUpdate;
use crate::engine::replay::Progress;
use std::time::{Duration, Instant};

/// The longest a frame spends draining engine events before it draws (then it asks for another frame).
const DRAIN_BUDGET: Duration = Duration::from_millis(8);
/// Time per frame spent draining while a backlog has built up (a flood faster than the frames): catching up keeps
/// the queue, and so memory, small, at the price of a lower frame rate (about 10 a second) until it is drained.
/// With 40 ms, a loopback flood of a million 64-byte messages queued up to 100 MiB and peaked at 318 MB resident;
/// with 100 ms, 27-46 MiB and 280-290 MB (Xvfb, 2 cores shared with the flooding server).
const BACKLOG_DRAIN_BUDGET: Duration = Duration::from_millis(100);
/// Queued event bytes past which the UI drains with [`BACKLOG_DRAIN_BUDGET`].
const BACKLOG_BYTES: usize = 16 << 20;

impl AppState {
    /// Applies queued engine events, for at most one frame's budget. Returns true if more remain.
    pub fn drain_events(&mut self) -> bool {
        self.events.rearm_wake();
        let started = Instant::now();
        let budget = if self.events.queued_bytes() > BACKLOG_BYTES {
            BACKLOG_DRAIN_BUDGET
        } else {
            DRAIN_BUDGET
        };
        while let Ok(event) = self.file_events.1.try_recv() {
            self.apply_file_event(event);
        }
        let exporting = self.export_step();
        // Replay progress shares the frame's budget with the engine's events.
        let mut handled = 0u32;
        while let Some((tab_id, update)) = self.replay_feed.1.try_recv() {
            self.apply_replay_update(tab_id, update);
            handled += 1;
            if handled.is_multiple_of(256) && started.elapsed() > budget {
                return true;
            }
        }
        let mut handled = 0u32;
        while let Some(event) = self.events.try_recv() {
            if let Some(tab) = self.tabs.iter_mut().find(|t| t.owns(event.conn_id))
                && let Some(note) = tab.apply_event(event.conn_id, event.kind)
            {
                self.notice = Some(note);
            }
            handled += 1;
            if handled.is_multiple_of(256) && started.elapsed() > budget {
                return exporting || !self.events.is_empty();
            }
        }
        for tab in &mut self.tabs {
            tab.reap();
        }
        exporting
    }

    pub(super) fn apply_replay_update(&mut self, tab_id: u64, update: ReplayUpdate) {
        let Some(tab) = self.tabs.iter_mut().find(|t| t.id == tab_id) else {
            return;
        };
        let Some(run) = tab.replay.as_mut() else {
            return;
        };
        match update {
            ReplayUpdate::Progress(Progress::Connection(crate::engine::EventKind::Message(m))) => {
                tab.log.push(m)
            }
            ReplayUpdate::Progress(Progress::Connection(_)) => {}
            ReplayUpdate::Progress(Progress::StepStarted { index, .. }) => {
                run.current = Some(index)
            }
            ReplayUpdate::Progress(Progress::StepFinished(report)) => run.reports.push(report),
            ReplayUpdate::Done(result) => {
                run.finished = true;
                run.current = None;
                run.error = result.err();
            }
        }
    }

    /// Message events dropped because the UI fell behind (the engine's, and replays' display feed).
    pub fn dropped_in_transit(&self) -> u64 {
        self.events.dropped() + self.replay_feed.1.dropped()
    }
}
