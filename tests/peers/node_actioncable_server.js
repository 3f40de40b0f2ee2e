// An Action Cable server on ws://127.0.0.1:PORT/cable (the port is printed), answering as Rails does: it
// selects the subprotocol actioncable-v1-json, sends {"type":"welcome"}, pings every 3 s, confirms subscriptions
// to ChatChannel (rejects any other channel), and for a "message" command whose identifier is, byte for byte,
// one it confirmed, runs the action: "speak" broadcasts {"message":…,"from":…} to the channel's subscribers;
// an identifier it does not know gets nothing (Rails logs "Unable to find subscription"), and is recorded. A
// URL with ?reject=1 gets {"type":"disconnect","reason":"unauthorized","reconnect":false} and a close. Argument
// 2, if given, is a file where every message is recorded (peer_recorder.js).
const http = require("http");
const { WebSocketServer } = require("ws");
const record = require("./peer_recorder")(process.argv[2]);

const server = http.createServer();
const wss = new WebSocketServer({
  server,
  path: "/cable",
  handleProtocols: (protocols) => (protocols.has("actioncable-v1-json") ? "actioncable-v1-json" : false),
});
const subscribers = new Map(); // identifier string -> Set of send functions

wss.on("connection", (socket, request) => {
  const send = (m) => {
    const text = JSON.stringify(m);
    record("out", text, false);
    socket.send(text);
  };
  if (new URL(request.url, "http://x").searchParams.get("reject") === "1") {
    send({ type: "disconnect", reason: "unauthorized", reconnect: false });
    return socket.close(1000);
  }
  send({ type: "welcome" });
  const pinger = setInterval(() => send({ type: "ping", message: Math.floor(Date.now() / 1000) }), 3000);
  const mine = new Set();
  socket.on("message", (data) => {
    record("in", data, false);
    let c;
    try {
      c = JSON.parse(Buffer.from(data).toString("utf8"));
    } catch (e) {
      return socket.close(4000, "not JSON");
    }
    if (typeof c.identifier !== "string") return socket.close(4000, "the identifier must be a string");
    if (c.command === "subscribe") {
      const id = JSON.parse(c.identifier);
      if (id.channel !== "ChatChannel") return send({ identifier: c.identifier, type: "reject_subscription" });
      if (!subscribers.has(c.identifier)) subscribers.set(c.identifier, new Set());
      subscribers.get(c.identifier).add(send);
      mine.add(c.identifier);
      return send({ identifier: c.identifier, type: "confirm_subscription" });
    }
    if (c.command === "unsubscribe") {
      mine.delete(c.identifier);
      if (subscribers.has(c.identifier)) subscribers.get(c.identifier).delete(send);
      return;
    }
    if (c.command === "message") {
      if (!mine.has(c.identifier)) {
        record("error", `Unable to find subscription with identifier: ${c.identifier}`, false);
        return;
      }
      const d = JSON.parse(c.data);
      if (d.action === "speak") {
        for (const s of subscribers.get(c.identifier) || []) s({ identifier: c.identifier, message: { message: d.message, from: "server" } });
      }
    }
  });
  socket.on("close", () => {
    clearInterval(pinger);
    for (const id of mine) if (subscribers.has(id)) subscribers.get(id).delete(send);
  });
});
server.listen(0, "127.0.0.1", () => console.log(server.address().port));
