//! STOMP as a [`Lens`]: CONNECT on open (accept-version, host, login / passcode, heart-beat), CONNECTED or
//! ERROR, heart-beats sent and checked at the negotiated rate, subscriptions listed, receipts matched to the frame
//! that asked for them, and every frame decoded (`{"name":"stomp","type":"MESSAGE","headers":{…},"body":…}`).

use super::{Frame, Item, Reader, Version, encode};
use crate::model::protocol::engineio::WsData;
use crate::model::protocol::lens::{
    Class, Decoded, Lens, OpenItem, Options, Output, Then, bytes_value, rtt_ms,
};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

/// The `--protocol-option` keys STOMP reads.
pub const OPTION_KEYS: &[&str] = &["login", "passcode", "host", "heart-beat"];

/// The heart-beat asked for unless told otherwise: 10 s each way, as stomp.js does.
pub const DEFAULT_HEART_BEAT: (u64, u64) = (10_000, 10_000);

/// The versions CONNECT accepts.
pub const ACCEPT_VERSION: &str = "1.0,1.1,1.2";

/// How long CONNECTED may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// An unfinished frame is kept up to this size across WebSocket messages.
const MAX_PENDING: usize = 16 << 20;

/// Receipts waited for at most; older ones are forgotten first.
const MAX_RECEIPTS: usize = 1024;

/// What the user chose for STOMP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub login: Option<String>,
    pub passcode: Option<String>,
    /// The `host` header (RabbitMQ reads it as the virtual host): `/` unless told.
    pub host: String,
    /// The heart-beat asked for: (the client sends every, the client wants every), ms; 0 is none.
    pub heart_beat: (u64, u64),
}

impl Settings {
    /// The settings named by `--protocol-option`s.
    pub fn from_options(options: &Options) -> Result<Self, String> {
        let heart_beat = match options.get("heart-beat") {
            None => DEFAULT_HEART_BEAT,
            Some(text) => parse_heart_beat(text).ok_or_else(|| {
                format!(
                    "protocol option heart-beat must be two whole numbers of milliseconds, CX,CY (e.g. 10000,10000; 0 is none), not '{text}'"
                )
            })?,
        };
        // CONNECT's headers are never escaped: a line break cannot travel in them.
        for key in ["login", "passcode", "host"] {
            if options.get(key).is_some_and(|v| v.contains(['\n', '\r'])) {
                return Err(format!(
                    "protocol option {key} cannot hold a line break (CONNECT's headers are not escaped)"
                ));
            }
        }
        Ok(Self {
            login: options.get("login").cloned(),
            passcode: options.get("passcode").cloned(),
            host: options.get("host").cloned().unwrap_or_else(|| "/".into()),
            heart_beat,
        })
    }
}

/// `10000,10000` → (10000, 10000).
fn parse_heart_beat(text: &str) -> Option<(u64, u64)> {
    let (a, b) = text.split_once(',')?;
    Some((a.trim().parse().ok()?, b.trim().parse().ok()?))
}

/// One `--emit` for STOMP: `{"command":"SEND","headers":{…},"body":"…"}` (body text, or `{"base64":…}`).
pub fn parse_emit(value: &Value) -> Result<Frame, String> {
    let Some(object) = value.as_object() else {
        return Err(
            "a STOMP emit is a JSON object like {\"command\":\"SEND\",\"headers\":{\"destination\":\"/queue/a\"},\"body\":\"hi\"}"
                .into(),
        );
    };
    if let Some(key) = object
        .keys()
        .find(|k| !["command", "headers", "body"].contains(&k.as_str()))
    {
        return Err(format!(
            "a STOMP emit has no field '{key}' (fields: command, headers, body)"
        ));
    }
    let command = match object.get("command") {
        Some(Value::String(c)) if !c.is_empty() && c.bytes().all(|b| b.is_ascii_alphabetic()) => {
            c.to_ascii_uppercase()
        }
        _ => return Err("a STOMP emit needs \"command\": a word such as SUBSCRIBE or SEND".into()),
    };
    let mut headers = Vec::new();
    match object.get("headers") {
        None | Some(Value::Null) => {}
        Some(Value::Object(h)) => {
            for (k, v) in h {
                let v = match v {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    Value::Bool(b) => b.to_string(),
                    _ => {
                        return Err(format!(
                            "the STOMP header '{k}' must be a string, number or true/false"
                        ));
                    }
                };
                headers.push((k.clone(), v));
            }
        }
        Some(_) => return Err("a STOMP emit's 'headers' must be a JSON object".into()),
    }
    let body = match object.get("body") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) => s.clone().into_bytes(),
        Some(v) => crate::model::protocol::lens::value_bytes(v)
            .ok_or_else(|| "a STOMP emit's 'body' must be text or {\"base64\":\"…\"}".to_owned())?,
    };
    Ok(Frame {
        command,
        headers,
        body,
    })
}

/// The decoded form of a frame.
pub fn decoded(frame: &Frame) -> Decoded {
    let mut fields = Map::new();
    fields.insert("type".into(), json!(frame.command));
    let mut headers = Map::new();
    for (k, v) in &frame.headers {
        // The first occurrence of a repeated header is the one that counts.
        headers.entry(k.clone()).or_insert_with(|| json!(v));
    }
    fields.insert("headers".into(), Value::Object(headers));
    let body = if frame.body.is_empty() {
        Value::Null
    } else {
        match std::str::from_utf8(&frame.body) {
            Ok(text) if !text.contains('\0') => json!(text),
            _ => bytes_value(&frame.body),
        }
    };
    fields.insert("body".into(), body);
    if let Some(length) = frame.header("content-length")
        && length.trim().parse::<usize>().is_err()
    {
        fields.insert(
            "warning".into(),
            json!(format!(
                "content-length {length:?} is not a number: the body was read up to its NUL"
            )),
        );
    }
    let class = match frame.command.as_str() {
        "MESSAGE" => Class::Application,
        _ => Class::Control,
    };
    Decoded::new("stomp", class, fields)
}

fn heart_beat_decoded() -> Decoded {
    let mut fields = Map::new();
    fields.insert("type".into(), json!("heartbeat"));
    Decoded::new("stomp", Class::KeepAlive, fields)
}

fn invalid(why: &str) -> Decoded {
    Decoded::invalid("stomp", why)
}

/// Reads a whole message on its own (for messages the user typed, and for the automatic part's own frames).
fn describe(version: Version, bytes: &[u8]) -> Decoded {
    let mut reader = Reader::new(MAX_PENDING);
    reader.version = version;
    let (items, error) = reader.feed_all(bytes);
    let mut parts: Vec<Decoded> = items
        .iter()
        .map(|item| match item {
            Item::Frame(f) => decoded(f),
            Item::HeartBeat => heart_beat_decoded(),
        })
        .collect();
    if let Some(e) = error {
        parts.push(invalid(&e.0));
    }
    Decoded::joined(parts).unwrap_or_else(|| invalid("an unfinished STOMP frame (no closing NUL)"))
}

/// A subscription the user made.
#[derive(Debug, Clone)]
struct Subscription {
    destination: String,
    received: u64,
    confirmed: bool,
}

/// STOMP on one connection.
#[derive(Debug)]
pub struct StompLens {
    settings: Settings,
    automatic: bool,
    reader: Reader,
    /// CONNECTED came.
    connected: bool,
    failed: bool,
    /// When CONNECT went (for its timeout).
    connect_sent: Option<Instant>,
    /// We send a heart-beat this often (0: never).
    send_every: Option<Duration>,
    /// The server must send something this often.
    expect_every: Option<Duration>,
    last_sent: Instant,
    last_received: Instant,
    subscriptions: BTreeMap<String, Subscription>,
    /// Receipt id → (the command that asked, when, the subscription id it concerns).
    receipts: HashMap<String, (String, Instant, Option<String>)>,
    next_subscription: u64,
    next_receipt: u64,
    server: Option<String>,
}

impl StompLens {
    /// A lens; with `automatic` off it only decodes.
    pub fn new(settings: Settings, automatic: bool) -> Self {
        let now = Instant::now();
        Self {
            settings,
            automatic,
            reader: Reader::new(MAX_PENDING),
            connected: false,
            failed: false,
            connect_sent: None,
            send_every: None,
            expect_every: None,
            last_sent: now,
            last_received: now,
            subscriptions: BTreeMap::new(),
            receipts: HashMap::new(),
            next_subscription: 0,
            next_receipt: 0,
            server: None,
        }
    }

    fn version(&self) -> Version {
        self.reader.version
    }

    fn connect_frame(&self) -> Frame {
        let s = &self.settings;
        let mut frame = Frame::new(
            "CONNECT",
            &[("accept-version", ACCEPT_VERSION), ("host", &s.host)],
        );
        if let Some(login) = &s.login {
            frame.set_header("login", login);
        }
        if let Some(passcode) = &s.passcode {
            frame.set_header("passcode", passcode);
        }
        frame.set_header(
            "heart-beat",
            &format!("{},{}", s.heart_beat.0, s.heart_beat.1),
        );
        frame
    }

    fn send(&mut self, now: Instant, frame: &Frame, automatic: bool) -> Output {
        if let Some(why) = super::unencodable(self.version(), frame) {
            return Output::failed(why);
        }
        self.last_sent = now;
        let bytes = encode(self.version(), frame);
        let mut decoded = decoded(frame);
        if frame.command == "CONNECT"
            && let Some(obj) = decoded
                .value
                .get_mut("headers")
                .and_then(Value::as_object_mut)
            && obj.contains_key("passcode")
        {
            obj.insert("passcode".into(), json!("***"));
        }
        Output::Send {
            message: text_or_binary(bytes),
            decoded,
            automatic,
        }
    }

    /// What CONNECTED agreed: the heart-beat each way (§ Heart-beating).
    fn on_connected(&mut self, frame: &Frame) {
        self.connected = true;
        // A CONNECTED without a version is a STOMP 1.0 server's.
        self.reader.version = frame
            .header("version")
            .and_then(Version::parse)
            .unwrap_or(Version::V10);
        self.server = frame.header("server").map(str::to_owned);
        let (sx, sy) = frame
            .header("heart-beat")
            .and_then(parse_heart_beat)
            .unwrap_or((0, 0));
        let (cx, cy) = self.settings.heart_beat;
        let every = |a: u64, b: u64| (a > 0 && b > 0).then(|| Duration::from_millis(a.max(b)));
        self.send_every = every(cx, sy);
        self.expect_every = every(cy, sx);
    }

    fn failure(&mut self, message: String, handshake: bool, then: Then) -> Output {
        Output::ending(&mut self.failed, message, handshake, then)
    }

    /// Notes a frame the user sends: its subscription, its receipt.
    fn note_sent(&mut self, now: Instant, frame: &Frame) {
        let id = frame.header("id").map(str::to_owned);
        match frame.command.as_str() {
            "SUBSCRIBE" => {
                let key = id
                    .clone()
                    .or_else(|| frame.header("destination").map(str::to_owned))
                    .unwrap_or_default();
                self.subscriptions.insert(
                    key,
                    Subscription {
                        destination: frame.header("destination").unwrap_or("").to_owned(),
                        received: 0,
                        confirmed: false,
                    },
                );
            }
            "UNSUBSCRIBE" => {
                if let Some(id) = &id {
                    self.subscriptions.remove(id);
                }
            }
            _ => {}
        }
        if let Some(receipt) = frame.header("receipt") {
            if self.receipts.len() >= MAX_RECEIPTS {
                let oldest = self
                    .receipts
                    .iter()
                    .min_by_key(|(_, (_, at, _))| *at)
                    .map(|(k, _)| k.clone());
                if let Some(oldest) = oldest {
                    self.receipts.remove(&oldest);
                }
            }
            let sub = (frame.command == "SUBSCRIBE").then_some(id).flatten();
            self.receipts
                .insert(receipt.to_owned(), (frame.command.clone(), now, sub));
        }
    }

    /// The frame the user asked for, with what the protocol needs added: a SUBSCRIBE's id and ack mode.
    fn complete(&mut self, mut frame: Frame) -> Frame {
        if frame.command == "SUBSCRIBE" {
            if frame.header("id").is_none() {
                frame.set_header("id", &format!("sub-{}", self.next_subscription));
                self.next_subscription += 1;
            }
            if frame.header("ack").is_none() {
                frame.set_header("ack", "auto");
            }
        }
        // The content-length the encoder adds for a body with NUL, added here so the logged frame shows it.
        if frame.body.contains(&0) && frame.header("content-length").is_none() {
            let length = frame.body.len().to_string();
            frame.set_header("content-length", &length);
        }
        if frame.command == "DISCONNECT" && frame.header("receipt").is_none() {
            frame.set_header("receipt", &format!("disconnect-{}", self.next_receipt));
            self.next_receipt += 1;
        }
        frame
    }

    /// A received frame: its decoded form and what follows.
    fn on_frame(&mut self, now: Instant, frame: &Frame, out: &mut Vec<Output>) -> Decoded {
        let mut d = decoded(frame);
        match frame.command.as_str() {
            "CONNECTED" if !self.connected => {
                self.on_connected(frame);
                if self.automatic {
                    out.push(Output::Ready);
                }
            }
            "ERROR" => {
                let words = error_words(frame);
                if self.automatic && !self.connected {
                    out.push(self.failure(
                        format!("the STOMP server refused the connection: {words}"),
                        true,
                        Then::Close,
                    ));
                } else {
                    // The server closes the connection after an ERROR frame (§ ERROR).
                    out.push(self.failure(
                        format!("the STOMP server sent ERROR: {words}"),
                        false,
                        Then::Continue,
                    ));
                }
            }
            "MESSAGE" => {
                let id = frame.header("subscription").unwrap_or("");
                if let Some(sub) = self.subscriptions.get_mut(id) {
                    sub.received += 1;
                    sub.confirmed = true;
                }
            }
            "RECEIPT" => {
                if let Some(id) = frame.header("receipt-id")
                    && let Some((command, at, sub)) = self.receipts.remove(id)
                {
                    if let Some(obj) = d.value.as_object_mut() {
                        obj.insert("receipt_for".into(), json!(command));
                        obj.insert("rtt_ms".into(), rtt_ms(at, now));
                    }
                    if let Some(sub) = sub.and_then(|s| self.subscriptions.get_mut(&s)) {
                        sub.confirmed = true;
                    }
                }
            }
            _ => {}
        }
        d
    }
}

/// An ERROR frame in words: its `message` header and its body.
fn error_words(frame: &Frame) -> String {
    let message = frame.header("message").unwrap_or("").trim();
    let body = String::from_utf8_lossy(&frame.body);
    let body = body.trim();
    match (message.is_empty(), body.is_empty()) {
        (false, false) if body != message => format!("{message} ({body})"),
        (false, _) => message.to_owned(),
        (true, false) => body.to_owned(),
        (true, true) => "no reason given".into(),
    }
}

/// STOMP goes as text when it is UTF-8 (what browsers' clients send), else as binary.
fn text_or_binary(bytes: Vec<u8>) -> WsData {
    match String::from_utf8(bytes) {
        Ok(text) => WsData::Text(text),
        Err(e) => WsData::Binary(e.into_bytes()),
    }
}

impl Lens for StompLens {
    /// The version agreed in CONNECTED; before it, the versions CONNECT accepts.
    fn version(&self) -> String {
        if self.connected {
            self.version().as_str().to_owned()
        } else {
            ACCEPT_VERSION.to_owned()
        }
    }

    fn start(&mut self, now: Instant) -> Vec<Output> {
        self.last_received = now;
        if !self.automatic {
            return Vec::new();
        }
        self.connect_sent = Some(now);
        let frame = self.connect_frame();
        vec![self.send(now, &frame, true)]
    }

    fn on_message(&mut self, now: Instant, message: WsData) -> (Decoded, Vec<Output>) {
        self.last_received = now;
        let mut out = Vec::new();
        // The frames before a broken one still count (a CONNECTED is not lost to what follows it).
        let (items, error) = self.reader.feed_all(message.bytes());
        let mut parts: Vec<Decoded> = items
            .iter()
            .map(|item| match item {
                Item::Frame(f) => self.on_frame(now, f, &mut out),
                Item::HeartBeat => heart_beat_decoded(),
            })
            .collect();
        if let Some(e) = error {
            let why = format!("not a STOMP frame: {}", e.0);
            parts.push(invalid(&why));
            out.push(Output::failed(why));
        }
        let decoded = Decoded::joined(parts)
            .unwrap_or_else(|| Decoded::partial("stomp", self.reader.pending()));
        (decoded, out)
    }

    fn emit(&mut self, now: Instant, emit: &Value) -> Vec<Output> {
        let frame = match parse_emit(emit) {
            Ok(f) => f,
            Err(why) => return vec![Output::failed(why)],
        };
        let frame = self.complete(frame);
        if let Some(why) = super::unencodable(self.version(), &frame) {
            return vec![Output::failed(why)];
        }
        self.note_sent(now, &frame);
        vec![self.send(now, &frame, false)]
    }

    fn describe_sent(&self, message: &WsData) -> Decoded {
        describe(self.version(), message.bytes())
    }

    fn next_deadline(&self) -> Option<Instant> {
        if !self.automatic || self.failed {
            return None;
        }
        if !self.connected {
            return self.connect_sent.map(|at| at + CONNECT_TIMEOUT);
        }
        let send = self.send_every.map(|d| self.last_sent + d);
        // A server is late past twice its agreed interval (stomp.js allows the same).
        let silent = self.expect_every.map(|d| self.last_received + 2 * d);
        [send, silent].into_iter().flatten().min()
    }

    fn on_time(&mut self, now: Instant) -> Vec<Output> {
        if !self.automatic || self.failed {
            return Vec::new();
        }
        if !self.connected {
            if self
                .connect_sent
                .is_some_and(|at| now >= at + CONNECT_TIMEOUT)
            {
                let why = format!(
                    "no CONNECTED frame within {} s of CONNECT",
                    CONNECT_TIMEOUT.as_secs()
                );
                return vec![self.failure(why, true, Then::Close)];
            }
            return Vec::new();
        }
        let mut out = Vec::new();
        if let Some(d) = self.expect_every
            && now >= self.last_received + 2 * d
        {
            let why = format!(
                "the STOMP server went silent: nothing for {} ms, but it agreed to send a heart-beat every {} ms",
                now.saturating_duration_since(self.last_received)
                    .as_millis(),
                d.as_millis()
            );
            out.push(self.failure(why, false, Then::Drop));
            return out;
        }
        if let Some(d) = self.send_every
            && now >= self.last_sent + d
        {
            self.last_sent = now;
            out.push(Output::Send {
                message: WsData::Text("\n".into()),
                decoded: heart_beat_decoded(),
                automatic: true,
            });
        }
        out
    }

    fn handshake_done(&self) -> bool {
        self.connected
    }

    fn open_items(&self) -> Vec<OpenItem> {
        self.subscriptions
            .iter()
            .map(|(id, sub)| OpenItem {
                kind: "subscription",
                key: format!("{id} {}", sub.destination),
                state: if sub.confirmed { "subscribed" } else { "sent" }.into(),
                received: sub.received,
                close: Some(json!({"command":"UNSUBSCRIBE","headers":{"id":id}})),
            })
            .collect()
    }
}
