//! MQTT 3.1.1 and 5.0 control packets (OASIS mqtt-v3.1.1 and mqtt-v5.0), as a sans-IO codec: [`encode`] writes
//! a packet, [`Reader`] reads packets from successive WebSocket messages (MQTT over WebSocket is a byte stream:
//! a packet may span messages and a message may hold several packets). Only encoding and decoding; the client's
//! flows live in [`lens`].

pub mod lens;

#[cfg(test)]
mod tests;

/// The protocol level spoken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// MQTT 3.1.1 (protocol level 4).
    V311,
    /// MQTT 5.0 (protocol level 5).
    V5,
}

impl Version {
    pub fn level(self) -> u8 {
        match self {
            Version::V311 => 4,
            Version::V5 => 5,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Version::V311 => "3.1.1",
            Version::V5 => "5",
        }
    }
}

/// A property value (MQTT 5 §2.2.2.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PropValue {
    Byte(u8),
    Two(u16),
    Four(u32),
    Var(u32),
    Str(String),
    Bin(Vec<u8>),
    Pair(String, String),
}

/// MQTT 5 properties in order: (identifier, value).
pub type Properties = Vec<(u8, PropValue)>;

#[derive(Clone, Copy)]
enum PropType {
    Byte,
    Two,
    Four,
    Var,
    Str,
    Bin,
    Pair,
}

/// The property's name (as decoded JSON shows it) and type.
fn property(id: u8) -> Option<(&'static str, PropType)> {
    use PropType::*;
    Some(match id {
        0x01 => ("payload_format_indicator", Byte),
        0x02 => ("message_expiry_interval", Four),
        0x03 => ("content_type", Str),
        0x08 => ("response_topic", Str),
        0x09 => ("correlation_data", Bin),
        0x0B => ("subscription_identifier", Var),
        0x11 => ("session_expiry_interval", Four),
        0x12 => ("assigned_client_identifier", Str),
        0x13 => ("server_keep_alive", Two),
        0x15 => ("authentication_method", Str),
        0x16 => ("authentication_data", Bin),
        0x17 => ("request_problem_information", Byte),
        0x18 => ("will_delay_interval", Four),
        0x19 => ("request_response_information", Byte),
        0x1A => ("response_information", Str),
        0x1C => ("server_reference", Str),
        0x1F => ("reason_string", Str),
        0x21 => ("receive_maximum", Two),
        0x22 => ("topic_alias_maximum", Two),
        0x23 => ("topic_alias", Two),
        0x24 => ("maximum_qos", Byte),
        0x25 => ("retain_available", Byte),
        0x26 => ("user_property", Pair),
        0x27 => ("maximum_packet_size", Four),
        0x28 => ("wildcard_subscription_available", Byte),
        0x29 => ("subscription_identifier_available", Byte),
        0x2A => ("shared_subscription_available", Byte),
        _ => return None,
    })
}

/// Properties a client may put in a PUBLISH (MQTT 5 §3.3.2.3; a Subscription Identifier is the server's).
pub const PUBLISH_PROPERTIES: [u8; 7] = [0x01, 0x02, 0x03, 0x08, 0x09, 0x23, 0x26];

/// A JSON value as the property `id`'s wire type (numbers for the integer types, text, or bytes as text or
/// `{"base64":…}`), or why it cannot be one. User properties (pairs) are built by the caller.
pub fn property_value(id: u8, value: &serde_json::Value) -> Result<PropValue, String> {
    let Some((name, kind)) = property(id) else {
        return Err(format!("MQTT 5 has no property 0x{id:02X}"));
    };
    let number = |max: u64| {
        value
            .as_u64()
            .filter(|n| *n <= max)
            .ok_or_else(|| format!("the property {name} is a whole number up to {max}"))
    };
    Ok(match kind {
        PropType::Byte => PropValue::Byte(number(255)? as u8),
        PropType::Two => PropValue::Two(number(65_535)? as u16),
        PropType::Four => PropValue::Four(number(u64::from(u32::MAX))? as u32),
        PropType::Var => PropValue::Var(number(268_435_455)? as u32),
        PropType::Str => PropValue::Str(
            value
                .as_str()
                .ok_or_else(|| format!("the property {name} is text"))?
                .to_owned(),
        ),
        PropType::Bin => PropValue::Bin(match value {
            serde_json::Value::String(s) => s.clone().into_bytes(),
            other => super::lens::value_bytes(other)
                .ok_or_else(|| format!("the property {name} is text or {{\"base64\":…}}"))?,
        }),
        PropType::Pair => {
            return Err(format!(
                "the property {name} is a list of [key, value] pairs"
            ));
        }
    })
}

/// The identifier of the property named `name`.
pub fn property_id(name: &str) -> Option<u8> {
    (0u8..=0x2A).find(|id| property(*id).is_some_and(|(n, _)| n == name))
}

/// The name of property `id`.
pub fn property_name(id: u8) -> &'static str {
    property(id).map_or("unknown", |(n, _)| n)
}

/// CONNECT's fields.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Connect {
    pub client_id: String,
    pub clean: bool,
    pub keep_alive: u16,
    pub username: Option<String>,
    pub password: Option<Vec<u8>>,
    pub will: Option<Will>,
    pub properties: Properties,
    /// The protocol level the CONNECT named (4 or 5; others are decoded and named).
    pub level: u8,
}

/// A will message.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Will {
    pub topic: String,
    pub payload: Vec<u8>,
    pub qos: u8,
    pub retain: bool,
    pub properties: Properties,
}

/// PUBLISH's fields.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Publish {
    pub topic: String,
    pub payload: Vec<u8>,
    pub qos: u8,
    pub retain: bool,
    pub dup: bool,
    /// Present at QoS 1 and 2.
    pub packet_id: Option<u16>,
    pub properties: Properties,
}

/// The four acknowledgements of PUBLISH.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AckKind {
    PubAck,
    PubRec,
    PubRel,
    PubComp,
}

impl AckKind {
    fn type_id(self) -> u8 {
        match self {
            AckKind::PubAck => 4,
            AckKind::PubRec => 5,
            AckKind::PubRel => 6,
            AckKind::PubComp => 7,
        }
    }
}

/// One MQTT control packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Packet {
    Connect(Connect),
    ConnAck {
        session_present: bool,
        code: u8,
        properties: Properties,
    },
    Publish(Publish),
    Ack {
        kind: AckKind,
        packet_id: u16,
        code: u8,
        properties: Properties,
    },
    Subscribe {
        packet_id: u16,
        /// (filter, options: QoS in the low two bits, v5 flags above).
        filters: Vec<(String, u8)>,
        properties: Properties,
    },
    SubAck {
        packet_id: u16,
        codes: Vec<u8>,
        properties: Properties,
    },
    Unsubscribe {
        packet_id: u16,
        filters: Vec<String>,
        properties: Properties,
    },
    UnsubAck {
        packet_id: u16,
        codes: Vec<u8>,
        properties: Properties,
    },
    PingReq,
    PingResp,
    Disconnect {
        code: u8,
        properties: Properties,
    },
    Auth {
        code: u8,
        properties: Properties,
    },
}

impl Packet {
    /// The packet's name in decoded JSON (`publish`, `suback`, …).
    pub fn type_name(&self) -> &'static str {
        match self {
            Packet::Connect(_) => "connect",
            Packet::ConnAck { .. } => "connack",
            Packet::Publish(_) => "publish",
            Packet::Ack { kind, .. } => match kind {
                AckKind::PubAck => "puback",
                AckKind::PubRec => "pubrec",
                AckKind::PubRel => "pubrel",
                AckKind::PubComp => "pubcomp",
            },
            Packet::Subscribe { .. } => "subscribe",
            Packet::SubAck { .. } => "suback",
            Packet::Unsubscribe { .. } => "unsubscribe",
            Packet::UnsubAck { .. } => "unsuback",
            Packet::PingReq => "pingreq",
            Packet::PingResp => "pingresp",
            Packet::Disconnect { .. } => "disconnect",
            Packet::Auth { .. } => "auth",
        }
    }
}

/// A packet could not be read, in words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Malformed(pub String);

fn bad<T>(why: impl Into<String>) -> Result<T, Malformed> {
    Err(Malformed(why.into()))
}

// ---- encoding ----

fn put_u16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_be_bytes());
}

fn put_bin(out: &mut Vec<u8>, b: &[u8]) {
    let n = b.len().min(u16::MAX as usize);
    put_u16(out, n as u16);
    out.extend_from_slice(&b[..n]);
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_bin(out, s.as_bytes());
}

fn put_var(out: &mut Vec<u8>, mut v: u32) {
    loop {
        let mut byte = (v % 128) as u8;
        v /= 128;
        if v > 0 {
            byte |= 0x80;
        }
        out.push(byte);
        if v == 0 {
            break;
        }
    }
}

fn put_properties(out: &mut Vec<u8>, props: &Properties) {
    let mut body = Vec::new();
    for (id, value) in props {
        put_var(&mut body, u32::from(*id));
        match value {
            PropValue::Byte(b) => body.push(*b),
            PropValue::Two(v) => put_u16(&mut body, *v),
            PropValue::Four(v) => body.extend_from_slice(&v.to_be_bytes()),
            PropValue::Var(v) => put_var(&mut body, *v),
            PropValue::Str(s) => put_str(&mut body, s),
            PropValue::Bin(b) => put_bin(&mut body, b),
            PropValue::Pair(k, v) => {
                put_str(&mut body, k);
                put_str(&mut body, v);
            }
        }
    }
    put_var(out, body.len() as u32);
    out.extend_from_slice(&body);
}

/// The packet's bytes for `version` (properties are written only in MQTT 5).
pub fn encode(version: Version, packet: &Packet) -> Vec<u8> {
    let v5 = version == Version::V5;
    let mut body = Vec::new();
    let first: u8 = match packet {
        Packet::Connect(c) => {
            put_str(&mut body, "MQTT");
            body.push(version.level());
            let mut flags = 0u8;
            if c.username.is_some() {
                flags |= 0x80;
            }
            if c.password.is_some() {
                flags |= 0x40;
            }
            if let Some(w) = &c.will {
                flags |= 0x04 | ((w.qos & 3) << 3);
                if w.retain {
                    flags |= 0x20;
                }
            }
            if c.clean {
                flags |= 0x02;
            }
            body.push(flags);
            put_u16(&mut body, c.keep_alive);
            if v5 {
                put_properties(&mut body, &c.properties);
            }
            put_str(&mut body, &c.client_id);
            if let Some(w) = &c.will {
                if v5 {
                    put_properties(&mut body, &w.properties);
                }
                put_str(&mut body, &w.topic);
                put_bin(&mut body, &w.payload);
            }
            if let Some(u) = &c.username {
                put_str(&mut body, u);
            }
            if let Some(p) = &c.password {
                put_bin(&mut body, p);
            }
            0x10
        }
        Packet::ConnAck {
            session_present,
            code,
            properties,
        } => {
            body.push(u8::from(*session_present));
            body.push(*code);
            if v5 {
                put_properties(&mut body, properties);
            }
            0x20
        }
        Packet::Publish(p) => {
            put_str(&mut body, &p.topic);
            if p.qos > 0 {
                put_u16(&mut body, p.packet_id.unwrap_or(0));
            }
            if v5 {
                put_properties(&mut body, &p.properties);
            }
            body.extend_from_slice(&p.payload);
            0x30 | (u8::from(p.dup) << 3) | ((p.qos & 3) << 1) | u8::from(p.retain)
        }
        Packet::Ack {
            kind,
            packet_id,
            code,
            properties,
        } => {
            put_u16(&mut body, *packet_id);
            if v5 && (*code != 0 || !properties.is_empty()) {
                body.push(*code);
                if !properties.is_empty() {
                    put_properties(&mut body, properties);
                }
            }
            let flags = if *kind == AckKind::PubRel { 0x02 } else { 0 };
            (kind.type_id() << 4) | flags
        }
        Packet::Subscribe {
            packet_id,
            filters,
            properties,
        } => {
            put_u16(&mut body, *packet_id);
            if v5 {
                put_properties(&mut body, properties);
            }
            for (f, options) in filters {
                put_str(&mut body, f);
                body.push(*options);
            }
            0x82
        }
        Packet::SubAck {
            packet_id,
            codes,
            properties,
        } => {
            put_u16(&mut body, *packet_id);
            if v5 {
                put_properties(&mut body, properties);
            }
            body.extend_from_slice(codes);
            0x90
        }
        Packet::Unsubscribe {
            packet_id,
            filters,
            properties,
        } => {
            put_u16(&mut body, *packet_id);
            if v5 {
                put_properties(&mut body, properties);
            }
            for f in filters {
                put_str(&mut body, f);
            }
            0xA2
        }
        Packet::UnsubAck {
            packet_id,
            codes,
            properties,
        } => {
            put_u16(&mut body, *packet_id);
            if v5 {
                put_properties(&mut body, properties);
                body.extend_from_slice(codes);
            }
            0xB0
        }
        Packet::PingReq => 0xC0,
        Packet::PingResp => 0xD0,
        Packet::Disconnect { code, properties } => {
            if v5 && (*code != 0 || !properties.is_empty()) {
                body.push(*code);
                put_properties(&mut body, properties);
            }
            0xE0
        }
        Packet::Auth { code, properties } => {
            body.push(*code);
            put_properties(&mut body, properties);
            0xF0
        }
    };
    let mut out = Vec::with_capacity(body.len() + 5);
    out.push(first);
    put_var(&mut out, body.len() as u32);
    out.extend_from_slice(&body);
    out
}

// ---- decoding ----

/// A cursor over one packet's bytes.
struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
    packet: &'static str,
}

impl<'a> Cursor<'a> {
    fn left(&self) -> usize {
        self.bytes.len() - self.at
    }

    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], Malformed> {
        if self.left() < n {
            return bad(format!(
                "the {} packet ends before its {what} ({n} bytes needed, {} left)",
                self.packet,
                self.left()
            ));
        }
        let s = &self.bytes[self.at..self.at + n];
        self.at += n;
        Ok(s)
    }

    fn u8(&mut self, what: &str) -> Result<u8, Malformed> {
        Ok(self.take(1, what)?[0])
    }

    fn u16(&mut self, what: &str) -> Result<u16, Malformed> {
        let b = self.take(2, what)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    fn u32(&mut self, what: &str) -> Result<u32, Malformed> {
        let b = self.take(4, what)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn var(&mut self, what: &str) -> Result<u32, Malformed> {
        let mut value = 0u32;
        for i in 0..4 {
            let b = self.u8(what)?;
            value |= u32::from(b & 0x7F) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        bad(format!(
            "the {} packet's {what} is a variable byte integer longer than 4 bytes",
            self.packet
        ))
    }

    fn bin(&mut self, what: &str) -> Result<Vec<u8>, Malformed> {
        let n = self.u16(what)? as usize;
        Ok(self.take(n, what)?.to_vec())
    }

    fn str(&mut self, what: &str) -> Result<String, Malformed> {
        let n = self.u16(what)? as usize;
        let bytes = self.take(n, what)?;
        String::from_utf8(bytes.to_vec())
            .map_err(|_| Malformed(format!("the {} packet's {what} is not UTF-8", self.packet)))
    }

    fn properties(&mut self) -> Result<Properties, Malformed> {
        let n = self.var("property length")? as usize;
        let bytes = self.take(n, "properties")?;
        let mut c = Cursor {
            bytes,
            at: 0,
            packet: self.packet,
        };
        let mut props = Vec::new();
        while c.left() > 0 {
            let id = c.var("property identifier")?;
            let Some((name, kind)) = u8::try_from(id).ok().and_then(property) else {
                return bad(format!(
                    "the {} packet has property 0x{id:02X}, which MQTT 5 does not define",
                    self.packet
                ));
            };
            let value = match kind {
                PropType::Byte => PropValue::Byte(c.u8(name)?),
                PropType::Two => PropValue::Two(c.u16(name)?),
                PropType::Four => PropValue::Four(c.u32(name)?),
                PropType::Var => PropValue::Var(c.var(name)?),
                PropType::Str => PropValue::Str(c.str(name)?),
                PropType::Bin => PropValue::Bin(c.bin(name)?),
                PropType::Pair => PropValue::Pair(c.str(name)?, c.str(name)?),
            };
            props.push((id as u8, value));
        }
        Ok(props)
    }

    fn rest(&mut self) -> &'a [u8] {
        let s = &self.bytes[self.at..];
        self.at = self.bytes.len();
        s
    }
}

const NAMES: [&str; 16] = [
    "reserved",
    "CONNECT",
    "CONNACK",
    "PUBLISH",
    "PUBACK",
    "PUBREC",
    "PUBREL",
    "PUBCOMP",
    "SUBSCRIBE",
    "SUBACK",
    "UNSUBSCRIBE",
    "UNSUBACK",
    "PINGREQ",
    "PINGRESP",
    "DISCONNECT",
    "AUTH",
];

/// Reads one packet's variable header and payload (`first` is its fixed header's first byte).
pub fn decode_body(version: Version, first: u8, bytes: &[u8]) -> Result<Packet, Malformed> {
    let kind = first >> 4;
    let flags = first & 0x0F;
    let v5 = version == Version::V5;
    let mut c = Cursor {
        bytes,
        at: 0,
        packet: NAMES[kind as usize],
    };
    let expected_flags = match kind {
        6 | 8 | 10 => Some(0x02),
        3 => None,
        _ => Some(0),
    };
    if let Some(f) = expected_flags
        && f != flags
    {
        return bad(format!(
            "the {} packet has flags 0x{flags:X} where MQTT requires 0x{f:X}",
            c.packet
        ));
    }
    let packet = match kind {
        1 => {
            let name = c.str("protocol name")?;
            if name != "MQTT" && name != "MQIsdp" {
                return bad(format!("CONNECT names the protocol {name:?}, not MQTT"));
            }
            let level = c.u8("protocol level")?;
            let v5 = level == 5;
            let f = c.u8("connect flags")?;
            let keep_alive = c.u16("keep alive")?;
            let properties = if v5 { c.properties()? } else { Vec::new() };
            let client_id = c.str("client identifier")?;
            let will = if f & 0x04 != 0 {
                let properties = if v5 { c.properties()? } else { Vec::new() };
                Some(Will {
                    topic: c.str("will topic")?,
                    payload: c.bin("will payload")?,
                    qos: (f >> 3) & 3,
                    retain: f & 0x20 != 0,
                    properties,
                })
            } else {
                None
            };
            let username = if f & 0x80 != 0 {
                Some(c.str("user name")?)
            } else {
                None
            };
            let password = if f & 0x40 != 0 {
                Some(c.bin("password")?)
            } else {
                None
            };
            Packet::Connect(Connect {
                client_id,
                clean: f & 0x02 != 0,
                keep_alive,
                username,
                password,
                will,
                properties,
                level,
            })
        }
        2 => {
            let ack = c.u8("acknowledge flags")?;
            let code = c.u8("return code")?;
            let properties = if v5 && c.left() > 0 {
                c.properties()?
            } else {
                Vec::new()
            };
            Packet::ConnAck {
                session_present: ack & 1 != 0,
                code,
                properties,
            }
        }
        3 => {
            let qos = (flags >> 1) & 3;
            if qos == 3 {
                return bad("the PUBLISH packet has QoS 3, which MQTT does not define");
            }
            let topic = c.str("topic name")?;
            let packet_id = if qos > 0 {
                Some(c.u16("packet identifier")?)
            } else {
                None
            };
            let properties = if v5 { c.properties()? } else { Vec::new() };
            Packet::Publish(Publish {
                topic,
                payload: c.rest().to_vec(),
                qos,
                retain: flags & 1 != 0,
                dup: flags & 8 != 0,
                packet_id,
                properties,
            })
        }
        4..=7 => {
            let packet_id = c.u16("packet identifier")?;
            let code = if v5 && c.left() > 0 {
                c.u8("reason code")?
            } else {
                0
            };
            let properties = if v5 && c.left() > 0 {
                c.properties()?
            } else {
                Vec::new()
            };
            let kind = match kind {
                4 => AckKind::PubAck,
                5 => AckKind::PubRec,
                6 => AckKind::PubRel,
                _ => AckKind::PubComp,
            };
            Packet::Ack {
                kind,
                packet_id,
                code,
                properties,
            }
        }
        8 | 10 => {
            let packet_id = c.u16("packet identifier")?;
            let properties = if v5 { c.properties()? } else { Vec::new() };
            let mut sub = Vec::new();
            let mut unsub = Vec::new();
            while c.left() > 0 {
                let f = c.str("topic filter")?;
                if kind == 8 {
                    sub.push((f, c.u8("subscription options")?));
                } else {
                    unsub.push(f);
                }
            }
            if sub.is_empty() && unsub.is_empty() {
                return bad(format!("the {} packet names no topic filter", c.packet));
            }
            if kind == 8 {
                Packet::Subscribe {
                    packet_id,
                    filters: sub,
                    properties,
                }
            } else {
                Packet::Unsubscribe {
                    packet_id,
                    filters: unsub,
                    properties,
                }
            }
        }
        9 | 11 => {
            let packet_id = c.u16("packet identifier")?;
            let properties = if v5 { c.properties()? } else { Vec::new() };
            let codes = c.rest().to_vec();
            if kind == 9 {
                Packet::SubAck {
                    packet_id,
                    codes,
                    properties,
                }
            } else {
                Packet::UnsubAck {
                    packet_id,
                    codes,
                    properties,
                }
            }
        }
        12 => Packet::PingReq,
        13 => Packet::PingResp,
        14 | 15 => {
            let code = if c.left() > 0 {
                c.u8("reason code")?
            } else {
                0
            };
            let properties = if v5 && c.left() > 0 {
                c.properties()?
            } else {
                Vec::new()
            };
            if kind == 14 {
                Packet::Disconnect { code, properties }
            } else {
                Packet::Auth { code, properties }
            }
        }
        _ => return bad("packet type 0 is reserved in MQTT"),
    };
    if c.left() > 0 && !matches!(kind, 3 | 9 | 11) {
        return bad(format!(
            "the {} packet has {} bytes after its last field",
            c.packet,
            c.left()
        ));
    }
    Ok(packet)
}

/// Reads packets from the bytes of successive WebSocket messages, keeping an unfinished packet (at most `max`
/// bytes of it).
#[derive(Debug)]
pub struct Reader {
    buf: Vec<u8>,
    max: usize,
    pub version: Version,
}

impl Reader {
    pub fn new(version: Version, max: usize) -> Self {
        Self {
            buf: Vec::new(),
            max,
            version,
        }
    }

    /// Bytes of an unfinished packet waiting for the rest.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }

    /// Reads `bytes`: the packets it completed, in order, or the first error. An error drops what was
    /// buffered (the byte stream cannot be followed past a malformed packet).
    pub fn feed(&mut self, bytes: &[u8]) -> Result<Vec<Packet>, Malformed> {
        match self.feed_all(bytes) {
            (packets, None) => Ok(packets),
            (_, Some(e)) => Err(e),
        }
    }

    /// As [`Reader::feed`], keeping the packets read before an error.
    pub fn feed_all(&mut self, bytes: &[u8]) -> (Vec<Packet>, Option<Malformed>) {
        self.buf.extend_from_slice(bytes);
        let mut packets = Vec::new();
        let mut at = 0;
        let error = loop {
            match self.one(at) {
                Ok(Some((packet, used))) => {
                    at += used;
                    packets.push(packet);
                }
                Ok(None) => break None,
                Err(e) => break Some(e),
            }
        };
        match error {
            None => self.buf.drain(..at).for_each(drop),
            Some(_) => self.buf = Vec::new(),
        }
        (packets, error)
    }

    fn one(&self, at: usize) -> Result<Option<(Packet, usize)>, Malformed> {
        let bytes = &self.buf[at..];
        let Some(&first) = bytes.first() else {
            return Ok(None);
        };
        let mut length = 0usize;
        let mut header = 1;
        loop {
            let Some(&b) = bytes.get(header) else {
                return Ok(None);
            };
            length |= usize::from(b & 0x7F) << (7 * (header - 1));
            header += 1;
            if b & 0x80 == 0 {
                break;
            }
            if header > 4 {
                return bad("a packet's remaining length is longer than 4 bytes");
            }
        }
        if header + length > self.max {
            return bad(format!(
                "a {} packet of {} bytes is larger than the {} bytes kept",
                NAMES[(first >> 4) as usize],
                header + length,
                self.max
            ));
        }
        if bytes.len() < header + length {
            return Ok(None);
        }
        let packet = decode_body(self.version, first, &bytes[header..header + length])?;
        Ok(Some((packet, header + length)))
    }
}

/// Whether `topic` matches the subscription `filter` (`+` one level, `#` the rest; `$` topics only explicitly).
pub fn topic_matches(filter: &str, topic: &str) -> bool {
    let filter = filter
        .strip_prefix("$share/")
        .and_then(|rest| rest.split_once('/').map(|(_, f)| f))
        .unwrap_or(filter);
    if topic.starts_with('$') && (filter.starts_with('+') || filter.starts_with('#')) {
        return false;
    }
    let mut f = filter.split('/');
    let mut t = topic.split('/');
    loop {
        match (f.next(), t.next()) {
            (Some("#"), _) => return true,
            (Some("+"), Some(_)) => {}
            (Some(a), Some(b)) if a == b => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

/// A CONNACK return code (3.1.1) or reason code (5) in words.
pub fn connack_words(version: Version, code: u8) -> &'static str {
    // A 3.1.1 broker answers an MQTT 5 CONNECT with a 3.1.1 return code (1: unacceptable protocol version).
    if version == Version::V311 || (1..=5).contains(&code) {
        return match code {
            0 => "connection accepted",
            1 => "unacceptable protocol version",
            2 => "client identifier rejected",
            3 => "server unavailable",
            4 => "bad user name or password",
            5 => "not authorized",
            _ => "an unknown return code",
        };
    }
    reason_words(code)
}

/// An MQTT 5 reason code in words (§2.4).
pub fn reason_words(code: u8) -> &'static str {
    match code {
        0x00 => "success",
        0x01 => "granted QoS 1",
        0x02 => "granted QoS 2",
        0x04 => "disconnect with will message",
        0x10 => "no matching subscribers",
        0x11 => "no subscription existed",
        0x18 => "continue authentication",
        0x19 => "re-authenticate",
        0x80 => "unspecified error",
        0x81 => "malformed packet",
        0x82 => "protocol error",
        0x83 => "implementation specific error",
        0x84 => "unsupported protocol version",
        0x85 => "client identifier not valid",
        0x86 => "bad user name or password",
        0x87 => "not authorized",
        0x88 => "server unavailable",
        0x89 => "server busy",
        0x8A => "banned",
        0x8B => "server shutting down",
        0x8C => "bad authentication method",
        0x8D => "keep alive timeout",
        0x8E => "session taken over",
        0x8F => "topic filter invalid",
        0x90 => "topic name invalid",
        0x91 => "packet identifier in use",
        0x92 => "packet identifier not found",
        0x93 => "receive maximum exceeded",
        0x94 => "topic alias invalid",
        0x95 => "packet too large",
        0x96 => "message rate too high",
        0x97 => "quota exceeded",
        0x98 => "administrative action",
        0x99 => "payload format invalid",
        0x9A => "retain not supported",
        0x9B => "QoS not supported",
        0x9C => "use another server",
        0x9D => "server moved",
        0x9E => "shared subscriptions not supported",
        0x9F => "connection rate exceeded",
        0xA0 => "maximum connect time",
        0xA1 => "subscription identifiers not supported",
        0xA2 => "wildcard subscriptions not supported",
        _ => "an unknown reason code",
    }
}
