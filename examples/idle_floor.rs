//! The memory floor of an idle eframe window on this machine: the same eframe/glow build and window size as
//! sockscope, showing one label and nothing else. Comparing its resident memory with sockscope's tells what the
//! app adds and what the GL driver and toolkit cost on their own (under Mesa llvmpipe, libLLVM alone is ~55 MB).
//!
//! `cargo run --release --example idle_floor`, then read `VmRSS` in `/proc/PID/status`.

fn main() -> eframe::Result {
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("idle floor")
            .with_inner_size([1440.0, 860.0]),
        ..Default::default()
    };
    eframe::run_ui_native("idle floor", options, |ui, _frame| {
        ui.label("An empty eframe window.");
    })
}
