//! Exporting a session as a k6 script (the `k6/ws` API), so the same flow runs as a load test on k6 and its
//! distributed runners.
//!
//! Mapping: the endpoint becomes `ws.connect(url, {headers})` (the URL can be overridden with `-e
//! SOCKSCOPE_URL=…`); each enabled step becomes a timed send (`delay_ms` between sends, tagged `step: N`); each
//! enabled expectation becomes a k6 `check` named `#N step: expectation K …` from the session's own text that
//! passes when a matching message arrives within its timeout; the iteration closes as soon as every expectation
//! has settled. Thresholds: `checks` at a rate of 1.0 overall and per step, so `k6 run` exits non-zero when one
//! fails. Variables: `{{name}}` is the session's value unless `-e SOCKSCOPE_VAR_name=…` overrides it; a secret
//! variable is never written into the script and must come through `-e`; `{{env.NAME}}` becomes `__ENV.NAME`.
//! Generators (`{{uuid}}`, `{{counter}}`, …) are evaluated per send in JavaScript; regexes run as JavaScript
//! regexes; payloads read from files are not exported (the step is skipped with a comment); TLS, proxy and
//! keepalive options are left to k6's own settings. The load shape ([`LoadShape`]) becomes k6 `options`.

use crate::model::session::{Expectation, Matcher, Payload, Session, Step};
use crate::model::template::Context;
use serde_json::{Value, json};

/// Turns a template into a JavaScript expression: variables looked up in the script's `vars` (overridable with
/// `-e SOCKSCOPE_VAR_name=…`), env and generators evaluated at run time.
fn js_template(text: &str, _ctx: &Context) -> String {
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
                None => format!("variable({})", json!(name)),
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

/// How many virtual users for how long, in k6's own terms.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoadShape {
    /// Virtual users (with `duration`).
    pub vus: Option<u32>,
    /// How long, in k6's syntax (`30s`, `1m30s`).
    pub duration: Option<String>,
    /// Ramping stages instead: (duration, target VUs).
    pub stages: Vec<(String, u32)>,
}

impl LoadShape {
    /// Parses `--stage DURATION:TARGET`.
    pub fn parse_stage(text: &str) -> Result<(String, u32), String> {
        let (duration, target) = text.split_once(':').ok_or_else(|| {
            format!("--stage '{text}' must look like DURATION:TARGET (e.g. 10s:20)")
        })?;
        check_duration(duration)?;
        let target = target.trim().parse::<u32>().map_err(|_| {
            format!("--stage '{text}': the target '{target}' is not a number of VUs")
        })?;
        Ok((duration.trim().to_owned(), target))
    }

    /// The k6 `options` (without thresholds) as JavaScript object entries.
    fn options_js(&self) -> String {
        if !self.stages.is_empty() {
            let stages: Vec<String> = self
                .stages
                .iter()
                .map(|(d, t)| format!("{{ duration: {}, target: {t} }}", json!(d)))
                .collect();
            return format!("stages: [{}]", stages.join(", "));
        }
        match (self.vus, &self.duration) {
            (None, None) => "vus: 1, iterations: 1".to_owned(),
            (vus, Some(d)) => format!("vus: {}, duration: {}", vus.unwrap_or(1), json!(d)),
            (Some(v), None) => format!("vus: {v}, iterations: {v}"),
        }
    }
}

/// A k6 duration: whole numbers with units h, m, s, ms (`1m30s`, `500ms`).
pub fn check_duration(text: &str) -> Result<(), String> {
    let t = text.trim();
    let valid = !t.is_empty() && {
        let mut rest = t;
        let mut ok = true;
        while !rest.is_empty() && ok {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            let unit = ["ms", "h", "m", "s"]
                .iter()
                .find(|u| rest[digits..].starts_with(**u));
            match unit {
                Some(u) if digits > 0 => rest = &rest[digits + u.len()..],
                _ => ok = false,
            }
        }
        ok
    };
    if valid {
        Ok(())
    } else {
        Err(format!(
            "'{text}' is not a k6 duration (e.g. 30s, 1m30s, 500ms)"
        ))
    }
}

/// The k6 script for `session`: one VU, one iteration.
pub fn export(session: &Session) -> String {
    export_with(session, &LoadShape::default())
}

/// The k6 script for `session` with the load shape `shape`.
pub fn export_with(session: &Session, shape: &LoadShape) -> String {
    let ctx = session.context(&Default::default());
    let mut request = session.endpoint.to_request();
    let protocol = super::k6_protocol::protocol_of(&request);
    request.url = super::k6_protocol::url(&request, protocol);
    if request.subprotocols.is_empty()
        && let Some(token) = super::k6_protocol::subprotocol(protocol)
    {
        request.subprotocols.push(token.to_owned());
    }
    let header_js = headers_js(&request, &ctx);
    let mut steps_js = Vec::new();
    let mut skipped = Vec::new();
    let mut thresholds = vec!["checks: ['rate==1.0']".to_owned()];
    for (index, (folder, step)) in session.steps().into_iter().enumerate() {
        if !step.enabled {
            continue;
        }
        match step_js(index + 1, &folder, step, &ctx, protocol.is_some()) {
            Ok(js) => {
                if step.expect.iter().any(|e| e.enabled) {
                    thresholds.push(format!("'checks{{step:{}}}': ['rate==1.0']", index + 1));
                }
                steps_js.push(js)
            }
            Err(comment) => skipped.push(comment),
        }
    }
    let mut vars = Vec::new();
    let mut secrets = Vec::new();
    for v in &session.variables {
        if v.secret {
            secrets.push(v.name.clone());
        } else {
            vars.push(format!("{}: {}", json!(v.name), json!(v.value)));
        }
    }
    let mut script = String::new();
    script.push_str(&format!(
        "// k6 load script generated by sockscope from the session {}.\n\
         // Run: k6 run script.js   (override the endpoint with -e SOCKSCOPE_URL=wss://…)\n\
         // Each step is sent after its delay; each expectation is a check that a matching message arrives in time.\n\
         // Variables: -e SOCKSCOPE_VAR_<name>=value overrides the session's value.\n",
        json!(session.name)
    ));
    if !secrets.is_empty() {
        script.push_str(&format!(
            "// Secret variables are not in this script; give them at run time: {}\n",
            secrets
                .iter()
                .map(|n| format!("-e SOCKSCOPE_VAR_{n}=…"))
                .collect::<Vec<_>>()
                .join(" ")
        ));
    }
    for s in &skipped {
        script.push_str(s);
        script.push('\n');
    }
    script.push_str(&format!(
        r#"import ws from 'k6/ws';
import encoding from 'k6/encoding';
import {{ check }} from 'k6';

export const options = {{ {shape}, thresholds: {{ {thresholds} }} }};

const url = __ENV.SOCKSCOPE_URL || {url};
let counter = 0;
const vars = {{ {vars} }};
const secrets = [{secrets}];
function variable(name) {{
  const given = __ENV['SOCKSCOPE_VAR_' + name];
  if (given !== undefined) return given;
  return name in vars ? vars[name] : '';
}}
for (const name of secrets) {{
  if (__ENV['SOCKSCOPE_VAR_' + name] === undefined) console.warn(`secret variable ${{name}} not given: run with -e SOCKSCOPE_VAR_${{name}}=…`);
}}

{JS_HELPERS}
{PROTO_HELPERS}
{proto}
const steps = [
{steps}
];

export default function () {{
  const params = {{ headers: {{ {headers} }} }};
{JS_CONNECT}  check(res, {{ 'handshake status is 101': (r) => r && r.status === 101 }});
}}
"#,
        url = json!(request.url),
        PROTO_HELPERS = super::k6_protocol::PROTO_HELPERS,
        proto = super::k6_protocol::proto_js(&request, protocol, |t| js_template(t, &ctx)),
        steps = steps_js.join("\n"),
        headers = header_js.join(", "),
        shape = shape.options_js(),
        thresholds = thresholds.join(", "),
        vars = vars.join(", "),
        secrets = secrets.iter().map(|n| json!(n).to_string()).collect::<Vec<_>>().join(", "),
    ));
    script
}

/// The script's helpers (plain JavaScript, no placeholders): `uuidv4` for `{{uuid}}`, and matching a received
/// message against an expectation.
const JS_HELPERS: &str = r#"function uuidv4() {
  return 'xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx'.replace(/[xy]/g, (c) => {
    const r = (Math.random() * 16) | 0;
    return (c === 'x' ? r : (r & 0x3) | 0x8).toString(16);
  });
}

function contains(actual, expected) {
  if (expected !== null && typeof expected === 'object' && !Array.isArray(expected)) {
    return actual !== null && typeof actual === 'object' &&
      Object.keys(expected).every((k) => k in actual && contains(actual[k], expected[k]));
  }
  return JSON.stringify(actual) === JSON.stringify(expected);
}

function pathGet(value, path) {
  const parts = path.replace(/^\$\.?/, '').replace(/\[(\d+)\]/g, '.$1').split('.').filter((p) => p !== '');
  return parts.reduce((v, p) => (v === undefined || v === null ? undefined : v[p]), value);
}

function matches(e, data, closeCode, decoded) {
  if (e.kind === 'close') return closeCode !== undefined && (e.a === null || e.a === closeCode);
  if (closeCode !== undefined) return false;
  if (e.kind === 'decoded') return decoded !== undefined && contains(pathGet(decoded, e.a), JSON.parse(e.b));
  if (e.kind === 'reply') {
    if (decoded === undefined || decoded.type !== e.a || e.stepId === null) return false;
    // What answers the step: an ack id, an operation or invocation id, an MQTT packet id, a Phoenix ref, a
    // STOMP receipt.
    const receipt = decoded.headers ? decoded.headers['receipt-id'] : undefined;
    const id = [decoded.ack_id, decoded.id, decoded.invocation_id, decoded.packet_id, decoded.ref, receipt]
      .find((v) => v !== undefined && v !== null);
    return id !== undefined && String(id) === e.stepId;
  }
  let json;
  try { json = JSON.parse(data); } catch (_) { json = undefined; }
  switch (e.kind) {
    case 'bytes': return typeof data !== 'string' && encoding.b64encode(data) === e.a;
    case 'equals': return data === e.a;
    case 'contains': return String(data).includes(e.a);
    case 'regex': return new RegExp(e.a).test(data);
    case 'jsonSubset': return json !== undefined && contains(json, JSON.parse(e.a));
    case 'jsonPath': return json !== undefined && contains(pathGet(json, e.a), JSON.parse(e.b));
  }
  return false;
}
"#;

/// The body of the default function after `params`: connect, send each step on its timer, settle each check.
const JS_CONNECT: &str = r#"  const res = ws.connect(url, params, function (socket) {
    const pending = [];
    let sent = 0;
    let outstanding = 0;
    let closed = false;
    // The iteration ends as soon as every step is sent and every expectation has settled (matched or timed out).
    const finishIfDone = () => {
      if (!closed && sent === steps.length && outstanding === 0) {
        closed = true;
        socket.close();
      }
    };
    const settle = (e, ok) => {
      if (e.done) return;
      e.done = true;
      outstanding -= 1;
      check(ok, { [e.name]: (v) => v === true }, { step: e.tag });
      finishIfDone();
    };
    const deliver = (data, closeCode, decoded) => {
      for (const e of pending) if (!e.done && matches(e, data, closeCode, decoded)) settle(e, true);
    };
    // With a protocol, its client reads each message first; keep-alives it answered come back as null.
    const receive = (data) => {
      if (proto === null) return deliver(data, undefined, undefined);
      let decoded;
      try { decoded = proto.message(socket, data); } catch (_) { decoded = { type: 'invalid' }; }
      // Several protocol messages in one WebSocket message (STOMP frames, MQTT packets, SignalR records).
      if (Array.isArray(decoded)) for (const d of decoded) deliver(data, undefined, d);
      else if (decoded !== null) deliver(data, undefined, decoded);
    };
    socket.on('message', receive);
    socket.on('binaryMessage', receive);
    socket.on('close', (code) => {
      closed = true;
      deliver('', code === undefined ? null : code, undefined);
      for (const e of pending) settle(e, false);
    });
    let started = false;
    const start = () => {
      if (proto !== null) check(true, { 'protocol handshake completed': (v) => v === true });
      started = true;
      let at = 0;
      let lastDeadline = 0;
      for (const step of steps) {
        at += step.delay;
        const sendAt = at;
        socket.setTimeout(() => {
          if (closed) return;
          let stepId = null;
          if (step.emit !== null && proto !== null) stepId = proto.emit(socket, step.emit());
          else if (step.send !== null) {
            const payload = step.send();
            if (step.binary) socket.sendBinary(payload); else socket.send(payload);
          }
          for (const e of step.expect) {
            const entry = Object.assign({ tag: step.tag, done: false, stepId }, e);
            pending.push(entry);
            outstanding += 1;
            socket.setTimeout(() => settle(entry, false), Math.max(1, e.timeout));
          }
          sent += 1;
          finishIfDone();
        }, Math.max(1, sendAt));
        for (const e of step.expect) lastDeadline = Math.max(lastDeadline, sendAt + e.timeout);
      }
      if (steps.length === 0) finishIfDone();
      // A last resort: every expectation has its own timer, so this fires only if a timer was lost.
      socket.setTimeout(() => { if (!closed) { closed = true; socket.close(); } }, Math.max(1, Math.max(at, lastDeadline) + 1000));
    };
    socket.on('open', () => {
      if (proto === null) return start();
      proto.open(socket, start);
      // The protocol's handshake must complete (connection_ack, the namespace's CONNECT) for the steps to run.
      socket.setTimeout(() => {
        if (started) return;
        check(false, { 'protocol handshake completed': (v) => v === true });
        closed = true;
        socket.close();
      }, 10000);
    });
  });
"#;

/// The handshake headers as JavaScript object entries: the endpoint's headers, then Origin and the subprotocols.
fn headers_js(request: &crate::model::ConnectRequest, ctx: &Context) -> Vec<String> {
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
    headers
        .iter()
        .map(|(k, v)| {
            format!(
                "{}: {}",
                json!(k),
                js_template(v.as_str().unwrap_or_default(), ctx)
            )
        })
        .collect()
}

/// One enabled step as an entry of the script's `steps` array, or (for a payload read from a file) the comment
/// saying it is not exported.
fn step_js(
    index: usize,
    folder: &str,
    step: &Step,
    ctx: &Context,
    protocol: bool,
) -> Result<String, String> {
    let name = if folder.is_empty() {
        step.name.clone()
    } else {
        format!("{folder} / {}", step.name)
    };
    let send = match &step.payload {
        Payload::None => "null".to_owned(),
        Payload::Text(t) | Payload::Json(t) => format!("() => {}", js_template(t, ctx)),
        Payload::Hex(h) => {
            let bytes = crate::model::parse_payload(h, crate::model::PayloadFormat::Hex)
                .unwrap_or_default();
            let b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, bytes);
            format!("() => encoding.b64decode({})", json!(b64))
        }
        Payload::Base64(b) => format!("() => encoding.b64decode({})", json!(b.trim())),
        Payload::File(p) => {
            return Err(format!(
                "// step '{name}' sends the file {} and is not exported",
                p.display()
            ));
        }
        Payload::Emit(_) if !protocol => {
            return Err(format!(
                "// step '{name}' sends a protocol message, but the session speaks no protocol: not exported"
            ));
        }
        Payload::Emit(_) => "null".to_owned(),
        Payload::Encoded(_) => {
            return Err(format!(
                "// step '{name}' sends JSON encoded with the session's codec, which k6 has no encoder for: not exported"
            ));
        }
    };
    let emit = match &step.payload {
        Payload::Emit(t) => format!("() => JSON.parse({})", js_template(t, ctx)),
        _ => "null".to_owned(),
    };
    let binary = matches!(step.payload, Payload::Hex(_) | Payload::Base64(_));
    let expects: Vec<String> = step
        .expect
        .iter()
        .filter(|e| e.enabled)
        .enumerate()
        .map(|(k, e)| expectation_js(e, ctx, &check_name(index, &name, k + 1, e)))
        .collect();
    Ok(format!(
        "  {{ name: {}, tag: {}, delay: {}, binary: {binary}, send: {send}, emit: {emit}, expect: [{}] }},",
        json!(name),
        json!(index.to_string()),
        step.delay_ms,
        expects.join(", ")
    ))
}

/// A check's name: `#N step: expectation K` and what it expects, from the session's own text (templates as
/// written, never expanded, so names stay bounded and distinct).
fn check_name(index: usize, step: &str, k: usize, e: &Expectation) -> String {
    let what = matcher_text(&e.matcher);
    let what: String = if what.chars().count() > 60 {
        what.chars().take(59).chain(['…']).collect()
    } else {
        what
    };
    let step: String = step.chars().take(60).collect();
    format!("#{index} {step}: expectation {k} ({what})")
}

/// What a matcher expects, as the session writes it.
fn matcher_text(m: &Matcher) -> String {
    match m {
        Matcher::Equals(s) => format!("equals {s}"),
        Matcher::Contains(s) => format!("contains {s}"),
        Matcher::Regex(r) => format!("matches /{r}/"),
        Matcher::JsonSubset(j) => format!("JSON contains {j}"),
        Matcher::JsonPath { path, equals } => format!("{path} = {equals}"),
        Matcher::Bytes(hex) => format!("bytes {hex}"),
        Matcher::Close(Some(code)) => format!("close {code}"),
        Matcher::Close(None) => "close".to_owned(),
        Matcher::Decoded { path, equals } => format!("decoded {path} = {equals}"),
        Matcher::Reply(kind) => format!("reply {kind}"),
    }
}

/// One expectation as the object the script's `matches` reads: its kind, operands `a` and `b`, and timeout.
fn expectation_js(e: &Expectation, ctx: &Context, name: &str) -> String {
    let (kind, a, b) = match &e.matcher {
        Matcher::Equals(s) => ("equals", js_template(s, ctx), "null".into()),
        Matcher::Contains(s) => ("contains", js_template(s, ctx), "null".into()),
        Matcher::Regex(r) => ("regex", json!(r).to_string(), "null".into()),
        Matcher::JsonSubset(j) => ("jsonSubset", js_template(j, ctx), "null".into()),
        Matcher::JsonPath { path, equals } => (
            "jsonPath",
            json!(path).to_string(),
            js_template(equals, ctx),
        ),
        Matcher::Bytes(hex) => {
            let bytes = crate::model::parse_payload(hex, crate::model::PayloadFormat::Hex)
                .unwrap_or_default();
            let b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, bytes);
            ("bytes", json!(b64).to_string(), "null".into())
        }
        Matcher::Close(code) => ("close", json!(code).to_string(), "null".into()),
        Matcher::Decoded { path, equals } => {
            ("decoded", json!(path).to_string(), js_template(equals, ctx))
        }
        Matcher::Reply(kind) => ("reply", json!(kind.trim()).to_string(), "null".into()),
    };
    format!(
        "{{ name: {}, kind: {}, a: {a}, b: {b}, timeout: {} }}",
        json!(name),
        json!(kind),
        e.timeout_ms
    )
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
        assert!(script.contains(r#"send: () => "{\"action\":\"join\",\"room\":\"" + variable("room") + "\",\"id\":\"" + uuidv4() + "\",\"t\":\"" + (__ENV["TOKEN"] || '') + "\"}""#), "{script}");
        assert!(
            script.contains(r#"const vars = { "room": "lobby" };"#),
            "{script}"
        );
        assert!(script.contains(r##"{ name: "#1 join: expectation 1 ($.ok = true)", kind: "jsonPath", a: "$.ok", b: "true", timeout: 3000 }"##), "{script}");
        assert!(script.contains("send: () => encoding.b64decode(\"AP8=\")"));
        assert!(script.contains("delay: 250"));
        assert!(script.contains("tag: \"2\""));
        assert!(script.contains(
            "export const options = { vus: 1, iterations: 1, thresholds: { checks: ['rate==1.0'], 'checks{step:1}': ['rate==1.0'] } };"
        ), "{script}");
    }

    #[test]
    fn secrets_stay_out_and_the_load_shape_is_k6s() {
        let mut s = Session::default();
        s.variables.push(crate::model::session::Variable {
            name: "token".into(),
            value: "hunter2".into(),
            secret: true,
        });
        s.collection = vec![Item::Step(Step {
            name: "auth".into(),
            payload: Payload::Text("{{token}}".into()),
            ..Step::default()
        })];
        let shape = LoadShape {
            vus: Some(20),
            duration: Some("5s".into()),
            stages: Vec::new(),
        };
        let script = export_with(&s, &shape);
        assert!(!script.contains("hunter2"), "{script}");
        assert!(script.contains("-e SOCKSCOPE_VAR_token=…"));
        assert!(script.contains(r#"const secrets = ["token"];"#));
        assert!(script.contains("export const options = { vus: 20, duration: \"5s\", thresholds"));
        let stages = LoadShape {
            stages: vec![
                LoadShape::parse_stage("10s:20").expect("stage"),
                LoadShape::parse_stage("1m30s:0").expect("stage"),
            ],
            ..LoadShape::default()
        };
        assert!(export_with(&s, &stages).contains(
            r#"stages: [{ duration: "10s", target: 20 }, { duration: "1m30s", target: 0 }]"#
        ));
        for bad in ["10:20", "10s", "s:1", "10s:x", "1h5x:2"] {
            assert!(LoadShape::parse_stage(bad).is_err(), "{bad}");
        }
        assert!(check_duration("500ms").is_ok() && check_duration("2h").is_ok());
    }

    #[test]
    fn check_names_come_from_the_session_text_bounded() {
        let e = Expectation {
            matcher: Matcher::Equals(format!("{{{{greeting}}}}, {}", "x".repeat(200))),
            timeout_ms: 1,
            enabled: true,
        };
        let name = check_name(3, "Text / plain", 2, &e);
        assert!(
            name.starts_with("#3 Text / plain: expectation 2 (equals {{greeting}}, xx"),
            "{name}"
        );
        assert!(name.chars().count() < 120, "{name}");
    }
}
