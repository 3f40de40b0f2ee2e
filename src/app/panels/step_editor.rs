//! The editor for the selected collection item: a folder's name, or a step's name, note, payload (text, JSON,
//! hex, base64 or a file), delay and expectations.

use crate::app::action::Action;
use crate::app::tab::collection::item_at_mut;
use crate::app::tab::{ConnTab, ItemPath};
use crate::model::session::{Expectation, Folder, Item, Matcher, Payload, Step};
use egui::RichText;
use std::path::PathBuf;

pub(crate) fn editor_ui(
    tab: &mut ConnTab,
    path: &ItemPath,
    ui: &mut egui::Ui,
    actions: &mut Vec<Action>,
) {
    let Some(item) = item_at_mut(&mut tab.session.collection, path) else {
        tab.selected_item = None;
        return;
    };
    match item {
        Item::Folder(folder) => folder_editor(folder, ui),
        Item::Step(step) => step_editor(step, ui),
    }
    if ui
        .small_button("Remove")
        .on_hover_text("Remove this item from the collection")
        .clicked()
    {
        actions.push(Action::RemoveItem(path.clone()));
    }
}

fn folder_editor(folder: &mut Folder, ui: &mut egui::Ui) {
    ui.horizontal(|ui| {
        let label = ui.label("Folder");
        ui.add(egui::TextEdit::singleline(&mut folder.name).desired_width(160.0))
            .labelled_by(label.id);
    });
    let label = ui.label(RichText::new("Notes").weak());
    ui.add(egui::TextEdit::multiline(&mut folder.notes).desired_rows(2))
        .labelled_by(label.id);
}

const PAYLOAD_KINDS: [&str; 8] = [
    "None (wait only)",
    "Text",
    "JSON",
    "Hex",
    "Base64",
    "File",
    "Protocol message",
    "JSON, encoded (codec)",
];

fn payload_kind(p: &Payload) -> usize {
    match p {
        Payload::None => 0,
        Payload::Text(_) => 1,
        Payload::Json(_) => 2,
        Payload::Hex(_) => 3,
        Payload::Base64(_) => 4,
        Payload::File(_) => 5,
        Payload::Emit(_) => 6,
        Payload::Encoded(_) => 7,
    }
}

fn step_editor(step: &mut Step, ui: &mut egui::Ui) {
    ui.horizontal(|ui| {
        let label = ui.label("Message");
        ui.add(egui::TextEdit::singleline(&mut step.name).desired_width(140.0))
            .labelled_by(label.id);
        ui.checkbox(&mut step.enabled, "on");
    });
    ui.horizontal(|ui| {
        let label = ui.label("Delay before (ms)");
        ui.add(egui::DragValue::new(&mut step.delay_ms).range(0..=3_600_000))
            .labelled_by(label.id);
    });
    ui.horizontal(|ui| {
        let label = ui.label("Payload");
        let mut kind = payload_kind(&step.payload);
        egui::ComboBox::from_id_salt("payload-kind")
            .selected_text(PAYLOAD_KINDS[kind])
            .show_ui(ui, |ui| {
                for (i, name) in PAYLOAD_KINDS.iter().enumerate() {
                    ui.selectable_value(&mut kind, i, *name);
                }
            })
            .response
            .labelled_by(label.id);
        if kind != payload_kind(&step.payload) {
            let text = match &step.payload {
                Payload::Text(t)
                | Payload::Json(t)
                | Payload::Hex(t)
                | Payload::Base64(t)
                | Payload::Emit(t)
                | Payload::Encoded(t) => t.clone(),
                Payload::File(p) => p.display().to_string(),
                Payload::None => String::new(),
            };
            step.payload = match kind {
                0 => Payload::None,
                1 => Payload::Text(text),
                2 => Payload::Json(text),
                3 => Payload::Hex(text),
                4 => Payload::Base64(text),
                5 => Payload::File(PathBuf::from(text)),
                6 => Payload::Emit(text),
                _ => Payload::Encoded(text),
            };
        }
    });
    let label = ui.label(RichText::new("Payload text").weak());
    let hint = match &step.payload {
        Payload::Json(_) | Payload::Encoded(_) => {
            r#"{"type": "order", "item": "tea", "id": {{counter}}}"#
        }
        Payload::Emit(_) => r#"{"event": "message", "args": ["hello"], "ack": true}"#,
        Payload::Hex(_) => "48 65 6c 6c 6f",
        Payload::Base64(_) => "SGVsbG8=",
        _ => "text to send ({{templates}} are expanded)",
    };
    match &mut step.payload {
        Payload::None => {}
        Payload::Text(t)
        | Payload::Json(t)
        | Payload::Hex(t)
        | Payload::Base64(t)
        | Payload::Emit(t)
        | Payload::Encoded(t) => {
            ui.add(
                egui::TextEdit::multiline(t)
                    .hint_text(hint)
                    .font(egui::TextStyle::Monospace)
                    .desired_rows(3)
                    .desired_width(ui.available_width()),
            )
            .labelled_by(label.id);
        }
        Payload::File(p) => {
            let mut text = p.display().to_string();
            if ui
                .add(egui::TextEdit::singleline(&mut text))
                .labelled_by(label.id)
                .changed()
            {
                *p = PathBuf::from(text);
            }
        }
    }
    if let Payload::Json(t) | Payload::Emit(t) | Payload::Encoded(t) = &step.payload {
        json_check_ui(t, "the payload", ui);
    }
    if matches!(step.payload, Payload::Encoded(_)) {
        ui.label(
            RichText::new(
                "Sent as a binary message encoded with the session's codec (Options → Codec); \
                 expectations read received binary messages decoded with it.",
            )
            .weak(),
        );
    }
    ui.label(RichText::new("Expect after sending").weak());
    let mut remove = None;
    for (i, e) in step.expect.iter_mut().enumerate() {
        ui.push_id(("expect", i), |ui| {
            expectation_ui(e, ui, || remove = Some(i))
        });
    }
    if let Some(i) = remove {
        step.expect.remove(i);
    }
    if ui.small_button("Add expectation").clicked() {
        step.expect.push(Expectation::default());
    }
    let label = ui.label(RichText::new("Notes").weak());
    ui.add(egui::TextEdit::multiline(&mut step.notes).desired_rows(2))
        .labelled_by(label.id);
}

const MATCHERS: [&str; 9] = [
    "equals",
    "contains",
    "regex",
    "JSON subset",
    "JSON path",
    "bytes (hex)",
    "close",
    "protocol field",
    "protocol reply",
];

fn matcher_kind(m: &Matcher) -> usize {
    match m {
        Matcher::Equals(_) => 0,
        Matcher::Contains(_) => 1,
        Matcher::Regex(_) => 2,
        Matcher::JsonSubset(_) => 3,
        Matcher::JsonPath { .. } => 4,
        Matcher::Bytes(_) => 5,
        Matcher::Close(_) => 6,
        Matcher::Decoded { .. } => 7,
        Matcher::Reply(_) => 8,
    }
}

fn expectation_ui(e: &mut Expectation, ui: &mut egui::Ui, mut on_remove: impl FnMut()) {
    ui.horizontal(|ui| {
        ui.checkbox(&mut e.enabled, "");
        let label = ui.label("match");
        let mut kind = matcher_kind(&e.matcher);
        egui::ComboBox::from_id_salt("matcher")
            .selected_text(MATCHERS[kind])
            .show_ui(ui, |ui| {
                for (i, name) in MATCHERS.iter().enumerate() {
                    ui.selectable_value(&mut kind, i, *name);
                }
            })
            .response
            .labelled_by(label.id);
        if kind != matcher_kind(&e.matcher) {
            e.matcher = match kind {
                0 => Matcher::Equals(String::new()),
                1 => Matcher::Contains(String::new()),
                2 => Matcher::Regex(String::new()),
                3 => Matcher::JsonSubset(String::new()),
                4 => Matcher::JsonPath {
                    path: String::new(),
                    equals: String::new(),
                },
                5 => Matcher::Bytes(String::new()),
                6 => Matcher::Close(Some(1000)),
                7 => Matcher::Decoded {
                    path: String::new(),
                    equals: String::new(),
                },
                _ => Matcher::Reply(String::new()),
            };
        }
        let label = ui.label("within (ms)");
        ui.add(egui::DragValue::new(&mut e.timeout_ms).range(1..=3_600_000))
            .labelled_by(label.id);
        if ui
            .small_button("x")
            .on_hover_text("Remove this expectation")
            .clicked()
        {
            on_remove();
        }
    });
    let label = ui.label(RichText::new("value").weak().small());
    let hint = match &e.matcher {
        Matcher::Equals(_) => "the whole message, e.g. pong",
        Matcher::Contains(_) => "text the message contains",
        Matcher::Regex(_) => "a regular expression, e.g. ^\\{\"ok\":",
        Matcher::JsonSubset(_) => r#"{"item": "tea"} (the message has at least these)"#,
        Matcher::Bytes(_) => "de ad be ef",
        Matcher::Reply(_) => "ack, next, error or complete",
        _ => "",
    };
    match &mut e.matcher {
        Matcher::Equals(s)
        | Matcher::Contains(s)
        | Matcher::Regex(s)
        | Matcher::JsonSubset(s)
        | Matcher::Reply(s)
        | Matcher::Bytes(s) => {
            ui.add(
                egui::TextEdit::singleline(s)
                    .hint_text(hint)
                    .desired_width(f32::INFINITY)
                    .font(egui::TextStyle::Monospace),
            )
            .labelled_by(label.id);
        }
        Matcher::JsonPath { path, equals } | Matcher::Decoded { path, equals } => {
            ui.horizontal(|ui| {
                ui.add(
                    egui::TextEdit::singleline(path)
                        .hint_text("$.field")
                        .desired_width(100.0),
                )
                .labelled_by(label.id);
                ui.label("=");
                ui.add(
                    egui::TextEdit::singleline(equals)
                        .hint_text("\"value\" (JSON)")
                        .desired_width(120.0),
                )
                .labelled_by(label.id);
            });
        }
        Matcher::Close(code) => {
            let mut text = code.map(|c| c.to_string()).unwrap_or_default();
            if ui
                .add(
                    egui::TextEdit::singleline(&mut text)
                        .hint_text("any code")
                        .desired_width(60.0),
                )
                .labelled_by(label.id)
                .changed()
            {
                *code = text.trim().parse().ok();
            }
        }
    }
    // Checked as it is typed, not when the collection runs; once per text, not once per frame (compiling a regex
    // every frame is work the UI thread need not do).
    let problem = checked(&e.matcher, || {
        let ctx = crate::model::session::template::Context::default();
        match &e.matcher {
            Matcher::JsonSubset(s) => json_problem(s, "the expected JSON"),
            Matcher::JsonPath { equals, .. } | Matcher::Decoded { equals, .. } => {
                json_problem(equals, "the expected value (JSON: quote strings)")
            }
            Matcher::Regex(_) | Matcher::Reply(_) | Matcher::Bytes(_) => {
                crate::model::session::expect::compile(&e.matcher, &ctx)
                    .err()
                    .filter(|_| !matcher_text_empty(&e.matcher))
            }
            _ => None,
        }
    });
    if let Some(problem) = problem {
        ui.label(
            RichText::new(problem)
                .small()
                .color(ui.visuals().error_fg_color),
        );
    }
}

thread_local! {
    /// The problems found in the expectations last shown, by their text (at most [`CHECKED`] kept).
    static PROBLEMS: std::cell::RefCell<std::collections::HashMap<String, Option<String>>> =
        std::cell::RefCell::default();
}

/// How many checked expectation texts are kept.
const CHECKED: usize = 64;

/// `check`'s answer for `matcher`, computed once per text.
fn checked(matcher: &Matcher, check: impl FnOnce() -> Option<String>) -> Option<String> {
    let key = format!("{matcher:?}");
    if let Some(known) = PROBLEMS.with(|p| p.borrow().get(&key).cloned()) {
        return known;
    }
    let problem = check();
    PROBLEMS.with(|p| {
        let mut p = p.borrow_mut();
        if p.len() >= CHECKED {
            p.clear();
        }
        p.insert(key, problem.clone());
    });
    problem
}

/// What is wrong with a JSON field, in words (`None` when it is valid or still empty).
fn json_problem(text: &str, what: &str) -> Option<String> {
    if text.trim().is_empty() {
        return None;
    }
    crate::model::json_text::check(text)
        .err()
        .map(|p| format!("{what} is not valid JSON: {p}"))
}

/// An expectation's text is still empty (nothing to complain about yet).
fn matcher_text_empty(m: &Matcher) -> bool {
    match m {
        Matcher::Regex(s) | Matcher::Reply(s) | Matcher::Bytes(s) => s.trim().is_empty(),
        _ => false,
    }
}

/// A JSON payload, checked as it is typed: the first problem with its line and column.
fn json_check_ui(text: &str, what: &str, ui: &mut egui::Ui) {
    if let Some(problem) = json_problem(text, what) {
        ui.label(
            RichText::new(problem)
                .small()
                .color(ui.visuals().error_fg_color),
        );
    }
}
