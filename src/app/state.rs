//! The GUI's state: connection tabs, the engine they share, the actions panels ask for, and the helper
//! threads for file dialogs. Panels only collect [`Action`]s while drawing; [`AppState::apply`] carries them out.

use super::tab::{ConnTab, LogLimits};
use crate::engine::GUI_EVENT_BUDGET_BYTES;
use crate::engine::replay::Progress;
use crate::engine::{Command, Engine, EventStream, Waker};
use crate::model::session::{Folder, Item, Session, Step};
use crate::model::{PayloadFormat, RawFrame, close_code_name, close_code_sendable, parse_payload};
use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::{Duration, Instant};

mod dialogs;
mod file_ops;

pub use super::action::{Action, FileField};

use super::files::{ExportRun, FileDialogs, FileEvent, FileWorker, PathPrompt};
use super::replay_feed::{FeedReceiver, FeedSender, ReplayUpdate};

/// The longest a frame spends draining engine events before it draws (then it asks for another frame).
const DRAIN_BUDGET: Duration = Duration::from_millis(8);
/// Time per frame spent draining while a backlog has built up (a flood faster than the frames): catching up keeps
/// the queue, and so memory, small, at the price of a lower frame rate (about 10 a second) until it is drained.
/// With 40 ms, a loopback flood of a million 64-byte messages queued up to 100 MiB and peaked at 318 MB resident;
/// with 100 ms, 27-46 MiB and 280-290 MB (Xvfb, 2 cores shared with the flooding server).
const BACKLOG_DRAIN_BUDGET: Duration = Duration::from_millis(100);
/// Queued event bytes past which the UI drains with [`BACKLOG_DRAIN_BUDGET`].
const BACKLOG_BYTES: usize = 16 << 20;

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
    engine: Option<Engine>,
    events: EventStream,
    wake: Option<Waker>,
    /// The embedded echo server's URL.
    pub echo_url: Option<String>,
    /// The connection tabs (at least one).
    pub tabs: Vec<ConnTab>,
    /// The tab shown.
    pub active: usize,
    /// A transient note (where a payload was saved, what was copied, …).
    pub notice: Option<String>,
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
    replay_feed: (FeedSender, FeedReceiver),
}

impl AppState {
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
        let replay_feed = super::replay_feed::feed(GUI_EVENT_BUDGET_BYTES, wake.clone());
        let mut state = Self {
            engine: Some(engine),
            events,
            wake,
            echo_url,
            tabs: vec![ConnTab::new(first)],
            active: 0,
            notice: echo_error.or(files_error),
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

    fn apply_replay_update(&mut self, tab_id: u64, update: ReplayUpdate) {
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

    /// Carries out one action.
    pub fn apply(&mut self, action: Action) {
        match action {
            Action::Connect => self.connect(),
            Action::ConnectInsecure => {
                self.tab_mut().session.endpoint.tls.insecure = true;
                self.connect();
            }
            Action::Disconnect => {
                let tab = self.tab_mut();
                tab.reconnect = None;
                if let Some(conn) = &tab.conn {
                    conn.send(Command::Close {
                        code: 1000,
                        reason: String::new(),
                    });
                }
            }
            Action::ReconnectNow => {
                let tab = self.tab();
                match &tab.conn {
                    Some(conn) if conn.is_alive() => {
                        conn.send(Command::ReconnectNow);
                    }
                    _ => self.connect(),
                }
            }
            Action::Send => self.send_composed(),
            Action::SendFragmented => self.send_fragmented(),
            Action::SendRawFrame => self.send_raw_frame(),
            Action::Ping => {
                let payload = self.tab().composer.ping_payload.clone().into_bytes();
                self.command(Command::Ping(payload));
            }
            Action::Close => self.close_with_composer_code(),
            Action::Select(seq) => self.tab_mut().selected = Some(seq),
            Action::ClearLog => {
                let tab = self.tab_mut();
                tab.log.clear();
                tab.selected = None;
            }
            Action::SavePayload => self.save_selected_payload(),
            Action::ExportLog => self.export_log(),
            Action::PickFile(field) => self.pick_file(field),
            Action::CopyAs(tool) => self.copy_as(tool),
            Action::NewTab => {
                let url = self.echo_url.clone().unwrap_or_else(|| "ws://".into());
                self.tabs.push(ConnTab::new(url));
                self.active = self.tabs.len() - 1;
            }
            Action::SelectTab(i) => {
                if i < self.tabs.len() {
                    self.active = i;
                }
            }
            Action::CloseTab(i) => self.close_tab(i),
            Action::DisconnectAll => {
                for tab in &mut self.tabs {
                    tab.reconnect = None;
                    if let Some(conn) = &tab.conn {
                        conn.send(Command::Close {
                            code: 1000,
                            reason: String::new(),
                        });
                    }
                }
            }
            Action::Confirm => {
                if let Some(c) = self.confirming.take() {
                    self.confirmed_violations.extend(c.kinds.iter().copied());
                    self.command(c.command);
                }
            }
            Action::CancelConfirm => {
                self.confirming = None;
                self.deleting = None;
            }
            Action::NewSession => {
                let url = self.echo_url.clone().unwrap_or_else(|| "ws://".into());
                self.tabs.push(ConnTab::new(url));
                self.active = self.tabs.len() - 1;
            }
            Action::OpenSession => self.choose_path(super::files::FileTarget::OpenSession),
            Action::OpenRecent(path) => self.open_session_file(path),
            Action::SaveSession => match self.tab().session_path.clone() {
                Some(path) => self.save_tab_to(self.active, path),
                None => self.save_as_dialog(),
            },
            Action::SaveSessionAs => self.save_as_dialog(),
            Action::DuplicateSession => {
                let mut session = self.tab().session.clone();
                session.name = format!("Copy of {}", session.name);
                let mut tab = ConnTab::with_session(session, None);
                tab.saved_ron.clear();
                self.tabs.push(tab);
                self.active = self.tabs.len() - 1;
            }
            Action::DeleteSession => match self.tab().session_path.clone() {
                Some(path) => self.deleting = Some(path),
                None => self.notice = Some("this session has no file to delete yet".into()),
            },
            Action::ConfirmDelete => {
                if let Some(path) = self.deleting.take() {
                    self.delete_session_file(path);
                }
            }
            Action::AddStep => {
                let tab = self.tab_mut();
                let number = tab.session.steps().len() + 1;
                let step = Item::Step(Step {
                    name: format!("Message {number}"),
                    payload: crate::model::session::Payload::Text(tab.composer.text.clone()),
                    ..Step::default()
                });
                let into = tab.selected_item.clone().filter(|p| {
                    matches!(
                        super::tab::collection::item_at(&tab.session.collection, p),
                        Some(Item::Folder(_))
                    )
                });
                match into.and_then(|p| {
                    super::tab::collection::item_at_mut(&mut tab.session.collection, &p)
                }) {
                    Some(Item::Folder(f)) => f.items.push(step),
                    _ => tab.session.collection.push(step),
                }
            }
            Action::AddFolder => {
                let tab = self.tab_mut();
                let n = tab.session.collection.len() + 1;
                tab.session.collection.push(Item::Folder(Folder {
                    name: format!("Folder {n}"),
                    ..Folder::default()
                }));
            }
            Action::RemoveItem(path) => {
                let tab = self.tab_mut();
                if let (Some(list), Some(&i)) = (
                    super::tab::collection::parent_list_mut(&mut tab.session.collection, &path),
                    path.last(),
                ) && i < list.len()
                {
                    list.remove(i);
                }
                tab.selected_item = None;
            }
            Action::SendStep(path) => self.send_step(&path),
            Action::SaveToCollection(seq) => {
                let tab = self.tab_mut();
                if let Some(entry) = tab.log.by_seq(seq) {
                    let step = super::tab::collection::step_from_entry(entry, seq + 1);
                    tab.session.collection.push(Item::Step(step));
                    self.notice = Some("added the message to the collection".into());
                }
            }
            Action::LogToCollection => {
                let tab = self.tab_mut();
                let entries: Vec<&crate::model::LogEntry> = tab.log.iter().collect();
                let name = format!("Recorded {}", chrono::Local::now().format("%H:%M:%S"));
                let folder = super::tab::collection::folder_from_log(&entries, name);
                let count = folder.items.len();
                if count == 0 {
                    self.notice = Some("the log has no sent messages to record".into());
                } else {
                    tab.session.collection.push(Item::Folder(folder));
                    self.notice =
                        Some(format!("added {count} recorded messages to the collection"));
                }
            }
            Action::ImportHar => self.choose_path(super::files::FileTarget::ImportHar),
            Action::RunReplay(selection) => self.run_replay(selection),
            Action::ReplayControl(control) => {
                if let Some(run) = &self.tab().replay {
                    let _ = run.control.send(control);
                }
            }
            Action::SaveAllAndClose => {
                // The window closes once every save is written (and stays open if one fails).
                let mut waiting = Vec::new();
                for i in 0..self.tabs.len() {
                    if let Some(path) = self.tabs[i].session_path.clone()
                        && self.tabs[i].is_dirty()
                    {
                        waiting.push(self.tabs[i].id);
                        self.save_tab_to(i, path);
                    }
                }
                self.closing_with_unsaved = None;
                if waiting.is_empty() {
                    self.close_confirmed = true;
                } else {
                    self.closing_saves = Some(waiting);
                }
            }
            Action::DiscardAndClose => {
                for tab in &mut self.tabs {
                    if tab.session_path.is_some() {
                        let saved = tab.saved_ron.clone();
                        if let Ok(original) = Session::from_ron(&saved, std::path::Path::new("")) {
                            tab.session = original;
                        }
                    }
                }
                self.closing_with_unsaved = None;
                self.close_confirmed = true;
            }
            Action::CancelClose => self.closing_with_unsaved = None,
            Action::TypedPathOk => self.typed_path_ok(),
            Action::TypedPathCancel => self.path_prompt = None,
        }
    }

    /// Names of sessions with unsaved changes.
    pub fn unsaved_sessions(&self) -> Vec<String> {
        self.tabs
            .iter()
            .filter(|t| t.is_dirty() && t.session_path.is_some())
            .map(|t| t.title())
            .collect()
    }

    fn close_tab(&mut self, i: usize) {
        if i >= self.tabs.len() {
            return;
        }
        let tab = self.tabs.remove(i);
        if let Some(conn) = &tab.conn {
            conn.send(Command::Close {
                code: 1000,
                reason: String::new(),
            });
        }
        if self.tabs.is_empty() {
            let url = self.echo_url.clone().unwrap_or_else(|| "ws://".into());
            self.tabs.push(ConnTab::new(url));
        }
        if self.active > i || self.active >= self.tabs.len() {
            self.active = self.active.saturating_sub(1);
        }
    }

    fn connect(&mut self) {
        let i = self.active.min(self.tabs.len() - 1);
        if let Some(old) = self.tabs[i].conn.take() {
            old.send(Command::Close {
                code: 1000,
                reason: String::new(),
            });
        }
        let Some(engine) = self.engine.as_mut() else {
            return;
        };
        // Session variables and {{env.NAME}} apply to the URL, headers and auth; an unknown name stops here.
        let session = &self.tabs[i].session;
        let request = match session.request(&session.context(&Default::default())) {
            Ok(r) => r,
            Err(e) => {
                let tab = &mut self.tabs[i];
                tab.error = Some(crate::model::StageError::new(
                    crate::model::Stage::Url,
                    format!("cannot connect: {e}"),
                ));
                tab.conn_state = crate::model::ConnState::Closed;
                return;
            }
        };
        let handle = engine.connect(request);
        self.tabs[i].attach(handle);
    }

    /// Sends `command` on the active tab, or asks first when it breaks a rule not yet confirmed.
    fn command(&mut self, command: Command) {
        let tab = self.tab_mut();
        tab.composer.error = None;
        let sent = tab.conn.as_ref().is_some_and(|c| c.send(command));
        if !sent {
            tab.composer.error = Some("not connected: press Connect first".into());
        }
    }

    fn ask_or_send(&mut self, command: Command, message: String, kinds: Vec<&'static str>) {
        if kinds.iter().all(|k| self.confirmed_violations.contains(k)) {
            self.command(command);
        } else {
            self.confirming = Some(Confirmation {
                message,
                kinds,
                command,
            });
        }
    }

    fn composed_payload(&mut self) -> Option<Vec<u8>> {
        let composer = &mut self.tab_mut().composer;
        match parse_payload(&composer.text, composer.format) {
            Ok(bytes) => Some(bytes),
            Err(e) => {
                composer.error = Some(format!("{}: {e}", composer.format.label()));
                None
            }
        }
    }

    fn send_composed(&mut self) {
        let Some(bytes) = self.composed_payload() else {
            return;
        };
        let composer = &self.tab().composer;
        let command = match composer.format {
            PayloadFormat::Text => Command::Text(composer.text.clone()),
            PayloadFormat::Hex | PayloadFormat::Base64 => Command::Binary(bytes),
        };
        self.command(command);
    }

    fn send_fragmented(&mut self) {
        let Some(payload) = self.composed_payload() else {
            return;
        };
        let composer = &mut self.tab_mut().composer;
        let fragment_size = match composer.fragment_size.trim().parse::<usize>() {
            Ok(n) if n > 0 => n,
            _ => {
                composer.error =
                    Some("the fragment size must be a whole number of bytes, at least 1".into());
                return;
            }
        };
        let text = composer.format == PayloadFormat::Text;
        self.command(Command::Fragmented {
            payload,
            text,
            fragment_size,
        });
    }

    fn send_raw_frame(&mut self) {
        let Some(payload) = self.composed_payload() else {
            return;
        };
        let composer = &self.tab().composer;
        let frame = RawFrame {
            opcode: composer.raw_opcode,
            fin: composer.raw_fin,
            rsv1: composer.raw_rsv[0],
            rsv2: composer.raw_rsv[1],
            rsv3: composer.raw_rsv[2],
            payload,
        };
        match frame.violation() {
            Some(v) => {
                let kinds = frame.violation_kinds();
                self.ask_or_send(
                    Command::Raw(frame),
                    format!("This frame breaks RFC 6455: {v}."),
                    kinds,
                );
            }
            None => self.command(Command::Raw(frame)),
        }
    }

    fn close_with_composer_code(&mut self) {
        let composer = &mut self.tab_mut().composer;
        let code = match composer.close_code.trim().parse::<u16>() {
            Ok(c) => c,
            Err(_) => {
                composer.error = Some(format!(
                    "close code '{}' is not a number from 0 to 65535",
                    composer.close_code.trim()
                ));
                return;
            }
        };
        if composer.close_reason.len() > 123 {
            composer.error = Some(format!(
                "the close reason is {} bytes; at most 123 fit in a close frame",
                composer.close_reason.len()
            ));
            return;
        }
        let command = Command::Close {
            code,
            reason: composer.close_reason.clone(),
        };
        if close_code_sendable(code) {
            self.command(command);
        } else {
            let message = format!(
                "Close code {code} ({}) is one RFC 6455 forbids sending; the server should answer with a protocol error.",
                close_code_name(code)
            );
            self.ask_or_send(command, message, vec!["reserved close code"]);
        }
    }
}

impl Drop for AppState {
    fn drop(&mut self) {
        if let Some(engine) = self.engine.take() {
            engine.shutdown(Duration::from_millis(500));
        }
    }
}
