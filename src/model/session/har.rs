//! Importing a browser capture: Chrome and Firefox HAR files keep WebSocket traffic in `_webSocketMessages`.
//! The first WebSocket connection becomes a session: URL, the headers that matter, sent messages as steps with
//! their recorded delays, and received messages as expectations (switched on; switch off what varies).

use crate::model::endpoint::{Endpoint, HeaderRow};
use crate::model::session::{Expectation, Item, Matcher, Payload, Session, Step};
use serde_json::Value;

/// Request headers a replay must not copy (the upgrade makes its own) or that say nothing about the API.
const SKIPPED_HEADERS: [&str; 16] = [
    "host",
    "upgrade",
    "connection",
    "sec-websocket-key",
    "sec-websocket-version",
    "sec-websocket-extensions",
    "sec-websocket-protocol",
    "origin",
    "accept-encoding",
    "accept-language",
    "cache-control",
    "pragma",
    "user-agent",
    "sec-fetch-dest",
    "sec-fetch-mode",
    "sec-fetch-site",
];

/// Headers whose values are credentials: imported as secret (kept out of the session file).
const SECRET_HEADERS: [&str; 3] = ["authorization", "cookie", "x-api-key"];

/// Turns HAR text into a session. Errors say what is missing.
pub fn import(text: &str) -> Result<Session, String> {
    let har: Value =
        serde_json::from_str(text).map_err(|e| format!("not a HAR file (invalid JSON: {e})"))?;
    let entries = har
        .pointer("/log/entries")
        .and_then(Value::as_array)
        .ok_or("not a HAR file: no log.entries")?;
    let sockets: Vec<&Value> = entries
        .iter()
        .filter(|e| {
            e.get("_webSocketMessages")
                .and_then(Value::as_array)
                .is_some()
        })
        .collect();
    let entry = sockets.first().ok_or(
        "the HAR file has no WebSocket traffic (_webSocketMessages); in the browser's Network panel, \
         export with the WebSocket connection selected and its messages recorded",
    )?;
    let endpoint = endpoint_from(entry)?;
    let messages = entry
        .get("_webSocketMessages")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let steps = steps_from(&messages);
    let url = &endpoint.url;
    let host = url
        .split("://")
        .nth(1)
        .unwrap_or(url)
        .split('/')
        .next()
        .unwrap_or_default()
        .to_owned();
    Ok(Session {
        name: format!("HAR: {host}"),
        notes: notes(&messages, sockets.len()),
        endpoint,
        collection: steps.into_iter().map(Item::Step).collect(),
        ..Session::default()
    })
}

/// The endpoint of a WebSocket entry: its URL (http(s) turned into ws(s)), Origin, subprotocols and the headers
/// worth replaying (credentials marked secret).
fn endpoint_from(entry: &Value) -> Result<Endpoint, String> {
    let url = entry
        .pointer("/request/url")
        .and_then(Value::as_str)
        .ok_or("the WebSocket entry has no request.url")?;
    let url = match url.split_once("://") {
        Some(("https", rest)) => format!("wss://{rest}"),
        Some(("http", rest)) => format!("ws://{rest}"),
        _ => url.to_owned(),
    };
    let mut endpoint = Endpoint::new(url);
    for header in entry
        .pointer("/request/headers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let (Some(name), Some(value)) = (
            header.get("name").and_then(Value::as_str),
            header.get("value").and_then(Value::as_str),
        ) else {
            continue;
        };
        let lower = name.to_ascii_lowercase();
        if lower.starts_with(':') {
            continue; // HTTP/2 pseudo-headers
        }
        match lower.as_str() {
            "origin" => endpoint.origin = value.to_owned(),
            "sec-websocket-protocol" => {
                endpoint.subprotocols = value
                    .split(',')
                    .map(|p| p.trim().to_owned())
                    .filter(|p| !p.is_empty())
                    .collect();
            }
            _ if SKIPPED_HEADERS.contains(&lower.as_str()) => {}
            _ => endpoint.headers.push(HeaderRow {
                enabled: true,
                name: name.to_owned(),
                value: value.to_owned(),
                secret: SECRET_HEADERS.contains(&lower.as_str()),
            }),
        }
    }
    Ok(endpoint)
}

/// The recorded messages as steps: each sent message a step with its recorded delay, each received message an
/// expectation of the step before it (a "Server greeting" step first when the server speaks first).
fn steps_from(messages: &[Value]) -> Vec<Step> {
    let mut steps: Vec<Step> = Vec::new();
    let mut last_sent_time: Option<f64> = None;
    let mut last_time: Option<f64> = None;
    for m in messages {
        let kind = m.get("type").and_then(Value::as_str).unwrap_or_default();
        let time = m.get("time").and_then(Value::as_f64);
        let opcode = m.get("opcode").and_then(Value::as_u64).unwrap_or(1);
        let data = m.get("data").and_then(Value::as_str).unwrap_or_default();
        match kind {
            "send" => {
                let delay_ms = match (time, last_sent_time.or(last_time)) {
                    (Some(t), Some(prev)) => ((t - prev).max(0.0) * 1000.0).round() as u64,
                    _ => 0,
                };
                let payload = if opcode == 2 {
                    Payload::Base64(data.to_owned())
                } else if serde_json::from_str::<Value>(data)
                    .is_ok_and(|v| v.is_object() || v.is_array())
                {
                    Payload::Json(data.to_owned())
                } else {
                    Payload::Text(data.to_owned())
                };
                steps.push(Step {
                    name: format!("Message {}", steps.len() + 1),
                    delay_ms,
                    payload,
                    ..Step::default()
                });
                last_sent_time = time;
            }
            "receive" => {
                if steps.is_empty() {
                    steps.push(Step {
                        name: "Server greeting".into(),
                        payload: Payload::None,
                        ..Step::default()
                    });
                }
                let gap_ms = match (time, last_sent_time.or(last_time)) {
                    (Some(t), Some(prev)) => ((t - prev).max(0.0) * 1000.0) as u64,
                    _ => 0,
                };
                let matcher = if opcode == 2 {
                    Matcher::Contains(String::new())
                } else if serde_json::from_str::<Value>(data).is_ok_and(|v| v.is_object()) {
                    Matcher::JsonSubset(data.to_owned())
                } else {
                    Matcher::Equals(data.to_owned())
                };
                if let Some(step) = steps.last_mut() {
                    step.expect.push(Expectation {
                        matcher,
                        timeout_ms: (gap_ms * 2).max(5_000),
                        enabled: true,
                    });
                }
            }
            _ => {}
        }
        if time.is_some() {
            last_time = time;
        }
    }
    steps
}

/// The session's notes: how many messages went each way, and which connection was taken when there were several.
fn notes(messages: &[Value], sockets: usize) -> String {
    let mut notes = format!(
        "Imported from a HAR capture: {} sent and {} received messages. Received messages are expectations; \
         switch off those whose content varies.",
        messages
            .iter()
            .filter(|m| m.get("type").and_then(Value::as_str) == Some("send"))
            .count(),
        messages
            .iter()
            .filter(|m| m.get("type").and_then(Value::as_str) == Some("receive"))
            .count(),
    );
    if sockets > 1 {
        notes.push_str(&format!(
            " The capture held {sockets} WebSocket connections; this is the first."
        ));
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHROME: &str = r#"{"log":{"version":"1.2","creator":{"name":"WebInspector","version":"537.36"},"entries":[
      {"request":{"method":"GET","url":"https://example.com/app.js","headers":[]},"response":{"status":200}},
      {"_resourceType":"websocket","request":{"method":"GET","url":"wss://chat.example.com/socket?v=2","httpVersion":"HTTP/1.1",
        "headers":[{"name":"Host","value":"chat.example.com"},{"name":"Origin","value":"https://app.example.com"},
          {"name":"Sec-WebSocket-Protocol","value":"chat.v2, chat.v1"},{"name":"Cookie","value":"sid=abc"},
          {"name":"Sec-WebSocket-Key","value":"x"},{"name":"X-Client","value":"web"}]},
        "response":{"status":101},
        "_webSocketMessages":[
          {"type":"receive","time":1700000000.100,"opcode":1,"data":"{\"type\":\"hello\"}"},
          {"type":"send","time":1700000000.600,"opcode":1,"data":"{\"action\":\"join\",\"room\":\"lobby\"}"},
          {"type":"receive","time":1700000000.700,"opcode":1,"data":"{\"type\":\"joined\",\"room\":\"lobby\"}"},
          {"type":"send","time":1700000002.600,"opcode":2,"data":"AAEC"},
          {"type":"send","time":1700000003.000,"opcode":1,"data":"bye"}]}]}}"#;

    #[test]
    fn chrome_capture_becomes_a_session() {
        let s = import(CHROME).expect("imports");
        assert_eq!(s.endpoint.url, "wss://chat.example.com/socket?v=2");
        assert_eq!(s.endpoint.origin, "https://app.example.com");
        assert_eq!(s.endpoint.subprotocols, vec!["chat.v2", "chat.v1"]);
        let names: Vec<&str> = s.endpoint.headers.iter().map(|h| h.name.as_str()).collect();
        assert_eq!(names, ["Cookie", "X-Client"]);
        assert!(s.endpoint.headers[0].secret);
        let steps = s.steps();
        assert_eq!(steps.len(), 4);
        assert_eq!(steps[0].1.payload, Payload::None);
        assert_eq!(
            steps[0].1.expect[0].matcher,
            Matcher::JsonSubset(r#"{"type":"hello"}"#.into())
        );
        assert_eq!(steps[1].1.delay_ms, 500);
        assert_eq!(
            steps[1].1.payload,
            Payload::Json(r#"{"action":"join","room":"lobby"}"#.into())
        );
        assert_eq!(steps[1].1.expect.len(), 1);
        assert_eq!(steps[2].1.delay_ms, 2000);
        assert_eq!(steps[2].1.payload, Payload::Base64("AAEC".into()));
        assert_eq!(steps[3].1.payload, Payload::Text("bye".into()));
        assert_eq!(steps[3].1.delay_ms, 400);
    }

    #[test]
    fn firefox_capture_and_bad_files() {
        let firefox = r#"{"log":{"version":"1.2","creator":{"name":"Firefox","version":"120.0"},"entries":[
          {"request":{"method":"GET","url":"ws://localhost:8080/ws","headers":[{"name":"Origin","value":"http://localhost:3000"}]},
           "response":{"status":101},
           "_webSocketMessages":[{"type":"send","time":1700000000.0,"opcode":1,"data":"ping"},
                                 {"type":"receive","time":1700000000.01,"opcode":1,"data":"pong"}]}]}}"#;
        let s = import(firefox).expect("imports");
        assert_eq!(s.endpoint.url, "ws://localhost:8080/ws");
        assert_eq!(
            s.steps()[0].1.expect[0].matcher,
            Matcher::Equals("pong".into())
        );
        assert!(import("{").expect_err("json").contains("invalid JSON"));
        assert!(
            import(r#"{"log":{"entries":[]}}"#)
                .expect_err("none")
                .contains("no WebSocket traffic")
        );
        assert!(import("[]").expect_err("shape").contains("no log.entries"));
    }
}
