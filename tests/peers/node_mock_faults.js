// An independent client (node `ws`) for sockscope's mock server faults: one case per run, printed as one JSON
// line — whether it opened, how long the upgrade took, the error ws reported, the close code and reason, the
// messages it received, and what the case measured (bytes backed up, pongs seen, time to a dripped message).
//
// Usage: node node_mock_faults.js URL CASE. Upgrade cases connect to URL?fault=CASE; the rest send
// {"action":CASE} once open.
const WebSocket = require('ws');

const [url, kind] = process.argv.slice(2);
const upgradeCases = ['refuse', 'accept', 'proto', 'slow'];
const target = upgradeCases.includes(kind) ? `${url}?fault=${kind}` : url;
const started = Date.now();
const result = { case: kind, opened: false, messages: [] };
let done = false;
function finish() {
  if (done) return;
  done = true;
  result.ms = Date.now() - started;
  console.log(JSON.stringify(result));
  process.exit(0);
}
setTimeout(finish, 6000);

const ws = new WebSocket(target);
ws.on('unexpected-response', (req, res) => {
  result.status = res.statusCode;
  let body = '';
  res.on('data', (d) => { body += d; });
  res.on('end', () => { result.body = body; finish(); });
});
ws.on('error', (e) => { result.error = e.message; });
ws.on('close', (code, reason) => {
  result.code = code;
  result.reason = reason.toString();
  setTimeout(finish, 50);
});
ws.on('message', (data, isBinary) => {
  result.messages.push(isBinary ? data.toString('hex') : data.toString());
  if (kind === 'drip' && result.dripMs === undefined) result.dripMs = Date.now() - result.sentAt;
  if (kind === 'stream' && result.messages.length === 5) ws.close(1000);
  if (kind === 'fragment' || kind === 'drip') ws.close(1000);
});
ws.on('ping', () => { result.pinged = true; });
ws.on('pong', () => { result.pongs = (result.pongs || 0) + 1; });
ws.on('open', () => {
  result.opened = true;
  result.upgradeMs = Date.now() - started;
  if (upgradeCases.includes(kind)) { ws.close(1000); return; }
  result.sentAt = Date.now();
  ws.send(JSON.stringify({ action: kind }));
  if (kind === 'stopread') {
    // Wait for the fault to take, then send more than the socket buffers hold.
    setTimeout(() => {
      const chunk = Buffer.alloc(1 << 20, 120);
      for (let i = 0; i < 32; i++) ws.send(chunk);
      setTimeout(() => { result.backedUp = ws.bufferedAmount; ws.terminate(); finish(); }, 1500);
    }, 300);
  }
  if (kind === 'deaf') {
    setTimeout(() => {
      ws.ping();
      setTimeout(() => { ws.ping(); }, 200);
      setTimeout(() => { ws.terminate(); finish(); }, 1200);
    }, 300);
  }
});
