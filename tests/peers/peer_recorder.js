// Shared by the protocol peers: writes every WebSocket message a peer receives or sends, in order, to the
// JSON-lines file named by the peer's second argument ({"dir":"in"|"out","text":…} or {"dir":…,"base64":…}), so
// a test can feed what an official client sent to sockscope's decoder.
const fs = require("fs");

module.exports = function recorder(path) {
  return (dir, data, isBinary) => {
    if (!path) return;
    const line = isBinary
      ? { dir, base64: Buffer.from(data).toString("base64") }
      : { dir, text: Buffer.from(data).toString("utf8") };
    fs.appendFileSync(path, JSON.stringify(line) + "\n");
  };
};
