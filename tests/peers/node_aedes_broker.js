// The aedes MQTT broker (MQTT 3.1.1) over WebSocket, on 127.0.0.1 with a free port, which it prints. A client
// that gives a user name must give guest / secret; otherwise CONNACK says "bad user name or password" (4).
const http = require("http");
const { WebSocketServer, createWebSocketStream } = require("ws");
const aedes = require("aedes")();

aedes.authenticate = (client, username, password, done) => {
  if (username === undefined || (username === "guest" && String(password) === "secret")) {
    return done(null, true);
  }
  const error = new Error("bad user name or password");
  error.returnCode = 4;
  done(error, null);
};

const server = http.createServer();
const wss = new WebSocketServer({
  server,
  handleProtocols: (protocols) => (protocols.has("mqtt") ? "mqtt" : false),
});
wss.on("connection", (socket) => {
  const stream = createWebSocketStream(socket);
  stream.on("error", () => {});
  aedes.handle(stream);
});
server.listen(0, "127.0.0.1", () => console.log(server.address().port));
