//! Binary payloads as JSON: MessagePack, CBOR and Protobuf (from the user's `.proto` files, compiled at run time
//! by protox; no `protoc`). Sans-IO: bytes in, a JSON value (or where and why it does not decode) out; JSON in,
//! bytes (or why it cannot be encoded) out.
//!
//! The JSON forms are shared by the three codecs and the protocol lenses: bytes are `{"base64":…}`, MessagePack
//! extension values `{"ext":N,"base64":…}` (a timestamp adds `"timestamp"`), CBOR tags `{"tag":N,"value":…}`,
//! integers beyond ±2^53 decimal strings, non-string map keys the JSON text of the key, NaN and the infinities
//! `{"float":"NaN"}`; Protobuf follows the proto3 JSON mapping, with unknown fields as `"#N"` (their field number).
//! The same forms are accepted when composing.

pub mod cbor;
pub mod msgpack;
pub mod protobuf;

use serde_json::{Value, json};

/// 2^53: the largest integer a JSON number holds exactly in every reader (JavaScript's `Number`).
pub const SAFE_INTEGER: u64 = 1 << 53;

/// Where a payload stopped decoding, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeError {
    /// The byte offset of the item that failed.
    pub offset: usize,
    /// What was wrong, in words.
    pub cause: String,
}

impl DecodeError {
    /// An error at `offset`.
    pub fn new(offset: usize, cause: impl Into<String>) -> Self {
        Self {
            offset,
            cause: cause.into(),
        }
    }
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "at byte {}: {}", self.offset, self.cause)
    }
}

/// Why a JSON value cannot be encoded, in words.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct EncodeError(pub String);

/// A decimal string beyond ±2^53 that fits 128 bits: the integer it spells (how both codecs take a big integer
/// written as JSON).
pub(crate) fn big_integer(s: &str) -> Option<i128> {
    let digits = s.strip_prefix('-').unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || digits.len() > 39 {
        return None;
    }
    let v: i128 = s.parse().ok()?;
    (v.unsigned_abs() > u128::from(SAFE_INTEGER)).then_some(v)
}

/// `{"float":"NaN"}` for the floats JSON has no number for.
pub(crate) fn special_float(f: f64) -> Value {
    let name = if f.is_nan() {
        "NaN"
    } else if f > 0.0 {
        "Infinity"
    } else {
        "-Infinity"
    };
    json!({ "float": name })
}

/// The float of a `{"float":"NaN"|"Infinity"|"-Infinity"}` value.
pub(crate) fn float_form(value: &Value) -> Option<f64> {
    let object = value.as_object().filter(|o| o.len() == 1)?;
    match object.get("float")?.as_str()? {
        "NaN" => Some(f64::NAN),
        "Infinity" => Some(f64::INFINITY),
        "-Infinity" => Some(f64::NEG_INFINITY),
        _ => None,
    }
}

/// Most base64 fields [`base64_fields`] lists.
pub const MAX_BASE64_FIELDS: usize = 64;
/// JSON nodes [`base64_fields`] looks at, at most (a huge document is not walked whole).
const MAX_NODES_WALKED: usize = 100_000;

/// The fields of a JSON value that hold bytes as base64 (a string field, as SignalR and AWS payloads carry
/// them, or the `{"base64":…}` form), in document order, with their JSON path (`$.data`, `$.items[2].blob`) and
/// the bytes. Standard and URL-safe alphabets, padded or not. A short string of letters only ("username") is
/// not taken for base64: at least 8 characters, and a digit, `+`, `/`, `-`, `_` or `=` among them, or mixed case
/// from 16 characters on.
pub fn base64_fields(value: &Value) -> Vec<(String, Vec<u8>)> {
    use base64::Engine as _;
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    const LENIENT: GeneralPurposeConfig =
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
    const STANDARD: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::STANDARD, LENIENT);
    const URL_SAFE: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::URL_SAFE, LENIENT);
    fn bytes_of(text: &str) -> Option<Vec<u8>> {
        let text = text.trim();
        if text.len() < 8 {
            return None;
        }
        let marked = text
            .bytes()
            .any(|b| b.is_ascii_digit() || b"+/-_=".contains(&b));
        let mixed = text.bytes().any(|b| b.is_ascii_uppercase())
            && text.bytes().any(|b| b.is_ascii_lowercase());
        if !(marked || (mixed && text.len() >= 16)) {
            return None;
        }
        STANDARD
            .decode(text)
            .or_else(|_| URL_SAFE.decode(text))
            .ok()
            .filter(|b| !b.is_empty())
    }
    fn walk(value: &Value, path: &mut String, out: &mut Vec<(String, Vec<u8>)>, nodes: &mut usize) {
        *nodes += 1;
        if out.len() >= MAX_BASE64_FIELDS || *nodes > MAX_NODES_WALKED {
            return;
        }
        match value {
            Value::String(text) => {
                if let Some(bytes) = bytes_of(text) {
                    out.push((path.clone(), bytes));
                }
            }
            Value::Object(map) => {
                if let Some(bytes) = crate::model::protocol::lens::value_bytes(value) {
                    out.push((path.clone(), bytes));
                    return;
                }
                for (key, item) in map {
                    let len = path.len();
                    let plain = !key.is_empty()
                        && key
                            .chars()
                            .all(|c| c.is_alphanumeric() || c == '_' || c == '-');
                    if plain {
                        path.push('.');
                        path.push_str(key);
                    } else {
                        path.push_str(&format!("[{}]", Value::String(key.clone())));
                    }
                    walk(item, path, out, nodes);
                    path.truncate(len);
                }
            }
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    let len = path.len();
                    path.push_str(&format!("[{i}]"));
                    walk(item, path, out, nodes);
                    path.truncate(len);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(value, &mut "$".to_owned(), &mut out, &mut 0);
    out
}

/// Which codec a connection reads and writes its binary messages with.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum CodecKind {
    /// Bytes as bytes (hex, base64, UTF-8).
    #[default]
    None,
    /// MessagePack.
    MessagePack,
    /// CBOR (RFC 8949).
    Cbor,
    /// Protobuf, with the message types of the user's `.proto` files.
    Protobuf,
}

impl CodecKind {
    /// Every choice, in the order the GUI lists them.
    pub const ALL: [Self; 4] = [Self::None, Self::MessagePack, Self::Cbor, Self::Protobuf];

    /// `none`, `msgpack`, `cbor` or `protobuf`: the command line's and the session file's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::MessagePack => "msgpack",
            Self::Cbor => "cbor",
            Self::Protobuf => "protobuf",
        }
    }

    /// What the GUI shows.
    pub fn label(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::MessagePack => "MessagePack",
            Self::Cbor => "CBOR",
            Self::Protobuf => "Protobuf",
        }
    }

    /// Parses `none`, `msgpack` (`messagepack`), `cbor` or `protobuf` (`proto`).
    pub fn parse(text: &str) -> Result<Self, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "none" | "" => Ok(Self::None),
            "msgpack" | "messagepack" => Ok(Self::MessagePack),
            "cbor" => Ok(Self::Cbor),
            "protobuf" | "proto" => Ok(Self::Protobuf),
            other => Err(format!(
                "unknown codec '{other}' (use msgpack, cbor or protobuf)"
            )),
        }
    }
}

impl serde::Serialize for CodecKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for CodecKind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// A connection's codec as the user set it (and a session keeps it): which one, and for Protobuf the `.proto`
/// files, their import paths and the message types.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct CodecSetting {
    /// none, msgpack, cbor or protobuf.
    pub kind: CodecKind,
    /// Protobuf: the `.proto` files.
    pub proto_files: Vec<String>,
    /// Protobuf: where their imports are (empty: each file's folder).
    pub proto_paths: Vec<String>,
    /// Protobuf: the type of received messages (`pkg.Type`).
    pub proto_message: String,
    /// Protobuf: the type of sent messages, when it differs (empty: the same).
    pub proto_send_message: String,
}

impl CodecSetting {
    /// The setting with relative `.proto` files and import paths taken from `base` (a session file's folder).
    pub fn relative_to(&self, base: Option<&std::path::Path>) -> Self {
        let Some(base) = base else {
            return self.clone();
        };
        let resolve = |list: &[String]| -> Vec<String> {
            list.iter()
                .map(|p| {
                    let trimmed = p.trim();
                    if trimmed.is_empty() || std::path::Path::new(trimmed).is_absolute() {
                        p.clone()
                    } else {
                        base.join(trimmed).display().to_string()
                    }
                })
                .collect()
        };
        Self {
            proto_files: resolve(&self.proto_files),
            proto_paths: resolve(&self.proto_paths),
            ..self.clone()
        }
    }

    /// The codec, and for Protobuf every message type the files define. Reads the `.proto` files (std I/O):
    /// the GUI calls it off its thread.
    pub fn build(&self) -> Result<Option<(Codec, Vec<String>)>, String> {
        Ok(Some(match self.kind {
            CodecKind::None => return Ok(None),
            CodecKind::MessagePack => (Codec::MessagePack, Vec::new()),
            CodecKind::Cbor => (Codec::Cbor, Vec::new()),
            CodecKind::Protobuf => {
                let paths = |list: &[String]| -> Vec<std::path::PathBuf> {
                    list.iter()
                        .map(|p| p.trim())
                        .filter(|p| !p.is_empty())
                        .map(std::path::PathBuf::from)
                        .collect()
                };
                let set = protobuf::compile(&paths(&self.proto_files), &paths(&self.proto_paths))?;
                let names = set.message_names();
                let receive = self.proto_message.trim();
                if receive.is_empty() {
                    return Err(format!(
                        "choose the message type of received messages (the files define: {})",
                        names.join(", ")
                    ));
                }
                let receive = set.message(receive)?;
                let send = match self.proto_send_message.trim() {
                    "" => receive.clone(),
                    name => set.message(name)?,
                };
                (Codec::Protobuf { receive, send }, names)
            }
        }))
    }
}

/// A codec ready to use: MessagePack and CBOR as they are, Protobuf with its compiled message types.
#[derive(Clone, Debug)]
pub enum Codec {
    /// MessagePack.
    MessagePack,
    /// CBOR.
    Cbor,
    /// Protobuf: what received messages are read as, and what sent ones are written as.
    Protobuf {
        /// For received messages.
        receive: protobuf::MessageType,
        /// For sent messages.
        send: protobuf::MessageType,
    },
}

impl Codec {
    /// "MessagePack", "CBOR", "Protobuf feed.Tick".
    pub fn describe(&self) -> String {
        match self {
            Self::Protobuf { receive, .. } => format!("Protobuf {}", receive.name()),
            other => other.kind().label().to_owned(),
        }
    }

    /// The codec's name.
    pub fn kind(&self) -> CodecKind {
        match self {
            Self::MessagePack => CodecKind::MessagePack,
            Self::Cbor => CodecKind::Cbor,
            Self::Protobuf { .. } => CodecKind::Protobuf,
        }
    }

    /// A received payload as JSON.
    pub fn decode_received(&self, bytes: &[u8]) -> Result<Value, DecodeError> {
        match self {
            Self::MessagePack => msgpack::decode(bytes),
            Self::Cbor => cbor::decode(bytes),
            Self::Protobuf { receive, .. } => receive.decode(bytes),
        }
    }

    /// A sent payload as JSON (sent messages are shown decoded too).
    pub fn decode_sent(&self, bytes: &[u8]) -> Result<Value, DecodeError> {
        match self {
            Self::Protobuf { send, .. } => send.decode(bytes),
            other => other.decode_received(bytes),
        }
    }

    /// A JSON value to send, encoded.
    pub fn encode(&self, value: &Value) -> Result<Vec<u8>, EncodeError> {
        match self {
            Self::MessagePack => msgpack::encode(value),
            Self::Cbor => cbor::encode(value),
            Self::Protobuf { send, .. } => send.encode(value),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_fields_are_found_with_their_paths() {
        // SignalR-style: a MessagePack payload carried as base64 in a JSON message.
        let packed = msgpack::encode(&json!({"px": 1.5})).expect("encodes");
        let b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &packed);
        let url_safe = base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            [0xfb, 0xff, 0x01, 0x02, 0x03, 0x04],
        );
        let value = json!({
            "type": 1, "target": "tick", "user": "username", "note": "hello world",
            "arguments": [{"data": b64}, {"base64": "AAH+/w=="}],
            "odd key": url_safe,
        });
        let found = base64_fields(&value);
        let paths: Vec<&str> = found.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            paths,
            vec!["$.arguments[0].data", "$.arguments[1]", "$[\"odd key\"]"]
        );
        assert_eq!(found[0].1, packed);
        assert_eq!(msgpack::decode(&found[0].1), Ok(json!({"px": 1.5})));
        assert_eq!(found[1].1, vec![0, 1, 0xfe, 0xff]);
        assert_eq!(found[2].1, vec![0xfb, 0xff, 1, 2, 3, 4]);
        // Bounded: a huge array lists at most MAX_BASE64_FIELDS.
        let many = Value::Array(vec![json!("AAECAwQFBgc="); 1000]);
        assert_eq!(base64_fields(&many).len(), MAX_BASE64_FIELDS);
    }
}
