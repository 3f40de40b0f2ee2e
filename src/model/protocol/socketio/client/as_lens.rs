//! The Socket.IO client as the connection runs it: its [`Lens`] implementation (messages, emits, the timers of the
//! open packet, the namespaces' CONNECT and the heartbeat).

use super::super::super::engineio::{self, EioVersion, Payload, WsData};
use super::super::super::lens::{Class, Decoded, Lens, OpenItem, Output, Then};
use super::super::options::Emit;
use super::{Client, Namespace, NsState};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

impl Lens for Client {
    fn version(&self) -> String {
        self.eio().query_value().to_owned()
    }

    fn start(&mut self, now: Instant) -> Vec<Output> {
        self.started = Some(now);
        Vec::new()
    }

    fn on_message(&mut self, now: Instant, message: WsData) -> (Decoded, Vec<Output>) {
        match engineio::decode(self.eio(), message) {
            Ok(packet) => self.on_engine_packet(now, packet),
            Err(e) => {
                let why = e.to_string();
                (
                    self.invalid("engine.io", why.clone()),
                    vec![Output::failed(format!("the server sent {why}"))],
                )
            }
        }
    }

    fn emit(&mut self, now: Instant, emit: &Value) -> Vec<Output> {
        let emit = match Emit::parse(emit) {
            Ok(e) => e,
            Err(why) => return vec![Output::failed(why)],
        };
        match emit {
            Emit::Event {
                namespace,
                event,
                args,
                ack,
                auth,
            } => {
                let id = ack.then(|| self.allocate_ack(&namespace, &event));
                let packet = super::super::event(&namespace, &event, args, id);
                self.deliver(now, packet, auth)
            }
            Emit::Ack {
                namespace,
                id,
                args,
            } => {
                let packet = super::super::ack(&namespace, id, args);
                self.deliver(now, packet, None)
            }
            Emit::Connect { namespace, auth } => {
                if let Some(ns) = self.namespaces.get_mut(&namespace)
                    && matches!(ns.state, NsState::Refused(_))
                {
                    ns.state = NsState::Disconnected;
                }
                if self.open.is_none() {
                    self.namespaces
                        .entry(namespace)
                        .or_insert_with(Namespace::new);
                    return Vec::new();
                }
                self.connect_namespace(now, &namespace, auth)
            }
            Emit::Disconnect { namespace } => {
                if let Some(ns) = self.namespaces.get_mut(&namespace) {
                    ns.state = NsState::Disconnected;
                    ns.held.clear();
                }
                self.send_packet(super::super::disconnect(&namespace), false)
            }
        }
    }

    fn describe_sent(&self, message: &WsData) -> Decoded {
        let packet = match engineio::decode(self.eio(), message.clone()) {
            Ok(p) => p,
            Err(e) => return self.invalid("engine.io", e.to_string()),
        };
        match packet {
            engineio::Packet::Message(Payload::Text(text)) => {
                match super::super::decode_text(&text, self.sio) {
                    Ok(p) if p.attachments > 0 => self.part(1, p.attachments + 1),
                    Ok(p) => self.decoded_packet(&p, None),
                    Err(e) => self.invalid("socket.io", e.to_string()),
                }
            }
            engineio::Packet::Message(Payload::Binary(_)) => self.part(2, 2),
            other => {
                let class = match other {
                    engineio::Packet::Ping(_)
                    | engineio::Packet::Pong(_)
                    | engineio::Packet::Noop => Class::KeepAlive,
                    _ => Class::Control,
                };
                self.decoded_engine(other.type_name(), None, class)
            }
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        if !self.automatic || self.done {
            return None;
        }
        let Some(open) = &self.open else {
            return self
                .started
                .and_then(|s| s.checked_add(self.settings.open_timeout));
        };
        let connecting = self
            .namespaces
            .values()
            .filter_map(|n| match n.state {
                NsState::Connecting { since } => since.checked_add(self.settings.open_timeout),
                _ => None,
            })
            .min();
        let silence = Duration::from_millis(open.ping_interval_ms + open.ping_timeout_ms);
        let heartbeat = match self.eio() {
            EioVersion::V4 => self.last_ping.and_then(|p| p.checked_add(silence)),
            EioVersion::V3 => match (self.next_ping, self.pong_due) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            },
        };
        [connecting, heartbeat].into_iter().flatten().min()
    }

    fn on_time(&mut self, now: Instant) -> Vec<Output> {
        if !self.automatic || self.done {
            return Vec::new();
        }
        let timeout_ms = self.settings.open_timeout.as_millis();
        let Some(open) = self.open.clone() else {
            if self.next_deadline().is_some_and(|d| now >= d) {
                let why = format!(
                    "no Engine.IO open packet within {timeout_ms} ms of the WebSocket opening: is this a Socket.IO \
                     endpoint (path {}, EIO={})?",
                    self.settings.path,
                    self.eio().query_value()
                );
                return self.fail(why, true, Then::Close);
            }
            return Vec::new();
        };
        let mut out = Vec::new();
        let late: Vec<String> = self
            .namespaces
            .iter()
            .filter(|(_, n)| {
                matches!(n.state, NsState::Connecting { since }
                if since.checked_add(self.settings.open_timeout).is_some_and(|d| now >= d))
            })
            .map(|(k, _)| k.clone())
            .collect();
        for ns in late {
            let why = format!("no answer to CONNECT within {timeout_ms} ms");
            out.extend(self.on_refused(&ns, why));
        }
        let silence_ms = open.ping_interval_ms + open.ping_timeout_ms;
        match self.eio() {
            EioVersion::V4 => {
                let silent = self
                    .last_ping
                    .and_then(|p| p.checked_add(Duration::from_millis(silence_ms)))
                    .is_some_and(|d| now >= d);
                if silent {
                    let why = format!(
                        "no ping from the server for {silence_ms} ms (pingInterval {} + pingTimeout {}): the \
                         connection looks dead",
                        open.ping_interval_ms, open.ping_timeout_ms
                    );
                    out.extend(self.fail(why, false, Then::Drop));
                }
            }
            EioVersion::V3 => {
                if self.pong_due.is_some_and(|d| now >= d) {
                    let why = format!(
                        "no pong within pingTimeout ({} ms) of our ping: the connection looks dead",
                        open.ping_timeout_ms
                    );
                    out.extend(self.fail(why, false, Then::Drop));
                    return out;
                }
                if self.next_ping.is_some_and(|d| now >= d) {
                    self.next_ping = now.checked_add(Duration::from_millis(open.ping_interval_ms));
                    if self.pong_due.is_none() {
                        self.pong_due =
                            now.checked_add(Duration::from_millis(open.ping_timeout_ms));
                    }
                    out.push(self.send_engine(engineio::Packet::Ping(None), Class::KeepAlive));
                }
            }
        }
        out
    }

    fn handshake_done(&self) -> bool {
        self.open.is_some()
    }

    fn open_items(&self) -> Vec<OpenItem> {
        self.namespaces
            .iter()
            .map(|(name, ns)| {
                let state = match &ns.state {
                    NsState::Connecting { .. } => "connecting".to_owned(),
                    NsState::Connected => "connected".to_owned(),
                    NsState::Refused(why) => format!("refused: {why}"),
                    NsState::Disconnected => "disconnected".to_owned(),
                };
                OpenItem {
                    kind: "namespace",
                    key: name.clone(),
                    state,
                    received: ns.received,
                    close: (ns.state == NsState::Connected).then(|| json!({ "disconnect": name })),
                }
            })
            .collect()
    }
}
