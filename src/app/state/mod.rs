//! The GUI's state: connection tabs, the engine they share, and the helper threads for file work. Panels only
//! collect [`Action`]s while drawing; [`AppState::apply`] carries them out.
//!
//! Split by job: `apply.rs` (one call per action; tab and window actions), `events.rs` (routing engine events,
//! replay progress and file outcomes each frame), `compose.rs` (connecting and sending what the composer holds),
//! `collection.rs` (editing the collection), `dialogs.rs` (workspace, paths, replays), `file_ops.rs` (file work
//! and its outcomes), `replay_feed.rs` (the replay's bounded display feed).

use super::tab::{ConnTab, LogLimits};
use crate::engine::GUI_EVENT_BUDGET_BYTES;
use crate::engine::{Command, Engine, EventStream, Waker};
use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Duration;

mod apply;
mod collection;
mod compose;
mod dialogs;
mod events;
mod file_ops;
pub(crate) mod replay_feed;

pub use super::action::{Action, FileField};

use super::files::{ExportRun, FileDialogs, FileEvent, FileWorker, PathPrompt};
use replay_feed::{FeedReceiver, FeedSender};

/// Both ends of a channel from helper threads (file dialogs) back to the UI.
type Channel<T> = (mpsc::Sender<T>, mpsc::Receiver<T>);

/// A deliberate protocol violation waiting for the user's yes.
#[derive(Clone, Debug)]
pub struct Confirmation {
    /// What rule it breaks, in words.
    pub message: String,
    /// The kinds to remember as confirmed.
    pub kinds: Vec<&'static str>,
    command: Command,
}

/// Everything the GUI shows and edits.
pub struct AppState {
    pub(crate) engine: Option<Engine>,
    events: EventStream,
    wake: Option<Waker>,
    /// The embedded echo server's URL.
    pub echo_url: Option<String>,
    /// The connection tabs (at least one).
    pub tabs: Vec<ConnTab>,
    /// The tab shown.
    pub active: usize,
    /// A transient note (where a payload was saved, what was copied, …), cleared after [`NOTICE_SHOWN`].
    pub notice: Option<String>,
    /// The notice on screen and since when.
    notice_since: Option<(String, std::time::Instant)>,
    /// Violation kinds the user already agreed to send.
    pub confirmed_violations: HashSet<&'static str>,
    /// A violation waiting for confirmation.
    pub confirming: Option<Confirmation>,
    /// How paths are asked for: the desktop's dialog, or typed (when there is no dialog backend).
    pub file_dialogs: FileDialogs,
    /// A typed path being asked for, in place of a dialog.
    pub path_prompt: Option<PathPrompt>,
    files: Option<FileWorker>,
    file_events: Channel<FileEvent>,
    file_jobs_pending: usize,
    export: Option<ExportRun>,
    /// Tabs whose saves must finish before the window closes (Save on the unsaved-changes question).
    closing_saves: Option<Vec<u64>>,
    /// Text waiting to be put on the clipboard by the next frame.
    pub clipboard: Option<String>,
    /// Recently used session files, newest first.
    pub recent: Vec<PathBuf>,
    /// The command palette and the shortcuts overlay.
    pub(crate) keyboard: crate::app::panels::palette::Keyboard,
    /// Where the workspace is kept (`None`: not kept, as in tests).
    pub workspace_path: Option<PathBuf>,
    /// A session file waiting for the user's yes to be deleted.
    pub deleting: Option<PathBuf>,
    /// Names of unsaved sessions, while asking before the window closes.
    pub closing_with_unsaved: Option<Vec<String>>,
    /// Set once the user answered the unsaved-changes question: the window may close.
    pub close_confirmed: bool,
    /// How much each tab's message log keeps (Log limits in the log's header).
    pub log_limits: LogLimits,
    /// The log's columns (every tab shares them).
    pub log_columns: crate::app::tab::LogColumns,
    /// The load test window (k6) and its run.
    pub load_test: crate::app::load_test::LoadTest,
    /// The server tabs (mock servers), after the connection tabs in the strip.
    pub servers: Vec<crate::app::mock_server::MockPanel>,
    /// The server tab shown instead of the active connection tab.
    pub server_view: Option<usize>,
    replay_feed: (FeedSender, FeedReceiver),
}

/// How long a notice stays on screen.
pub const NOTICE_SHOWN: std::time::Duration = std::time::Duration::from_secs(10);

impl AppState {
    /// Clears a notice once it has been on screen for [`NOTICE_SHOWN`] (a new text starts its own time), and asks
    /// for the frame that clears it.
    pub(crate) fn expire_notice(&mut self, ctx: &egui::Context) {
        if let Some(left) = self.expire_notice_at(std::time::Instant::now()) {
            ctx.request_repaint_after(left);
        }
    }

    /// [`Self::expire_notice`] at `now`: how long the notice has left, if one is shown.
    fn expire_notice_at(&mut self, now: std::time::Instant) -> Option<std::time::Duration> {
        let Some(text) = &self.notice else {
            self.notice_since = None;
            return None;
        };
        match &self.notice_since {
            Some((shown, since)) if shown == text => {
                let age = now.saturating_duration_since(*since);
                if age >= NOTICE_SHOWN {
                    self.notice = None;
                    self.notice_since = None;
                    return None;
                }
                Some(NOTICE_SHOWN - age)
            }
            _ => {
                self.notice_since = Some((text.clone(), now));
                Some(NOTICE_SHOWN)
            }
        }
    }

    /// Starts the engine and the echo server; connects to `url` at once when given.
    pub fn start(wake: Option<Waker>, url: Option<String>) -> anyhow::Result<Self> {
        let (mut engine, events) = Engine::start(wake.clone())?;
        let (echo_url, echo_error) = match engine.start_echo_server() {
            Ok(u) => (Some(u), None),
            Err(e) => (
                None,
                Some(format!("the built-in echo server could not start: {e}")),
            ),
        };
        let connect_now = url.is_some();
        let first = url
            .or_else(|| echo_url.clone())
            .unwrap_or_else(|| "ws://".into());
        let file_events = mpsc::channel();
        let (files, files_error) = match FileWorker::start(file_events.0.clone(), wake.clone()) {
            Ok(w) => (Some(w), None),
            Err(e) => (None, Some(format!("file operations are unavailable: {e}"))),
        };
        let replay_feed = replay_feed::feed(GUI_EVENT_BUDGET_BYTES, wake.clone());
        let mut state = Self {
            engine: Some(engine),
            events,
            wake,
            echo_url,
            tabs: vec![ConnTab::new(first)],
            active: 0,
            notice: echo_error.or(files_error),
            notice_since: None,
            confirmed_violations: HashSet::new(),
            confirming: None,
            file_dialogs: FileDialogs::detect(),
            path_prompt: None,
            files,
            file_events,
            file_jobs_pending: 0,
            export: None,
            closing_saves: None,
            clipboard: None,
            recent: Vec::new(),
            workspace_path: None,
            deleting: None,
            closing_with_unsaved: None,
            close_confirmed: false,
            log_limits: LogLimits::default(),
            log_columns: Default::default(),
            load_test: Default::default(),
            servers: Vec::new(),
            server_view: None,
            keyboard: Default::default(),
            replay_feed,
        };
        if connect_now {
            state.apply(Action::Connect);
        }
        Ok(state)
    }

    /// The active tab.
    pub fn tab(&self) -> &ConnTab {
        &self.tabs[self.active.min(self.tabs.len() - 1)]
    }

    /// The active tab, for editing.
    pub fn tab_mut(&mut self) -> &mut ConnTab {
        let i = self.active.min(self.tabs.len() - 1);
        &mut self.tabs[i]
    }

    /// Gives up the engine (for shutdown).
    pub fn take_engine(&mut self) -> Option<Engine> {
        for tab in &mut self.tabs {
            tab.conn = None;
        }
        self.engine.take()
    }

    /// Names of sessions with unsaved changes.
    pub fn unsaved_sessions(&self) -> Vec<String> {
        self.tabs
            .iter()
            .filter(|t| t.is_dirty() && t.session_path.is_some())
            .map(|t| t.title())
            .collect()
    }
}

impl Drop for AppState {
    fn drop(&mut self) {
        if let Some(engine) = self.engine.take() {
            engine.shutdown(Duration::from_millis(500));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_notice_clears_itself_and_a_new_one_starts_its_own_time() {
        let mut state = AppState::start(None, None).expect("state");
        let t0 = std::time::Instant::now();
        state.notice = Some("copied the curl command".into());
        assert_eq!(state.expire_notice_at(t0), Some(NOTICE_SHOWN));
        assert!(state.expire_notice_at(t0 + NOTICE_SHOWN / 2).is_some());
        state.notice = Some("saved".into());
        let t1 = t0 + NOTICE_SHOWN / 2;
        assert_eq!(
            state.expire_notice_at(t1),
            Some(NOTICE_SHOWN),
            "a new text, a new time"
        );
        assert!(state.expire_notice_at(t1 + NOTICE_SHOWN).is_none());
        assert_eq!(state.notice, None);
    }
}
