//! The NDJSON event schema shared by `connect --json` and log exports. Fields are only ever added, never renamed.

use crate::model::{
    CloseInfo, HandshakeInfo, LogEntry, MessageKind, StageError, StageTimings, TlsInfo, millis,
};
use base64::Engine as _;
use serde_json::{Map, Value, json};
use std::time::UNIX_EPOCH;

fn headers(h: &[(String, String)]) -> Value {
    Value::Array(h.iter().map(|(n, v)| json!([n, v])).collect())
}

fn tls(t: &TlsInfo) -> Value {
    json!({
        "version": t.version,
        "cipher": t.cipher,
        "key_exchange": t.key_exchange,
        "alpn": t.alpn,
        "sni": t.sni,
        "insecure": t.insecure,
        "handshake": t.handshake_kind,
        "certificates": t.certificates.iter().map(|c| json!({
            "subject": c.subject,
            "issuer": c.issuer,
            "not_before": c.not_before,
            "not_after": c.not_after,
            "days_left": c.days_left,
            "sans": c.sans,
            "sha256": c.sha256,
        })).collect::<Vec<_>>(),
    })
}

fn timings(t: &StageTimings) -> Value {
    json!({
        "dns": t.dns_ms,
        "tcp": t.tcp_ms,
        "proxy": t.proxy_ms,
        "tls": t.tls_ms,
        "h2_settings": t.h2_settings_ms,
        "upgrade": t.upgrade_ms,
        "total": t.total_ms,
    })
}

fn bytes_field(obj: &mut Map<String, Value>, bytes: &[u8]) {
    match std::str::from_utf8(bytes) {
        Ok(text) => obj.insert("text".into(), Value::String(text.to_owned())),
        Err(_) => obj.insert(
            "base64".into(),
            Value::String(base64::engine::general_purpose::STANDARD.encode(bytes)),
        ),
    };
}

/// The HTTP/2 side of a handshake: `{"stream_id","mode","reused","settings":{…server's…},"our_settings",
/// "request_headers":[[name,value],…],"response_headers":[…]}`.
fn h2_info(h: &crate::model::h2::H2Info) -> Value {
    let settings = |pairs: &[(u16, u32)]| {
        pairs
            .iter()
            .map(|(id, v)| (crate::model::h2::setting_name(*id), json!(v)))
            .collect::<Map<String, Value>>()
    };
    let pairs = |headers: &[(String, String)]| {
        headers
            .iter()
            .map(|(n, v)| json!([n, v]))
            .collect::<Vec<_>>()
    };
    json!({
        "stream_id": h.stream_id,
        "mode": h.mode,
        "reused": h.reused,
        "settings": settings(&h.server_settings),
        "our_settings": settings(&h.our_settings),
        "request_headers": pairs(&h.request_headers),
        "response_headers": pairs(&h.response_headers),
    })
}

/// `{"event":"handshake",…}`
pub fn handshake(h: &HandshakeInfo) -> Value {
    let mut obj = json!({
        "event": "handshake",
        "http_version": h.http_version(),
        "status": h.status,
        "request": {
            "method": h.method,
            "target": h.target,
            "headers": headers(&h.request.headers),
        },
        "response": {
            "status": h.status,
            "reason": h.reason,
            "headers": headers(&h.response.headers),
        },
        "subprotocol": h.subprotocol,
        "extensions": h.extensions.iter().map(|e| json!({
            "name": e.name,
            "params": e.params.iter().map(|(k, v)| (k.clone(), json!(v))).collect::<Map<String, Value>>(),
        })).collect::<Vec<_>>(),
        "timings_ms": timings(&h.timings),
        "warnings": h.warnings,
        "checks": h.checks.iter().map(|c| json!({
            "name": c.name,
            "outcome": c.outcome.as_str(),
            "detail": c.detail,
        })).collect::<Vec<_>>(),
        "peer": h.peer_addr,
    });
    if let Some(obj) = obj.as_object_mut() {
        if let Some(t) = &h.tls {
            obj.insert("tls".into(), tls(t));
        }
        if let Some(h2) = &h.h2 {
            obj.insert("h2".into(), h2_info(h2));
        }
        if let Some(p) = &h.proxy {
            obj.insert(
                "proxy".into(),
                json!({
                    "kind": p.kind,
                    "proxy": p.proxy,
                    "source": p.source,
                    "request": p.request,
                    "response": p.response,
                }),
            );
        }
    }
    if !h.response_body.is_empty()
        && let Some(resp) = obj.get_mut("response").and_then(Value::as_object_mut)
    {
        let mut body = Map::new();
        bytes_field(&mut body, &h.response_body);
        resp.insert("body".into(), Value::Object(body));
    }
    obj
}

/// `{"event":"message",…}`
pub fn message(m: &LogEntry) -> Value {
    let mut obj = Map::new();
    obj.insert("event".into(), "message".into());
    obj.insert("direction".into(), m.direction.as_str().into());
    obj.insert("kind".into(), m.kind.as_str().into());
    obj.insert("size".into(), m.payload.len().into());
    obj.insert("compressed".into(), m.compressed().into());
    obj.insert("wire_size".into(), m.wire_size().into());
    obj.insert(
        "at_ms".into(),
        json!(millis(m.since_connect().as_secs_f64())),
    );
    if let Ok(d) = m.at().duration_since(UNIX_EPOCH) {
        obj.insert("unix_ms".into(), json!(millis(d.as_secs_f64())));
    }
    match m.kind {
        MessageKind::Text => {
            obj.insert(
                "text".into(),
                String::from_utf8_lossy(&m.payload).into_owned().into(),
            );
        }
        MessageKind::Binary => {
            obj.insert(
                "base64".into(),
                base64::engine::general_purpose::STANDARD
                    .encode(&m.payload)
                    .into(),
            );
        }
        MessageKind::Ping | MessageKind::Pong => bytes_field(&mut obj, &m.payload),
        MessageKind::Close => {
            obj.insert("code".into(), json!(m.close_code()));
            obj.insert(
                "reason".into(),
                String::from_utf8_lossy(&m.payload).into_owned().into(),
            );
        }
    }
    if m.automatic() {
        obj.insert("automatic".into(), true.into());
    }
    if let Some(extra) = &m.extra {
        if let Some(rtt) = extra.rtt {
            obj.insert("rtt_ms".into(), json!(millis(rtt.as_secs_f64())));
        }
        if let Some(note) = &extra.note {
            obj.insert("note".into(), note.clone().into());
        }
        if extra.violation {
            obj.insert("violation".into(), true.into());
        }
        if let Some(decoded) = &extra.protocol {
            obj.insert("protocol".into(), decoded.value.clone());
        }
    }
    Value::Object(obj)
}

/// The `message` events of one log entry: one, or with a WebSocket message that carried several protocol
/// messages (MQTT packets, STOMP frames) one per protocol message, each with `"part":[i,n]` and its own
/// `protocol`; `size`, `wire_size`, `compressed` and the payload belong to the WebSocket message and appear on the
/// first part only. Each comes with whether it is an application message (what `--count` counts).
pub fn message_parts(m: &LogEntry) -> Vec<(Value, bool)> {
    use crate::model::protocol::Class;
    let whole = message(m);
    let Some(decoded) = m.extra.as_ref().and_then(|e| e.protocol.as_ref()) else {
        return vec![(whole, true)];
    };
    let n = decoded.part_count();
    if n == 1 {
        return vec![(whole, decoded.class == Class::Application)];
    }
    let mut rest = whole.clone();
    if let Some(obj) = rest.as_object_mut() {
        for key in ["size", "wire_size", "compressed", "text", "base64"] {
            obj.remove(key);
        }
    }
    decoded
        .parts()
        .enumerate()
        .map(|(i, part)| {
            let mut v = if i == 0 { whole.clone() } else { rest.clone() };
            if let Some(obj) = v.as_object_mut() {
                obj.insert("protocol".into(), part.value.clone());
                obj.insert("part".into(), json!([i + 1, n]));
            }
            (v, part.class == Class::Application)
        })
        .collect()
}

/// The whole log in the `connect --json` schema, written as it goes: one `message` object per line, or
/// (`as_array`) one JSON array with an object per line.
pub fn export<'a>(
    out: &mut dyn std::io::Write,
    entries: impl IntoIterator<Item = &'a LogEntry>,
    as_array: bool,
) -> std::io::Result<()> {
    let (open, separator, close): (&[u8], &[u8], &[u8]) = if as_array {
        (b"[\n  ", b",\n  ", b"\n]\n")
    } else {
        (b"", b"\n", b"\n")
    };
    let mut first = true;
    for e in entries {
        out.write_all(if first { open } else { separator })?;
        for (i, (part, _)) in message_parts(e).into_iter().enumerate() {
            if i > 0 {
                out.write_all(separator)?;
            }
            serde_json::to_writer(&mut *out, &part)?;
        }
        first = false;
    }
    match (first, as_array) {
        (true, true) => out.write_all(b"[]\n"),
        (true, false) => Ok(()),
        (false, _) => out.write_all(close),
    }
}

/// `{"event":"frame",…}`
pub fn frame(f: &crate::model::FrameInfo) -> Value {
    json!({
        "event": "frame",
        "direction": f.direction.as_str(),
        "opcode": f.opcode_name(),
        "fin": f.fin,
        "rsv1": f.rsv1,
        "rsv2": f.rsv2,
        "rsv3": f.rsv3,
        "masked": f.masked,
        "payload_len": f.payload_len,
        "at_ms": millis(f.since_connect().as_secs_f64()),
    })
}

/// `{"event":"closed",…}`
pub fn closed(c: &CloseInfo) -> Value {
    json!({
        "event": "closed",
        "code": c.code,
        "reason": c.reason,
        "clean": c.clean,
        "initiated_by": c.initiated_by.as_str(),
    })
}

/// `{"event":"error",…}`
pub fn error(e: &StageError) -> Value {
    json!({
        "event": "error",
        "stage": e.stage.as_str(),
        "message": e.message,
    })
}

/// `{"event":"protocol","name":…,"version":…,"reason":…}`: which protocol the connection speaks and why.
pub fn protocol(name: &str, version: &str, reason: &str) -> Value {
    json!({"event": "protocol", "name": name, "version": version, "reason": reason})
}

/// `{"event":"reconnecting",…}`: the attempt about to be made and the wait before it.
pub fn reconnecting(attempt: u32, delay: std::time::Duration) -> Value {
    json!({"event": "reconnecting", "attempt": attempt, "delay_ms": millis(delay.as_secs_f64())})
}

/// `{"event":"gave_up",…}`: reconnecting stopped after this many attempts.
pub fn gave_up(attempts: u32) -> Value {
    json!({"event": "gave_up", "attempts": attempts})
}

/// `{"event":"step",…}`: one step of `sockscope run`.
pub fn step(r: &crate::model::junit::StepReport) -> Value {
    json!({
        "event": "step", "index": r.index, "folder": r.folder, "name": r.name,
        "outcome": r.outcome.as_str(), "expected": r.expected, "got": r.got,
        "ms": millis(r.seconds),
    })
}

/// `{"event":"summary",…}`: the end of `sockscope run`.
pub fn summary(
    passed: usize,
    failed: usize,
    skipped: usize,
    elapsed: std::time::Duration,
) -> Value {
    json!({"event": "summary", "passed": passed, "failed": failed, "skipped": skipped,
           "ms": millis(elapsed.as_secs_f64())})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Direction, Initiator, Stage};
    use std::time::{Duration, SystemTime};

    #[test]
    fn a_message_with_several_protocol_messages_is_one_event_per_part() {
        use crate::model::protocol::lens::{Class, Decoded};
        let mut m = LogEntry::new(
            1,
            Direction::Received,
            MessageKind::Text,
            SystemTime::now(),
            Duration::from_millis(1),
            b"frames".to_vec(),
        );
        let part = |kind: &str, class| {
            let mut f = serde_json::Map::new();
            f.insert("type".into(), json!(kind));
            Decoded::new("stomp", class, f)
        };
        m.extra_mut().protocol = Decoded::joined(vec![
            part("RECEIPT", Class::Control),
            part("MESSAGE", Class::Application),
        ]);
        let parts = message_parts(&m);
        assert_eq!(parts.len(), 2);
        let (first, app0) = &parts[0];
        let (second, app1) = &parts[1];
        assert_eq!((*app0, *app1), (false, true));
        assert_eq!(first["part"], json!([1, 2]));
        assert_eq!(second["part"], json!([2, 2]));
        assert_eq!(first["protocol"]["type"], "RECEIPT");
        assert_eq!(second["protocol"]["type"], "MESSAGE");
        // The WebSocket message's size and payload are on its first part only.
        assert_eq!(first["size"], 6);
        assert_eq!(first["text"], "frames");
        assert!(second.get("size").is_none() && second.get("text").is_none());
        assert!(second.get("wire_size").is_none());
        assert_eq!(second["direction"], "received");
        // One protocol message: one event, no part.
        m.extra_mut().protocol = Decoded::joined(vec![part("MESSAGE", Class::Application)]);
        let parts = message_parts(&m);
        assert_eq!(parts.len(), 1);
        assert!(parts[0].0.get("part").is_none());
    }

    #[test]
    fn message_payload_encodings() {
        let mut m = LogEntry::new(
            1,
            Direction::Received,
            MessageKind::Binary,
            SystemTime::now(),
            Duration::from_micros(12_345),
            vec![0xff, 0],
        );
        let v = message(&m);
        assert_eq!(v["base64"], "/wA=");
        assert_eq!(v["at_ms"], 12.345);
        assert_eq!(v["direction"], "received");
        m.kind = MessageKind::Ping;
        m.payload = b"hi".to_vec().into();
        assert_eq!(message(&m)["text"], "hi");
        m.kind = MessageKind::Close;
        m = m.with_close_code(Some(1000));
        assert_eq!(message(&m)["code"], 1000);
        assert_eq!(message(&m)["reason"], "hi");
    }

    #[test]
    fn export_as_lines_or_array() {
        let e = LogEntry::new(
            1,
            Direction::Sent,
            MessageKind::Text,
            SystemTime::now(),
            Duration::ZERO,
            b"hi".to_vec(),
        );
        let written = |entries: &[LogEntry], as_array| {
            let mut out = Vec::new();
            export(&mut out, entries, as_array).expect("written");
            String::from_utf8(out).expect("utf-8")
        };
        let lines = written(&[e.clone(), e.clone()], false);
        assert_eq!(lines.lines().count(), 2);
        assert!(lines.ends_with("}\n"));
        assert!(
            lines
                .lines()
                .all(|l| serde_json::from_str::<Value>(l).is_ok_and(|v| v["text"] == "hi"))
        );
        let array: Value = serde_json::from_str(&written(&[e.clone(), e], true)).expect("json");
        assert_eq!(array[1]["event"], "message");
        assert_eq!(written(&[], true), "[]\n");
        assert_eq!(written(&[], false), "");
    }

    #[test]
    fn closed_and_error_shapes() {
        let c = closed(&CloseInfo {
            code: None,
            reason: String::new(),
            clean: false,
            initiated_by: Initiator::None,
        });
        assert_eq!(
            c.to_string(),
            r#"{"event":"closed","code":null,"reason":"","clean":false,"initiated_by":"none"}"#
        );
        let e = error(&StageError::new(Stage::Tcp, "refused"));
        assert_eq!(e["stage"], "tcp");
    }
}
