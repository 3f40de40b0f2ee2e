//! A tab's view of the protocol on top of WebSocket: which one the connection speaks (and why), whether its
//! handshake completed, what is open (namespaces, subscriptions), and the composer's protocol fields.

use crate::engine::events::ProtocolEvent;
use crate::model::protocol::{OpenItem, Protocol};
use serde_json::{Map, Value};

/// What the engine said about the connection's protocol.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProtocolView {
    /// `socket.io`, `graphql-transport-ws`, … (`raw` when `auto` found none).
    pub name: String,
    /// The version spoken.
    pub version: String,
    /// Why `auto` picked it, or `chosen`.
    pub reason: String,
    /// Its automatic part runs (handshake, keep-alive).
    pub automatic: bool,
    /// Its handshake completed.
    pub ready: bool,
    /// What is open now.
    pub items: Vec<OpenItem>,
    /// The last protocol failure, in words.
    pub failure: Option<String>,
    /// Engine.IO's open packet (sid, pingInterval, pingTimeout, maxPayload), once it came.
    pub open: Option<serde_json::Value>,
}

impl ProtocolView {
    /// Notes what a received message says about the session (Engine.IO's open packet).
    pub fn saw(&mut self, decoded: &crate::model::protocol::Decoded) {
        // STOMP's version is the one CONNECTED names (1.0 when it names none).
        if self.name == "stomp" && decoded.kind() == "CONNECTED" {
            self.version = decoded
                .field("headers")
                .and_then(|h| h.get("version"))
                .and_then(Value::as_str)
                .unwrap_or("1.0")
                .to_owned();
        }
        if decoded.kind() == "open"
            && decoded.field("layer").and_then(Value::as_str) == Some("engine.io")
        {
            self.open = decoded.field("data").cloned();
        }
    }

    /// The protocol, when it is one sockscope has a lens for.
    pub fn protocol(&self) -> Option<Protocol> {
        self.name
            .parse()
            .ok()
            .filter(|p| !matches!(p, Protocol::Raw | Protocol::Auto))
    }

    /// Applies one event (a view starts with `Chosen`).
    pub fn apply(view: &mut Option<Self>, event: ProtocolEvent) {
        match event {
            ProtocolEvent::Chosen {
                name,
                version,
                reason,
                automatic,
            } => {
                *view = Some(Self {
                    name,
                    version,
                    reason,
                    automatic,
                    ..Self::default()
                });
            }
            ProtocolEvent::Ready => {
                if let Some(v) = view {
                    v.ready = true;
                }
            }
            ProtocolEvent::Failed { message, .. } => {
                let v = view.get_or_insert_with(Self::default);
                v.failure = Some(message);
            }
            ProtocolEvent::Open(items) => {
                if let Some(v) = view {
                    v.items = items;
                }
            }
        }
    }
}

/// The composer's protocol fields (kept per tab while the user switches protocols).
#[derive(Clone, Debug)]
pub struct ProtocolComposer {
    pub namespace: String,
    pub event: String,
    /// The event's arguments as a JSON list (bytes as `{"base64":"…"}`).
    pub args: String,
    pub ack: bool,
    /// The GraphQL operation.
    pub query: String,
    /// The operation's variables as a JSON object (empty: none).
    pub variables: String,
    pub operation_name: String,
    /// STOMP: the frame's command, destination, other headers (a JSON object) and body.
    pub stomp_command: String,
    pub stomp_destination: String,
    pub stomp_headers: String,
    pub stomp_body: String,
    /// MQTT: the topic (a filter for Subscribe), payload, QoS and retain.
    pub mqtt_topic: String,
    pub mqtt_payload: String,
    pub mqtt_qos: u8,
    pub mqtt_retain: bool,
    /// SignalR: the hub method and its arguments (a JSON list).
    pub signalr_method: String,
    pub signalr_args: String,
    /// Phoenix: the topic, event and payload (a JSON object).
    pub phoenix_topic: String,
    pub phoenix_event: String,
    pub phoenix_payload: String,
    /// Action Cable: the channel identifier (a JSON object), the action and its data (a JSON object).
    pub cable_identifier: String,
    pub cable_action: String,
    pub cable_data: String,
}

/// The STOMP commands a client sends, for the composer's list.
pub const STOMP_COMMANDS: &[&str] = &[
    "SEND",
    "SUBSCRIBE",
    "UNSUBSCRIBE",
    "ACK",
    "NACK",
    "BEGIN",
    "COMMIT",
    "ABORT",
    "DISCONNECT",
];

impl Default for ProtocolComposer {
    fn default() -> Self {
        Self {
            namespace: "/".into(),
            event: "message".into(),
            args: "[\"hello\"]".into(),
            ack: false,
            query: "subscription {\n  \n}".into(),
            variables: String::new(),
            operation_name: String::new(),
            stomp_command: "SEND".into(),
            stomp_destination: "/queue/test".into(),
            stomp_headers: String::new(),
            stomp_body: "hello".into(),
            mqtt_topic: "test/topic".into(),
            mqtt_payload: "hello".into(),
            mqtt_qos: 0,
            mqtt_retain: false,
            signalr_method: "SendMessage".into(),
            signalr_args: "[\"hello\"]".into(),
            phoenix_topic: "room:lobby".into(),
            phoenix_event: "new_msg".into(),
            phoenix_payload: "{\"body\": \"hello\"}".into(),
            cable_identifier: "{\"channel\": \"ChatChannel\"}".into(),
            cable_action: "speak".into(),
            cable_data: "{\"message\": \"hello\"}".into(),
        }
    }
}

impl ProtocolComposer {
    /// The Socket.IO emit the fields describe, or what is wrong with them.
    pub fn socketio_emit(&self) -> Result<Value, String> {
        let event = self.event.trim();
        if event.is_empty() {
            return Err("type an event name".into());
        }
        let args: Value = if self.args.trim().is_empty() {
            Value::Array(Vec::new())
        } else {
            serde_json::from_str(&self.args).map_err(|e| format!("args are not valid JSON: {e}"))?
        };
        let args = match args {
            Value::Array(items) => Value::Array(items),
            // One value is one argument.
            other => Value::Array(vec![other]),
        };
        let mut emit = Map::new();
        emit.insert("event".into(), Value::String(event.to_owned()));
        emit.insert("args".into(), args);
        let namespace = self.namespace.trim();
        if !namespace.is_empty() && namespace != "/" {
            emit.insert("namespace".into(), Value::String(namespace.to_owned()));
        }
        if self.ack {
            emit.insert("ack".into(), Value::Bool(true));
        }
        Ok(Value::Object(emit))
    }

    /// The STOMP frame the fields describe (`command` instead of the chosen one), or what is wrong with them.
    pub fn stomp_emit(&self, command: Option<&str>) -> Result<Value, String> {
        let command = command.unwrap_or(&self.stomp_command);
        let mut headers = if self.stomp_headers.trim().is_empty() {
            Map::new()
        } else {
            match serde_json::from_str::<Value>(&self.stomp_headers) {
                Ok(Value::Object(h)) => h,
                Ok(_) => return Err("headers must be a JSON object".into()),
                Err(e) => return Err(format!("headers are not valid JSON: {e}")),
            }
        };
        let destination = self.stomp_destination.trim();
        if matches!(command, "SEND" | "SUBSCRIBE") {
            if destination.is_empty() && !headers.contains_key("destination") {
                return Err(format!("{command} needs a destination"));
            }
            if !destination.is_empty() {
                headers
                    .entry("destination")
                    .or_insert_with(|| Value::String(destination.to_owned()));
            }
        }
        let mut emit = Map::new();
        emit.insert("command".into(), Value::String(command.to_owned()));
        emit.insert("headers".into(), Value::Object(headers));
        if command == "SEND" && !self.stomp_body.is_empty() {
            emit.insert("body".into(), Value::String(self.stomp_body.clone()));
        }
        Ok(Value::Object(emit))
    }

    /// The MQTT publish (or subscribe) the fields describe, or what is wrong with them.
    pub fn mqtt_emit(&self, publish: bool) -> Result<Value, String> {
        let topic = self.mqtt_topic.trim();
        if topic.is_empty() {
            return Err("type a topic".into());
        }
        let mut emit = Map::new();
        if publish {
            if topic.contains(['+', '#']) {
                return Err(
                    "+ and # are for subscriptions: publish to a topic without them".into(),
                );
            }
            emit.insert("publish".into(), Value::String(topic.to_owned()));
            emit.insert("payload".into(), Value::String(self.mqtt_payload.clone()));
            emit.insert("retain".into(), Value::Bool(self.mqtt_retain));
        } else {
            emit.insert("subscribe".into(), Value::String(topic.to_owned()));
        }
        emit.insert("qos".into(), Value::from(self.mqtt_qos));
        Ok(Value::Object(emit))
    }

    /// The SignalR emit (`kind`: invoke, stream or send) the fields describe, or what is wrong with them.
    pub fn signalr_emit(&self, kind: &str) -> Result<Value, String> {
        let method = self.signalr_method.trim();
        if method.is_empty() {
            return Err("type the hub method's name".into());
        }
        let args = json_field(&self.signalr_args, "args")?.unwrap_or(Value::Array(Vec::new()));
        let args = match args {
            Value::Array(a) => Value::Array(a),
            other => Value::Array(vec![other]),
        };
        let mut emit = Map::new();
        emit.insert(kind.into(), Value::String(method.to_owned()));
        emit.insert("args".into(), args);
        Ok(Value::Object(emit))
    }

    /// The Phoenix push (`event` instead of the typed one: phx_join, phx_leave) the fields describe.
    pub fn phoenix_emit(&self, event: Option<&str>) -> Result<Value, String> {
        let topic = self.phoenix_topic.trim();
        if topic.is_empty() {
            return Err("type a topic, e.g. room:lobby".into());
        }
        let event = event.unwrap_or(self.phoenix_event.trim());
        if event.is_empty() {
            return Err("type an event".into());
        }
        let payload = json_field(&self.phoenix_payload, "payload")?
            .unwrap_or_else(|| Value::Object(Map::new()));
        let mut emit = Map::new();
        emit.insert("topic".into(), Value::String(topic.to_owned()));
        emit.insert("event".into(), Value::String(event.to_owned()));
        emit.insert("payload".into(), payload);
        Ok(Value::Object(emit))
    }

    /// The Action Cable subscribe (or perform) the fields describe.
    pub fn cable_emit(&self, subscribe: bool) -> Result<Value, String> {
        let identifier = match json_field(&self.cable_identifier, "the identifier")? {
            Some(v @ Value::Object(_)) if v.get("channel").is_some() => v,
            _ => return Err("the identifier is a JSON object with a \"channel\"".into()),
        };
        let mut emit = Map::new();
        if subscribe {
            emit.insert("subscribe".into(), identifier);
            return Ok(Value::Object(emit));
        }
        let action = self.cable_action.trim();
        if action.is_empty() {
            return Err("type an action".into());
        }
        emit.insert("perform".into(), Value::String(action.to_owned()));
        emit.insert("identifier".into(), identifier);
        if let Some(data) = json_field(&self.cable_data, "data")? {
            if !data.is_object() {
                return Err("data must be a JSON object".into());
            }
            emit.insert("data".into(), data);
        }
        Ok(Value::Object(emit))
    }

    /// The GraphQL subscribe the fields describe, or what is wrong with them.
    pub fn graphql_emit(&self) -> Result<Value, String> {
        if self.query.trim().is_empty() {
            return Err("type an operation".into());
        }
        let mut emit = Map::new();
        emit.insert("subscribe".into(), Value::String(self.query.clone()));
        if !self.variables.trim().is_empty() {
            let vars: Value = serde_json::from_str(&self.variables)
                .map_err(|e| format!("variables are not valid JSON: {e}"))?;
            if !vars.is_object() {
                return Err("variables must be a JSON object".into());
            }
            emit.insert("variables".into(), vars);
        }
        if !self.operation_name.trim().is_empty() {
            emit.insert(
                "operationName".into(),
                Value::String(self.operation_name.trim().to_owned()),
            );
        }
        Ok(Value::Object(emit))
    }
}

/// A JSON field of the composer (empty: none), or what is wrong with it.
fn json_field(text: &str, what: &str) -> Result<Option<Value>, String> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    serde_json::from_str(text)
        .map(Some)
        .map_err(|e| format!("{what} is not valid JSON: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_composer_builds_emits_or_says_what_is_wrong() {
        let mut c = ProtocolComposer {
            namespace: "admin".into(),
            event: "echo".into(),
            args: "\"hi\"".into(),
            ack: true,
            ..ProtocolComposer::default()
        };
        assert_eq!(
            c.socketio_emit(),
            Ok(json!({"event":"echo","args":["hi"],"namespace":"admin","ack":true}))
        );
        c.args = "[1,".into();
        assert!(
            c.socketio_emit()
                .expect_err("bad")
                .contains("not valid JSON")
        );
        c.query = "query Q($n: Int) { a(n: $n) }".into();
        c.variables = "{\"n\":1}".into();
        c.operation_name = "Q".into();
        assert_eq!(
            c.graphql_emit(),
            Ok(
                json!({"subscribe":"query Q($n: Int) { a(n: $n) }","variables":{"n":1},"operationName":"Q"})
            )
        );
        c.variables = "[1]".into();
        assert!(c.graphql_emit().is_err());
        c.stomp_headers = "{\"receipt\":\"r\"}".into();
        assert_eq!(
            c.stomp_emit(Some("SUBSCRIBE")),
            Ok(
                json!({"command":"SUBSCRIBE","headers":{"receipt":"r","destination":"/queue/test"}})
            )
        );
        assert_eq!(
            c.stomp_emit(None),
            Ok(
                json!({"command":"SEND","headers":{"receipt":"r","destination":"/queue/test"},"body":"hello"})
            )
        );
        c.stomp_destination.clear();
        assert!(
            c.stomp_emit(None)
                .expect_err("no destination")
                .contains("destination")
        );
        c.mqtt_qos = 1;
        assert_eq!(
            c.mqtt_emit(true),
            Ok(json!({"publish":"test/topic","payload":"hello","retain":false,"qos":1}))
        );
        c.mqtt_topic = "a/#".into();
        assert_eq!(c.mqtt_emit(false), Ok(json!({"subscribe":"a/#","qos":1})));
        assert!(c.mqtt_emit(true).is_err());
        assert_eq!(
            c.signalr_emit("invoke"),
            Ok(json!({"invoke":"SendMessage","args":["hello"]}))
        );
        assert_eq!(
            c.phoenix_emit(Some("phx_join")),
            Ok(json!({"topic":"room:lobby","event":"phx_join","payload":{"body":"hello"}}))
        );
        assert_eq!(
            c.cable_emit(false),
            Ok(
                json!({"perform":"speak","identifier":{"channel":"ChatChannel"},"data":{"message":"hello"}})
            )
        );
        c.cable_identifier = "{\"room\": 1}".into();
        assert!(c.cable_emit(true).is_err());
    }
}
