//! The egui/eframe GUI. It never awaits or blocks: user actions become engine commands, and engine events are
//! drained at the start of every frame (`App::logic`), which also runs while the window is hidden.
//!
//! A frame has three phases: drain the engine's events into the state (`App::logic`), draw the panels, which only
//! collect [`Action`]s (`AppState::ui`, here), then apply those actions (`state/apply.rs`). Rooms: `action.rs`
//! (what panels may ask for), `state/` (the app's state, split by job), `tab/` (one connection tab's state),
//! `panels/` (one file per panel), `widgets/` (reusable widgets), `files.rs` (the file worker and dialogs),
//! `workspace.rs` (what is kept between runs).

mod action;
mod files;
mod load_test;
pub mod mock_log;
pub mod mock_server;
mod panels;
mod state;
mod tab;
mod widgets;
mod workspace;

pub use action::{Action, FileField};
pub use files::{FileDialogs, FileTarget};
pub use state::AppState;
pub use tab::log_columns::Column;
pub use tab::{
    Attempt, Composer, ConnTab, DEFAULT_LOG_CAP, LogColumns, LogLimits, LogStore, OptionsTab,
    PayloadView, SideTab,
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
        self.state.load_test.shutdown();
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

impl AppState {
    /// Draws the whole window and then carries out what the user asked for.
    pub fn ui(&mut self, ui: &mut egui::Ui) {
        self.expire_notice(ui.ctx());
        if let Some(text) = self.clipboard.take() {
            ui.ctx().copy_text(text);
        }
        let mut actions = Vec::new();
        // Shortcuts first, before any text field can take their keys.
        let commands = panels::palette::commands();
        for asked in panels::palette::take_shortcuts(ui, &commands) {
            self.keyboard_command(asked, ui.ctx(), &mut actions);
        }
        // Every server tab's events are read each frame, shown or not (their logs are bounded).
        let mut busy = false;
        let mut serving = false;
        for server in &mut self.servers {
            busy |= server.drain() || server.starting();
            serving |= server.server.is_some();
        }
        if busy {
            ui.ctx().request_repaint();
        } else if serving {
            // Clients' "last active" and counts move without events of their own.
            ui.ctx().request_repaint_after(Duration::from_millis(500));
        }
        let shown_server = self.server_view.filter(|&i| i < self.servers.len());
        egui::Panel::top("tabs").show(ui, |ui| {
            let view = panels::tabs_bar::View {
                active: self.active,
                server: shown_server,
            };
            panels::tabs_bar::ui(&self.tabs, &self.servers, view, ui, &mut actions)
        });
        if let Some(prompt) = &mut self.path_prompt {
            egui::Panel::top("path-prompt").show(ui, |ui| {
                panels::modals::path_prompt_ui(prompt, ui, &mut actions)
            });
        }
        match shown_server {
            Some(i) => panels::mock_server::ui(&mut self.servers[i], self.engine.as_ref(), ui),
            None => self.connection_tab_ui(ui, &mut actions),
        }
        if let Some(confirmation) = &self.confirming {
            panels::modals::confirm_ui(&confirmation.message, ui.ctx(), &mut actions);
        }
        if let Some(path) = &self.deleting {
            panels::modals::delete_ui(path, ui.ctx(), &mut actions);
        }
        if let Some(names) = &self.closing_with_unsaved {
            panels::modals::unsaved_ui(names, ui.ctx(), &mut actions);
        }
        if let Some(asked) = panels::palette::palette_ui(&mut self.keyboard, &commands, ui.ctx()) {
            self.keyboard_command(asked, ui.ctx(), &mut actions);
        }
        panels::palette::shortcuts_ui(&mut self.keyboard, &commands, ui.ctx());
        self.load_test.drain();
        let session_url = self.tab().session.endpoint.url.clone();
        panels::load_test::ui(&mut self.load_test, &session_url, ui.ctx(), &mut actions);
        for action in actions {
            self.apply(action);
        }
    }

    /// The active connection tab: sessions, connection bar, composer, details and the log.
    fn connection_tab_ui(&mut self, ui: &mut egui::Ui, actions: &mut Vec<Action>) {
        let recent = self.recent.clone();
        let echo_url = self.echo_url.clone();
        let dropped = self.dropped_in_transit();
        let notice = self.notice.clone();
        for tab in &mut self.tabs {
            if tab.log.limits() != self.log_limits {
                tab.log.set_limits(self.log_limits);
            }
        }
        let mut limits = self.log_limits;
        let mut columns = std::mem::take(&mut self.log_columns);
        let tab = self.tab_mut();
        if tab.reconnect.is_some() {
            ui.ctx().request_repaint_after(Duration::from_millis(100));
        }
        egui::Panel::left("sessions")
            .resizable(true)
            .default_size(250.0)
            .min_size(200.0)
            .max_size(420.0)
            .show(ui, |ui| panels::sessions::ui(tab, &recent, ui, actions));
        egui::Panel::top("connection").show(ui, |ui| {
            panels::connection::ui(tab, echo_url.as_deref(), ui, actions);
        });
        egui::Panel::bottom("composer")
            .resizable(true)
            .default_size(150.0)
            .min_size(110.0)
            .show(ui, |ui| panels::composer::ui(tab, ui, actions));
        egui::Panel::right("details")
            .resizable(true)
            .default_size(360.0)
            .min_size(240.0)
            .max_size(760.0)
            .show(ui, |ui| {
                panels::details::ui(tab, notice.as_deref(), ui, actions)
            });
        egui::CentralPanel::default().show(ui, |ui| {
            panels::log_view::ui(tab, dropped, &mut limits, &mut columns, ui, actions)
        });
        self.log_limits = limits;
        self.log_columns = columns;
    }
}

impl AppState {
    /// Carries out a command asked for from the keyboard or the palette.
    fn keyboard_command(
        &mut self,
        asked: panels::palette::Does,
        ctx: &egui::Context,
        actions: &mut Vec<Action>,
    ) {
        use panels::palette::{Does, search_field_id, url_field_id};
        match asked {
            Does::Act(action) => actions.push(action),
            Does::SendStep => {
                if let Some(path) = self.tab().selected_item.clone() {
                    actions.push(Action::SendStep(path));
                }
            }
            Does::CloseTab => actions.push(Action::CloseTab(self.active)),
            Does::NextTab(forward) => {
                let n = self.tabs.len();
                let next = if forward {
                    (self.active + 1) % n
                } else {
                    (self.active + n - 1) % n
                };
                actions.push(Action::SelectTab(next));
            }
            Does::FocusUrl => ctx.memory_mut(|m| m.request_focus(url_field_id())),
            Does::FocusSearch => ctx.memory_mut(|m| m.request_focus(search_field_id())),
            Does::Quit => ctx.send_viewport_cmd(egui::ViewportCommand::Close),
            Does::Palette => {
                self.keyboard.shortcuts = false;
                self.keyboard.palette = match self.keyboard.palette {
                    Some(_) => None,
                    None => Some((String::new(), 0)),
                };
            }
            Does::Shortcuts => {
                self.keyboard.palette = None;
                self.keyboard.shortcuts = !self.keyboard.shortcuts;
            }
        }
    }
}

/// For tests and benchmarks: an engine with no waker.
pub fn headless_state(url: Option<String>) -> anyhow::Result<AppState> {
    AppState::start(None, url)
}
