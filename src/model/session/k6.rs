//! Exporting a session as a k6 script (the `k6/ws` API), so the same flow runs as a load test on k6 and its
//! distributed runners.
//!
//! Mapping: the endpoint becomes `ws.connect(url, {headers})` (the URL can be overridden with `-e
//! SOCKSCOPE_URL=…`); each enabled step becomes a timed send (`delay_ms` between sends); each enabled expectation
//! becomes a k6 `check` that passes when a matching message arrives within its timeout. Limits: session
//! variables are inlined as their current values and `{{env.NAME}}` becomes `__ENV.NAME`; generators
//! (`{{uuid}}`, `{{counter}}`, …) are evaluated per send in JavaScript; regexes run as JavaScript regexes;
//! payloads read from files are not exported (the step is skipped with a comment); TLS, proxy and keepalive
//! options are left to k6's own settings.

use crate::model::session::{Matcher, Payload, Session};
use crate::model::template::Context;
use serde_json::{Value, json};

/// Turns a template into a JavaScript expression: variables inlined, env and generators evaluated at run time.
fn js_template(text: &str, ctx: &Context) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let Some(end) = rest[start + 2..].find("}}") else {
            break;
        };
        parts.push(json!(&rest[..start]).to_string());
        let name = rest[start + 2..start + 2 + end].trim();
        parts.push(match name {
            "uuid" => "uuidv4()".into(),
            "timestamp_ms" => "String(Date.now())".into(),
            "counter" => "String(++counter)".into(),
            "random_int" => "String(Math.floor(Math.random() * 1000000))".into(),
            _ => match name.strip_prefix("env.") {
                Some(var) => format!("(__ENV[{}] || '')", json!(var)),
                None => json!(ctx.variables.get(name).cloned().unwrap_or_default()).to_string(),
            },
        });
        rest = &rest[start + 2 + end + 2..];
    }
    parts.push(json!(rest).to_string());
    parts.retain(|p| p != "\"\"");
    if parts.is_empty() {
        "\"\"".into()
    } else {
        parts.join(" + ")
    }
}

/// The k6 script for `session`.
pub fn export(session: &Session) -> String {
    let ctx = session.context(&Default::default());
    let request = session.endpoint.to_request();
    let mut headers = serde_json::Map::new();
    for (name, value) in &request.headers {
        headers.insert(name.clone(), Value::String(value.clone()));
    }
    if let Some(origin) = &request.origin {
        headers.insert("Origin".into(), Value::String(origin.clone()));
    }
    if !request.subprotocols.is_empty() {
        headers.insert(
            "Sec-WebSocket-Protocol".into(),
            Value::String(request.subprotocols.join(", ")),
        );
    }
    let header_js: Vec<String> = headers
        .iter()
        .map(|(k, v)| {
            format!(
                "{}: {}",
                json!(k),
                js_template(v.as_str().unwrap_or_default(), &ctx)
            )
        })
        .collect();
    let mut steps_js = Vec::new();
    let mut skipped = Vec::new();
    for (folder, step) in session.steps() {
        if !step.enabled {
            continue;
        }
        let name = if folder.is_empty() {
            step.name.clone()
        } else {
            format!("{folder} / {}", step.name)
        };
        let send = match &step.payload {
            Payload::None => "null".to_owned(),
            Payload::Text(t) | Payload::Json(t) => format!("() => {}", js_template(t, &ctx)),
            Payload::Hex(h) => {
                let bytes = crate::model::parse_payload(h, crate::model::PayloadFormat::Hex)
                    .unwrap_or_default();
                let b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, bytes);
                format!("() => encoding.b64decode({})", json!(b64))
            }
            Payload::Base64(b) => format!("() => encoding.b64decode({})", json!(b.trim())),
            Payload::File(p) => {
                skipped.push(format!(
                    "// step '{name}' sends the file {} and is not exported",
                    p.display()
                ));
                continue;
            }
        };
        let binary = matches!(step.payload, Payload::Hex(_) | Payload::Base64(_));
        let expects: Vec<String> = step
            .expect
            .iter()
            .filter(|e| e.enabled)
            .map(|e| {
                let (kind, a, b) = match &e.matcher {
                    Matcher::Equals(s) => ("equals", js_template(s, &ctx), "null".into()),
                    Matcher::Contains(s) => ("contains", js_template(s, &ctx), "null".into()),
                    Matcher::Regex(r) => ("regex", json!(r).to_string(), "null".into()),
                    Matcher::JsonSubset(j) => ("jsonSubset", js_template(j, &ctx), "null".into()),
                    Matcher::JsonPath { path, equals } => (
                        "jsonPath",
                        json!(path).to_string(),
                        js_template(equals, &ctx),
                    ),
                    Matcher::Bytes(hex) => {
                        let bytes =
                            crate::model::parse_payload(hex, crate::model::PayloadFormat::Hex)
                                .unwrap_or_default();
                        let b64 = base64::Engine::encode(
                            &base64::engine::general_purpose::STANDARD,
                            bytes,
                        );
                        ("bytes", json!(b64).to_string(), "null".into())
                    }
                    Matcher::Close(code) => ("close", json!(code).to_string(), "null".into()),
                };
                format!(
                    "{{ kind: {}, a: {a}, b: {b}, timeout: {} }}",
                    json!(kind),
                    e.timeout_ms
                )
            })
            .collect();
        steps_js.push(format!(
            "  {{ name: {}, delay: {}, binary: {binary}, send: {send}, expect: [{}] }},",
            json!(name),
            step.delay_ms,
            expects.join(", ")
        ));
    }
    let mut script = String::new();
    script.push_str(&format!(
        "// k6 load script generated by sockscope from the session {}.\n\
         // Run: k6 run script.js   (override the endpoint with -e SOCKSCOPE_URL=wss://…)\n\
         // Each step is sent after its delay; each expectation is a check that a matching message arrives in time.\n",
        json!(session.name)
    ));
    for s in &skipped {
        script.push_str(s);
        script.push('\n');
    }
    script.push_str(&format!(
        r#"import ws from 'k6/ws';
import encoding from 'k6/encoding';
import {{ check }} from 'k6';

export const options = {{ vus: 1, iterations: 1 }};

const url = __ENV.SOCKSCOPE_URL || {url};
let counter = 0;

function uuidv4() {{
  return 'xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx'.replace(/[xy]/g, (c) => {{
    const r = (Math.random() * 16) | 0;
    return (c === 'x' ? r : (r & 0x3) | 0x8).toString(16);
  }});
}}

function contains(actual, expected) {{
  if (expected !== null && typeof expected === 'object' && !Array.isArray(expected)) {{
    return actual !== null && typeof actual === 'object' &&
      Object.keys(expected).every((k) => k in actual && contains(actual[k], expected[k]));
  }}
  return JSON.stringify(actual) === JSON.stringify(expected);
}}

function pathGet(value, path) {{
  const parts = path.replace(/^\$\.?/, '').replace(/\[(\d+)\]/g, '.$1').split('.').filter((p) => p !== '');
  return parts.reduce((v, p) => (v === undefined || v === null ? undefined : v[p]), value);
}}

function matches(e, data, closeCode) {{
  if (e.kind === 'close') return closeCode !== undefined && (e.a === null || e.a === closeCode);
  if (closeCode !== undefined) return false;
  let json;
  try {{ json = JSON.parse(data); }} catch (_) {{ json = undefined; }}
  switch (e.kind) {{
    case 'bytes': return typeof data !== 'string' && encoding.b64encode(data) === e.a;
    case 'equals': return data === e.a;
    case 'contains': return String(data).includes(e.a);
    case 'regex': return new RegExp(e.a).test(data);
    case 'jsonSubset': return json !== undefined && contains(json, JSON.parse(e.a));
    case 'jsonPath': return json !== undefined && contains(pathGet(json, e.a), JSON.parse(e.b));
  }}
  return false;
}}

const steps = [
{steps}
];

export default function () {{
  const params = {{ headers: {{ {headers} }} }};
  const res = ws.connect(url, params, function (socket) {{
    const pending = [];
    const settle = (e, ok) => {{
      if (e.done) return;
      e.done = true;
      check(ok, {{ [`${{e.step}}: ${{e.kind}} ${{e.a}}`]: (v) => v === true }});
    }};
    const deliver = (data, closeCode) => {{
      for (const e of pending) if (!e.done && matches(e, data, closeCode)) settle(e, true);
    }};
    socket.on('message', (data) => deliver(data, undefined));
    socket.on('binaryMessage', (data) => deliver(data, undefined));
    socket.on('close', (code) => {{
      deliver('', code === undefined ? null : code);
      for (const e of pending) settle(e, false);
    }});
    socket.on('open', () => {{
      let at = 0;
      let lastDeadline = 0;
      for (const step of steps) {{
        at += step.delay;
        const sendAt = at;
        socket.setTimeout(() => {{
          if (step.send !== null) {{
            const payload = step.send();
            if (step.binary) socket.sendBinary(payload); else socket.send(payload);
          }}
          for (const e of step.expect) {{
            const entry = Object.assign({{ step: step.name, done: false }}, e);
            pending.push(entry);
            socket.setTimeout(() => settle(entry, false), e.timeout);
          }}
        }}, sendAt);
        for (const e of step.expect) lastDeadline = Math.max(lastDeadline, sendAt + e.timeout);
      }}
      socket.setTimeout(() => socket.close(), Math.max(at, lastDeadline) + 100);
    }});
  }});
  check(res, {{ 'handshake status is 101': (r) => r && r.status === 101 }});
}}
"#,
        url = json!(request.url),
        steps = steps_js.join("\n"),
        headers = header_js.join(", "),
    ));
    script
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::session::{Expectation, Item, Step};

    #[test]
    fn script_maps_steps_templates_and_checks() {
        let mut s = Session {
            name: "chat".into(),
            ..Session::default()
        };
        s.endpoint.url = "wss://chat.example/prod".into();
        s.endpoint.origin = "https://app".into();
        s.variables.push(crate::model::session::Variable {
            name: "room".into(),
            value: "lobby".into(),
            secret: false,
        });
        s.collection = vec![
            Item::Step(Step {
                name: "join".into(),
                delay_ms: 250,
                payload: Payload::Json(
                    r#"{"action":"join","room":"{{room}}","id":"{{uuid}}","t":"{{env.TOKEN}}"}"#
                        .into(),
                ),
                expect: vec![Expectation {
                    matcher: Matcher::JsonPath {
                        path: "$.ok".into(),
                        equals: "true".into(),
                    },
                    timeout_ms: 3000,
                    enabled: true,
                }],
                ..Step::default()
            }),
            Item::Step(Step {
                name: "raw".into(),
                payload: Payload::Hex("00ff".into()),
                ..Step::default()
            }),
        ];
        let script = export(&s);
        assert!(script.contains("const url = __ENV.SOCKSCOPE_URL || \"wss://chat.example/prod\";"));
        assert!(script.contains("\"Origin\": \"https://app\""));
        assert!(script.contains(r#"send: () => "{\"action\":\"join\",\"room\":\"" + "lobby" + "\",\"id\":\"" + uuidv4() + "\",\"t\":\"" + (__ENV["TOKEN"] || '') + "\"}""#), "{script}");
        assert!(script.contains("{ kind: \"jsonPath\", a: \"$.ok\", b: \"true\", timeout: 3000 }"));
        assert!(script.contains("send: () => encoding.b64decode(\"AP8=\")"));
        assert!(script.contains("delay: 250"));
    }
}
