// The stomp-broker-js STOMP 1.1 broker on ws://127.0.0.1:PORT/stomp, with a free port, which it prints.
const http = require("http");
const StompServer = require("stomp-broker-js");

const server = http.createServer();
new StompServer({ server, path: "/stomp" });
server.listen(0, "127.0.0.1", () => console.log(server.address().port));
