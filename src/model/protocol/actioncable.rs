//! Rails Action Cable (subprotocol `actioncable-v1-json`) as a [`Lens`]: the welcome ends the handshake, the
//! server's pings are logged (keep-alive) and their absence reported, subscriptions are made with an identifier
//! (the JSON-in-a-string is built once per subscription and reused byte for byte, since Rails finds a
//! subscription by that exact string) and confirmed or rejected, `message` commands carry an action and data,
//! and a `disconnect` gives its reason and reconnect hint.

use super::engineio::WsData;
use super::lens::{Class, Decoded, Lens, OpenItem, Output, Then};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// The subprotocols @rails/actioncable offers.
pub const SUBPROTOCOLS: &[&str] = &["actioncable-v1-json", "actioncable-unsupported"];

/// Rails pings every 3 s; @rails/actioncable's monitor calls a connection stale after 6 s without one.
pub const STALE_AFTER: Duration = Duration::from_secs(6);

/// How long the welcome may take.
const WELCOME_TIMEOUT: Duration = Duration::from_secs(10);

/// Subscriptions kept, at most.
const MAX_SUBSCRIPTIONS: usize = 4096;

/// One `--emit` for Action Cable.
#[derive(Debug, Clone, PartialEq)]
pub enum Emit {
    /// `{"subscribe":{"channel":"ChatChannel",…}}`
    Subscribe(Value),
    /// `{"unsubscribe":{"channel":"ChatChannel",…}}`
    Unsubscribe(Value),
    /// `{"perform":"speak","identifier":{…},"data":{…}}`
    Perform {
        action: String,
        identifier: Value,
        data: Map<String, Value>,
    },
}

impl Emit {
    pub fn parse(value: &Value) -> Result<Self, String> {
        let Some(o) = value.as_object() else {
            return Err("an Action Cable emit is a JSON object like {\"subscribe\":{\"channel\":\"ChatChannel\"}}".into());
        };
        if let Some(key) = o.keys().find(|k| {
            !["subscribe", "unsubscribe", "perform", "identifier", "data"].contains(&k.as_str())
        }) {
            return Err(format!(
                "an Action Cable emit has no field '{key}' (fields: subscribe, unsubscribe; or perform with identifier and data)"
            ));
        }
        let identifier = |v: &Value| -> Result<Value, String> {
            match v {
                Value::Object(o) if o.contains_key("channel") => Ok(v.clone()),
                // An identifier string as a server logged it.
                Value::String(s) => serde_json::from_str::<Value>(s)
                    .ok()
                    .filter(|v| v.get("channel").is_some())
                    .ok_or_else(|| format!("the identifier {s:?} is not a JSON object with a channel")),
                _ => Err("an Action Cable identifier is an object with a \"channel\", e.g. {\"channel\":\"ChatChannel\",\"room\":\"1\"}".into()),
            }
        };
        if let Some(v) = o.get("subscribe") {
            return Ok(Emit::Subscribe(identifier(v)?));
        }
        if let Some(v) = o.get("unsubscribe") {
            return Ok(Emit::Unsubscribe(identifier(v)?));
        }
        let Some(Value::String(action)) = o.get("perform") else {
            return Err("an Action Cable emit needs \"subscribe\", \"unsubscribe\" or \"perform\" (an action name)".into());
        };
        let identifier = identifier(
            o.get("identifier")
                .ok_or("a perform needs the subscription's \"identifier\"")?,
        )?;
        let data = match o.get("data") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(d)) => d.clone(),
            Some(_) => return Err("a perform's data is a JSON object".into()),
        };
        Ok(Emit::Perform {
            action: action.clone(),
            identifier,
            data,
        })
    }
}

/// A subscription: its identifier string as sent, and its state.
#[derive(Debug, Clone)]
struct Subscription {
    identifier: String,
    state: String,
    received: u64,
}

/// Action Cable on one connection.
#[derive(Debug)]
pub struct ActionCableLens {
    automatic: bool,
    welcomed: bool,
    failed: bool,
    started: Instant,
    last_ping: Option<Instant>,
    /// By the identifier's JSON value (so the same channel and params find the same string).
    subscriptions: BTreeMap<String, Subscription>,
}

/// The key a subscription is found by: its identifier's canonical JSON.
fn key_of(identifier: &Value) -> String {
    identifier.to_string()
}

/// An identifier string (`"{\"channel\":…}"`) shown as JSON when it is JSON.
fn identifier_value(s: &str) -> Value {
    serde_json::from_str(s).unwrap_or_else(|_| json!(s))
}

fn decoded(f: Map<String, Value>, class: Class) -> Decoded {
    Decoded::new("actioncable", class, f)
}

fn invalid(why: &str) -> Decoded {
    Decoded::invalid("actioncable", why)
}

/// What the server sent, decoded.
fn describe_server(v: &Value) -> Result<Decoded, String> {
    let o = v
        .as_object()
        .ok_or("an Action Cable message is a JSON object")?;
    let mut f = Map::new();
    let kind = o.get("type").and_then(Value::as_str);
    let class = match kind {
        Some("welcome")
        | Some("confirm_subscription")
        | Some("reject_subscription")
        | Some("disconnect") => Class::Control,
        Some("ping") => Class::KeepAlive,
        Some(other) => {
            f.insert("type".into(), json!(other));
            Class::Control
        }
        None if o.contains_key("message") => Class::Application,
        None => {
            return Err(format!(
                "an Action Cable message without a type or message: {v}"
            ));
        }
    };
    f.insert("type".into(), json!(kind.unwrap_or("message")));
    if let Some(Value::String(id)) = o.get("identifier") {
        f.insert("identifier".into(), identifier_value(id));
    }
    if let Some(m) = o.get("message") {
        f.insert("message".into(), m.clone());
    }
    for key in ["reason", "reconnect"] {
        if let Some(v) = o.get(key) {
            f.insert(key.into(), v.clone());
        }
    }
    Ok(decoded(f, class))
}

/// What a client sent (`{"command":"subscribe","identifier":"…"}` …), decoded.
fn describe_client(v: &Value) -> Result<Decoded, String> {
    let o = v
        .as_object()
        .ok_or("an Action Cable command is a JSON object")?;
    let Some(Value::String(command)) = o.get("command") else {
        return describe_server(v);
    };
    let mut f = Map::new();
    f.insert("type".into(), json!(command));
    if let Some(Value::String(id)) = o.get("identifier") {
        f.insert("identifier".into(), identifier_value(id));
    }
    if let Some(Value::String(data)) = o.get("data") {
        f.insert("data".into(), identifier_value(data));
    }
    let class = if command == "message" {
        Class::Application
    } else {
        Class::Control
    };
    Ok(decoded(f, class))
}

impl ActionCableLens {
    pub fn new(automatic: bool) -> Self {
        Self {
            automatic,
            welcomed: false,
            failed: false,
            started: Instant::now(),
            last_ping: None,
            subscriptions: BTreeMap::new(),
        }
    }

    fn send(&self, command: Value) -> Output {
        let decoded = describe_client(&command).unwrap_or_else(|e| invalid(&e));
        Output::Send {
            message: WsData::Text(command.to_string()),
            decoded,
            automatic: false,
        }
    }

    /// The identifier string for `identifier`: the one its subscription was made with, else built now.
    fn identifier_string(&self, identifier: &Value) -> String {
        self.subscriptions
            .get(&key_of(identifier))
            .map_or_else(|| identifier.to_string(), |s| s.identifier.clone())
    }

    fn on_server(&mut self, now: Instant, v: &Value, d: &Decoded, out: &mut Vec<Output>) {
        let identifier = v.get("identifier").and_then(Value::as_str);
        let sub =
            identifier.and_then(|i| self.subscriptions.values_mut().find(|s| s.identifier == i));
        match d.kind() {
            "welcome" if !self.welcomed => {
                self.welcomed = true;
                self.last_ping = Some(now);
                if self.automatic {
                    out.push(Output::Ready);
                }
            }
            "ping" => self.last_ping = Some(now),
            "confirm_subscription" => {
                if let Some(s) = sub {
                    s.state = "confirmed".into();
                }
            }
            "reject_subscription" => {
                if let Some(s) = sub {
                    s.state = "rejected".into();
                }
                out.push(Output::failed(format!(
                    "the server rejected the subscription {}",
                    identifier.unwrap_or("?")
                )));
            }
            "message" => {
                if let Some(s) = sub {
                    s.received += 1;
                }
            }
            "disconnect" => {
                let reason = v
                    .get("reason")
                    .and_then(Value::as_str)
                    .unwrap_or("no reason given");
                let reconnect = match v.get("reconnect").and_then(Value::as_bool) {
                    Some(true) => " (it asks the client to reconnect)",
                    Some(false) => " (it asks the client not to reconnect)",
                    None => "",
                };
                let handshake = !self.welcomed;
                out.push(Output::ending(
                    &mut self.failed,
                    format!("the Action Cable server disconnected: {reason}{reconnect}"),
                    handshake,
                    Then::Close,
                ));
            }
            _ => {}
        }
    }
}

impl Lens for ActionCableLens {
    fn version(&self) -> String {
        "actioncable-v1-json".into()
    }

    fn start(&mut self, now: Instant) -> Vec<Output> {
        self.started = now;
        Vec::new()
    }

    fn on_message(&mut self, now: Instant, message: WsData) -> (Decoded, Vec<Output>) {
        let WsData::Text(text) = message else {
            return (
                invalid("a binary message arrived: Action Cable's JSON protocol is text"),
                Vec::new(),
            );
        };
        let value = match serde_json::from_str::<Value>(&text) {
            Ok(v) => v,
            Err(e) => {
                let why = format!("not an Action Cable message: not JSON: {e}");
                return (invalid(&why), vec![Output::failed(why)]);
            }
        };
        match describe_server(&value) {
            Ok(d) => {
                let mut out = Vec::new();
                self.on_server(now, &value, &d, &mut out);
                (d, out)
            }
            Err(e) => {
                let why = format!("not an Action Cable message: {e}");
                (invalid(&why), vec![Output::failed(why)])
            }
        }
    }

    fn emit(&mut self, _now: Instant, emit: &Value) -> Vec<Output> {
        let emit = match Emit::parse(emit) {
            Ok(e) => e,
            Err(why) => return vec![Output::failed(why)],
        };
        match emit {
            Emit::Subscribe(identifier) => {
                let key = key_of(&identifier);
                if !self.subscriptions.contains_key(&key)
                    && self.subscriptions.len() >= MAX_SUBSCRIPTIONS
                {
                    return vec![Output::failed(format!(
                        "{MAX_SUBSCRIPTIONS} subscriptions are open: this one was not made"
                    ))];
                }
                let s = self
                    .subscriptions
                    .entry(key)
                    .or_insert_with(|| Subscription {
                        identifier: identifier.to_string(),
                        state: "subscribing".into(),
                        received: 0,
                    });
                s.state = "subscribing".into();
                let command = json!({"command": "subscribe", "identifier": s.identifier});
                vec![self.send(command)]
            }
            Emit::Unsubscribe(identifier) => {
                let id = self.identifier_string(&identifier);
                self.subscriptions.remove(&key_of(&identifier));
                vec![self.send(json!({"command": "unsubscribe", "identifier": id}))]
            }
            Emit::Perform {
                action,
                identifier,
                mut data,
            } => {
                let id = self.identifier_string(&identifier);
                data.insert("action".into(), json!(action));
                let data = Value::Object(data).to_string();
                vec![self.send(json!({"command": "message", "identifier": id, "data": data}))]
            }
        }
    }

    fn describe_sent(&self, message: &WsData) -> Decoded {
        match message {
            WsData::Text(t) => serde_json::from_str::<Value>(t)
                .map_err(|e| format!("not JSON: {e}"))
                .and_then(|v| describe_client(&v))
                .unwrap_or_else(|e| invalid(&e)),
            WsData::Binary(_) => invalid("a binary message (Action Cable's JSON protocol is text)"),
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        if !self.automatic || self.failed {
            return None;
        }
        match self.last_ping {
            Some(at) => Some(at + STALE_AFTER),
            None => Some(self.started + WELCOME_TIMEOUT),
        }
    }

    fn on_time(&mut self, now: Instant) -> Vec<Output> {
        if !self.automatic || self.failed {
            return Vec::new();
        }
        match self.last_ping {
            None if now >= self.started + WELCOME_TIMEOUT => {
                vec![Output::ending(
                    &mut self.failed,
                    format!(
                        "no welcome from the Action Cable server within {} s",
                        WELCOME_TIMEOUT.as_secs()
                    ),
                    true,
                    Then::Close,
                )]
            }
            Some(at) if now >= at + STALE_AFTER => {
                vec![Output::ending(
                    &mut self.failed,
                    format!(
                        "the Action Cable server stopped pinging: none for {} ms (Rails pings every 3 s)",
                        now.saturating_duration_since(at).as_millis()
                    ),
                    false,
                    Then::Drop,
                )]
            }
            _ => Vec::new(),
        }
    }

    fn handshake_done(&self) -> bool {
        self.welcomed
    }

    fn open_items(&self) -> Vec<OpenItem> {
        self.subscriptions
            .values()
            .map(|s| OpenItem {
                kind: "subscription",
                key: s.identifier.clone(),
                state: s.state.clone(),
                received: s.received,
                close: Some(json!({"unsubscribe": identifier_value(&s.identifier)})),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(out: &[Output]) -> Vec<String> {
        out.iter()
            .filter_map(|o| match o {
                Output::Send {
                    message: WsData::Text(t),
                    ..
                } => Some(t.clone()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn welcome_subscribe_perform_with_the_same_identifier_string() {
        let mut l = ActionCableLens::new(true);
        let t0 = Instant::now();
        l.start(t0);
        let (d, out) = l.on_message(t0, WsData::Text(r#"{"type":"welcome"}"#.into()));
        assert_eq!((d.kind(), d.class), ("welcome", Class::Control));
        assert_eq!(out, vec![Output::Ready]);
        let id = json!({"channel":"ChatChannel","room":"1"});
        let sub = text(&l.emit(t0, &json!({"subscribe": id})));
        let identifier = r#"{\"channel\":\"ChatChannel\",\"room\":\"1\"}"#;
        assert_eq!(
            sub,
            vec![format!(
                r#"{{"command":"subscribe","identifier":"{identifier}"}}"#
            )]
        );
        let perform = text(&l.emit(
            t0,
            &json!({"perform":"speak","identifier": id,"data":{"message":"hi"}}),
        ));
        let v: Value = serde_json::from_str(&perform[0]).expect("json");
        assert_eq!(v["identifier"], sub_identifier(&sub[0]));
        assert_eq!(
            serde_json::from_str::<Value>(v["data"].as_str().expect("data")).expect("d"),
            json!({"message":"hi","action":"speak"})
        );
        let (d, _) = l.on_message(
            t0,
            WsData::Text(format!(
                r#"{{"identifier":"{identifier}","type":"confirm_subscription"}}"#
            )),
        );
        assert_eq!(d.value["identifier"], id);
        assert_eq!(l.open_items()[0].state, "confirmed");
        let (d, _) = l.on_message(
            t0,
            WsData::Text(format!(
                r#"{{"identifier":"{identifier}","message":{{"body":"hi"}}}}"#
            )),
        );
        assert_eq!((d.kind(), d.class), ("message", Class::Application));
        assert_eq!(l.open_items()[0].received, 1);
        let (d, _) = l.on_message(
            t0,
            WsData::Text(r#"{"type":"ping","message":1700000000}"#.into()),
        );
        assert_eq!(d.class, Class::KeepAlive);
        // No ping for 6 s: stale.
        match l.on_time(t0 + STALE_AFTER).as_slice() {
            [Output::Failed(f)] => assert!(f.message.contains("stopped pinging"), "{}", f.message),
            other => panic!("{other:?}"),
        }
    }

    fn sub_identifier(command: &str) -> Value {
        serde_json::from_str::<Value>(command).expect("json")["identifier"].clone()
    }

    #[test]
    fn reject_and_disconnect_are_said_in_words() {
        let mut l = ActionCableLens::new(true);
        let t0 = Instant::now();
        let (_, out) = l.on_message(
            t0,
            WsData::Text(
                r#"{"type":"disconnect","reason":"unauthorized","reconnect":false}"#.into(),
            ),
        );
        match out.as_slice() {
            [Output::Failed(f)] => {
                assert!(f.handshake);
                assert!(
                    f.message.contains("unauthorized") && f.message.contains("not to reconnect"),
                    "{}",
                    f.message
                );
            }
            other => panic!("{other:?}"),
        }
        assert!(Emit::parse(&json!({"subscribe":{"room":"1"}})).is_err());
        assert!(Emit::parse(&json!({"perform":"speak"})).is_err());
        assert!(Emit::parse(&json!({"subscribe":"{\"channel\":\"A\"}"})).is_ok());
    }
}
