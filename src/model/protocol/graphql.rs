//! GraphQL over WebSocket, both protocols people meet:
//! - `graphql-transport-ws` (the `graphql-ws` library's PROTOCOL.md): `connection_init` / `connection_ack`,
//!   `ping` / `pong` both ways, `subscribe` / `next` / `error` / `complete` per operation id, close codes 44xx.
//! - the legacy `subscriptions-transport-ws` protocol, whose subprotocol token is `graphql-ws`:
//!   `connection_init` / `connection_ack` / `connection_error`, `ka` keep-alives from the server, `start` /
//!   `data` / `error` / `complete` / `stop`, `connection_terminate`.
//!
//! [`decode`] and [`encode`] turn one WebSocket text message into a [`Message`] and back. [`Client`] is the
//! client's automatic part as a sans-IO state machine: it sends `connection_init`, holds operations until the
//! ack, answers pings, watches the ack and keep-alive deadlines, allocates operation ids and counts each
//! operation's results. Time comes in as [`Instant`]s; messages to send come out as strings.

use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

/// Which of the two protocols.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// `graphql-transport-ws`.
    TransportWs,
    /// The legacy `subscriptions-transport-ws` (subprotocol `graphql-ws`).
    Legacy,
}

impl Dialect {
    /// The subprotocol token offered in the upgrade.
    pub fn subprotocol(self) -> &'static str {
        match self {
            Dialect::TransportWs => "graphql-transport-ws",
            Dialect::Legacy => "graphql-ws",
        }
    }
}

/// An operation to run: a query, mutation or subscription.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Operation {
    /// The GraphQL document.
    pub query: String,
    /// Variables (a JSON object), when any.
    pub variables: Option<Value>,
    /// Which operation of the document, when it has several.
    pub operation_name: Option<String>,
    /// Protocol extensions, when any.
    pub extensions: Option<Value>,
}

impl Operation {
    fn to_json(&self) -> Value {
        let mut payload = Map::new();
        payload.insert("query".into(), Value::String(self.query.clone()));
        if let Some(v) = &self.variables {
            payload.insert("variables".into(), v.clone());
        }
        if let Some(n) = &self.operation_name {
            payload.insert("operationName".into(), Value::String(n.clone()));
        }
        if let Some(e) = &self.extensions {
            payload.insert("extensions".into(), e.clone());
        }
        Value::Object(payload)
    }

    fn from_json(payload: &Value) -> Result<Self, DecodeError> {
        let query = payload
            .get("query")
            .and_then(Value::as_str)
            .ok_or_else(|| DecodeError("an operation's payload has no \"query\" string".into()))?;
        let name = match payload.get("operationName") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => {
                return Err(DecodeError(
                    "an operation's \"operationName\" must be a string".into(),
                ));
            }
        };
        let present = |key| payload.get(key).filter(|v| !v.is_null()).cloned();
        Ok(Self {
            query: query.to_owned(),
            variables: present("variables"),
            operation_name: name,
            extensions: present("extensions"),
        })
    }
}

/// One message of either protocol. Messages that exist in one protocol only say so in their docs.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// Client → server: open the GraphQL connection, with an optional payload (auth).
    ConnectionInit { payload: Option<Value> },
    /// Server → client: the connection is accepted.
    ConnectionAck { payload: Option<Value> },
    /// Legacy only, server → client: the connection is refused.
    ConnectionError { payload: Option<Value> },
    /// Legacy only, server → client: keep-alive (`ka`).
    KeepAlive,
    /// `graphql-transport-ws` only, either way: ping (answered with a pong).
    Ping { payload: Option<Value> },
    /// `graphql-transport-ws` only, either way: pong.
    Pong { payload: Option<Value> },
    /// Client → server: run an operation (`subscribe`; legacy `start`).
    Subscribe { id: String, operation: Operation },
    /// Server → client: one result (`next`; legacy `data`).
    Next { id: String, payload: Value },
    /// Server → client: the operation failed (the payload is a list of GraphQL errors, or one in legacy).
    Error { id: String, payload: Value },
    /// The operation is over: from the server in both protocols, from the client in `graphql-transport-ws`.
    Complete { id: String },
    /// Legacy only, client → server: stop an operation.
    Stop { id: String },
    /// Legacy only, client → server: end the connection.
    ConnectionTerminate,
}

impl Message {
    /// The message type as on the wire in `dialect` (the `type` field; also the NDJSON `protocol.type`).
    pub fn wire_type(&self, dialect: Dialect) -> &'static str {
        let legacy = dialect == Dialect::Legacy;
        match self {
            Message::ConnectionInit { .. } => "connection_init",
            Message::ConnectionAck { .. } => "connection_ack",
            Message::ConnectionError { .. } => "connection_error",
            Message::KeepAlive => "ka",
            Message::Ping { .. } => "ping",
            Message::Pong { .. } => "pong",
            Message::Subscribe { .. } if legacy => "start",
            Message::Subscribe { .. } => "subscribe",
            Message::Next { .. } if legacy => "data",
            Message::Next { .. } => "next",
            Message::Error { .. } => "error",
            Message::Complete { .. } => "complete",
            Message::Stop { .. } => "stop",
            Message::ConnectionTerminate => "connection_terminate",
        }
    }

    /// The operation id, for messages about one operation.
    pub fn id(&self) -> Option<&str> {
        match self {
            Message::Subscribe { id, .. }
            | Message::Next { id, .. }
            | Message::Error { id, .. }
            | Message::Complete { id }
            | Message::Stop { id } => Some(id),
            _ => None,
        }
    }

    /// Keep-alive traffic (hidden by default in the log, never counted by `--count`).
    pub fn is_keepalive(&self) -> bool {
        matches!(
            self,
            Message::KeepAlive | Message::Ping { .. } | Message::Pong { .. }
        )
    }

    /// The payload, as the log and NDJSON show it.
    pub fn payload(&self) -> Option<Value> {
        match self {
            Message::ConnectionInit { payload }
            | Message::ConnectionAck { payload }
            | Message::ConnectionError { payload }
            | Message::Ping { payload }
            | Message::Pong { payload } => payload.clone(),
            Message::Subscribe { operation, .. } => Some(operation.to_json()),
            Message::Next { payload, .. } | Message::Error { payload, .. } => Some(payload.clone()),
            Message::KeepAlive
            | Message::Complete { .. }
            | Message::Stop { .. }
            | Message::ConnectionTerminate => None,
        }
    }
}

/// Why a message could not be read, in plain words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DecodeError(pub String);

/// A message that does not exist in the chosen protocol.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} does not exist in the {protocol} protocol")]
pub struct EncodeError {
    /// The message's type.
    pub kind: &'static str,
    /// The protocol's subprotocol token.
    pub protocol: &'static str,
}

/// Reads one WebSocket text message.
pub fn decode(dialect: Dialect, text: &str) -> Result<Message, DecodeError> {
    let value: Value = serde_json::from_str(text).map_err(|e| {
        DecodeError(format!(
            "not a GraphQL over WebSocket message: invalid JSON ({e})"
        ))
    })?;
    let Value::Object(mut object) = value else {
        return Err(DecodeError(
            "not a GraphQL over WebSocket message: not a JSON object".into(),
        ));
    };
    let kind = match object.get("type") {
        Some(Value::String(t)) => t.clone(),
        _ => {
            return Err(DecodeError(
                "not a GraphQL over WebSocket message: no \"type\" string".into(),
            ));
        }
    };
    let payload = object.remove("payload").filter(|p| !p.is_null());
    let id = || match object.get("id") {
        Some(Value::String(id)) if !id.is_empty() => Ok(id.clone()),
        Some(Value::Number(n)) => Ok(n.to_string()),
        _ => Err(DecodeError(format!("a \"{kind}\" message needs an \"id\""))),
    };
    let required = |payload: Option<Value>| {
        payload.ok_or_else(|| DecodeError(format!("a \"{kind}\" message needs a \"payload\"")))
    };
    let legacy = dialect == Dialect::Legacy;
    let message = match (kind.as_str(), legacy) {
        ("connection_init", _) => Message::ConnectionInit { payload },
        ("connection_ack", _) => Message::ConnectionAck { payload },
        ("connection_error", true) => Message::ConnectionError { payload },
        ("ka", true) => Message::KeepAlive,
        ("ping", false) => Message::Ping { payload },
        ("pong", false) => Message::Pong { payload },
        ("subscribe", false) | ("start", true) => Message::Subscribe {
            id: id()?,
            operation: Operation::from_json(&required(payload)?)?,
        },
        ("next", false) | ("data", true) => Message::Next {
            id: id()?,
            payload: required(payload)?,
        },
        ("error", _) => Message::Error {
            id: id()?,
            payload: required(payload)?,
        },
        ("complete", _) => Message::Complete { id: id()? },
        ("stop", true) => Message::Stop { id: id()? },
        ("connection_terminate", true) => Message::ConnectionTerminate,
        (other, _) => {
            return Err(DecodeError(format!(
                "\"{other}\" is not a message type of the {} protocol",
                dialect.subprotocol()
            )));
        }
    };
    Ok(message)
}

/// Writes one message as a WebSocket text message.
pub fn encode(dialect: Dialect, message: &Message) -> Result<String, EncodeError> {
    let legacy = dialect == Dialect::Legacy;
    let exists = match message {
        Message::ConnectionError { .. }
        | Message::KeepAlive
        | Message::Stop { .. }
        | Message::ConnectionTerminate => legacy,
        Message::Ping { .. } | Message::Pong { .. } => !legacy,
        _ => true,
    };
    if !exists {
        return Err(EncodeError {
            kind: message.wire_type(dialect),
            protocol: dialect.subprotocol(),
        });
    }
    let mut object = Map::new();
    if let Some(id) = message.id() {
        object.insert("id".into(), Value::String(id.to_owned()));
    }
    object.insert("type".into(), json!(message.wire_type(dialect)));
    if let Some(payload) = message.payload() {
        object.insert("payload".into(), payload);
    }
    Ok(Value::Object(object).to_string())
}

/// What a close code from a GraphQL server means (the `graphql-ws` library's close codes), for the error shown.
pub fn close_code_meaning(code: u16) -> Option<&'static str> {
    Some(match code {
        4400 => "bad request: the server found a message invalid",
        4401 => "unauthorized: an operation was sent before the connection was acknowledged",
        4403 => "forbidden: the server refused the connection_init payload",
        4406 => "subprotocol not acceptable",
        4408 => "connection initialisation timeout: no connection_init in time",
        4409 => "a subscriber with this operation id already exists",
        4429 => "too many initialisation requests",
        4499 => "terminated",
        4500 => "internal server error",
        4504 => "connection acknowledgement timeout",
        _ => return None,
    })
}

/// How long the client waits for `connection_ack` unless told otherwise.
pub const DEFAULT_ACK_TIMEOUT: Duration = Duration::from_secs(10);
/// Operations the client holds until the ack, at most (more are refused, never queued without bound).
pub const MAX_WAITING_OPERATIONS: usize = 1024;

/// The client's side of the connection, as far as it is automatic.
#[derive(Debug)]
pub struct Client {
    dialect: Dialect,
    state: State,
    ack_timeout: Duration,
    /// Legacy: the connection is dead when no `ka` came for this long (after the first one).
    keepalive_timeout: Option<Duration>,
    last_keepalive: Option<Instant>,
    next_id: u64,
    waiting: VecDeque<(String, Operation)>,
    operations: BTreeMap<String, OperationState>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Idle,
    AwaitingAck { since: Instant },
    Ready,
    Failed,
}

/// What the client knows about one operation.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OperationState {
    /// Results (`next` / `data`) received.
    pub results: u64,
    /// It completed, failed or was stopped.
    pub done: bool,
}

/// What the client wants done after an input.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// Send this text message.
    Send(String),
    /// The connection was acknowledged: queued operations went out.
    Acknowledged,
    /// Something failed, in plain words (stage `protocol`): no ack in time, refused, keep-alives stopped, a
    /// message that cannot be read.
    Failed(String),
}

impl Client {
    /// A client for `dialect`, waiting for `ack_timeout` for the ack and, for the legacy protocol, marking the
    /// connection dead after `keepalive_timeout` without a `ka`.
    pub fn new(
        dialect: Dialect,
        ack_timeout: Duration,
        keepalive_timeout: Option<Duration>,
    ) -> Self {
        Self {
            dialect,
            state: State::Idle,
            ack_timeout,
            keepalive_timeout,
            last_keepalive: None,
            next_id: 1,
            waiting: VecDeque::new(),
            operations: BTreeMap::new(),
        }
    }

    /// The protocol this client speaks.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// Whether `connection_ack` came.
    pub fn is_ready(&self) -> bool {
        self.state == State::Ready
    }

    /// Whether the connection failed (refused, no ack in time, keep-alives stopped).
    pub fn is_failed(&self) -> bool {
        self.state == State::Failed
    }

    /// The operations so far, by id.
    pub fn operations(&self) -> &BTreeMap<String, OperationState> {
        &self.operations
    }

    /// The WebSocket opened: send `connection_init` with `payload`.
    pub fn start(&mut self, now: Instant, payload: Option<Value>) -> Vec<Output> {
        self.state = State::AwaitingAck { since: now };
        self.send(&Message::ConnectionInit { payload })
    }

    /// Runs `operation` under `id` (or the next free number): sent at once when acknowledged, else held.
    pub fn subscribe(&mut self, operation: Operation, id: Option<String>) -> (String, Vec<Output>) {
        let id = id.unwrap_or_else(|| self.allocate_id());
        if self.operations.get(&id).is_some_and(|op| !op.done) {
            let why = format!("operation id {id} is already running: pick another id");
            return (id, vec![Output::Failed(why)]);
        }
        self.operations
            .insert(id.clone(), OperationState::default());
        if self.state == State::Ready {
            let message = Message::Subscribe {
                id: id.clone(),
                operation,
            };
            return (id, self.send(&message));
        }
        if self.waiting.len() >= MAX_WAITING_OPERATIONS {
            self.operations.remove(&id);
            let why = format!(
                "{MAX_WAITING_OPERATIONS} operations already wait for connection_ack: not queued"
            );
            return (id, vec![Output::Failed(why)]);
        }
        self.waiting.push_back((id.clone(), operation));
        (id, Vec::new())
    }

    /// Stops operation `id` (`complete` in `graphql-transport-ws`, `stop` in the legacy protocol).
    pub fn stop(&mut self, id: &str) -> Vec<Output> {
        if let Some(pos) = self.waiting.iter().position(|(w, _)| w == id) {
            self.waiting.remove(pos);
        }
        let Some(op) = self.operations.get_mut(id) else {
            return vec![Output::Failed(format!("no operation with id {id}"))];
        };
        if op.done {
            return Vec::new();
        }
        op.done = true;
        let message = match self.dialect {
            Dialect::TransportWs => Message::Complete { id: id.to_owned() },
            Dialect::Legacy => Message::Stop { id: id.to_owned() },
        };
        self.send(&message)
    }

    /// A text message arrived: returns the decoded message (for the log) and what to do.
    pub fn on_text(
        &mut self,
        now: Instant,
        text: &str,
    ) -> (Result<Message, DecodeError>, Vec<Output>) {
        let message = match decode(self.dialect, text) {
            Ok(m) => m,
            Err(e) => {
                let out = vec![Output::Failed(format!("the server sent {e}"))];
                return (Err(e), out);
            }
        };
        let out = self.on_message(now, &message);
        (Ok(message), out)
    }

    fn on_message(&mut self, now: Instant, message: &Message) -> Vec<Output> {
        match message {
            Message::ConnectionAck { .. } => {
                if self.state == State::Ready {
                    return Vec::new();
                }
                self.state = State::Ready;
                let mut out = vec![Output::Acknowledged];
                while let Some((id, operation)) = self.waiting.pop_front() {
                    out.extend(self.send(&Message::Subscribe { id, operation }));
                }
                out
            }
            Message::ConnectionError { payload } => {
                self.state = State::Failed;
                let detail = payload
                    .as_ref()
                    .map(|p| format!(": {p}"))
                    .unwrap_or_default();
                vec![Output::Failed(format!(
                    "the server refused the connection (connection_error){detail}"
                ))]
            }
            Message::KeepAlive => {
                self.last_keepalive = Some(now);
                Vec::new()
            }
            Message::Ping { payload } => self.send(&Message::Pong {
                payload: payload.clone(),
            }),
            Message::Next { id, .. } => {
                if let Some(op) = self.operations.get_mut(id) {
                    op.results += 1;
                }
                Vec::new()
            }
            Message::Error { id, .. } | Message::Complete { id } => {
                if let Some(op) = self.operations.get_mut(id) {
                    op.done = true;
                }
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    /// When [`Client::on_time`] next has something to check.
    pub fn next_deadline(&self) -> Option<Instant> {
        match self.state {
            State::AwaitingAck { since } => since.checked_add(self.ack_timeout),
            State::Ready => self
                .last_keepalive
                .zip(self.keepalive_timeout)
                .and_then(|(last, limit)| last.checked_add(limit)),
            State::Idle | State::Failed => None,
        }
    }

    /// Time passed: the ack or the keep-alives may be overdue.
    pub fn on_time(&mut self, now: Instant) -> Vec<Output> {
        let Some(deadline) = self.next_deadline() else {
            return Vec::new();
        };
        if now < deadline {
            return Vec::new();
        }
        let why = match self.state {
            State::AwaitingAck { .. } => format!(
                "no connection_ack within {} ms of connection_init",
                self.ack_timeout.as_millis()
            ),
            _ => format!(
                "no keep-alive (ka) from the server for {} ms: the connection looks dead",
                self.keepalive_timeout.unwrap_or_default().as_millis()
            ),
        };
        self.state = State::Failed;
        vec![Output::Failed(why)]
    }

    fn allocate_id(&mut self) -> String {
        loop {
            let id = self.next_id.to_string();
            self.next_id = self.next_id.saturating_add(1);
            if !self.operations.contains_key(&id) {
                return id;
            }
        }
    }

    fn send(&self, message: &Message) -> Vec<Output> {
        match encode(self.dialect, message) {
            Ok(text) => vec![Output::Send(text)],
            Err(e) => vec![Output::Failed(e.to_string())],
        }
    }
}

pub mod lens;

#[cfg(test)]
mod tests;
