// A Phoenix Channels socket on ws://127.0.0.1:PORT/socket/websocket (the port is printed), answering as
// Phoenix does for the serializer the URL's vsn= names (2.0.0 arrays, 1.0.0 objects): phx_join of "room:*"
// replies ok (a join payload {"token":"bad"} is refused with {"reason":"unauthorized"}); on a joined topic,
// "new_msg" is broadcast to every member and replied ok, "ping" is replied ok with its payload; phx_leave replies
// ok then phx_close; the "phoenix" heartbeat is replied ok. A message that is not the serializer's shape closes
// the connection with 4000. Argument 2, if given, is a file where every message is recorded (peer_recorder.js).
const http = require("http");
const { WebSocketServer } = require("ws");
const record = require("./peer_recorder")(process.argv[2]);

const members = new Map(); // topic -> Set of { socket, joinRef, vsn }
const server = http.createServer();
const wss = new WebSocketServer({ server, path: "/socket/websocket" });

function encode(vsn, m) {
  return vsn === "1.0.0"
    ? JSON.stringify({ topic: m.topic, event: m.event, payload: m.payload, ref: m.ref, join_ref: m.join_ref })
    : JSON.stringify([m.join_ref, m.ref, m.topic, m.event, m.payload]);
}

function decode(vsn, text) {
  const v = JSON.parse(text);
  if (vsn === "1.0.0") {
    if (Array.isArray(v) || typeof v.topic !== "string" || typeof v.event !== "string") throw new Error("not a v1 message");
    return { join_ref: v.join_ref ?? null, ref: v.ref ?? null, topic: v.topic, event: v.event, payload: v.payload };
  }
  if (!Array.isArray(v) || v.length !== 5 || typeof v[2] !== "string" || typeof v[3] !== "string") throw new Error("not a v2 message");
  if (v[1] !== null && typeof v[1] !== "string") throw new Error("a ref that is not a string");
  return { join_ref: v[0], ref: v[1], topic: v[2], event: v[3], payload: v[4] };
}

wss.on("connection", (socket, request) => {
  const vsn = new URL(request.url, "http://x").searchParams.get("vsn") || "1.0.0";
  const joined = new Map(); // topic -> joinRef
  const send = (m) => {
    const text = encode(vsn, m);
    record("out", text, false);
    socket.send(text);
  };
  const reply = (m, status, response) =>
    send({ join_ref: m.join_ref, ref: m.ref, topic: m.topic, event: "phx_reply", payload: { status, response } });
  socket.on("message", (data, isBinary) => {
    record("in", data, isBinary);
    let m;
    try {
      m = decode(vsn, Buffer.from(data).toString("utf8"));
    } catch (e) {
      return socket.close(4000, e.message);
    }
    if (m.topic === "phoenix" && m.event === "heartbeat") return reply(m, "ok", {});
    if (m.event === "phx_join") {
      if (!m.topic.startsWith("room:")) return reply(m, "error", { reason: "unmatched topic" });
      if (m.payload && m.payload.token === "bad") return reply(m, "error", { reason: "unauthorized" });
      joined.set(m.topic, m.join_ref);
      if (!members.has(m.topic)) members.set(m.topic, new Set());
      members.get(m.topic).add({ socket, send, joinRef: m.join_ref });
      return reply(m, "ok", {});
    }
    if (!joined.has(m.topic)) {
      return send({ join_ref: m.join_ref, ref: m.ref, topic: m.topic, event: "phx_reply", payload: { status: "error", response: { reason: "unmatched topic" } } });
    }
    if (m.join_ref !== joined.get(m.topic)) return socket.close(4000, `stale join_ref ${m.join_ref}`);
    if (m.event === "phx_leave") {
      reply(m, "ok", {});
      joined.delete(m.topic);
      for (const member of members.get(m.topic) || []) if (member.socket === socket) members.get(m.topic).delete(member);
      return send({ join_ref: m.join_ref, ref: m.join_ref, topic: m.topic, event: "phx_close", payload: {} });
    }
    if (m.event === "new_msg") {
      for (const member of members.get(m.topic) || []) {
        member.send({ join_ref: member.joinRef, ref: null, topic: m.topic, event: "new_msg", payload: m.payload });
      }
      return reply(m, "ok", {});
    }
    if (m.event === "ping") return reply(m, "ok", m.payload);
    reply(m, "error", { reason: `no handler for ${m.event}` });
  });
  socket.on("close", () => {
    for (const set of members.values()) for (const member of set) if (member.socket === socket) set.delete(member);
  });
});
server.listen(0, "127.0.0.1", () => console.log(server.address().port));
