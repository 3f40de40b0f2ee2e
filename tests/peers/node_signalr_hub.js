// A SignalR hub over WebSocket on ws://127.0.0.1:PORT/chathub (the port is printed), answering as the hub
// protocol spec says and reading and writing every hub message with @microsoft/signalr's own JsonHubProtocol
// (or @microsoft/signalr-protocol-msgpack's MessagePackHubProtocol when the handshake asks for messagepack).
// Methods: Echo(x) completes with x; Counter(n) streams 0..n-1 then completes; Notify(x) (no id needed) makes the
// hub invoke "notified"(x) on the caller; Fail() completes with an error. The hub pings every 1 s. A message the
// official protocol cannot parse closes the connection (close message with the parser's words, then 4000).
// Argument 2, if given, is a file where every message is recorded (peer_recorder.js).
const http = require("http");
const { WebSocketServer } = require("ws");
const signalr = require("@microsoft/signalr");
const { MessagePackHubProtocol } = require("@microsoft/signalr-protocol-msgpack");
const msgpack = require("@msgpack/msgpack");
const record = require("./peer_recorder")(process.argv[2]);

const RS = "\x1e";
const logger = signalr.NullLogger.instance;
// POST /chathub/negotiate (negotiateVersion 1) answers a connectionToken; the WebSocket may then come with
// ?id=TOKEN. Both are recorded ({"dir":"negotiate"} with the Authorization header, {"dir":"connect"} with the URL).
let tokens = 0;
const server = http.createServer((request, response) => {
  const url = new URL(request.url, "http://x");
  if (request.method === "POST" && url.pathname === "/chathub/negotiate") {
    record("negotiate", request.headers.authorization || "", false);
    const token = `tok-${++tokens}`;
    response.writeHead(200, { "Content-Type": "application/json" });
    return response.end(JSON.stringify({
      negotiateVersion: 1, connectionId: `conn-${tokens}`, connectionToken: token,
      availableTransports: [{ transport: "WebSockets", transferFormats: ["Text", "Binary"] }],
    }));
  }
  response.writeHead(404);
  response.end();
});
const wss = new WebSocketServer({ server, path: "/chathub" });

// The official JsonHubProtocol / MessagePackHubProtocol parse only what a client receives (they drop a
// StreamInvocation or CancelInvocation), so the hub reads client messages by the spec itself: JSON records ended
// by 0x1E, or VarInt-length-prefixed MessagePack arrays decoded with @msgpack/msgpack (the official protocol's
// own MessagePack library). Anything off-spec throws, in words.
function check(m) {
  if (typeof m.type !== "number") throw new Error(`a message without a numeric type: ${JSON.stringify(m)}`);
  if ((m.type === 1 || m.type === 4) && typeof m.target !== "string") throw new Error("an invocation without a target");
  if ((m.type === 1 || m.type === 4) && !Array.isArray(m.arguments)) throw new Error("an invocation without arguments");
  if ((m.type === 4 || m.type === 5) && typeof m.invocationId !== "string") throw new Error("no invocationId");
  if (m.type === 1 && m.invocationId !== undefined && typeof m.invocationId !== "string") throw new Error("a non-string invocationId");
  return m;
}
function parse(data, isBinary) {
  if (!isBinary) {
    const text = Buffer.from(data).toString("utf8");
    if (!text.endsWith(RS)) throw new Error("a JSON record does not end with 0x1E");
    return text.slice(0, -1).split(RS).map((r) => check(JSON.parse(r)));
  }
  const out = [];
  let at = 0;
  while (at < data.length) {
    let len = 0, shift = 0, b;
    do {
      b = data[at++];
      len |= (b & 0x7f) << shift;
      shift += 7;
    } while (b & 0x80);
    const a = msgpack.decode(data.subarray(at, at + len));
    at += len;
    if (!Array.isArray(a)) throw new Error("a MessagePack message that is not an array");
    const [type, , invocationId] = a;
    if (type === 1 || type === 4) out.push(check({ type, invocationId: invocationId ?? undefined, target: a[3], arguments: a[4] }));
    else if (type === 5) out.push(check({ type, invocationId }));
    else out.push(check({ type }));
  }
  return out;
}

wss.on("connection", (socket, request) => {
  record("connect", request.url, false);
  let protocol = null;
  let pinger = null;
  const send = (message) => {
    const data = protocol.writeMessage(message);
    const binary = typeof data !== "string";
    record("out", binary ? Buffer.from(data) : data, binary);
    socket.send(binary ? Buffer.from(data) : data);
  };
  const fail = (why) => {
    try {
      send({ type: signalr.MessageType.Close, error: `hub could not read the message: ${why}` });
    } catch (_) {}
    socket.close(4000, String(why).slice(0, 120));
  };
  socket.on("message", (data, isBinary) => {
    record("in", data, isBinary);
    if (protocol === null) {
      const text = Buffer.from(data).toString("utf8");
      if (!text.endsWith(RS)) return fail("the handshake does not end with 0x1E");
      const request = JSON.parse(text.slice(0, -1));
      if (request.protocol === "json") protocol = new signalr.JsonHubProtocol();
      else if (request.protocol === "messagepack") protocol = new MessagePackHubProtocol();
      else {
        const reply = JSON.stringify({ error: `Requested protocol '${request.protocol}' is not available.` }) + RS;
        record("out", reply, false);
        socket.send(reply);
        return socket.close(1000);
      }
      record("out", "{}" + RS, false);
      socket.send("{}" + RS);
      pinger = setInterval(() => send({ type: signalr.MessageType.Ping }), 1000);
      return;
    }
    let messages;
    try {
      messages = parse(data, isBinary);
    } catch (e) {
      return fail(e.message);
    }
    for (const m of messages) {
      const T = signalr.MessageType;
      if (m.type === T.Invocation) {
        if (m.target === "Echo") send({ type: T.Completion, invocationId: m.invocationId, result: m.arguments[0] });
        else if (m.target === "Notify") send({ type: T.Invocation, target: "notified", arguments: m.arguments });
        else if (m.target === "Fail") send({ type: T.Completion, invocationId: m.invocationId, error: "boom" });
        else if (m.invocationId) send({ type: T.Completion, invocationId: m.invocationId, error: `no method ${m.target}` });
      } else if (m.type === T.StreamInvocation) {
        const n = m.arguments[0];
        let i = 0;
        const next = () => {
          if (i < n) {
            send({ type: T.StreamItem, invocationId: m.invocationId, item: i++ });
            setTimeout(next, 20);
          } else send({ type: T.Completion, invocationId: m.invocationId });
        };
        next();
      } else if (m.type === T.Close) {
        socket.close(1000);
      }
    }
  });
  socket.on("close", () => clearInterval(pinger));
});
server.listen(0, "127.0.0.1", () => console.log(server.address().port));
