// The official @rails/actioncable consumer against a server (argument 1: its port): subscribes to ChatChannel
// room 1, performs "speak" and waits for the broadcast, unsubscribes, disconnects. Prints what it got; exits 0
// when it all came. (@rails/actioncable is a browser library: ws and a document with visibilityState stand in.)
global.document = { visibilityState: "visible", addEventListener() {}, removeEventListener() {} };
global.addEventListener = () => {};
global.removeEventListener = () => {};
const ActionCable = require("@rails/actioncable");
ActionCable.adapters.WebSocket = require("ws");

const consumer = ActionCable.createConsumer(`ws://127.0.0.1:${process.argv[2]}/cable`);
const got = {};
const timeout = setTimeout(() => {
  console.log(JSON.stringify(got));
  process.exit(1);
}, 5000);
const subscription = consumer.subscriptions.create(
  { channel: "ChatChannel", room: "1" },
  {
    connected() {
      got.confirmed = true;
      this.perform("speak", { message: "hello" });
    },
    received(data) {
      got.received = data.message;
      subscription.unsubscribe();
      setTimeout(() => {
        consumer.disconnect();
        clearTimeout(timeout);
        console.log(JSON.stringify(got));
        process.exit(got.received === "hello" ? 0 : 1);
      }, 200);
    },
  },
);
