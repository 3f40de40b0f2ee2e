//! The modal questions (send a frame that breaks the protocol? delete this session file? save before closing?)
//! and the typed-path prompt shown in place of a file dialog.

use crate::app::action::Action;
use crate::app::files::PathPrompt;

/// A modal question: `heading`, then each line of `body`, then a row of buttons, each answering its action.
/// Dismissing it (Escape, a click outside) answers `on_dismiss`, unless the first button was just pressed.
struct Question<'a> {
    /// The modal's id (unique in the app).
    id: &'a str,
    width: f32,
    heading: &'a str,
    body: Vec<egui::WidgetText>,
    buttons: &'a [(&'a str, Action)],
    on_dismiss: Option<Action>,
}

impl Question<'_> {
    fn show(self, ctx: &egui::Context, actions: &mut Vec<Action>) {
        let response = egui::Modal::new(egui::Id::unique(self.id)).show(ctx, |ui| {
            ui.set_max_width(self.width);
            ui.heading(self.heading);
            for line in self.body {
                ui.label(line);
            }
            ui.horizontal(|ui| {
                for (label, action) in self.buttons {
                    if ui.button(*label).clicked() {
                        actions.push(action.clone());
                    }
                }
            });
        });
        if let Some(dismissed) = self.on_dismiss
            && response.should_close()
            && !self
                .buttons
                .first()
                .is_some_and(|(_, yes)| actions.contains(yes))
        {
            actions.push(dismissed);
        }
    }
}

/// Send a frame that breaks the protocol? `message` says which rule it breaks.
pub(crate) fn confirm_ui(message: &str, ctx: &egui::Context, actions: &mut Vec<Action>) {
    Question {
        id: "sockscope-confirm-violation",
        width: 420.0,
        heading: "Send a frame that breaks the protocol?",
        body: vec![
            message.into(),
            egui::RichText::new(
                "You are asked once per kind of violation; the log marks every such frame.",
            )
            .weak()
            .into(),
        ],
        buttons: &[
            ("Send anyway", Action::Confirm),
            ("Cancel", Action::CancelConfirm),
        ],
        on_dismiss: Some(Action::CancelConfirm),
    }
    .show(ctx, actions);
}

/// Delete the session file at `path`?
pub(crate) fn delete_ui(path: &std::path::Path, ctx: &egui::Context, actions: &mut Vec<Action>) {
    Question {
        id: "sockscope-confirm-delete",
        width: 420.0,
        heading: "Delete this session file?",
        body: vec![
            path.display().to_string().into(),
            egui::RichText::new(
                "The file is removed from disk; the open tab keeps an unsaved copy.",
            )
            .weak()
            .into(),
        ],
        buttons: &[
            ("Delete", Action::ConfirmDelete),
            ("Keep it", Action::CancelConfirm),
        ],
        on_dismiss: Some(Action::CancelConfirm),
    }
    .show(ctx, actions);
}

/// Save changes before closing? `names`: the unsaved sessions.
pub(crate) fn unsaved_ui(names: &[String], ctx: &egui::Context, actions: &mut Vec<Action>) {
    Question {
        id: "sockscope-unsaved",
        width: 440.0,
        heading: "Save changes before closing?",
        body: vec![format!("Unsaved: {}", names.join(", ")).into()],
        buttons: &[
            ("Save", Action::SaveAllAndClose),
            ("Don't save", Action::DiscardAndClose),
            ("Cancel", Action::CancelClose),
        ],
        on_dismiss: None,
    }
    .show(ctx, actions);
}

/// The typed-path prompt shown when no file dialog can be: why, the path, OK and Cancel.
pub(crate) fn path_prompt_ui(
    prompt: &mut PathPrompt,
    ui: &mut egui::Ui,
    actions: &mut Vec<Action>,
) {
    ui.add_space(2.0);
    ui.label(
        egui::RichText::new(format!("{} Type the path instead.", prompt.why))
            .color(ui.visuals().warn_fg_color),
    );
    ui.horizontal(|ui| {
        let label = ui.label(format!("{}:", prompt.target.title()));
        let edit = ui
            .add(
                egui::TextEdit::singleline(&mut prompt.text)
                    .hint_text("/path/to/file (~/ for home)")
                    .desired_width(420.0),
            )
            .labelled_by(label.id);
        let entered = edit.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        if ui.button("OK").clicked() || entered {
            actions.push(Action::TypedPathOk);
        }
        if ui.button("Cancel").clicked() {
            actions.push(Action::TypedPathCancel);
        }
    });
    ui.add_space(2.0);
}
