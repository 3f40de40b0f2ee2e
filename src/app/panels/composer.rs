//! The composer: write a text or binary message and send it; ping; close with a code and reason.

use crate::app::action::Action;
use crate::app::tab::ConnTab;
use crate::model::{ConnState, PayloadFormat, close_code_name, close_code_sendable};
use egui::RichText;

pub(crate) fn ui(tab: &mut ConnTab, ui: &mut egui::Ui, actions: &mut Vec<Action>) {
    let open = tab.conn_state == ConnState::Open;
    // Ctrl+Enter (Send) is taken with the other shortcuts, before the text box sees it as a newline.
    ui.add_space(4.0);
    super::protocol::composer_ui(tab, ui, actions);
    ui.horizontal(|ui| {
        let format_label = ui.label("Format");
        egui::ComboBox::from_id_salt("payload-format")
            .selected_text(tab.composer.format.label())
            .show_ui(ui, |ui| {
                for f in [
                    PayloadFormat::Text,
                    PayloadFormat::Json,
                    PayloadFormat::Hex,
                    PayloadFormat::Base64,
                ] {
                    ui.selectable_value(&mut tab.composer.format, f, f.label());
                }
            })
            .response
            .labelled_by(format_label.id);
        ui.separator();
        let send = ui
            .add_enabled(open, egui::Button::new("Send"))
            .on_hover_text("Send the message (Ctrl+Enter)")
            .on_disabled_hover_text("Connect first");
        if send.clicked() {
            actions.push(Action::Send);
        }
        if tab.deflate_agreed() {
            ui.checkbox(&mut tab.composer.compress, "Compress").on_hover_text(
                "permessage-deflate was agreed: Send compresses the message (RSV1 set). Untick to send it \
                 as it is, which is legal too.",
            );
        }
        ui.separator();
        let ping_label = ui.label("Ping payload");
        ui.add(egui::TextEdit::singleline(&mut tab.composer.ping_payload).desired_width(90.0))
            .labelled_by(ping_label.id);
        if ui.add_enabled(open, egui::Button::new("Ping")).clicked() {
            actions.push(Action::Ping);
        }
        ui.separator();
        let code_label = ui.label("Close code");
        let code_response = ui
            .add(egui::TextEdit::singleline(&mut tab.composer.close_code).desired_width(44.0))
            .labelled_by(code_label.id);
        if let Ok(code) = tab.composer.close_code.trim().parse::<u16>() {
            let hint = if close_code_sendable(code) {
                close_code_name(code).to_owned()
            } else {
                format!("{}: RFC 6455 forbids sending it", close_code_name(code))
            };
            code_response.on_hover_text(hint);
        }
        let reason_label = ui.label("Reason");
        ui.add(egui::TextEdit::singleline(&mut tab.composer.close_reason).desired_width(110.0))
            .labelled_by(reason_label.id);
        if ui.add_enabled(open, egui::Button::new("Close")).clicked() {
            actions.push(Action::Close);
        }
        ui.separator();
        ui.toggle_value(&mut tab.composer.show_frames, "Frames")
            .on_hover_text("Fragmented sends and hand-built frames");
    });
    if tab.composer.show_frames {
        frames_ui(tab, open, ui, actions);
    }
    if let Some(err) = &tab.composer.error {
        ui.label(RichText::new(format!("Error: {err}")).color(ui.visuals().error_fg_color));
    }
    let json = tab.composer.format == PayloadFormat::Json;
    let message_label = if json {
        json_bar_ui(tab, ui)
    } else {
        ui.label(RichText::new("Message").weak())
    };
    let hint = match tab.composer.format {
        PayloadFormat::Text => "Text to send (Ctrl+Enter sends)",
        PayloadFormat::Json => {
            "JSON to send, e.g. {\"type\": \"hello\", \"id\": {{counter}}} (Ctrl+Enter sends)"
        }
        PayloadFormat::Hex => "Hex bytes, e.g. 48 65 6c 6c 6f or 0x48656c6c6f",
        PayloadFormat::Base64 => "Base64, e.g. SGVsbG8=",
    };
    egui::ScrollArea::vertical()
        .id_salt("composer-scroll")
        .show(ui, |ui| {
            let mut colours = |ui: &egui::Ui, text: &dyn egui::TextBuffer, wrap_width: f32| {
                let mut job = crate::app::widgets::json_colours::job(text.as_str(), ui);
                job.wrap.max_width = wrap_width;
                ui.fonts_mut(|f| f.layout_job(job))
            };
            let mut edit = egui::TextEdit::multiline(&mut tab.composer.text)
                .hint_text(hint)
                .font(egui::TextStyle::Monospace)
                .desired_width(f32::INFINITY)
                .desired_rows(4);
            if json {
                edit = edit.layouter(&mut colours);
            }
            ui.add(edit).labelled_by(message_label.id);
        });
}

/// JSON mode: the message's title, whether it is valid (with the line and column of the first problem) and
/// Beautify / Minify. Returns the title, which labels the text box.
fn json_bar_ui(tab: &mut ConnTab, ui: &mut egui::Ui) -> egui::Response {
    // The codec follows its setting (Options → Codec) here too: Send encodes with the one shown.
    tab.codec.update(&tab.session.endpoint.codec, ui.ctx());
    let codec = tab.codec.ready().cloned();
    let composer = &mut tab.composer;
    ui.horizontal(|ui| {
        let title = ui.label(RichText::new("Message (JSON)").weak());
        let problem = composer.json_problem().cloned();
        for (name, pretty, hint) in [
            ("Beautify", true, "Indent the JSON two spaces a level"),
            (
                "Minify",
                false,
                "Remove every space and line break outside strings",
            ),
        ] {
            let button = ui
                .add_enabled(problem.is_none(), egui::Button::new(name).small())
                .on_hover_text(hint)
                .on_disabled_hover_text("Fix the JSON first");
            if button.clicked()
                && let Ok(text) = crate::model::json_text::reformat(&composer.text, pretty)
            {
                composer.text = text;
            }
        }
        match problem {
            None => ui.label(RichText::new("valid JSON").color(ui.visuals().weak_text_color())),
            Some(p) => ui.label(
                RichText::new(format!("not valid JSON: {p}")).color(ui.visuals().error_fg_color),
            ),
        };
        ui.weak("{{templates}} are values, expanded when sent");
        if let Some(codec) = &codec {
            ui.checkbox(&mut composer.encode, format!("Encode as {}", codec.describe()))
                .on_hover_text(
                    "Send encodes the JSON with the connection's codec (Options → Codec): a binary message. \
                     Untick to send the JSON as text.",
                );
        }
        title
    })
    .inner
}

const OPCODES: [(u8, &str); 9] = [
    (0x0, "0x0 continuation"),
    (0x1, "0x1 text"),
    (0x2, "0x2 binary"),
    (0x3, "0x3 reserved"),
    (0x8, "0x8 close"),
    (0x9, "0x9 ping"),
    (0xA, "0xA pong"),
    (0xB, "0xB reserved"),
    (0xF, "0xF reserved"),
];

fn frames_ui(tab: &mut ConnTab, open: bool, ui: &mut egui::Ui, actions: &mut Vec<Action>) {
    let composer = &mut tab.composer;
    ui.horizontal(|ui| {
        let label = ui.label("Fragment size (bytes)");
        ui.add(egui::TextEdit::singleline(&mut composer.fragment_size).desired_width(50.0))
            .labelled_by(label.id);
        if ui
            .add_enabled(open, egui::Button::new("Send fragmented"))
            .on_hover_text("Send the message as a first frame and continuation frames of this size")
            .clicked()
        {
            actions.push(Action::SendFragmented);
        }
        ui.separator();
        let label = ui.label("Opcode");
        let selected = OPCODES
            .iter()
            .find(|(o, _)| *o == composer.raw_opcode)
            .map(|(_, n)| (*n).to_owned())
            .unwrap_or_else(|| format!("0x{:x}", composer.raw_opcode));
        egui::ComboBox::from_id_salt("raw-opcode")
            .selected_text(selected)
            .show_ui(ui, |ui| {
                for (o, name) in OPCODES {
                    ui.selectable_value(&mut composer.raw_opcode, o, name);
                }
            })
            .response
            .labelled_by(label.id);
        ui.checkbox(&mut composer.raw_fin, "FIN");
        ui.checkbox(&mut composer.raw_rsv[0], "RSV1");
        ui.checkbox(&mut composer.raw_rsv[1], "RSV2");
        ui.checkbox(&mut composer.raw_rsv[2], "RSV3");
        if ui
            .add_enabled(open, egui::Button::new("Send frame"))
            .on_hover_text("Send the payload as exactly this one frame")
            .clicked()
        {
            actions.push(Action::SendRawFrame);
        }
    });
}
