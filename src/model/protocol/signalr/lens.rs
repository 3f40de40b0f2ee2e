//! SignalR as a [`Lens`]: the handshake record on open and its reply checked, pings every keep-alive interval,
//! a silent server reported after the server timeout, invocations given ids and their completions matched
//! (streams listed until they complete), and every record decoded (`{"name":"signalr","type":"invocation",…}`).

use super::{
    HubProtocol, Malformed, RS, fields_of_json, handshake_request, read_msgpack, split_records,
    write_msgpack,
};
use crate::model::protocol::engineio::WsData;
use crate::model::protocol::lens::{
    Class, Decoded, Lens, OpenItem, Options, Output, Then, bool_option, millis_option, rtt_ms,
};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// The `--protocol-option` keys SignalR reads.
pub const OPTION_KEYS: &[&str] = &[
    "keepalive_ms",
    "server_timeout_ms",
    "hub_protocol",
    "negotiate",
];

/// The official client's defaults: a ping every 15 s, the server silent for 30 s is gone.
pub const DEFAULT_KEEPALIVE: Duration = Duration::from_secs(15);
pub const DEFAULT_SERVER_TIMEOUT: Duration = Duration::from_secs(30);

/// How long the handshake reply may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(15);

/// An unfinished JSON record is kept up to this size across messages.
const MAX_PENDING: usize = 16 << 20;

/// Invocations waiting for their completion, at most (older ones are forgotten first).
const MAX_PENDING_INVOCATIONS: usize = 4096;

/// What the user chose for SignalR.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// A ping this often (`None`: 0, no pings).
    pub keepalive: Option<Duration>,
    /// The hub silent this long is gone (`None`: 0, never).
    pub server_timeout: Option<Duration>,
    pub hub_protocol: HubProtocol,
    /// POST `/negotiate` first and connect with its connectionToken (`negotiate=true`); off by default, as
    /// clients with skipNegotiation do.
    pub negotiate: bool,
}

impl Settings {
    pub fn from_options(options: &Options) -> Result<Self, String> {
        let hub_protocol = match options
            .get("hub_protocol")
            .map(|s| s.trim().to_ascii_lowercase())
        {
            None => HubProtocol::Json,
            Some(p) if p == "json" => HubProtocol::Json,
            Some(p) if p == "messagepack" || p == "msgpack" => HubProtocol::MessagePack,
            Some(p) => {
                return Err(format!(
                    "protocol option hub_protocol must be json or messagepack, not '{p}'"
                ));
            }
        };
        Ok(Self {
            keepalive: millis_option(options, "keepalive_ms")?
                .map_or(Some(DEFAULT_KEEPALIVE), nonzero_millis),
            server_timeout: millis_option(options, "server_timeout_ms")?
                .map_or(Some(DEFAULT_SERVER_TIMEOUT), nonzero_millis),
            hub_protocol,
            negotiate: bool_option(options, "negotiate", false)?,
        })
    }
}

/// Milliseconds as an interval, 0 as none.
fn nonzero_millis(ms: u64) -> Option<Duration> {
    (ms > 0).then(|| Duration::from_millis(ms))
}

/// One `--emit` for SignalR.
#[derive(Debug, Clone, PartialEq)]
pub enum Emit {
    /// `{"invoke":"Target","args":[…]}`: an invocation with an id; its completion is matched.
    Invoke { target: String, args: Vec<Value> },
    /// `{"stream":"Target","args":[…]}`: a stream invocation; its items and completion are matched.
    Stream { target: String, args: Vec<Value> },
    /// `{"send":"Target","args":[…]}`: an invocation without an id (no completion comes).
    Send { target: String, args: Vec<Value> },
    /// `{"cancel":"id"}`: stops a stream.
    Cancel { id: String },
}

impl Emit {
    pub fn parse(value: &Value) -> Result<Self, String> {
        let Some(o) = value.as_object() else {
            return Err("a SignalR emit is a JSON object like {\"invoke\":\"SendMessage\",\"args\":[\"hi\"]}".into());
        };
        if let Some(key) = o
            .keys()
            .find(|k| !["invoke", "stream", "send", "args", "cancel"].contains(&k.as_str()))
        {
            return Err(format!(
                "a SignalR emit has no field '{key}' (fields: invoke, stream or send, with args; or cancel)"
            ));
        }
        if let Some(id) = o.get("cancel") {
            return match id {
                Value::String(s) => Ok(Emit::Cancel { id: s.clone() }),
                Value::Number(n) => Ok(Emit::Cancel { id: n.to_string() }),
                _ => Err("a SignalR cancel names an invocation id".into()),
            };
        }
        let args = match o.get("args") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(a)) => a.clone(),
            Some(other) => vec![other.clone()],
        };
        let target = |key: &str| match o.get(key) {
            Some(Value::String(t)) if !t.is_empty() => Some(Ok(t.clone())),
            Some(_) => Some(Err(format!(
                "a SignalR emit's '{key}' is the hub method's name"
            ))),
            None => None,
        };
        if let Some(t) = target("invoke") {
            return Ok(Emit::Invoke { target: t?, args });
        }
        if let Some(t) = target("stream") {
            return Ok(Emit::Stream { target: t?, args });
        }
        if let Some(t) = target("send") {
            return Ok(Emit::Send { target: t?, args });
        }
        Err(
            "a SignalR emit needs \"invoke\", \"stream\" or \"send\" (a hub method), or \"cancel\""
                .into(),
        )
    }
}

/// An invocation waiting for its completion.
#[derive(Debug, Clone)]
struct Pending {
    target: String,
    stream: bool,
    at: Instant,
    items: u64,
}

/// SignalR on one connection.
#[derive(Debug)]
pub struct SignalrLens {
    settings: Settings,
    automatic: bool,
    handshake_sent: Option<Instant>,
    ready: bool,
    failed: bool,
    /// Bytes of an unfinished JSON record.
    pending_bytes: Vec<u8>,
    last_sent: Instant,
    last_received: Instant,
    next_id: u64,
    invocations: BTreeMap<String, Pending>,
}

fn decoded(fields: Map<String, Value>) -> Decoded {
    let class = match fields.get("type").and_then(Value::as_str) {
        Some(
            "invocation" | "stream_item" | "completion" | "stream_invocation" | "cancel_invocation",
        ) => Class::Application,
        Some("ping") => Class::KeepAlive,
        _ => Class::Control,
    };
    Decoded::new("signalr", class, fields)
}

fn invalid(why: &str) -> Decoded {
    Decoded::invalid("signalr", why)
}

/// The records of one JSON text (complete ones only), decoded.
fn json_records(bytes: &[u8]) -> Vec<Result<Map<String, Value>, Malformed>> {
    split_records(bytes)
        .0
        .into_iter()
        .map(|r| {
            serde_json::from_slice::<Value>(r)
                .map_err(|e| Malformed(format!("a SignalR record is not JSON: {e}")))
                .and_then(|v| fields_of_json(&v))
        })
        .collect()
}

impl SignalrLens {
    pub fn new(settings: Settings, automatic: bool) -> Self {
        let now = Instant::now();
        Self {
            settings,
            automatic,
            handshake_sent: None,
            ready: false,
            failed: false,
            pending_bytes: Vec::new(),
            last_sent: now,
            last_received: now,
            next_id: 0,
            invocations: BTreeMap::new(),
        }
    }

    fn msgpack(&self) -> bool {
        self.settings.hub_protocol == HubProtocol::MessagePack
    }

    /// A record to send, in the hub protocol spoken (the handshake is always JSON text).
    fn send_record(&mut self, now: Instant, record: Value, automatic: bool) -> Output {
        self.last_sent = now;
        let fields = fields_of_json(&record).unwrap_or_default();
        let message = if self.msgpack() {
            WsData::Binary(write_msgpack(&record))
        } else {
            WsData::Text(format!("{record}{}", RS as char))
        };
        Output::Send {
            message,
            decoded: decoded(fields),
            automatic,
        }
    }

    fn failure(&mut self, message: String, handshake: bool, then: Then) -> Output {
        Output::ending(&mut self.failed, message, handshake, then)
    }

    fn new_id(&mut self) -> String {
        let id = self.next_id.to_string();
        self.next_id += 1;
        id
    }

    fn remember(&mut self, id: String, target: String, stream: bool, now: Instant) {
        if self.invocations.len() >= MAX_PENDING_INVOCATIONS
            && let Some(oldest) = self
                .invocations
                .iter()
                .min_by_key(|(_, p)| p.at)
                .map(|(k, _)| k.clone())
        {
            self.invocations.remove(&oldest);
        }
        self.invocations.insert(
            id,
            Pending {
                target,
                stream,
                at: now,
                items: 0,
            },
        );
    }

    /// A received hub message: its decoded form (with what it answers) and what follows.
    fn on_record(
        &mut self,
        now: Instant,
        mut f: Map<String, Value>,
        out: &mut Vec<Output>,
    ) -> Decoded {
        let kind = f
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        let id = f
            .get("invocation_id")
            .and_then(Value::as_str)
            .map(str::to_owned);
        match kind.as_str() {
            "handshake" if !self.ready => {
                self.ready = true;
                if let Some(error) = f.get("error").and_then(Value::as_str) {
                    self.ready = false;
                    if self.automatic {
                        out.push(self.failure(
                            format!("the SignalR hub refused the handshake: {error}"),
                            true,
                            Then::Close,
                        ));
                    }
                } else if self.automatic {
                    out.push(Output::Ready);
                }
            }
            "stream_item" => {
                if let Some(p) = id.as_ref().and_then(|id| self.invocations.get_mut(id)) {
                    p.items += 1;
                    f.insert("target".into(), json!(p.target));
                }
            }
            "completion" => {
                if let Some(p) = id.as_ref().and_then(|id| self.invocations.remove(id)) {
                    f.insert("target".into(), json!(p.target));
                    f.insert("rtt_ms".into(), rtt_ms(p.at, now));
                    if p.stream {
                        f.insert("items".into(), json!(p.items));
                    }
                }
                if let Some(error) = f.get("error").and_then(Value::as_str) {
                    out.push(Output::failed(format!(
                        "the hub method failed (invocation {}): {error}",
                        id.as_deref().unwrap_or("?")
                    )));
                }
            }
            "close" => {
                let error = f.get("error").and_then(Value::as_str).unwrap_or("");
                let reconnect = f.get("allow_reconnect").and_then(Value::as_bool) == Some(true);
                let why = match (error.is_empty(), reconnect) {
                    (true, _) => "the SignalR hub closed the connection".to_owned(),
                    (false, false) => format!("the SignalR hub closed the connection: {error}"),
                    (false, true) => format!(
                        "the SignalR hub closed the connection: {error} (it allows a reconnect)"
                    ),
                };
                out.push(self.failure(why, !self.ready, Then::Close));
            }
            _ => {}
        }
        decoded(f)
    }

    fn decode_all(&self, message: &WsData) -> Decoded {
        let parts: Vec<Decoded> = match message {
            WsData::Text(t) => json_records(t.as_bytes())
                .into_iter()
                .map(|r| r.map_or_else(|e| invalid(&e.0), decoded))
                .collect(),
            WsData::Binary(b) => match read_msgpack(b) {
                Ok(records) => records.into_iter().map(decoded).collect(),
                Err(e) => vec![invalid(&e.0)],
            },
        };
        Decoded::joined(parts).unwrap_or_else(|| invalid("no complete SignalR record (no 0x1E)"))
    }
}

impl Lens for SignalrLens {
    fn version(&self) -> String {
        format!("{} 1", self.settings.hub_protocol.name())
    }

    fn start(&mut self, now: Instant) -> Vec<Output> {
        self.last_received = now;
        if !self.automatic {
            return Vec::new();
        }
        self.handshake_sent = Some(now);
        self.last_sent = now;
        let request = handshake_request(self.settings.hub_protocol);
        let mut f = Map::new();
        f.insert("type".into(), json!("handshake"));
        f.insert("protocol".into(), json!(self.settings.hub_protocol.name()));
        f.insert("version".into(), json!(1));
        vec![Output::Send {
            message: WsData::Text(request),
            decoded: decoded(f),
            automatic: true,
        }]
    }

    fn on_message(&mut self, now: Instant, message: WsData) -> (Decoded, Vec<Output>) {
        self.last_received = now;
        let mut out = Vec::new();
        let mut parts = Vec::new();
        let mut errors = Vec::new();
        match &message {
            WsData::Binary(b) if self.ready && self.msgpack() => match read_msgpack(b) {
                Ok(records) => {
                    for f in records {
                        parts.push(self.on_record(now, f, &mut out));
                    }
                }
                Err(e) => errors.push(e.0),
            },
            WsData::Binary(_) if self.ready => errors.push(
                "a binary message arrived, but the JSON hub protocol sends text (hub_protocol=messagepack?)"
                    .into(),
            ),
            // Text, or the handshake reply (JSON text even for MessagePack, in a binary frame or not).
            _ => {
                let bytes = message.bytes();
                let waiting = !self.pending_bytes.is_empty();
                self.pending_bytes.extend_from_slice(bytes);
                // An unfinished record is not read again until a piece brings a 0x1E (linear, not quadratic).
                if !waiting || bytes.contains(&RS) {
                    let buf = std::mem::take(&mut self.pending_bytes);
                    let mut rest = &buf[..];
                    while let Some(i) = rest.iter().position(|b| *b == RS) {
                        let record = &rest[..i];
                        rest = &rest[i + 1..];
                        match serde_json::from_slice::<Value>(record) {
                            Ok(v) => match fields_of_json(&v) {
                                Ok(f) => parts.push(self.on_record(now, f, &mut out)),
                                Err(e) => errors.push(e.0),
                            },
                            Err(e) => errors.push(format!("a SignalR record is not JSON: {e}")),
                        }
                        if self.ready && self.msgpack() {
                            // The handshake is done: what follows it in the same frame is MessagePack.
                            if !rest.is_empty() {
                                match read_msgpack(rest) {
                                    Ok(records) => {
                                        for f in records {
                                            parts.push(self.on_record(now, f, &mut out));
                                        }
                                    }
                                    Err(e) => errors.push(e.0),
                                }
                            }
                            rest = &[];
                            break;
                        }
                    }
                    self.pending_bytes = rest.to_vec();
                }
                if self.pending_bytes.len() > MAX_PENDING {
                    errors.push(format!(
                        "a SignalR record went on for {} bytes without its 0x1E (at most {MAX_PENDING} are kept)",
                        self.pending_bytes.len()
                    ));
                    self.pending_bytes = Vec::new();
                }
            }
        }
        for e in errors {
            out.push(Output::failed(format!("not a SignalR message: {e}")));
            parts.push(invalid(&e));
        }
        let decoded = Decoded::joined(parts)
            .unwrap_or_else(|| Decoded::partial("signalr", self.pending_bytes.len()));
        (decoded, out)
    }

    fn emit(&mut self, now: Instant, emit: &Value) -> Vec<Output> {
        let emit = match Emit::parse(emit) {
            Ok(e) => e,
            Err(why) => return vec![Output::failed(why)],
        };
        let record = match emit {
            Emit::Invoke { target, args } => {
                let id = self.new_id();
                self.remember(id.clone(), target.clone(), false, now);
                json!({"type": 1, "invocationId": id, "target": target, "arguments": args})
            }
            Emit::Stream { target, args } => {
                let id = self.new_id();
                self.remember(id.clone(), target.clone(), true, now);
                json!({"type": 4, "invocationId": id, "target": target, "arguments": args})
            }
            Emit::Send { target, args } => json!({"type": 1, "target": target, "arguments": args}),
            Emit::Cancel { id } => {
                self.invocations.remove(&id);
                json!({"type": 5, "invocationId": id})
            }
        };
        vec![self.send_record(now, record, false)]
    }

    fn describe_sent(&self, message: &WsData) -> Decoded {
        self.decode_all(message)
    }

    fn next_deadline(&self) -> Option<Instant> {
        if !self.automatic || self.failed {
            return None;
        }
        if !self.ready {
            return self.handshake_sent.map(|at| at + HANDSHAKE_TIMEOUT);
        }
        let ping = self.settings.keepalive.map(|k| self.last_sent + k);
        let silent = self.settings.server_timeout.map(|t| self.last_received + t);
        [ping, silent].into_iter().flatten().min()
    }

    fn on_time(&mut self, now: Instant) -> Vec<Output> {
        if !self.automatic || self.failed {
            return Vec::new();
        }
        if !self.ready {
            if self
                .handshake_sent
                .is_some_and(|at| now >= at + HANDSHAKE_TIMEOUT)
            {
                let why = format!(
                    "no handshake reply from the SignalR hub within {} s",
                    HANDSHAKE_TIMEOUT.as_secs()
                );
                return vec![self.failure(why, true, Then::Close)];
            }
            return Vec::new();
        }
        if let Some(timeout) = self.settings.server_timeout
            && now >= self.last_received + timeout
        {
            let why = format!(
                "the SignalR hub went silent: nothing for {} ms (server timeout {} ms)",
                now.saturating_duration_since(self.last_received)
                    .as_millis(),
                timeout.as_millis()
            );
            return vec![self.failure(why, false, Then::Drop)];
        }
        if self
            .settings
            .keepalive
            .is_some_and(|k| now >= self.last_sent + k)
        {
            return vec![self.send_record(now, json!({"type": 6}), true)];
        }
        Vec::new()
    }

    fn handshake_done(&self) -> bool {
        self.ready
    }

    fn open_items(&self) -> Vec<OpenItem> {
        self.invocations
            .iter()
            .map(|(id, p)| OpenItem {
                kind: if p.stream { "stream" } else { "invocation" },
                key: format!("{id} {}", p.target),
                state: if p.stream {
                    format!("{} items", p.items)
                } else {
                    "waiting for completion".into()
                },
                received: p.items,
                close: p.stream.then(|| json!({"cancel": id})),
            })
            .collect()
    }
}
