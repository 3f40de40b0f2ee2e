// The official @microsoft/signalr client against a hub (argument 1: its port; argument 2: "messagepack" for
// that hub protocol, else "json"; argument 3: "negotiate" to POST /negotiate first): invokes Echo, streams Counter(3), sends Notify and waits for the hub's "notified", then
// stops. Prints one JSON line of what it got and exits 0 when everything arrived as the client expects.
const signalr = require("@microsoft/signalr");
const { MessagePackHubProtocol } = require("@microsoft/signalr-protocol-msgpack");

async function main() {
  let builder = new signalr.HubConnectionBuilder()
    .withUrl(`http://127.0.0.1:${process.argv[2]}/chathub`, {
      // With "negotiate" as argument 3, the client POSTs /negotiate first, as it does by default.
      skipNegotiation: process.argv[4] !== "negotiate",
      transport: signalr.HttpTransportType.WebSockets,
    })
    .configureLogging(signalr.LogLevel.None);
  if (process.argv[3] === "messagepack") builder = builder.withHubProtocol(new MessagePackHubProtocol());
  const connection = builder.build();
  const notified = new Promise((resolve) => connection.on("notified", resolve));
  await connection.start();
  const echo = await connection.invoke("Echo", "hi");
  const items = await new Promise((resolve, reject) => {
    const got = [];
    connection.stream("Counter", 3).subscribe({
      next: (i) => got.push(i),
      complete: () => resolve(got),
      error: reject,
    });
  });
  await connection.send("Notify", "ping");
  const note = await notified;
  await connection.stop();
  console.log(JSON.stringify({ echo, items, note }));
  process.exit(echo === "hi" && items.join() === "0,1,2" && note === "ping" ? 0 : 1);
}
main().catch((e) => {
  console.error(e);
  process.exit(2);
});
