//! Keyboard: every command with its key, the shortcuts themselves (taken before any text field sees them, so they
//! work while one has focus and never clash with text editing), the command palette (Ctrl+Shift+P) and the
//! shortcuts overlay (F1).
//!
//! egui's text fields keep Ctrl+A / C / X / V / Z / Y and Ctrl+K / U / W / H for themselves: no shortcut here uses
//! them.

use crate::app::action::Action;
use egui::{Key, KeyboardShortcut, Modifiers};

/// What a command does.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Does {
    /// An action, as a button would ask for it.
    Act(Action),
    /// Put the keyboard in the URL field.
    FocusUrl,
    /// Put the keyboard in the log's search field.
    FocusSearch,
    /// The next or the previous tab.
    NextTab(bool),
    /// Send the step selected in the collection.
    SendStep,
    /// Close the tab shown.
    CloseTab,
    /// Close the window.
    Quit,
    /// Open the command palette.
    Palette,
    /// Show the shortcuts.
    Shortcuts,
}

/// One command: its name, its key (if it has one), what it does.
pub(crate) struct Command {
    pub name: &'static str,
    pub keys: Option<KeyboardShortcut>,
    pub does: Does,
}

const CTRL: Modifiers = Modifiers::COMMAND;
const CTRL_SHIFT: Modifiers = Modifiers {
    shift: true,
    ..Modifiers::COMMAND
};

/// The id of the URL field and of the log's search field, for focusing them.
pub(crate) fn url_field_id() -> egui::Id {
    egui::Id::unique("sockscope-url-field")
}
pub(crate) fn search_field_id() -> egui::Id {
    egui::Id::unique("sockscope-log-search")
}

/// Every command, in the order the palette and the overlay list them.
pub(crate) fn commands() -> Vec<Command> {
    let key = |m, k| Some(KeyboardShortcut::new(m, k));
    let c = |name, keys, does| Command { name, keys, does };
    vec![
        c("Command palette", key(CTRL_SHIFT, Key::P), Does::Palette),
        c(
            "Keyboard shortcuts",
            key(Modifiers::NONE, Key::F1),
            Does::Shortcuts,
        ),
        c("Focus the URL", key(CTRL, Key::L), Does::FocusUrl),
        c(
            "Connect",
            key(Modifiers::NONE, Key::F5),
            Does::Act(Action::Connect),
        ),
        c(
            "Disconnect",
            key(Modifiers::SHIFT, Key::F5),
            Does::Act(Action::Disconnect),
        ),
        c(
            "Send the selected step",
            key(CTRL_SHIFT, Key::Enter),
            Does::SendStep,
        ),
        c(
            "Send the message",
            key(CTRL, Key::Enter),
            Does::Act(Action::Send),
        ),
        c(
            "Send a ping",
            key(CTRL_SHIFT, Key::I),
            Does::Act(Action::Ping),
        ),
        c("Search the log", key(CTRL, Key::F), Does::FocusSearch),
        c(
            "Clear the log",
            key(CTRL_SHIFT, Key::L),
            Does::Act(Action::ClearLog),
        ),
        c(
            "Export the log…",
            key(CTRL_SHIFT, Key::E),
            Does::Act(Action::ExportLog),
        ),
        c("New tab", key(CTRL, Key::T), Does::Act(Action::NewTab)),
        c("Close the tab", key(CTRL_SHIFT, Key::W), Does::CloseTab),
        c("Next tab", key(CTRL, Key::PageDown), Does::NextTab(true)),
        c("Previous tab", key(CTRL, Key::PageUp), Does::NextTab(false)),
        c(
            "Save the session",
            key(CTRL, Key::S),
            Does::Act(Action::SaveSession),
        ),
        c(
            "Save the session as…",
            key(CTRL_SHIFT, Key::S),
            Does::Act(Action::SaveSessionAs),
        ),
        c(
            "Open a session…",
            key(CTRL, Key::O),
            Does::Act(Action::OpenSession),
        ),
        c(
            "Duplicate the session",
            None,
            Does::Act(Action::DuplicateSession),
        ),
        c(
            "Run the collection",
            key(CTRL_SHIFT, Key::R),
            Does::Act(Action::RunReplay(None)),
        ),
        c("Import a HAR capture…", None, Does::Act(Action::ImportHar)),
        c(
            "Log to collection",
            None,
            Does::Act(Action::LogToCollection),
        ),
        c("Load test with k6…", None, Does::Act(Action::OpenLoadTest)),
        c(
            "Disconnect all tabs",
            None,
            Does::Act(Action::DisconnectAll),
        ),
        c("Quit", key(CTRL, Key::Q), Does::Quit),
    ]
}

/// The palette's and the overlay's state (kept by the app between frames).
#[derive(Clone, Debug, Default)]
pub(crate) struct Keyboard {
    /// The palette is open, with this query and this row picked.
    pub palette: Option<(String, usize)>,
    /// The shortcuts overlay is open.
    pub shortcuts: bool,
}

/// The commands whose name contains every word of `query` (any case), in list order.
pub(crate) fn matching(commands: &[Command], query: &str) -> Vec<usize> {
    let words: Vec<String> = query.split_whitespace().map(str::to_lowercase).collect();
    commands
        .iter()
        .enumerate()
        .filter(|(_, c)| {
            let name = c.name.to_lowercase();
            words.iter().all(|w| name.contains(w.as_str()))
        })
        .map(|(i, _)| i)
        .collect()
}

/// Takes this frame's shortcuts before any widget sees them; returns what they ask for.
pub(crate) fn take_shortcuts(ui: &mut egui::Ui, commands: &[Command]) -> Vec<Does> {
    let mut asked = Vec::new();
    ui.input_mut(|i| {
        // A shortcut without Shift also matches the key with Shift: the ones with Shift go first.
        for shift in [true, false] {
            for command in commands {
                if let Some(keys) = &command.keys
                    && keys.modifiers.shift == shift
                    && i.consume_shortcut(keys)
                {
                    asked.push(command.does.clone());
                }
            }
        }
    });
    asked
}

/// The palette: type to narrow, Up / Down to pick, Enter to run, Escape to close. Returns the command run.
pub(crate) fn palette_ui(
    state: &mut Keyboard,
    commands: &[Command],
    ctx: &egui::Context,
) -> Option<Does> {
    let (query, picked) = state.palette.as_mut()?;
    let shown = matching(commands, query);
    let (up, down, enter) = ctx.input_mut(|i| {
        (
            i.consume_key(Modifiers::NONE, Key::ArrowUp),
            i.consume_key(Modifiers::NONE, Key::ArrowDown),
            i.consume_key(Modifiers::NONE, Key::Enter),
        )
    });
    if down {
        *picked = (*picked + 1).min(shown.len().saturating_sub(1));
    }
    if up {
        *picked = picked.saturating_sub(1);
    }
    *picked = (*picked).min(shown.len().saturating_sub(1));
    let mut run = enter.then(|| shown.get(*picked).copied()).flatten();
    let response = egui::Modal::new(egui::Id::unique("sockscope-palette")).show(ctx, |ui| {
        ui.set_width(440.0);
        let search = ui.add(
            egui::TextEdit::singleline(query)
                .id(egui::Id::unique("sockscope-palette-query"))
                .hint_text("Type a command…")
                .desired_width(f32::INFINITY),
        );
        search.widget_info(|| egui::WidgetInfo::labeled(egui::Role::TextInput, true, "Command"));
        search.request_focus();
        ui.add_space(4.0);
        if shown.is_empty() {
            ui.weak("No command matches.");
        }
        for (row, &i) in shown.iter().enumerate() {
            let command = &commands[i];
            let keys = command
                .keys
                .as_ref()
                .map(|k| ctx.format_shortcut(k))
                .unwrap_or_default();
            let item = ui.add(
                egui::Button::selectable(row == *picked, command.name)
                    .right_text(egui::RichText::new(keys).weak())
                    .min_size(egui::vec2(ui.available_width(), 0.0)),
            );
            if item.clicked() {
                run = Some(i);
            }
        }
        ui.add_space(4.0);
        ui.weak("Up / Down pick · Enter runs · Esc closes · F1 lists every shortcut");
    });
    if run.is_some() || response.should_close() {
        state.palette = None;
    }
    run.map(|i| commands[i].does.clone())
}

/// The shortcuts overlay: every command with its key.
pub(crate) fn shortcuts_ui(state: &mut Keyboard, commands: &[Command], ctx: &egui::Context) {
    if !state.shortcuts {
        return;
    }
    let response = egui::Modal::new(egui::Id::unique("sockscope-shortcuts")).show(ctx, |ui| {
        ui.set_width(420.0);
        ui.heading("Keyboard shortcuts");
        ui.weak("They work while a text field has focus.");
        ui.add_space(4.0);
        egui::Grid::new("shortcuts-grid")
            .num_columns(2)
            .striped(true)
            .spacing([24.0, 4.0])
            .show(ui, |ui| {
                for command in commands.iter().filter(|c| c.keys.is_some()) {
                    ui.label(command.name);
                    if let Some(keys) = &command.keys {
                        ui.monospace(ctx.format_shortcut(keys));
                    }
                    ui.end_row();
                }
            });
        ui.add_space(4.0);
        ui.weak(
            "In the log: PageUp / PageDown, Home / End. Commands without a key are in the palette.",
        );
        if ui.button("Close").clicked() {
            ui.close();
        }
    });
    if response.should_close() {
        state.shortcuts = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_shortcut_clashes_with_text_editing_or_another_shortcut() {
        let commands = commands();
        let mut seen = Vec::new();
        for c in &commands {
            let Some(keys) = c.keys else { continue };
            let text_editing = [
                Key::A,
                Key::C,
                Key::X,
                Key::V,
                Key::Z,
                Key::Y,
                Key::K,
                Key::U,
                Key::W,
                Key::H,
            ];
            if keys.modifiers == CTRL {
                assert!(
                    !text_editing.contains(&keys.logical_key),
                    "{} takes a text key",
                    c.name
                );
            }
            assert!(!seen.contains(&keys), "{} shares its key", c.name);
            seen.push(keys);
        }
    }

    /// The shortcuts this frame's keys ask for.
    fn asked(key: Key, modifiers: Modifiers) -> Vec<Does> {
        let ctx = egui::Context::default();
        let input = egui::RawInput {
            events: vec![egui::Event::Key {
                key,
                physical_key: None,
                pressed: true,
                repeat: false,
                modifiers,
            }],
            ..Default::default()
        };
        let mut asked = Vec::new();
        let mut out = ctx.run_ui(input, |ui| asked = take_shortcuts(ui, &commands()));
        out.textures_delta.clear();
        asked
    }

    #[test]
    fn shift_picks_its_own_command() {
        assert_eq!(asked(Key::L, CTRL_SHIFT), [Does::Act(Action::ClearLog)]);
        assert_eq!(asked(Key::L, CTRL), [Does::FocusUrl]);
        assert_eq!(
            asked(Key::F5, Modifiers::SHIFT),
            [Does::Act(Action::Disconnect)]
        );
        assert_eq!(asked(Key::Enter, CTRL_SHIFT), [Does::SendStep]);
        assert_eq!(asked(Key::Enter, CTRL), [Does::Act(Action::Send)]);
        assert!(asked(Key::K, CTRL).is_empty(), "left to the text field");
    }

    #[test]
    fn the_palette_narrows_by_every_word() {
        let commands = commands();
        let names = |q: &str| -> Vec<&str> {
            matching(&commands, q)
                .into_iter()
                .map(|i| commands[i].name)
                .collect()
        };
        assert_eq!(names("clear log"), ["Clear the log"]);
        assert!(names("SESSION").contains(&"Save the session"));
        assert!(names("zzz").is_empty());
        assert_eq!(names("").len(), commands.len());
    }
}
