// Socket.IO server from the reference library: `socket.io` 4.x (Engine.IO 4, connect with EIO=4) or, with the
// argument "v2", `socket.io` 2.x installed as `socket.io-v2` (Engine.IO 3, EIO=3). Prints only its port.
// WebSocket transport only, pingInterval 1000 ms, pingTimeout 1500 ms, path /socket.io/ (env SIO_PATH changes it).
// Namespace "/": emits "welcome" {id} on connection; "echo" sends its args back (as the ack when one is asked,
// else as an "echo" event); "bin" emits "bin" ("file", <00 01 02 03 ff>) and acks <09 08 07>; "sum" acks a+b;
// "drop" closes the connection.
// Namespace "/admin": the token (v4: handshake auth {"token"}, v2: namespace query ?token=) must be "secret", else
// the connection is refused with "not authorized"; emits "hello-admin" "ok" on connection; "echo" as in "/".
const http = require("http");

const v2 = process.argv[2] === "v2";
const server = http.createServer();
// Both versions export a function (srv, opts) => Server.
const io = require(v2 ? "socket.io-v2" : "socket.io")(server, {
  path: process.env.SIO_PATH || "/socket.io/",
  transports: ["websocket"],
  pingInterval: 1000,
  pingTimeout: 1500,
  serveClient: false,
});

function echo(socket) {
  socket.on("echo", (...args) => {
    const ack = typeof args[args.length - 1] === "function" ? args.pop() : null;
    if (ack) ack(...args);
    else socket.emit("echo", ...args);
  });
}

io.of("/").on("connection", (socket) => {
  socket.emit("welcome", { id: socket.id });
  echo(socket);
  socket.on("bin", (...args) => {
    const ack = typeof args[args.length - 1] === "function" ? args.pop() : null;
    socket.emit("bin", "file", Buffer.from([0, 1, 2, 3, 255]));
    if (ack) ack(Buffer.from([9, 8, 7]));
  });
  socket.on("sum", (a, b, ack) => {
    if (typeof ack === "function") ack(a + b);
  });
  // Closes the whole Engine.IO connection (the WebSocket), as a server that restarts would.
  socket.on("drop", () => socket.conn.close());
});

const admin = io.of("/admin");
admin.use((socket, next) => {
  const token = v2 ? socket.handshake.query.token : (socket.handshake.auth || {}).token;
  if (token === "secret") next();
  else next(new Error("not authorized"));
});
admin.on("connection", (socket) => {
  socket.emit("hello-admin", "ok");
  echo(socket);
});

server.listen(0, "127.0.0.1", () => console.log(server.address().port));
