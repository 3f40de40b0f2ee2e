// Echo server on node `ws`: prints its port, then echoes text as text, binary as binary.
// A text message "close:CODE:REASON" makes the server close with that code and reason.
const { WebSocketServer } = require("ws");

const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
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
    }
    ws.send(data, { binary: isBinary });
  });
});
