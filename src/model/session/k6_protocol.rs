//! The protocol part of an exported k6 script: a small client per protocol in plain JavaScript (the `proto`
//! object the script's connection code calls), so a session that speaks Socket.IO or GraphQL over WebSocket runs
//! in k6 with its handshake (`40`, `connection_init` → ack), answers to keep-alives (`2` → `3` on Engine.IO 4,
//! client pings on Engine.IO 3, GraphQL `ping` → `pong`) and expectations on the decoded messages (the same
//! `protocol` objects as `connect --json`, without binary attachments).

use crate::model::ConnectRequest;
use crate::model::protocol::socketio::options::Settings as SioSettings;
use crate::model::protocol::{Protocol, detect, lens};
use serde_json::json;

/// The protocol a session's script speaks (`None`: raw), from its choice (`auto` reads the URL).
pub fn protocol_of(request: &ConnectRequest) -> Option<Protocol> {
    match request.protocol.protocol {
        Protocol::Raw => None,
        Protocol::Auto => Some(detect(None, &request.url).protocol).filter(|p| *p != Protocol::Raw),
        p => Some(p),
    }
}

/// The URL the script connects to for `protocol` (Socket.IO's `/socket.io/?EIO=4&transport=websocket`).
pub fn url(request: &ConnectRequest, protocol: Option<Protocol>) -> String {
    protocol
        .and_then(|p| lens::connect_url(p, &request.protocol.options, &request.url).ok())
        .unwrap_or_else(|| request.url.clone())
}

/// The subprotocol the script offers when the session sets none.
pub fn subprotocol(protocol: Option<Protocol>) -> Option<&'static str> {
    protocol.and_then(|p| p.offered_subprotocols().first().copied())
}

/// `const proto = …;`: the protocol client, or `null` for raw WebSocket. `template` turns an option's text into a
/// JavaScript expression (variables inlined, `{{env.NAME}}` read at run time), parsed as JSON when the script runs.
pub fn proto_js(
    request: &ConnectRequest,
    protocol: Option<Protocol>,
    template: impl Fn(&str) -> String,
) -> String {
    let options = &request.protocol.options;
    let json_option = |key: &str| {
        options
            .get(key)
            .filter(|v| !v.trim().is_empty())
            .map_or("null".to_owned(), |v| {
                format!("JSON.parse({})", template(v))
            })
    };
    match protocol {
        Some(Protocol::SocketIo) => {
            let settings = SioSettings::from_options(options)
                .unwrap_or_else(|_| {
                    SioSettings::from_options(&Default::default()).expect("defaults")
                })
                .for_url(&request.url);
            let eio = settings.eio.query_value();
            format!(
                "const proto = socketIo({eio}, {}, {});\n",
                json!(settings.namespace),
                json_option("auth")
            )
        }
        Some(p @ (Protocol::GraphqlTransportWs | Protocol::GraphqlWs)) => {
            let init = json_option("init");
            format!(
                "const proto = graphql({}, {init});\n",
                p == Protocol::GraphqlWs
            )
        }
        Some(Protocol::Stomp) => {
            let settings = crate::model::protocol::stomp::lens::Settings::from_options(options)
                .unwrap_or_else(|_| {
                    crate::model::protocol::stomp::lens::Settings::from_options(&Default::default())
                        .expect("defaults")
                });
            format!(
                "const proto = stomp({}, {}, {}, [{}, {}]);\n",
                text_option(options, "login", &template),
                text_option(options, "passcode", &template),
                text_option(options, "host", &template).replace("null", "'/'"),
                settings.heart_beat.0,
                settings.heart_beat.1
            )
        }
        Some(Protocol::Mqtt) => {
            use crate::model::protocol::mqtt::{Version, lens::Settings};
            let settings = Settings::from_options(options)
                .unwrap_or_else(|_| Settings::from_options(&Default::default()).expect("defaults"));
            let client_id = match options.get("client_id") {
                Some(id) if !id.is_empty() => template(id),
                // Each VU its own client: a broker drops the older of two connections with one id.
                _ => "`sockscope-k6-${__VU}-${Math.floor(Math.random() * 1e9)}`".into(),
            };
            format!(
                "const proto = mqtt({}, {client_id}, {}, {}, {}, {});\n",
                settings.version == Version::V5,
                settings.keep_alive,
                text_option(options, "username", &template),
                text_option(options, "password", &template),
                settings.clean
            )
        }
        Some(Protocol::SignalR) => {
            let settings = crate::model::protocol::signalr::lens::Settings::from_options(options)
                .unwrap_or_else(|_| {
                    crate::model::protocol::signalr::lens::Settings::from_options(
                        &Default::default(),
                    )
                    .expect("defaults")
                });
            format!(
                "const proto = signalr({});\n",
                settings.keepalive.map_or(0, |k| k.as_millis())
            )
        }
        Some(Protocol::Phoenix) => {
            use crate::model::protocol::phoenix::{Settings, Vsn};
            let settings = Settings::from_options(options)
                .unwrap_or_else(|_| Settings::from_options(&Default::default()).expect("defaults"));
            format!(
                "const proto = phoenix({}, {});\n",
                settings.vsn == Vsn::V2,
                settings.heartbeat.map_or(0, |h| h.as_millis())
            )
        }
        Some(Protocol::ActionCable) => "const proto = actionCable();\n".into(),
        _ => "const proto = null;\n".into(),
    }
}

/// A text option as a JavaScript expression (`null` when unset).
fn text_option(
    options: &crate::model::protocol::Options,
    key: &str,
    template: &impl Fn(&str) -> String,
) -> String {
    options
        .get(key)
        .map_or_else(|| "null".to_owned(), |v| template(v))
}

/// The protocol clients (plain JavaScript, no placeholders). Each has `open(socket, ready)`, `message(socket,
/// data)` (the decoded message, or `null` for keep-alive traffic it answered itself) and `emit(socket, e)` (the
/// step's id: its ack id or operation id, or `null`).
pub const PROTO_HELPERS: &str = r#"function utf8Bytes(s) {
  const out = [];
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c >= 0xd800 && c < 0xdc00 && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d < 0xe000) { c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00); i++; }
    }
    if (c < 0x80) out.push(c);
    else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
    else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
  }
  return out;
}

// UTF-8 bytes as text, or null when they are not UTF-8.
function utf8Text(bytes) {
  let s = '';
  for (let i = 0; i < bytes.length;) {
    const b = bytes[i];
    let n = 0, c = 0;
    if (b < 0x80) { c = b; n = 0; } else if ((b & 0xe0) === 0xc0) { c = b & 31; n = 1; }
    else if ((b & 0xf0) === 0xe0) { c = b & 15; n = 2; } else if ((b & 0xf8) === 0xf0) { c = b & 7; n = 3; }
    else return null;
    for (let k = 1; k <= n; k++) {
      const x = bytes[i + k];
      if (x === undefined || (x & 0xc0) !== 0x80) return null;
      c = (c << 6) | (x & 63);
    }
    s += String.fromCodePoint(c);
    i += n + 1;
  }
  return s;
}

function stomp(login, passcode, host, hb) {
  let ready = null;
  let version = '1.2';
  let nextSub = 0;
  const esc = (t) => String(t).replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/:/g, '\\c').replace(/\r/g, version === '1.2' ? '\\r' : '\r');
  const unesc = (t) => t.replace(/\\(.)/g, (_, c) => ({ n: '\n', c: ':', r: '\r', '\\': '\\' })[c] || c);
  const head = (command, headers, escaped) => command + '\n' +
    Object.keys(headers).map((k) => (escaped ? esc(k) + ':' + esc(headers[k]) : k + ':' + headers[k]) + '\n').join('') + '\n';
  return {
    open(socket, onReady) {
      ready = onReady;
      const h = { 'accept-version': '1.0,1.1,1.2', host, 'heart-beat': hb[0] + ',' + hb[1] };
      if (login !== null) h.login = login;
      if (passcode !== null) h.passcode = passcode;
      socket.send(head('CONNECT', h, false) + '\0');
    },
    message(socket, data) {
      let text = typeof data === 'string' ? data : utf8Text(new Uint8Array(data));
      const out = [];
      while (text !== null && text.length > 0) {
        const skip = text.match(/^[\r\n\0]*/)[0].length;
        text = text.slice(skip);
        if (text.length === 0) break;
        const end = text.search(/\r?\n\r?\n/);
        if (end < 0) break;
        const lines = text.slice(0, end).split(/\r?\n/);
        const command = lines[0];
        const escaped = version !== '1.0' && command !== 'CONNECTED';
        const headers = {};
        for (const line of lines.slice(1)) {
          const i = line.indexOf(':');
          const k = escaped ? unesc(line.slice(0, i)) : line.slice(0, i);
          if (!(k in headers)) headers[k] = escaped ? unesc(line.slice(i + 1)) : line.slice(i + 1);
        }
        const bodyStart = end + text.slice(end).match(/^\r?\n\r?\n/)[0].length;
        const length = parseInt(headers['content-length'], 10);
        // content-length counts bytes; the text counts UTF-16 units.
        const charsFor = (from, bytes) => {
          let i = from, n = 0;
          while (i < text.length && n < bytes) {
            const c = text.codePointAt(i);
            n += c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
            i += c >= 0x10000 ? 2 : 1;
          }
          return i;
        };
        const stop = Number.isNaN(length) ? text.indexOf('\0', bodyStart) : charsFor(bodyStart, length);
        const body = text.slice(bodyStart, stop < 0 ? text.length : stop);
        text = stop < 0 ? '' : text.slice(stop + 1);
        if (command === 'CONNECTED') {
          version = headers.version || '1.0';
          const [sx, sy] = (headers['heart-beat'] || '0,0').split(',').map(Number);
          const every = hb[0] > 0 && sy > 0 ? Math.max(hb[0], sy) : 0;
          if (every > 0) socket.setInterval(() => socket.send('\n'), every);
          if (ready) { const r = ready; ready = null; r(); }
        }
        out.push({ name: 'stomp', type: command, headers, body: body === '' ? null : body });
      }
      return out.length === 0 ? null : out.length === 1 ? out[0] : out;
    },
    emit(socket, e) {
      const headers = Object.assign({}, e.headers || {});
      const command = String(e.command).toUpperCase();
      if (command === 'SUBSCRIBE') {
        if (headers.id === undefined) headers.id = 'sub-' + nextSub++;
        if (headers.ack === undefined) headers.ack = 'auto';
      }
      let body = e.body === undefined || e.body === null ? '' : e.body;
      if (typeof body === 'object' && body.base64 !== undefined) {
        const bytes = Array.from(new Uint8Array(encoding.b64decode(body.base64, 'std')));
        headers['content-length'] = String(bytes.length);
        const frame = utf8Bytes(head(command, headers, true)).concat(bytes, [0]);
        socket.sendBinary(new Uint8Array(frame).buffer);
      } else {
        if (String(body).includes('\0')) headers['content-length'] = String(utf8Bytes(String(body)).length);
        socket.send(head(command, headers, true) + body + '\0');
      }
      const id = headers.receipt !== undefined ? headers.receipt : headers.id;
      return id === undefined ? null : String(id);
    },
  };
}

function mqtt(v5, clientId, keepalive, username, password, clean) {
  let buf = [];
  let nextId = 1;
  let ready = null;
  const str = (t) => { const b = utf8Bytes(String(t)); return [b.length >> 8, b.length & 255].concat(b); };
  const varint = (n) => { const out = []; do { let b = n % 128; n = Math.floor(n / 128); if (n > 0) b |= 128; out.push(b); } while (n > 0); return out; };
  const props = v5 ? [0] : [];
  const send = (socket, first, body) => socket.sendBinary(new Uint8Array([first].concat(varint(body.length), body)).buffer);
  const ack = (socket, kind, id) => send(socket, (kind << 4) | (kind === 6 ? 2 : 0), [id >> 8, id & 255]);
  const id = () => { const i = nextId; nextId = nextId >= 65535 ? 1 : nextId + 1; return i; };
  const payloadValue = (bytes) => { const t = utf8Text(bytes); return t !== null ? t : { base64: encoding.b64encode(new Uint8Array(bytes).buffer, 'std') }; };
  const decode = (socket, first, b) => {
    const type = first >> 4;
    const u16 = (i) => (b[i] << 8) | b[i + 1];
    const skipProps = (i) => { if (!v5) return i; let n = 0, s = 0, x; do { x = b[i++]; n |= (x & 127) << s; s += 7; } while (x & 128); return i + n; };
    const names = { 4: 'puback', 5: 'pubrec', 6: 'pubrel', 7: 'pubcomp' };
    switch (type) {
      case 2:
        if (b[1] === 0) {
          if (keepalive > 0) socket.setInterval(() => socket.sendBinary(new Uint8Array([0xc0, 0]).buffer), keepalive * 1000);
          if (ready) { const r = ready; ready = null; r(); }
        }
        return { name: 'mqtt', type: 'connack', session_present: (b[0] & 1) === 1, reason_code: b[1] };
      case 3: {
        const qos = (first >> 1) & 3;
        const tl = u16(0);
        const topic = utf8Text(b.slice(2, 2 + tl));
        let i = 2 + tl;
        let packetId;
        if (qos > 0) { packetId = u16(i); i += 2; }
        i = skipProps(i);
        if (qos === 1) ack(socket, 4, packetId);
        if (qos === 2) ack(socket, 5, packetId);
        const m = { name: 'mqtt', type: 'publish', topic, payload: payloadValue(b.slice(i)), qos, retain: (first & 1) === 1 };
        if (packetId !== undefined) m.packet_id = packetId;
        return m;
      }
      case 4: case 5: case 6: case 7: {
        const packetId = u16(0);
        if (type === 5) ack(socket, 6, packetId);
        if (type === 6) ack(socket, 7, packetId);
        return { name: 'mqtt', type: names[type], packet_id: packetId, reason_code: v5 && b.length > 2 ? b[2] : 0 };
      }
      case 9: case 11: {
        const i = skipProps(2);
        return { name: 'mqtt', type: type === 9 ? 'suback' : 'unsuback', packet_id: u16(0), reason_codes: b.slice(i) };
      }
      case 13: return null;
      case 14: return { name: 'mqtt', type: 'disconnect', reason_code: b.length > 0 ? b[0] : 0 };
    }
    return { name: 'mqtt', type: 'unknown' };
  };
  return {
    open(socket, onReady) {
      ready = onReady;
      let flags = clean ? 2 : 0;
      if (username !== null) flags |= 0x80;
      if (password !== null) flags |= 0x40;
      let body = str('MQTT').concat([v5 ? 5 : 4, flags, keepalive >> 8, keepalive & 255], props, str(clientId));
      if (username !== null) body = body.concat(str(username));
      if (password !== null) body = body.concat(str(password));
      send(socket, 0x10, body);
    },
    message(socket, data) {
      if (typeof data === 'string') data = new Uint8Array(utf8Bytes(data)).buffer;
      buf = buf.concat(Array.from(new Uint8Array(data)));
      const out = [];
      for (;;) {
        let n = 0, s = 0, i = 1, x;
        do { x = buf[i++]; if (x === undefined) break; n |= (x & 127) << s; s += 7; } while (x & 128);
        if (x === undefined || buf.length < i + n) break;
        const m = decode(socket, buf[0], buf.slice(i, i + n));
        buf = buf.slice(i + n);
        if (m !== null) out.push(m);
      }
      return out.length === 0 ? null : out.length === 1 ? out[0] : out;
    },
    emit(socket, e) {
      if (e.subscribe !== undefined) {
        const i = id();
        send(socket, 0x82, [i >> 8, i & 255].concat(props, str(e.subscribe), [e.qos || 0]));
        return String(i);
      }
      if (e.unsubscribe !== undefined) {
        const i = id();
        send(socket, 0xa2, [i >> 8, i & 255].concat(props, str(e.unsubscribe)));
        return String(i);
      }
      if (e.disconnect !== undefined) { send(socket, 0xe0, []); return null; }
      const qos = e.qos || 0;
      let payload = [];
      if (e.payload_base64 !== undefined) payload = Array.from(new Uint8Array(encoding.b64decode(e.payload_base64, 'std')));
      else if (typeof e.payload === 'string') payload = utf8Bytes(e.payload);
      else if (e.payload !== undefined && e.payload !== null && e.payload.base64 !== undefined) payload = Array.from(new Uint8Array(encoding.b64decode(e.payload.base64, 'std')));
      else if (e.payload !== undefined) payload = utf8Bytes(JSON.stringify(e.payload));
      const i = qos > 0 ? id() : null;
      const body = str(e.publish).concat(i === null ? [] : [i >> 8, i & 255], props, payload);
      send(socket, 0x30 | (qos << 1) | (e.retain ? 1 : 0), body);
      return i === null ? null : String(i);
    },
  };
}

function signalr(keepaliveMs) {
  const RS = '\x1e';
  const names = ['handshake', 'invocation', 'stream_item', 'completion', 'stream_invocation', 'cancel_invocation', 'ping', 'close'];
  let ready = null;
  let nextId = 0;
  return {
    open(socket, onReady) {
      ready = onReady;
      socket.send(JSON.stringify({ protocol: 'json', version: 1 }) + RS);
    },
    message(socket, data) {
      const out = [];
      for (const record of String(data).split(RS)) {
        if (record === '') continue;
        const m = JSON.parse(record);
        if (m.type === undefined) {
          const h = { name: 'signalr', type: 'handshake' };
          if (m.error !== undefined) h.error = m.error;
          else {
            if (keepaliveMs > 0) socket.setInterval(() => socket.send('{"type":6}' + RS), keepaliveMs);
            if (ready) { const r = ready; ready = null; r(); }
          }
          out.push(h);
          continue;
        }
        if (m.type === 6) continue;
        const d = { name: 'signalr', type: names[m.type] || 'unknown' };
        const copy = { target: 'target', arguments: 'args', invocationId: 'invocation_id', item: 'item', result: 'result', error: 'error', allowReconnect: 'allow_reconnect' };
        for (const k of Object.keys(copy)) if (m[k] !== undefined) d[copy[k]] = m[k];
        out.push(d);
      }
      return out.length === 0 ? null : out.length === 1 ? out[0] : out;
    },
    emit(socket, e) {
      const args = e.args === undefined ? [] : Array.isArray(e.args) ? e.args : [e.args];
      if (e.cancel !== undefined) { socket.send(JSON.stringify({ type: 5, invocationId: String(e.cancel) }) + RS); return String(e.cancel); }
      if (e.send !== undefined) { socket.send(JSON.stringify({ type: 1, target: e.send, arguments: args }) + RS); return null; }
      const id = String(nextId++);
      const type = e.stream !== undefined ? 4 : 1;
      socket.send(JSON.stringify({ type, invocationId: id, target: e.stream !== undefined ? e.stream : e.invoke, arguments: args }) + RS);
      return id;
    },
  };
}

function phoenix(v2, heartbeatMs) {
  let ref = 1;
  const joins = {};
  const encode = (m) => v2 ? JSON.stringify([m.join_ref, m.ref, m.topic, m.event, m.payload]) : JSON.stringify(m);
  return {
    open(socket, onReady) {
      if (heartbeatMs > 0) socket.setInterval(() => socket.send(encode({ join_ref: null, ref: String(ref++), topic: 'phoenix', event: 'heartbeat', payload: {} })), heartbeatMs);
      onReady();
    },
    message(socket, data) {
      const v = JSON.parse(data);
      const m = Array.isArray(v) ? { join_ref: v[0], ref: v[1], topic: v[2], event: v[3], payload: v[4] } : v;
      if (m.topic === 'phoenix') return null;
      const d = { name: 'phoenix', type: m.event, topic: m.topic, ref: m.ref === undefined ? null : m.ref, join_ref: m.join_ref === undefined ? null : m.join_ref, payload: m.payload };
      if (m.event === 'phx_reply' && m.payload) d.status = m.payload.status;
      return d;
    },
    emit(socket, e) {
      const r = String(ref++);
      const joinRef = e.event === 'phx_join' ? (joins[e.topic] = r) : (joins[e.topic] || null);
      socket.send(encode({ join_ref: joinRef, ref: r, topic: e.topic, event: e.event, payload: e.payload === undefined ? {} : e.payload }));
      return r;
    },
  };
}

function actionCable() {
  let ready = null;
  const strings = {};
  // The identifier string is built once per subscription and reused byte for byte (Rails finds it by it).
  const identifier = (id) => { const s = typeof id === 'string' ? id : JSON.stringify(id); return strings[s] || (strings[s] = s); };
  return {
    open(socket, onReady) { ready = onReady; },
    message(socket, data) {
      const m = JSON.parse(data);
      if (m.type === 'ping') return null;
      if (m.type === 'welcome' && ready) { const r = ready; ready = null; r(); }
      const d = { name: 'actioncable', type: m.type || 'message' };
      if (m.identifier !== undefined) { try { d.identifier = JSON.parse(m.identifier); } catch (_) { d.identifier = m.identifier; } }
      for (const k of ['message', 'reason', 'reconnect']) if (m[k] !== undefined) d[k] = m[k];
      return d;
    },
    emit(socket, e) {
      if (e.subscribe !== undefined) socket.send(JSON.stringify({ command: 'subscribe', identifier: identifier(e.subscribe) }));
      else if (e.unsubscribe !== undefined) socket.send(JSON.stringify({ command: 'unsubscribe', identifier: identifier(e.unsubscribe) }));
      else {
        const data = Object.assign({}, e.data || {}, { action: e.perform });
        socket.send(JSON.stringify({ command: 'message', identifier: identifier(e.identifier), data: JSON.stringify(data) }));
      }
      return null;
    },
  };
}

function socketIo(eio, mainNamespace, auth) {
  let ackId = 0;
  let ready = null;
  const connected = {};
  const held = {};
  const connect = (socket, nsp, nspAuth) => {
    held[nsp] = held[nsp] || [];
    if (eio === 3) {
      if (nsp === '/') return;
      const q = nspAuth ? '?' + Object.keys(nspAuth).map((k) => `${encodeURIComponent(k)}=${encodeURIComponent(nspAuth[k])}`).join('&') : '';
      socket.send(`40${nsp}${q},`);
    } else {
      socket.send('40' + (nsp === '/' ? '' : nsp + ',') + (nspAuth ? JSON.stringify(nspAuth) : ''));
    }
  };
  const packet = (socket, s) => {
    const type = Number(s[0]);
    let i = 1;
    if (type === 5 || type === 6) i = s.indexOf('-', i) + 1;
    let nsp = '/';
    if (s[i] === '/') {
      const end = s.indexOf(',', i);
      nsp = end < 0 ? s.slice(i) : s.slice(i, end);
      i = end < 0 ? s.length : end + 1;
      nsp = nsp.split('?')[0];
    }
    let id = '';
    while (i < s.length && s[i] >= '0' && s[i] <= '9') id += s[i++];
    const data = i < s.length ? JSON.parse(s.slice(i)) : null;
    const base = { name: 'socket.io', layer: 'socket.io', namespace: nsp };
    if (id !== '') base.ack_id = Number(id);
    switch (type) {
      case 0:
        connected[nsp] = true;
        for (const m of held[nsp] || []) socket.send(m);
        held[nsp] = [];
        if (nsp === mainNamespace && ready) { const r = ready; ready = null; r(); }
        return Object.assign(base, { type: 'connect', data });
      case 1: connected[nsp] = false; return Object.assign(base, { type: 'disconnect' });
      case 2: case 5: return Object.assign(base, { type: 'event', event: data[0], args: data.slice(1) });
      case 3: case 6: return Object.assign(base, { type: 'ack', args: data });
      case 4: return Object.assign(base, { type: 'connect_error', data });
    }
    return Object.assign(base, { type: 'unknown' });
  };
  return {
    open(socket, onReady) { ready = onReady; },
    message(socket, data) {
      if (typeof data !== 'string') return { name: 'socket.io', layer: 'socket.io', type: 'part' };
      switch (data[0]) {
        case '0': {
          const open = JSON.parse(data.slice(1));
          if (eio === 3) socket.setInterval(() => socket.send('2'), Math.max(1, open.pingInterval));
          if (eio === 4 || mainNamespace !== '/') connect(socket, mainNamespace, auth);
          return { name: 'socket.io', layer: 'engine.io', type: 'open', data: open };
        }
        case '2': if (eio === 4) socket.send('3' + data.slice(1)); return null;
        case '3': case '6': return null;
        case '4': return packet(socket, data.slice(1));
      }
      return { name: 'socket.io', layer: 'engine.io', type: 'unknown' };
    },
    emit(socket, e) {
      const nsp = e.namespace ? (e.namespace[0] === '/' ? e.namespace : '/' + e.namespace) : '/';
      const id = e.ack ? ackId++ : null;
      const text = '42' + (nsp === '/' ? '' : nsp + ',') + (id === null ? '' : id) +
        JSON.stringify([e.event].concat(e.args || []));
      if (connected[nsp]) socket.send(text);
      else {
        if (!(nsp in held)) connect(socket, nsp, e.auth || null);
        held[nsp].push(text);
      }
      return id === null ? null : String(id);
    },
  };
}

function graphql(legacy, init) {
  let nextId = 1;
  let ready = null;
  return {
    open(socket, onReady) {
      ready = onReady;
      const m = { type: 'connection_init' };
      if (init !== null) m.payload = init;
      socket.send(JSON.stringify(m));
    },
    message(socket, data) {
      const m = JSON.parse(data);
      const name = legacy ? 'graphql-ws' : 'graphql-transport-ws';
      if (m.type === 'ping') { socket.send(JSON.stringify(Object.assign({ type: 'pong' }, m.payload === undefined ? {} : { payload: m.payload }))); return null; }
      if (m.type === 'pong' || m.type === 'ka') return null;
      if (m.type === 'connection_ack' && ready) { const r = ready; ready = null; r(); }
      const out = { name, type: m.type };
      if (m.id !== undefined) out.id = String(m.id);
      if (m.payload !== undefined && m.payload !== null) out.payload = m.payload;
      return out;
    },
    emit(socket, e) {
      if (e.complete !== undefined) {
        socket.send(JSON.stringify({ id: String(e.complete), type: legacy ? 'stop' : 'complete' }));
        return String(e.complete);
      }
      const id = e.id !== undefined ? String(e.id) : String(nextId++);
      const payload = { query: e.subscribe };
      if (e.variables) payload.variables = e.variables;
      if (e.operationName) payload.operationName = e.operationName;
      socket.send(JSON.stringify({ id, type: legacy ? 'start' : 'subscribe', payload }));
      return id;
    },
  };
}
"#;
