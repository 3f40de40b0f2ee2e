//! What permessage-deflate costs the reader: the engine ingests 200,000 compressible JSON messages of 1 KiB from a
//! server that agreed permessage-deflate (default parameters, context kept), against the same messages sent
//! uncompressed by a server that agreed nothing.
//!
//! The server is a thread writing pre-built bytes (the 101, then every frame, then a close), so that the time
//! measured is the client's: the engine reads, inflates (or not), dates, bursts and hands each message to a
//! consumer that takes it uncopied (as the command line prints them). The frames were compressed beforehand with
//! zlib-rs at the default level, as a zlib server would. Run: `cargo bench --bench deflate_ingest`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sockscope::engine::events::Item;
use sockscope::engine::{EventKind, Overflow, events, spawn_connection};
use sockscope::model::ConnectRequest;
use sockscope::model::deflate::{Compressor, Negotiated};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;

const COUNT: u64 = 200_000;
const SIZE: usize = 1024;

/// A JSON message of exactly `SIZE` bytes, different for every `n`, compressible as market data is.
fn message(n: u64) -> Vec<u8> {
    let mut m = format!(
        "{{\"seq\":{n},\"symbol\":\"SYM{}\",\"side\":\"{}\",\"price\":{}.{:02},\"qty\":{},\"levels\":[",
        n % 50,
        if n.is_multiple_of(2) { "buy" } else { "sell" },
        100 + n % 37,
        n % 100,
        1 + n % 900
    );
    let mut i = 0;
    while m.len() < SIZE - 80 {
        m.push_str(&format!(
            "{{\"p\":{}.{},\"q\":{}}},",
            100 + (n + i) % 13,
            i % 10,
            (n * 7 + i) % 500
        ));
        i += 1;
    }
    m.push_str("{\"p\":0,\"q\":0}],\"pad\":\"");
    while m.len() < SIZE - 2 {
        m.push('x');
    }
    m.push_str("\"}");
    assert_eq!(m.len(), SIZE);
    m.into_bytes()
}

fn header(first: u8, len: usize, out: &mut Vec<u8>) {
    out.push(first);
    match len {
        0..=125 => out.push(len as u8),
        126..=0xffff => {
            out.push(126);
            out.extend((len as u16).to_be_bytes());
        }
        _ => {
            out.push(127);
            out.extend((len as u64).to_be_bytes());
        }
    }
}

/// Every frame of the flood, compressed or not, then a close 1000; and the payload bytes on the wire.
fn flood(compressed: bool) -> (Vec<u8>, usize) {
    let mut compressor = Compressor::new(&Negotiated::default_parameters());
    let (mut out, mut wire) = (Vec::new(), 0);
    for n in 0..COUNT {
        let m = message(n);
        if compressed {
            let data = compressor.compress(&m);
            header(0xC1, data.len(), &mut out);
            wire += data.len();
            out.extend(data);
        } else {
            header(0x81, m.len(), &mut out);
            wire += m.len();
            out.extend(m);
        }
    }
    out.extend([0x88, 0x02, 0x03, 0xe8]);
    (out, wire)
}

/// A server that answers every upgrade with a 101 (agreeing to deflate when `compressed`), writes `frames`, and
/// waits for the client to hang up.
fn serve(frames: Arc<Vec<u8>>, compressed: bool) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let frames = frames.clone();
            std::thread::spawn(move || {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    if stream.read(&mut byte).unwrap_or(0) == 0 {
                        return;
                    }
                    head.push(byte[0]);
                }
                let head = String::from_utf8_lossy(&head);
                let key = head
                    .lines()
                    .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
                    .unwrap_or_default()
                    .trim()
                    .to_owned();
                let accept =
                    tokio_tungstenite::tungstenite::handshake::derive_accept_key(key.as_bytes());
                let extensions = if compressed {
                    "Sec-WebSocket-Extensions: permessage-deflate\r\n"
                } else {
                    ""
                };
                let reply = format!(
                    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                     Sec-WebSocket-Accept: {accept}\r\n{extensions}\r\n"
                );
                let _ = stream.write_all(reply.as_bytes());
                let _ = stream.write_all(&frames);
                // The client's reply to our close (the only thing it sends), then the TCP connection ends here.
                let mut reply = [0u8; 64];
                let _ = stream.read(&mut reply);
            });
        }
    });
    addr
}

async fn ingest(url: &str) -> u64 {
    let (sink, mut events) = events::channel(64 << 20, Overflow::Wait, None);
    let (_handle, task) = spawn_connection(ConnectRequest::new(url), sink);
    let mut n = 0;
    while let Some(item) = events.recv_item().await {
        match item {
            Item::Data(_, m) => {
                debug_assert_eq!(m.payload.len(), SIZE);
                n += 1;
            }
            Item::Event(e) if matches!(e.kind, EventKind::Closed(_)) => break,
            Item::Event(_) => {}
        }
    }
    let _ = task.await;
    n
}

fn deflate_ingest(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let (plain, plain_wire) = flood(false);
    let (compressed, compressed_wire) = flood(true);
    println!(
        "deflate_ingest: {COUNT} messages of {SIZE} B: {plain_wire} payload bytes plain, {compressed_wire} compressed ({:.1} % on the wire)",
        compressed_wire as f64 * 100.0 / plain_wire as f64
    );
    let plain_url = format!("ws://{}/", serve(Arc::new(plain), false));
    let compressed_url = format!("ws://{}/", serve(Arc::new(compressed), true));
    let mut group = c.benchmark_group("ingest_200k_x_1KiB_json");
    group.throughput(Throughput::Elements(COUNT));
    group.sample_size(10);
    group.bench_function("uncompressed", |b| {
        b.iter(|| assert_eq!(runtime.block_on(ingest(&plain_url)), COUNT))
    });
    group.bench_function("permessage_deflate", |b| {
        b.iter(|| assert_eq!(runtime.block_on(ingest(&compressed_url)), COUNT))
    });
    group.finish();
}

criterion_group!(benches, deflate_ingest);
criterion_main!(benches);
