//! Editing the active tab's collection: adding steps and folders, removing items, saving logged messages as
//! steps, and sending one step on the open connection. The tree operations themselves are `tab/collection.rs`.

use super::AppState;
use crate::app::files::FileDone;
use crate::app::tab::collection::{
    folder_from_log, item_at, item_at_mut, parent_list_mut, step_from_entry,
};
use crate::engine::Command;
use crate::model::session::{Folder, Item, Payload, Step};

impl AppState {
    /// Adds a message step with the composer's text (into the selected folder, if any).
    pub(super) fn add_step(&mut self) {
        let tab = self.tab_mut();
        let number = tab.session.steps().len() + 1;
        // A new step starts empty; "Save to collection" on a logged message is the way to copy one.
        let step = Item::Step(Step {
            name: format!("Message {number}"),
            payload: Payload::Text(String::new()),
            ..Step::default()
        });
        let into = tab
            .selected_item
            .clone()
            .filter(|p| matches!(item_at(&tab.session.collection, p), Some(Item::Folder(_))));
        match into.and_then(|p| item_at_mut(&mut tab.session.collection, &p)) {
            Some(Item::Folder(f)) => f.items.push(step),
            _ => tab.session.collection.push(step),
        }
    }

    /// Adds a folder at the top level.
    pub(super) fn add_folder(&mut self) {
        let tab = self.tab_mut();
        let n = tab.session.collection.len() + 1;
        tab.session.collection.push(Item::Folder(Folder {
            name: format!("Folder {n}"),
            ..Folder::default()
        }));
    }

    /// Removes the item at `path`.
    pub(super) fn remove_item(&mut self, path: &[usize]) {
        let tab = self.tab_mut();
        if let (Some(list), Some(&i)) = (
            parent_list_mut(&mut tab.session.collection, path),
            path.last(),
        ) && i < list.len()
        {
            list.remove(i);
        }
        tab.selected_item = None;
    }

    /// Adds the logged message `seq` to the collection.
    pub(super) fn save_to_collection(&mut self, seq: u64) {
        let tab = self.tab_mut();
        let codec = tab.codec.ready().cloned();
        if let Some(entry) = tab.log.by_seq(seq) {
            let step = step_from_entry(entry, seq + 1, codec.as_deref());
            tab.session.collection.push(Item::Step(step));
            self.notice = Some("added the message to the collection".into());
        }
    }

    /// Turns the log's sent messages into a folder of steps with their recorded timing.
    pub(super) fn log_to_collection(&mut self) {
        let tab = self.tab_mut();
        let entries: Vec<&crate::model::LogEntry> = tab.log.iter().collect();
        let name = format!("Recorded {}", chrono::Local::now().format("%H:%M:%S"));
        let codec = tab.codec.ready().cloned();
        let folder = folder_from_log(&entries, name, codec.as_deref());
        let count = folder.items.len();
        if count == 0 {
            self.notice = Some("the log has no sent messages to record".into());
        } else {
            tab.session.collection.push(Item::Folder(folder));
            self.notice = Some(format!("added {count} recorded messages to the collection"));
        }
    }

    /// Sends the step at `path` on the active tab's connection (a file payload is read by the file worker first).
    pub(super) fn send_step(&mut self, path: &[usize]) {
        let tab = self.tab_mut();
        let Some(Item::Step(step)) = item_at(&tab.session.collection, path) else {
            return;
        };
        let mut ctx = tab.session.context(&Default::default());
        ctx.counter = tab.log.len() as u64 + 1;
        let base = tab
            .session_path
            .as_deref()
            .and_then(|p| p.parent())
            .map(|p| p.to_path_buf());
        if matches!(step.payload, Payload::File(_)) {
            // Reading the file is file work: the worker reads it, then the step is sent.
            let (tab_id, payload) = (tab.id, step.payload.clone());
            self.submit(Box::new(move || FileDone::StepPrepared {
                tab_id,
                result: payload
                    .prepare(&ctx, base.as_deref())
                    .map_err(|e| e.to_string()),
            }));
            return;
        }
        // JSON to encode goes through the tab's codec (Options → Codec).
        let codec = tab.codec.ready().cloned();
        let prepared = step
            .payload
            .prepare(&ctx, base.as_deref())
            .map_err(|e| e.to_string())
            .and_then(|p| p.encoded_with(codec.as_deref()));
        match prepared {
            Ok(crate::model::session::Prepared::Text(t)) => self.command(Command::Text(t)),
            Ok(crate::model::session::Prepared::Binary(b)) => self.command(Command::Binary(b)),
            Ok(crate::model::session::Prepared::Emit(v)) => self.command(Command::Emit(v)),
            Ok(crate::model::session::Prepared::Nothing) => {
                self.tab_mut().composer.error =
                    Some("this step sends nothing (it only waits)".into());
            }
            Ok(crate::model::session::Prepared::Encode(_)) => {
                self.tab_mut().composer.error = Some("not sent: the JSON was not encoded".into());
            }
            Err(e) => self.tab_mut().composer.error = Some(format!("not sent: {e}")),
        }
    }
}
