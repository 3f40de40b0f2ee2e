//! Phoenix Channels (Elixir) over WebSocket, as phoenix.js speaks it: the v2 serializer's arrays
//! `[join_ref, ref, topic, event, payload]` (`vsn=2.0.0`, the default) or v1's objects, as a [`Lens`]: topics
//! joined and left with their replies, pushes given refs and matched to `phx_reply` (status and response shown),
//! broadcasts, the `phoenix` heartbeat at an interval (a missing reply reported), `phx_error` / `phx_close`.

use super::engineio::WsData;
use super::lens::{Class, Decoded, Lens, OpenItem, Options, Output, Then, millis_option, rtt_ms};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

/// The `--protocol-option` keys Phoenix reads.
pub const OPTION_KEYS: &[&str] = &["heartbeat_ms", "vsn"];

/// phoenix.js's heartbeat interval.
pub const DEFAULT_HEARTBEAT: Duration = Duration::from_secs(30);

/// Pushes waiting for a reply, at most (older ones are forgotten first).
const MAX_PENDING: usize = 4096;

/// The serializer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Vsn {
    /// `vsn=2.0.0`: arrays.
    V2,
    /// `vsn=1.0.0`: objects.
    V1,
}

impl Vsn {
    pub fn as_str(self) -> &'static str {
        match self {
            Vsn::V2 => "2.0.0",
            Vsn::V1 => "1.0.0",
        }
    }
}

/// What the user chose for Phoenix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The heartbeat's interval (`None`: 0, no heartbeat).
    pub heartbeat: Option<Duration>,
    pub vsn: Vsn,
}

impl Settings {
    pub fn from_options(options: &Options) -> Result<Self, String> {
        let vsn = match options.get("vsn").map(|v| v.trim()) {
            None | Some("2.0.0") | Some("2") => Vsn::V2,
            Some("1.0.0") | Some("1") => Vsn::V1,
            Some(v) => {
                return Err(format!(
                    "protocol option vsn must be 2.0.0 or 1.0.0, not '{v}'"
                ));
            }
        };
        Ok(Self {
            heartbeat: millis_option(options, "heartbeat_ms")?
                .map_or(Some(DEFAULT_HEARTBEAT), |ms| {
                    (ms > 0).then(|| Duration::from_millis(ms))
                }),
            vsn,
        })
    }

    /// The settings for the URL connected to: a `vsn=` in its query is what the server reads, so it wins.
    pub fn for_url(mut self, url: &str) -> Self {
        let query = url.split_once('?').map_or("", |(_, q)| q);
        let query = query.split('#').next().unwrap_or("");
        for pair in query.split('&') {
            match pair {
                "vsn=2.0.0" => self.vsn = Vsn::V2,
                "vsn=1.0.0" => self.vsn = Vsn::V1,
                _ => {}
            }
        }
        self
    }

    /// The URL phoenix.js connects to for endpoint `url`: `…/websocket` and `vsn=` added when missing.
    pub fn url(&self, url: &str) -> String {
        let (base, fragment) = url
            .split_once('#')
            .map_or((url, None), |(b, f)| (b, Some(f)));
        let (path, query) = base
            .split_once('?')
            .map_or((base, None), |(p, q)| (p, Some(q)));
        let mut out = path.trim_end_matches('/').to_owned();
        if !out.ends_with("/websocket") {
            out.push_str("/websocket");
        }
        let has_vsn = query.is_some_and(|q| q.split('&').any(|p| p.starts_with("vsn=")));
        let mut query = query.unwrap_or("").to_owned();
        if !has_vsn {
            if !query.is_empty() {
                query.push('&');
            }
            query.push_str("vsn=");
            query.push_str(self.vsn.as_str());
        }
        out.push('?');
        out.push_str(&query);
        if let Some(f) = fragment {
            out.push('#');
            out.push_str(f);
        }
        out
    }
}

/// One Phoenix message.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub join_ref: Option<String>,
    pub reference: Option<String>,
    pub topic: String,
    pub event: String,
    pub payload: Value,
}

fn opt_ref(v: Option<&Value>) -> Result<Option<String>, String> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(other) => Err(format!("a Phoenix ref is a string, not {other}")),
    }
}

impl Message {
    /// Reads one text message in `vsn`'s form.
    pub fn decode(vsn: Vsn, text: &str) -> Result<Self, String> {
        let v: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
        let (join_ref, reference, topic, event, payload) = match (&v, vsn) {
            (Value::Array(a), _) if a.len() == 5 => (
                opt_ref(a.first())?,
                opt_ref(a.get(1))?,
                a[2].clone(),
                a[3].clone(),
                a[4].clone(),
            ),
            (Value::Array(a), _) => {
                return Err(format!(
                    "a Phoenix v2 message is [join_ref, ref, topic, event, payload], not {} items",
                    a.len()
                ));
            }
            (Value::Object(o), _) => (
                opt_ref(o.get("join_ref"))?,
                opt_ref(o.get("ref"))?,
                o.get("topic").cloned().unwrap_or(Value::Null),
                o.get("event").cloned().unwrap_or(Value::Null),
                o.get("payload").cloned().unwrap_or(Value::Null),
            ),
            _ => {
                return Err(
                    "a Phoenix message is a JSON array (vsn 2.0.0) or object (1.0.0)".into(),
                );
            }
        };
        let (Value::String(topic), Value::String(event)) = (topic, event) else {
            return Err("a Phoenix message's topic and event are strings".into());
        };
        Ok(Self {
            join_ref,
            reference,
            topic,
            event,
            payload,
        })
    }

    /// The text in `vsn`'s form.
    pub fn encode(&self, vsn: Vsn) -> String {
        match vsn {
            Vsn::V2 => json!([self.join_ref, self.reference, self.topic, self.event, self.payload]).to_string(),
            Vsn::V1 => json!({"topic": self.topic, "event": self.event, "payload": self.payload, "ref": self.reference, "join_ref": self.join_ref}).to_string(),
        }
    }

    fn is_heartbeat(&self) -> bool {
        self.topic == "phoenix"
    }

    /// The decoded form: `{"name":"phoenix","type":<event>,"topic":…,"ref":…,"join_ref":…,"payload":…}`.
    pub fn decoded(&self) -> Decoded {
        let mut f = Map::new();
        f.insert("type".into(), json!(self.event));
        f.insert("topic".into(), json!(self.topic));
        f.insert("ref".into(), json!(self.reference));
        f.insert("join_ref".into(), json!(self.join_ref));
        if self.event == "phx_reply"
            && let Some(status) = self.payload.get("status")
        {
            f.insert("status".into(), status.clone());
        }
        f.insert("payload".into(), self.payload.clone());
        let class = if self.is_heartbeat() {
            Class::KeepAlive
        } else if matches!(self.event.as_str(), "phx_error" | "phx_close") {
            Class::Control
        } else {
            Class::Application
        };
        Decoded::new("phoenix", class, f)
    }
}

/// `{"topic":"room:lobby","event":"phx_join","payload":{}}`
pub fn parse_emit(value: &Value) -> Result<(String, String, Value), String> {
    let Some(o) = value.as_object() else {
        return Err("a Phoenix emit is a JSON object like {\"topic\":\"room:lobby\",\"event\":\"phx_join\",\"payload\":{}}".into());
    };
    if let Some(key) = o
        .keys()
        .find(|k| !["topic", "event", "payload"].contains(&k.as_str()))
    {
        return Err(format!(
            "a Phoenix emit has no field '{key}' (fields: topic, event, payload)"
        ));
    }
    let field = |k: &str| match o.get(k) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
        _ => Err(format!("a Phoenix emit needs \"{k}\" (a string)")),
    };
    let payload = o.get("payload").cloned().unwrap_or_else(|| json!({}));
    Ok((field("topic")?, field("event")?, payload))
}

/// A topic's state.
#[derive(Debug, Clone)]
struct Topic {
    join_ref: String,
    state: String,
    received: u64,
}

/// Phoenix Channels on one connection.
#[derive(Debug)]
pub struct PhoenixLens {
    settings: Settings,
    automatic: bool,
    next_ref: u64,
    failed: bool,
    last_heartbeat: Instant,
    /// The ref of a heartbeat not answered yet.
    heartbeat_pending: Option<(String, Instant)>,
    /// ref → (topic, event, sent at).
    pending: HashMap<String, (String, String, Instant)>,
    topics: BTreeMap<String, Topic>,
}

impl PhoenixLens {
    pub fn new(settings: Settings, automatic: bool) -> Self {
        Self {
            settings,
            automatic,
            next_ref: 1,
            failed: false,
            last_heartbeat: Instant::now(),
            heartbeat_pending: None,
            pending: HashMap::new(),
            topics: BTreeMap::new(),
        }
    }

    fn new_ref(&mut self) -> String {
        let r = self.next_ref.to_string();
        self.next_ref += 1;
        r
    }

    fn send(&self, message: &Message, automatic: bool) -> Output {
        Output::Send {
            message: WsData::Text(message.encode(self.settings.vsn)),
            decoded: message.decoded(),
            automatic,
        }
    }

    fn on_received(&mut self, now: Instant, m: &Message, out: &mut Vec<Output>) -> Decoded {
        let mut d = m.decoded();
        let set = |d: &mut Decoded, k: &str, v: Value| {
            if let Some(o) = d.value.as_object_mut() {
                o.insert(k.into(), v);
            }
        };
        if m.event == "phx_reply"
            && let Some(r) = &m.reference
        {
            if self.heartbeat_pending.as_ref().is_some_and(|(h, _)| h == r) {
                let (_, at) = self
                    .heartbeat_pending
                    .take()
                    .unwrap_or((String::new(), now));
                set(&mut d, "rtt_ms", rtt_ms(at, now));
            } else if let Some((topic, event, at)) = self.pending.remove(r) {
                set(&mut d, "reply_to", json!(event));
                set(&mut d, "rtt_ms", rtt_ms(at, now));
                let status = m
                    .payload
                    .get("status")
                    .and_then(Value::as_str)
                    .unwrap_or("?")
                    .to_owned();
                let response = m.payload.get("response").cloned().unwrap_or(Value::Null);
                if let Some(t) = self.topics.get_mut(&topic) {
                    match (event.as_str(), status.as_str()) {
                        ("phx_join", "ok") => t.state = "joined".into(),
                        ("phx_join", _) => t.state = format!("join refused: {response}"),
                        ("phx_leave", _) => {
                            self.topics.remove(&topic);
                        }
                        _ => {}
                    }
                }
                if status != "ok" {
                    out.push(Output::failed(format!(
                        "{topic} refused {event} ({status}): {response}"
                    )));
                }
            }
        }
        if let Some(t) = self.topics.get_mut(&m.topic) {
            match m.event.as_str() {
                "phx_error" => t.state = "errored (the channel crashed)".into(),
                "phx_close" => t.state = "closed by the server".into(),
                "phx_reply" => {}
                _ => t.received += 1,
            }
        }
        if m.event == "phx_error" {
            out.push(Output::failed(format!(
                "the channel {} crashed on the server (phx_error)",
                m.topic
            )));
        }
        d
    }
}

impl Lens for PhoenixLens {
    fn version(&self) -> String {
        self.settings.vsn.as_str().to_owned()
    }

    fn start(&mut self, now: Instant) -> Vec<Output> {
        self.last_heartbeat = now;
        if self.automatic {
            vec![Output::Ready]
        } else {
            Vec::new()
        }
    }

    fn on_message(&mut self, now: Instant, message: WsData) -> (Decoded, Vec<Output>) {
        let WsData::Text(text) = message else {
            let why = "a binary message arrived: Phoenix's JSON serializer sends text (binary pushes are not decoded)";
            return (invalid(why), Vec::new());
        };
        match Message::decode(self.settings.vsn, &text) {
            Ok(m) => {
                let mut out = Vec::new();
                let d = self.on_received(now, &m, &mut out);
                (d, out)
            }
            Err(e) => {
                let why = format!("not a Phoenix message: {e}");
                (invalid(&why), vec![Output::failed(why)])
            }
        }
    }

    fn emit(&mut self, now: Instant, emit: &Value) -> Vec<Output> {
        let (topic, event, payload) = match parse_emit(emit) {
            Ok(e) => e,
            Err(why) => return vec![Output::failed(why)],
        };
        let reference = self.new_ref();
        let join_ref = if event == "phx_join" {
            self.topics.insert(
                topic.clone(),
                Topic {
                    join_ref: reference.clone(),
                    state: "joining".into(),
                    received: 0,
                },
            );
            Some(reference.clone())
        } else {
            self.topics.get(&topic).map(|t| t.join_ref.clone())
        };
        if self.pending.len() >= MAX_PENDING
            && let Some(oldest) = self
                .pending
                .iter()
                .min_by_key(|(_, (_, _, at))| *at)
                .map(|(k, _)| k.clone())
        {
            self.pending.remove(&oldest);
        }
        self.pending
            .insert(reference.clone(), (topic.clone(), event.clone(), now));
        let m = Message {
            join_ref,
            reference: Some(reference),
            topic,
            event,
            payload,
        };
        vec![self.send(&m, false)]
    }

    fn describe_sent(&self, message: &WsData) -> Decoded {
        match message {
            WsData::Text(t) => {
                Message::decode(self.settings.vsn, t).map_or_else(|e| invalid(&e), |m| m.decoded())
            }
            WsData::Binary(_) => invalid("a binary message (Phoenix's JSON serializer sends text)"),
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        let every = self.settings.heartbeat?;
        (self.automatic && !self.failed).then_some(self.last_heartbeat + every)
    }

    fn on_time(&mut self, now: Instant) -> Vec<Output> {
        let Some(every) = self.settings.heartbeat else {
            return Vec::new();
        };
        if !self.automatic || self.failed || now < self.last_heartbeat + every {
            return Vec::new();
        }
        // phoenix.js: a heartbeat still unanswered when the next is due means the connection is gone.
        if let Some((_, at)) = &self.heartbeat_pending {
            return vec![Output::ending(
                &mut self.failed,
                format!(
                    "the Phoenix server did not answer the heartbeat sent {} ms ago",
                    now.saturating_duration_since(*at).as_millis()
                ),
                false,
                Then::Drop,
            )];
        }
        self.last_heartbeat = now;
        let reference = self.new_ref();
        self.heartbeat_pending = Some((reference.clone(), now));
        let m = Message {
            join_ref: None,
            reference: Some(reference),
            topic: "phoenix".into(),
            event: "heartbeat".into(),
            payload: json!({}),
        };
        vec![self.send(&m, true)]
    }

    fn handshake_done(&self) -> bool {
        true
    }

    fn open_items(&self) -> Vec<OpenItem> {
        self.topics
            .iter()
            .map(|(topic, t)| OpenItem {
                kind: "topic",
                key: topic.clone(),
                state: t.state.clone(),
                received: t.received,
                close: Some(json!({"topic": topic, "event": "phx_leave", "payload": {}})),
            })
            .collect()
    }
}

fn invalid(why: &str) -> Decoded {
    Decoded::invalid("phoenix", why)
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
    fn the_url_gets_websocket_and_vsn() {
        let s = Settings::from_options(&Options::new()).expect("s");
        assert_eq!(
            s.url("ws://h:4000/socket"),
            "ws://h:4000/socket/websocket?vsn=2.0.0"
        );
        assert_eq!(
            s.url("ws://h/socket/websocket?token=a"),
            "ws://h/socket/websocket?token=a&vsn=2.0.0"
        );
        assert_eq!(
            s.url("ws://h/socket/websocket?vsn=1.0.0"),
            "ws://h/socket/websocket?vsn=1.0.0"
        );
    }

    #[test]
    fn joins_pushes_replies_and_the_heartbeat() {
        let mut o = Options::new();
        o.insert("heartbeat_ms".into(), "1000".into());
        let mut l = PhoenixLens::new(Settings::from_options(&o).expect("s"), true);
        let t0 = Instant::now();
        assert_eq!(l.start(t0), vec![Output::Ready]);
        let out = l.emit(
            t0,
            &json!({"topic":"room:lobby","event":"phx_join","payload":{"token":"t"}}),
        );
        assert_eq!(
            text(&out),
            vec![r#"["1","1","room:lobby","phx_join",{"token":"t"}]"#.to_owned()]
        );
        assert_eq!(l.open_items()[0].state, "joining");
        let (d, _) = l.on_message(
            t0,
            WsData::Text(
                r#"["1","1","room:lobby","phx_reply",{"status":"ok","response":{}}]"#.into(),
            ),
        );
        assert_eq!(
            (
                d.kind(),
                d.value["status"].as_str(),
                d.value["reply_to"].as_str()
            ),
            ("phx_reply", Some("ok"), Some("phx_join"))
        );
        assert_eq!(l.open_items()[0].state, "joined");
        let out = l.emit(
            t0,
            &json!({"topic":"room:lobby","event":"new_msg","payload":{"body":"hi"}}),
        );
        assert_eq!(
            text(&out),
            vec![r#"["1","2","room:lobby","new_msg",{"body":"hi"}]"#.to_owned()]
        );
        let (d, _) = l.on_message(
            t0,
            WsData::Text(r#"[null,null,"room:lobby","new_msg",{"body":"hi"}]"#.into()),
        );
        assert_eq!(d.class, Class::Application);
        assert_eq!(l.open_items()[0].received, 1);
        // A refused push is said; the heartbeat goes on the phoenix topic, and one unanswered drops the connection.
        let (_, out) = l.on_message(t0, WsData::Text(r#"["1","2","room:lobby","phx_reply",{"status":"error","response":{"reason":"no"}}]"#.into()));
        assert!(
            matches!(out.as_slice(), [Output::Failed(f)] if f.message.contains("refused new_msg"))
        );
        let out = l.on_time(t0 + Duration::from_millis(1000));
        assert_eq!(
            text(&out),
            vec![r#"[null,"3","phoenix","heartbeat",{}]"#.to_owned()]
        );
        let (d, _) = l.on_message(
            t0,
            WsData::Text(
                r#"[null,"3","phoenix","phx_reply",{"status":"ok","response":{}}]"#.into(),
            ),
        );
        assert_eq!(d.class, Class::KeepAlive);
        l.on_time(t0 + Duration::from_millis(2000));
        match l.on_time(t0 + Duration::from_millis(3000)).as_slice() {
            [Output::Failed(f)] => assert_eq!(f.then, Then::Drop),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_heartbeat_of_0_is_none() {
        let mut o = Options::new();
        o.insert("heartbeat_ms".into(), "0".into());
        let mut l = PhoenixLens::new(Settings::from_options(&o).expect("s"), true);
        let t0 = Instant::now();
        l.start(t0);
        assert_eq!(l.next_deadline(), None);
        assert!(l.on_time(t0 + Duration::from_secs(100)).is_empty());
    }

    #[test]
    fn v1_objects_and_bad_messages() {
        let m = Message::decode(
            Vsn::V1,
            r#"{"topic":"t","event":"e","payload":{},"ref":"1","join_ref":null}"#,
        )
        .expect("v1");
        assert_eq!(m.reference.as_deref(), Some("1"));
        assert_eq!(
            Message::decode(Vsn::V1, &m.encode(Vsn::V1)).expect("back"),
            m
        );
        assert!(Message::decode(Vsn::V2, "[1,2]").is_err());
        assert!(Message::decode(Vsn::V2, "nope").is_err());
        assert!(parse_emit(&json!({"topic":"t"})).is_err());
    }
}
