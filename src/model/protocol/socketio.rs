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

pub mod client;
pub mod options;

#[cfg(test)]
mod tests;
