//! File work asked for by the UI, carried out on the file worker (`app/files.rs`): choosing a path (the desktop's
//! dialog, or a typed path when there is none), opening, saving, importing and deleting sessions, writing
//! payloads, the workspace, and the log export (copied a bounded amount per frame). Outcomes come back as
//! [`FileDone`] and are applied here.

use super::{AppState, FileField};
use crate::app::files::{
    self, EXPORT_CHUNK_BYTES, EXPORT_CHUNK_ENTRIES, ExportChunk, ExportRun, FileDialogs, FileDone,
    FileEvent, FileTarget, Job, PathPrompt,
};
use crate::app::tab::ConnTab;
use crate::engine::Command;
use crate::model::session::{Prepared, Session};
use std::path::PathBuf;
use std::time::{Duration, Instant};

impl AppState {
    /// Queues `job` on the file worker.
    pub(super) fn submit(&mut self, job: Job) {
        let queued = self.files.as_ref().is_some_and(|w| w.submit(job));
        if queued {
            self.file_jobs_pending += 1;
        } else {
            self.notice =
                Some("file operations are unavailable (the file thread could not start)".into());
        }
    }

    /// True while file work the UI asked for (a save, a read, an export) has not finished.
    pub fn file_work_pending(&self) -> bool {
        self.file_jobs_pending > 0 || self.export.is_some()
    }

    /// Waits up to `timeout` for queued file work to finish and applies its outcomes (on exit, and in tests).
    pub fn finish_file_work(&mut self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while self.file_jobs_pending > 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            match self.file_events.1.recv_timeout(left) {
                Ok(event) => self.apply_file_event(event),
                Err(_) => return,
            }
        }
    }

    /// Applies one message from a dialog thread or the file worker.
    pub(super) fn apply_file_event(&mut self, event: FileEvent) {
        match event {
            FileEvent::Chosen(target, path) => self.path_chosen(target, path),
            FileEvent::Note(note) => self.notice = Some(note),
            FileEvent::Done(done) => {
                self.file_jobs_pending = self.file_jobs_pending.saturating_sub(1);
                self.apply_file_done(done);
            }
        }
    }

    /// Asks for a path for `target`: the desktop's dialog, or a typed path when there is none.
    pub(super) fn choose_path(&mut self, target: FileTarget) {
        let why = match &self.file_dialogs {
            FileDialogs::Typed(why) => why.clone(),
            FileDialogs::Native => {
                let tx = self.file_events.0.clone();
                match files::spawn_dialog(target.clone(), tx, self.wake.clone()) {
                    Ok(()) => return,
                    Err(e) => format!("The file dialog could not start ({e})."),
                }
            }
        };
        self.path_prompt = Some(PathPrompt {
            text: target.suggested(),
            target,
            why,
        });
    }

    /// The typed path was confirmed.
    pub(super) fn typed_path_ok(&mut self) {
        let Some(prompt) = self.path_prompt.take() else {
            return;
        };
        match files::typed_path(&prompt.text) {
            Some(path) => self.path_chosen(prompt.target, path),
            None => {
                self.notice = Some("type a path first".into());
                self.path_prompt = Some(prompt);
            }
        }
    }

    /// Carries out what a chosen path was for.
    pub(super) fn path_chosen(&mut self, target: FileTarget, path: PathBuf) {
        match target {
            FileTarget::OpenSession => self.open_session_file(path),
            FileTarget::ImportHar => self.submit(Box::new(move || {
                let result = std::fs::read_to_string(&path)
                    .map_err(|e| format!("could not read {}: {e}", path.display()))
                    .and_then(|text| {
                        crate::model::har::import(&text)
                            .map_err(|e| format!("{}: {e}", path.display()))
                    });
                FileDone::Imported(result.map(Box::new))
            })),
            FileTarget::SaveSessionAs { tab_id, .. } => {
                if let Some(i) = self.tabs.iter().position(|t| t.id == tab_id) {
                    self.save_tab_to(i, path);
                }
            }
            FileTarget::SavePayload { tab_id, seq, .. } => {
                let Some(entry) = self
                    .tabs
                    .iter()
                    .find(|t| t.id == tab_id)
                    .and_then(|t| t.log.by_seq(seq))
                else {
                    self.notice = Some("the message has left the log: nothing saved".into());
                    return;
                };
                let payload = entry.payload.clone();
                self.submit(Box::new(move || {
                    FileDone::Note(match crate::model::fsutil::write_atomic(&path, &payload) {
                        Ok(()) => format!("saved {} bytes to {}", payload.len(), path.display()),
                        Err(e) => format!("could not save the payload: {e} ({})", path.display()),
                    })
                }));
            }
            FileTarget::ExportLog { tab_id } => self.start_export(tab_id, path),
            FileTarget::TlsFile { tab_id, field } => {
                // By id: the tab may have moved (or closed) while the dialog was open.
                let Some(tab) = self.tabs.iter_mut().find(|t| t.id == tab_id) else {
                    return;
                };
                let tls = &mut tab.session.endpoint.tls;
                let slot = match field {
                    FileField::CaFile => &mut tls.ca_file,
                    FileField::ClientCert => &mut tls.client_cert_file,
                    FileField::ClientKey => &mut tls.client_key_file,
                };
                *slot = Some(path);
            }
        }
    }

    /// Reads a session file on the worker; it opens in a tab when read.
    pub(super) fn open_session_file(&mut self, path: PathBuf) {
        self.submit(Box::new(move || {
            FileDone::Opened(
                Session::load(&path)
                    .map(|s| (Box::new(s), path))
                    .map_err(|e| e.to_string()),
            )
        }));
    }

    /// Deletes a session file on the worker.
    pub(super) fn delete_session_file(&mut self, path: PathBuf) {
        self.submit(Box::new(move || {
            let result = std::fs::remove_file(&path).map_err(|e| e.to_string());
            FileDone::Deleted { path, result }
        }));
    }

    /// Saves tab `i`'s session to `path` on the file worker (atomically; an older-format file is backed up
    /// first). The tab is marked saved, and the path remembered, once the write is done.
    pub fn save_tab_to(&mut self, i: usize, path: PathBuf) {
        let Some(tab) = self.tabs.get_mut(i) else {
            return;
        };
        // One name: an untitled session takes the file's name, as its tab does.
        let untitled = tab.session.name.trim().is_empty() || tab.session.name == "Untitled";
        if untitled && let Some(stem) = path.file_stem() {
            tab.session.name = stem.to_string_lossy().into_owned();
        }
        let (tab_id, session) = (tab.id, tab.session.clone());
        self.submit(Box::new(move || {
            let result = session
                .save(&path)
                .map(|()| session.to_ron())
                .map_err(|e| e.to_string());
            FileDone::Saved {
                tab_id,
                path,
                result,
            }
        }));
    }

    /// Writes the workspace on the file worker (serialised there too), if one is kept.
    pub(super) fn save_workspace_later(&mut self) {
        let Some(path) = self.workspace_path.clone() else {
            return;
        };
        let tabs: Vec<_> = self
            .tabs
            .iter()
            .map(|t| {
                (
                    t.session_path.clone(),
                    t.session.clone(),
                    t.is_dirty(),
                    t.composer.text.clone(),
                )
            })
            .collect();
        let (active, recent, log_limits) = (self.active, self.recent.clone(), self.log_limits);
        let log_columns = self.log_columns.clone();
        let k6_path = self.load_test.k6_path.clone();
        self.submit(Box::new(move || {
            let ws = crate::app::workspace::Workspace {
                version: 1,
                tabs: tabs
                    .into_iter()
                    .map(
                        |(path, session, dirty, composer_text)| crate::app::workspace::TabState {
                            path,
                            session_ron: session.to_ron(),
                            dirty,
                            composer_text,
                        },
                    )
                    .collect(),
                active,
                recent,
                log_limits,
                log_columns,
                k6_path,
            };
            if let Err(e) = crate::app::workspace::save(&path, &ws) {
                tracing::warn!("could not save the workspace: {e}");
            }
            FileDone::WorkspaceSaved
        }));
    }

    /// Applies the outcome of a file job.
    fn apply_file_done(&mut self, done: FileDone) {
        match done {
            FileDone::Note(note) => self.notice = Some(note),
            FileDone::WorkspaceSaved => {}
            FileDone::Opened(result) => self.apply_opened(result),
            FileDone::Imported(Ok(session)) => {
                let mut tab = ConnTab::with_session(*session, None);
                tab.saved_ron.clear();
                self.tabs.push(tab);
                self.active = self.tabs.len() - 1;
                self.notice = Some("imported the capture: review it, then Save As…".into());
            }
            FileDone::Imported(Err(e)) => self.notice = Some(format!("could not import: {e}")),
            FileDone::Saved {
                tab_id,
                path,
                result,
            } => self.apply_saved(tab_id, path, result),
            FileDone::Deleted { path, result } => match result {
                Ok(()) => {
                    self.recent.retain(|p| p != &path);
                    for tab in &mut self.tabs {
                        if tab.session_path.as_ref() == Some(&path) {
                            tab.session_path = None;
                            tab.saved_ron.clear();
                        }
                    }
                    self.notice = Some(format!("deleted {}", path.display()));
                }
                Err(e) => self.notice = Some(format!("could not delete {}: {e}", path.display())),
            },
            FileDone::StepPrepared { tab_id, result } => {
                let Some(tab) = self.tabs.iter_mut().find(|t| t.id == tab_id) else {
                    return;
                };
                let command = match result {
                    Ok(Prepared::Text(t)) => Command::Text(t),
                    Ok(Prepared::Binary(b)) => Command::Binary(b),
                    Ok(Prepared::Emit(v)) => Command::Emit(v),
                    Ok(Prepared::Nothing) => {
                        tab.composer.error = Some("this step sends nothing (it only waits)".into());
                        return;
                    }
                    // File payloads are bytes: nothing is encoded.
                    Ok(Prepared::Encode(_)) => {
                        tab.composer.error = Some("not sent: the JSON was not encoded".into());
                        return;
                    }
                    Err(e) => {
                        tab.composer.error = Some(format!("not sent: {e}"));
                        return;
                    }
                };
                tab.composer.error = None;
                let sent = tab.conn.as_ref().is_some_and(|c| c.send(command));
                if !sent {
                    tab.composer.error = Some("not connected: press Connect first".into());
                }
            }
        }
    }

    fn apply_saved(&mut self, tab_id: u64, path: PathBuf, result: Result<String, String>) {
        let ok = result.is_ok();
        match result {
            Ok(ron) => {
                if let Some(tab) = self.tabs.iter_mut().find(|t| t.id == tab_id) {
                    tab.session_path = Some(path.clone());
                    // What was written: edits made while it was being written stay marked.
                    tab.saved_ron = ron;
                }
                self.notice = Some(format!("saved {}", path.display()));
                self.remember(&path);
                self.save_workspace_later();
            }
            Err(e) => {
                self.notice = Some(format!(
                    "could not save the session: {e} ({})",
                    path.display()
                ))
            }
        }
        if let Some(waiting) = &mut self.closing_saves {
            waiting.retain(|id| *id != tab_id);
            if !ok {
                // Never close over a failed save: the notice says what went wrong.
                self.closing_saves = None;
            } else if waiting.is_empty() {
                self.closing_saves = None;
                self.close_confirmed = true;
            }
        }
    }

    fn apply_opened(&mut self, result: Result<(Box<Session>, PathBuf), String>) {
        let (session, path) = match result {
            Ok(opened) => opened,
            Err(e) => {
                self.notice = Some(format!("could not open the session: {e}"));
                return;
            }
        };
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

    /// Starts exporting tab `tab_id`'s log, as it is now, to `path`: the entries are copied a bounded amount per
    /// frame ([`AppState::export_step`]) to a thread that writes them, instead of cloning the whole log at once.
    fn start_export(&mut self, tab_id: u64, path: PathBuf) {
        let Some(tab) = self.tabs.iter().find(|t| t.id == tab_id) else {
            return;
        };
        let (next_seq, end_seq) = (tab.log.seq_of(0), tab.log.seq_of(tab.log.len()));
        match files::spawn_export_writer(path, self.file_events.0.clone(), self.wake.clone()) {
            Ok(tx) => {
                self.export = Some(ExportRun {
                    tab_id,
                    next_seq,
                    end_seq,
                    skipped: 0,
                    pending: None,
                    tx,
                });
            }
            Err(e) => self.notice = Some(format!("could not start the export: {e}")),
        }
    }

    /// Copies the next part of the log to the export thread (at most [`EXPORT_CHUNK_BYTES`] and
    /// [`EXPORT_CHUNK_ENTRIES`] a frame). Returns true while the export goes on.
    pub(super) fn export_step(&mut self) -> bool {
        let Some(run) = self.export.as_mut() else {
            return false;
        };
        let Some(tab) = self.tabs.iter().find(|t| t.id == run.tab_id) else {
            // The tab closed: dropping the sender calls the export off (the temporary file is removed).
            self.export = None;
            self.notice = Some("the export was stopped: its tab was closed".into());
            return false;
        };
        if run.pending.is_none() {
            let first = tab.log.seq_of(0).min(run.end_seq);
            if run.next_seq < first {
                run.skipped += first - run.next_seq;
                run.next_seq = first;
            }
            if run.next_seq >= run.end_seq {
                run.pending = Some(ExportChunk::Finish {
                    skipped: run.skipped,
                });
            } else {
                let mut entries = Vec::new();
                let mut bytes = 0;
                while run.next_seq < run.end_seq
                    && entries.len() < EXPORT_CHUNK_ENTRIES
                    && bytes < EXPORT_CHUNK_BYTES
                {
                    let Some(entry) = tab.log.by_seq(run.next_seq) else {
                        break;
                    };
                    bytes += entry.payload.len() + 64;
                    entries.push(entry.clone());
                    run.next_seq += 1;
                }
                run.pending = Some(ExportChunk::Entries(entries));
            }
        }
        let Some(chunk) = run.pending.take() else {
            return true;
        };
        let finishing = matches!(chunk, ExportChunk::Finish { .. });
        match run.tx.try_send(chunk) {
            Ok(()) if finishing => {
                self.export = None;
                false
            }
            Ok(()) => true,
            Err(std::sync::mpsc::TrySendError::Full(chunk)) => {
                run.pending = Some(chunk);
                true
            }
            // The writer stopped (it reports why).
            Err(std::sync::mpsc::TrySendError::Disconnected(_)) => {
                self.export = None;
                false
            }
        }
    }
}
