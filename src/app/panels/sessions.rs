//! The sessions sidebar: the session file (New, Open…, Save, Save As…, Duplicate, Delete…, recent files),
//! its variables, and its collection — folders and messages that can be sent with a click, reordered by
//! dragging, edited, and replayed with per-step pass/fail.

use crate::app::action::Action;
use crate::app::tab::collection::move_item;
use crate::app::tab::{ConnTab, ItemPath};
use crate::model::junit::Outcome;
use crate::model::session::{Folder, Item, Variable};
use egui::{Color32, RichText};
use std::path::PathBuf;

const PASS: Color32 = Color32::from_rgb(0x3f, 0xb9, 0x50);
const FAIL: Color32 = Color32::from_rgb(0xf8, 0x51, 0x49);

pub(crate) fn ui(
    tab: &mut ConnTab,
    recent: &[PathBuf],
    ui: &mut egui::Ui,
    actions: &mut Vec<Action>,
) {
    egui::ScrollArea::both()
        .id_salt("sessions-scroll")
        .auto_shrink([false, false])
        .show(ui, |ui| {
            file_ui(tab, recent, ui, actions);
            ui.separator();
            egui::CollapsingHeader::new(format!("Variables ({})", tab.session.variables.len()))
                .id_salt("variables")
                .show(ui, |ui| variables_ui(tab, ui));
            ui.separator();
            collection_ui(tab, ui, actions);
            replay_ui(tab, ui, actions);
            if let Some(path) = tab.selected_item.clone() {
                ui.separator();
                super::step_editor::editor_ui(tab, &path, ui, actions);
            }
        });
}

fn file_ui(tab: &mut ConnTab, recent: &[PathBuf], ui: &mut egui::Ui, actions: &mut Vec<Action>) {
    ui.horizontal(|ui| {
        let label = ui.label(RichText::new("Session").strong());
        let dirty = tab.is_dirty();
        ui.add(egui::TextEdit::singleline(&mut tab.session.name).desired_width(150.0))
            .labelled_by(label.id)
            .on_hover_text("Rename the session");
        if dirty {
            ui.label(
                RichText::new("*")
                    .strong()
                    .color(ui.visuals().warn_fg_color),
            )
            .on_hover_text("Unsaved changes");
        }
    });
    if let Some(path) = &tab.session_path {
        ui.label(RichText::new(path.display().to_string()).weak().small());
    }
    ui.horizontal_wrapped(|ui| {
        for (text, action, hint) in [
            ("Open…", Action::OpenSession, "Open a session file (.ron)"),
            ("Save", Action::SaveSession, "Save the session (Ctrl+S)"),
            (
                "Save As…",
                Action::SaveSessionAs,
                "Save the session to a new file",
            ),
            (
                "Duplicate",
                Action::DuplicateSession,
                "A copy of this session in a new tab",
            ),
            (
                "Delete…",
                Action::DeleteSession,
                "Delete the session file (asks first)",
            ),
            (
                "Import HAR…",
                Action::ImportHar,
                "A session from a browser capture (.har) with WebSocket messages",
            ),
            (
                "Log to collection",
                Action::LogToCollection,
                "Every message sent in the log becomes a step, with its recorded timing",
            ),
            (
                "Load test…",
                Action::OpenLoadTest,
                "Run the collection in k6 with many virtual users: live figures, then checks per step and percentiles",
            ),
        ] {
            if ui.small_button(text).on_hover_text(hint).clicked() {
                actions.push(action);
            }
        }
    });
    if !recent.is_empty() {
        egui::CollapsingHeader::new("Recent")
            .id_salt("recent")
            .show(ui, |ui| {
                for path in recent {
                    let name = path
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    if ui
                        .link(name)
                        .on_hover_text(path.display().to_string())
                        .clicked()
                    {
                        actions.push(Action::OpenRecent(path.clone()));
                    }
                }
            });
    }
}

fn variables_ui(tab: &mut ConnTab, ui: &mut egui::Ui) {
    let vars = &mut tab.session.variables;
    let mut remove = None;
    egui::Grid::new("vars")
        .num_columns(4)
        .spacing([4.0, 2.0])
        .show(ui, |ui| {
            let name_label = ui.label(RichText::new("Name").weak());
            let value_label = ui.label(RichText::new("Value").weak());
            let secret_label = ui.label(RichText::new("Secret").weak());
            ui.end_row();
            for (i, v) in vars.iter_mut().enumerate() {
                ui.add(egui::TextEdit::singleline(&mut v.name).desired_width(80.0))
                    .labelled_by(name_label.id);
                ui.add(
                    egui::TextEdit::singleline(&mut v.value)
                        .password(v.secret)
                        .desired_width(110.0),
                )
                .labelled_by(value_label.id);
                ui.checkbox(&mut v.secret, "")
                    .labelled_by(secret_label.id)
                    .on_hover_text("Never written to the file");
                if ui
                    .small_button("x")
                    .on_hover_text("Remove this variable")
                    .clicked()
                {
                    remove = Some(i);
                }
                ui.end_row();
            }
        });
    if let Some(i) = remove {
        vars.remove(i);
    }
    if ui.small_button("Add variable").clicked() {
        vars.push(Variable {
            name: format!("var{}", vars.len() + 1),
            ..Variable::default()
        });
    }
    ui.label(
        RichText::new(
            "Use as {{name}} in the URL, headers and messages; {{env.NAME}} reads the environment.",
        )
        .weak()
        .small(),
    );
}

#[derive(Clone)]
struct DragPayload(ItemPath);

/// A handle to drag an item by (the label beside it stays clickable).
fn drag_handle(ui: &mut egui::Ui, path: &ItemPath) -> egui::Response {
    ui.dnd_drag_source(
        egui::Id::unique(("sockscope-drag", path)),
        DragPayload(path.clone()),
        |ui| {
            ui.label(RichText::new("::").monospace().weak())
                .on_hover_text("Drag to reorder, or onto a folder to move it there")
        },
    )
    .response
}

fn collection_ui(tab: &mut ConnTab, ui: &mut egui::Ui, actions: &mut Vec<Action>) {
    ui.horizontal(|ui| {
        ui.strong("Collection");
        if ui
            .small_button("+ Message")
            .on_hover_text("Add a message step")
            .clicked()
        {
            actions.push(Action::AddStep);
        }
        if ui.small_button("+ Folder").clicked() {
            actions.push(Action::AddFolder);
        }
    });
    if tab.session.collection.is_empty() {
        ui.label(
            RichText::new(
                "No messages yet. Add one, or use \"Save to collection\" on a logged message.",
            )
            .weak(),
        );
        return;
    }
    let results: Vec<(usize, Outcome)> = tab
        .replay
        .as_ref()
        .map(|r| {
            r.reports
                .iter()
                .map(|rep| (rep.index, rep.outcome))
                .collect()
        })
        .unwrap_or_default();
    let mut counter = 0usize;
    let mut moved: Option<(ItemPath, ItemPath, bool)> = None;
    let items = tab.session.collection.clone();
    items_ui(
        &items,
        &mut Vec::new(),
        tab,
        &results,
        &mut counter,
        &mut moved,
        ui,
        actions,
    );
    if let Some((from, to, into)) = moved {
        move_item(&mut tab.session.collection, &from, &to, into);
        tab.selected_item = None;
    }
}

#[allow(clippy::too_many_arguments)]
fn items_ui(
    items: &[Item],
    prefix: &mut ItemPath,
    tab: &mut ConnTab,
    results: &[(usize, Outcome)],
    counter: &mut usize,
    moved: &mut Option<(ItemPath, ItemPath, bool)>,
    ui: &mut egui::Ui,
    actions: &mut Vec<Action>,
) {
    for (i, item) in items.iter().enumerate() {
        prefix.push(i);
        let path = prefix.clone();
        let selected = tab.selected_item.as_ref() == Some(&path);
        match item {
            Item::Folder(folder) => {
                let id = ui.make_persistent_id(("folder", &path));
                let header = egui::collapsing_header::CollapsingState::load_with_default_open(
                    ui.ctx(),
                    id,
                    true,
                )
                .show_header(ui, |ui| {
                    folder_header_ui(folder, &path, selected, tab, moved, ui)
                });
                header.body(|ui| {
                    items_ui(
                        &folder.items,
                        prefix,
                        tab,
                        results,
                        counter,
                        moved,
                        ui,
                        actions,
                    )
                });
            }
            Item::Step(step) => {
                *counter += 1;
                let number = *counter;
                ui.horizontal(|ui| {
                    let (mark, colour) = step_mark(tab, results, number, ui);
                    ui.label(RichText::new(mark).monospace().color(colour));
                    if ui
                        .small_button("Send")
                        .on_hover_text(
                            "Send this message now (Ctrl+Shift+Enter sends the selected one)",
                        )
                        .clicked()
                    {
                        actions.push(Action::SendStep(path.clone()));
                    }
                    let text = if step.enabled {
                        RichText::new(format!("{number}. {}", step.name))
                    } else {
                        RichText::new(format!("{number}. {} (off)", step.name)).weak()
                    };
                    let handle = drag_handle(ui, &path);
                    let label = ui.selectable_label(selected, text);
                    // The handle paints on another layer while dragged: never combine the two responses.
                    let _ = handle;
                    let response = egui::InnerResponse::new(label.clone(), label);
                    if response.inner.clicked() {
                        tab.selected_item = Some(path.clone());
                    }
                    if let Some(payload) = response.response.dnd_release_payload::<DragPayload>() {
                        *moved = Some((payload.0.clone(), path.clone(), false));
                    }
                    if let Some(note) = Some(&step.notes).filter(|n| !n.is_empty()) {
                        response.response.on_hover_text(note);
                    }
                });
            }
        }
        prefix.pop();
    }
}

/// A folder's header row: its drag handle and its name, selectable and a drop target (into the folder).
fn folder_header_ui(
    folder: &Folder,
    path: &ItemPath,
    selected: bool,
    tab: &mut ConnTab,
    moved: &mut Option<(ItemPath, ItemPath, bool)>,
    ui: &mut egui::Ui,
) {
    let handle = drag_handle(ui, path);
    let label = ui.selectable_label(
        selected,
        RichText::new(format!("[{}]", folder.name)).strong(),
    );
    if label.clicked() {
        tab.selected_item = Some(path.clone());
    }
    // The handle paints on another layer while dragged: never combine the two responses.
    let _ = handle;
    let response = egui::InnerResponse::new(label.clone(), label);
    if response.inner.clicked() {
        tab.selected_item = Some(path.clone());
    }
    if let Some(payload) = response.response.dnd_release_payload::<DragPayload>() {
        *moved = Some((payload.0.clone(), path.clone(), true));
    }
}

/// The replay mark of step `number`: running, passed, failed, skipped or not run.
fn step_mark(
    tab: &ConnTab,
    results: &[(usize, Outcome)],
    number: usize,
    ui: &egui::Ui,
) -> (&'static str, Color32) {
    let status = results.iter().find(|(n, _)| *n == number).map(|(_, o)| *o);
    let running = tab
        .replay
        .as_ref()
        .is_some_and(|r| !r.finished && r.current == Some(number));
    match (status, running) {
        (_, true) => ("..", ui.visuals().warn_fg_color),
        (Some(Outcome::Pass), _) => ("ok", PASS),
        (Some(Outcome::Fail), _) => ("!!", FAIL),
        (Some(Outcome::Skip), _) => ("--", ui.visuals().weak_text_color()),
        (None, _) => ("  ", ui.visuals().weak_text_color()),
    }
}

fn replay_ui(tab: &mut ConnTab, ui: &mut egui::Ui, actions: &mut Vec<Action>) {
    ui.add_space(4.0);
    let running = tab.replay.as_ref().is_some_and(|r| !r.finished);
    ui.horizontal(|ui| {
        if !running {
            if ui
                .button("Run collection")
                .on_hover_text("Replay every step with its delays and expectations")
                .clicked()
            {
                actions.push(Action::RunReplay(None));
            }
            if let Some(path) = tab.selected_item.clone()
                && ui
                    .button("Run selected")
                    .on_hover_text("Replay only the selected folder or message")
                    .clicked()
            {
                actions.push(Action::RunReplay(Some(path)));
            }
        } else {
            let paused = tab
                .replay
                .as_ref()
                .is_some_and(|r| *r.control.borrow() == crate::engine::replay::Control::Pause);
            if paused {
                if ui.button("Resume").clicked() {
                    actions.push(Action::ReplayControl(crate::engine::replay::Control::Run));
                }
            } else if ui.button("Pause").clicked() {
                actions.push(Action::ReplayControl(crate::engine::replay::Control::Pause));
            }
            if ui.button("Stop").clicked() {
                actions.push(Action::ReplayControl(crate::engine::replay::Control::Stop));
            }
        }
    });
    let Some(run) = &tab.replay else { return };
    if run.error.is_some() {
        ui.label(RichText::new(format!("Replay {}", run.summary())).color(FAIL));
    } else {
        let done = run.reports.len();
        ui.add(egui::ProgressBar::new(done as f32 / run.total.max(1) as f32).text(run.summary()));
    }
    for r in run.reports.iter().filter(|r| r.outcome == Outcome::Fail) {
        ui.label(
            RichText::new(format!(
                "{}. {}: expected {}; got {}",
                r.index, r.name, r.expected, r.got
            ))
            .color(FAIL)
            .small(),
        );
    }
}
