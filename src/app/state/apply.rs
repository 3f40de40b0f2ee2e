//! Carrying out what panels asked for: [`AppState::apply`] turns each [`Action`] into one call, and the tab and
//! window actions (new, select, duplicate, delete, close with unsaved changes) live here.

use super::AppState;
use crate::app::action::Action;
use crate::app::files::FileTarget;
use crate::app::tab::ConnTab;
use crate::engine::Command;
use crate::engine::replay::Control;
use crate::model::session::Session;

impl AppState {
    /// Carries out one action.
    pub fn apply(&mut self, action: Action) {
        match action {
            Action::Connect => self.connect(),
            Action::ConnectInsecure => self.connect_insecure(),
            Action::Disconnect => self.disconnect(),
            Action::ReconnectNow => self.reconnect_now(),
            Action::Send => self.send_composed(),
            Action::Emit(value) => self.command(Command::Emit(value)),
            Action::UseProtocol(protocol) => self.use_protocol(protocol),
            Action::SendFragmented => self.send_fragmented(),
            Action::SendRawFrame => self.send_raw_frame(),
            Action::Ping => self.ping(),
            Action::Close => self.close_with_composer_code(),
            Action::Select(seq) => self.tab_mut().selected = Some(seq),
            Action::ClearLog => self.clear_log(),
            Action::SavePayload => self.save_selected_payload(),
            Action::ExportLog => self.export_log(),
            Action::PickFile(field) => self.pick_file(field),
            Action::CopyAs(tool) => self.copy_as(tool),
            Action::NewTab => self.new_tab(),
            Action::SelectTab(i) => self.select_tab(i),
            Action::CloseTab(i) => self.close_tab(i),
            Action::DisconnectAll => self.disconnect_all(),
            Action::Confirm => self.confirm(),
            Action::CancelConfirm => {
                self.confirming = None;
                self.deleting = None;
            }
            Action::OpenPalette => self.keyboard.palette = Some((String::new(), 0)),
            Action::ShowShortcuts => self.keyboard.shortcuts = true,
            Action::OpenSession => self.choose_path(FileTarget::OpenSession),
            Action::OpenRecent(path) => self.open_session_file(path),
            Action::SaveSession => self.save_session(),
            Action::SaveSessionAs => self.save_as_dialog(),
            Action::DuplicateSession => self.duplicate_session(),
            Action::DeleteSession => self.delete_session(),
            Action::ConfirmDelete => self.confirm_delete(),
            Action::AddStep => self.add_step(),
            Action::AddFolder => self.add_folder(),
            Action::RemoveItem(path) => self.remove_item(&path),
            Action::SendStep(path) => self.send_step(&path),
            Action::SaveToCollection(seq) => self.save_to_collection(seq),
            Action::LogToCollection => self.log_to_collection(),
            Action::OpenLoadTest => self.load_test.show(),
            Action::NewServerTab => {
                self.servers.push(Default::default());
                self.server_view = Some(self.servers.len() - 1);
            }
            Action::SelectServerTab(i) => {
                if i < self.servers.len() {
                    self.server_view = Some(i);
                }
            }
            Action::CloseServerTab(i) => self.close_server_tab(i),
            Action::StartLoadTest => {
                let session = self.tab().session.clone();
                self.load_test.start(&session);
            }
            Action::StopLoadTest => self.load_test.stop(),
            Action::CopyK6Script => {
                let script =
                    crate::model::k6::export_with(&self.tab().session, &self.load_test.shape());
                self.clipboard = Some(script);
                self.notice = Some("k6 script copied".into());
            }
            Action::ImportHar => self.choose_path(FileTarget::ImportHar),
            Action::RunReplay(selection) => self.run_replay(selection),
            Action::ReplayControl(control) => self.replay_control(control),
            Action::SaveAllAndClose => self.save_all_and_close(),
            Action::DiscardAndClose => self.discard_and_close(),
            Action::CancelClose => self.closing_with_unsaved = None,
            Action::TypedPathOk => self.typed_path_ok(),
            Action::TypedPathCancel => self.path_prompt = None,
        }
    }

    /// Empties the active tab's log.
    fn clear_log(&mut self) {
        let tab = self.tab_mut();
        tab.log.clear();
        tab.selected = None;
        // The Wire view starts again with the log.
        tab.frames.clear();
    }

    /// A new tab on the echo server (New tab and New session alike).
    fn new_tab(&mut self) {
        let url = self.echo_url.clone().unwrap_or_else(|| "ws://".into());
        self.tabs.push(ConnTab::new(url));
        self.active = self.tabs.len() - 1;
        self.server_view = None;
    }

    fn select_tab(&mut self, i: usize) {
        if i < self.tabs.len() {
            self.active = i;
            self.server_view = None;
        }
    }

    fn close_server_tab(&mut self, i: usize) {
        if i >= self.servers.len() {
            return;
        }
        let mut server = self.servers.remove(i);
        server.stop();
        self.server_view = match self.server_view {
            Some(v) if v == i => None,
            Some(v) if v > i => Some(v - 1),
            other => other,
        };
    }

    fn close_tab(&mut self, i: usize) {
        if i >= self.tabs.len() {
            return;
        }
        let tab = self.tabs.remove(i);
        if let Some(conn) = &tab.conn {
            conn.send(Command::Close {
                code: 1000,
                reason: String::new(),
            });
        }
        if self.tabs.is_empty() {
            let url = self.echo_url.clone().unwrap_or_else(|| "ws://".into());
            self.tabs.push(ConnTab::new(url));
        }
        if self.active > i || self.active >= self.tabs.len() {
            self.active = self.active.saturating_sub(1);
        }
    }

    /// Saves the active session to its file (Save As when it has none yet).
    fn save_session(&mut self) {
        match self.tab().session_path.clone() {
            Some(path) => self.save_tab_to(self.active, path),
            None => self.save_as_dialog(),
        }
    }

    /// Copies the active session into a new tab.
    fn duplicate_session(&mut self) {
        let mut session = self.tab().session.clone();
        session.name = format!("Copy of {}", session.name);
        let mut tab = ConnTab::with_session(session, None);
        tab.saved_ron.clear();
        self.tabs.push(tab);
        self.active = self.tabs.len() - 1;
    }

    /// Asks before deleting the active session's file.
    fn delete_session(&mut self) {
        match self.tab().session_path.clone() {
            Some(path) => self.deleting = Some(path),
            None => self.notice = Some("this session has no file to delete yet".into()),
        }
    }

    fn confirm_delete(&mut self) {
        if let Some(path) = self.deleting.take() {
            self.delete_session_file(path);
        }
    }

    /// Pauses, resumes or stops the active tab's replay.
    fn replay_control(&mut self, control: Control) {
        if let Some(run) = &self.tab().replay {
            let _ = run.control.send(control);
        }
    }

    /// Saves what has a file, then lets the window close.
    fn save_all_and_close(&mut self) {
        // The window closes once every save is written (and stays open if one fails).
        let mut waiting = Vec::new();
        for i in 0..self.tabs.len() {
            if let Some(path) = self.tabs[i].session_path.clone()
                && self.tabs[i].is_dirty()
            {
                waiting.push(self.tabs[i].id);
                self.save_tab_to(i, path);
            }
        }
        self.closing_with_unsaved = None;
        if waiting.is_empty() {
            self.close_confirmed = true;
        } else {
            self.closing_saves = Some(waiting);
        }
    }

    /// Drops unsaved changes (back to what each file holds) and lets the window close.
    fn discard_and_close(&mut self) {
        for tab in &mut self.tabs {
            if tab.session_path.is_some() {
                let saved = tab.saved_ron.clone();
                if let Ok(original) = Session::from_ron(&saved, std::path::Path::new("")) {
                    tab.session = original;
                }
            }
        }
        self.closing_with_unsaved = None;
        self.close_confirmed = true;
    }
}
