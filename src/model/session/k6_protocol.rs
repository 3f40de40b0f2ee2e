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
        _ => "const proto = null;\n".into(),
    }
}

/// The protocol clients (plain JavaScript, no placeholders). Each has `open(socket, ready)`, `message(socket,
/// data)` (the decoded message, or `null` for keep-alive traffic it answered itself) and `emit(socket, e)` (the
/// step's id: its ack id or operation id, or `null`).
pub const PROTO_HELPERS: &str = r#"function socketIo(eio, mainNamespace, auth) {
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
