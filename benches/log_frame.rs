//! GUI frame time with a million logged messages, headless: one egui pass of the whole window (layout of every
//! panel, the log's visible rows) plus tessellation into meshes, which is the CPU work of a frame before the GPU.
//!
//! Also measured: how long a regex search takes to sweep a million entries (the filter scans incrementally, a
//! bounded number of entries per frame, so this is frames × frame time). Run: `cargo bench --bench log_frame`.

use criterion::{Criterion, criterion_group, criterion_main};
use sockscope::app::AppState;
use sockscope::model::{Direction, LogEntry, MessageKind};
use std::hint::black_box;
use std::time::{Duration, SystemTime};

const ROWS: u64 = 1_000_000;

fn filled_state() -> AppState {
    let mut state = sockscope::app::headless_state(None).expect("engine starts");
    let tab = state.tab_mut();
    let start = SystemTime::now();
    for n in 0..ROWS {
        let mut payload = format!("{n}").into_bytes();
        payload.resize(64, b'x');
        let direction = if n % 2 == 0 {
            Direction::Sent
        } else {
            Direction::Received
        };
        let since = Duration::from_micros(n * 10);
        tab.log.push(LogEntry::new(
            1,
            direction,
            MessageKind::Text,
            start + since,
            since,
            payload,
        ));
    }
    state
}

fn frame(ctx: &egui::Context, state: &mut AppState) -> usize {
    let input = egui::RawInput {
        screen_rect: Some(egui::Rect::from_min_size(
            egui::Pos2::ZERO,
            egui::vec2(1400.0, 900.0),
        )),
        ..Default::default()
    };
    let mut output = ctx.run_ui(input, |ui| state.ui(ui));
    let shapes = std::mem::take(&mut output.shapes);
    let pixels_per_point = output.pixels_per_point;
    // No GPU to upload font textures to: say so, rather than drop the deltas silently.
    output.drop_without_applying_deltas();
    ctx.tessellate(shapes, pixels_per_point).len()
}

fn log_frame(c: &mut Criterion) {
    let mut state = filled_state();
    let ctx = egui::Context::default();
    for _ in 0..3 {
        frame(&ctx, &mut state);
    }
    let mut group = c.benchmark_group("gui_1M_rows");
    group.sample_size(30);
    group.bench_function("frame_following_the_end", |b| {
        b.iter(|| black_box(frame(&ctx, &mut state)))
    });
    state.tab_mut().follow = false;
    state.tab_mut().log_scroll.top = 500_000.0;
    group.bench_function("frame_scrolled_to_the_middle", |b| {
        b.iter(|| black_box(frame(&ctx, &mut state)))
    });
    group.bench_function("regex_search_sweeps_1M", |b| {
        b.iter(|| {
            let tab = state.tab_mut();
            tab.filter.regex = true;
            // Different each time so the filter starts over; one message matches.
            tab.filter.query = if tab.filter.query == "^999999x" {
                "^999998x".into()
            } else {
                "^999999x".into()
            };
            let mut frames = 0;
            loop {
                frame(&ctx, &mut state);
                frames += 1;
                let tab = state.tab_mut();
                if !tab.filter.is_scanning(&tab.log) {
                    break;
                }
            }
            let tab = state.tab_mut();
            assert_eq!(tab.filter.len(&tab.log), 1);
            frames
        })
    });
    group.finish();
}

criterion_group!(benches, log_frame);
criterion_main!(benches);
