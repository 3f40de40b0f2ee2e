//! "Mock server…": the mock server (`engine::server::mock`) run from the window, on the engine's runtime. The UI
//! thread starts it (the rules file is read and the port bound on the runtime, the result taken the next frame),
//! reads its events without waiting (a budget per frame, into a bounded log), and sends, closes and drops
//! clients through the server's non-blocking commands.

use crate::engine::server::mock::{MockServer, ServerEvent};
use crate::model::mock::Fault;
use crate::model::mock::core::Outgoing;
use std::collections::{BTreeSet, VecDeque};
use std::sync::mpsc;

/// The faults the window can inject on a connected client.
pub const CLIENT_FAULTS: [Fault; 11] = [
    Fault::Drop,
    Fault::StopReading,
    Fault::PingThenDeaf,
    Fault::BadUtf8,
    Fault::Rsv1,
    Fault::MaskedFrame,
    Fault::OversizedControl,
    Fault::Fragment(16),
    Fault::Fragment(1),
    Fault::Drip {
        bytes: 1,
        interval_ms: 100,
    },
    Fault::Drip {
        bytes: 64,
        interval_ms: 1000,
    },
];

/// Log lines the window keeps; the oldest go first.
pub const MOCK_LOG_LINES: usize = 10_000;
/// Events taken per frame at most (the rest wait for the next frame).
const EVENTS_PER_FRAME: usize = 2_000;

type Started = Result<(MockServer, tokio::sync::mpsc::Receiver<ServerEvent>), String>;

/// What the rules file's thread reports.
enum FileJob {
    Loaded(Result<String, String>),
    Saved(Result<String, String>),
}

/// One line of the window's log.
#[derive(Clone, Debug)]
pub struct LogLine {
    /// The connection it is about (empty: none).
    pub id: String,
    /// The line.
    pub text: String,
}

/// The window's state.
pub struct MockPanel {
    /// The window is shown.
    pub open: bool,
    /// The rules file (empty: no rules; the server accepts every client and answers nothing by itself).
    pub rules_path: String,
    /// The port (0: any free one).
    pub port: u16,
    /// wss, with a certificate made on the spot for 127.0.0.1 and localhost.
    pub tls: bool,
    /// The running server.
    pub server: Option<MockServer>,
    events: Option<tokio::sync::mpsc::Receiver<ServerEvent>>,
    starting: Option<mpsc::Receiver<Started>>,
    /// Why the last start failed.
    pub error: Option<String>,
    /// The log, oldest first.
    pub log: VecDeque<LogLine>,
    /// Lines dropped from the log's front.
    pub log_dropped: u64,
    /// Only this connection's lines (empty: all).
    pub log_filter: String,
    /// The clients ticked.
    pub selected: BTreeSet<String>,
    /// The message to send.
    pub message: String,
    /// The close code and reason to close with.
    pub close_code: u16,
    /// The reason.
    pub close_reason: String,
    /// The fault to inject.
    pub fault: Fault,
    /// The rules editor is shown (and its text, when not empty, is what Start serves).
    pub editing: bool,
    /// The rules as RON text, edited in the window.
    pub rules_text: String,
    /// What loading, checking or saving the rules said.
    pub rules_status: Option<String>,
    file_job: Option<mpsc::Receiver<FileJob>>,
    check_cache: Option<(u64, Result<usize, String>)>,
    /// What the last client action did.
    pub status: Option<String>,
}

impl Default for MockPanel {
    fn default() -> Self {
        Self {
            open: false,
            rules_path: String::new(),
            port: 0,
            tls: false,
            server: None,
            events: None,
            starting: None,
            error: None,
            log: VecDeque::new(),
            log_dropped: 0,
            log_filter: String::new(),
            selected: BTreeSet::new(),
            message: String::new(),
            close_code: 4000,
            close_reason: String::new(),
            fault: Fault::BadUtf8,
            editing: false,
            rules_text: String::new(),
            rules_status: None,
            file_job: None,
            check_cache: None,
            status: None,
        }
    }
}

impl MockPanel {
    /// Being started.
    pub fn starting(&self) -> bool {
        self.starting.is_some()
    }

    /// Starts the server on the engine's runtime (`spawn`): the rules are read and the port bound there.
    pub fn start(&mut self, engine: &crate::engine::Engine, ctx: &egui::Context) {
        if self.server.is_some() || self.starting.is_some() {
            return;
        }
        let (tx, rx) = mpsc::channel();
        let path = self.rules_path.trim().to_owned();
        let port = self.port;
        let tls = self.tls;
        let ctx = ctx.clone();
        self.error = None;
        self.starting = Some(rx);
        // Rules typed in the window win over the file.
        let edited = if self.editing && !self.rules_text.trim().is_empty() {
            match crate::model::mock::MockRules::from_ron(
                &self.rules_text,
                std::path::Path::new(if path.is_empty() { "rules" } else { &path }),
            ) {
                Ok(rules) => Some(rules),
                Err(e) => {
                    self.starting = None;
                    self.error = Some(e.to_string());
                    return;
                }
            }
        } else {
            None
        };
        engine.spawn(async move {
            let rules = if let Some(rules) = edited {
                Ok(rules)
            } else if path.is_empty() {
                Ok(crate::model::mock::MockRules {
                    rules: Vec::new(),
                    ..Default::default()
                })
            } else {
                let file = std::path::PathBuf::from(&path);
                tokio::task::spawn_blocking(move || crate::model::mock::MockRules::load(&file))
                    .await
                    .map_err(|e| e.to_string())
                    .and_then(|r| r.map_err(|e| e.to_string()))
            };
            let result = match rules {
                Ok(rules) => {
                    let tls = tls.then_some(crate::engine::server::mock::MockTls::SelfSigned);
                    MockServer::bind(
                        std::net::SocketAddr::from(([127, 0, 0, 1], port)),
                        rules,
                        tls,
                    )
                    .await
                }
                Err(e) => Err(e),
            };
            let _ = tx.send(result);
            ctx.request_repaint();
        });
    }

    /// Reads the rules file into the editor (on a thread of its own); a file that does not parse is shown with
    /// its error and never written over by that.
    pub fn load_text(&mut self, ctx: &egui::Context) {
        let path = self.rules_path.trim().to_owned();
        if path.is_empty() || self.file_job.is_some() {
            return;
        }
        let (tx, rx) = mpsc::channel();
        let ctx = ctx.clone();
        let spawned = std::thread::Builder::new()
            .name("sockscope-mock-rules".into())
            .spawn(move || {
                let read = std::fs::read_to_string(&path)
                    .map_err(|e| format!("could not read {path}: {e}"));
                let _ = tx.send(FileJob::Loaded(read));
                ctx.request_repaint();
            });
        match spawned {
            Ok(_) => self.file_job = Some(rx),
            Err(e) => self.rules_status = Some(format!("could not start reading: {e}")),
        }
    }

    /// Writes the editor's rules to the file, atomically, once they parse (on a thread of its own).
    pub fn save_text(&mut self, ctx: &egui::Context) {
        let path = self.rules_path.trim().to_owned();
        if path.is_empty() || self.file_job.is_some() {
            self.rules_status = Some("name the rules file first".into());
            return;
        }
        if let Err(e) =
            crate::model::mock::MockRules::from_ron(&self.rules_text, std::path::Path::new(&path))
        {
            self.rules_status = Some(format!("not saved: {e}"));
            return;
        }
        let (tx, rx) = mpsc::channel();
        let text = self.rules_text.clone();
        let ctx = ctx.clone();
        let spawned = std::thread::Builder::new()
            .name("sockscope-mock-rules".into())
            .spawn(move || {
                let written = crate::model::fsutil::write_atomic(
                    std::path::Path::new(&path),
                    text.as_bytes(),
                )
                .map(|()| path.clone())
                .map_err(|e| format!("could not save {path}: {e}"));
                let _ = tx.send(FileJob::Saved(written));
                ctx.request_repaint();
            });
        match spawned {
            Ok(_) => self.file_job = Some(rx),
            Err(e) => self.rules_status = Some(format!("could not start saving: {e}")),
        }
    }

    /// [`MockPanel::check_text`], parsed again only when the text changed (the window asks every frame).
    pub fn checked(&mut self) -> Result<usize, String> {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        self.rules_text.hash(&mut h);
        self.rules_path.hash(&mut h);
        let key = h.finish();
        if let Some((k, result)) = &self.check_cache
            && *k == key
        {
            return result.clone();
        }
        let result = self.check_text();
        self.check_cache = Some((key, result.clone()));
        result
    }

    /// Whether the editor's rules parse, in words: "3 rules", or the error with its line and column.
    pub fn check_text(&self) -> Result<usize, String> {
        let name = if self.rules_path.trim().is_empty() {
            "rules"
        } else {
            self.rules_path.trim()
        };
        crate::model::mock::MockRules::from_ron(&self.rules_text, std::path::Path::new(name))
            .map(|r| r.rules.len())
            .map_err(|e| e.to_string())
    }

    fn take_file_job(&mut self) {
        let Some(rx) = &self.file_job else {
            return;
        };
        match rx.try_recv() {
            Ok(FileJob::Loaded(Ok(text))) => {
                self.file_job = None;
                self.rules_text = text;
                self.rules_status = Some(match self.check_text() {
                    Ok(n) => format!("loaded: {n} rules"),
                    Err(e) => format!("loaded, but it does not parse: {e}"),
                });
            }
            Ok(FileJob::Loaded(Err(e))) | Ok(FileJob::Saved(Err(e))) => {
                self.file_job = None;
                self.rules_status = Some(e);
            }
            Ok(FileJob::Saved(Ok(path))) => {
                self.file_job = None;
                self.rules_status = Some(format!("saved {path}"));
            }
            Err(mpsc::TryRecvError::Empty) => {}
            Err(mpsc::TryRecvError::Disconnected) => {
                self.file_job = None;
                self.rules_status = Some("the file work ended without an answer".into());
            }
        }
    }

    /// Stops the server (its clients' connections end).
    pub fn stop(&mut self) {
        if let Some(server) = self.server.take() {
            server.stop();
            self.push(String::new(), format!("stopped {}", server.url()));
        }
        self.events = None;
        self.selected.clear();
    }

    fn push(&mut self, id: String, text: String) {
        if self.log.len() >= MOCK_LOG_LINES {
            self.log.pop_front();
            self.log_dropped += 1;
        }
        self.log.push_back(LogLine { id, text });
    }

    /// Takes a finished start and the events that arrived, within a frame's budget; true when more wait.
    pub fn drain(&mut self) -> bool {
        self.take_file_job();
        if let Some(rx) = &self.starting {
            match rx.try_recv() {
                Ok(Ok((server, events))) => {
                    self.starting = None;
                    self.push(String::new(), format!("listening on {}", server.url()));
                    if let Some(sha) = server.sha256() {
                        self.push(String::new(), format!("certificate SHA-256: {sha}"));
                    }
                    self.server = Some(server);
                    self.events = Some(events);
                }
                Ok(Err(e)) => {
                    self.starting = None;
                    self.error = Some(e);
                }
                Err(mpsc::TryRecvError::Empty) => {}
                Err(mpsc::TryRecvError::Disconnected) => {
                    self.starting = None;
                    self.error = Some("the server did not start".into());
                }
            }
        }
        let mut taken = Vec::new();
        if let Some(events) = &mut self.events {
            while taken.len() < EVENTS_PER_FRAME {
                match events.try_recv() {
                    Ok(e) => taken.push(e),
                    Err(_) => break,
                }
            }
        }
        let more = taken.len() == EVENTS_PER_FRAME;
        for event in taken {
            let id = event.connection_id().to_owned();
            if let ServerEvent::Closed { id, .. } = &event {
                self.selected.remove(id);
            }
            self.push(id, event.to_line());
        }
        more
    }

    /// The clients ticked that are still there.
    fn targets(&self) -> Vec<String> {
        let Some(server) = &self.server else {
            return Vec::new();
        };
        server
            .clients()
            .into_iter()
            .map(|(id, _)| id)
            .filter(|id| self.selected.contains(id))
            .collect()
    }

    /// Sends the message to the ticked clients (or to all).
    pub fn send(&mut self, all: bool) {
        let Some(server) = &self.server else {
            return;
        };
        let to: Vec<String> = if all {
            server.clients().into_iter().map(|(id, _)| id).collect()
        } else {
            self.targets()
        };
        let sent = to
            .iter()
            .filter(|id| server.send(id, Outgoing::Text(self.message.clone())))
            .count();
        self.status = Some(format!("sent to {sent} of {} clients", to.len()));
    }

    /// Closes the ticked clients with the code and reason.
    pub fn close(&mut self) {
        let Some(server) = &self.server else {
            return;
        };
        let to = self.targets();
        let code = self.close_code;
        if !crate::model::close_code_sendable(code) {
            self.status = Some(format!("{code} is not a close code a server may send"));
            return;
        }
        let closed = to
            .iter()
            .filter(|id| server.close(id, code, &self.close_reason))
            .count();
        self.status = Some(format!("closing {closed} clients with {code}"));
    }

    /// Drops the ticked clients' TCP connections without a close frame.
    pub fn drop_clients(&mut self) {
        let Some(server) = &self.server else {
            return;
        };
        let to = self.targets();
        let dropped = to.iter().filter(|id| server.fault(id, Fault::Drop)).count();
        self.status = Some(format!("dropping {dropped} clients"));
    }

    /// Injects the chosen fault on the ticked clients.
    pub fn inject(&mut self) {
        let Some(server) = &self.server else {
            return;
        };
        let to = self.targets();
        let done = to
            .iter()
            .filter(|id| server.fault(id, self.fault.clone()))
            .count();
        self.status = Some(format!("{} on {done} clients", self.fault.describe()));
    }
}
