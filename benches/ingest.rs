//! Per-message cost of the engine against a bare tokio-tungstenite read loop, on the same loopback flood.
//!
//! The clients read 20,000 text messages of 64 bytes from `EchoServer` in flood mode and count them. The bare
//! loop does nothing else; the engine also dates each message, gathers bursts and passes them through the
//! budgeted event channel to a consumer. `sockscope_engine` takes each as a log entry (a copied payload, as the GUI
//! stores it); `sockscope_engine_uncopied` takes them straight from the read buffer, as the command line prints
//! them. The ratio to the bare loop is the price of logging. Run: `cargo bench --bench ingest`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use futures_util::StreamExt;
use sockscope::engine::echo::EchoServer;
use sockscope::engine::events::Item;
use sockscope::engine::{EventKind, Overflow, events, spawn_connection};
use sockscope::model::{ConnectRequest, Direction};
use std::net::SocketAddr;
use tokio_tungstenite::tungstenite::Message;

const COUNT: u64 = 20_000;
const SIZE: usize = 64;

async fn bare(addr: SocketAddr) -> u64 {
    let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    let (mut ws, _) = tokio_tungstenite::client_async(format!("ws://{addr}/"), stream)
        .await
        .expect("handshake");
    let mut n = 0;
    while let Some(message) = ws.next().await {
        match message {
            Ok(Message::Text(_) | Message::Binary(_)) => n += 1,
            Ok(_) => {}
            Err(_) => break,
        }
    }
    n
}

async fn engine(url: &str) -> u64 {
    let (sink, mut events) = events::channel(64 << 20, Overflow::Wait, None);
    let (_handle, task) = spawn_connection(ConnectRequest::new(url), sink);
    let mut n = 0;
    while let Some(event) = events.recv().await {
        match event.kind {
            EventKind::Message(m) if m.direction == Direction::Received && m.kind.is_data() => {
                n += 1;
            }
            EventKind::Closed(_) => break,
            _ => {}
        }
    }
    let _ = task.await;
    n
}

async fn engine_uncopied(url: &str) -> u64 {
    let (sink, mut events) = events::channel(64 << 20, Overflow::Wait, None);
    let (_handle, task) = spawn_connection(ConnectRequest::new(url), sink);
    let mut n = 0;
    while let Some(item) = events.recv_item().await {
        match item {
            Item::Data(..) => n += 1,
            Item::Event(e) if matches!(e.kind, EventKind::Closed(_)) => break,
            Item::Event(_) => {}
        }
    }
    let _ = task.await;
    n
}

fn ingest(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let server = runtime
        .block_on(EchoServer::flood(COUNT, SIZE))
        .expect("flood server");
    let (addr, url) = (server.local_addr, server.url());
    let mut group = c.benchmark_group("ingest_20k_x_64B");
    group.throughput(Throughput::Elements(COUNT));
    group.sample_size(20);
    group.bench_function("bare_tokio_tungstenite", |b| {
        b.iter(|| assert_eq!(runtime.block_on(bare(addr)), COUNT))
    });
    group.bench_function("sockscope_engine_uncopied", |b| {
        b.iter(|| assert_eq!(runtime.block_on(engine_uncopied(&url)), COUNT))
    });
    group.bench_function("sockscope_engine", |b| {
        b.iter(|| assert_eq!(runtime.block_on(engine(&url)), COUNT))
    });
    group.finish();
}

criterion_group!(benches, ingest);
criterion_main!(benches);
