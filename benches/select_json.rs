//! GUI frame time with a 32 MiB JSON message selected, headless (one egui pass of the whole window plus
//! tessellation, as in `log_frame.rs`). The first frame after the selection parses the payload; the frames
//! measured here come after it and only draw (issue 12: under 8 ms). Also measured: the same with the JSON shown
//! as pretty text, and as a hex dump. Run: `cargo bench --bench select_json`.

use criterion::{Criterion, criterion_group, criterion_main};
use sockscope::app::{Action, AppState, PayloadView};
use sockscope::model::{Direction, LogEntry, MessageKind};
use std::hint::black_box;
use std::time::{Duration, Instant, SystemTime};

const PAYLOAD_BYTES: usize = 32 << 20;

/// About 32 MiB of JSON: an array of small objects.
fn big_json() -> Vec<u8> {
    let mut out = Vec::with_capacity(PAYLOAD_BYTES + 256);
    out.push(b'[');
    let mut i = 0u64;
    while out.len() < PAYLOAD_BYTES {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(
            format!(r#"{{"id":{i},"name":"item number {i}","price":{}.25,"tags":["red","green"],"ok":true}}"#, i % 997)
                .as_bytes(),
        );
        i += 1;
    }
    out.push(b']');
    out
}

fn frame(ctx: &egui::Context, state: &mut AppState) -> usize {
    let input = egui::RawInput {
        screen_rect: Some(egui::Rect::from_min_size(
            egui::Pos2::ZERO,
            egui::vec2(1400.0, 900.0),
        )),
        ..Default::default()
    };
    let mut output = ctx.run_ui(input, |ui| {
        state.drain_events();
        state.ui(ui)
    });
    let shapes = std::mem::take(&mut output.shapes);
    let pixels_per_point = output.pixels_per_point;
    output.drop_without_applying_deltas();
    ctx.tessellate(shapes, pixels_per_point).len()
}

fn select_json(c: &mut Criterion) {
    let mut state = sockscope::app::headless_state(None).expect("engine starts");
    let payload = big_json();
    let size = payload.len();
    state.tab_mut().log.push(LogEntry::new(
        1,
        Direction::Received,
        MessageKind::Text,
        SystemTime::now(),
        Duration::ZERO,
        payload,
    ));
    let ctx = egui::Context::default();
    frame(&ctx, &mut state);
    state.apply(Action::Select(0));
    let started = Instant::now();
    frame(&ctx, &mut state);
    println!(
        "first frame after selecting {:.1} MiB of JSON (parse included): {:.0} ms",
        size as f64 / (1 << 20) as f64,
        started.elapsed().as_secs_f64() * 1000.0
    );
    for _ in 0..3 {
        frame(&ctx, &mut state);
    }
    let mut group = c.benchmark_group("selected_32MiB_json");
    group.sample_size(30);
    group.bench_function("frame_json_tree", |b| {
        b.iter(|| black_box(frame(&ctx, &mut state)))
    });
    state.tab_mut().json_as_text = true;
    let started = Instant::now();
    frame(&ctx, &mut state);
    println!(
        "first frame as pretty text (pretty-print of the shown part and layout included): {:.0} ms",
        started.elapsed().as_secs_f64() * 1000.0
    );
    group.bench_function("frame_json_as_text", |b| {
        b.iter(|| black_box(frame(&ctx, &mut state)))
    });
    state.tab_mut().payload_view = Some(PayloadView::Hex);
    frame(&ctx, &mut state);
    group.bench_function("frame_hex", |b| {
        b.iter(|| black_box(frame(&ctx, &mut state)))
    });
    group.finish();
}

criterion_group!(benches, select_json);
criterion_main!(benches);
