// An independent TLS client (node `ws` and `https`) for sockscope's mock server over wss: the certificate's
// SHA-256 as node sees it, a message and its reply, and a management API call over HTTPS. Prints one JSON line.
//
// Usage: node node_mock_tls.js WSS_URL (the certificate is self-signed: not verified, its fingerprint reported)
const WebSocket = require('ws');
const https = require('https');

const url = process.argv[2];
const out = {};
const ws = new WebSocket(url, { rejectUnauthorized: false });
ws.on('upgrade', (res) => { out.sha256 = res.socket.getPeerCertificate().fingerprint256; });
ws.on('open', () => ws.send('over tls'));
ws.on('error', (e) => { out.error = e.message; finish(); });
ws.on('message', (data) => {
  out.reply = data.toString();
  ws.close(1000);
  const api = url.replace('wss://', 'https://') + '/@connections/bm9ib2R5';
  https.get(api, { rejectUnauthorized: false }, (res) => {
    out.api = res.statusCode;
    res.resume();
    res.on('end', finish);
  }).on('error', (e) => { out.apiError = e.message; finish(); });
});
function finish() {
  console.log(JSON.stringify(out));
  process.exit(0);
}
setTimeout(finish, 5000);
