// Echo server on node `ws`: prints its port, then echoes text as text, binary as binary.
// A text message "close:CODE:REASON" makes the server close with that code and reason; "ping:DATA" makes it send a
// ping with DATA and, once the pong arrives, the text "pong:DATA".
// With arguments CERT KEY it serves wss:// with that certificate and selects the subprotocol "chat.v2" (or "chat.v1").
const fs = require("fs");
const https = require("https");
const { WebSocketServer } = require("ws");

const [cert, key] = process.argv.slice(2);
const options = { maxPayload: 256 * 1024 * 1024 };
let listening;
if (cert && key) {
  const server = https.createServer({ cert: fs.readFileSync(cert), key: fs.readFileSync(key) });
  options.server = server;
  options.handleProtocols = (offered) =>
    offered.has("chat.v2") ? "chat.v2" : offered.has("chat.v1") ? "chat.v1" : false;
  listening = (callback) => server.listen(0, "127.0.0.1", () => callback(server.address().port));
} else {
  options.host = "127.0.0.1";
  options.port = 0;
}
const wss = new WebSocketServer(options);
if (listening) {
  listening((port) => console.log(port));
} else {
  wss.on("listening", () => console.log(wss.address().port));
}
wss.on("connection", (ws) => {
  ws.on("message", (data, isBinary) => {
    if (!isBinary) {
      const text = data.toString();
      if (text.startsWith("close:")) {
        const [, code, reason] = text.split(/:(.*?):(.*)/s);
        ws.close(Number(code), reason);
        return;
      }
      if (text.startsWith("ping:")) {
        const payload = text.slice("ping:".length);
        ws.once("pong", (got) => ws.send("pong:" + got.toString()));
        ws.ping(Buffer.from(payload));
        return;
      }
    }
    ws.send(data, { binary: isBinary });
  });
});
