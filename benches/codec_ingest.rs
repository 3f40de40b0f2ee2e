//! Ingest with a codec on: 200,000 MessagePack messages of 200 bytes, flooded over loopback into the headless
//! GUI, which drains the engine's events and draws frames back to back (as the window does, without waiting for
//! vsync) until the log holds them all. Measured with the tab's codec off and on (MessagePack): the log's
//! preview column decodes only the rows a frame draws, within a budget, so the codec must not slow the ingest
//! (issue 20: within 1.3x). Also printed: how many messages were decoded for the preview. Run:
//! `cargo bench --bench codec_ingest`.

use futures_util::SinkExt;
use sockscope::app::AppState;
use sockscope::model::codec::CodecKind;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

const SIZE: usize = 200;

/// A MessagePack map of exactly `SIZE` bytes (a trade tick with a padded note).
fn tick(n: u64) -> Vec<u8> {
    let encode = |note: &str| {
        sockscope::model::codec::msgpack::encode(&serde_json::json!({
            "seq": n, "sym": "BTC-USD", "px": 97_000.5 + (n % 100) as f64, "qty": n % 7, "note": note,
        }))
        .expect("encodes")
    };
    let base = encode("").len();
    // The note's header grows from 1 to 2 bytes past 31 characters.
    let bytes = encode(&"x".repeat(SIZE - base - 1));
    assert_eq!(bytes.len(), SIZE);
    bytes
}

/// A server that floods every client with `count` ticks, then waits for its close.
fn serve(count: u64) -> SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            tx.send(listener.local_addr().expect("addr"))
                .expect("send addr");
            let messages: Vec<Vec<u8>> = (0..count).map(tick).collect();
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let messages = messages.clone();
                tokio::spawn(async move {
                    let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else {
                        return;
                    };
                    for m in messages {
                        if ws.feed(Message::Binary(m.into())).await.is_err() {
                            return;
                        }
                    }
                    let _ = ws.flush().await;
                    use futures_util::StreamExt;
                    while let Some(Ok(_)) = ws.next().await {}
                });
            }
        });
    });
    rx.recv().expect("server address")
}

fn frame(ctx: &egui::Context, state: &mut AppState) {
    let input = egui::RawInput {
        screen_rect: Some(egui::Rect::from_min_size(
            egui::Pos2::ZERO,
            egui::vec2(1280.0, 800.0),
        )),
        ..Default::default()
    };
    let mut output = ctx.run_ui(input, |ui| state.ui(ui));
    let shapes = std::mem::take(&mut output.shapes);
    let pixels_per_point = output.pixels_per_point;
    output.drop_without_applying_deltas();
    ctx.tessellate(shapes, pixels_per_point);
}

/// Seconds from connect until the log holds `count` received messages, frames drawn, and the preview decodes.
fn ingest(addr: SocketAddr, count: u64, codec: CodecKind) -> (Duration, u64, u64) {
    let mut state =
        sockscope::app::headless_state(Some(format!("ws://{addr}/"))).expect("engine starts");
    state.tab_mut().session.endpoint.codec.kind = codec;
    state.tab_mut().log.set_limits(sockscope::app::LogLimits {
        max_entries: 1_000_000,
        max_mib: 1024,
    });
    let ctx = egui::Context::default();
    let started = Instant::now();
    let mut frames = 0;
    loop {
        state.drain_events();
        frame(&ctx, &mut state);
        frames += 1;
        if state.tab().log.len() as u64 >= count {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "the flood did not arrive"
        );
    }
    let elapsed = started.elapsed();
    let decoded = state.tab().caches.rows.decoded;
    (elapsed, frames, decoded)
}

fn main() {
    // `cargo test --all-targets` runs benches once in test mode: a short flood keeps that quick.
    let quick = std::env::args().any(|a| a == "--test") || std::env::var_os("CI").is_some();
    let count: u64 = if quick { 2_000 } else { 200_000 };
    let rounds = if quick { 1 } else { 7 };
    let addr = serve(count);
    println!(
        "codec_ingest: {count} MessagePack messages x {SIZE} bytes, loopback, 1280x800 frames"
    );
    let mut off = Vec::new();
    let mut on = Vec::new();
    // One round of each first, not counted: the first connections pay for warming up.
    if !quick {
        for codec in [CodecKind::None, CodecKind::MessagePack] {
            ingest(addr, count, codec);
        }
    }
    for round in 1..=rounds {
        for codec in [CodecKind::None, CodecKind::MessagePack] {
            let (elapsed, frames, decoded) = ingest(addr, count, codec);
            println!(
                "  round {round} codec {:<11} {:>7.3} s  {:>8.0} msg/s  {frames:>5} frames  {decoded:>6} decoded for the preview",
                codec.label(),
                elapsed.as_secs_f64(),
                count as f64 / elapsed.as_secs_f64(),
            );
            if codec == CodecKind::None {
                off.push(elapsed.as_secs_f64());
            } else {
                on.push(elapsed.as_secs_f64());
            }
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (off, on) = (median(&mut off), median(&mut on));
    println!(
        "  median: off {off:.3} s, MessagePack {on:.3} s: {:.2}x (issue 20 asks for at most 1.3x)",
        on / off
    );
}
