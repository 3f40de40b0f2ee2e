// Codec interop peer: MessagePack (msgpackr), CBOR (node-cbor, npm `cbor`) and Protobuf (protobufjs, loading the .proto files
// at run time) on a ws server that prints its port.
//
// Path /msgpack, /cbor or /protobuf. On connect the server sends its samples, each encoded by the library as a
// binary message (the test knows what each should decode to). Every binary message it receives is decoded by
// the library and answered with a text message: the decoded value as JSON in sockscope's forms (bytes as
// {"base64"}, integers beyond 2^53 as strings, CBOR tags as {"tag","value"}, MessagePack timestamps as ISO
// strings), or "error: …". With `?reply=binary` it answers in kind instead: the decoded value, marked as seen
// (MessagePack and CBOR: a "seen_by" key naming the library; Protobuf: the symbol prefixed "seen:"), encoded
// again by the library as a binary message.
//
// Usage: node node_codec_peer.js PROTO_DIR (feed.proto and its import common.proto).
const { WebSocketServer } = require('ws');
const path = require('path');
const msgpackr = require('msgpackr');
const cbor = require('cbor');
const protobuf = require('protobufjs');

const protoDir = process.argv[2] || path.join(__dirname, 'proto');
const root = new protobuf.Root();
root.resolvePath = (origin, target) => {
  if (target.startsWith('google/protobuf/')) return target; // protobufjs bundles the well-known types
  return path.isAbsolute(target) ? target : path.join(protoDir, target);
};
root.loadSync(path.join(protoDir, 'feed.proto'));
const Tick = root.lookupType('feed.Tick');
const TickV2 = root.lookupType('feed.TickV2');

const packr = new msgpackr.Packr({ useRecords: false, int64AsType: 'bigint', moreTypes: true });
const unpackr = new msgpackr.Unpackr({ useRecords: false, int64AsType: 'bigint', mapsAsObjects: true });

const SAFE = 2n ** 53n;

// An application's own MessagePack extension type (5), as msgpackr's addExtension defines one.
class Ext5 {
  constructor(data) { this.data = Buffer.from(data); }
}
msgpackr.addExtension({ Class: Ext5, type: 5, pack: (v) => v.data, unpack: (data) => new Ext5(data) });

// A decoded value in sockscope's JSON forms.
function forms(v) {
  if (typeof v === 'bigint') return (v > SAFE || v < -SAFE) ? v.toString() : Number(v);
  if (v instanceof Date) return v.toISOString();
  if (v instanceof Uint8Array) return { base64: Buffer.from(v).toString('base64') };
  if (v instanceof cbor.Tagged) return { tag: v.tag, value: forms(v.value) };
  if (v instanceof Ext5) return { ext: 5, base64: v.data.toString('base64') };
  if (Array.isArray(v)) return v.map(forms);
  if (v && typeof v === 'object') {
    const out = {};
    for (const [k, x] of Object.entries(v)) out[k] = forms(x);
    return out;
  }
  return v;
}

const samples = {
  msgpack: () => [
    packr.pack({ name: 'ACME', price: 1.5, sizes: [1, 2, 300], ok: true, none: null }),
    packr.pack({ big: 18446744073709551615n, small: -9007199254740993n, safe: 1099511627776 }),
    packr.pack({ raw: Buffer.from([0, 1, 254, 255]) }),
    packr.pack({ at: new Date(Date.UTC(2026, 11, 3, 10, 0, 0, 250)) }),
    packr.pack({ mine: new Ext5([1, 2, 3]) }),
  ],
  cbor: () => [
    cbor.encode({ name: 'ACME', price: 1.5, sizes: [1, 2, 300], ok: true, none: null }),
    cbor.encode({ big: 18446744073709551615n, neg: -18446744073709551616n }),
    cbor.encode({ raw: Buffer.from([0, 1, 254, 255]) }),
    cbor.encode(new cbor.Tagged(1, 1363896240)),
    cbor.encode(new cbor.Tagged(0, '2013-03-21T20:04:00Z')),
  ],
  protobuf: () => [
    Tick.encode(Tick.fromObject({
      symbol: 'ACME', price: '9007199254740993', sizes: [1, 2, 300],
      points: { a: { x: 1, y: -2 } }, ask: true,
      at: { seconds: 1796292000, nanos: 0 }, raw: Buffer.from([0, 255]),
    })).finish(),
    // A newer sender: fields 9 and 10 are unknown to a Tick reader.
    TickV2.encode(TickV2.fromObject({ symbol: 'NEW', venue: 7, note: 'hi' })).finish(),
  ],
};

function reencode(kind, data) {
  if (kind === 'msgpack') {
    const v = unpackr.unpack(data);
    v.seen_by = 'msgpackr';
    return packr.pack(v);
  }
  if (kind === 'cbor') {
    const v = cbor.decodeFirstSync(data);
    v.seen_by = 'node-cbor';
    return cbor.encode(v);
  }
  const msg = Tick.decode(data);
  msg.symbol = 'seen:' + msg.symbol;
  return Tick.encode(msg).finish();
}

function decode(kind, data) {
  if (kind === 'msgpack') return forms(unpackr.unpack(data));
  if (kind === 'cbor') return forms(cbor.decodeFirstSync(data));
  const msg = Tick.decode(data);
  return Tick.toObject(msg, { longs: String, bytes: String, defaults: false, oneofs: false });
}

const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 }, () => {
  console.log(wss.address().port);
});
wss.on('connection', (ws, req) => {
  const [route, query] = (req.url || '/').split('?');
  const kind = route.slice(1);
  const binaryReplies = new URLSearchParams(query || '').get('reply') === 'binary';
  if (!samples[kind]) {
    ws.close(4000, 'use /msgpack, /cbor or /protobuf');
    return;
  }
  for (const bytes of samples[kind]()) ws.send(bytes, { binary: true });
  ws.on('message', (data, isBinary) => {
    if (!isBinary) return;
    if (binaryReplies) {
      try {
        ws.send(reencode(kind, data), { binary: true });
      } catch (e) {
        ws.send('error: ' + e.message);
      }
      return;
    }
    let answer;
    try {
      answer = JSON.stringify(decode(kind, data));
    } catch (e) {
      answer = 'error: ' + e.message;
    }
    ws.send(answer);
  });
});
