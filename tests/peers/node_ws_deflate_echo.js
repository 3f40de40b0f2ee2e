// Echo server on node `ws` with permessage-deflate: prints its port, then echoes text as text, binary as binary,
// compressing every message (threshold 0). The one argument is a JSON object of ws's perMessageDeflate options
// (serverNoContextTakeover, clientNoContextTakeover, serverMaxWindowBits, clientMaxWindowBits).
// A text message "ping:DATA" makes the server send a ping with DATA first, then echo "ping:DATA".
// A text message "close:CODE:REASON" makes the server close with that code and reason.
const { WebSocketServer } = require("ws");

const options = JSON.parse(process.argv[2] || "{}");
const wss = new WebSocketServer({
  host: "127.0.0.1",
  port: 0,
  maxPayload: 256 * 1024 * 1024,
  perMessageDeflate: { threshold: 0, ...options },
});
wss.on("listening", () => console.log(wss.address().port));
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
        ws.ping(Buffer.from(text.slice("ping:".length)));
      }
    }
    ws.send(data, { binary: isBinary });
  });
});
