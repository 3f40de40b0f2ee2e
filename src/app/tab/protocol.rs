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
}

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
    }
}
