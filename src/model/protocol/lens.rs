//! The one interface between a protocol and the connection that runs it: a [`Lens`] decodes every WebSocket
//! message of a connection into its protocol's terms and, when its automatic part is on, runs the protocol's
//! handshake and keep-alive. It is sans-IO like the codecs under it: messages and instants in, [`Output`]s out.
//!
//! The engine's connection task knows only this trait: it feeds the lens every received data message (from the
//! reader) and the user's `Emit` commands, calls [`Lens::on_time`] at [`Lens::next_deadline`], writes what the lens
//! asks to send and holds the user's messages until [`Output::Ready`]. A new protocol is a new module with a type
//! that implements [`Lens`], and one arm in [`for_protocol`].

use super::Protocol;
use super::engineio::WsData;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::time::Instant;

/// How a decoded message counts: what the log hides by default, what `--count` counts, what text output prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Class {
    /// An application message: an event, an ack, a result (`next` / `data`), an error or completion of an
    /// operation. Counted by `--count`, printed in text output.
    Application,
    /// Keep-alive traffic (Engine.IO ping / pong / noop, GraphQL ping / pong / `ka`): always logged, hidden by
    /// default behind one filter toggle, never counted.
    KeepAlive,
    /// The protocol's handshake and session control (open, connect, connection_init / ack, close).
    Control,
    /// One WebSocket message of a protocol message that spans several (a Socket.IO binary packet before its last
    /// attachment): the decoded message is on the row of its last part.
    Part,
    /// Not a message of the protocol (it could not be read); `value` says why.
    Invalid,
}

/// One WebSocket message read in its protocol's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    /// The `protocol` object of NDJSON (`{"name":…,"type":…,…}`): the decoded form, with bytes as `{"base64":…}`.
    pub value: Value,
    /// How it counts.
    pub class: Class,
    /// The protocol messages after this one in the same WebSocket message (several MQTT packets, STOMP frames
    /// or SignalR records in one message): each is its own `message` event with `"part":[i,n]`.
    pub more: Vec<Decoded>,
}

impl Decoded {
    /// A decoded message of protocol `name` with these fields after `name`.
    pub fn new(name: &str, class: Class, fields: Map<String, Value>) -> Self {
        let mut value = Map::with_capacity(fields.len() + 1);
        value.insert("name".into(), Value::String(name.to_owned()));
        value.extend(fields);
        Self {
            value: Value::Object(value),
            class,
            more: Vec::new(),
        }
    }

    /// One WebSocket message carrying `parts` (at least one): the first, with the others in `more`.
    pub fn joined(mut parts: Vec<Decoded>) -> Option<Self> {
        if parts.is_empty() {
            return None;
        }
        let rest = parts.split_off(1);
        let mut first = parts.pop()?;
        first.more = rest;
        Some(first)
    }

    /// Every protocol message of the WebSocket message, in order (this one first).
    pub fn parts(&self) -> impl Iterator<Item = &Decoded> {
        std::iter::once(self).chain(self.more.iter())
    }

    /// How many protocol messages the WebSocket message carried.
    pub fn part_count(&self) -> usize {
        1 + self.more.len()
    }

    /// Whether any part is an application message (what `--count` counts and the filter keeps).
    pub fn has_application(&self) -> bool {
        self.parts().any(|p| p.class == Class::Application)
    }

    /// The application messages among the parts.
    pub fn application_count(&self) -> u64 {
        self.parts()
            .filter(|p| p.class == Class::Application)
            .count() as u64
    }

    /// Every part's summary, joined (one row of the log shows one WebSocket message).
    pub fn summary_all(&self) -> String {
        if self.more.is_empty() {
            return self.summary();
        }
        let parts: Vec<String> = self.parts().map(Decoded::summary).collect();
        format!("[{}] {}", parts.len(), parts.join(" · "))
    }

    /// A message of protocol `name` it could not read: `{"type":"invalid","error":why}`.
    pub fn invalid(name: &str, why: &str) -> Self {
        let mut fields = Map::new();
        fields.insert("type".into(), Value::String("invalid".into()));
        fields.insert("error".into(), Value::String(why.to_owned()));
        Self::new(name, Class::Invalid, fields)
    }

    /// A WebSocket message that completed no protocol message: `buffered` bytes wait for the rest.
    pub fn partial(name: &str, buffered: usize) -> Self {
        let mut fields = Map::new();
        fields.insert("type".into(), Value::String("partial".into()));
        fields.insert("buffered".into(), Value::from(buffered));
        Self::new(name, Class::Part, fields)
    }

    /// A field of the decoded object.
    pub fn field(&self, key: &str) -> Option<&Value> {
        self.value.get(key)
    }

    fn str_field(&self, key: &str) -> Option<&str> {
        self.field(key).and_then(Value::as_str)
    }

    /// The message type (`event`, `ack`, `next`, `ping`, …).
    pub fn kind(&self) -> &str {
        self.str_field("type").unwrap_or("?")
    }

    /// The event name or the operation's name (GraphQL: `operationName`, else the first field of the query).
    pub fn subject(&self) -> Option<String> {
        if let Some(event) = self.str_field("event") {
            return Some(event.to_owned());
        }
        // MQTT's topic, SignalR's hub method, Phoenix's topic, STOMP's destination, Action Cable's channel.
        if let Some(name) = self.str_field("topic").or_else(|| self.str_field("target")) {
            return Some(name.to_owned());
        }
        let nested = |outer: &str, inner: &str| {
            self.field(outer)
                .and_then(|o| o.get(inner))
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        if let Some(name) =
            nested("headers", "destination").or_else(|| nested("identifier", "channel"))
        {
            return Some(name);
        }
        let payload = self.field("payload")?;
        if let Some(name) = payload.get("operationName").and_then(Value::as_str) {
            return Some(name.to_owned());
        }
        payload
            .get("query")
            .and_then(Value::as_str)
            .map(operation_summary)
    }

    /// The namespace (Socket.IO).
    pub fn namespace(&self) -> Option<&str> {
        self.str_field("namespace")
    }

    /// The ack id (Socket.IO) or the operation id (GraphQL).
    pub fn id(&self) -> Option<String> {
        // STOMP: a frame's receipt, and the RECEIPT that answers it (a MESSAGE may carry the SEND's receipt
        // header along: that is not its id).
        let receipt = self.field("headers").and_then(|h| {
            h.get("receipt-id")
                .or_else(|| h.get("receipt").filter(|_| self.kind() != "MESSAGE"))
        });
        let id = ["ack_id", "id", "packet_id", "invocation_id", "ref"]
            .into_iter()
            .find_map(|key| self.field(key).filter(|v| !v.is_null()))
            .or(receipt.filter(|v| !v.is_null()))?;
        match id {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }

    /// The message's values, in the order they are shown: an event's or ack's args, a payload, data, an error.
    pub fn values(&self) -> impl Iterator<Item = &Value> {
        [
            "args", "payload", "data", "body", "item", "result", "message", "error",
        ]
        .into_iter()
        .filter_map(|key| self.field(key).filter(|v| !v.is_null()))
    }

    /// The message as one line in protocol terms: `event echo ["hi"]`, `ack 3 [3] (2.1 ms)`, `next 1 {"data":…}`.
    pub fn summary(&self) -> String {
        let mut line = self.kind().to_owned();
        if let Some(ns) = self.namespace().filter(|ns| *ns != "/") {
            line.push(' ');
            line.push_str(ns);
        }
        if let Some(event) = self.str_field("event") {
            line.push(' ');
            line.push_str(event);
        }
        let destination = self
            .field("headers")
            .and_then(|h| h.get("destination"))
            .and_then(Value::as_str);
        for name in [
            self.str_field("topic"),
            self.str_field("target"),
            destination,
        ]
        .into_iter()
        .flatten()
        {
            line.push(' ');
            line.push_str(name);
        }
        if let Some(id) = self.id() {
            line.push(' ');
            line.push_str(&id);
        }
        for v in self.values() {
            line.push(' ');
            line.push_str(&v.to_string());
        }
        if let Some(rtt) = self.field("rtt_ms").and_then(Value::as_f64) {
            line.push_str(&format!(" ({rtt} ms)"));
        }
        line
    }
}

/// `subscription { countdown(from: 3) }` → `subscription countdown`: enough to tell operations apart in a column.
fn operation_summary(query: &str) -> String {
    let words: Vec<&str> = query
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .take(3)
        .collect();
    match words.as_slice() {
        [kind @ ("query" | "mutation" | "subscription"), name, ..] => format!("{kind} {name}"),
        [first, ..] => (*first).to_owned(),
        [] => String::new(),
    }
}

/// What to do with the connection after a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Then {
    /// Nothing: the failure concerns one namespace, operation or message.
    Continue,
    /// Close the connection (normal closure): the endpoint cannot be used this way.
    Close,
    /// Drop the connection without a close handshake: the server has gone silent.
    Drop,
}

/// A protocol failure, in plain words (reported as an error at stage `protocol`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// What failed and why.
    pub message: String,
    /// The protocol's own handshake never completed (no Engine.IO open packet, no `connection_ack`): the endpoint
    /// could not be used at all (`connect` exits 3).
    pub handshake: bool,
    /// What the connection does next.
    pub then: Then,
}

/// What a lens wants done after an input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Send this WebSocket message, logged with its decoded form (`automatic` for handshake and keep-alive
    /// replies the lens sent by itself).
    Send {
        message: WsData,
        decoded: Decoded,
        automatic: bool,
    },
    /// The protocol's handshake completed: the user's messages may go out.
    Ready,
    /// Something failed.
    Failed(Failure),
}

impl Output {
    /// A failure; one that ends the connection (`then` other than continue) also sets `ended`, so the lens's
    /// automatic part stops.
    pub fn ending(ended: &mut bool, message: String, handshake: bool, then: Then) -> Self {
        if then != Then::Continue {
            *ended = true;
        }
        Output::Failed(Failure {
            message,
            handshake,
            then,
        })
    }

    /// A failure that leaves the connection as it is.
    pub fn failed(message: impl Into<String>) -> Self {
        Output::Failed(Failure {
            message: message.into(),
            handshake: false,
            then: Then::Continue,
        })
    }
}

/// Something open on a connection, for the panel that lists them: a namespace or an operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenItem {
    /// `namespace` or `subscription`.
    pub kind: &'static str,
    /// The namespace or the operation id.
    pub key: String,
    /// A word on its state (`connected`, `connecting`, `refused: …`, `running`, `waiting for ack`).
    pub state: String,
    /// Application messages received on it.
    pub received: u64,
    /// The emit that closes it (`{"disconnect":"/admin"}`, `{"complete":"1"}`), when it can be closed.
    pub close: Option<Value>,
}

/// A protocol's client as the connection runs it.
pub trait Lens: Send {
    /// The protocol version spoken (`"4"` for Socket.IO over Engine.IO 4, `"5"` for Socket.IO 3/4 … see each).
    fn version(&self) -> String;

    /// The WebSocket opened: the automatic part starts its handshake.
    fn start(&mut self, now: Instant) -> Vec<Output>;

    /// A data message arrived: its decoded form (for the log) and what to do.
    fn on_message(&mut self, now: Instant, message: WsData) -> (Decoded, Vec<Output>);

    /// The user sent a protocol message (the `--emit` JSON): what to send, now or once possible.
    fn emit(&mut self, now: Instant, emit: &Value) -> Vec<Output>;

    /// A data message the user typed by hand, read for the log (no state changes).
    fn describe_sent(&self, message: &WsData) -> Decoded;

    /// When [`Lens::on_time`] next has something to do.
    fn next_deadline(&self) -> Option<Instant>;

    /// Time passed.
    fn on_time(&mut self, now: Instant) -> Vec<Output>;

    /// Whether the protocol's own handshake completed (Socket.IO: the open packet came; GraphQL: the ack).
    fn handshake_done(&self) -> bool;

    /// What is open now (namespaces, operations), for the GUI's panel.
    fn open_items(&self) -> Vec<OpenItem>;

    /// What a close code from the server means in this protocol, if it has a meaning here.
    fn close_meaning(&self, _code: u16) -> Option<String> {
        None
    }
}

/// Options of a protocol (`--protocol-option KEY=VALUE`), by key.
pub type Options = BTreeMap<String, String>;

/// The option keys each protocol understands.
pub fn option_keys(protocol: Protocol) -> &'static [&'static str] {
    match protocol {
        Protocol::SocketIo => super::socketio::options::OPTION_KEYS,
        Protocol::GraphqlTransportWs | Protocol::GraphqlWs => super::graphql::lens::OPTION_KEYS,
        Protocol::Stomp => super::stomp::lens::OPTION_KEYS,
        Protocol::Mqtt => super::mqtt::lens::OPTION_KEYS,
        Protocol::SignalR => super::signalr::lens::OPTION_KEYS,
        Protocol::Phoenix => super::phoenix::OPTION_KEYS,
        Protocol::ActionCable => &[],
        Protocol::Raw | Protocol::Auto => &[],
    }
}

/// Checks options for `protocol` (unknown keys, values that cannot be read), in words.
pub fn check_options(protocol: Protocol, options: &Options) -> Result<(), String> {
    let keys = option_keys(protocol);
    for key in options.keys() {
        if !keys.contains(&key.as_str()) && protocol != Protocol::Auto {
            let known = if keys.is_empty() {
                format!("the {protocol} protocol takes no options")
            } else {
                format!("{protocol} options are {}", keys.join(", "))
            };
            return Err(format!("unknown protocol option '{key}': {known}"));
        }
    }
    match protocol {
        Protocol::SocketIo => super::socketio::options::Settings::from_options(options).map(drop),
        Protocol::GraphqlTransportWs | Protocol::GraphqlWs => {
            super::graphql::lens::Settings::from_options(options).map(drop)
        }
        Protocol::Stomp => super::stomp::lens::Settings::from_options(options).map(drop),
        Protocol::Mqtt => super::mqtt::lens::Settings::from_options(options).map(drop),
        Protocol::SignalR => super::signalr::lens::Settings::from_options(options).map(drop),
        Protocol::Phoenix => super::phoenix::Settings::from_options(options).map(drop),
        Protocol::ActionCable | Protocol::Raw | Protocol::Auto => Ok(()),
    }
}

/// Checks an `--emit` JSON for `protocol` before anything connects.
pub fn check_emit(protocol: Protocol, emit: &Value) -> Result<(), String> {
    match protocol {
        Protocol::SocketIo => super::socketio::options::Emit::parse(emit).map(drop),
        Protocol::GraphqlTransportWs | Protocol::GraphqlWs => {
            super::graphql::lens::Emit::parse(emit).map(drop)
        }
        Protocol::Stomp => super::stomp::lens::parse_emit(emit).map(drop),
        Protocol::Mqtt => super::mqtt::lens::Emit::parse(emit).map(drop),
        Protocol::SignalR => super::signalr::lens::Emit::parse(emit).map(drop),
        Protocol::Phoenix => super::phoenix::parse_emit(emit).map(drop),
        Protocol::ActionCable => super::actioncable::Emit::parse(emit).map(drop),
        Protocol::Auto => Ok(()),
        Protocol::Raw => Err("--emit needs a protocol (--protocol socket.io, …)".into()),
    }
}

/// The lens for `protocol` (`None` for raw and auto), with its automatic part on or off. `url` is the URL
/// connected to (Socket.IO reads `EIO=` from it).
pub fn for_protocol(
    protocol: Protocol,
    options: &Options,
    automatic: bool,
    url: &str,
) -> Result<Option<Box<dyn Lens>>, String> {
    Ok(match protocol {
        Protocol::SocketIo => {
            let settings = super::socketio::options::Settings::from_options(options)?;
            Some(Box::new(super::socketio::client::Client::new(
                settings.for_url(url),
                automatic,
            )))
        }
        Protocol::GraphqlTransportWs | Protocol::GraphqlWs => {
            let settings = super::graphql::lens::Settings::from_options(options)?;
            Some(Box::new(super::graphql::lens::GraphqlLens::new(
                protocol, settings, automatic,
            )))
        }
        Protocol::Stomp => Some(Box::new(super::stomp::lens::StompLens::new(
            super::stomp::lens::Settings::from_options(options)?,
            automatic,
        ))),
        Protocol::Mqtt => Some(Box::new(super::mqtt::lens::MqttLens::new(
            super::mqtt::lens::Settings::from_options(options)?,
            automatic,
        ))),
        Protocol::SignalR => Some(Box::new(super::signalr::lens::SignalrLens::new(
            super::signalr::lens::Settings::from_options(options)?,
            automatic,
        ))),
        Protocol::Phoenix => Some(Box::new(super::phoenix::PhoenixLens::new(
            super::phoenix::Settings::from_options(options)?.for_url(url),
            automatic,
        ))),
        Protocol::ActionCable => Some(Box::new(super::actioncable::ActionCableLens::new(
            automatic,
        ))),
        Protocol::Raw | Protocol::Auto => None,
    })
}

/// The URL to connect to for `protocol`: Socket.IO builds `/socket.io/?EIO=4&transport=websocket` on the
/// host typed (keeping a path that is already a Socket.IO path, and the query's own `EIO=`).
pub fn connect_url(protocol: Protocol, options: &Options, url: &str) -> Result<String, String> {
    match protocol {
        Protocol::SocketIo => {
            let settings = super::socketio::options::Settings::from_options(options)?;
            Ok(super::socketio::options::build_url(url, &settings))
        }
        Protocol::Phoenix => Ok(super::phoenix::Settings::from_options(options)?.url(url)),
        _ => Ok(url.to_owned()),
    }
}

/// Bytes as JSON: `{"base64":"…"}`, the one convention for bytes inside decoded values.
pub fn bytes_value(bytes: &[u8]) -> Value {
    use base64::Engine as _;
    let mut object = Map::new();
    object.insert(
        "base64".into(),
        Value::String(base64::engine::general_purpose::STANDARD.encode(bytes)),
    );
    Value::Object(object)
}

/// The bytes of a `{"base64":"…"}` value (that one key), the form [`bytes_value`] writes; `None` otherwise.
pub fn value_bytes(value: &Value) -> Option<Vec<u8>> {
    use base64::Engine as _;
    let object = value.as_object().filter(|o| o.len() == 1)?;
    let text = object.get("base64")?.as_str()?;
    super::engineio::LENIENT_BASE64.decode(text.trim()).ok()
}

/// A JSON option value (`auth={"token":"x"}`), or why it is not one.
pub(super) fn json_option(options: &Options, key: &str) -> Result<Option<Value>, String> {
    options
        .get(key)
        .map(|text| {
            serde_json::from_str(text)
                .map_err(|e| format!("protocol option {key} is not valid JSON ({e}): {text}"))
        })
        .transpose()
}

/// A true / false option value (also 1 / 0, yes / no), `default` when unset.
pub(super) fn bool_option(options: &Options, key: &str, default: bool) -> Result<bool, String> {
    match options.get(key).map(|v| v.trim().to_ascii_lowercase()) {
        None => Ok(default),
        Some(v) if v == "true" || v == "1" || v == "yes" => Ok(true),
        Some(v) if v == "false" || v == "0" || v == "no" => Ok(false),
        Some(v) => Err(format!(
            "protocol option {key} must be true or false, not '{v}'"
        )),
    }
}

/// The time from `since` to `now` for `rtt_ms`, in milliseconds to a tenth.
pub(super) fn rtt_ms(since: Instant, now: Instant) -> Value {
    let ms = now.saturating_duration_since(since).as_secs_f64() * 1000.0;
    Value::from((ms * 10.0).round() / 10.0)
}

/// A millisecond option value (`ack_timeout_ms=5000`), or why it is not one.
pub(super) fn millis_option(options: &Options, key: &str) -> Result<Option<u64>, String> {
    options
        .get(key)
        .map(|text| {
            text.trim().parse::<u64>().map_err(|_| {
                format!(
                    "protocol option {key} must be a whole number of milliseconds, not '{text}'"
                )
            })
        })
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn decoded(value: Value) -> Decoded {
        Decoded {
            value,
            class: Class::Application,
            more: Vec::new(),
        }
    }

    #[test]
    fn summaries_read_in_protocol_terms() {
        let event = decoded(
            json!({"name":"socket.io","layer":"socket.io","type":"event",
            "namespace":"/","event":"echo","args":["hi"]}),
        );
        assert_eq!(event.summary(), r#"event echo ["hi"]"#);
        let ack = decoded(
            json!({"name":"socket.io","type":"ack","namespace":"/admin","ack_id":3,
            "args":[3],"rtt_ms":2.1}),
        );
        assert_eq!(ack.summary(), "ack /admin 3 [3] (2.1 ms)");
        assert_eq!(ack.id().as_deref(), Some("3"));
        let next = decoded(json!({"name":"graphql-transport-ws","type":"next","id":"1",
            "payload":{"data":{"n":1}}}));
        assert_eq!(next.summary(), r#"next 1 {"data":{"n":1}}"#);
    }

    #[test]
    fn an_operation_is_named_by_its_operation_name_or_first_field() {
        let sub = decoded(json!({"type":"subscribe","id":"1",
            "payload":{"query":"subscription { countdown(from: 3) }"}}));
        assert_eq!(sub.subject().as_deref(), Some("subscription countdown"));
        let named = decoded(json!({"type":"subscribe","id":"1",
            "payload":{"query":"query Q { a }","operationName":"Q"}}));
        assert_eq!(named.subject().as_deref(), Some("Q"));
        assert_eq!(operation_summary("{ hello }"), "hello");
        let publish = decoded(json!({"type":"publish","topic":"a/b","payload":"x"}));
        assert_eq!(publish.subject().as_deref(), Some("a/b"));
        let message = decoded(json!({"type":"MESSAGE","headers":{"destination":"/q"}}));
        assert_eq!(message.subject().as_deref(), Some("/q"));
        // What answers a step: a STOMP receipt, a Phoenix ref.
        let asked =
            decoded(json!({"type":"SUBSCRIBE","headers":{"destination":"/q","receipt":"r1"}}));
        let answer = decoded(json!({"type":"RECEIPT","headers":{"receipt-id":"r1"}}));
        assert_eq!(
            (asked.id(), answer.id()),
            (Some("r1".into()), Some("r1".into()))
        );
        let carried =
            decoded(json!({"type":"MESSAGE","headers":{"destination":"/q","receipt":"r1"}}));
        assert_eq!(carried.id(), None);
        let push = decoded(json!({"type":"new_msg","topic":"t","ref":"4","join_ref":"1"}));
        assert_eq!(push.id().as_deref(), Some("4"));
        let cable = decoded(json!({"type":"message","identifier":{"channel":"Chat"}}));
        assert_eq!(cable.subject().as_deref(), Some("Chat"));
    }

    #[test]
    fn options_and_emits_are_checked_in_words() {
        let mut options = Options::new();
        options.insert("eio".into(), "5".into());
        let err = check_options(Protocol::SocketIo, &options).expect_err("eio 5");
        assert!(err.contains("eio"), "{err}");
        options.clear();
        options.insert("colour".into(), "red".into());
        let err = check_options(Protocol::GraphqlWs, &options).expect_err("unknown key");
        assert!(err.contains("unknown protocol option 'colour'"), "{err}");
        assert!(check_emit(Protocol::Raw, &json!({"event":"x"})).is_err());
        assert!(check_emit(Protocol::SocketIo, &json!({"args":[]})).is_err());
        assert!(check_emit(Protocol::SocketIo, &json!({"event":"x"})).is_ok());
        assert!(check_emit(Protocol::GraphqlTransportWs, &json!({"subscribe":"{ a }"})).is_ok());
        assert!(check_emit(Protocol::GraphqlTransportWs, &json!({"event":"x"})).is_err());
    }
}
