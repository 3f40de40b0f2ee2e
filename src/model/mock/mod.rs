//! The mock server's rules: what a WebSocket server that sockscope runs does with its clients, in the model of
//! an AWS API Gateway WebSocket API (a route selection expression such as `$request.body.action`, the
//! `$connect` / `$disconnect` / `$default` routes, a connection id per client) — an ordered list of `when` →
//! `then` rules, stored as RON with a format version and a default for every field, like sessions.
//!
//! [`core::MockCore`] runs them sans-IO: a connect request, a message or a close in, the effects out (accept or
//! refuse, messages to connections, closes, delays, faults).

pub mod core;

use crate::model::session::Matcher;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The rules format this build writes.
pub const FORMAT_VERSION: u32 = 1;

/// A rules file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MockRules {
    /// The format the file was written in.
    pub format_version: u32,
    /// A name for people.
    pub name: String,
    /// Free notes.
    pub notes: String,
    /// What the upgrade must carry, and what it answers.
    pub server: ServerSettings,
    /// Where a message's route key is read: `$request.body.action` (a JSON path into the message), or empty
    /// for none (every message takes the `$default` route).
    pub route_selection: String,
    /// The rules, in order: the first that matches runs, unless it says `continue: true`.
    pub rules: Vec<Rule>,
}

impl Default for MockRules {
    fn default() -> Self {
        Self {
            format_version: FORMAT_VERSION,
            name: "Mock server".into(),
            notes: String::new(),
            server: ServerSettings::default(),
            route_selection: "$request.body.action".into(),
            rules: Vec::new(),
        }
    }
}

/// What every upgrade must carry, and the subprotocols the server accepts.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ServerSettings {
    /// The path clients connect to (`/chat`); empty: any path. The management API's paths are always answered.
    pub path: String,
    /// Subprotocols it accepts, in its order of preference; the first the client offers is selected. Empty: it
    /// selects none.
    pub subprotocols: Vec<String>,
    /// Headers the upgrade must carry with these values (templates expanded: `{{env.NAME}}`).
    pub require_headers: Vec<HeaderValue>,
    /// A bearer token the upgrade must carry as `Authorization: Bearer …` (templates expanded); empty: none.
    pub bearer_token: String,
    /// The body of the 401 a client without the headers or the token gets.
    pub unauthorized_body: String,
}

/// A header name and value.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct HeaderValue {
    /// Its name (any case).
    pub name: String,
    /// Its value (templates expanded).
    pub value: String,
}

/// One rule: when this happens, do that.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Rule {
    /// Its name, in the log and in `rule` events.
    pub name: String,
    /// Off: skipped.
    pub enabled: bool,
    /// What it answers.
    pub when: When,
    /// What it does, in order.
    pub then: Vec<Then>,
    /// After it ran, the next matching rule runs too.
    #[serde(rename = "continue")]
    pub and_continue: bool,
}

impl Default for Rule {
    fn default() -> Self {
        Self {
            name: "Rule".into(),
            enabled: true,
            when: When::default(),
            then: Vec::new(),
            and_continue: false,
        }
    }
}

/// What a rule answers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum When {
    /// A client asks to connect (the `$connect` route), when these hold.
    Connect(ConnectCondition),
    /// A message matching one of the expectation matchers (equals, contains, regex, JSON subset, JSON path,
    /// bytes).
    Message(Matcher),
    /// A message whose route key (read by `route_selection`) is this; `$default` when no route rule matched;
    /// `$connect` and `$disconnect` as `Connect` and `Close`.
    Route(String),
    /// A client left (the `$disconnect` route).
    Close,
}

impl Default for When {
    fn default() -> Self {
        Self::Route("$default".into())
    }
}

/// Conditions on an upgrade request (all must hold; an empty one holds).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ConnectCondition {
    /// The path equals this (empty: any).
    pub path: String,
    /// Query parameters with these values (an empty value: present with any value).
    pub query: Vec<HeaderValue>,
    /// Headers with these values (an empty value: present with any value).
    pub headers: Vec<HeaderValue>,
    /// The client offers this subprotocol (empty: any).
    pub subprotocol: String,
}

/// Who a message goes to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Audience {
    /// The client the rule runs for.
    Me,
    /// Every client.
    All,
    /// Every client but this one.
    Others,
    /// The clients of a group (a chat room; the name is a template).
    Group(String),
    /// One client by its connection id (a template).
    Connection(String),
}

/// What a rule does. Templates may use `{{request.body.FIELD}}` (the message as JSON), `{{request.body}}`,
/// `{{request.path}}`, `{{request.query.NAME}}`, `{{request.header.NAME}}`, `{{connection.id}}`,
/// `{{connection.NAME}}` (values set by `Set`), `{{route}}`, `{{env.NAME}}` and the generators (`{{uuid}}`,
/// `{{timestamp_ms}}`, `{{random_int}}`, `{{counter}}`: the connection's messages so far).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Then {
    /// A text message to this client.
    Reply(String),
    /// A binary message to this client (hex).
    ReplyBinary(String),
    /// A text message to others.
    Send {
        /// Who gets it.
        to: Audience,
        /// The text.
        text: String,
    },
    /// This client joins a group.
    Join(String),
    /// This client leaves a group.
    Leave(String),
    /// This client leaves every group.
    LeaveAll,
    /// Keeps a value on the connection, read later as `{{connection.NAME}}`.
    Set {
        /// The name.
        name: String,
        /// The value (a template).
        value: String,
    },
    /// Waits this many milliseconds before what follows.
    Delay(u64),
    /// Closes this client with a code and reason.
    Close {
        /// The close code.
        code: u16,
        /// The reason.
        reason: String,
    },
    /// Sends this client `count` text messages, one every `interval_ms` (`{{counter}}` counts them from 1).
    Stream {
        /// How many.
        count: u32,
        /// Milliseconds between them.
        interval_ms: u64,
        /// The text.
        text: String,
    },
    /// In a `Connect` rule: refuses the upgrade with this status and body.
    Refuse {
        /// The HTTP status.
        status: u16,
        /// The body.
        body: String,
    },
    /// Misbehaves on purpose.
    Fault(Fault),
}

/// A deliberate fault, for testing a client's error paths. The upgrade faults act in a `Connect` rule; the
/// rest act on the client the rule runs for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Fault {
    /// Holds the 101 for this many milliseconds.
    DelayUpgrade(u64),
    /// Answers the upgrade with a wrong Sec-WebSocket-Accept.
    WrongAccept,
    /// Selects this subprotocol, which the client did not offer.
    UnofferedSubprotocol(String),
    /// Drops the TCP connection without a close frame (a reset).
    Drop,
    /// Stops reading from the client (its sends back up).
    StopReading,
    /// Sends a ping, then never answers the client's pings.
    PingThenDeaf,
    /// A text frame that is not UTF-8.
    BadUtf8,
    /// A text frame with RSV1 set (no extension agreed).
    Rsv1,
    /// A masked frame (servers must not mask).
    MaskedFrame,
    /// A ping of 200 bytes (control frames hold at most 125).
    OversizedControl,
    /// From now on every outgoing message goes in frames of this many bytes.
    Fragment(usize),
    /// From now on outgoing bytes go this many at a time, one batch every `interval_ms`.
    Drip {
        /// Bytes per batch.
        bytes: usize,
        /// Milliseconds between batches.
        interval_ms: u64,
    },
}

impl Fault {
    /// The fault in words, for the log.
    pub fn describe(&self) -> String {
        match self {
            Fault::DelayUpgrade(ms) => format!("the 101 held for {ms} ms"),
            Fault::WrongAccept => "a wrong Sec-WebSocket-Accept".into(),
            Fault::UnofferedSubprotocol(p) => format!("subprotocol '{p}' selected, not offered"),
            Fault::Drop => "the TCP connection dropped without a close frame".into(),
            Fault::StopReading => "the server stopped reading".into(),
            Fault::PingThenDeaf => "a ping sent; the client's pings go unanswered".into(),
            Fault::BadUtf8 => "a text frame that is not UTF-8".into(),
            Fault::Rsv1 => "a frame with RSV1 set".into(),
            Fault::MaskedFrame => "a masked frame from the server".into(),
            Fault::OversizedControl => "a 200-byte ping".into(),
            Fault::Fragment(n) => format!("messages fragmented into {n}-byte frames"),
            Fault::Drip { bytes, interval_ms } => {
                format!("bytes dripped {bytes} every {interval_ms} ms")
            }
        }
    }

    /// Acts on the upgrade rather than on an open connection.
    pub fn is_upgrade(&self) -> bool {
        matches!(
            self,
            Fault::DelayUpgrade(_) | Fault::WrongAccept | Fault::UnofferedSubprotocol(_)
        )
    }
}

/// Why a rules file could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read.
    #[error("could not read {path}: {source}")]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid rules.
    #[error("{path}:{line}:{column}: {message}")]
    Parse {
        /// The file.
        path: std::path::PathBuf,
        /// Line, from 1.
        line: usize,
        /// Column, from 1.
        column: usize,
        /// What was wrong.
        message: String,
    },
    /// Written by a newer sockscope.
    #[error(
        "{path} uses rules format {found}; this sockscope reads up to {FORMAT_VERSION}: update sockscope"
    )]
    TooNew {
        /// The file.
        path: std::path::PathBuf,
        /// Its version.
        found: u32,
    },
}

impl MockRules {
    /// Parses rules text; `path` only names the file in errors.
    pub fn from_ron(text: &str, path: &Path) -> Result<Self, LoadError> {
        let rules: MockRules = ron::from_str(text).map_err(|e| LoadError::Parse {
            path: path.to_owned(),
            line: e.span.start.line,
            column: e.span.start.col,
            message: e.code.to_string(),
        })?;
        if rules.format_version > FORMAT_VERSION {
            return Err(LoadError::TooNew {
                path: path.to_owned(),
                found: rules.format_version,
            });
        }
        Ok(rules)
    }

    /// Reads a rules file.
    pub fn load(path: &Path) -> Result<Self, LoadError> {
        let text = std::fs::read_to_string(path).map_err(|source| LoadError::Io {
            path: path.to_owned(),
            source,
        })?;
        Self::from_ron(&text, path)
    }

    /// The pretty RON text of these rules.
    pub fn to_ron(&self) -> Result<String, ron::Error> {
        let mut copy = self.clone();
        copy.format_version = FORMAT_VERSION;
        let config = ron::ser::PrettyConfig::new()
            .struct_names(true)
            .indentor("  ".to_owned());
        ron::ser::to_string_pretty(&copy, config)
    }

    /// Writes the rules atomically (temporary file, then rename).
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        let text = self
            .to_ron()
            .map_err(|e| std::io::Error::other(format!("could not serialise: {e}")))?;
        crate::model::fsutil::write_atomic(path, text.as_bytes())
    }
}
