//! The modal questions (send a frame that breaks the protocol? delete this session file? save before closing?)
//! and the typed-path prompt shown in place of a file dialog.

use crate::app::action::Action;
use crate::app::files::PathPrompt;
use crate::app::state::Confirmation;

pub(crate) fn confirm_ui(
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

pub(crate) fn delete_ui(path: &std::path::Path, ctx: &egui::Context, actions: &mut Vec<Action>) {
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

pub(crate) fn unsaved_ui(names: &[String], ctx: &egui::Context, actions: &mut Vec<Action>) {
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
