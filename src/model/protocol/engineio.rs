//! Engine.IO packets over the WebSocket transport: one WebSocket message ↔ one [`Packet`], sans-IO.
//!
//! Follows the Engine.IO protocol revision 4 (Socket.IO 3 and 4, `EIO=4`) and revision 3 (Socket.IO 1 and 2,
//! `EIO=3`) as written in github.com/socketio/engine.io-protocol (branches `main` and `v3`), checked against the
//! reference parser (socketio/engine.io-parser 5.x `decodePacket.ts` / `encodePacket.ts` and 2.2.x `lib/index.js`)
//! and python-engineio's `packet.py`.
//!
//! A text message is `<type digit>[<data>]`. A binary message is a `message` packet: in v4 the bytes as they are,
//! in v3 after a leading type byte `0x04`. A text message starting with `b` is a base64 binary message (what a
//! peer that cannot send binary frames uses: v4 `b<base64>`, v3 `b4<base64>`); it decodes to the same packet as the
//! binary frame, and [`encode`] always writes binary data as a binary frame.

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use serde_json::{Map, Value};

/// Which Engine.IO revision the connection speaks (the `EIO=` query parameter).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum EioVersion {
    /// Revision 3: Socket.IO 1 and 2. The client pings, binary frames carry a leading `0x04` type byte.
    V3,
    /// Revision 4: Socket.IO 3 and 4. The server pings, binary frames are the bytes alone.
    #[default]
    V4,
}

impl EioVersion {
    /// The value of the `EIO` query parameter: `"3"` or `"4"`.
    pub fn query_value(self) -> &'static str {
        match self {
            Self::V3 => "3",
            Self::V4 => "4",
        }
    }

    /// The version named by an `EIO` query value (`"3"`, `"4"`); `None` for anything else.
    pub fn from_query_value(value: &str) -> Option<Self> {
        match value {
            "3" => Some(Self::V3),
            "4" => Some(Self::V4),
            _ => None,
        }
    }
}

/// One WebSocket data message, as the codec reads and writes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WsData {
    Text(String),
    Binary(Vec<u8>),
}

impl WsData {
    /// The message's bytes (a text message's UTF-8), for protocols that read both kinds alike.
    pub fn bytes(&self) -> &[u8] {
        match self {
            WsData::Text(t) => t.as_bytes(),
            WsData::Binary(b) => b,
        }
    }
}

/// The payload of a `message` packet: what the layer above (Socket.IO) reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Payload {
    Text(String),
    Binary(Vec<u8>),
}

/// The handshake data of the `open` packet (`0{"sid":…}`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenInfo {
    /// The session id.
    pub sid: String,
    /// Transports the session may upgrade to (empty when the server left the field out, as v3 servers may).
    pub upgrades: Vec<String>,
    /// v4: how often the server pings; v3: how often the client must ping.
    pub ping_interval_ms: u64,
    /// How long to wait for the ping (v4) or pong (v3) before considering the connection dead.
    pub ping_timeout_ms: u64,
    /// The largest polling payload in bytes (v4 only; `None` when absent).
    pub max_payload: Option<u64>,
}

/// One Engine.IO packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Packet {
    /// `0` + handshake JSON, sent by the server first.
    Open(OpenInfo),
    /// `1`: the transport closes.
    Close,
    /// `2`, optionally with data (`2probe`). `Some("")` encodes as `2`, which decodes as `None`.
    Ping(Option<String>),
    /// `3`, optionally with data (`3probe`).
    Pong(Option<String>),
    /// `4` + text, or binary data.
    Message(Payload),
    /// `5`: completes a transport upgrade.
    Upgrade,
    /// `6`: does nothing (ends a pending poll during an upgrade).
    Noop,
}

impl Packet {
    /// The packet type's name as the spec writes it: `"open"`, `"close"`, `"ping"`, `"pong"`, `"message"`,
    /// `"upgrade"` or `"noop"`.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::Open(_) => "open",
            Self::Close => "close",
            Self::Ping(_) => "ping",
            Self::Pong(_) => "pong",
            Self::Message(_) => "message",
            Self::Upgrade => "upgrade",
            Self::Noop => "noop",
        }
    }
}

/// Why a WebSocket message is not an Engine.IO packet.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("engine.io packet is empty (no packet type)")]
    Empty,
    #[error("engine.io packet type '{0}' is unknown")]
    UnknownType(char),
    #[error("engine.io binary packet type {0} is unknown")]
    UnknownBinaryType(u8),
    #[error("engine.io {0} packet carries binary data, but only message packets may")]
    BinaryNotMessage(&'static str),
    #[error("engine.io base64 packet is not valid base64: {0}")]
    BadBase64(String),
    #[error("engine.io open packet {0}")]
    BadOpen(String),
}

/// Base64 as Node's `Buffer.from(…, "base64")` reads it: padding optional.
pub(super) const LENIENT_BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The spec's type names by type id.
const TYPE_NAMES: [&str; 7] = [
    "open", "close", "ping", "pong", "message", "upgrade", "noop",
];

/// Reads one WebSocket message as an Engine.IO packet.
pub fn decode(version: EioVersion, message: WsData) -> Result<Packet, DecodeError> {
    match message {
        WsData::Text(text) => decode_text(version, text),
        WsData::Binary(mut bytes) => match version {
            EioVersion::V4 => Ok(Packet::Message(Payload::Binary(bytes))),
            EioVersion::V3 => match bytes.first().copied() {
                None => Err(DecodeError::Empty),
                Some(4) => {
                    bytes.remove(0);
                    Ok(Packet::Message(Payload::Binary(bytes)))
                }
                Some(t) => match TYPE_NAMES.get(usize::from(t)) {
                    Some(name) => Err(DecodeError::BinaryNotMessage(name)),
                    None => Err(DecodeError::UnknownBinaryType(t)),
                },
            },
        },
    }
}

fn decode_text(version: EioVersion, text: String) -> Result<Packet, DecodeError> {
    let Some(first) = text.chars().next() else {
        return Err(DecodeError::Empty);
    };
    // `first` is a single ASCII byte whenever it is one we accept, so slicing at 1 is then on a char boundary.
    let rest = || text.get(1..).unwrap_or_default();
    let data = || (text.len() > 1).then(|| rest().to_owned());
    match first {
        '0' => parse_open(rest()).map(Packet::Open),
        '1' => Ok(Packet::Close),
        '2' => Ok(Packet::Ping(data())),
        '3' => Ok(Packet::Pong(data())),
        '4' => Ok(Packet::Message(Payload::Text(rest().to_owned()))),
        '5' => Ok(Packet::Upgrade),
        '6' => Ok(Packet::Noop),
        'b' => decode_base64(version, rest()),
        other => Err(DecodeError::UnknownType(other)),
    }
}

/// `b<base64>` (v4) or `b<type><base64>` (v3): a binary message sent as text.
fn decode_base64(version: EioVersion, rest: &str) -> Result<Packet, DecodeError> {
    let encoded = match version {
        EioVersion::V4 => rest,
        EioVersion::V3 => {
            let Some(kind) = rest.chars().next() else {
                return Err(DecodeError::Empty);
            };
            match kind.to_digit(10).and_then(|d| TYPE_NAMES.get(d as usize)) {
                Some(&"message") => &rest[1..],
                Some(name) => return Err(DecodeError::BinaryNotMessage(name)),
                None => return Err(DecodeError::UnknownType(kind)),
            }
        }
    };
    LENIENT_BASE64
        .decode(encoded)
        .map(|bytes| Packet::Message(Payload::Binary(bytes)))
        .map_err(|e| DecodeError::BadBase64(e.to_string()))
}

fn parse_open(json: &str) -> Result<OpenInfo, DecodeError> {
    let bad = |what: &str| DecodeError::BadOpen(what.to_owned());
    let value: Value = serde_json::from_str(json)
        .map_err(|e| DecodeError::BadOpen(format!("is not valid JSON: {e}")))?;
    let Value::Object(map) = value else {
        return Err(bad("is not a JSON object"));
    };
    let sid = match map.get("sid") {
        Some(Value::String(sid)) => sid.clone(),
        _ => return Err(bad("has no \"sid\" string")),
    };
    let upgrades = match map.get("upgrades") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| item.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| bad("has an \"upgrades\" entry that is not a string"))?,
        Some(_) => return Err(bad("has an \"upgrades\" field that is not a list")),
    };
    let millis = |key: &str| {
        map.get(key)
            .and_then(Value::as_u64)
            .ok_or_else(|| DecodeError::BadOpen(format!("has no whole-number \"{key}\"")))
    };
    let max_payload = match map.get("maxPayload") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_u64()
                .ok_or_else(|| bad("has a \"maxPayload\" that is not a whole number"))?,
        ),
    };
    Ok(OpenInfo {
        sid,
        upgrades,
        ping_interval_ms: millis("pingInterval")?,
        ping_timeout_ms: millis("pingTimeout")?,
        max_payload,
    })
}

/// The handshake JSON of an open packet, fields in the spec's order.
fn open_json(info: &OpenInfo) -> String {
    let mut map = Map::new();
    map.insert("sid".into(), Value::String(info.sid.clone()));
    map.insert(
        "upgrades".into(),
        Value::Array(info.upgrades.iter().cloned().map(Value::String).collect()),
    );
    map.insert("pingInterval".into(), info.ping_interval_ms.into());
    map.insert("pingTimeout".into(), info.ping_timeout_ms.into());
    if let Some(max) = info.max_payload {
        map.insert("maxPayload".into(), max.into());
    }
    Value::Object(map).to_string()
}

/// Writes one Engine.IO packet as the WebSocket message that carries it.
pub fn encode(version: EioVersion, packet: &Packet) -> WsData {
    let with_data = |kind: char, data: &Option<String>| {
        let mut text = String::from(kind);
        text.push_str(data.as_deref().unwrap_or_default());
        WsData::Text(text)
    };
    match packet {
        Packet::Open(info) => WsData::Text(format!("0{}", open_json(info))),
        Packet::Close => WsData::Text("1".into()),
        Packet::Ping(data) => with_data('2', data),
        Packet::Pong(data) => with_data('3', data),
        Packet::Message(Payload::Text(text)) => WsData::Text(format!("4{text}")),
        Packet::Message(Payload::Binary(bytes)) => match version {
            EioVersion::V4 => WsData::Binary(bytes.clone()),
            EioVersion::V3 => {
                let mut framed = Vec::with_capacity(bytes.len() + 1);
                framed.push(4);
                framed.extend_from_slice(bytes);
                WsData::Binary(framed)
            }
        },
        Packet::Upgrade => WsData::Text("5".into()),
        Packet::Noop => WsData::Text("6".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> WsData {
        WsData::Text(s.to_owned())
    }

    fn dec(v: EioVersion, s: &str) -> Result<Packet, DecodeError> {
        decode(v, text(s))
    }

    const OPEN_V4: &str = r#"0{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":5000,"maxPayload":1000000}"#;

    #[test]
    fn open_packet_from_the_socket_io_sample_session() {
        let expected = OpenInfo {
            sid: "lv_VI97HAXpY6yYWAAAC".into(),
            upgrades: vec!["websocket".into()],
            ping_interval_ms: 25000,
            ping_timeout_ms: 5000,
            max_payload: Some(1_000_000),
        };
        assert_eq!(
            dec(EioVersion::V4, OPEN_V4),
            Ok(Packet::Open(expected.clone()))
        );
        // Encoding writes the same fields in the same order: byte for byte the spec's example.
        assert_eq!(
            encode(EioVersion::V4, &Packet::Open(expected)),
            text(OPEN_V4)
        );
    }

    #[test]
    fn v3_open_packet_over_websocket_may_leave_out_upgrades_and_max_payload() {
        // The v3 spec's WebSocket sample session.
        let open = dec(
            EioVersion::V3,
            r#"0{"sid":"lv_VI97HAXpY6yYWAAAC","pingInterval":25000,"pingTimeout":5000}"#,
        );
        assert_eq!(
            open,
            Ok(Packet::Open(OpenInfo {
                sid: "lv_VI97HAXpY6yYWAAAC".into(),
                upgrades: vec![],
                ping_interval_ms: 25000,
                ping_timeout_ms: 5000,
                max_payload: None,
            }))
        );
    }

    #[test]
    fn heartbeat_and_probe_packets() {
        for v in [EioVersion::V3, EioVersion::V4] {
            assert_eq!(dec(v, "2"), Ok(Packet::Ping(None)));
            assert_eq!(dec(v, "3"), Ok(Packet::Pong(None)));
            assert_eq!(dec(v, "2probe"), Ok(Packet::Ping(Some("probe".into()))));
            assert_eq!(dec(v, "3probe"), Ok(Packet::Pong(Some("probe".into()))));
            assert_eq!(dec(v, "1"), Ok(Packet::Close));
            assert_eq!(dec(v, "5"), Ok(Packet::Upgrade));
            assert_eq!(dec(v, "6"), Ok(Packet::Noop));
            assert_eq!(encode(v, &Packet::Pong(None)), text("3"));
            assert_eq!(
                encode(v, &Packet::Ping(Some("probe".into()))),
                text("2probe")
            );
        }
    }

    #[test]
    fn text_messages_carry_the_socket_io_packet() {
        assert_eq!(
            dec(EioVersion::V4, r#"42["hello",1]"#),
            Ok(Packet::Message(Payload::Text(r#"2["hello",1]"#.into())))
        );
        assert_eq!(
            dec(EioVersion::V4, "4"),
            Ok(Packet::Message(Payload::Text(String::new())))
        );
        assert_eq!(
            dec(EioVersion::V3, "4€"),
            Ok(Packet::Message(Payload::Text("€".into())))
        );
        assert_eq!(
            encode(EioVersion::V3, &Packet::Message(Payload::Text("40".into()))),
            text("440")
        );
    }

    #[test]
    fn v4_binary_frames_are_the_bytes_alone() {
        let bytes = vec![1, 2, 3, 4];
        let packet = Packet::Message(Payload::Binary(bytes.clone()));
        assert_eq!(
            decode(EioVersion::V4, WsData::Binary(bytes.clone())),
            Ok(packet.clone())
        );
        assert_eq!(encode(EioVersion::V4, &packet), WsData::Binary(bytes));
        // A leading 4 is data in v4, not a type byte.
        assert_eq!(
            decode(EioVersion::V4, WsData::Binary(vec![4, 0])),
            Ok(Packet::Message(Payload::Binary(vec![4, 0])))
        );
        assert_eq!(
            decode(EioVersion::V4, WsData::Binary(vec![])),
            Ok(Packet::Message(Payload::Binary(vec![])))
        );
    }

    #[test]
    fn v3_binary_frames_lead_with_the_message_type_byte() {
        // The v3 spec's example `4|0|1|2|3|4|5`.
        let wire = vec![4, 0, 1, 2, 3, 4, 5];
        let packet = Packet::Message(Payload::Binary(vec![0, 1, 2, 3, 4, 5]));
        assert_eq!(
            decode(EioVersion::V3, WsData::Binary(wire.clone())),
            Ok(packet.clone())
        );
        assert_eq!(encode(EioVersion::V3, &packet), WsData::Binary(wire));
        assert_eq!(
            decode(EioVersion::V3, WsData::Binary(vec![])),
            Err(DecodeError::Empty)
        );
        assert_eq!(
            decode(EioVersion::V3, WsData::Binary(vec![2, 1])),
            Err(DecodeError::BinaryNotMessage("ping"))
        );
        assert_eq!(
            decode(EioVersion::V3, WsData::Binary(vec![0x34, 1])),
            Err(DecodeError::UnknownBinaryType(0x34))
        );
    }

    #[test]
    fn base64_text_is_a_binary_message() {
        // The v4 spec's polling example `bAQIDBA==` is <01 02 03 04>; v3 puts the type after the `b`.
        let packet = Packet::Message(Payload::Binary(vec![1, 2, 3, 4]));
        assert_eq!(dec(EioVersion::V4, "bAQIDBA=="), Ok(packet.clone()));
        assert_eq!(dec(EioVersion::V4, "bAQIDBA"), Ok(packet.clone()));
        assert_eq!(dec(EioVersion::V3, "b4AQIDBA=="), Ok(packet.clone()));
        assert_eq!(
            dec(EioVersion::V3, "b2AQIDBA=="),
            Err(DecodeError::BinaryNotMessage("ping"))
        );
        assert!(matches!(
            dec(EioVersion::V4, "b!!"),
            Err(DecodeError::BadBase64(_))
        ));
        assert_eq!(dec(EioVersion::V3, "b"), Err(DecodeError::Empty));
    }

    #[test]
    fn bad_packets_are_errors_in_plain_words() {
        let v = EioVersion::V4;
        assert_eq!(dec(v, ""), Err(DecodeError::Empty));
        assert_eq!(dec(v, "7"), Err(DecodeError::UnknownType('7')));
        assert_eq!(dec(v, "x"), Err(DecodeError::UnknownType('x')));
        assert_eq!(dec(v, "é"), Err(DecodeError::UnknownType('é')));
        assert_eq!(
            dec(v, "7").map_err(|e| e.to_string()),
            Err("engine.io packet type '7' is unknown".into())
        );
        for bad in [
            "0",
            "0{",
            "0[]",
            r#"0{"upgrades":[],"pingInterval":1,"pingTimeout":1}"#,
            r#"0{"sid":"a","pingInterval":1}"#,
            r#"0{"sid":"a","pingInterval":-1,"pingTimeout":1}"#,
            r#"0{"sid":"a","pingInterval":1.5,"pingTimeout":1}"#,
            r#"0{"sid":"a","upgrades":[1],"pingInterval":1,"pingTimeout":1}"#,
            r#"0{"sid":"a","upgrades":"websocket","pingInterval":1,"pingTimeout":1}"#,
            r#"0{"sid":"a","pingInterval":1,"pingTimeout":1,"maxPayload":"big"}"#,
        ] {
            assert!(matches!(dec(v, bad), Err(DecodeError::BadOpen(_))), "{bad}");
        }
    }

    #[test]
    fn encode_then_decode_is_the_identity() {
        let open = OpenInfo {
            sid: "s".into(),
            upgrades: vec![],
            ping_interval_ms: u64::MAX,
            ping_timeout_ms: 0,
            max_payload: None,
        };
        let packets = [
            Packet::Open(open),
            Packet::Close,
            Packet::Ping(None),
            Packet::Ping(Some("probe".into())),
            Packet::Pong(Some("é\u{1e}x".into())),
            Packet::Message(Payload::Text(String::new())),
            Packet::Message(Payload::Text("b64 is not special after the type".into())),
            Packet::Message(Payload::Binary(vec![])),
            Packet::Message(Payload::Binary(vec![4, 4, 255])),
            Packet::Upgrade,
            Packet::Noop,
        ];
        for v in [EioVersion::V3, EioVersion::V4] {
            for packet in &packets {
                assert_eq!(decode(v, encode(v, packet)).as_ref(), Ok(packet), "{v:?}");
            }
        }
    }

    #[test]
    fn version_query_values() {
        assert_eq!(EioVersion::from_query_value("3"), Some(EioVersion::V3));
        assert_eq!(
            EioVersion::from_query_value(EioVersion::V4.query_value()),
            Some(EioVersion::V4)
        );
        assert_eq!(EioVersion::from_query_value("5"), None);
    }
}
