//! The GUI's state, the events it drains from the engine, and the actions the panels ask for.

use crate::engine::{Command, ConnectionHandle, Engine, EventKind, EventStream, Waker};
use crate::model::endpoint::Endpoint;
use crate::model::{
    CloseInfo, ConnId, ConnState, HandshakeInfo, LogEntry, PayloadFormat, StageError,
    close_code_sendable, parse_payload,
};
use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The longest a frame spends draining engine events before it draws (then it asks for another frame).
const DRAIN_BUDGET: Duration = Duration::from_millis(8);

/// Default cap on logged messages; older ones are dropped (and counted) beyond it.
pub const DEFAULT_LOG_CAP: usize = 1_000_000;

/// Something a panel asked for. Panels only collect actions; [`AppState::apply`] carries them out.
#[derive(Clone, Debug, PartialEq)]
#[must_use]
pub enum Action {
    /// Connect to the URL in the connection panel.
    Connect,
    /// Close the connection normally (1000), or cancel a connection attempt.
    Disconnect,
    /// Send the composer's message.
    Send,
    /// Send a ping with the composer's ping payload.
    Ping,
    /// Close with the composer's code and reason.
    Close,
    /// Select the log entry with this sequence number.
    Select(u64),
    /// Empty the log.
    ClearLog,
    /// Save the selected payload to a file chosen in a dialog.
    SavePayload,
    /// Choose a file for a TLS field.
    PickFile(FileField),
    /// Copy the connection as a command line for this tool.
    CopyAs(crate::model::copy_as::Tool),
}

/// Both ends of a channel from helper threads (file dialogs) back to the UI.
type Channel<T> = (mpsc::Sender<T>, mpsc::Receiver<T>);

/// The tabs of the connection options.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OptionsTab {
    /// Query parameters of the URL.
    Params,
    /// Headers, subprotocols and Origin.
    Headers,
    /// Bearer / Basic helpers.
    Auth,
    /// CA file, client certificate, SNI, insecure.
    Tls,
    /// Proxy.
    Proxy,
    /// Timeouts and size limits.
    Limits,
}

/// What the side panel shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SideTab {
    /// The selected message.
    Message,
    /// The handshake inspector.
    Handshake,
}

/// Which file field a file dialog fills.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileField {
    /// TLS CA file.
    CaFile,
    /// TLS client certificate.
    ClientCert,
    /// TLS client key.
    ClientKey,
}

/// The message log: a bounded queue of entries with stable sequence numbers.
pub struct LogStore {
    entries: VecDeque<LogEntry>,
    first_seq: u64,
    cap: usize,
    dropped: u64,
}

impl LogStore {
    /// An empty log holding at most `cap` entries.
    pub fn new(cap: usize) -> Self {
        Self {
            entries: VecDeque::new(),
            first_seq: 0,
            cap: cap.max(1),
            dropped: 0,
        }
    }

    /// Appends an entry, dropping the oldest when full.
    pub fn push(&mut self, entry: LogEntry) {
        if self.entries.len() >= self.cap {
            self.entries.pop_front();
            self.first_seq += 1;
            self.dropped += 1;
        }
        self.entries.push_back(entry);
    }

    /// Number of entries held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entry at position `index` (0 = oldest held).
    pub fn get(&self, index: usize) -> Option<&LogEntry> {
        self.entries.get(index)
    }

    /// Sequence number of the entry at `index`.
    pub fn seq_of(&self, index: usize) -> u64 {
        self.first_seq + index as u64
    }

    /// The entry with sequence number `seq`, if still held.
    pub fn by_seq(&self, seq: u64) -> Option<&LogEntry> {
        let index = seq.checked_sub(self.first_seq)?;
        self.entries.get(usize::try_from(index).ok()?)
    }

    /// Entries dropped because the log was full.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Removes every entry.
    pub fn clear(&mut self) {
        self.first_seq += self.entries.len() as u64;
        self.entries.clear();
    }
}

/// The composer's inputs.
#[derive(Clone, Debug)]
pub struct Composer {
    /// How `text` is to be read.
    pub format: PayloadFormat,
    /// The message being written.
    pub text: String,
    /// Payload of the next ping.
    pub ping_payload: String,
    /// Close code, as typed.
    pub close_code: String,
    /// Close reason.
    pub close_reason: String,
    /// Why the last send was refused.
    pub error: Option<String>,
}

impl Default for Composer {
    fn default() -> Self {
        Self {
            format: PayloadFormat::Text,
            text: "Hello, sockscope!".into(),
            ping_payload: String::new(),
            close_code: "1000".into(),
            close_reason: String::new(),
            error: None,
        }
    }
}

/// Everything the GUI shows and edits.
pub struct AppState {
    engine: Option<Engine>,
    events: EventStream,
    wake: Option<Waker>,
    /// The connection form (URL and options).
    pub endpoint: Endpoint,
    /// Which options tab is open.
    pub options_tab: OptionsTab,
    /// Whether the options area is shown.
    pub show_options: bool,
    /// Which tab the side panel shows.
    pub side_tab: SideTab,
    /// The embedded echo server's URL.
    pub echo_url: Option<String>,
    conn: Option<ConnectionHandle>,
    /// State of the current connection.
    pub conn_state: ConnState,
    /// The last failure of the current connection.
    pub error: Option<StageError>,
    /// The current connection's handshake.
    pub handshake: Option<Box<HandshakeInfo>>,
    /// How the current connection ended.
    pub close_info: Option<CloseInfo>,
    /// Every message, all connections.
    pub log: LogStore,
    /// The selected log entry's sequence number.
    pub selected: Option<u64>,
    /// The composer.
    pub composer: Composer,
    /// Keep the log scrolled to the newest message.
    pub follow: bool,
    /// A transient note (e.g. where a payload was saved).
    pub notice: Option<String>,
    file_results: Channel<String>,
    picked_files: Channel<(FileField, PathBuf)>,
    /// Text waiting to be put on the clipboard by the next frame.
    pub clipboard: Option<String>,
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
        let mut state = Self {
            engine: Some(engine),
            events,
            wake,
            endpoint: Endpoint::new(
                url.or_else(|| echo_url.clone())
                    .unwrap_or_else(|| "ws://".into()),
            ),
            options_tab: OptionsTab::Headers,
            show_options: false,
            side_tab: SideTab::Message,
            echo_url,
            conn: None,
            conn_state: ConnState::Idle,
            error: None,
            handshake: None,
            close_info: None,
            log: LogStore::new(DEFAULT_LOG_CAP),
            selected: None,
            composer: Composer::default(),
            follow: true,
            notice: echo_error,
            file_results: mpsc::channel(),
            picked_files: mpsc::channel(),
            clipboard: None,
        };
        if connect_now {
            state.apply(Action::Connect);
        }
        Ok(state)
    }

    /// Gives up the engine (for shutdown).
    pub fn take_engine(&mut self) -> Option<Engine> {
        self.conn = None;
        self.engine.take()
    }

    /// True while a connection is being made or is open.
    pub fn is_active(&self) -> bool {
        matches!(
            self.conn_state,
            ConnState::Connecting | ConnState::Open | ConnState::Closing
        )
    }

    fn current_id(&self) -> Option<ConnId> {
        self.conn.as_ref().map(|c| c.conn_id)
    }

    /// Applies queued engine events, for at most one frame's budget. Returns true if more remain.
    pub fn drain_events(&mut self) -> bool {
        self.events.rearm_wake();
        while let Ok(note) = self.file_results.1.try_recv() {
            self.notice = Some(note);
        }
        while let Ok((field, path)) = self.picked_files.1.try_recv() {
            let slot = match field {
                FileField::CaFile => &mut self.endpoint.tls.ca_file,
                FileField::ClientCert => &mut self.endpoint.tls.client_cert_file,
                FileField::ClientKey => &mut self.endpoint.tls.client_key_file,
            };
            *slot = Some(path);
        }
        let started = Instant::now();
        let mut handled = 0u32;
        while let Some(event) = self.events.try_recv() {
            let current = self.current_id() == Some(event.conn_id);
            match event.kind {
                EventKind::Message(entry) => self.log.push(entry),
                EventKind::State(s) if current => self.conn_state = s,
                EventKind::Handshake(h) if current => self.handshake = Some(h),
                EventKind::Error(e) if current => {
                    // A failed upgrade is best understood in the inspector.
                    if self.conn_state == ConnState::Connecting && self.handshake.is_some() {
                        self.side_tab = SideTab::Handshake;
                    }
                    self.error = Some(e);
                }
                EventKind::Closed(c) if current => {
                    self.conn_state = ConnState::Closed;
                    self.close_info = Some(c);
                    self.conn = None;
                }
                _ => {}
            }
            handled += 1;
            if handled.is_multiple_of(256) && started.elapsed() > DRAIN_BUDGET {
                return !self.events.is_empty();
            }
        }
        false
    }

    /// Message events the engine dropped because the UI fell behind.
    pub fn dropped_in_transit(&self) -> u64 {
        self.events.dropped()
    }

    /// Draws the whole window and then carries out what the user asked for.
    pub fn ui(&mut self, ui: &mut egui::Ui) {
        let mut actions = Vec::new();
        egui::Panel::top("connection")
            .show(ui, |ui| super::connection_panel::ui(self, ui, &mut actions));
        egui::Panel::bottom("composer")
            .resizable(true)
            .default_size(150.0)
            .min_size(110.0)
            .show(ui, |ui| super::composer::ui(self, ui, &mut actions));
        egui::Panel::right("details")
            .resizable(true)
            .default_size(460.0)
            .min_size(240.0)
            .show(ui, |ui| super::details::ui(self, ui, &mut actions));
        egui::CentralPanel::default().show(ui, |ui| super::log_view::ui(self, ui, &mut actions));
        for action in actions {
            self.apply(action);
        }
    }

    /// Carries out one action.
    pub fn apply(&mut self, action: Action) {
        match action {
            Action::Connect => self.connect(),
            Action::Disconnect => {
                if let Some(conn) = &self.conn {
                    conn.send(Command::Close {
                        code: 1000,
                        reason: String::new(),
                    });
                }
            }
            Action::Send => self.send_composed(),
            Action::Ping => {
                let payload = self.composer.ping_payload.clone().into_bytes();
                self.command(Command::Ping(payload));
            }
            Action::Close => self.close_with_composer_code(),
            Action::Select(seq) => self.selected = Some(seq),
            Action::ClearLog => {
                self.log.clear();
                self.selected = None;
            }
            Action::SavePayload => self.save_selected_payload(),
            Action::PickFile(field) => self.pick_file(field),
            Action::CopyAs(tool) => self.copy_as(tool),
        }
    }

    fn connect(&mut self) {
        if let Some(old) = self.conn.take() {
            old.send(Command::Close {
                code: 1000,
                reason: String::new(),
            });
        }
        let Some(engine) = self.engine.as_mut() else {
            return;
        };
        self.error = None;
        self.handshake = None;
        self.close_info = None;
        self.composer.error = None;
        self.conn_state = ConnState::Connecting;
        self.conn = Some(engine.connect(self.endpoint.to_request()));
    }

    fn command(&mut self, command: Command) {
        self.composer.error = None;
        let sent = self.conn.as_ref().is_some_and(|c| c.send(command));
        if !sent {
            self.composer.error = Some("not connected: press Connect first".into());
        }
    }

    fn send_composed(&mut self) {
        match parse_payload(&self.composer.text, self.composer.format) {
            Ok(bytes) => {
                let command = match self.composer.format {
                    PayloadFormat::Text => Command::Text(self.composer.text.clone()),
                    PayloadFormat::Hex | PayloadFormat::Base64 => Command::Binary(bytes),
                };
                self.command(command);
            }
            Err(e) => self.composer.error = Some(format!("{}: {e}", self.composer.format.label())),
        }
    }

    fn close_with_composer_code(&mut self) {
        let code = match self.composer.close_code.trim().parse::<u16>() {
            Ok(c) => c,
            Err(_) => {
                self.composer.error = Some(format!(
                    "close code '{}' is not a number from 0 to 65535",
                    self.composer.close_code.trim()
                ));
                return;
            }
        };
        if self.composer.close_reason.len() > 123 {
            self.composer.error = Some(format!(
                "the close reason is {} bytes; at most 123 fit in a close frame",
                self.composer.close_reason.len()
            ));
            return;
        }
        self.command(Command::Close {
            code,
            reason: self.composer.close_reason.clone(),
        });
        if !close_code_sendable(code) && self.composer.error.is_none() {
            self.notice = Some(format!(
                "sent close code {code}, which RFC 6455 reserves: expect a protocol error"
            ));
        }
    }

    fn save_selected_payload(&mut self) {
        let Some(entry) = self.selected.and_then(|s| self.log.by_seq(s)) else {
            return;
        };
        let payload = entry.payload.clone();
        let suggested = match entry.kind {
            crate::model::MessageKind::Text => "message.txt",
            _ => "message.bin",
        };
        let tx = self.file_results.0.clone();
        let wake = self.wake.clone();
        // The native dialog blocks its thread; it must never be the UI thread.
        let spawned = std::thread::Builder::new()
            .name("sockscope-save-dialog".into())
            .spawn(move || {
                let chosen: Option<PathBuf> =
                    rfd::FileDialog::new().set_file_name(suggested).save_file();
                let note = match chosen {
                    None => return,
                    Some(path) => match crate::model::fsutil::write_atomic(&path, &payload) {
                        Ok(()) => format!("saved {} bytes to {}", payload.len(), path.display()),
                        Err(e) => format!("could not save the payload: {e} ({})", path.display()),
                    },
                };
                let _ = tx.send(note);
                if let Some(w) = wake {
                    w();
                }
            });
        if let Err(e) = spawned {
            self.notice = Some(format!("could not open the save dialog: {e}"));
        }
    }

    fn pick_file(&mut self, field: FileField) {
        let tx = self.picked_files.0.clone();
        let wake = self.wake.clone();
        // The native dialog blocks its thread; it must never be the UI thread.
        let spawned = std::thread::Builder::new()
            .name("sockscope-open-dialog".into())
            .spawn(move || {
                if let Some(path) = rfd::FileDialog::new()
                    .add_filter("PEM", &["pem", "crt", "cer", "key"])
                    .add_filter("All files", &["*"])
                    .pick_file()
                {
                    let _ = tx.send((field, path));
                    if let Some(w) = wake {
                        w();
                    }
                }
            });
        if let Err(e) = spawned {
            self.notice = Some(format!("could not open the file dialog: {e}"));
        }
    }

    fn copy_as(&mut self, tool: crate::model::copy_as::Tool) {
        let request = self.endpoint.to_request();
        match crate::engine::handshake::extra_headers(&request) {
            Ok(headers) => {
                self.clipboard = Some(crate::model::copy_as::command(tool, &request, &headers));
                self.notice = Some(format!(
                    "copied the {} command to the clipboard",
                    tool.name()
                ));
            }
            Err(e) => self.notice = Some(format!("cannot build the command: {e}")),
        }
    }

    /// The connection handle, for tests.
    pub fn connection(&self) -> Option<&ConnectionHandle> {
        self.conn.as_ref()
    }
}

impl Drop for AppState {
    fn drop(&mut self) {
        if let Some(engine) = self.engine.take() {
            engine.shutdown(Duration::from_millis(500));
        }
    }
}
