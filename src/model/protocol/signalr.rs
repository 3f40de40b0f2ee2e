//! ASP.NET Core SignalR's hub protocol over WebSocket
//! (<https://github.com/dotnet/aspnetcore/blob/main/src/SignalR/docs/specs/HubProtocol.md>): the JSON protocol
//! (records ended by the record separator 0x1E, several per message) and the MessagePack protocol (each message
//! prefixed by its VarInt length), as a sans-IO codec; the client's part is in [`lens`].

pub mod lens;

#[cfg(test)]
mod tests;

use super::msgpack;
use serde_json::{Map, Value, json};

/// The record separator that ends every JSON record (and the handshake in both protocols).
pub const RS: u8 = 0x1e;

/// Which hub protocol the connection speaks after the handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HubProtocol {
    Json,
    MessagePack,
}

impl HubProtocol {
    /// The name in the handshake request.
    pub fn name(self) -> &'static str {
        match self {
            HubProtocol::Json => "json",
            HubProtocol::MessagePack => "messagepack",
        }
    }
}

/// The message types, by number.
pub const TYPE_NAMES: [&str; 10] = [
    "handshake",
    "invocation",
    "stream_item",
    "completion",
    "stream_invocation",
    "cancel_invocation",
    "ping",
    "close",
    "ack",
    "sequence",
];

/// The handshake request: `{"protocol":"json","version":1}` and RS.
pub fn handshake_request(protocol: HubProtocol) -> String {
    format!(
        "{{\"protocol\":\"{}\",\"version\":1}}{}",
        protocol.name(),
        RS as char
    )
}

/// Something in a hub message that cannot be read, in words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Malformed(pub String);

/// A hub message in its decoded form: `{"type":"invocation","target":…,"args":[…],"invocation_id":…}` and so
/// on (the NDJSON `protocol` object's fields after `name`). `record` is the message as sent (JSON object, or
/// the MessagePack array).
pub fn fields_of_json(record: &Value) -> Result<Map<String, Value>, Malformed> {
    let Some(o) = record.as_object() else {
        return Err(Malformed(format!(
            "a SignalR record is a JSON object, not {record}"
        )));
    };
    let mut f = Map::new();
    let Some(kind) = o.get("type") else {
        // The handshake: the request names a protocol; the reply is {} or {"error":…}.
        f.insert("type".into(), json!("handshake"));
        for key in ["protocol", "version", "error"] {
            if let Some(v) = o.get(key) {
                f.insert(key.into(), v.clone());
            }
        }
        return Ok(f);
    };
    let kind = kind
        .as_u64()
        .ok_or_else(|| Malformed(format!("a SignalR record's type is a number, not {kind}")))?;
    let name = TYPE_NAMES
        .get(kind as usize)
        .filter(|_| kind > 0)
        .ok_or_else(|| Malformed(format!("SignalR has no message type {kind}")))?;
    f.insert("type".into(), json!(name));
    let copy = |f: &mut Map<String, Value>, from: &str, to: &str| {
        if let Some(v) = o.get(from) {
            f.insert(to.into(), v.clone());
        }
    };
    copy(&mut f, "target", "target");
    copy(&mut f, "arguments", "args");
    copy(&mut f, "invocationId", "invocation_id");
    copy(&mut f, "streamIds", "stream_ids");
    copy(&mut f, "item", "item");
    copy(&mut f, "result", "result");
    copy(&mut f, "error", "error");
    copy(&mut f, "allowReconnect", "allow_reconnect");
    copy(&mut f, "headers", "headers");
    copy(&mut f, "sequenceId", "sequence_id");
    if matches!(kind, 1 | 4) && !o.get("target").is_some_and(Value::is_string) {
        return Err(Malformed(format!("a SignalR {name} has no target")));
    }
    if matches!(kind, 2..=5) && !o.get("invocationId").is_some_and(Value::is_string) {
        return Err(Malformed(format!("a SignalR {name} has no invocationId")));
    }
    Ok(f)
}

/// Splits JSON text into its records (each ended by RS): the complete ones, and the bytes of an unfinished one.
pub fn split_records(bytes: &[u8]) -> (Vec<&[u8]>, &[u8]) {
    let mut records = Vec::new();
    let mut rest = bytes;
    while let Some(i) = rest.iter().position(|b| *b == RS) {
        records.push(&rest[..i]);
        rest = &rest[i + 1..];
    }
    (records, rest)
}

/// One MessagePack hub message, as the JSON record it stands for.
pub fn msgpack_fields(message: &Value) -> Result<Map<String, Value>, Malformed> {
    let Some(items) = message.as_array() else {
        return Err(Malformed(
            "a SignalR MessagePack message is an array".into(),
        ));
    };
    let kind = items
        .first()
        .and_then(Value::as_u64)
        .ok_or_else(|| Malformed("a SignalR MessagePack message starts with its type".into()))?;
    let at = |i: usize| items.get(i).cloned().unwrap_or(Value::Null);
    let mut record = Map::new();
    record.insert("type".into(), json!(kind));
    let put = |record: &mut Map<String, Value>, k: &str, v: Value| {
        if !v.is_null() {
            record.insert(k.into(), v);
        }
    };
    match kind {
        1 | 4 => {
            put(&mut record, "headers", at(1));
            put(&mut record, "invocationId", at(2));
            put(&mut record, "target", at(3));
            put(&mut record, "arguments", at(4));
            put(&mut record, "streamIds", at(5));
        }
        2 => {
            put(&mut record, "headers", at(1));
            put(&mut record, "invocationId", at(2));
            put(&mut record, "item", at(3));
        }
        3 => {
            put(&mut record, "headers", at(1));
            put(&mut record, "invocationId", at(2));
            match at(3).as_u64() {
                Some(1) => put(&mut record, "error", at(4)),
                // A result of nil is a result (JSON keeps "result":null), not a void completion.
                Some(3) => {
                    record.insert("result".into(), at(4));
                }
                _ => {}
            }
        }
        5 => {
            put(&mut record, "headers", at(1));
            put(&mut record, "invocationId", at(2));
        }
        7 => {
            put(&mut record, "error", at(1));
            put(&mut record, "allowReconnect", at(2));
        }
        8 | 9 => put(&mut record, "sequenceId", at(1)),
        _ => {}
    }
    fields_of_json(&Value::Object(record))
}

/// Reads the MessagePack messages of one binary WebSocket message (each prefixed by its VarInt length).
pub fn read_msgpack(bytes: &[u8]) -> Result<Vec<Map<String, Value>>, Malformed> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let mut len = 0usize;
        let mut shift = 0;
        loop {
            let Some(&b) = bytes.get(at) else {
                return Err(Malformed(
                    "a SignalR MessagePack length prefix ends early".into(),
                ));
            };
            at += 1;
            len |= usize::from(b & 0x7f) << shift;
            shift += 7;
            if b & 0x80 == 0 {
                break;
            }
            if shift > 28 {
                return Err(Malformed(
                    "a SignalR MessagePack length prefix is too long".into(),
                ));
            }
        }
        let Some(body) = bytes.get(at..at + len) else {
            return Err(Malformed(format!(
                "a SignalR MessagePack message says {len} bytes but {} are left",
                bytes.len() - at
            )));
        };
        let (value, _) = msgpack::read(body).map_err(|e| Malformed(e.0))?;
        out.push(msgpack_fields(&value)?);
        at += len;
    }
    Ok(out)
}

/// A JSON record as one MessagePack hub message with its length prefix.
pub fn write_msgpack(record: &Value) -> Vec<u8> {
    let o = record.as_object();
    let get = |k: &str| o.and_then(|o| o.get(k)).cloned().unwrap_or(Value::Null);
    let kind = get("type").as_u64().unwrap_or(0);
    let headers = match get("headers") {
        Value::Null => json!({}),
        h => h,
    };
    let array = match kind {
        1 | 4 => {
            let mut a = vec![json!(kind), headers, get("invocationId"), get("target")];
            a.push(match get("arguments") {
                Value::Null => json!([]),
                v => v,
            });
            a.push(match get("streamIds") {
                Value::Null => json!([]),
                v => v,
            });
            Value::Array(a)
        }
        5 => json!([kind, headers, get("invocationId")]),
        6 => json!([6]),
        7 => json!([7, get("error"), get("allowReconnect")]),
        _ => json!([kind]),
    };
    let mut body = Vec::new();
    msgpack::write(&array, &mut body);
    let mut out = Vec::with_capacity(body.len() + 5);
    let mut n = body.len();
    loop {
        let b = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(b);
            break;
        }
        out.push(b | 0x80);
    }
    out.extend_from_slice(&body);
    out
}

/// Where a negotiate goes for hub URL `url`: its path plus `/negotiate`, its query kept, `negotiateVersion=1`.
pub fn negotiate_url(url: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let mut out = base.trim_end_matches('/').to_owned();
    out.push_str("/negotiate?negotiateVersion=1");
    if let Some(q) = query.filter(|q| !q.is_empty()) {
        out.push('&');
        out.push_str(q);
    }
    out
}

/// What a negotiate answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Negotiated {
    /// Connect to the hub URL with `id=TOKEN` (the connectionToken, or v0's connectionId).
    Connect { url: String, connection_id: String },
    /// Negotiate again at `url` (Azure SignalR Service), with this bearer token.
    Redirect {
        url: String,
        access_token: Option<String>,
    },
}

/// Reads a negotiate response for hub `url` (HTTP status and body), or says what is wrong in words.
pub fn read_negotiate(url: &str, status: u16, body: &[u8]) -> Result<Negotiated, String> {
    if !(200..300).contains(&status) {
        let text = String::from_utf8_lossy(body);
        let text = text.trim();
        let snippet: String = text.chars().take(200).collect();
        return Err(format!(
            "the negotiate request was answered {status}{}",
            if snippet.is_empty() {
                String::new()
            } else {
                format!(": {snippet}")
            }
        ));
    }
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| format!("the negotiate response is not JSON: {e}"))?;
    if let Some(error) = v.get("error").and_then(Value::as_str) {
        return Err(format!("the hub refused the negotiate: {error}"));
    }
    if let Some(next) = v.get("url").and_then(Value::as_str) {
        return Ok(Negotiated::Redirect {
            url: next.to_owned(),
            access_token: v
                .get("accessToken")
                .and_then(Value::as_str)
                .map(str::to_owned),
        });
    }
    let websockets = v
        .get("availableTransports")
        .and_then(Value::as_array)
        .is_none_or(|t| {
            t.iter()
                .any(|t| t.get("transport").and_then(Value::as_str) == Some("WebSockets"))
        });
    if !websockets {
        return Err("the hub does not offer the WebSockets transport (availableTransports)".into());
    }
    let id = v
        .get("connectionToken")
        .or_else(|| v.get("connectionId"))
        .and_then(Value::as_str)
        .ok_or("the negotiate response has no connectionToken or connectionId")?;
    let encoded: String = url::form_urlencoded::byte_serialize(id.as_bytes()).collect();
    let separator = if url.contains('?') { '&' } else { '?' };
    Ok(Negotiated::Connect {
        url: format!("{url}{separator}id={encoded}"),
        connection_id: id.to_owned(),
    })
}
