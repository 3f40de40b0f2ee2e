// Flood server on node `ws` (installed for the interop tests: npm ci --prefix tests/peers): prints its port, then
// sends each client COUNT text messages of SIZE bytes at its own pace (one ws.send each, as an application would),
// then closes with 1000. Usage: node benches/node_flood.js [COUNT] [SIZE]
const path = require("path");
const { WebSocketServer } = require(path.join(__dirname, "..", "tests", "peers", "node_modules", "ws"));

const count = Number(process.argv[2] || 200000);
const size = Number(process.argv[3] || 64);
const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
wss.on("listening", () => console.log(wss.address().port));
wss.on("connection", (ws) => {
  let n = 0;
  const pump = () => {
    // Send while the socket takes it; wait for the buffer to drain otherwise.
    while (n < count) {
      const head = String(n);
      ws.send(head + "x".repeat(Math.max(0, size - head.length)));
      n += 1;
      if (ws.bufferedAmount > 1 << 20) {
        setImmediate(pump);
        return;
      }
    }
    ws.close(1000, "flood done");
  };
  pump();
});
