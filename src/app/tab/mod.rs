//! One connection tab: its form, connection, log, inspector history and composer. Tabs are independent; the
//! app routes each engine event to the tab that owns its connection.

pub(crate) mod caches;
pub(crate) mod codec;
pub(crate) mod collection;
pub(crate) mod latency;
pub(crate) mod log_columns;
pub(crate) mod log_filter;
pub(crate) mod log_store;
pub(crate) mod payload_cache;
pub(crate) mod protocol;
pub(crate) mod traffic;

use crate::engine::replay::Control;
use crate::engine::{ConnectionHandle, EventKind};
use crate::model::junit::StepReport;
use crate::model::session::Session;
use crate::model::{CloseInfo, ConnId, ConnState, HandshakeInfo, PayloadFormat, StageError};
pub use collection::ItemPath;
pub use log_columns::LogColumns;
pub use log_store::{DEFAULT_LOG_CAP, LogLimits, LogStore, Tone};
pub use payload_cache::PayloadView;
use std::time::{Duration, Instant};

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
    /// Keepalive, heartbeat, on-connect messages, reconnect.
    Keepalive,
    /// Timeouts and size limits.
    Limits,
    /// permessage-deflate: offered or not, the exact offer, what was agreed.
    Compression,
    /// HTTP/1.1, HTTP/2 (RFC 8441) or auto; sharing one HTTP/2 connection.
    Http,
    /// How binary messages are read: MessagePack, CBOR or Protobuf (with its .proto files).
    Codec,
    /// The protocol's options (Socket.IO auth / EIO / path, GraphQL connection_init payload, timeouts).
    Protocol,
}

/// What the side panel shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SideTab {
    /// The selected message.
    Message,
    /// The handshake inspector.
    Handshake,
    /// Round-trip times of pings.
    Latency,
    /// Every frame header on the wire.
    Frames,
    /// Messages and bytes per second.
    Traffic,
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
    /// Frame size for fragmented sends, as typed.
    pub fragment_size: String,
    /// Raw frame: opcode.
    pub raw_opcode: u8,
    /// Raw frame: FIN.
    pub raw_fin: bool,
    /// Raw frame: RSV1–3.
    pub raw_rsv: [bool; 3],
    /// Show the frame controls.
    pub show_frames: bool,
    /// Why the last send was refused.
    pub error: Option<String>,
    /// The protocol fields (Socket.IO event, GraphQL operation).
    pub protocol: protocol::ProtocolComposer,
    /// JSON mode: the text last checked and what the check found (checked again only when the text changes).
    pub json_check: Option<(String, Result<(), crate::model::json_text::JsonProblem>)>,
    /// JSON mode: messages sent so far, the value of `{{counter}}`.
    pub sent: u64,
    /// On a connection that agreed permessage-deflate: compress what Send sends (off: RSV1 off, as is).
    pub compress: bool,
    /// JSON mode with a codec: Send encodes the JSON with it (a binary message); off, it goes as text.
    pub encode: bool,
}

impl Composer {
    /// JSON mode: what is wrong with the text, if anything (checked once per change).
    pub fn json_problem(&mut self) -> Option<&crate::model::json_text::JsonProblem> {
        if self
            .json_check
            .as_ref()
            .is_none_or(|(t, _)| *t != self.text)
        {
            let result = crate::model::json_text::check(&self.text);
            self.json_check = Some((self.text.clone(), result));
        }
        self.json_check.as_ref().and_then(|(_, r)| r.as_ref().err())
    }
}

impl Default for Composer {
    fn default() -> Self {
        Self {
            format: PayloadFormat::Text,
            text: "Hello, sockscope!".into(),
            ping_payload: String::new(),
            close_code: "1000".into(),
            close_reason: String::new(),
            fragment_size: "4".into(),
            raw_opcode: 1,
            raw_fin: true,
            raw_rsv: [false; 3],
            show_frames: false,
            error: None,
            protocol: Default::default(),
            json_check: None,
            sent: 0,
            compress: true,
            encode: true,
        }
    }
}

/// One connection attempt, kept for the inspector.
#[derive(Clone, Debug, Default)]
pub struct Attempt {
    /// The handshake, once a response (or a proxy exchange) came.
    pub handshake: Option<Box<HandshakeInfo>>,
    /// The failure, if any.
    pub error: Option<StageError>,
    /// How it ended.
    pub close: Option<CloseInfo>,
}

/// A reconnection waiting for its delay.
#[derive(Clone, Copy, Debug)]
pub struct PendingReconnect {
    /// Reconnection number.
    pub attempt: u32,
    /// When it starts.
    pub at: Instant,
}

/// A replay of this tab's collection (or part of it).
pub struct ReplayRun {
    /// Pause / resume / stop.
    pub control: tokio::sync::watch::Sender<Control>,
    /// Number of steps.
    pub total: usize,
    /// The step running now (from 1).
    pub current: Option<usize>,
    /// Finished steps.
    pub reports: Vec<StepReport>,
    /// Set when the run ended.
    pub finished: bool,
    /// Why it could not run, if so.
    pub error: Option<String>,
}

impl ReplayRun {
    /// Steps passed and failed so far.
    pub fn counts(&self) -> (usize, usize) {
        use crate::model::junit::Outcome;
        let count = |o| self.reports.iter().filter(|r| r.outcome == o).count();
        (count(Outcome::Pass), count(Outcome::Fail))
    }

    /// `running: 2/6 steps, 2 passed, 0 failed`, or why it could not run.
    pub fn summary(&self) -> String {
        if let Some(err) = &self.error {
            return format!("could not run: {err}");
        }
        let (passed, failed) = self.counts();
        let state = if self.finished { "finished" } else { "running" };
        format!(
            "{state}: {}/{} steps, {passed} passed, {failed} failed",
            self.reports.len(),
            self.total
        )
    }
}

/// Everything one tab shows and edits.
pub struct ConnTab {
    /// Stable identity (for results that arrive from helper threads).
    pub id: u64,
    /// The session: endpoint form, variables and collection.
    pub session: Session,
    /// The file the session was loaded from or saved to.
    pub session_path: Option<std::path::PathBuf>,
    /// The session's RON as last saved or loaded (for the unsaved-changes marker).
    pub saved_ron: String,
    /// The selected collection item.
    pub selected_item: Option<ItemPath>,
    /// The running or last replay.
    pub replay: Option<ReplayRun>,
    /// The connection bar tells the replay's outcome: it ran after the tab's own last connection.
    pub bar_shows_run: bool,
    /// Which options tab is open.
    pub options_tab: OptionsTab,
    /// Whether the options area is shown.
    pub show_options: bool,
    /// Which tab the side panel shows.
    pub side_tab: SideTab,
    pub(super) conn: Option<ConnectionHandle>,
    /// Connections this tab started (older ones may still report their last events).
    pub(super) conn_ids: Vec<ConnId>,
    /// State of the current connection.
    pub conn_state: ConnState,
    /// The last failure of the current attempt.
    pub error: Option<StageError>,
    /// The current attempt's handshake.
    pub handshake: Option<Box<HandshakeInfo>>,
    /// How the current attempt ended.
    pub close_info: Option<CloseInfo>,
    /// The newest [`MAX_ATTEMPTS`] attempts of this tab, oldest first (the inspector can show any).
    pub attempts: std::collections::VecDeque<Attempt>,
    /// Older attempts no longer kept (a tab that reconnects without end would otherwise keep every handshake).
    pub attempts_dropped: u64,
    /// The attempt the inspector shows (`None`: the latest).
    pub inspected_attempt: Option<usize>,
    /// A reconnection waiting for its delay.
    pub reconnect: Option<PendingReconnect>,
    /// The log of this tab's connections.
    pub log: LogStore,
    /// The selected log entry's sequence number.
    pub selected: Option<u64>,
    /// The composer.
    pub composer: Composer,
    /// Keep the log scrolled to the newest message.
    pub follow: bool,
    /// Show JSON payloads as pretty text instead of a foldable tree.
    pub json_as_text: bool,
    /// Where the message log is scrolled to.
    pub log_scroll: crate::app::widgets::virtual_list::RowScroll,
    /// The log's filter and search.
    pub filter: log_filter::LogFilter,
    /// The payload view chosen by the user (`None`: pick by content).
    pub payload_view: Option<PayloadView>,
    /// Frame headers seen on the wire, newest last (bounded).
    pub frames: std::collections::VecDeque<crate::model::FrameInfo>,
    /// Per-second traffic bins for the Traffic tab (recomputed when the log changes).
    pub traffic: traffic::TrafficBins,
    /// Work kept between frames (selected payload, latency points, unsaved marker).
    pub caches: caches::TabCaches,
    /// Characters of payload the log's rows had room for in the last frame (the layout's measure).
    pub log_payload_chars: usize,
    /// The log has a divider for this connection's opening, and none yet for its close.
    open_marked: bool,
    /// The protocol the current connection speaks, once the engine said.
    pub protocol: Option<protocol::ProtocolView>,
    /// The codec binary messages are shown with (built from the session's setting).
    pub codec: codec::CodecState,
}

/// How many connection attempts a tab keeps for the inspector (each holds its handshake's bytes).
pub const MAX_ATTEMPTS: usize = 100;

/// How many frame headers a tab keeps.
pub const MAX_FRAMES: usize = 1_000_000;

impl ConnTab {
    /// A tab for `url` with an untitled session.
    pub fn new(url: impl Into<String>) -> Self {
        let mut session = Session::default();
        session.endpoint.url = url.into();
        // A new connection in the GUI decodes whatever protocol it detects; turning the protocol's automatic
        // part on is one click once it is detected.
        session.endpoint.protocol.protocol = crate::model::protocol::Protocol::Auto;
        session.endpoint.protocol.automatic = false;
        Self::with_session(session, None)
    }

    /// A tab for a loaded session.
    pub fn with_session(session: Session, path: Option<std::path::PathBuf>) -> Self {
        static NEXT_TAB_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let saved_ron = session.to_ron();
        Self {
            id: NEXT_TAB_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            session,
            session_path: path,
            saved_ron,
            selected_item: None,
            replay: None,
            bar_shows_run: false,
            options_tab: OptionsTab::Headers,
            show_options: false,
            side_tab: SideTab::Message,
            conn: None,
            conn_ids: Vec::new(),
            conn_state: ConnState::Idle,
            error: None,
            handshake: None,
            close_info: None,
            attempts: std::collections::VecDeque::new(),
            attempts_dropped: 0,
            inspected_attempt: None,
            reconnect: None,
            log: LogStore::new(DEFAULT_LOG_CAP),
            selected: None,
            composer: Composer::default(),
            follow: true,
            json_as_text: false,
            log_scroll: Default::default(),
            filter: Default::default(),
            payload_view: None,
            frames: Default::default(),
            traffic: Default::default(),
            caches: Default::default(),
            log_payload_chars: 0,
            open_marked: false,
            protocol: None,
            codec: Default::default(),
        }
    }

    /// The tab's title: the session file's name, else host, port and path of its URL.
    pub fn title(&self) -> String {
        if let Some(stem) = self.session_path.as_deref().and_then(|p| p.file_stem()) {
            return stem.to_string_lossy().into_owned();
        }
        let url = self.session.endpoint.url.trim();
        let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
        let short: String = rest.chars().take(28).collect();
        if short.is_empty() {
            "New connection".into()
        } else if rest.chars().count() > 28 {
            format!("{short}…")
        } else {
            short
        }
    }

    /// True when the session differs from its file (or, untitled, from a new session).
    pub fn is_dirty(&self) -> bool {
        // Serialises only when the session changed since the last frame asked.
        self.caches.unsaved.is_dirty(&self.session, &self.saved_ron)
    }

    /// Marks the session as saved.
    pub fn mark_saved(&mut self) {
        self.saved_ron = self.session.to_ron();
    }

    /// True while a connection is being made, is open, or waits to reconnect.
    pub fn is_active(&self) -> bool {
        self.reconnect.is_some()
            || matches!(
                self.conn_state,
                ConnState::Connecting | ConnState::Open | ConnState::Closing
            )
    }

    /// True when `conn_id` belongs to this tab.
    pub fn owns(&self, conn_id: ConnId) -> bool {
        self.conn_ids.contains(&conn_id)
    }

    /// The open connection agreed permessage-deflate (what Send sends goes compressed).
    pub fn deflate_agreed(&self) -> bool {
        self.conn_state == ConnState::Open
            && self.handshake.as_ref().is_some_and(|h| h.deflate.is_some())
    }

    /// The connection handle, for tests.
    pub fn connection(&self) -> Option<&ConnectionHandle> {
        self.conn.as_ref()
    }

    /// Time left before a pending reconnection.
    pub fn reconnect_in(&self) -> Option<Duration> {
        self.reconnect
            .map(|r| r.at.saturating_duration_since(Instant::now()))
    }

    pub(super) fn attach(&mut self, conn: ConnectionHandle) {
        self.bar_shows_run = false;
        self.conn_ids.push(conn.conn_id);
        self.conn = Some(conn);
        self.error = None;
        self.handshake = None;
        self.close_info = None;
        self.reconnect = None;
        self.composer.error = None;
        self.conn_state = ConnState::Connecting;
    }

    /// Applies one event of a connection this tab owns. Returns a note for the status area, if any.
    pub(super) fn apply_event(&mut self, conn_id: ConnId, kind: EventKind) -> Option<String> {
        let current = self.conn.as_ref().is_some_and(|c| c.conn_id == conn_id);
        match kind {
            EventKind::Message(entry) => {
                if let (Some(view), Some(decoded)) = (self.protocol.as_mut(), entry.decoded())
                    && current
                {
                    view.saw(decoded);
                }
                self.log.push(entry)
            }
            EventKind::Frames(frames) => {
                let overflow = (self.frames.len() + frames.len()).saturating_sub(MAX_FRAMES);
                self.frames.drain(..overflow.min(self.frames.len()));
                let skip = frames.len().saturating_sub(MAX_FRAMES);
                self.frames.extend(frames.into_iter().skip(skip));
            }
            _ if !current => {}
            EventKind::State(s) => {
                if s == ConnState::Connecting {
                    self.open_marked = false;
                    self.reconnect = None;
                    self.error = None;
                    self.handshake = None;
                    self.close_info = None;
                    self.protocol = None;
                    self.push_attempt();
                }
                if s == ConnState::Open && !self.open_marked {
                    self.log.mark(Tone::Opened, self.opened_text());
                    self.open_marked = true;
                }
                self.conn_state = s;
            }
            EventKind::Handshake(h) => {
                if let Some(a) = self.attempts.back_mut() {
                    a.handshake = Some(h.clone());
                }
                self.handshake = Some(h);
            }
            EventKind::Error(e) => {
                // A failed upgrade is best understood in the inspector.
                if self.conn_state == ConnState::Connecting && self.handshake.is_some() {
                    self.side_tab = SideTab::Handshake;
                }
                if let Some(a) = self.attempts.back_mut() {
                    a.error = Some(e.clone());
                }
                if self.conn_state == ConnState::Connecting {
                    self.log
                        .mark(Tone::Failed, format!("connection failed · {e}"));
                }
                self.error = Some(e);
            }
            EventKind::Closed(c) => {
                if std::mem::take(&mut self.open_marked) {
                    self.log.mark(Tone::Closed, c.summary());
                }
                self.conn_state = ConnState::Closed;
                if let Some(a) = self.attempts.back_mut() {
                    a.close = Some(c.clone());
                }
                self.close_info = Some(c);
            }
            EventKind::Reconnecting { attempt, delay } => {
                self.reconnect = Some(PendingReconnect {
                    attempt,
                    at: Instant::now()
                        .checked_add(delay)
                        .unwrap_or_else(Instant::now),
                });
            }
            EventKind::Protocol(p) => {
                if let crate::engine::events::ProtocolEvent::Failed { message, .. } = &p {
                    let err = StageError::new(crate::model::Stage::Protocol, message.clone());
                    if let Some(a) = self.attempts.back_mut() {
                        a.error = Some(err.clone());
                    }
                    self.error = Some(err);
                }
                protocol::ProtocolView::apply(&mut self.protocol, p);
                if self.protocol.as_ref().and_then(|p| p.protocol()).is_some() {
                    self.filter.protocol_rows = true;
                }
            }
            EventKind::GaveUp { attempts } => {
                self.reconnect = None;
                self.conn = None;
                return Some(format!("gave up after {attempts} reconnection attempts"));
            }
        }
        None
    }

    /// The divider's words for a connection that just opened: where, how fast, with what.
    fn opened_text(&self) -> String {
        let Some(h) = &self.handshake else {
            return "connected".to_owned();
        };
        let status = match &h.h2 {
            Some(h2) => format!(
                "HTTP/2 {} · stream {}{}",
                h.status,
                h2.stream_id,
                if h2.reused {
                    " (shared connection)"
                } else {
                    ""
                }
            ),
            None => h.status.to_string(),
        };
        let mut text = format!(
            "connected to {} · {status} in {}",
            h.peer_addr.as_deref().unwrap_or("?"),
            crate::app::panels::log_view::format_ms(h.timings.total_ms, 1)
        );
        if let Some(p) = &h.subprotocol {
            text.push_str(&format!(" · subprotocol {p}"));
        }
        if h.deflate.is_some() {
            text.push_str(" · permessage-deflate");
        }
        text
    }

    /// Starts a new attempt, dropping the oldest past [`MAX_ATTEMPTS`] (the inspector's choice follows it).
    fn push_attempt(&mut self) {
        if self.attempts.len() >= MAX_ATTEMPTS {
            self.attempts.pop_front();
            self.attempts_dropped += 1;
            self.inspected_attempt = self.inspected_attempt.and_then(|i| i.checked_sub(1));
        }
        self.attempts.push_back(Attempt::default());
    }

    /// Forgets a connection whose task has ended (after its last events were applied).
    pub(super) fn reap(&mut self) {
        if self.conn.as_ref().is_some_and(|c| !c.is_alive()) {
            self.conn = None;
            self.reconnect = None;
            if self.conn_state != ConnState::Closed && self.conn_state != ConnState::Idle {
                self.conn_state = ConnState::Closed;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::FrameInfo;

    fn frames(from: u64, n: u64) -> EventKind {
        EventKind::Frames(
            (from..from + n)
                .map(|i| FrameInfo {
                    direction: crate::model::Direction::Received,
                    fin: true,
                    rsv1: false,
                    rsv2: false,
                    rsv3: false,
                    opcode: 1,
                    masked: false,
                    payload_len: i,
                    since_ns: 0,
                })
                .collect(),
        )
    }

    #[test]
    fn the_wire_view_keeps_the_newest_frames_up_to_its_cap() {
        let mut tab = ConnTab::new("ws://127.0.0.1:1/");
        tab.apply_event(1, frames(0, 10));
        assert_eq!(tab.frames.len(), 10);
        tab.apply_event(1, frames(10, MAX_FRAMES as u64 - 5));
        assert_eq!(tab.frames.len(), MAX_FRAMES);
        assert_eq!(tab.frames.front().map(|f| f.payload_len), Some(5));
        // A batch larger than the cap keeps its own newest frames.
        tab.apply_event(1, frames(2_000_000, MAX_FRAMES as u64 + 3));
        assert_eq!(tab.frames.len(), MAX_FRAMES);
        assert_eq!(tab.frames.front().map(|f| f.payload_len), Some(2_000_003));
        assert_eq!(
            tab.frames.back().map(|f| f.payload_len),
            Some(2_000_000 + MAX_FRAMES as u64 + 2)
        );
    }

    #[test]
    fn a_tab_keeps_the_newest_attempts_and_counts_the_rest() {
        let mut tab = ConnTab::new("ws://127.0.0.1:9/");
        tab.push_attempt();
        tab.attempts[0].error = Some(StageError::new(crate::model::Stage::Tcp, "first"));
        for _ in 1..MAX_ATTEMPTS {
            tab.push_attempt();
        }
        assert_eq!(
            (tab.attempts.len(), tab.attempts_dropped),
            (MAX_ATTEMPTS, 0)
        );
        tab.inspected_attempt = Some(5);
        for _ in 0..50 {
            tab.push_attempt();
        }
        assert_eq!(tab.attempts.len(), MAX_ATTEMPTS, "bounded");
        assert_eq!(tab.attempts_dropped, 50);
        assert!(tab.attempts[0].error.is_none(), "the oldest went first");
        assert_eq!(
            tab.inspected_attempt, None,
            "the inspected attempt was dropped: the latest is shown"
        );
        tab.inspected_attempt = Some(10);
        tab.push_attempt();
        assert_eq!(
            tab.inspected_attempt,
            Some(9),
            "the choice follows its attempt"
        );
    }
}
