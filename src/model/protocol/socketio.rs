//! Socket.IO packets inside Engine.IO `message` payloads, and binary attachments, sans-IO.
//!
//! Follows the Socket.IO protocol revision 5 (Socket.IO 3 and 4, over Engine.IO 4) and revision 4 (Socket.IO 1
//! and 2, over Engine.IO 3) as written in github.com/socketio/socket.io-protocol (branches `main` and `v4`), with
//! the payload rules of the reference parser (socketio/socket.io-parser 4.2.x `lib/index.ts` / `lib/binary.ts` for
//! revision 5, 3.4.x `index.js` for revision 4) and python-socketio's `packet.py`.
//!
//! The text form is `<type>[<attachments>-][<namespace>,][<ack id>][<JSON payload>]`: the attachment count only for
//! BINARY_EVENT / BINARY_ACK, the namespace only when it is not `/`. A binary packet's bytes travel in the binary
//! WebSocket messages that follow it, one per attachment, and its JSON holds `{"_placeholder":true,"num":N}` where
//! attachment N goes. [`Reassembler`] puts them back as `{"base64":"…"}` (the one convention for bytes inside JSON in
//! sockscope); [`split_binary`] does the reverse for sending.

use std::borrow::Cow;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};

/// The most binary attachments one packet may announce. Real packets carry a handful; the bound keeps a peer from
/// making the reassembler hold an unbounded list.
pub const MAX_ATTACHMENTS: usize = 64;

/// Which Socket.IO protocol revision the connection speaks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum SioVersion {
    /// Revision 4: Socket.IO 1 and 2 (Engine.IO 3). Type 4 is ERROR; CONNECT carries no payload (auth goes in a
    /// `?query` on the namespace); the server joins `/` by itself.
    V4,
    /// Revision 5: Socket.IO 3 and 4 (Engine.IO 4). Type 4 is CONNECT_ERROR; CONNECT may carry an auth object.
    #[default]
    V5,
}

impl From<super::engineio::EioVersion> for SioVersion {
    fn from(eio: super::engineio::EioVersion) -> Self {
        match eio {
            super::engineio::EioVersion::V3 => Self::V4,
            super::engineio::EioVersion::V4 => Self::V5,
        }
    }
}

/// The Socket.IO packet types, by their digit on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PacketType {
    Connect,
    Disconnect,
    Event,
    Ack,
    /// CONNECT_ERROR; called ERROR in revision 4 (same digit, same use: a namespace was refused).
    ConnectError,
    BinaryEvent,
    BinaryAck,
}

impl PacketType {
    const ALL: [Self; 7] = [
        Self::Connect,
        Self::Disconnect,
        Self::Event,
        Self::Ack,
        Self::ConnectError,
        Self::BinaryEvent,
        Self::BinaryAck,
    ];

    /// The digit on the wire.
    pub fn digit(self) -> char {
        match self {
            Self::Connect => '0',
            Self::Disconnect => '1',
            Self::Event => '2',
            Self::Ack => '3',
            Self::ConnectError => '4',
            Self::BinaryEvent => '5',
            Self::BinaryAck => '6',
        }
    }

    /// The type for a wire digit.
    pub fn from_digit(c: char) -> Option<Self> {
        c.to_digit(10)
            .and_then(|d| Self::ALL.get(d as usize).copied())
    }

    /// The spec's name for this type in `version`: `CONNECT`, …, `CONNECT_ERROR` (v5) or `ERROR` (v4), ….
    pub fn name(self, version: SioVersion) -> &'static str {
        match self {
            Self::Connect => "CONNECT",
            Self::Disconnect => "DISCONNECT",
            Self::Event => "EVENT",
            Self::Ack => "ACK",
            Self::ConnectError if version == SioVersion::V4 => "ERROR",
            Self::ConnectError => "CONNECT_ERROR",
            Self::BinaryEvent => "BINARY_EVENT",
            Self::BinaryAck => "BINARY_ACK",
        }
    }

    /// BINARY_EVENT or BINARY_ACK: attachments follow.
    pub fn is_binary(self) -> bool {
        matches!(self, Self::BinaryEvent | Self::BinaryAck)
    }

    /// EVENT or BINARY_EVENT.
    pub fn is_event(self) -> bool {
        matches!(self, Self::Event | Self::BinaryEvent)
    }

    /// ACK or BINARY_ACK.
    pub fn is_ack(self) -> bool {
        matches!(self, Self::Ack | Self::BinaryAck)
    }
}

/// One Socket.IO packet.
#[derive(Clone, Debug, PartialEq)]
pub struct Packet {
    pub kind: PacketType,
    /// Starts with `/`; `/` is the main namespace. In revision 4 it may end in `?query` (see [`Packet::namespace_path`]).
    pub namespace: String,
    /// The ack id of an EVENT that wants an ACK, or of the ACK answering it.
    pub id: Option<u64>,
    /// The JSON payload: EVENT `["name", args…]`, ACK `[args…]`, CONNECT auth or `{"sid":…}`, CONNECT_ERROR
    /// `{"message":…}` (v5) or a string (v4).
    pub data: Option<Value>,
    /// How many binary WebSocket messages follow (BINARY_EVENT / BINARY_ACK only; 0 otherwise).
    pub attachments: usize,
}

impl Packet {
    /// The namespace without a `?query`: what CONNECT answers and events are matched on.
    pub fn namespace_path(&self) -> &str {
        self.namespace
            .split_once('?')
            .map_or(&self.namespace, |(path, _)| path)
    }

    /// The `?query` part of the namespace (revision 4's way of passing auth), without the `?`.
    pub fn namespace_query(&self) -> Option<&str> {
        self.namespace.split_once('?').map(|(_, query)| query)
    }

    /// An EVENT's name (its first payload element; a number is allowed as a name by the reference parser).
    pub fn event_name(&self) -> Option<Cow<'_, str>> {
        if !self.kind.is_event() {
            return None;
        }
        match self.data.as_ref()?.as_array()?.first()? {
            Value::String(name) => Some(Cow::Borrowed(name)),
            Value::Number(n) => Some(Cow::Owned(n.to_string())),
            _ => None,
        }
    }

    /// An EVENT's arguments (after the name) or an ACK's values; empty for other packets.
    pub fn args(&self) -> &[Value] {
        let Some(items) = self.data.as_ref().and_then(Value::as_array) else {
            return &[];
        };
        if self.kind.is_event() {
            items.get(1..).unwrap_or_default()
        } else if self.kind.is_ack() {
            items
        } else {
            &[]
        }
    }
}

/// `/admin` from `admin` or `/admin`; `/` from an empty string.
fn normalize_namespace(namespace: &str) -> String {
    if namespace.starts_with('/') {
        namespace.to_owned()
    } else {
        format!("/{namespace}")
    }
}

/// An EVENT `["name", args…]` on `namespace`, asking for an ack when `id` is given. Pass args holding
/// `{"base64":…}` through [`split_binary`] before sending.
pub fn event(namespace: &str, name: &str, args: Vec<Value>, id: Option<u64>) -> Packet {
    let mut data = Vec::with_capacity(args.len() + 1);
    data.push(Value::String(name.to_owned()));
    data.extend(args);
    Packet {
        kind: PacketType::Event,
        namespace: normalize_namespace(namespace),
        id,
        data: Some(Value::Array(data)),
        attachments: 0,
    }
}

/// The ACK answering event `id` with `args`.
pub fn ack(namespace: &str, id: u64, args: Vec<Value>) -> Packet {
    Packet {
        kind: PacketType::Ack,
        namespace: normalize_namespace(namespace),
        id: Some(id),
        data: Some(Value::Array(args)),
        attachments: 0,
    }
}

/// A CONNECT to `namespace` with an optional auth payload (revision 5: `40/admin,{"token":"123"}`). For revision 4,
/// which has no payload, put the auth in the namespace instead: `connect("/admin?token=abc", None)`.
pub fn connect(namespace: &str, auth: Option<Value>) -> Packet {
    Packet {
        kind: PacketType::Connect,
        namespace: normalize_namespace(namespace),
        id: None,
        data: auth,
        attachments: 0,
    }
}

/// A DISCONNECT from `namespace`.
pub fn disconnect(namespace: &str) -> Packet {
    Packet {
        kind: PacketType::Disconnect,
        namespace: normalize_namespace(namespace),
        id: None,
        data: None,
        attachments: 0,
    }
}

/// Why a text payload is not a Socket.IO packet.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("socket.io packet is empty (no packet type)")]
    Empty,
    #[error("socket.io packet type '{0}' is unknown")]
    UnknownType(char),
    #[error("socket.io binary packet has no attachment count before '-'")]
    BadAttachments,
    #[error(
        "socket.io packet announces {0} binary attachments; at most {MAX_ATTACHMENTS} are accepted"
    )]
    TooManyAttachments(String),
    #[error("socket.io ack id {0} is too large (more than 64 bits)")]
    AckIdTooLarge(String),
    #[error("socket.io packet payload is not valid JSON: {0}")]
    BadJson(String),
    #[error("socket.io {kind} payload must be {expected}")]
    BadPayload {
        kind: &'static str,
        expected: &'static str,
    },
    #[error("socket.io {0} packet has no payload")]
    MissingPayload(&'static str),
}

/// Reads the text of one Engine.IO message payload as a Socket.IO packet. A BINARY_EVENT / BINARY_ACK comes back
/// with its placeholders; feed it to a [`Reassembler`] with the binary messages that follow.
pub fn decode_text(text: &str, version: SioVersion) -> Result<Packet, DecodeError> {
    let first = text.chars().next().ok_or(DecodeError::Empty)?;
    let kind = PacketType::from_digit(first).ok_or(DecodeError::UnknownType(first))?;
    // Every field before the JSON is ASCII, so byte positions found here are char boundaries.
    let mut rest = &text[1..];

    let mut attachments = 0;
    if kind.is_binary() {
        let digits = leading_digits(rest);
        if digits.is_empty() || rest.as_bytes().get(digits.len()) != Some(&b'-') {
            return Err(DecodeError::BadAttachments);
        }
        attachments = digits
            .parse::<usize>()
            .ok()
            .filter(|&n| n <= MAX_ATTACHMENTS)
            .ok_or_else(|| DecodeError::TooManyAttachments(digits.to_owned()))?;
        rest = &rest[digits.len() + 1..];
    }

    let mut namespace = "/".to_owned();
    if rest.starts_with('/') {
        let (nsp, after) = rest.split_once(',').unwrap_or((rest, ""));
        namespace = nsp.to_owned();
        rest = after;
    }

    let digits = leading_digits(rest);
    let id = if digits.is_empty() {
        None
    } else {
        let id = digits
            .parse::<u64>()
            .map_err(|_| DecodeError::AckIdTooLarge(digits.to_owned()))?;
        rest = &rest[digits.len()..];
        Some(id)
    };

    let data = if rest.is_empty() {
        None
    } else {
        Some(serde_json::from_str::<Value>(rest).map_err(|e| DecodeError::BadJson(e.to_string()))?)
    };
    check_payload(kind, version, data.as_ref())?;

    Ok(Packet {
        kind,
        namespace,
        id,
        data,
        attachments,
    })
}

fn leading_digits(s: &str) -> &str {
    let end = s
        .bytes()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(s.len());
    &s[..end]
}

/// The payload rules of the reference parsers (`isPayloadValid`), plus the specs' "the payload is mandatory" for
/// events and acks and revision 4's "CONNECT does not contain any payload".
fn check_payload(
    kind: PacketType,
    version: SioVersion,
    data: Option<&Value>,
) -> Result<(), DecodeError> {
    let name = kind.name(version);
    let bad = |expected| {
        Err(DecodeError::BadPayload {
            kind: name,
            expected,
        })
    };
    match (kind, data) {
        (PacketType::Connect, None) | (PacketType::ConnectError, None) => Ok(()),
        (PacketType::Connect, Some(_)) if version == SioVersion::V4 => bad("absent in Socket.IO 2"),
        (PacketType::Connect, Some(Value::Object(_))) => Ok(()),
        (PacketType::Connect, Some(_)) => bad("a JSON object"),
        (PacketType::Disconnect, None) => Ok(()),
        (PacketType::Disconnect, Some(_)) => bad("absent"),
        (PacketType::ConnectError, Some(Value::Object(_) | Value::String(_))) => Ok(()),
        (PacketType::ConnectError, Some(_)) => bad("a JSON object or string"),
        (PacketType::Event | PacketType::BinaryEvent, Some(Value::Array(items)))
            if matches!(items.first(), Some(Value::String(_) | Value::Number(_))) =>
        {
            Ok(())
        }
        (PacketType::Event | PacketType::BinaryEvent, Some(_)) => {
            bad("a JSON list starting with the event name")
        }
        (PacketType::Ack | PacketType::BinaryAck, Some(Value::Array(_))) => Ok(()),
        (PacketType::Ack | PacketType::BinaryAck, Some(_)) => bad("a JSON list"),
        (_, None) => Err(DecodeError::MissingPayload(name)),
    }
}

/// Writes a packet's text form (the attachments of a binary packet go separately, after it).
pub fn encode_text(packet: &Packet) -> String {
    let mut out = String::new();
    out.push(packet.kind.digit());
    if packet.kind.is_binary() {
        out.push_str(&packet.attachments.to_string());
        out.push('-');
    }
    if !packet.namespace.is_empty() && packet.namespace != "/" {
        out.push_str(&packet.namespace);
        out.push(',');
    }
    if let Some(id) = packet.id {
        out.push_str(&id.to_string());
    }
    if let Some(data) = &packet.data {
        out.push_str(&data.to_string());
    }
    out
}

/// Why binary attachments could not be put back, or taken out.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ReassembleError {
    #[error(
        "a binary WebSocket message arrived, but no socket.io binary packet was waiting for an attachment"
    )]
    UnexpectedBinary,
    #[error(
        "a socket.io text packet arrived while a binary packet still waited for {missing} attachment(s); the binary packet was dropped"
    )]
    Interrupted {
        missing: usize,
        /// The text packet that arrived: feed it again, the reassembler is now idle.
        next: Box<Packet>,
    },
    #[error(
        "socket.io packet announces {0} binary attachments; at most {MAX_ATTACHMENTS} are accepted"
    )]
    TooManyAttachments(usize),
    #[error("socket.io placeholder {0} does not name one of the packet's {1} attachment(s)")]
    BadPlaceholder(String, usize),
    #[error("{{\"base64\":…}} value is not valid base64: {0}")]
    BadBase64(String),
}

/// Puts binary packets back together: feed every decoded text packet and every binary message, in order.
///
/// A non-binary packet comes straight back. A BINARY_EVENT / BINARY_ACK is held until its attachments have
/// arrived, then comes back with each placeholder replaced by `{"base64":"…"}` (kind and attachment count kept, so
/// the caller can tell it travelled in several messages).
#[derive(Debug, Default)]
pub struct Reassembler {
    pending: Option<(Packet, Vec<Vec<u8>>)>,
}

impl Reassembler {
    /// Whether a binary packet is waiting for attachments.
    pub fn is_waiting(&self) -> bool {
        self.pending.is_some()
    }

    /// How many attachments the waiting packet still needs (0 when idle).
    pub fn missing(&self) -> usize {
        self.pending
            .as_ref()
            .map_or(0, |(p, got)| p.attachments.saturating_sub(got.len()))
    }

    /// Drops a waiting packet (the connection closed, say) and returns it with the attachments received so far.
    pub fn abandon(&mut self) -> Option<(Packet, Vec<Vec<u8>>)> {
        self.pending.take()
    }

    /// Feeds one decoded text packet: `Some` when it is complete, `None` when it waits for attachments.
    pub fn feed_text(&mut self, packet: Packet) -> Result<Option<Packet>, ReassembleError> {
        if let Some((waiting, got)) = self.pending.take() {
            return Err(ReassembleError::Interrupted {
                missing: waiting.attachments.saturating_sub(got.len()),
                next: Box::new(packet),
            });
        }
        if !packet.kind.is_binary() {
            return Ok(Some(packet));
        }
        if packet.attachments > MAX_ATTACHMENTS {
            return Err(ReassembleError::TooManyAttachments(packet.attachments));
        }
        if packet.attachments == 0 {
            return reconstruct(packet, &[]).map(Some);
        }
        let capacity = packet.attachments;
        self.pending = Some((packet, Vec::with_capacity(capacity)));
        Ok(None)
    }

    /// Feeds one binary message (the Engine.IO binary payload): `Some` when it was the packet's last attachment.
    pub fn feed_binary(&mut self, bytes: Vec<u8>) -> Result<Option<Packet>, ReassembleError> {
        let Some((packet, mut got)) = self.pending.take() else {
            return Err(ReassembleError::UnexpectedBinary);
        };
        got.push(bytes);
        if got.len() < packet.attachments {
            self.pending = Some((packet, got));
            return Ok(None);
        }
        reconstruct(packet, &got).map(Some)
    }
}

fn reconstruct(mut packet: Packet, attachments: &[Vec<u8>]) -> Result<Packet, ReassembleError> {
    if let Some(data) = packet.data.as_mut() {
        fill_placeholders(data, attachments)?;
    }
    Ok(packet)
}

fn fill_placeholders(value: &mut Value, attachments: &[Vec<u8>]) -> Result<(), ReassembleError> {
    match value {
        Value::Array(items) => items
            .iter_mut()
            .try_for_each(|v| fill_placeholders(v, attachments)),
        Value::Object(map) if map.get("_placeholder") == Some(&Value::Bool(true)) => {
            let num = map.get("num");
            let bytes = num
                .and_then(Value::as_u64)
                .and_then(|n| usize::try_from(n).ok())
                .and_then(|n| attachments.get(n))
                .ok_or_else(|| {
                    let shown = num.map_or_else(|| "without a num".to_owned(), Value::to_string);
                    ReassembleError::BadPlaceholder(shown, attachments.len())
                })?;
            *value = json!({ "base64": STANDARD.encode(bytes) });
            Ok(())
        }
        Value::Object(map) => map
            .values_mut()
            .try_for_each(|v| fill_placeholders(v, attachments)),
        _ => Ok(()),
    }
}

/// Takes the bytes out of an EVENT / ACK whose payload holds `{"base64":"…"}` values, for sending: each becomes a
/// placeholder, the packet becomes a BINARY_EVENT / BINARY_ACK announcing them, and the bytes come back in the order
/// they must be sent after the text. A packet without bytes comes back unchanged with no attachments; other packet
/// types are never changed (Socket.IO carries binary only in events and acks).
pub fn split_binary(mut packet: Packet) -> Result<(Packet, Vec<Vec<u8>>), ReassembleError> {
    let mut attachments = Vec::new();
    if !(packet.kind.is_event() || packet.kind.is_ack()) {
        return Ok((packet, attachments));
    }
    if let Some(data) = packet.data.as_mut() {
        take_bytes(data, &mut attachments)?;
    }
    if attachments.len() > MAX_ATTACHMENTS {
        return Err(ReassembleError::TooManyAttachments(attachments.len()));
    }
    if !attachments.is_empty() || packet.kind.is_binary() {
        packet.kind = if packet.kind.is_event() {
            PacketType::BinaryEvent
        } else {
            PacketType::BinaryAck
        };
        packet.attachments = attachments.len();
    }
    Ok((packet, attachments))
}

fn take_bytes(value: &mut Value, out: &mut Vec<Vec<u8>>) -> Result<(), ReassembleError> {
    match value {
        Value::Array(items) => items.iter_mut().try_for_each(|v| take_bytes(v, out)),
        Value::Object(map) => match as_bytes(map) {
            Some(encoded) => {
                let bytes = STANDARD
                    .decode(encoded)
                    .map_err(|e| ReassembleError::BadBase64(e.to_string()))?;
                *value = json!({ "_placeholder": true, "num": out.len() });
                out.push(bytes);
                Ok(())
            }
            None => map.values_mut().try_for_each(|v| take_bytes(v, out)),
        },
        _ => Ok(()),
    }
}

/// The base64 text of a `{"base64":"…"}` object (that one key, a string), the product's form of bytes in JSON.
fn as_bytes(map: &Map<String, Value>) -> Option<&str> {
    match (map.len(), map.get("base64")) {
        (1, Some(Value::String(encoded))) => Some(encoded),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const V5: SioVersion = SioVersion::V5;
    const V4: SioVersion = SioVersion::V4;

    fn packet(kind: PacketType, namespace: &str, id: Option<u64>, data: Option<Value>) -> Packet {
        let attachments = 0;
        Packet {
            kind,
            namespace: namespace.into(),
            id,
            data,
            attachments,
        }
    }

    /// Decodes `text`, checks the packet, and checks encoding gives back exactly `text`.
    fn both_ways(text: &str, version: SioVersion, expected: &Packet) {
        assert_eq!(decode_text(text, version).as_ref(), Ok(expected), "{text}");
        assert_eq!(encode_text(expected), text);
    }

    #[test]
    fn connect_packets_from_the_v5_spec() {
        // `40` on the wire: Engine.IO message `4` carrying Socket.IO `0`.
        both_ways("0", V5, &packet(PacketType::Connect, "/", None, None));
        both_ways(
            "0/admin,",
            V5,
            &packet(PacketType::Connect, "/admin", None, None),
        );
        both_ways(
            r#"0/admin,{"token":"123"}"#,
            V5,
            &packet(
                PacketType::Connect,
                "/admin",
                None,
                Some(json!({"token": "123"})),
            ),
        );
        both_ways(
            r#"0{"sid":"wZX3oN0bSVIhsaknAAAI"}"#,
            V5,
            &packet(
                PacketType::Connect,
                "/",
                None,
                Some(json!({"sid": "wZX3oN0bSVIhsaknAAAI"})),
            ),
        );
        assert_eq!(
            encode_text(&connect("admin", Some(json!({"token": "123"})))),
            r#"0/admin,{"token":"123"}"#
        );
        assert_eq!(encode_text(&connect("/", None)), "0");
    }

    #[test]
    fn connect_error_disconnect_and_events_from_the_v5_spec() {
        let refused = packet(
            PacketType::ConnectError,
            "/",
            None,
            Some(json!({"message": "Not authorized"})),
        );
        both_ways(r#"4{"message":"Not authorized"}"#, V5, &refused);
        both_ways("1", V5, &packet(PacketType::Disconnect, "/", None, None));
        both_ways(
            "1/admin,",
            V5,
            &packet(PacketType::Disconnect, "/admin", None, None),
        );
        assert_eq!(encode_text(&disconnect("/admin")), "1/admin,");

        let hello = packet(PacketType::Event, "/", None, Some(json!(["hello", 1])));
        both_ways(r#"2["hello",1]"#, V5, &hello);
        assert_eq!(hello.event_name().as_deref(), Some("hello"));
        assert_eq!(hello.args(), &[json!(1)]);
        assert_eq!(event("/", "hello", vec![json!(1)], None), hello);

        both_ways(
            r#"2/admin,["bar"]"#,
            V5,
            &packet(PacketType::Event, "/admin", None, Some(json!(["bar"]))),
        );
        let with_ack = packet(PacketType::Event, "/", Some(1), Some(json!(["ev"])));
        both_ways(r#"21["ev"]"#, V5, &with_ack);
        assert_eq!(with_ack.args(), &[] as &[Value]);
        both_ways(
            r#"212["foo"]"#,
            V5,
            &packet(PacketType::Event, "/", Some(12), Some(json!(["foo"]))),
        );
    }

    #[test]
    fn acks_from_the_v5_spec() {
        let ok = packet(PacketType::Ack, "/", Some(1), Some(json!(["ok"])));
        both_ways(r#"31["ok"]"#, V5, &ok);
        assert_eq!(ok.args(), &[json!("ok")]);
        assert_eq!(ok.event_name(), None);
        assert_eq!(ack("/", 1, vec![json!("ok")]), ok);
        both_ways(
            r#"3/admin,13["bar"]"#,
            V5,
            &packet(PacketType::Ack, "/admin", Some(13), Some(json!(["bar"]))),
        );
        both_ways(
            "3/admin,456[]",
            V4,
            &packet(PacketType::Ack, "/admin", Some(456), Some(json!([]))),
        );
    }

    #[test]
    fn binary_event_with_one_attachment() {
        // `451-["hello",{"_placeholder":true,"num":0}]` on the wire, then a binary frame.
        let text = r#"51-["hello",{"_placeholder":true,"num":0}]"#;
        let decoded = decode_text(text, V5).expect("decodes");
        assert_eq!(decoded.kind, PacketType::BinaryEvent);
        assert_eq!(decoded.attachments, 1);
        assert_eq!(encode_text(&decoded), text);

        let mut reassembler = Reassembler::default();
        assert_eq!(reassembler.feed_text(decoded.clone()), Ok(None));
        assert!(reassembler.is_waiting());
        assert_eq!(reassembler.missing(), 1);
        let complete = reassembler
            .feed_binary(vec![1, 2, 3])
            .expect("fills")
            .expect("complete");
        assert!(!reassembler.is_waiting());
        assert_eq!(complete.data, Some(json!(["hello", {"base64": "AQID"}])));
        assert_eq!(complete.event_name().as_deref(), Some("hello"));
        assert_eq!(complete.args(), &[json!({"base64": "AQID"})]);

        // And back: the same text and the same bytes.
        let (split, bytes) = split_binary(complete).expect("splits");
        assert_eq!(split, decoded);
        assert_eq!(bytes, vec![vec![1, 2, 3]]);
    }

    #[test]
    fn binary_packets_from_the_specs_examples() {
        let two =
            r#"52-/admin,["baz",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#;
        let decoded = decode_text(two, V5).expect("decodes");
        assert_eq!(
            (decoded.attachments, decoded.namespace.as_str()),
            (2, "/admin")
        );
        let mut reassembler = Reassembler::default();
        assert_eq!(reassembler.feed_text(decoded), Ok(None));
        assert_eq!(reassembler.feed_binary(vec![1, 2]), Ok(None));
        let complete = reassembler
            .feed_binary(vec![3, 4])
            .expect("fills")
            .expect("complete");
        assert_eq!(
            complete.data,
            Some(json!(["baz", {"base64": "AQI="}, {"base64": "AwQ="}]))
        );

        // The v5 sample session's BINARY_ACK, and revision 4's BINARY_ACK example.
        let sample =
            decode_text(r#"61-/admin,1[{"_placeholder":true,"num":0}]"#, V5).expect("decodes");
        assert_eq!(
            (sample.kind, sample.id, sample.attachments),
            (PacketType::BinaryAck, Some(1), 1)
        );
        let v4 = r#"61-/admin,456[{"_placeholder":true,"num":0}]"#;
        let decoded = decode_text(v4, V4).expect("decodes");
        assert_eq!(encode_text(&decoded), v4);
        assert_eq!(reassembler.feed_text(decoded), Ok(None));
        let complete = reassembler
            .feed_binary(vec![3, 2, 1])
            .expect("fills")
            .expect("complete");
        assert_eq!(complete.args(), &[json!({"base64": "AwIB"})]);
    }

    #[test]
    fn placeholders_nest_and_may_repeat() {
        let text =
            r#"51-["x",{"a":[{"_placeholder":true,"num":0}]},{"_placeholder":true,"num":0}]"#;
        let mut reassembler = Reassembler::default();
        reassembler
            .feed_text(decode_text(text, V5).expect("decodes"))
            .expect("waits");
        let complete = reassembler
            .feed_binary(vec![0xff])
            .expect("fills")
            .expect("complete");
        assert_eq!(
            complete.data,
            Some(json!(["x", {"a": [{"base64": "/w=="}]}, {"base64": "/w=="}]))
        );
    }

    #[test]
    fn socket_io_2_error_and_connect_with_query() {
        let admin = packet(PacketType::Connect, "/admin?token=abc", None, None);
        both_ways("0/admin?token=abc,", V4, &admin);
        assert_eq!(admin.namespace_path(), "/admin");
        assert_eq!(admin.namespace_query(), Some("token=abc"));
        assert_eq!(
            encode_text(&connect("/admin?token=abc", None)),
            "0/admin?token=abc,"
        );
        let error = packet(
            PacketType::ConnectError,
            "/admin",
            None,
            Some(json!("Not authorized")),
        );
        both_ways(r#"4/admin,"Not authorized""#, V4, &error);
        assert_eq!(error.kind.name(V4), "ERROR");
        assert_eq!(error.kind.name(V5), "CONNECT_ERROR");
        both_ways(
            r#"2/admin,456["project:delete",123]"#,
            V4,
            &packet(
                PacketType::Event,
                "/admin",
                Some(456),
                Some(json!(["project:delete", 123])),
            ),
        );
        // Revision 4's CONNECT has no payload.
        assert!(matches!(
            decode_text(r#"0{"token":"1"}"#, V4),
            Err(DecodeError::BadPayload { .. })
        ));
    }

    #[test]
    fn namespace_without_a_comma_runs_to_the_end() {
        // The reference parser reads `1/admin` like `1/admin,`.
        assert_eq!(
            decode_text("1/admin", V5),
            Ok(packet(PacketType::Disconnect, "/admin", None, None))
        );
        assert_eq!(
            decode_text("2/,[\"a\"]", V5),
            Ok(packet(PacketType::Event, "/", None, Some(json!(["a"]))))
        );
    }

    #[test]
    fn bad_packets_are_errors_in_plain_words() {
        assert_eq!(decode_text("", V5), Err(DecodeError::Empty));
        assert_eq!(decode_text("7", V5), Err(DecodeError::UnknownType('7')));
        assert_eq!(decode_text("ü", V5), Err(DecodeError::UnknownType('ü')));
        assert_eq!(
            decode_text("7[]", V5).map_err(|e| e.to_string()),
            Err("socket.io packet type '7' is unknown".into())
        );
        assert!(matches!(
            decode_text(r#"2["a""#, V5),
            Err(DecodeError::BadJson(_))
        ));
        assert!(matches!(
            decode_text("2[1]x", V5),
            Err(DecodeError::BadJson(_))
        ));
        assert_eq!(decode_text("5[]", V5), Err(DecodeError::BadAttachments));
        assert_eq!(
            decode_text("5-[\"a\"]", V5),
            Err(DecodeError::BadAttachments)
        );
        assert_eq!(
            decode_text("51[\"a\"]", V5),
            Err(DecodeError::BadAttachments)
        );
        assert_eq!(
            decode_text("599999999999999999999999-[\"a\"]", V5),
            Err(DecodeError::TooManyAttachments(
                "599999999999999999999999"[1..].into()
            ))
        );
        assert_eq!(
            decode_text("565-[\"a\"]", V5),
            Err(DecodeError::TooManyAttachments("65".into()))
        );
        assert!(decode_text("564-[\"a\"]", V5).is_ok());
        assert_eq!(
            decode_text("218446744073709551616[\"a\"]", V5),
            Err(DecodeError::AckIdTooLarge("18446744073709551616".into()))
        );
        assert_eq!(
            decode_text("218446744073709551615[\"a\"]", V5).map(|p| p.id),
            Ok(Some(u64::MAX))
        );
        assert_eq!(
            decode_text("2", V5),
            Err(DecodeError::MissingPayload("EVENT"))
        );
        assert_eq!(
            decode_text("31", V5),
            Err(DecodeError::MissingPayload("ACK"))
        );
        for bad in [
            "2[]", "2{}", "2[null]", "3{}", "1[]", "0[]", "0\"x\"", "4[]", "4 1",
        ] {
            assert!(
                matches!(decode_text(bad, V5), Err(DecodeError::BadPayload { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn reassembler_refuses_what_it_cannot_place() {
        let mut reassembler = Reassembler::default();
        assert_eq!(
            reassembler.feed_binary(vec![1]),
            Err(ReassembleError::UnexpectedBinary)
        );

        // A placeholder past the attachments, or with a num that is not a small whole number.
        for text in [
            r#"51-["a",{"_placeholder":true,"num":1}]"#,
            r#"51-["a",{"_placeholder":true,"num":-1}]"#,
            r#"51-["a",{"_placeholder":true,"num":1e300}]"#,
            r#"51-["a",{"_placeholder":true,"num":"0"}]"#,
            r#"51-["a",{"_placeholder":true}]"#,
        ] {
            reassembler
                .feed_text(decode_text(text, V5).expect("decodes"))
                .expect("waits");
            assert!(
                matches!(
                    reassembler.feed_binary(vec![1]),
                    Err(ReassembleError::BadPlaceholder(..))
                ),
                "{text}"
            );
            assert!(!reassembler.is_waiting());
        }
        let none = decode_text(r#"50-["a",{"_placeholder":true,"num":0}]"#, V5).expect("decodes");
        assert!(matches!(
            reassembler.feed_text(none),
            Err(ReassembleError::BadPlaceholder(..))
        ));

        // More than 64 attachments on a packet built by hand.
        let mut huge = event("/", "a", vec![], None);
        huge.kind = PacketType::BinaryEvent;
        huge.attachments = MAX_ATTACHMENTS + 1;
        assert_eq!(
            reassembler.feed_text(huge),
            Err(ReassembleError::TooManyAttachments(65))
        );

        // A text packet while attachments are still due: the waiting packet is dropped, the new one handed back.
        let two = decode_text(r#"52-["a",{"_placeholder":true,"num":1}]"#, V5).expect("decodes");
        reassembler.feed_text(two).expect("waits");
        reassembler.feed_binary(vec![1]).expect("one of two");
        let next = decode_text(r#"2["b"]"#, V5).expect("decodes");
        let Err(ReassembleError::Interrupted {
            missing,
            next: back,
        }) = reassembler.feed_text(next.clone())
        else {
            panic!("expected an interruption");
        };
        assert_eq!((missing, &*back), (1, &next));
        assert_eq!(reassembler.feed_text(*back), Ok(Some(next)));
    }

    #[test]
    fn a_placeholder_free_binary_packet_with_no_attachments_completes_at_once() {
        let text = r#"50-["a"]"#;
        let mut reassembler = Reassembler::default();
        let decoded = decode_text(text, V5).expect("decodes");
        assert_eq!(reassembler.feed_text(decoded.clone()), Ok(Some(decoded)));
    }

    #[test]
    fn split_binary_for_sending() {
        let bytes_arg = json!({"base64": "AQIDBA=="});
        let (packet, bytes) = split_binary(event(
            "/admin",
            "upload",
            vec![json!("x"), bytes_arg],
            Some(3),
        ))
        .expect("splits");
        assert_eq!(
            encode_text(&packet),
            r#"51-/admin,3["upload","x",{"_placeholder":true,"num":0}]"#
        );
        assert_eq!(bytes, vec![vec![1, 2, 3, 4]]);

        let (packet, bytes) = split_binary(ack(
            "/",
            15,
            vec![json!("bar"), json!({"base64": "AQIDBA=="})],
        ))
        .expect("splits");
        assert_eq!(
            encode_text(&packet),
            r#"61-15["bar",{"_placeholder":true,"num":0}]"#
        );
        assert_eq!(bytes.len(), 1);

        // Nothing to take out: unchanged. An object with more keys than base64 is plain JSON.
        let plain = event("/", "e", vec![json!({"base64": "AA==", "also": 1})], None);
        assert_eq!(split_binary(plain.clone()), Ok((plain, vec![])));
        // Only events and acks carry binary.
        let auth = connect("/", Some(json!({"base64": "AA=="})));
        assert_eq!(split_binary(auth.clone()), Ok((auth, vec![])));
        // Bad base64 and too many attachments are errors.
        let bad = event("/", "e", vec![json!({"base64": "!!"})], None);
        assert!(matches!(
            split_binary(bad),
            Err(ReassembleError::BadBase64(_))
        ));
        let many = event(
            "/",
            "e",
            vec![json!({"base64": "AA=="}); MAX_ATTACHMENTS + 1],
            None,
        );
        assert_eq!(
            split_binary(many),
            Err(ReassembleError::TooManyAttachments(65))
        );
    }

    #[test]
    fn encode_then_decode_is_the_identity() {
        let mut binary = event(
            "/chat",
            "file",
            vec![json!({"_placeholder": true, "num": 0})],
            Some(7),
        );
        binary.kind = PacketType::BinaryEvent;
        binary.attachments = 1;
        let packets = [
            connect("/", None),
            connect("/a", Some(json!({"token": "t", "n": [1, 2.5, null, true]}))),
            disconnect("/a"),
            event(
                "/",
                "é€",
                vec![json!("\u{1e}"), json!({"nested": {"deep": []}})],
                Some(0),
            ),
            event("/1", "x", vec![], Some(u64::MAX)),
            ack("/", 9, vec![]),
            packet(
                PacketType::ConnectError,
                "/x",
                None,
                Some(json!({"message": "no"})),
            ),
            packet(PacketType::ConnectError, "/", None, None),
            binary,
        ];
        for p in &packets {
            assert_eq!(
                decode_text(&encode_text(p), V5).as_ref(),
                Ok(p),
                "{}",
                encode_text(p)
            );
        }
    }

    #[test]
    fn version_follows_engine_io() {
        use super::super::engineio::EioVersion;
        assert_eq!(SioVersion::from(EioVersion::V3), SioVersion::V4);
        assert_eq!(SioVersion::from(EioVersion::V4), SioVersion::V5);
    }
}
