//! GraphQL over WebSocket (both protocols) as a [`Lens`]: [`super::Client`] runs the automatic part; this adds the
//! options, the `--emit` forms and the decoded view of every message.

use super::{Client, DEFAULT_ACK_TIMEOUT, Dialect, Message, Operation, Output as ClientOutput};
use crate::model::protocol::Protocol;
use crate::model::protocol::engineio::WsData;
use crate::model::protocol::lens::{
    Class, Decoded, Failure, Lens, OpenItem, Options, Output, Then, json_option, millis_option,
};
use serde_json::{Map, Value, json};
use std::time::{Duration, Instant};

/// The `--protocol-option` keys GraphQL reads.
pub const OPTION_KEYS: &[&str] = &["init", "ack_timeout_ms", "keepalive_timeout_ms"];

/// Legacy protocol: no `ka` for this long (after the first) marks the connection dead, unless told otherwise
/// (subscriptions-transport-ws's own client waits 30 s).
pub const DEFAULT_KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(30);

/// What the user chose for GraphQL.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// The `connection_init` payload (`init=JSON`).
    pub init: Option<Value>,
    /// How long to wait for `connection_ack`.
    pub ack_timeout: Duration,
    /// Legacy: how long without `ka` marks the connection dead.
    pub keepalive_timeout: Duration,
}

impl Settings {
    /// The settings named by `--protocol-option`s.
    pub fn from_options(options: &Options) -> Result<Self, String> {
        let init = json_option(options, "init")?;
        if init.as_ref().is_some_and(|i| !i.is_object()) {
            return Err(
                "protocol option init must be a JSON object, e.g. init={\"token\":\"…\"}".into(),
            );
        }
        Ok(Self {
            init,
            ack_timeout: millis_option(options, "ack_timeout_ms")?
                .map_or(DEFAULT_ACK_TIMEOUT, Duration::from_millis),
            keepalive_timeout: millis_option(options, "keepalive_timeout_ms")?
                .map_or(DEFAULT_KEEPALIVE_TIMEOUT, Duration::from_millis),
        })
    }
}

/// One `--emit` for GraphQL.
#[derive(Debug, Clone, PartialEq)]
pub enum Emit {
    /// `{"subscribe":"subscription { … }","variables":{…},"operationName":"…","id":"1"}` (a query or mutation is
    /// a subscribe whose single `next` is its result).
    Subscribe {
        operation: Operation,
        id: Option<String>,
    },
    /// `{"complete":"1"}`: stops an operation.
    Complete { id: String },
}

impl Emit {
    /// Reads an `--emit` JSON, or says what is wrong with it.
    pub fn parse(value: &Value) -> Result<Self, String> {
        let Some(object) = value.as_object() else {
            return Err(
                "a GraphQL emit is a JSON object like {\"subscribe\":\"{ hello }\"} or {\"complete\":\"1\"}"
                    .into(),
            );
        };
        const KEYS: [&str; 6] = [
            "subscribe",
            "variables",
            "operationName",
            "extensions",
            "id",
            "complete",
        ];
        if let Some(key) = object.keys().find(|k| !KEYS.contains(&k.as_str())) {
            return Err(format!(
                "a GraphQL emit has no field '{key}' (fields: subscribe, variables, operationName, extensions, id; or complete)"
            ));
        }
        let id = |key: &str| -> Result<Option<String>, String> {
            match object.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) if !s.is_empty() => Ok(Some(s.clone())),
                Some(Value::Number(n)) => Ok(Some(n.to_string())),
                Some(_) => Err(format!("a GraphQL emit's '{key}' must be an id string")),
            }
        };
        if let Some(id) = id("complete")? {
            return Ok(Emit::Complete { id });
        }
        let query = match object.get("subscribe") {
            Some(Value::String(q)) if !q.trim().is_empty() => q.clone(),
            Some(_) => {
                return Err("a GraphQL emit's 'subscribe' must be the operation's text".into());
            }
            None => {
                return Err(
                    "a GraphQL emit needs \"subscribe\" (the operation) or \"complete\" (an id)"
                        .into(),
                );
            }
        };
        let variables = match object.get("variables") {
            None | Some(Value::Null) => None,
            Some(v @ Value::Object(_)) => Some(v.clone()),
            Some(_) => return Err("a GraphQL emit's 'variables' must be a JSON object".into()),
        };
        let operation_name = match object.get("operationName") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => return Err("a GraphQL emit's 'operationName' must be a string".into()),
        };
        Ok(Emit::Subscribe {
            operation: Operation {
                query,
                variables,
                operation_name,
                extensions: object.get("extensions").filter(|e| !e.is_null()).cloned(),
            },
            id: id("id")?,
        })
    }
}

/// GraphQL over WebSocket on one connection.
#[derive(Debug)]
pub struct GraphqlLens {
    protocol: Protocol,
    client: Client,
    settings: Settings,
    automatic: bool,
    /// Ids handed out with the automatic part off.
    next_id: u64,
}

impl GraphqlLens {
    /// A lens for `protocol` (one of the two GraphQL protocols); with `automatic` off it only decodes.
    pub fn new(protocol: Protocol, settings: Settings, automatic: bool) -> Self {
        let dialect = if protocol == Protocol::GraphqlWs {
            Dialect::Legacy
        } else {
            Dialect::TransportWs
        };
        let keepalive = (dialect == Dialect::Legacy).then_some(settings.keepalive_timeout);
        Self {
            protocol,
            client: Client::new(dialect, settings.ack_timeout, keepalive),
            settings,
            automatic,
            next_id: 1,
        }
    }

    fn dialect(&self) -> Dialect {
        self.client.dialect()
    }

    fn decoded(&self, message: &Message) -> Decoded {
        let mut fields = Map::new();
        fields.insert("type".into(), json!(message.wire_type(self.dialect())));
        if let Some(id) = message.id() {
            fields.insert("id".into(), json!(id));
        }
        if let Some(payload) = message.payload() {
            fields.insert("payload".into(), payload);
        }
        let class = match message {
            _ if message.is_keepalive() => Class::KeepAlive,
            Message::ConnectionInit { .. }
            | Message::ConnectionAck { .. }
            | Message::ConnectionError { .. }
            | Message::ConnectionTerminate => Class::Control,
            _ => Class::Application,
        };
        Decoded::new(self.protocol.name(), class, fields)
    }

    fn invalid(&self, why: String) -> Decoded {
        let mut fields = Map::new();
        fields.insert("type".into(), json!("invalid"));
        fields.insert("error".into(), json!(why));
        Decoded::new(self.protocol.name(), Class::Invalid, fields)
    }

    fn describe_text(&self, text: &str) -> Decoded {
        match super::decode(self.dialect(), text) {
            Ok(m) => self.decoded(&m),
            Err(e) => self.invalid(e.0),
        }
    }

    /// The client's outputs as the connection's: what it sends is logged decoded; a failure says what follows.
    fn outputs(&self, was_ready: bool, outputs: Vec<ClientOutput>) -> Vec<Output> {
        outputs
            .into_iter()
            .map(|o| match o {
                ClientOutput::Send(text) => {
                    let decoded = self.describe_text(&text);
                    Output::Send {
                        automatic: decoded.class != Class::Application,
                        decoded,
                        message: WsData::Text(text),
                    }
                }
                ClientOutput::Acknowledged => Output::Ready,
                ClientOutput::Failed(message) if self.client.is_failed() => {
                    Output::Failed(Failure {
                        message,
                        handshake: !was_ready,
                        then: if was_ready { Then::Drop } else { Then::Close },
                    })
                }
                ClientOutput::Failed(message) => Output::failed(message),
            })
            .collect()
    }

    fn send_now(&self, message: &Message) -> Vec<Output> {
        match super::encode(self.dialect(), message) {
            Ok(text) => vec![Output::Send {
                decoded: self.decoded(message),
                message: WsData::Text(text),
                automatic: false,
            }],
            Err(e) => vec![Output::failed(e.to_string())],
        }
    }
}

impl Lens for GraphqlLens {
    fn version(&self) -> String {
        self.dialect().subprotocol().to_owned()
    }

    fn start(&mut self, now: Instant) -> Vec<Output> {
        if !self.automatic {
            return Vec::new();
        }
        let out = self.client.start(now, self.settings.init.clone());
        self.outputs(false, out)
    }

    fn on_message(&mut self, now: Instant, message: WsData) -> (Decoded, Vec<Output>) {
        let text = match message {
            WsData::Text(t) => t,
            WsData::Binary(_) => {
                let why = "GraphQL over WebSocket messages are text, but a binary message arrived"
                    .to_owned();
                return (self.invalid(why.clone()), vec![Output::failed(why)]);
            }
        };
        if !self.automatic {
            return (self.describe_text(&text), Vec::new());
        }
        let was_ready = self.client.is_ready();
        let (message, out) = self.client.on_text(now, &text);
        let decoded = match message {
            Ok(m) => self.decoded(&m),
            Err(e) => self.invalid(e.0),
        };
        (decoded, self.outputs(was_ready, out))
    }

    fn emit(&mut self, _now: Instant, emit: &Value) -> Vec<Output> {
        let emit = match Emit::parse(emit) {
            Ok(e) => e,
            Err(why) => return vec![Output::failed(why)],
        };
        let was_ready = self.client.is_ready();
        match (emit, self.automatic) {
            (Emit::Subscribe { operation, id }, true) => {
                let (_, out) = self.client.subscribe(operation, id);
                self.outputs(was_ready, out)
            }
            (Emit::Complete { id }, true) => {
                let out = self.client.stop(&id);
                self.outputs(was_ready, out)
            }
            (Emit::Subscribe { operation, id }, false) => {
                let id = id.unwrap_or_else(|| {
                    let id = self.next_id.to_string();
                    self.next_id += 1;
                    id
                });
                self.send_now(&Message::Subscribe { id, operation })
            }
            (Emit::Complete { id }, false) => self.send_now(&match self.dialect() {
                Dialect::TransportWs => Message::Complete { id },
                Dialect::Legacy => Message::Stop { id },
            }),
        }
    }

    fn describe_sent(&self, message: &WsData) -> Decoded {
        match message {
            WsData::Text(t) => self.describe_text(t),
            WsData::Binary(_) => {
                self.invalid("a binary message is not GraphQL over WebSocket".into())
            }
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        self.automatic
            .then(|| self.client.next_deadline())
            .flatten()
    }

    fn on_time(&mut self, now: Instant) -> Vec<Output> {
        if !self.automatic {
            return Vec::new();
        }
        let was_ready = self.client.is_ready();
        let out = self.client.on_time(now);
        self.outputs(was_ready, out)
    }

    fn handshake_done(&self) -> bool {
        self.client.is_ready()
    }

    fn open_items(&self) -> Vec<OpenItem> {
        self.client
            .operations()
            .iter()
            .map(|(id, op)| OpenItem {
                kind: "subscription",
                key: id.clone(),
                state: if op.done {
                    "done"
                } else if self.client.is_ready() {
                    "running"
                } else {
                    "waiting for connection_ack"
                }
                .to_owned(),
                received: op.results,
                close: (!op.done).then(|| json!({ "complete": id })),
            })
            .collect()
    }

    fn close_meaning(&self, code: u16) -> Option<String> {
        super::close_code_meaning(code).map(str::to_owned)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_one_automatic_send(out: &[Output]) {
        assert!(
            matches!(
                out,
                [Output::Send {
                    automatic: true,
                    ..
                }]
            ),
            "{out:?}"
        );
    }

    fn ready_lens(protocol: Protocol) -> (GraphqlLens, Instant) {
        let mut lens = GraphqlLens::new(
            protocol,
            Settings::from_options(&Options::new()).expect("settings"),
            true,
        );
        let now = Instant::now();
        let out = lens.start(now);
        assert_one_automatic_send(&out);
        let (decoded, out) =
            lens.on_message(now, WsData::Text(r#"{"type":"connection_ack"}"#.into()));
        assert_eq!(decoded.kind(), "connection_ack");
        assert_eq!(decoded.class, Class::Control);
        assert_eq!(out, vec![Output::Ready]);
        (lens, now)
    }

    #[test]
    fn a_subscription_is_sent_decoded_and_listed_until_complete() {
        let (mut lens, now) = ready_lens(Protocol::GraphqlTransportWs);
        let out = lens.emit(
            now,
            &json!({"subscribe":"subscription { countdown(from: 1) }"}),
        );
        let [
            Output::Send {
                message: WsData::Text(text),
                decoded,
                automatic: false,
            },
        ] = &out[..]
        else {
            panic!("{out:?}")
        };
        assert!(text.contains(r#""type":"subscribe""#), "{text}");
        assert_eq!(decoded.id().as_deref(), Some("1"));
        let (next, out) = lens.on_message(
            now,
            WsData::Text(r#"{"id":"1","type":"next","payload":{"data":{"countdown":1}}}"#.into()),
        );
        assert!(out.is_empty());
        assert_eq!(next.class, Class::Application);
        assert_eq!(next.summary(), r#"next 1 {"data":{"countdown":1}}"#);
        let items = lens.open_items();
        assert_eq!(items[0].received, 1);
        assert_eq!(items[0].close, Some(json!({"complete":"1"})));
        let (ping, out) = lens.on_message(now, WsData::Text(r#"{"type":"ping"}"#.into()));
        assert_eq!(ping.class, Class::KeepAlive);
        assert_one_automatic_send(&out);
    }

    #[test]
    fn no_ack_in_time_is_a_handshake_failure_that_closes() {
        let mut options = Options::new();
        options.insert("ack_timeout_ms".into(), "50".into());
        let mut lens = GraphqlLens::new(
            Protocol::GraphqlWs,
            Settings::from_options(&options).expect("settings"),
            true,
        );
        let now = Instant::now();
        lens.start(now);
        let due = lens.next_deadline().expect("deadline");
        assert_eq!(due, now + Duration::from_millis(50));
        let out = lens.on_time(due);
        let [Output::Failed(f)] = &out[..] else {
            panic!("{out:?}")
        };
        assert!(f.handshake && f.then == Then::Close, "{f:?}");
        assert!(
            f.message.contains("no connection_ack within 50 ms"),
            "{}",
            f.message
        );
    }

    #[test]
    fn with_the_automatic_part_off_it_only_decodes() {
        let mut lens = GraphqlLens::new(
            Protocol::GraphqlWs,
            Settings::from_options(&Options::new()).expect("settings"),
            false,
        );
        let now = Instant::now();
        assert!(lens.start(now).is_empty());
        let (ka, out) = lens.on_message(now, WsData::Text(r#"{"type":"ka"}"#.into()));
        assert_eq!((ka.kind(), ka.class), ("ka", Class::KeepAlive));
        assert!(out.is_empty());
        assert_eq!(lens.next_deadline(), None);
        let out = lens.emit(now, &json!({"subscribe":"{ hello }"}));
        let [
            Output::Send {
                message: WsData::Text(text),
                ..
            },
        ] = &out[..]
        else {
            panic!("{out:?}")
        };
        assert!(text.contains(r#""type":"start""#), "{text}");
    }

    #[test]
    fn emits_are_read_or_refused_in_words() {
        assert_eq!(
            Emit::parse(&json!({"complete": "7"})),
            Ok(Emit::Complete { id: "7".into() })
        );
        let err = Emit::parse(&json!({"subscribe": "{ a }", "variable": {}})).expect_err("typo");
        assert!(err.contains("no field 'variable'"), "{err}");
        assert!(Emit::parse(&json!({"subscribe": "{ a }", "variables": [1]})).is_err());
    }
}
