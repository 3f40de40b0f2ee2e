//! The Socket.IO client's automatic part as a [`Lens`]: it reads Engine.IO's open packet, answers the server's
//! pings (Engine.IO 4) or sends its own (Engine.IO 3), notices a server gone silent after pingInterval +
//! pingTimeout like the official client, connects namespaces (with auth) before their first event, allocates
//! ack ids and matches acks to their events with the round-trip time, and puts binary attachments back.
//!
//! Sans-IO: WebSocket messages and instants in, messages to send and events out.

use super::super::engineio::{self, EioVersion, OpenInfo, Payload};
use super::super::lens::{Class, Decoded, Failure, Output, Then};
use super::options::{Settings, query_pair};
use super::{Packet, PacketType, Reassembler, SioVersion};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

/// Events held per namespace until it is connected, at most; more are refused in words.
pub const MAX_HELD_EVENTS: usize = 1024;
/// Acks waited for at once, at most (the oldest is forgotten).
pub const MAX_PENDING_ACKS: usize = 1024;
/// Namespaces one connection may open.
pub const MAX_NAMESPACES: usize = 256;

#[derive(Debug, Clone, PartialEq)]
enum NsState {
    Connecting { since: Instant },
    Connected,
    Refused(String),
    Disconnected,
}

#[derive(Debug)]
struct Namespace {
    state: NsState,
    /// Packets waiting for the namespace's CONNECT answer.
    held: VecDeque<Packet>,
    received: u64,
}

impl Namespace {
    fn new() -> Self {
        Self {
            state: NsState::Disconnected,
            held: VecDeque::new(),
            received: 0,
        }
    }
}

#[derive(Debug)]
struct PendingAck {
    namespace: String,
    event: String,
    /// When the event went out (set when it is sent, not when it is held).
    sent: Option<Instant>,
}

/// The Socket.IO client of one connection.
#[derive(Debug)]
pub struct Client {
    settings: Settings,
    sio: SioVersion,
    automatic: bool,
    started: Option<Instant>,
    open: Option<OpenInfo>,
    namespaces: BTreeMap<String, Namespace>,
    ready: bool,
    /// A failure that ends the connection was reported: no more timers.
    done: bool,
    next_ack: u64,
    acks: BTreeMap<u64, PendingAck>,
    reassembler: Reassembler,
    /// Engine.IO 4: the last ping (or the open packet); the server is silent past interval + timeout.
    last_ping: Option<Instant>,
    /// Engine.IO 3: when our next ping goes out, and when its pong is overdue.
    next_ping: Option<Instant>,
    pong_due: Option<Instant>,
    /// Parts of the binary packet being reassembled, counted for the part rows.
    parts_seen: usize,
}

impl Client {
    /// A client with these settings; with `automatic` off it only decodes.
    pub fn new(settings: Settings, automatic: bool) -> Self {
        Self {
            sio: SioVersion::from(settings.eio),
            settings,
            automatic,
            started: None,
            open: None,
            namespaces: BTreeMap::new(),
            ready: false,
            done: false,
            next_ack: 0,
            acks: BTreeMap::new(),
            reassembler: Reassembler::default(),
            last_ping: None,
            next_ping: None,
            pong_due: None,
            parts_seen: 0,
        }
    }

    fn eio(&self) -> EioVersion {
        self.settings.eio
    }

    fn decoded_engine(&self, kind: &str, data: Option<Value>, class: Class) -> Decoded {
        let mut fields = Map::new();
        fields.insert("layer".into(), json!("engine.io"));
        fields.insert("type".into(), json!(kind));
        if let Some(d) = data {
            fields.insert("data".into(), d);
        }
        Decoded::new("socket.io", class, fields)
    }

    fn invalid(&self, layer: &str, why: String) -> Decoded {
        let mut fields = Map::new();
        fields.insert("layer".into(), json!(layer));
        fields.insert("type".into(), json!("invalid"));
        fields.insert("error".into(), json!(why));
        Decoded::new("socket.io", Class::Invalid, fields)
    }

    fn part(&self, index: usize, count: usize) -> Decoded {
        let mut fields = Map::new();
        fields.insert("layer".into(), json!("socket.io"));
        fields.insert("type".into(), json!("part"));
        fields.insert("part".into(), json!(index));
        fields.insert("parts".into(), json!(count));
        Decoded::new("socket.io", Class::Part, fields)
    }

    /// A Socket.IO packet in protocol terms (`rtt` and the acked event's name for an ack we waited for).
    fn decoded_packet(&self, packet: &Packet, ack_of: Option<(&str, Option<Duration>)>) -> Decoded {
        let mut fields = Map::new();
        fields.insert("layer".into(), json!("socket.io"));
        let (kind, class) = match packet.kind {
            PacketType::Connect => ("connect", Class::Control),
            PacketType::Disconnect => ("disconnect", Class::Application),
            PacketType::Event | PacketType::BinaryEvent => ("event", Class::Application),
            PacketType::Ack | PacketType::BinaryAck => ("ack", Class::Application),
            PacketType::ConnectError => ("connect_error", Class::Control),
        };
        fields.insert("type".into(), json!(kind));
        fields.insert("namespace".into(), json!(packet.namespace_path()));
        if let Some(name) = packet.event_name() {
            fields.insert("event".into(), json!(name));
        }
        if let Some((event, _)) = ack_of {
            fields.insert("event".into(), json!(event));
        }
        if packet.kind.is_event() || packet.kind.is_ack() {
            fields.insert("args".into(), Value::Array(packet.args().to_vec()));
        } else if let Some(data) = &packet.data {
            fields.insert("data".into(), data.clone());
        }
        if let Some(id) = packet.id {
            fields.insert("ack_id".into(), json!(id));
        }
        if let Some((_, Some(rtt))) = ack_of {
            fields.insert(
                "rtt_ms".into(),
                json!(crate::model::millis(rtt.as_secs_f64())),
            );
        }
        Decoded::new("socket.io", class, fields)
    }

    /// The messages that carry `packet` (its text, then its attachments), each logged: the parts as parts, the
    /// last with the whole decoded packet.
    fn send_packet(&self, packet: Packet, automatic: bool) -> Vec<Output> {
        let decoded = self.decoded_packet(&packet, None);
        let (packet, attachments) = match super::split_binary(packet) {
            Ok(split) => split,
            Err(e) => return vec![Output::failed(format!("not sent: {e}"))],
        };
        let mut messages = Vec::with_capacity(attachments.len() + 1);
        messages.push(engineio::encode(
            self.eio(),
            &engineio::Packet::Message(Payload::Text(super::encode_text(&packet))),
        ));
        for bytes in attachments {
            messages.push(engineio::encode(
                self.eio(),
                &engineio::Packet::Message(Payload::Binary(bytes)),
            ));
        }
        let count = messages.len();
        messages
            .into_iter()
            .enumerate()
            .map(|(i, message)| Output::Send {
                message,
                decoded: if i + 1 == count {
                    decoded.clone()
                } else {
                    self.part(i + 1, count)
                },
                automatic,
            })
            .collect()
    }

    fn send_engine(&self, packet: engineio::Packet, class: Class) -> Output {
        let data = match &packet {
            engineio::Packet::Ping(Some(d)) | engineio::Packet::Pong(Some(d)) => Some(json!(d)),
            _ => None,
        };
        Output::Send {
            decoded: self.decoded_engine(packet.type_name(), data, class),
            message: engineio::encode(self.eio(), &packet),
            automatic: true,
        }
    }

    /// CONNECT for `namespace` with `auth` (v2: as a query on the namespace).
    fn connect_packet(&self, namespace: &str, auth: Option<Value>) -> Packet {
        match self.sio {
            SioVersion::V5 => super::connect(namespace, auth),
            SioVersion::V4 => {
                let mut ns = namespace.to_owned();
                if let Some(auth) = auth.as_ref().and_then(Value::as_object) {
                    let query: Vec<String> = auth.iter().map(|(k, v)| query_pair(k, v)).collect();
                    ns.push('?');
                    ns.push_str(&query.join("&"));
                }
                super::connect(&ns, None)
            }
        }
    }

    /// Starts connecting `namespace` (unless it is connected or connecting).
    fn connect_namespace(
        &mut self,
        now: Instant,
        namespace: &str,
        auth: Option<Value>,
    ) -> Vec<Output> {
        let known = self.namespaces.get(namespace).map(|n| &n.state);
        if matches!(known, Some(NsState::Connected | NsState::Connecting { .. })) {
            return Vec::new();
        }
        if known.is_none() && self.namespaces.len() >= MAX_NAMESPACES {
            return vec![Output::failed(format!(
                "namespace {namespace} not connected: {MAX_NAMESPACES} namespaces are open already"
            ))];
        }
        let ns = self
            .namespaces
            .entry(namespace.to_owned())
            .or_insert_with(Namespace::new);
        ns.state = NsState::Connecting { since: now };
        if self.sio == SioVersion::V4 && namespace == "/" {
            // A Socket.IO 2 server joins the main namespace by itself.
            return Vec::new();
        }
        let packet = self.connect_packet(namespace, auth);
        self.send_packet(packet, true)
    }

    /// Sends `packet` on its namespace now, or holds it until the namespace is connected.
    fn deliver(&mut self, now: Instant, packet: Packet, auth: Option<Value>) -> Vec<Output> {
        let namespace = packet.namespace_path().to_owned();
        let connected = self
            .namespaces
            .get(&namespace)
            .is_some_and(|n| n.state == NsState::Connected);
        if connected && self.open.is_some() {
            self.mark_sent(&packet, now);
            return self.send_packet(packet, false);
        }
        let mut out = Vec::new();
        if self.open.is_some() {
            out = self.connect_namespace(now, &namespace, auth);
        }
        if !self.namespaces.contains_key(&namespace) {
            if self.namespaces.len() >= MAX_NAMESPACES {
                out.push(Output::failed(format!(
                    "namespace {namespace} not connected: {MAX_NAMESPACES} namespaces are open already"
                )));
                return out;
            }
            // Before the open packet: connected once it comes.
            self.namespaces.insert(namespace.clone(), Namespace::new());
        }
        let Some(ns) = self.namespaces.get_mut(&namespace) else {
            return out;
        };
        if ns.held.len() >= MAX_HELD_EVENTS {
            out.push(Output::failed(format!(
                "{MAX_HELD_EVENTS} events already wait for namespace {namespace} to connect: not sent"
            )));
            return out;
        }
        ns.held.push_back(packet);
        out
    }

    fn mark_sent(&mut self, packet: &Packet, now: Instant) {
        if let Some(id) = packet.id
            && let Some(pending) = self.acks.get_mut(&id)
        {
            pending.sent = Some(now);
        }
    }

    fn allocate_ack(&mut self, namespace: &str, event: &str) -> u64 {
        let id = self.next_ack;
        self.next_ack = self.next_ack.wrapping_add(1);
        if self.acks.len() >= MAX_PENDING_ACKS
            && let Some(oldest) = self.acks.keys().next().copied()
        {
            self.acks.remove(&oldest);
        }
        self.acks.insert(
            id,
            PendingAck {
                namespace: namespace.to_owned(),
                event: event.to_owned(),
                sent: None,
            },
        );
        id
    }

    fn on_engine_packet(
        &mut self,
        now: Instant,
        packet: engineio::Packet,
    ) -> (Decoded, Vec<Output>) {
        self.pong_due = None;
        match packet {
            engineio::Packet::Open(info) => self.on_open(now, info),
            engineio::Packet::Ping(data) => {
                self.last_ping = Some(now);
                let decoded =
                    self.decoded_engine("ping", data.clone().map(Value::String), Class::KeepAlive);
                let reply = engineio::Packet::Pong(data);
                let out = if self.automatic {
                    vec![self.send_engine(reply, Class::KeepAlive)]
                } else {
                    Vec::new()
                };
                (decoded, out)
            }
            engineio::Packet::Pong(data) => (
                self.decoded_engine("pong", data.map(Value::String), Class::KeepAlive),
                Vec::new(),
            ),
            engineio::Packet::Noop => (
                self.decoded_engine("noop", None, Class::KeepAlive),
                Vec::new(),
            ),
            engineio::Packet::Upgrade => (
                self.decoded_engine("upgrade", None, Class::Control),
                Vec::new(),
            ),
            engineio::Packet::Close => {
                self.done = true;
                let out = vec![Output::failed(
                    "the server closed the Engine.IO session (close packet)",
                )];
                (self.decoded_engine("close", None, Class::Control), out)
            }
            engineio::Packet::Message(payload) => self.on_payload(now, payload),
        }
    }

    fn on_open(&mut self, now: Instant, info: OpenInfo) -> (Decoded, Vec<Output>) {
        let mut data = Map::new();
        data.insert("sid".into(), json!(info.sid));
        data.insert("upgrades".into(), json!(info.upgrades));
        data.insert("pingInterval".into(), json!(info.ping_interval_ms));
        data.insert("pingTimeout".into(), json!(info.ping_timeout_ms));
        if let Some(max) = info.max_payload {
            data.insert("maxPayload".into(), json!(max));
        }
        let decoded = self.decoded_engine("open", Some(Value::Object(data)), Class::Control);
        let first = self.open.is_none();
        let interval = Duration::from_millis(info.ping_interval_ms);
        self.open = Some(info);
        let mut out = Vec::new();
        if !first || !self.automatic {
            return (decoded, out);
        }
        match self.eio() {
            EioVersion::V4 => self.last_ping = Some(now),
            EioVersion::V3 => self.next_ping = now.checked_add(interval),
        }
        let main = self.settings.namespace.clone();
        let auth = self.settings.auth.clone();
        if self.sio == SioVersion::V4 {
            out.extend(self.connect_namespace(now, "/", None));
        }
        out.extend(self.connect_namespace(now, &main, auth));
        // Events the user sent before the open packet wait in their namespaces: connect those too.
        let waiting: Vec<String> = self
            .namespaces
            .iter()
            .filter(|(_, n)| !n.held.is_empty() && matches!(n.state, NsState::Disconnected))
            .map(|(k, _)| k.clone())
            .collect();
        for ns in waiting {
            out.extend(self.connect_namespace(now, &ns, None));
        }
        (decoded, out)
    }

    fn on_payload(&mut self, now: Instant, payload: Payload) -> (Decoded, Vec<Output>) {
        let fed = match payload {
            Payload::Text(text) => match super::decode_text(&text, self.sio) {
                Ok(packet) => {
                    self.parts_seen = 0;
                    self.reassembler.feed_text(packet)
                }
                Err(e) => {
                    let why = e.to_string();
                    return (
                        self.invalid("socket.io", why.clone()),
                        vec![Output::failed(format!("the server sent {why}"))],
                    );
                }
            },
            Payload::Binary(bytes) => self.reassembler.feed_binary(bytes),
        };
        match fed {
            Ok(Some(packet)) => {
                self.parts_seen = 0;
                self.on_packet(now, packet)
            }
            Ok(None) => {
                self.parts_seen += 1;
                let total = self.parts_seen + self.reassembler.missing();
                (self.part(self.parts_seen, total), Vec::new())
            }
            Err(e) => {
                self.parts_seen = 0;
                let why = e.to_string();
                (
                    self.invalid("socket.io", why.clone()),
                    vec![Output::failed(format!("the server sent {why}"))],
                )
            }
        }
    }

    fn on_packet(&mut self, now: Instant, packet: Packet) -> (Decoded, Vec<Output>) {
        let namespace = packet.namespace_path().to_owned();
        let mut out = Vec::new();
        match packet.kind {
            PacketType::Connect => out = self.on_connected(now, &namespace),
            PacketType::ConnectError => {
                let why = match &packet.data {
                    Some(Value::Object(o)) => o
                        .get("message")
                        .and_then(Value::as_str)
                        .map_or_else(|| Value::Object(o.clone()).to_string(), str::to_owned),
                    Some(Value::String(s)) => s.clone(),
                    Some(other) => other.to_string(),
                    None => "no reason given".into(),
                };
                out = self.on_refused(&namespace, why);
            }
            PacketType::Disconnect => {
                if let Some(ns) = self.namespaces.get_mut(&namespace) {
                    ns.state = NsState::Disconnected;
                    ns.held.clear();
                }
                out.push(Output::failed(format!(
                    "the server disconnected namespace {namespace}"
                )));
            }
            PacketType::Event | PacketType::BinaryEvent => {
                if let Some(ns) = self.namespaces.get_mut(&namespace) {
                    ns.received += 1;
                }
            }
            PacketType::Ack | PacketType::BinaryAck => {
                let pending = packet.id.and_then(|id| self.acks.remove(&id));
                if let Some(ns) = self.namespaces.get_mut(&namespace) {
                    ns.received += 1;
                }
                if let Some(p) = pending.filter(|p| p.namespace == namespace) {
                    let rtt = p.sent.map(|sent| now.saturating_duration_since(sent));
                    let decoded = self.decoded_packet(&packet, Some((&p.event, rtt)));
                    return (decoded, out);
                }
            }
        }
        (self.decoded_packet(&packet, None), out)
    }

    fn on_connected(&mut self, now: Instant, namespace: &str) -> Vec<Output> {
        let ns = self
            .namespaces
            .entry(namespace.to_owned())
            .or_insert_with(Namespace::new);
        ns.state = NsState::Connected;
        let held: Vec<Packet> = ns.held.drain(..).collect();
        let mut out = Vec::new();
        if !self.ready && namespace == self.settings.namespace {
            self.ready = true;
            out.push(Output::Ready);
        }
        for packet in held {
            self.mark_sent(&packet, now);
            out.extend(self.send_packet(packet, false));
        }
        out
    }

    fn on_refused(&mut self, namespace: &str, why: String) -> Vec<Output> {
        let mut dropped = 0;
        if let Some(ns) = self.namespaces.get_mut(namespace) {
            dropped = ns.held.len();
            ns.held.clear();
            ns.state = NsState::Refused(why.clone());
        }
        let not_sent = if dropped > 0 {
            format!(" ({dropped} event(s) not sent)")
        } else {
            String::new()
        };
        let main = namespace == self.settings.namespace && !self.ready;
        if main {
            self.done = true;
        }
        vec![Output::Failed(Failure {
            message: format!("the server refused namespace {namespace}: {why}{not_sent}"),
            handshake: false,
            then: if main { Then::Close } else { Then::Continue },
        })]
    }

    fn fail(&mut self, message: String, handshake: bool, then: Then) -> Vec<Output> {
        self.done = true;
        vec![Output::Failed(Failure {
            message,
            handshake,
            then,
        })]
    }
}

mod as_lens;

#[cfg(test)]
mod tests;
