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
        engine.spawn(async move {
            let rules = if path.is_empty() {
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
            let id = match &event {
                ServerEvent::Connected { id, .. }
                | ServerEvent::Message { id, .. }
                | ServerEvent::Closed { id, .. }
                | ServerEvent::Rule { id, .. }
                | ServerEvent::RuleFailed { id, .. }
                | ServerEvent::Fault { id, .. }
                | ServerEvent::Warning { id, .. } => id.clone(),
                _ => String::new(),
            };
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
