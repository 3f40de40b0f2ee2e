//! A server tab: the mock server (`engine::server::mock`) run from the GUI, on the engine's runtime. The UI
//! thread starts it (the rules file is read and the port bound on the runtime, the result taken the next frame),
//! reads its events without waiting (a budget per frame, into a bounded log), and sends, closes and drops
//! clients through the server's non-blocking commands.

use crate::app::mock_log::{MockLog, Row, Tone};
use crate::engine::server::mock::{MockServer, ServerEvent};
use crate::model::mock::Fault;
use crate::model::mock::core::Outgoing;
use crate::model::mock::core::Request;
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::mpsc;
use std::time::SystemTime;

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

/// Handshakes kept for clients (those still connected, and the latest that left); the oldest go first.
pub const HANDSHAKES_KEPT: usize = 10_000;
/// Events taken per frame at most (the rest wait for the next frame).
const EVENTS_PER_FRAME: usize = 2_000;

type Started = Result<
    (
        MockServer,
        tokio::sync::mpsc::Receiver<(SystemTime, ServerEvent)>,
        (Vec<String>, String),
    ),
    String,
>;

/// Events the tab's forwarder holds for the UI at most (beyond, the server's own queue fills and counts what
/// it drops).
const UI_QUEUE: usize = 16_384;

/// Takes the server's events as they come (on the runtime), stamps each with its time, hands it to the UI and
/// wakes it: rows carry when they happened, not when a frame drew them.
fn forward(
    mut events: tokio::sync::mpsc::Receiver<ServerEvent>,
    ctx: egui::Context,
) -> tokio::sync::mpsc::Receiver<(SystemTime, ServerEvent)> {
    let (tx, rx) = tokio::sync::mpsc::channel(UI_QUEUE);
    tokio::spawn(async move {
        while let Some(event) = events.recv().await {
            if tx.send((SystemTime::now(), event)).await.is_err() {
                break;
            }
            ctx.request_repaint();
        }
    });
    rx
}

/// What the tab's fields set over the rules file's server settings (a field left empty keeps the file's).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Overrides {
    path: Option<String>,
    subprotocols: Option<Vec<String>>,
    bearer_token: Option<String>,
    require_headers: Option<Vec<crate::model::mock::HeaderValue>>,
}

impl Overrides {
    /// Sets what was given over `settings`.
    pub fn apply(self, settings: &mut crate::model::mock::ServerSettings) {
        if let Some(p) = self.path {
            settings.path = p;
        }
        if let Some(p) = self.subprotocols {
            settings.subprotocols = p;
        }
        if let Some(t) = self.bearer_token {
            settings.bearer_token = t;
        }
        if let Some(h) = self.require_headers {
            settings.require_headers = h;
        }
    }
}

/// The server settings in words, one line each (what the tab shows while it runs).
pub fn describe_settings(settings: &crate::model::mock::ServerSettings) -> Vec<String> {
    let mut out = vec![if settings.path.is_empty() {
        "any path".to_owned()
    } else {
        format!("path {}", settings.path)
    }];
    if !settings.subprotocols.is_empty() {
        out.push(format!("subprotocols {}", settings.subprotocols.join(", ")));
    }
    if !settings.bearer_token.is_empty() {
        out.push("requires a bearer token".to_owned());
    }
    for h in &settings.require_headers {
        out.push(format!("requires {}: {}", h.name, h.value));
    }
    out
}

/// What the rules file's thread reports.
enum FileJob {
    Loaded(Result<String, String>),
    Saved(Result<String, String>),
}

/// How the server speaks: ws, or wss with which certificate.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TlsChoice {
    /// Plain ws (and HTTP for the management API).
    #[default]
    Off,
    /// wss with a certificate made on the spot for 127.0.0.1 and localhost.
    SelfSigned,
    /// wss with the user's certificate chain and key (PEM files).
    Files,
}

/// A client's upgrade, as the server got it.
#[derive(Clone, Debug)]
pub struct Handshake {
    /// When it connected.
    pub at: SystemTime,
    /// Its address.
    pub peer: String,
    /// The request.
    pub request: Request,
    /// The subprotocol the server selected.
    pub subprotocol: Option<String>,
}

impl Handshake {
    /// The request as it came: request line and headers.
    pub fn request_text(&self) -> String {
        let mut target = self.request.path.clone();
        if !self.request.query.is_empty() {
            target.push('?');
            target.push_str(
                &url::form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(&self.request.query)
                    .finish(),
            );
        }
        let mut out = format!("GET {target} HTTP/1.1\n");
        for (name, value) in &self.request.headers {
            out.push_str(&format!("{name}: {value}\n"));
        }
        out
    }
}

/// The window's state.
pub struct MockPanel {
    /// The rules file (empty: no rules; the server accepts every client and answers nothing by itself).
    pub rules_path: String,
    /// The port (0: any free one).
    pub port: u16,
    /// The address to listen on (127.0.0.1 unless the user asks for another).
    pub bind: String,
    /// ws or wss.
    pub tls: TlsChoice,
    /// The certificate chain (PEM), for [`TlsChoice::Files`].
    pub cert_path: String,
    /// The key (PEM), for [`TlsChoice::Files`].
    pub key_path: String,
    /// The path clients must connect to; empty: the rules file's.
    pub path: String,
    /// Subprotocols accepted, comma-separated, in order of preference; empty: the rules file's.
    pub subprotocols: String,
    /// A bearer token the upgrade must carry; empty: the rules file's.
    pub bearer_token: String,
    /// Headers the upgrade must carry, one `Name: value` a line; empty: the rules file's.
    pub require_headers: String,
    /// The settings the running server uses, in words.
    pub serving: Vec<String>,
    /// The path the running server serves (empty: any).
    pub served_path: String,
    /// The running server.
    pub server: Option<MockServer>,
    events: Option<tokio::sync::mpsc::Receiver<(SystemTime, ServerEvent)>>,
    starting: Option<mpsc::Receiver<Started>>,
    /// Why the last start failed.
    pub error: Option<String>,
    /// The log: every client's traffic and the server's events.
    pub log: MockLog,
    /// The log row picked (its number).
    pub selected_row: Option<u64>,
    /// The clients ticked.
    pub selected: BTreeSet<String>,
    /// The connected clients, oldest first, as of the last connect or close (their counts move live).
    pub clients: Vec<(String, crate::engine::server::mock::ClientInfo)>,
    /// The client whose handshake the details show.
    pub inspected: Option<String>,
    /// Clients' upgrades by connection id (bounded: [`HANDSHAKES_KEPT`]).
    pub handshakes: HashMap<String, Handshake>,
    handshake_order: VecDeque<String>,
    /// The message to send (templates: `{{counter}}`, `{{uuid}}`, `{{timestamp_ms}}`, `{{random_int}}`,
    /// `{{env.NAME}}`, and `{{connection.id}}` for each client).
    pub message: String,
    /// `{{counter}}`: one more per message sent.
    pub counter: u64,
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
    check_cache: Option<(u64, Result<crate::model::mock::MockRules, String>)>,
    /// The middle of the tab shows the rules (not the log).
    pub rules_view: bool,
    /// The rules are edited as RON text rather than in the form.
    pub ron_mode: bool,
    /// What the last client action did.
    pub status: Option<String>,
}

impl Default for MockPanel {
    fn default() -> Self {
        Self {
            rules_path: String::new(),
            port: 0,
            bind: "127.0.0.1".into(),
            tls: TlsChoice::Off,
            cert_path: String::new(),
            key_path: String::new(),
            path: String::new(),
            subprotocols: String::new(),
            bearer_token: String::new(),
            require_headers: String::new(),
            serving: Vec::new(),
            served_path: String::new(),
            server: None,
            events: None,
            starting: None,
            error: None,
            log: MockLog::default(),
            selected_row: None,
            selected: BTreeSet::new(),
            clients: Vec::new(),
            inspected: None,
            handshakes: HashMap::new(),
            handshake_order: VecDeque::new(),
            message: String::new(),
            counter: 0,
            close_code: 4000,
            close_reason: String::new(),
            fault: Fault::BadUtf8,
            editing: false,
            rules_text: String::new(),
            rules_status: None,
            file_job: None,
            check_cache: None,
            rules_view: false,
            ron_mode: false,
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
        let ctx = ctx.clone();
        self.error = None;
        let addr = match self.listen_addr() {
            Ok(a) => a,
            Err(e) => {
                self.error = Some(e);
                return;
            }
        };
        let tls = match self.tls {
            TlsChoice::Off => None,
            TlsChoice::SelfSigned => Some(crate::engine::server::mock::MockTls::SelfSigned),
            TlsChoice::Files => {
                if self.cert_path.trim().is_empty() || self.key_path.trim().is_empty() {
                    self.error = Some(
                        "wss with your certificate: name the certificate and the key files".into(),
                    );
                    return;
                }
                Some(crate::engine::server::mock::MockTls::Files {
                    cert: self.cert_path.trim().into(),
                    key: self.key_path.trim().into(),
                })
            }
        };
        let overrides = match self.overrides() {
            Ok(o) => o,
            Err(e) => {
                self.error = Some(e);
                return;
            }
        };
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
                Ok(mut rules) => {
                    overrides.apply(&mut rules.server);
                    let serving = (describe_settings(&rules.server), rules.server.path.clone());
                    MockServer::bind(std::net::SocketAddr::new(addr, port), rules, tls)
                        .await
                        .map(|(server, events)| (server, forward(events, ctx.clone()), serving))
                }
                Err(e) => Err(e),
            };
            let _ = tx.send(result);
            ctx.request_repaint();
        });
    }

    /// The address typed, checked (an IP address: a name would need a lookup on this thread).
    pub fn listen_addr(&self) -> Result<std::net::IpAddr, String> {
        let text = self.bind.trim();
        if text.is_empty() {
            return Ok(std::net::IpAddr::from([127, 0, 0, 1]));
        }
        text.trim_start_matches('[')
            .trim_end_matches(']')
            .parse()
            .map_err(|_| format!("'{text}' is not an IP address (127.0.0.1, 0.0.0.0, ::1)"))
    }

    /// The fields that set server settings over the rules file's; a header line without a colon is an error.
    pub fn overrides(&self) -> Result<Overrides, String> {
        let given = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
        let mut headers = Vec::new();
        for (i, line) in self.require_headers.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let Some((name, value)) = line.split_once(':') else {
                return Err(format!(
                    "required headers, line {}: write Name: value",
                    i + 1
                ));
            };
            headers.push(crate::model::mock::HeaderValue {
                name: name.trim().to_owned(),
                value: value.trim().to_owned(),
            });
        }
        Ok(Overrides {
            path: given(&self.path).map(|p| {
                if p.starts_with('/') {
                    p
                } else {
                    format!("/{p}")
                }
            }),
            subprotocols: given(&self.subprotocols).map(|s| {
                s.split(',')
                    .map(|p| p.trim().to_owned())
                    .filter(|p| !p.is_empty())
                    .collect()
            }),
            bearer_token: given(&self.bearer_token),
            require_headers: (!headers.is_empty()).then_some(headers),
        })
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

    /// The editor's rules parsed, again only when the text changed (the tab asks every frame); an empty text
    /// is no rules yet.
    pub fn parsed(&mut self) -> Result<&crate::model::mock::MockRules, String> {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        self.rules_text.hash(&mut h);
        self.rules_path.hash(&mut h);
        let key = h.finish();
        if self.check_cache.as_ref().is_none_or(|(k, _)| *k != key) {
            let result = if self.rules_text.trim().is_empty() {
                Ok(crate::model::mock::MockRules {
                    rules: Vec::new(),
                    ..Default::default()
                })
            } else {
                crate::model::mock::MockRules::from_ron(
                    &self.rules_text,
                    std::path::Path::new(self.rules_name()),
                )
                .map_err(|e| e.to_string())
            };
            self.check_cache = Some((key, result));
        }
        match &self.check_cache {
            Some((_, Ok(rules))) => Ok(rules),
            Some((_, Err(e))) => Err(e.clone()),
            None => Err("not parsed".into()),
        }
    }

    /// How many rules the editor holds, or why its text does not parse (with line and column).
    pub fn checked(&mut self) -> Result<usize, String> {
        self.parsed().map(|r| r.rules.len())
    }

    /// Whether the editor's rules parse, in words: "3 rules", or the error with its line and column.
    pub fn check_text(&self) -> Result<usize, String> {
        crate::model::mock::MockRules::from_ron(
            &self.rules_text,
            std::path::Path::new(self.rules_name()),
        )
        .map(|r| r.rules.len())
        .map_err(|e| e.to_string())
    }

    fn rules_name(&self) -> &str {
        if self.rules_path.trim().is_empty() {
            "rules"
        } else {
            self.rules_path.trim()
        }
    }

    /// Replaces the editor's text with `rules` written as RON (what the form does on every change).
    pub fn set_rules(&mut self, rules: &crate::model::mock::MockRules) {
        match rules.to_ron() {
            Ok(text) => self.rules_text = text,
            Err(e) => self.rules_status = Some(format!("could not write the rules: {e}")),
        }
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
            self.log
                .push(Row::note(Tone::Plain, format!("stopped {}", server.url())));
        }
        self.events = None;
        self.selected.clear();
        self.clients.clear();
        self.serving.clear();
    }

    /// The URL clients connect to (the served path included); a server on every address is reached on
    /// 127.0.0.1 from here.
    pub fn url(&self) -> Option<String> {
        let server = self.server.as_ref()?;
        let url = server
            .url()
            .replace("://0.0.0.0:", "://127.0.0.1:")
            .replace("://[::]:", "://[::1]:");
        Some(format!("{url}{}", self.served_path))
    }

    /// Clients connected now.
    pub fn clients_len(&self) -> usize {
        self.server.as_ref().map_or(0, |s| s.client_count())
    }

    /// The tab's title: the port it listens on, or that it is stopped.
    pub fn title(&self) -> String {
        match &self.server {
            Some(server) => format!("Server :{}", server.local_addr.port()),
            None if self.starting() => "Server (starting)".into(),
            None => "Server (stopped)".into(),
        }
    }

    fn keep_handshake(&mut self, id: String, handshake: Handshake) {
        if self.handshakes.insert(id.clone(), handshake).is_none() {
            self.handshake_order.push_back(id);
        }
        while self.handshake_order.len() > HANDSHAKES_KEPT {
            if let Some(old) = self.handshake_order.pop_front() {
                self.handshakes.remove(&old);
            }
        }
    }

    /// Takes a finished start and the events that arrived, within a frame's budget; true when more wait.
    pub fn drain(&mut self) -> bool {
        self.take_file_job();
        if let Some(rx) = &self.starting {
            match rx.try_recv() {
                Ok(Ok((server, events, (serving, served_path)))) => {
                    self.starting = None;
                    self.log.push(Row::note(
                        Tone::Plain,
                        format!("listening on {} ({})", server.url(), serving.join(", ")),
                    ));
                    if let Some(sha) = server.sha256() {
                        self.log.push(Row::note(
                            Tone::Plain,
                            format!("certificate SHA-256: {sha}"),
                        ));
                    }
                    self.serving = serving;
                    self.served_path = served_path;
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
        let joined_or_left = taken.iter().any(|(_, e)| {
            matches!(
                e,
                ServerEvent::Connected { .. } | ServerEvent::Closed { .. }
            )
        });
        if joined_or_left && let Some(server) = &self.server {
            self.clients = server.clients();
        }
        for (at, event) in taken {
            match &event {
                ServerEvent::Closed { id, .. } => {
                    self.selected.remove(id);
                }
                ServerEvent::Connected {
                    id,
                    peer,
                    request,
                    subprotocol,
                } => {
                    let handshake = Handshake {
                        at,
                        peer: peer.clone(),
                        request: request.clone(),
                        subprotocol: subprotocol.clone(),
                    };
                    self.keep_handshake(id.clone(), handshake);
                }
                _ => {}
            }
            self.log.push(Row::from_event(at, event));
        }
        more
    }

    /// The clients ticked that are still there.
    fn targets(&self) -> Vec<String> {
        self.clients
            .iter()
            .map(|(id, _)| id.clone())
            .filter(|id| self.selected.contains(id))
            .collect()
    }

    /// Sends the message to the ticked clients (or to all), its templates expanded for each client
    /// (`{{counter}}` counts messages sent; `{{connection.id}}` is the client's). A template that does not
    /// expand sends nothing and says why.
    pub fn send(&mut self, all: bool) {
        let Some(server) = &self.server else {
            return;
        };
        let to: Vec<String> = if all {
            self.clients.iter().map(|(id, _)| id.clone()).collect()
        } else {
            self.targets()
        };
        let mut texts = Vec::with_capacity(to.len());
        let mut counter = self.counter;
        for id in &to {
            counter += 1;
            let mut ctx = crate::model::session::template::Context {
                counter,
                ..Default::default()
            };
            ctx.variables.insert("connection.id".into(), id.clone());
            match crate::model::session::template::expand(&self.message, &ctx, |name| {
                std::env::var(name).ok()
            }) {
                Ok(text) => texts.push(text),
                Err(e) => {
                    self.status = Some(format!("not sent: {e}"));
                    return;
                }
            }
        }
        self.counter = counter;
        let sent = to
            .iter()
            .zip(texts)
            .filter(|(id, text)| server.send(id, Outgoing::Text(text.clone())))
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
