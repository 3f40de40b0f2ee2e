//! The egui/eframe GUI. It never awaits or blocks: user actions become engine commands, and engine events are
//! drained at the start of every frame (`App::logic`), which also runs while the window is hidden.

mod action;
mod composer;
mod connection_panel;
mod details;
mod files;
mod inspector;
mod log_view;
mod options;
mod panels;
mod replay_feed;
mod sessions_panel;
mod state;
mod step_editor;
mod tab;
mod tabs_bar;
mod widgets;
mod workspace;

pub use action::{Action, FileField};
pub use files::{FileDialogs, FileTarget};
pub use state::AppState;
pub use tab::{
    Attempt, Composer, ConnTab, DEFAULT_LOG_CAP, LogLimits, LogStore, OptionsTab, PayloadView,
    SideTab,
};

use crate::engine::Waker;
use std::sync::Arc;
use std::time::Duration;

/// How long closing the window waits for open connections to finish their close handshake.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_millis(1500);

/// The eframe application: the state plus the engine's lifetime.
pub struct SockscopeApp {
    state: AppState,
    closing: bool,
}

impl SockscopeApp {
    /// Builds the app: starts the engine and the embedded echo server; connects to `url` when given.
    pub fn new(cc: &eframe::CreationContext<'_>, url: Option<String>) -> anyhow::Result<Self> {
        let ctx = cc.egui_ctx.clone();
        let wake: Waker = Arc::new(move || ctx.request_repaint());
        let mut state = AppState::start(Some(wake), url)?;
        if let Some(path) = workspace::default_path() {
            state.restore_workspace(path);
        }
        Ok(Self {
            state,
            closing: false,
        })
    }
}

impl eframe::App for SockscopeApp {
    fn logic(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
        if self.state.drain_events() {
            // More events are queued than one frame's budget: come back soon.
            ctx.request_repaint();
        }
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        let quit = egui::KeyboardShortcut::new(egui::Modifiers::COMMAND, egui::Key::Q);
        if ui.input_mut(|i| i.consume_shortcut(&quit)) {
            ui.ctx().send_viewport_cmd(egui::ViewportCommand::Close);
        }
        // Ask before closing with unsaved session files.
        if ui.ctx().input(|i| i.viewport().close_requested()) && !self.state.close_confirmed {
            let unsaved = self.state.unsaved_sessions();
            if !unsaved.is_empty() {
                ui.ctx()
                    .send_viewport_cmd(egui::ViewportCommand::CancelClose);
                self.state.closing_with_unsaved = Some(unsaved);
            }
        }
        self.state.ui(ui);
        if self.state.close_confirmed && !self.closing {
            // The question was answered: close for real (the next close request is let through).
            self.closing = true;
            ui.ctx().send_viewport_cmd(egui::ViewportCommand::Close);
        }
    }

    fn on_exit(&mut self, _gl: Option<&eframe::glow::Context>) {
        // Let saves still queued finish before the workspace is written and the process ends.
        self.state.finish_file_work(Duration::from_secs(5));
        self.state.save_workspace();
        if let Some(engine) = self.state.take_engine() {
            engine.shutdown(SHUTDOWN_TIMEOUT);
        }
    }
}

/// Opens the window. `url`: connect to it at once instead of waiting for the user.
pub fn run(url: Option<String>) -> anyhow::Result<()> {
    let mut viewport = egui::ViewportBuilder::default()
        .with_title("sockscope")
        .with_app_id("sockscope")
        .with_inner_size([1440.0, 860.0])
        .with_min_inner_size([640.0, 400.0]);
    if let Ok(icon) = eframe::icon_data::from_png_bytes(include_bytes!("../../assets/icon.png")) {
        viewport = viewport.with_icon(Arc::new(icon));
    }
    let options = eframe::NativeOptions {
        viewport,
        ..Default::default()
    };
    eframe::run_native(
        "sockscope",
        options,
        Box::new(move |cc| {
            let app = SockscopeApp::new(cc, url).map_err(|e| format!("{e:#}"))?;
            Ok(Box::new(app))
        }),
    )
    .map_err(|e| anyhow::anyhow!("{e}"))
}

/// For tests and benchmarks: an engine with no waker.
pub fn headless_state(url: Option<String>) -> anyhow::Result<AppState> {
    AppState::start(None, url)
}
