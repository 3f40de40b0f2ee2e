// A small MQTT 5 broker built on mqtt-packet (MQTT.js's own codec), so an encoder and decoder nobody at sockscope
// wrote reads every packet sockscope sends and writes every packet it reads. On 127.0.0.1 with a free port, which
// it prints. It answers as MQTT 5 says: CONNACK (a user name needs guest / secret, else reason 0x86 with a reason
// string), SUBACK with the QoS asked, PUBLISH routed to every matching subscription (at the lower QoS, properties
// kept) with PUBACK or PUBREC / PUBCOMP, UNSUBACK, PINGRESP, and the keep-alive enforced (1.5 x). A packet
// mqtt-packet cannot read closes the connection with code 4000 and the parser's words as the reason.
const http = require("http");
const { WebSocketServer } = require("ws");
const mqtt = require("mqtt-packet");

const opts = { protocolVersion: 5 };
const clients = new Set();

function matches(filter, topic) {
  const f = filter.split("/");
  const t = topic.split("/");
  for (let i = 0; i < f.length; i++) {
    if (f[i] === "#") return true;
    if (i >= t.length) return false;
    if (f[i] !== "+" && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

const server = http.createServer();
const wss = new WebSocketServer({
  server,
  handleProtocols: (protocols) => (protocols.has("mqtt") ? "mqtt" : false),
});
wss.on("connection", (socket) => {
  const client = { socket, subs: new Map(), nextId: 1, timer: null, keepAlive: 0 };
  clients.add(client);
  const send = (packet) => socket.send(mqtt.generate(packet, opts));
  const parser = mqtt.parser(opts);
  const alive = () => {
    clearTimeout(client.timer);
    if (client.keepAlive > 0) {
      client.timer = setTimeout(() => socket.close(4001, "keep alive timeout"), client.keepAlive * 1500);
    }
  };
  parser.on("error", (err) => socket.close(4000, String(err.message).slice(0, 120)));
  parser.on("packet", (p) => {
    alive();
    switch (p.cmd) {
      case "connect":
        if (p.protocolVersion !== 5) return socket.close(4000, "not MQTT 5");
        if (p.username !== undefined && !(p.username === "guest" && String(p.password) === "secret")) {
          send({ cmd: "connack", reasonCode: 0x86, sessionPresent: false,
            properties: { reasonString: "guest / secret only" } });
          return socket.close(1000);
        }
        client.keepAlive = p.keepalive;
        alive();
        send({ cmd: "connack", reasonCode: 0, sessionPresent: false,
          properties: { assignedClientIdentifier: p.clientId || "assigned", topicAliasMaximum: 0 } });
        break;
      case "subscribe":
        for (const s of p.subscriptions) client.subs.set(s.topic, s.qos);
        send({ cmd: "suback", messageId: p.messageId, granted: p.subscriptions.map((s) => s.qos) });
        break;
      case "unsubscribe":
        send({ cmd: "unsuback", messageId: p.messageId,
          granted: p.unsubscriptions.map((t) => (client.subs.delete(t) ? 0 : 0x11)) });
        break;
      case "publish":
        for (const c of clients) {
          for (const [filter, qos] of c.subs) {
            if (!matches(filter, p.topic)) continue;
            const q = Math.min(qos, p.qos);
            const out = { cmd: "publish", topic: p.topic, payload: p.payload, qos: q, retain: false,
              dup: false, properties: p.properties || {} };
            if (q > 0) out.messageId = c.nextId++;
            c.socket.send(mqtt.generate(out, opts));
            break;
          }
        }
        if (p.qos === 1) send({ cmd: "puback", messageId: p.messageId, reasonCode: 0 });
        if (p.qos === 2) send({ cmd: "pubrec", messageId: p.messageId, reasonCode: 0 });
        break;
      case "pubrel":
        send({ cmd: "pubcomp", messageId: p.messageId, reasonCode: 0 });
        break;
      case "pubrec":
        send({ cmd: "pubrel", messageId: p.messageId, reasonCode: 0 });
        break;
      case "puback":
      case "pubcomp":
        break;
      case "pingreq":
        send({ cmd: "pingresp" });
        break;
      case "disconnect":
        socket.close(1000);
        break;
      default:
        socket.close(4000, `unexpected ${p.cmd}`);
    }
  });
  socket.on("message", (data) => parser.parse(Buffer.from(data)));
  socket.on("close", () => {
    clearTimeout(client.timer);
    clients.delete(client);
  });
});
server.listen(0, "127.0.0.1", () => console.log(server.address().port));
