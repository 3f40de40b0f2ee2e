//! The side panel: the selected message in full (text or hex), and the handshake of the current connection.

use super::log_view::{format_size, format_time};
use super::state::Action;
use super::tab::{ConnTab, SideTab};
use crate::model::{MessageKind, close_code_name, hex_dump};
use egui::RichText;

/// Payloads larger than this are shown truncated (Save writes them whole).
const MAX_SHOWN_BYTES: usize = 256 * 1024;

pub(super) fn ui(
    tab: &mut ConnTab,
    notice: Option<&str>,
    ui: &mut egui::Ui,
    actions: &mut Vec<Action>,
) {
    ui.add_space(4.0);
    ui.horizontal(|ui| {
        ui.selectable_value(&mut tab.side_tab, SideTab::Message, "Message");
        let label = match tab.handshake.as_ref().map(|h| h.status) {
            Some(101) | None => "Handshake".to_owned(),
            Some(0) => "Handshake (no reply)".to_owned(),
            Some(status) => format!("Handshake ({status})"),
        };
        ui.selectable_value(&mut tab.side_tab, SideTab::Handshake, label);
        ui.selectable_value(&mut tab.side_tab, SideTab::Latency, "Latency");
    });
    ui.separator();
    egui::ScrollArea::vertical()
        .id_salt("details-scroll")
        .auto_shrink([false, false])
        .show(ui, |ui| {
            match tab.side_tab {
                SideTab::Message => message_ui(tab, ui, actions),
                SideTab::Latency => super::latency::ui(tab, ui, actions),
                SideTab::Handshake => super::inspector::ui(tab, ui, actions),
            }
            if let Some(note) = notice {
                ui.separator();
                ui.label(RichText::new(note).weak());
            }
        });
}

fn message_ui(tab: &mut ConnTab, ui: &mut egui::Ui, actions: &mut Vec<Action>) {
    let Some(entry) = tab.selected.and_then(|s| tab.log.by_seq(s)) else {
        ui.label(RichText::new("Click a row in the log to see its payload.").weak());
        return;
    };
    ui.label(format!(
        "{} {} · {} · {} · {:.3} ms after connect",
        entry.direction.as_str(),
        entry.kind.as_str(),
        format_size(entry.size()),
        format_time(entry.at),
        entry.since_connect.as_secs_f64() * 1000.0
    ));
    if entry.kind == MessageKind::Close {
        match entry.close_code {
            Some(code) => ui.label(format!("close code {code} ({})", close_code_name(code))),
            None => ui.label("close frame without a status code"),
        };
    }
    let shown = &entry.payload[..entry.payload.len().min(MAX_SHOWN_BYTES)];
    let text_view =
        entry.kind != MessageKind::Binary && std::str::from_utf8(&entry.payload).is_ok();
    let mut body = if text_view {
        String::from_utf8_lossy(shown).into_owned()
    } else {
        hex_dump(shown)
    };
    ui.horizontal_wrapped(|ui| {
        if ui
            .button("Copy")
            .on_hover_text("Copy the payload (text, or hex dump)")
            .clicked()
        {
            ui.ctx().copy_text(body.clone());
        }
        if ui
            .button("Save…")
            .on_hover_text("Save the raw payload to a file")
            .clicked()
        {
            actions.push(Action::SavePayload);
        }
        if let Some(seq) = tab.selected
            && ui
                .button("Save to collection")
                .on_hover_text("Add this message to the session's collection")
                .clicked()
        {
            actions.push(Action::SaveToCollection(seq));
        }
        if entry.payload.len() > MAX_SHOWN_BYTES {
            ui.label(
                RichText::new(format!(
                    "showing the first {}",
                    format_size(MAX_SHOWN_BYTES)
                ))
                .weak(),
            );
        }
    });
    let label = ui.label(
        RichText::new(if text_view {
            "Payload (text)"
        } else {
            "Payload (hex)"
        })
        .weak(),
    );
    let edit = egui::TextEdit::multiline(&mut body)
        .font(egui::TextStyle::Monospace)
        .desired_width(f32::INFINITY)
        .desired_rows(6);
    if text_view {
        ui.add(edit).labelled_by(label.id);
    } else {
        // A hex dump reads only unwrapped: lay it out without wrapping and scroll sideways.
        let colour = ui.visuals().text_color();
        let mut no_wrap = |ui: &egui::Ui, text: &dyn egui::TextBuffer, _wrap_width: f32| {
            let font = egui::TextStyle::Monospace.resolve(ui.style());
            let job = egui::text::LayoutJob::simple(
                text.as_str().to_owned(),
                font,
                colour,
                f32::INFINITY,
            );
            ui.fonts_mut(|f| f.layout_job(job))
        };
        egui::ScrollArea::horizontal()
            .id_salt("hex-scroll")
            .show(ui, |ui| {
                ui.add(edit.layouter(&mut no_wrap)).labelled_by(label.id)
            });
    }
}
