//! The GUI's side effects beyond one tab: the workspace, asking for paths (payloads, the log, TLS files, Save
//! As), copying a command line, and replays (fed back through a bounded display feed, panics contained). File
//! work itself is in `file_ops.rs`; the modal questions and the typed-path prompt are drawn by `panels/modals.rs`.

use super::replay_feed::{FeedSender, ReplayUpdate};
use super::{AppState, FileField};
use crate::app::files::FileTarget;
use crate::app::tab::{ConnTab, ItemPath, ReplayRun};
use crate::engine::replay::{self, Control, ReplayOptions};
use crate::model::MessageKind;
use crate::model::copy_as::Tool;
use std::path::PathBuf;

impl AppState {
    /// Restores the tabs, recent files and composer texts kept at `path`; later saves go there.
    pub fn restore_workspace(&mut self, path: PathBuf) {
        match crate::app::workspace::load(&path) {
            Ok(Some(ws)) => {
                let mut tabs = Vec::new();
                for t in &ws.tabs {
                    let (session, saved_ron) = crate::app::workspace::tab_session(t);
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
                self.log_columns = ws.log_columns;
                self.load_test.k6_path = ws.k6_path;
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
        let ws = crate::app::workspace::Workspace {
            version: 1,
            tabs: self
                .tabs
                .iter()
                .map(|t| crate::app::workspace::TabState {
                    path: t.session_path.clone(),
                    session_ron: t.session.to_ron(),
                    dirty: t.is_dirty(),
                    composer_text: t.composer.text.clone(),
                })
                .collect(),
            active: self.active,
            recent: self.recent.clone(),
            log_limits: self.log_limits,
            log_columns: self.log_columns.clone(),
            k6_path: self.load_test.k6_path.clone(),
        };
        if let Err(e) = crate::app::workspace::save(path, &ws) {
            tracing::warn!("could not save the workspace: {e}");
        }
    }

    pub(super) fn remember(&mut self, path: &std::path::Path) {
        self.recent.retain(|p| p != path);
        self.recent.insert(0, path.to_path_buf());
        self.recent.truncate(10);
    }

    /// Save As for the active tab.
    pub(super) fn save_as_dialog(&mut self) {
        let tab = self.tab();
        let target = FileTarget::SaveSessionAs {
            tab_id: tab.id,
            suggested: format!("{}.ron", tab.session.name.replace(['/', '\\'], "-")),
        };
        self.choose_path(target);
    }

    pub(super) fn run_replay(&mut self, selection: Option<ItemPath>) {
        let feed = self.replay_feed.0.clone();
        let tab = self.tab();
        let tab_id = tab.id;
        let mut session = tab.session.clone();
        if let Some(path) = &selection {
            match crate::app::tab::collection::item_at(&session.collection, path) {
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
            // Built by the replay from the session (its .proto paths relative to the session file).
            codec: None,
        };
        let (control, control_rx) = tokio::sync::watch::channel(Control::Run);
        let Some(engine) = self.engine.as_ref() else {
            return;
        };
        let progress = feed.clone();
        let run = async move {
            replay::run(&session, &options, control_rx, |p| {
                progress.send(tab_id, ReplayUpdate::Progress(p))
            })
            .await
        };
        engine.spawn(replay_task(tab_id, feed, run));
        self.tab_mut().bar_shows_run = true;
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
        let Some((seq, entry)) = tab.selected.and_then(|s| tab.log.by_seq(s).map(|e| (s, e)))
        else {
            return;
        };
        let suggested = match entry.kind {
            MessageKind::Text => "message.txt",
            _ => "message.bin",
        };
        let target = FileTarget::SavePayload {
            tab_id: tab.id,
            seq,
            suggested,
        };
        self.choose_path(target);
    }

    pub(super) fn export_log(&mut self) {
        if self.tab().log.is_empty() {
            self.notice = Some("the log is empty: nothing to export".into());
            return;
        }
        if self.export.is_some() {
            self.notice = Some("an export is already under way".into());
            return;
        }
        let tab_id = self.tab().id;
        self.choose_path(FileTarget::ExportLog { tab_id });
    }

    pub(super) fn pick_file(&mut self, field: FileField) {
        // The tab by id, not index: tabs may close while the dialog is open.
        let tab_id = self.tab().id;
        self.choose_path(FileTarget::TlsFile { tab_id, field });
    }

    pub(super) fn copy_as(&mut self, tool: Tool) {
        let request = self.tab().session.endpoint.to_request();
        match crate::engine::handshake::extra_headers(&request) {
            Ok(headers) => {
                self.clipboard = Some(crate::model::copy_as::command(tool, &request, &headers));
                self.notice = Some(
                    if request.http_version == crate::model::h2::HttpVersion::Http2 {
                        format!(
                            "{} cannot open a WebSocket over HTTP/2 (it speaks HTTP/1.1 only): copied the \
                             equivalent sockscope command instead",
                            tool.name()
                        )
                    } else {
                        format!("copied the {} command to the clipboard", tool.name())
                    },
                );
            }
            Err(e) => self.notice = Some(format!("cannot build the command: {e}")),
        }
    }
}

/// The GUI's replay task: runs `run` with panics contained, and always ends with `Done` on `feed`.
pub(super) async fn replay_task<T, E: std::fmt::Display>(
    tab_id: u64,
    feed: FeedSender,
    run: impl std::future::Future<Output = Result<T, E>>,
) {
    let result = match replay::contain_panics(run).await {
        Ok(result) => result.map(|_| ()).map_err(|e| e.to_string()),
        Err(bug) => Err(bug),
    };
    feed.send(tab_id, ReplayUpdate::Done(result));
}

#[cfg(test)]
mod tests {
    use super::super::replay_feed;
    use super::*;

    #[tokio::test]
    async fn a_panicking_gui_replay_still_reports_its_end() {
        let (feed, inbox) = replay_feed::feed(1 << 20, None);
        replay_task(3, feed, async {
            if std::hint::black_box(true) {
                panic!("replay bug");
            }
            Ok::<(), String>(())
        })
        .await;
        let Some((3, ReplayUpdate::Done(Err(why)))) = inbox.try_recv() else {
            panic!("a Done with the error");
        };
        assert!(
            why.contains("replay bug") && why.contains("sockscope hit a bug"),
            "{why}"
        );
    }

    #[test]
    fn replay_updates_are_drained_within_the_frame_budget() {
        use crate::engine::EventKind;
        use crate::engine::replay::Progress;
        use crate::model::{Direction, LogEntry, MessageKind};
        let mut state = AppState::start(None, None).expect("engine");
        let tab_id = state.tab().id;
        let (control, _control_rx) = tokio::sync::watch::channel(Control::Run);
        state.tab_mut().replay = Some(ReplayRun {
            control,
            total: 1,
            current: None,
            reports: Vec::new(),
            finished: false,
            error: None,
        });
        let feed = state.replay_feed.0.clone();
        let n = 500_000;
        for i in 0..n {
            let entry = LogEntry::new(
                1,
                Direction::Received,
                MessageKind::Text,
                std::time::SystemTime::now(),
                std::time::Duration::ZERO,
                format!("{i}").into_bytes(),
            );
            feed.send(
                tab_id,
                ReplayUpdate::Progress(Progress::Connection(EventKind::Message(entry))),
            );
        }
        // One frame stops at its budget (the old drain took every update at once).
        assert!(state.drain_events(), "more remain after one frame");
        let first_frame = state.tab().log.len();
        assert!(first_frame < n, "{first_frame} of {n} in one frame");
        let mut frames = 1;
        while state.drain_events() {
            frames += 1;
        }
        assert_eq!(
            state.tab().log.len(),
            n,
            "all of them, over {frames} frames"
        );
    }
}
