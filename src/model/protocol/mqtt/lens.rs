//! MQTT over WebSocket as a [`Lens`]: CONNECT on open, CONNACK checked (its reason in words), PINGREQ every
//! keep-alive with PINGRESP checked, the acknowledgement flows of QoS 1 and 2 both ways, subscriptions listed with
//! their granted QoS, and every packet decoded (`{"name":"mqtt","type":"publish","topic":…,"payload":…}`).

use super::{
    AckKind, Connect, Packet, PropValue, Properties, Publish, Reader, Version, Will, connack_words,
    encode, property_id, property_name, reason_words, topic_matches,
};
use crate::model::protocol::engineio::WsData;
use crate::model::protocol::lens::{
    Class, Decoded, Lens, OpenItem, Options, Output, Then, bool_option, bytes_value, rtt_ms,
    value_bytes,
};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

/// The `--protocol-option` keys MQTT reads.
pub const OPTION_KEYS: &[&str] = &[
    "version",
    "client_id",
    "keepalive",
    "username",
    "password",
    "clean",
    "will_topic",
    "will_payload",
    "will_qos",
    "will_retain",
    "session_expiry",
];

/// Keep-alive unless told otherwise (MQTT.js's default), seconds.
pub const DEFAULT_KEEPALIVE: u16 = 60;

/// How long CONNACK may take.
const CONNACK_TIMEOUT: Duration = Duration::from_secs(10);

/// The largest packet kept while its bytes arrive.
const MAX_PACKET: usize = 64 << 20;

/// Publishes waiting for their acknowledgement, at most (the protocol's own limit is 65535 ids).
const MAX_IN_FLIGHT: usize = 65_000;

/// What the user chose for MQTT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub version: Version,
    /// Empty: one is made up (`sockscope-` and random hex).
    pub client_id: String,
    pub keep_alive: u16,
    pub username: Option<String>,
    pub password: Option<String>,
    pub clean: bool,
    pub will: Option<Will>,
    /// MQTT 5's session expiry interval, seconds.
    pub session_expiry: Option<u32>,
}

fn number_option<T: std::str::FromStr>(
    options: &Options,
    key: &str,
    what: &str,
) -> Result<Option<T>, String> {
    options
        .get(key)
        .map(|v| {
            v.trim()
                .parse::<T>()
                .map_err(|_| format!("protocol option {key} must be {what}, not '{v}'"))
        })
        .transpose()
}

impl Settings {
    /// The settings named by `--protocol-option`s.
    pub fn from_options(options: &Options) -> Result<Self, String> {
        let version = match options.get("version").map(|v| v.trim()) {
            None | Some("3.1.1") | Some("4") | Some("311") => Version::V311,
            Some("5") | Some("5.0") => Version::V5,
            Some(v) => {
                return Err(format!(
                    "protocol option version must be 3.1.1 or 5, not '{v}'"
                ));
            }
        };
        let keep_alive = number_option::<u16>(
            options,
            "keepalive",
            "a whole number of seconds up to 65535 (0: none)",
        )?
        .unwrap_or(DEFAULT_KEEPALIVE);
        let will = match options.get("will_topic") {
            None => None,
            Some(topic) => Some(Will {
                topic: topic.clone(),
                payload: options
                    .get("will_payload")
                    .cloned()
                    .unwrap_or_default()
                    .into_bytes(),
                qos: match number_option::<u8>(options, "will_qos", "0, 1 or 2")? {
                    None => 0,
                    Some(q) if q <= 2 => q,
                    Some(q) => {
                        return Err(format!(
                            "protocol option will_qos must be 0, 1 or 2, not '{q}'"
                        ));
                    }
                },
                retain: bool_option(options, "will_retain", false)?,
                properties: Vec::new(),
            }),
        };
        if version == Version::V311
            && options.contains_key("password")
            && !options.contains_key("username")
        {
            return Err(
                "MQTT 3.1.1 sends a password only with a user name: give protocol option username too"
                    .into(),
            );
        }
        Ok(Self {
            version,
            client_id: options.get("client_id").cloned().unwrap_or_default(),
            keep_alive,
            username: options.get("username").cloned(),
            password: options.get("password").cloned(),
            clean: bool_option(options, "clean", true)?,
            will,
            session_expiry: number_option::<u32>(
                options,
                "session_expiry",
                "a whole number of seconds",
            )?,
        })
    }
}

/// One `--emit` for MQTT.
#[derive(Debug, Clone, PartialEq)]
pub enum Emit {
    /// `{"subscribe":"a/#","qos":1}`
    Subscribe { filter: String, qos: u8 },
    /// `{"unsubscribe":"a/#"}`
    Unsubscribe { filter: String },
    /// `{"publish":"a/b","payload":"text","qos":1,"retain":false}` (`payload_base64` for bytes).
    Publish(Publish),
    /// `{"disconnect":0}` (MQTT 5: a reason code).
    Disconnect { code: u8 },
}

impl Emit {
    /// Reads an `--emit` JSON, or says what is wrong with it.
    pub fn parse(value: &Value) -> Result<Self, String> {
        let Some(o) = value.as_object() else {
            return Err("an MQTT emit is a JSON object like {\"publish\":\"a/b\",\"payload\":\"hi\"} or {\"subscribe\":\"a/#\"}".into());
        };
        const KEYS: [&str; 9] = [
            "subscribe",
            "unsubscribe",
            "publish",
            "payload",
            "payload_base64",
            "qos",
            "retain",
            "disconnect",
            "properties",
        ];
        if let Some(key) = o.keys().find(|k| !KEYS.contains(&k.as_str())) {
            return Err(format!(
                "an MQTT emit has no field '{key}' (fields: subscribe, unsubscribe, publish, payload, payload_base64, qos, retain, properties, disconnect)"
            ));
        }
        let qos = match o.get("qos") {
            None | Some(Value::Null) => 0,
            Some(Value::Number(n)) if n.as_u64().is_some_and(|q| q <= 2) => {
                n.as_u64().unwrap_or(0) as u8
            }
            Some(_) => return Err("an MQTT emit's qos must be 0, 1 or 2".into()),
        };
        let topic = |key: &str| -> Result<Option<String>, String> {
            match o.get(key) {
                None => Ok(None),
                Some(Value::String(s)) if !s.is_empty() => Ok(Some(s.clone())),
                Some(_) => Err(format!("an MQTT emit's '{key}' must be a topic")),
            }
        };
        if let Some(filter) = topic("subscribe")? {
            return Ok(Emit::Subscribe { filter, qos });
        }
        if let Some(filter) = topic("unsubscribe")? {
            return Ok(Emit::Unsubscribe { filter });
        }
        if let Some(d) = o.get("disconnect") {
            let code = match d {
                Value::Number(n) => n
                    .as_u64()
                    .filter(|c| *c <= 255)
                    .ok_or("an MQTT disconnect's reason code is 0..255")?
                    as u8,
                _ => 0,
            };
            return Ok(Emit::Disconnect { code });
        }
        let Some(topic) = topic("publish")? else {
            return Err("an MQTT emit needs \"publish\" (a topic), \"subscribe\" or \"unsubscribe\" (a filter), or \"disconnect\"".into());
        };
        if topic.contains(['+', '#']) {
            return Err(format!(
                "cannot publish to {topic:?}: + and # are for subscriptions"
            ));
        }
        let payload = match (o.get("payload"), o.get("payload_base64")) {
            (Some(_), Some(_)) => {
                return Err("an MQTT emit has payload or payload_base64, not both".into());
            }
            (None | Some(Value::Null), None) => Vec::new(),
            (Some(Value::String(s)), None) => s.clone().into_bytes(),
            (Some(v @ Value::Object(_)), None) => value_bytes(v)
                .ok_or("an MQTT emit's payload is text, JSON, or {\"base64\":\"…\"}")?,
            (Some(v), None) => v.to_string().into_bytes(),
            (None, Some(Value::String(b))) => {
                value_bytes(&json!({"base64": b})).ok_or("payload_base64 is not valid base64")?
            }
            (None, Some(_)) => return Err("payload_base64 must be a base64 string".into()),
        };
        let retain = match o.get("retain") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err("an MQTT emit's retain must be true or false".into()),
        };
        let properties = match o.get("properties") {
            None | Some(Value::Null) => Vec::new(),
            Some(v) => parse_properties(v)?,
        };
        Ok(Emit::Publish(Publish {
            topic,
            payload,
            qos,
            retain,
            dup: false,
            packet_id: None,
            properties,
        }))
    }
}

/// `{"content_type":"text/plain","user_property":[["k","v"]]}` → MQTT 5 properties.
fn parse_properties(value: &Value) -> Result<Properties, String> {
    let Some(o) = value.as_object() else {
        return Err("MQTT properties are a JSON object keyed by property name".into());
    };
    let mut props = Vec::new();
    for (name, v) in o {
        let id = property_id(name).ok_or_else(|| format!("MQTT 5 has no property '{name}'"))?;
        if !super::PUBLISH_PROPERTIES.contains(&id) {
            return Err(format!(
                "the property {name} is not one a client puts in a PUBLISH (payload_format_indicator, message_expiry_interval, content_type, response_topic, correlation_data, topic_alias, user_property)"
            ));
        }
        if name == "user_property" {
            let pairs = v
                .as_array()
                .ok_or("user_property is a list of [key, value] pairs")?;
            for pair in pairs {
                match pair.as_array().map(Vec::as_slice) {
                    Some([Value::String(k), Value::String(v)]) => {
                        props.push((id, PropValue::Pair(k.clone(), v.clone())));
                    }
                    _ => return Err("user_property is a list of [key, value] pairs".into()),
                }
            }
            continue;
        }
        props.push((id, super::property_value(id, v)?));
    }
    Ok(props)
}

/// Properties as JSON (`user_property` as a list of pairs, bytes as `{"base64":…}`).
fn properties_value(props: &Properties) -> Value {
    let mut o = Map::new();
    for (id, v) in props {
        let name = property_name(*id);
        let value = match v {
            PropValue::Byte(b) => json!(b),
            PropValue::Two(n) => json!(n),
            PropValue::Four(n) | PropValue::Var(n) => json!(n),
            PropValue::Str(s) => json!(s),
            PropValue::Bin(b) => bytes_value(b),
            PropValue::Pair(k, v) => {
                let list = o.entry(name).or_insert_with(|| json!([]));
                if let Some(list) = list.as_array_mut() {
                    list.push(json!([k, v]));
                }
                continue;
            }
        };
        o.insert(name.into(), value);
    }
    Value::Object(o)
}

/// A payload as JSON: text when it is UTF-8, else `{"base64":…}`.
fn payload_value(bytes: &[u8]) -> Value {
    match std::str::from_utf8(bytes) {
        Ok(text) => json!(text),
        Err(_) => bytes_value(bytes),
    }
}

/// The decoded form of a packet.
pub fn decoded(version: Version, packet: &Packet) -> Decoded {
    let mut f = Map::new();
    f.insert("type".into(), json!(packet.type_name()));
    let mut props = None;
    let class = match packet {
        Packet::Connect(c) => {
            f.insert("client_id".into(), json!(c.client_id));
            f.insert(
                "version".into(),
                json!(match c.level {
                    5 => "5".to_owned(),
                    4 => "3.1.1".to_owned(),
                    3 => "3.1".to_owned(),
                    l => format!("level {l}"),
                }),
            );
            f.insert("clean".into(), json!(c.clean));
            f.insert("keepalive".into(), json!(c.keep_alive));
            if let Some(u) = &c.username {
                f.insert("username".into(), json!(u));
            }
            if c.password.is_some() {
                f.insert("password".into(), json!("***"));
            }
            if let Some(w) = &c.will {
                f.insert("will".into(), json!({"topic": w.topic, "payload": payload_value(&w.payload), "qos": w.qos, "retain": w.retain}));
            }
            props = Some(&c.properties);
            Class::Control
        }
        Packet::ConnAck {
            session_present,
            code,
            properties,
        } => {
            f.insert("session_present".into(), json!(session_present));
            f.insert("reason_code".into(), json!(code));
            f.insert("reason".into(), json!(connack_words(version, *code)));
            props = Some(properties);
            Class::Control
        }
        Packet::Publish(p) => {
            f.insert("topic".into(), json!(p.topic));
            f.insert("payload".into(), payload_value(&p.payload));
            f.insert("qos".into(), json!(p.qos));
            f.insert("retain".into(), json!(p.retain));
            if p.dup {
                f.insert("dup".into(), json!(true));
            }
            if let Some(id) = p.packet_id {
                f.insert("packet_id".into(), json!(id));
            }
            props = Some(&p.properties);
            Class::Application
        }
        Packet::Ack {
            packet_id,
            code,
            properties,
            ..
        } => {
            f.insert("packet_id".into(), json!(packet_id));
            f.insert("reason_code".into(), json!(code));
            if *code != 0 {
                f.insert("reason".into(), json!(reason_words(*code)));
            }
            props = Some(properties);
            Class::Control
        }
        Packet::Subscribe {
            packet_id,
            filters,
            properties,
        } => {
            f.insert("packet_id".into(), json!(packet_id));
            f.insert(
                "topic".into(),
                json!(
                    filters
                        .iter()
                        .map(|(t, _)| t.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
            f.insert(
                "filters".into(),
                Value::Array(
                    filters
                        .iter()
                        .map(|(t, o)| json!({"filter": t, "qos": o & 3}))
                        .collect(),
                ),
            );
            props = Some(properties);
            Class::Control
        }
        Packet::SubAck {
            packet_id,
            codes,
            properties,
        }
        | Packet::UnsubAck {
            packet_id,
            codes,
            properties,
        } => {
            f.insert("packet_id".into(), json!(packet_id));
            if !codes.is_empty() {
                f.insert("reason_codes".into(), json!(codes));
            }
            props = Some(properties);
            Class::Control
        }
        Packet::Unsubscribe {
            packet_id,
            filters,
            properties,
        } => {
            f.insert("packet_id".into(), json!(packet_id));
            f.insert("topic".into(), json!(filters.join(", ")));
            props = Some(properties);
            Class::Control
        }
        Packet::PingReq | Packet::PingResp => Class::KeepAlive,
        Packet::Disconnect { code, properties } | Packet::Auth { code, properties } => {
            f.insert("reason_code".into(), json!(code));
            if version == Version::V5 {
                f.insert("reason".into(), json!(reason_words(*code)));
            }
            props = Some(properties);
            Class::Control
        }
    };
    if let Some(p) = props.filter(|p| !p.is_empty()) {
        f.insert("properties".into(), properties_value(p));
    }
    Decoded::new("mqtt", class, f)
}

fn invalid(why: &str) -> Decoded {
    Decoded::invalid("mqtt", why)
}

/// A subscription the user asked for.
#[derive(Debug, Clone)]
struct Subscription {
    qos: u8,
    /// `None` until SUBACK: then the granted QoS or the refusal's code.
    granted: Option<u8>,
    received: u64,
}

/// MQTT on one connection.
#[derive(Debug)]
pub struct MqttLens {
    settings: Settings,
    automatic: bool,
    reader: Reader,
    client_id: String,
    connected: bool,
    failed: bool,
    connect_sent: Option<Instant>,
    last_ping: Option<Instant>,
    /// A PINGREQ not answered yet, since.
    ping_outstanding: Option<Instant>,
    next_id: u16,
    /// Our publishes waiting for PUBACK / PUBREC / PUBCOMP: id → (QoS, topic, sent at).
    outgoing: HashMap<u16, (u8, String, Instant)>,
    /// QoS 2 publishes received, waiting for PUBREL.
    incoming_qos2: HashSet<u16>,
    /// SUBSCRIBE / UNSUBSCRIBE waiting for their ack: id → filter (and whether it unsubscribes).
    pending: HashMap<u16, (String, bool, Instant)>,
    subscriptions: BTreeMap<String, Subscription>,
}

impl MqttLens {
    /// A lens; with `automatic` off it only decodes (and encodes the user's emits).
    pub fn new(settings: Settings, automatic: bool) -> Self {
        let client_id = if settings.client_id.is_empty() {
            use std::hash::{BuildHasher, Hasher};
            let random = std::collections::hash_map::RandomState::new()
                .build_hasher()
                .finish();
            format!("sockscope-{:08x}", random as u32)
        } else {
            settings.client_id.clone()
        };
        Self {
            reader: Reader::new(settings.version, MAX_PACKET),
            settings,
            automatic,
            client_id,
            connected: false,
            failed: false,
            connect_sent: None,
            last_ping: None,
            ping_outstanding: None,
            next_id: 1,
            outgoing: HashMap::new(),
            incoming_qos2: HashSet::new(),
            pending: HashMap::new(),
            subscriptions: BTreeMap::new(),
        }
    }

    fn version(&self) -> Version {
        self.settings.version
    }

    fn packet_id(&mut self) -> u16 {
        for _ in 0..=u16::MAX {
            let id = self.next_id;
            self.next_id = self.next_id.checked_add(1).unwrap_or(1).max(1);
            if !self.outgoing.contains_key(&id) && !self.pending.contains_key(&id) {
                return id;
            }
        }
        self.next_id
    }

    fn send(&self, packet: &Packet, automatic: bool) -> Output {
        let mut decoded = decoded(self.version(), packet);
        if automatic && matches!(packet, Packet::Publish(_)) {
            decoded.class = Class::Control;
        }
        Output::Send {
            message: WsData::Binary(encode(self.version(), packet)),
            decoded,
            automatic,
        }
    }

    fn connect_packet(&self) -> Packet {
        let s = &self.settings;
        let mut properties = Vec::new();
        if let Some(e) = s.session_expiry
            && s.version == Version::V5
        {
            properties.push((0x11, PropValue::Four(e)));
        }
        Packet::Connect(Connect {
            client_id: self.client_id.clone(),
            clean: s.clean,
            keep_alive: s.keep_alive,
            username: s.username.clone(),
            password: s.password.clone().map(String::into_bytes),
            will: s.will.clone(),
            properties,
            level: s.version.level(),
        })
    }

    fn failure(&mut self, message: String, handshake: bool, then: Then) -> Output {
        Output::ending(&mut self.failed, message, handshake, then)
    }

    fn keep_alive(&self) -> Option<Duration> {
        (self.settings.keep_alive > 0)
            .then(|| Duration::from_secs(u64::from(self.settings.keep_alive)))
    }

    /// How long a PINGREQ may go unanswered: the keep-alive, at most 30 s.
    fn ping_timeout(&self) -> Duration {
        self.keep_alive()
            .map_or(Duration::from_secs(30), |k| k.min(Duration::from_secs(30)))
    }

    fn on_packet(&mut self, now: Instant, packet: &Packet, out: &mut Vec<Output>) -> Decoded {
        let mut d = decoded(self.version(), packet);
        match packet {
            Packet::ConnAck {
                code, properties, ..
            } => {
                if *code == 0 {
                    if !self.connected {
                        self.connected = true;
                        self.last_ping = Some(now);
                        if let Some((_, PropValue::Two(k))) =
                            properties.iter().find(|(id, _)| *id == 0x13)
                        {
                            // The server's keep-alive replaces ours (MQTT 5 §3.2.2.3.14).
                            self.settings.keep_alive = *k;
                        }
                        if self.automatic {
                            out.push(Output::Ready);
                        }
                    }
                } else if self.automatic {
                    let reason = properties.iter().find_map(|(id, v)| match (id, v) {
                        (0x1F, PropValue::Str(s)) => Some(format!(": {s}")),
                        _ => None,
                    });
                    let why = format!(
                        "the MQTT broker refused the connection: {} (CONNACK code {code}){}",
                        connack_words(self.version(), *code),
                        reason.unwrap_or_default()
                    );
                    out.push(self.failure(why, true, Then::Close));
                }
            }
            Packet::Publish(p) => {
                for (filter, sub) in self.subscriptions.iter_mut() {
                    if topic_matches(filter, &p.topic) {
                        sub.received += 1;
                    }
                }
                if self.automatic
                    && let Some(id) = p.packet_id
                {
                    let kind = if p.qos == 1 {
                        AckKind::PubAck
                    } else {
                        if self.incoming_qos2.len() < MAX_IN_FLIGHT {
                            self.incoming_qos2.insert(id);
                        }
                        AckKind::PubRec
                    };
                    out.push(self.send(
                        &Packet::Ack {
                            kind,
                            packet_id: id,
                            code: 0,
                            properties: Vec::new(),
                        },
                        true,
                    ));
                }
            }
            Packet::Ack {
                kind,
                packet_id,
                code,
                ..
            } => {
                let id = *packet_id;
                match kind {
                    AckKind::PubAck | AckKind::PubComp => {
                        if let Some((qos, topic, at)) = self.outgoing.remove(&id) {
                            insert(&mut d, "topic", json!(topic));
                            insert(&mut d, "rtt_ms", rtt_ms(at, now));
                            if qos == 2 && *kind == AckKind::PubAck {
                                insert(
                                    &mut d,
                                    "note",
                                    json!(
                                        "the broker answered a QoS 2 publish with PUBACK: it delivered it at QoS 1 (RabbitMQ does not support QoS 2)"
                                    ),
                                );
                            }
                        }
                        if *code >= 0x80 {
                            out.push(Output::failed(format!(
                                "the broker refused publish {id}: {}",
                                reason_words(*code)
                            )));
                        }
                    }
                    AckKind::PubRec => {
                        if let Some((_, topic, _)) = self.outgoing.get(&id) {
                            insert(&mut d, "topic", json!(topic));
                        }
                        if *code >= 0x80 {
                            self.outgoing.remove(&id);
                            out.push(Output::failed(format!(
                                "the broker refused publish {id}: {}",
                                reason_words(*code)
                            )));
                        } else if self.automatic {
                            out.push(self.send(
                                &Packet::Ack {
                                    kind: AckKind::PubRel,
                                    packet_id: id,
                                    code: 0,
                                    properties: Vec::new(),
                                },
                                true,
                            ));
                        }
                    }
                    AckKind::PubRel => {
                        self.incoming_qos2.remove(&id);
                        if self.automatic {
                            out.push(self.send(
                                &Packet::Ack {
                                    kind: AckKind::PubComp,
                                    packet_id: id,
                                    code: 0,
                                    properties: Vec::new(),
                                },
                                true,
                            ));
                        }
                    }
                }
            }
            Packet::SubAck {
                packet_id, codes, ..
            } => {
                if let Some((filter, _, at)) = self.pending.remove(packet_id) {
                    insert(&mut d, "topic", json!(filter));
                    insert(&mut d, "rtt_ms", rtt_ms(at, now));
                    let code = codes.first().copied().unwrap_or(0x80);
                    if let Some(sub) = self.subscriptions.get_mut(&filter) {
                        sub.granted = Some(code);
                    }
                    if code >= 0x80 {
                        let words = if self.version() == Version::V5 {
                            reason_words(code)
                        } else {
                            "failure"
                        };
                        out.push(Output::failed(format!("the broker refused the subscription to {filter}: {words} (0x{code:02X})")));
                    }
                }
            }
            Packet::UnsubAck { packet_id, .. } => {
                if let Some((filter, _, at)) = self.pending.remove(packet_id) {
                    insert(&mut d, "topic", json!(filter));
                    insert(&mut d, "rtt_ms", rtt_ms(at, now));
                    self.subscriptions.remove(&filter);
                }
            }
            Packet::PingResp => {
                if let Some(at) = self.ping_outstanding.take() {
                    insert(&mut d, "rtt_ms", rtt_ms(at, now));
                }
            }
            Packet::Disconnect { code, properties } => {
                let reason = properties.iter().find_map(|(id, v)| match (id, v) {
                    (0x1F, PropValue::Str(s)) => Some(format!(": {s}")),
                    _ => None,
                });
                out.push(Output::failed(format!(
                    "the broker disconnected: {} (reason code {code}){}",
                    reason_words(*code),
                    reason.unwrap_or_default()
                )));
            }
            _ => {}
        }
        d
    }
}

fn insert(d: &mut Decoded, key: &str, value: Value) {
    if let Some(o) = d.value.as_object_mut() {
        o.insert(key.into(), value);
    }
}

impl Lens for MqttLens {
    fn version(&self) -> String {
        self.version().as_str().to_owned()
    }

    fn start(&mut self, now: Instant) -> Vec<Output> {
        if !self.automatic {
            return Vec::new();
        }
        self.connect_sent = Some(now);
        vec![self.send(&self.connect_packet(), true)]
    }

    fn on_message(&mut self, now: Instant, message: WsData) -> (Decoded, Vec<Output>) {
        let mut out = Vec::new();
        let (packets, error) = self.reader.feed_all(message.bytes());
        let mut parts: Vec<Decoded> = packets
            .iter()
            .map(|p| self.on_packet(now, p, &mut out))
            .collect();
        if let Some(e) = error {
            let why = format!("not an MQTT packet: {}", e.0);
            let fail = if self.automatic {
                // The byte stream cannot be followed past a malformed packet (§4.13).
                self.failure(why.clone(), !self.connected, Then::Close)
            } else {
                Output::failed(why.clone())
            };
            parts.push(invalid(&why));
            out.push(fail);
        }
        let decoded = Decoded::joined(parts)
            .unwrap_or_else(|| Decoded::partial("mqtt", self.reader.pending()));
        (decoded, out)
    }

    fn emit(&mut self, now: Instant, emit: &Value) -> Vec<Output> {
        let emit = match Emit::parse(emit) {
            Ok(e) => e,
            Err(why) => return vec![Output::failed(why)],
        };
        let packet = match emit {
            Emit::Subscribe { filter, qos } => {
                let id = self.packet_id();
                self.pending.insert(id, (filter.clone(), false, now));
                self.subscriptions.insert(
                    filter.clone(),
                    Subscription {
                        qos,
                        granted: None,
                        received: 0,
                    },
                );
                Packet::Subscribe {
                    packet_id: id,
                    filters: vec![(filter, qos)],
                    properties: Vec::new(),
                }
            }
            Emit::Unsubscribe { filter } => {
                let id = self.packet_id();
                self.pending.insert(id, (filter.clone(), true, now));
                Packet::Unsubscribe {
                    packet_id: id,
                    filters: vec![filter],
                    properties: Vec::new(),
                }
            }
            Emit::Publish(mut p) => {
                if !p.properties.is_empty() && self.version() == Version::V311 {
                    return vec![Output::failed(
                        "properties are MQTT 5's: this connection speaks 3.1.1 (protocol option version=5)",
                    )];
                }
                if p.qos > 0 {
                    if self.outgoing.len() >= MAX_IN_FLIGHT {
                        return vec![Output::failed(format!(
                            "{} publishes are waiting for the broker's acknowledgement: this one was not sent",
                            self.outgoing.len()
                        ))];
                    }
                    let id = self.packet_id();
                    p.packet_id = Some(id);
                    self.outgoing.insert(id, (p.qos, p.topic.clone(), now));
                }
                Packet::Publish(p)
            }
            Emit::Disconnect { code } => Packet::Disconnect {
                code,
                properties: Vec::new(),
            },
        };
        vec![self.send(&packet, false)]
    }

    fn describe_sent(&self, message: &WsData) -> Decoded {
        let mut reader = Reader::new(self.version(), MAX_PACKET);
        let (packets, error) = reader.feed_all(message.bytes());
        let mut parts: Vec<Decoded> = packets.iter().map(|p| decoded(self.version(), p)).collect();
        if let Some(e) = error {
            parts.push(invalid(&e.0));
        }
        Decoded::joined(parts).unwrap_or_else(|| invalid("an unfinished MQTT packet"))
    }

    fn next_deadline(&self) -> Option<Instant> {
        if !self.automatic || self.failed {
            return None;
        }
        if !self.connected {
            return self.connect_sent.map(|at| at + CONNACK_TIMEOUT);
        }
        let keep = self.keep_alive()?;
        let ping = self.last_ping.map(|at| at + keep);
        let late = self.ping_outstanding.map(|at| at + self.ping_timeout());
        [ping, late].into_iter().flatten().min()
    }

    fn on_time(&mut self, now: Instant) -> Vec<Output> {
        if !self.automatic || self.failed {
            return Vec::new();
        }
        if !self.connected {
            if self
                .connect_sent
                .is_some_and(|at| now >= at + CONNACK_TIMEOUT)
            {
                let why = format!(
                    "no CONNACK within {} s of CONNECT",
                    CONNACK_TIMEOUT.as_secs()
                );
                return vec![self.failure(why, true, Then::Close)];
            }
            return Vec::new();
        }
        let Some(keep) = self.keep_alive() else {
            return Vec::new();
        };
        if let Some(at) = self.ping_outstanding
            && now >= at + self.ping_timeout()
        {
            let why = format!(
                "the MQTT broker did not answer PINGREQ within {} s: it has gone silent",
                self.ping_timeout().as_secs_f64()
            );
            return vec![self.failure(why, false, Then::Drop)];
        }
        if self.last_ping.is_some_and(|at| now >= at + keep) {
            self.last_ping = Some(now);
            if self.ping_outstanding.is_none() {
                self.ping_outstanding = Some(now);
            }
            return vec![self.send(&Packet::PingReq, true)];
        }
        Vec::new()
    }

    fn handshake_done(&self) -> bool {
        self.connected
    }

    fn open_items(&self) -> Vec<OpenItem> {
        self.subscriptions
            .iter()
            .map(|(filter, sub)| OpenItem {
                kind: "subscription",
                key: filter.clone(),
                state: match sub.granted {
                    None => format!("asked QoS {}, waiting for SUBACK", sub.qos),
                    Some(c) if c < 0x80 => format!("granted QoS {c}"),
                    Some(c) => format!("refused (0x{c:02X})"),
                },
                received: sub.received,
                close: Some(json!({"unsubscribe": filter})),
            })
            .collect()
    }

    fn close_meaning(&self, _code: u16) -> Option<String> {
        None
    }
}
