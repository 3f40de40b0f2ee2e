//! The side effects of the GUI that go through files and helper threads: file dialogs (sessions, HAR, payloads,
//! TLS files, log export), saving and opening sessions, the workspace, replays, and the confirmation dialogs.

use super::super::tab::{ConnTab, ItemPath, ReplayRun};
use super::{Action, AppState, Confirmation, FileField, ReplayUpdate, SessionResult};
use crate::engine::Command;
use crate::engine::replay::{self, Control, ReplayOptions};
use crate::model::MessageKind;
use crate::model::copy_as::Tool;
use crate::model::session::{Item, Session};
use std::path::PathBuf;

impl AppState {
    /// Restores the tabs, recent files and composer texts kept at `path`; later saves go there.
    pub fn restore_workspace(&mut self, path: PathBuf) {
        match super::super::workspace::load(&path) {
            Ok(Some(ws)) => {
                let mut tabs = Vec::new();
                for t in &ws.tabs {
                    let (session, saved_ron) = super::super::workspace::tab_session(t);
                    let mut tab = ConnTab::with_session(session, t.path.clone());
                    tab.saved_ron = saved_ron;
                    tab.composer.text = t.composer_text.clone();
                    tabs.push(tab);
                }
                if !tabs.is_empty() {
                    // Keep the start tab only when it was asked for (a URL on the command line).
                    let keep_start = self.tab().conn.is_some();
                    if keep_start {
                        tabs.push(self.tabs.remove(self.active.min(self.tabs.len() - 1)));
                        self.active = tabs.len() - 1;
                    } else {
                        self.active = ws.active.min(tabs.len() - 1);
                    }
                    self.tabs = tabs;
                }
                self.recent = ws.recent;
                self.log_limits = ws.log_limits;
                self.workspace_path = Some(path);
            }
            Ok(None) => self.workspace_path = Some(path),
            Err(e) => {
                // Never overwrite what could not be read.
                self.notice = Some(format!(
                    "the saved workspace could not be read and is left as it is: {e}"
                ));
            }
        }
    }

    /// Writes the workspace, if one is kept.
    pub fn save_workspace(&self) {
        let Some(path) = &self.workspace_path else {
            return;
        };
        let ws = super::super::workspace::Workspace {
            version: 1,
            tabs: self
                .tabs
                .iter()
                .map(|t| super::super::workspace::TabState {
                    path: t.session_path.clone(),
                    session_ron: t.session.to_ron(),
                    dirty: t.is_dirty(),
                    composer_text: t.composer.text.clone(),
                })
                .collect(),
            active: self.active,
            recent: self.recent.clone(),
            log_limits: self.log_limits,
        };
        if let Err(e) = super::super::workspace::save(path, &ws) {
            tracing::warn!("could not save the workspace: {e}");
        }
    }

    pub(super) fn apply_session_result(&mut self, result: SessionResult) {
        match result {
            SessionResult::Opened(Ok((session, path))) => {
                self.remember(&path);
                if let Some(i) = self
                    .tabs
                    .iter()
                    .position(|t| t.session_path.as_ref() == Some(&path))
                {
                    self.active = i;
                    return;
                }
                let tab = ConnTab::with_session(*session, Some(path.clone()));
                // Replace an untouched untitled tab rather than piling up tabs.
                let current = self.tab();
                if current.session_path.is_none()
                    && !current.is_dirty()
                    && !current.is_active()
                    && current.log.is_empty()
                {
                    let i = self.active.min(self.tabs.len() - 1);
                    self.tabs[i] = tab;
                } else {
                    self.tabs.push(tab);
                    self.active = self.tabs.len() - 1;
                }
                self.notice = Some(format!("opened {}", path.display()));
            }
            SessionResult::Opened(Err(e)) => {
                self.notice = Some(format!("could not open the session: {e}"))
            }
            SessionResult::Imported(Ok(session)) => {
                let mut tab = ConnTab::with_session(*session, None);
                tab.saved_ron.clear();
                self.tabs.push(tab);
                self.active = self.tabs.len() - 1;
                self.notice = Some("imported the capture: review it, then Save As…".into());
            }
            SessionResult::Imported(Err(e)) => self.notice = Some(format!("could not import: {e}")),
            SessionResult::SaveTo(tab_id, path) => {
                if let Some(i) = self.tabs.iter().position(|t| t.id == tab_id) {
                    self.save_tab_to(i, path);
                }
            }
        }
    }

    pub(super) fn remember(&mut self, path: &std::path::Path) {
        self.recent.retain(|p| p != path);
        self.recent.insert(0, path.to_path_buf());
        self.recent.truncate(10);
    }

    /// Saves tab `i`'s session to `path` (atomically) and remembers it.
    pub fn save_tab_to(&mut self, i: usize, path: PathBuf) {
        let Some(tab) = self.tabs.get_mut(i) else {
            return;
        };
        match tab.session.save(&path) {
            Ok(()) => {
                tab.session_path = Some(path.clone());
                tab.mark_saved();
                self.notice = Some(format!("saved {}", path.display()));
                self.remember(&path);
                self.save_workspace();
            }
            Err(e) => {
                self.notice = Some(format!(
                    "could not save the session: {e} ({})",
                    path.display()
                ))
            }
        }
    }

    pub(super) fn open_dialog(&mut self) {
        let tx = self.session_results.0.clone();
        let wake = self.wake.clone();
        let spawned = std::thread::Builder::new()
            .name("sockscope-open-session".into())
            .spawn(move || {
                let Some(path) = rfd::FileDialog::new()
                    .add_filter("sockscope session", &["ron"])
                    .add_filter("All files", &["*"])
                    .pick_file()
                else {
                    return;
                };
                let result = Session::load(&path)
                    .map(|s| (Box::new(s), path))
                    .map_err(|e| e.to_string());
                let _ = tx.send(SessionResult::Opened(result));
                if let Some(w) = wake {
                    w();
                }
            });
        if let Err(e) = spawned {
            self.notice = Some(format!("could not open the file dialog: {e}"));
        }
    }

    pub(super) fn import_har_dialog(&mut self) {
        let tx = self.session_results.0.clone();
        let wake = self.wake.clone();
        let spawned = std::thread::Builder::new()
            .name("sockscope-import-har".into())
            .spawn(move || {
                let Some(path) = rfd::FileDialog::new()
                    .add_filter("HAR capture", &["har", "json"])
                    .add_filter("All files", &["*"])
                    .pick_file()
                else {
                    return;
                };
                let result = std::fs::read_to_string(&path)
                    .map_err(|e| format!("could not read {}: {e}", path.display()))
                    .and_then(|text| {
                        crate::model::har::import(&text)
                            .map_err(|e| format!("{}: {e}", path.display()))
                    });
                let _ = tx.send(SessionResult::Imported(result.map(Box::new)));
                if let Some(w) = wake {
                    w();
                }
            });
        if let Err(e) = spawned {
            self.notice = Some(format!("could not open the file dialog: {e}"));
        }
    }

    pub(super) fn save_as_dialog(&mut self) {
        let tx = self.session_results.0.clone();
        let wake = self.wake.clone();
        let tab_id = self.tab().id;
        let suggested = format!("{}.ron", self.tab().session.name.replace(['/', '\\'], "-"));
        let spawned = std::thread::Builder::new()
            .name("sockscope-save-session".into())
            .spawn(move || {
                if let Some(path) = rfd::FileDialog::new()
                    .add_filter("sockscope session", &["ron"])
                    .set_file_name(suggested)
                    .save_file()
                {
                    let _ = tx.send(SessionResult::SaveTo(tab_id, path));
                    if let Some(w) = wake {
                        w();
                    }
                }
            });
        if let Err(e) = spawned {
            self.notice = Some(format!("could not open the file dialog: {e}"));
        }
    }

    pub(super) fn send_step(&mut self, path: &[usize]) {
        let tab = self.tab_mut();
        let Some(Item::Step(step)) =
            super::super::sessions_panel::item_at(&tab.session.collection, path)
        else {
            return;
        };
        let mut ctx = tab.session.context(&Default::default());
        ctx.counter = tab.log.len() as u64 + 1;
        let base = tab
            .session_path
            .as_deref()
            .and_then(|p| p.parent())
            .map(|p| p.to_path_buf());
        match step.payload.prepare(&ctx, base.as_deref()) {
            Ok(crate::model::session::Prepared::Text(t)) => self.command(Command::Text(t)),
            Ok(crate::model::session::Prepared::Binary(b)) => self.command(Command::Binary(b)),
            Ok(crate::model::session::Prepared::Nothing) => {
                self.tab_mut().composer.error =
                    Some("this step sends nothing (it only waits)".into());
            }
            Err(e) => self.tab_mut().composer.error = Some(format!("not sent: {e}")),
        }
    }

    pub(super) fn run_replay(&mut self, selection: Option<ItemPath>) {
        let tx = self.replay_updates.0.clone();
        let wake = self.wake.clone();
        let tab = self.tab();
        let tab_id = tab.id;
        let mut session = tab.session.clone();
        if let Some(path) = &selection {
            match super::super::sessions_panel::item_at(&session.collection, path) {
                Some(item) => session.collection = vec![item.clone()],
                None => return,
            }
        }
        let total = session.steps().len();
        let options = ReplayOptions {
            url: None,
            variables: Default::default(),
            base_dir: tab
                .session_path
                .as_deref()
                .and_then(|p| p.parent())
                .map(|p| p.to_path_buf()),
        };
        let (control, control_rx) = tokio::sync::watch::channel(Control::Run);
        let Some(engine) = self.engine.as_ref() else {
            return;
        };
        engine.spawn(async move {
            let send = |update: ReplayUpdate| {
                let _ = tx.send((tab_id, update));
                if let Some(w) = &wake {
                    w();
                }
            };
            let result = replay::run(&session, &options, control_rx, |p| {
                send(ReplayUpdate::Progress(p))
            })
            .await;
            send(ReplayUpdate::Done(
                result.map(|_| ()).map_err(|e| e.to_string()),
            ));
        });
        self.tab_mut().replay = Some(ReplayRun {
            control,
            total,
            current: None,
            reports: Vec::new(),
            finished: false,
            error: None,
        });
    }

    pub(super) fn save_selected_payload(&mut self) {
        let tab = self.tab();
        let Some(entry) = tab.selected.and_then(|s| tab.log.by_seq(s)) else {
            return;
        };
        let payload = entry.payload.clone();
        let suggested = match entry.kind {
            MessageKind::Text => "message.txt",
            _ => "message.bin",
        };
        let tx = self.file_results.0.clone();
        let wake = self.wake.clone();
        // The native dialog blocks its thread; it must never be the UI thread.
        let spawned = std::thread::Builder::new()
            .name("sockscope-save-dialog".into())
            .spawn(move || {
                let chosen: Option<PathBuf> =
                    rfd::FileDialog::new().set_file_name(suggested).save_file();
                let note = match chosen {
                    None => return,
                    Some(path) => match crate::model::fsutil::write_atomic(&path, &payload) {
                        Ok(()) => format!("saved {} bytes to {}", payload.len(), path.display()),
                        Err(e) => format!("could not save the payload: {e} ({})", path.display()),
                    },
                };
                let _ = tx.send(note);
                if let Some(w) = wake {
                    w();
                }
            });
        if let Err(e) = spawned {
            self.notice = Some(format!("could not open the save dialog: {e}"));
        }
    }

    pub(super) fn export_log(&mut self) {
        let tab = self.tab();
        let entries: Vec<crate::model::LogEntry> = tab.log.iter().cloned().collect();
        if entries.is_empty() {
            self.notice = Some("the log is empty: nothing to export".into());
            return;
        }
        let tx = self.file_results.0.clone();
        let wake = self.wake.clone();
        let spawned = std::thread::Builder::new()
            .name("sockscope-export-log".into())
            .spawn(move || {
                let Some(path) = rfd::FileDialog::new()
                    .add_filter("NDJSON", &["ndjson", "jsonl"])
                    .add_filter("JSON", &["json"])
                    .set_file_name("sockscope-log.ndjson")
                    .save_file()
                else {
                    return;
                };
                let as_array = path.extension().is_some_and(|e| e == "json");
                let written = crate::model::fsutil::write_atomic_with(&path, |out| {
                    crate::model::ndjson::export(out, &entries, as_array)
                });
                let note = match written {
                    Ok(()) => format!("exported {} messages to {}", entries.len(), path.display()),
                    Err(e) => format!("could not export the log: {e} ({})", path.display()),
                };
                let _ = tx.send(note);
                if let Some(w) = wake {
                    w();
                }
            });
        if let Err(e) = spawned {
            self.notice = Some(format!("could not open the save dialog: {e}"));
        }
    }

    pub(super) fn pick_file(&mut self, field: FileField) {
        let tx = self.picked_files.0.clone();
        let wake = self.wake.clone();
        let tab = self.active;
        // The native dialog blocks its thread; it must never be the UI thread.
        let spawned = std::thread::Builder::new()
            .name("sockscope-open-dialog".into())
            .spawn(move || {
                if let Some(path) = rfd::FileDialog::new()
                    .add_filter("PEM", &["pem", "crt", "cer", "key"])
                    .add_filter("All files", &["*"])
                    .pick_file()
                {
                    let _ = tx.send((tab, field, path));
                    if let Some(w) = wake {
                        w();
                    }
                }
            });
        if let Err(e) = spawned {
            self.notice = Some(format!("could not open the file dialog: {e}"));
        }
    }

    pub(super) fn copy_as(&mut self, tool: Tool) {
        let request = self.tab().session.endpoint.to_request();
        match crate::engine::handshake::extra_headers(&request) {
            Ok(headers) => {
                self.clipboard = Some(crate::model::copy_as::command(tool, &request, &headers));
                self.notice = Some(format!(
                    "copied the {} command to the clipboard",
                    tool.name()
                ));
            }
            Err(e) => self.notice = Some(format!("cannot build the command: {e}")),
        }
    }
}

pub(super) fn confirm_ui(
    confirmation: &Confirmation,
    ctx: &egui::Context,
    actions: &mut Vec<Action>,
) {
    let response =
        egui::Modal::new(egui::Id::unique("sockscope-confirm-violation")).show(ctx, |ui| {
            ui.set_max_width(420.0);
            ui.heading("Send a frame that breaks the protocol?");
            ui.label(&confirmation.message);
            ui.label(
                egui::RichText::new(
                    "You are asked once per kind of violation; the log marks every such frame.",
                )
                .weak(),
            );
            ui.horizontal(|ui| {
                if ui.button("Send anyway").clicked() {
                    actions.push(Action::Confirm);
                }
                if ui.button("Cancel").clicked() {
                    actions.push(Action::CancelConfirm);
                }
            });
        });
    if response.should_close() && !actions.contains(&Action::Confirm) {
        actions.push(Action::CancelConfirm);
    }
}

pub(super) fn delete_ui(path: &std::path::Path, ctx: &egui::Context, actions: &mut Vec<Action>) {
    let response = egui::Modal::new(egui::Id::unique("sockscope-confirm-delete")).show(ctx, |ui| {
        ui.set_max_width(420.0);
        ui.heading("Delete this session file?");
        ui.label(path.display().to_string());
        ui.label(
            egui::RichText::new(
                "The file is removed from disk; the open tab keeps an unsaved copy.",
            )
            .weak(),
        );
        ui.horizontal(|ui| {
            if ui.button("Delete").clicked() {
                actions.push(Action::ConfirmDelete);
            }
            if ui.button("Keep it").clicked() {
                actions.push(Action::CancelConfirm);
            }
        });
    });
    if response.should_close() && !actions.contains(&Action::ConfirmDelete) {
        actions.push(Action::CancelConfirm);
    }
}

pub(super) fn unsaved_ui(names: &[String], ctx: &egui::Context, actions: &mut Vec<Action>) {
    egui::Modal::new(egui::Id::unique("sockscope-unsaved")).show(ctx, |ui| {
        ui.set_max_width(440.0);
        ui.heading("Save changes before closing?");
        ui.label(format!("Unsaved: {}", names.join(", ")));
        ui.horizontal(|ui| {
            if ui.button("Save").clicked() {
                actions.push(Action::SaveAllAndClose);
            }
            if ui.button("Don't save").clicked() {
                actions.push(Action::DiscardAndClose);
            }
            if ui.button("Cancel").clicked() {
                actions.push(Action::CancelClose);
            }
        });
    });
}
