//! The connection bar: URL, Connect / Disconnect, state, and the outcome of the last attempt.

use crate::app::action::Action;
use crate::app::tab::ConnTab;
use crate::model::ConnState;
use egui::{Color32, RichText};

/// Colour for a connection state badge.
pub fn state_colour(state: ConnState, visuals: &egui::Visuals) -> Color32 {
    match state {
        ConnState::Open => Color32::from_rgb(0x3f, 0xb9, 0x50),
        ConnState::Connecting | ConnState::Closing => Color32::from_rgb(0xd2, 0x99, 0x22),
        ConnState::Idle | ConnState::Closed => visuals.weak_text_color(),
    }
}

pub(crate) fn ui(
    tab: &mut ConnTab,
    echo_url: Option<&str>,
    ui: &mut egui::Ui,
    actions: &mut Vec<Action>,
) {
    ui.add_space(4.0);
    ui.horizontal(|ui| {
        let label = ui.label(RichText::new("URL").strong());
        let busy = tab.is_active();
        let button_width = 110.0;
        let badge_width = 210.0 + 230.0;
        let width = (ui.available_width() - button_width - badge_width - 24.0).max(120.0);
        let edit = egui::TextEdit::singleline(&mut tab.session.endpoint.url)
            .id(super::palette::url_field_id())
            .hint_text("ws://host:port/path  (Ctrl+L)")
            .desired_width(width)
            .font(egui::TextStyle::Monospace);
        let response = ui.add(edit).labelled_by(label.id);
        let enter = response.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        super::protocol::picker_ui(tab, ui);
        if busy {
            let text = if tab.reconnect.is_some() || tab.conn_state == ConnState::Connecting {
                "Cancel"
            } else {
                "Disconnect"
            };
            if ui
                .add_sized([button_width, 22.0], egui::Button::new(text))
                .clicked()
            {
                actions.push(Action::Disconnect);
            }
        } else if ui
            .add_sized([button_width, 22.0], egui::Button::new("Connect"))
            .clicked()
            || enter
        {
            actions.push(Action::Connect);
        }
        let options = if tab.show_options {
            "Hide options"
        } else {
            "Options"
        };
        if ui
            .button(options)
            .on_hover_text("Headers, auth, TLS, proxy and limits")
            .clicked()
        {
            tab.show_options = !tab.show_options;
        }
        let colour = state_colour(tab.conn_state, ui.visuals());
        ui.label(RichText::new(format!("• {}", tab.conn_state.label())).color(colour));
    });
    if tab.show_options {
        ui.separator();
        super::options::ui(tab, ui, actions);
        ui.separator();
    }
    ui.horizontal_wrapped(|ui| {
        if tab.session.endpoint.tls.insecure {
            ui.label(RichText::new("TLS verification off").color(ui.visuals().warn_fg_color))
                .on_hover_text(
                    "Certificates are not checked: the server's identity is not verified.",
                );
            ui.separator();
        }
        if let Some(echo) = echo_url {
            ui.label(RichText::new("built-in echo server:").weak());
            ui.monospace(echo);
            ui.separator();
        }
        super::protocol::status_ui(tab, ui, actions);
        outcome_ui(tab, ui, actions);
    });
    ui.add_space(2.0);
}

fn outcome_ui(tab: &ConnTab, ui: &mut egui::Ui, actions: &mut Vec<Action>) {
    // A collection run since the tab's own last connection: the bar tells its outcome, not the older one.
    if let Some(run) = tab.replay.as_ref().filter(|_| tab.bar_shows_run) {
        let (_, failed) = run.counts();
        let colour = if run.error.is_some() || failed > 0 {
            ui.visuals().error_fg_color
        } else if run.finished {
            egui::Color32::from_rgb(0x3f, 0xb9, 0x50)
        } else {
            ui.visuals().text_color()
        };
        ui.label(RichText::new(format!("Collection run {}", run.summary())).color(colour));
        return;
    }
    if let (Some(pending), Some(left)) = (tab.reconnect, tab.reconnect_in()) {
        ui.label(
            RichText::new(format!(
                "Reconnecting in {:.1} s (attempt {})",
                left.as_secs_f64(),
                pending.attempt
            ))
            .color(ui.visuals().warn_fg_color),
        );
        if ui.small_button("Reconnect now").clicked() {
            actions.push(Action::ReconnectNow);
        }
        if let Some(err) = &tab.error {
            ui.label(
                RichText::new(format!("last error: {err}")).color(ui.visuals().error_fg_color),
            );
        }
        return;
    }
    if let Some(err) = &tab.error {
        ui.label(RichText::new(format!("Error: {err}")).color(ui.visuals().error_fg_color));
        return;
    }
    if let Some(h) = &tab.handshake
        && matches!(tab.conn_state, ConnState::Open | ConnState::Closing)
    {
        let proto = h
            .subprotocol
            .as_deref()
            .map(|p| format!(" · subprotocol {p}"))
            .unwrap_or_default();
        let deflate = if h.deflate.is_some() {
            " · compressed"
        } else {
            ""
        };
        let http2 =
            h.h2.as_ref()
                .map(|h2| format!(" · HTTP/2 stream {}", h2.stream_id))
                .unwrap_or_default();
        ui.label(format!(
            "connected to {} in {:.1} ms{http2}{proto}{deflate}",
            h.peer_addr.as_deref().unwrap_or("?"),
            h.timings.total_ms
        ));
        for w in &h.warnings {
            ui.label(RichText::new(format!("Warning: {w}")).color(ui.visuals().warn_fg_color));
        }
        return;
    }
    if let Some(c) = &tab.close_info {
        ui.label(c.summary());
    }
}
