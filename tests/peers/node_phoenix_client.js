// The official phoenix.js client against a socket (argument 1: its port; argument 2: the vsn, 2.0.0 by
// default): joins room:lobby, pushes new_msg and waits for its reply and the broadcast, pushes ping, lets a
// heartbeat (every 300 ms) be answered, leaves, disconnects. Prints what it got; exits 0 when all came.
const { Socket } = require("phoenix");
const WebSocket = require("ws");

const vsn = process.argv[3] || "2.0.0";
const options = { transport: WebSocket, heartbeatIntervalMs: 300 };
if (vsn === "1.0.0") {
  options.encode = (msg, callback) => callback(JSON.stringify(msg));
  options.decode = (raw, callback) => callback(JSON.parse(raw));
  options.vsn = "1.0.0";
}
const socket = new Socket(`ws://127.0.0.1:${process.argv[2]}/socket`, options);
socket.connect();
const channel = socket.channel("room:lobby", { user: "official" });
const got = {};
const timeout = setTimeout(() => {
  console.log(JSON.stringify(got));
  process.exit(1);
}, 5000);
channel.on("new_msg", (payload) => (got.broadcast = payload.body));
channel
  .join()
  .receive("ok", () => {
    got.joined = true;
    channel.push("new_msg", { body: "hello" }).receive("ok", () => {
      got.pushed = true;
      channel.push("ping", { n: 1 }).receive("ok", (response) => {
        got.ping = response.n;
        setTimeout(() => {
          channel.leave().receive("ok", () => {
            got.left = true;
            socket.disconnect(() => {
              clearTimeout(timeout);
              console.log(JSON.stringify(got));
              process.exit(got.broadcast === "hello" && got.ping === 1 ? 0 : 1);
            });
          });
        }, 700);
      });
    });
  })
  .receive("error", (e) => {
    console.log(JSON.stringify({ error: e }));
    process.exit(1);
  });
