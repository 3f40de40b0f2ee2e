//! Protobuf through the user's `.proto` files: compiled at run time by protox (no `protoc`), read and written
//! with prost-reflect's dynamic messages in the proto3 JSON mapping (well-known types such as Timestamp, Any and
//! Struct as their JSON forms; 64-bit integers as strings). Fields the message type does not know are kept as
//! `"#N"` (their field number): a varint as a number, fixed32 / fixed64 as numbers, length-delimited as
//! `{"base64":…}`, a group as its fields.
//!
//! [`compile`] reads the files (std I/O): the GUI calls it off its thread.

use super::{DecodeError, EncodeError};
use prost::Message as _;
use prost_reflect::{DescriptorPool, DynamicMessage, MessageDescriptor, SerializeOptions};
use serde_json::{Map, Value, json};
use std::path::PathBuf;

/// The message types of a set of `.proto` files.
#[derive(Clone, Debug)]
pub struct ProtoSet {
    pool: DescriptorPool,
}

/// One message type, ready to read and write messages.
#[derive(Clone, Debug)]
pub struct MessageType {
    desc: MessageDescriptor,
}

/// Compiles `files`, finding imports in `includes` (and in each file's own folder when no include path is given).
pub fn compile(files: &[PathBuf], includes: &[PathBuf]) -> Result<ProtoSet, String> {
    if files.is_empty() {
        return Err("Protobuf needs a .proto file: none is given".into());
    }
    let mut includes = includes.to_vec();
    if includes.is_empty() {
        for file in files {
            let dir = file
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .map_or_else(|| PathBuf::from("."), PathBuf::from);
            if !includes.contains(&dir) {
                includes.push(dir);
            }
        }
    }
    let mut compiler = protox::Compiler::new(&includes).map_err(|e| describe(&e, None))?;
    compiler.include_imports(true);
    for file in files {
        compiler
            .open_file(file)
            .map_err(|e| describe(&e, Some(file)))?;
    }
    Ok(ProtoSet {
        pool: compiler.descriptor_pool(),
    })
}

/// A protox error with its file, line and column when it has them (`opened`: the file being opened, for an
/// error that names none).
fn describe(e: &protox::Error, opened: Option<&PathBuf>) -> String {
    use miette::Diagnostic as _;
    let mut text = e.to_string();
    let span = e.labels().and_then(|mut labels| labels.next());
    let file = e
        .file()
        .map(PathBuf::from)
        .filter(|f| f.exists())
        .or_else(|| opened.cloned());
    if let Some(file) = &file
        && span.is_none()
    {
        text = format!("{}: {text}", file.display());
    }
    if let (Some(path), Some(span)) = (file.as_ref(), span) {
        // Spans are byte offsets into the file as protox read it.
        if let Ok(source) = std::fs::read_to_string(path) {
            let before = source.get(..span.offset().min(source.len())).unwrap_or("");
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            text = format!("{}:{line}:{column}: {text}", path.display());
        }
    }
    text
}

impl ProtoSet {
    /// Every message type, by full name (`package.Type`), sorted.
    pub fn message_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .pool
            .all_messages()
            .filter(|m| !m.is_map_entry())
            .map(|m| m.full_name().to_owned())
            .filter(|n| !n.starts_with("google.protobuf."))
            .collect();
        names.sort();
        names
    }

    /// The type `name` (`package.Type`, a leading dot allowed), or what there is instead.
    pub fn message(&self, name: &str) -> Result<MessageType, String> {
        let name = name.trim().trim_start_matches('.');
        match self.pool.get_message_by_name(name) {
            Some(desc) => Ok(MessageType { desc }),
            None => {
                let names = self.message_names();
                Err(if names.is_empty() {
                    format!("no message type '{name}': the .proto files define none")
                } else {
                    format!(
                        "no message type '{name}' in the .proto files; they define: {}",
                        names.join(", ")
                    )
                })
            }
        }
    }
}

impl MessageType {
    /// `package.Type`.
    pub fn name(&self) -> &str {
        self.desc.full_name()
    }

    /// A message of this type as JSON (the proto3 mapping, unknown fields as `"#N"`).
    pub fn decode(&self, bytes: &[u8]) -> Result<Value, DecodeError> {
        let message = DynamicMessage::decode(self.desc.clone(), bytes).map_err(|e| {
            let (offset, why) = wire_fault(bytes).unwrap_or((0, String::new()));
            let cause = if why.is_empty() {
                format!("not a {}: {e}", self.name())
            } else {
                format!("not a {}: {why}", self.name())
            };
            DecodeError::new(offset, cause)
        })?;
        let mut value = to_json(&message).map_err(|e| DecodeError::new(0, e))?;
        add_unknown(&message, &mut value);
        Ok(value)
    }

    /// A JSON value (the proto3 mapping; `"#N"` fields written back as they came) as a message of this type.
    pub fn encode(&self, value: &Value) -> Result<Vec<u8>, EncodeError> {
        let mut known = value.clone();
        let unknown = take_unknown(&mut known);
        let message = DynamicMessage::deserialize(self.desc.clone(), known)
            .map_err(|e| EncodeError(format!("not a {}: {e}", self.name())))?;
        let mut bytes = message.encode_to_vec();
        bytes.extend(unknown);
        Ok(bytes)
    }
}

fn to_json(message: &DynamicMessage) -> Result<Value, String> {
    message
        .serialize_with_options(
            serde_json::value::Serializer,
            &SerializeOptions::new().skip_default_fields(true),
        )
        .map_err(|e| e.to_string())
}

/// Unknown fields of `message` and of the messages inside it, as `"#N"` keys of their JSON objects.
fn add_unknown(message: &DynamicMessage, value: &mut Value) {
    let Some(object) = value.as_object_mut() else {
        return;
    };
    for field in message.unknown_fields() {
        let mut bytes = Vec::new();
        field.encode(&mut bytes);
        if let Some(v) = unknown_value(&bytes) {
            let key = format!("#{}", field.number());
            match object.get_mut(&key) {
                // A repeated unknown field collects its values.
                Some(Value::Array(items)) => items.push(v),
                Some(first) => *first = Value::Array(vec![first.take(), v]),
                None => {
                    object.insert(key, v);
                }
            }
        }
    }
    for (field, inner) in message.fields() {
        let Some(child) = object.get_mut(field.json_name()) else {
            continue;
        };
        match inner {
            prost_reflect::Value::Message(m) => add_unknown(m, child),
            prost_reflect::Value::List(items) => {
                if let Value::Array(children) = child {
                    for (item, child) in items.iter().zip(children.iter_mut()) {
                        if let prost_reflect::Value::Message(m) = item {
                            add_unknown(m, child);
                        }
                    }
                }
            }
            prost_reflect::Value::Map(entries) => {
                if let Value::Object(children) = child {
                    for (key, item) in entries {
                        let name = match key {
                            prost_reflect::MapKey::String(s) => s.clone(),
                            prost_reflect::MapKey::Bool(b) => b.to_string(),
                            prost_reflect::MapKey::I32(n) => n.to_string(),
                            prost_reflect::MapKey::I64(n) => n.to_string(),
                            prost_reflect::MapKey::U32(n) => n.to_string(),
                            prost_reflect::MapKey::U64(n) => n.to_string(),
                        };
                        if let (prost_reflect::Value::Message(m), Some(child)) =
                            (item, children.get_mut(&name))
                        {
                            add_unknown(m, child);
                        }
                    }
                }
            }
            _ => {}
        }
    }
}

/// A varint from the start of `bytes`, and its length.
fn varint(bytes: &[u8]) -> Option<(u64, usize)> {
    let mut v = 0u64;
    for (i, b) in bytes.iter().enumerate().take(10) {
        v |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some((v, i + 1));
        }
    }
    None
}

/// One encoded unknown field (its tag first) as JSON.
fn unknown_value(bytes: &[u8]) -> Option<Value> {
    let (tag, used) = varint(bytes)?;
    let rest = &bytes[used..];
    Some(match tag & 7 {
        0 => {
            let (v, _) = varint(rest)?;
            if v > super::SAFE_INTEGER {
                Value::String(v.to_string())
            } else {
                json!(v)
            }
        }
        1 => {
            let v = u64::from_le_bytes(rest.get(..8)?.try_into().ok()?);
            if v > super::SAFE_INTEGER {
                Value::String(v.to_string())
            } else {
                json!(v)
            }
        }
        5 => json!(u32::from_le_bytes(rest.get(..4)?.try_into().ok()?)),
        2 => {
            let (len, n) = varint(rest)?;
            let data = rest.get(n..n.checked_add(usize::try_from(len).ok()?)?)?;
            crate::model::protocol::lens::bytes_value(data)
        }
        _ => {
            // A group: its fields, by number.
            let mut fields = Map::new();
            let mut at = rest;
            while let Some((t, _)) = varint(at) {
                if t & 7 == 4 {
                    break;
                }
                let len = field_len(at)?;
                if let Some(v) = unknown_value(&at[..len]) {
                    fields.insert(format!("#{}", t >> 3), v);
                }
                at = &at[len..];
            }
            Value::Object(fields)
        }
    })
}

/// The length of the whole field (tag included) at the start of `bytes`.
fn field_len(bytes: &[u8]) -> Option<usize> {
    let (tag, t) = varint(bytes)?;
    let rest = &bytes[t..];
    let body = match tag & 7 {
        0 => varint(rest)?.1,
        1 => 8,
        5 => 4,
        2 => {
            let (len, n) = varint(rest)?;
            n.checked_add(usize::try_from(len).ok()?)?
        }
        3 => {
            let mut at = 0;
            loop {
                let (inner, _) = varint(rest.get(at..)?)?;
                if inner & 7 == 4 {
                    break at + varint(&rest[at..])?.1;
                }
                at += field_len(&rest[at..])?;
            }
        }
        _ => return None,
    };
    (rest.len() >= body).then_some(t + body)
}

/// Where the wire format itself breaks (a bad tag, a length past the end), as offset and cause.
fn wire_fault(bytes: &[u8]) -> Option<(usize, String)> {
    let mut at = 0;
    while at < bytes.len() {
        let Some((tag, _)) = varint(&bytes[at..]) else {
            return Some((at, "a field tag that is not a varint".into()));
        };
        if tag >> 3 == 0 {
            return Some((at, "field number 0".into()));
        }
        if matches!(tag & 7, 4 | 6 | 7) {
            return Some((at, format!("wire type {} is not valid here", tag & 7)));
        }
        match field_len(&bytes[at..]) {
            Some(len) => at += len,
            None => {
                return Some((
                    at,
                    format!("field {} runs past the end of the message", tag >> 3),
                ));
            }
        }
    }
    None
}

/// Takes the `"#N"` fields out of `value` (this level only), encoded for the wire: numbers as varints, bytes as
/// length-delimited, objects as groups of their own `"#N"` fields.
fn take_unknown(value: &mut Value) -> Vec<u8> {
    let mut out = Vec::new();
    let Some(object) = value.as_object_mut() else {
        return out;
    };
    let keys: Vec<String> = object
        .keys()
        .filter(|k| unknown_number(k).is_some())
        .cloned()
        .collect();
    for key in keys {
        if let (Some(number), Some(v)) = (unknown_number(&key), object.remove(&key)) {
            write_unknown(&mut out, number, &v);
        }
    }
    out
}

/// The field number of a `"#N"` key.
fn unknown_number(key: &str) -> Option<u32> {
    key.strip_prefix('#')?.parse().ok().filter(|n| *n > 0)
}

fn push_varint(out: &mut Vec<u8>, mut n: u64) {
    loop {
        let b = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

fn write_unknown(out: &mut Vec<u8>, number: u32, value: &Value) {
    let tag = u64::from(number) << 3;
    match value {
        Value::Array(items) => {
            for item in items {
                write_unknown(out, number, item);
            }
        }
        Value::Object(fields) => match crate::model::protocol::lens::value_bytes(value) {
            Some(bytes) => {
                push_varint(out, tag | 2);
                push_varint(out, bytes.len() as u64);
                out.extend_from_slice(&bytes);
            }
            None => {
                push_varint(out, tag | 3);
                for (k, v) in fields {
                    if let Some(n) = unknown_number(k) {
                        write_unknown(out, n, v);
                    }
                }
                push_varint(out, tag | 4);
            }
        },
        other => {
            if let Some(n) = other
                .as_u64()
                .or_else(|| other.as_str().and_then(|s| s.parse().ok()))
            {
                push_varint(out, tag);
                push_varint(out, n);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proto(dir: &std::path::Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).expect("write");
        path
    }

    fn set() -> (tempfile::TempDir, ProtoSet) {
        let dir = tempfile::tempdir().expect("temp dir");
        proto(
            dir.path(),
            "common.proto",
            "syntax = \"proto3\"; package common; message Point { int32 x = 1; int32 y = 2; }",
        );
        let main = proto(
            dir.path(),
            "feed.proto",
            r#"syntax = "proto3";
package feed;
import "common.proto";
import "google/protobuf/timestamp.proto";
message Tick {
  string symbol = 1;
  int64 price = 2;
  repeated int32 sizes = 3;
  map<string, common.Point> points = 4;
  oneof side { bool bid = 5; bool ask = 6; }
  google.protobuf.Timestamp at = 7;
  bytes raw = 8;
}
message Old { string symbol = 1; }
"#,
        );
        let set = compile(&[main], &[]).expect("compiles");
        (dir, set)
    }

    #[test]
    fn a_message_round_trips_in_the_json_mapping_with_imports_and_well_known_types() {
        let (_dir, set) = set();
        assert_eq!(
            set.message_names(),
            vec!["common.Point", "feed.Old", "feed.Tick"]
        );
        let tick = set.message("feed.Tick").expect("type");
        let value = json!({
            "symbol": "ACME", "price": "9007199254740993", "sizes": [1, 2, 300],
            "points": {"a": {"x": 1, "y": -2}}, "ask": true,
            "at": "2026-12-03T10:00:00Z", "raw": "AP8="
        });
        let bytes = tick.encode(&value).expect("encodes");
        assert_eq!(tick.decode(&bytes), Ok(value));
        // A numeric string for an int32 is the mapping's; a word is an error before anything is sent.
        assert!(tick.encode(&json!({"sizes": ["7"]})).is_ok());
        let err = tick
            .encode(&json!({"sizes": ["seven"]}))
            .expect_err("not a number");
        assert!(err.0.contains("feed.Tick"), "{err}");
        assert!(
            tick.encode(&json!({"nope": 1})).is_err(),
            "an unknown field name"
        );
        assert!(
            set.message("feed.Nope")
                .expect_err("none")
                .contains("feed.Tick")
        );
    }

    #[test]
    fn unknown_fields_show_by_number_and_go_back_as_they_came() {
        let (_dir, set) = set();
        let tick = set.message("feed.Tick").expect("type");
        let full = tick
            .encode(&json!({"symbol": "ACME", "price": "5", "raw": "AQI="}))
            .expect("encodes");
        let old = set.message("feed.Old").expect("type");
        let seen = old.decode(&full).expect("decodes");
        assert_eq!(
            seen,
            json!({"symbol": "ACME", "#2": 5, "#8": {"base64": "AQI="}})
        );
        assert_eq!(old.encode(&seen).expect("encodes"), full);
    }

    #[test]
    fn bad_bytes_say_where_and_files_say_line_and_column() {
        let (dir, set) = set();
        let tick = set.message("feed.Tick").expect("type");
        // Field 1, length 50, two bytes of it.
        let err = tick
            .decode(&[0x0a, 0x02, b'o', b'k', 0x0a, 50, 1, 2])
            .expect_err("short");
        assert_eq!(err.offset, 4, "{err}");
        assert!(err.cause.contains("past the end"), "{err}");
        let bad = proto(
            dir.path(),
            "bad.proto",
            "syntax = \"proto3\";\nmessage A {\n  int32 = 1;\n}\n",
        );
        let err = compile(&[bad], &[]).expect_err("syntax");
        assert!(err.contains("bad.proto:3:"), "{err}");
        assert!(compile(&[dir.path().join("missing.proto")], &[]).is_err());
    }
}
