//! The tab strip: one tab per connection with a state badge, then the server tabs (mock servers), a close
//! button each, New tab, New server tab and Disconnect all.

use super::connection::state_colour;
use crate::app::action::Action;
use crate::app::mock_server::MockPanel;
use crate::app::tab::ConnTab;
use crate::model::ConnState;

/// One tab: its state as a shape and a colour (filled: open; half: connecting or closing; ring: closed;
/// arrow-like ring with a gap: reconnecting), its title, and its close button.
fn tab_ui(tab: &ConnTab, i: usize, selected: bool, ui: &mut egui::Ui, actions: &mut Vec<Action>) {
    ui.horizontal(|ui| {
        ui.spacing_mut().item_spacing.x = 4.0;
        let colour = state_colour(tab.conn_state, ui.visuals());
        let badge = if tab.reconnect.is_some() {
            "reconnecting"
        } else {
            tab.conn_state.label()
        };
        let (rect, dot) = ui.allocate_exact_size(egui::vec2(12.0, 12.0), egui::Sense::hover());
        dot.widget_info(|| {
            egui::WidgetInfo::labeled(egui::Role::Label, true, format!("state: {badge}"))
        });
        let painter = ui.painter();
        let (centre, r) = (rect.center(), 5.0);
        match (tab.reconnect.is_some(), tab.conn_state) {
            (true, _) => {
                painter.circle_stroke(centre, r, egui::Stroke::new(2.0, colour));
                painter.circle_filled(centre + egui::vec2(r, 0.0), 2.0, ui.visuals().panel_fill);
            }
            (_, ConnState::Open) => {
                painter.circle_filled(centre, r, colour);
            }
            (_, ConnState::Connecting | ConnState::Closing) => {
                painter.circle_stroke(centre, r, egui::Stroke::new(1.5, colour));
                let half = egui::Rect::from_min_max(
                    centre - egui::vec2(r, r),
                    centre + egui::vec2(0.0, r),
                );
                painter
                    .with_clip_rect(half)
                    .circle_filled(centre, r, colour);
            }
            (_, ConnState::Idle | ConnState::Closed) => {
                painter.circle_stroke(centre, r, egui::Stroke::new(1.5, colour));
            }
        }
        dot.on_hover_text(badge);
        let title = tab.title();
        let text_colour = if selected {
            ui.visuals().strong_text_color()
        } else {
            ui.visuals().text_color()
        };
        let font = egui::TextStyle::Button.resolve(ui.style());
        let mut job = egui::text::LayoutJob::default();
        job.append(&title, 0.0, egui::TextFormat::simple(font, text_colour));
        let response = ui
            .selectable_label(selected, job)
            .on_hover_text(format!("{} — {badge}", tab.session.endpoint.url));
        if response.clicked() {
            actions.push(Action::SelectTab(i));
        }
        if ui
            .add(egui::Button::new("x").frame(false).small())
            .on_hover_text(format!(
                "Close the tab {title} (its connection closes cleanly)"
            ))
            .clicked()
        {
            actions.push(Action::CloseTab(i));
        }
    });
}

/// Which tab is shown.
#[derive(Clone, Copy, Debug)]
pub(crate) struct View {
    /// The active connection tab.
    pub active: usize,
    /// The server tab shown instead, if one is.
    pub server: Option<usize>,
}

fn tab_fill(selected: bool, ui: &egui::Ui) -> egui::Color32 {
    if selected {
        ui.visuals().selection.bg_fill.gamma_multiply(0.45)
    } else {
        ui.visuals().faint_bg_color
    }
}

/// A server tab: a square badge (filled: listening; ring: stopped), its title (the port), its close button.
fn server_tab_ui(
    server: &MockPanel,
    i: usize,
    selected: bool,
    ui: &mut egui::Ui,
    actions: &mut Vec<Action>,
) {
    ui.horizontal(|ui| {
        ui.spacing_mut().item_spacing.x = 4.0;
        let listening = server.server.is_some();
        let colour = if listening {
            egui::Color32::from_rgb(0x3f, 0xb9, 0x50)
        } else {
            ui.visuals().weak_text_color()
        };
        let badge = if listening { "listening" } else { "stopped" };
        let (rect, dot) = ui.allocate_exact_size(egui::vec2(12.0, 12.0), egui::Sense::hover());
        dot.widget_info(|| {
            egui::WidgetInfo::labeled(egui::Role::Label, true, format!("server: {badge}"))
        });
        let square = egui::Rect::from_center_size(rect.center(), egui::vec2(9.0, 9.0));
        if listening {
            ui.painter().rect_filled(square, 1.5, colour);
        } else {
            ui.painter().rect_stroke(
                square,
                1.5,
                egui::Stroke::new(1.5, colour),
                egui::StrokeKind::Inside,
            );
        }
        dot.on_hover_text(badge);
        let title = server.title();
        let hover = match server.url() {
            Some(url) => format!("{url}: {} clients", server.clients_len()),
            None => "A mock server: not listening".to_owned(),
        };
        if ui
            .selectable_label(selected, &title)
            .on_hover_text(hover)
            .clicked()
        {
            actions.push(Action::SelectServerTab(i));
        }
        if ui
            .add(egui::Button::new("x").frame(false).small())
            .on_hover_text(format!(
                "Close the server tab {title} (its clients are closed with 1001)"
            ))
            .clicked()
        {
            actions.push(Action::CloseServerTab(i));
        }
    });
}

/// The strip over `tabs` and `servers`, with the tab `view` names shown as selected.
pub(crate) fn ui(
    tabs: &[ConnTab],
    servers: &[MockPanel],
    view: View,
    ui: &mut egui::Ui,
    actions: &mut Vec<Action>,
) {
    ui.horizontal(|ui| {
        for (i, tab) in tabs.iter().enumerate() {
            let selected = view.server.is_none() && i == view.active;
            // The tab and its close button are one piece: a frame around both.
            egui::Frame::new()
                .fill(tab_fill(selected, ui))
                .corner_radius(4.0)
                .inner_margin(egui::Margin::symmetric(4, 1))
                .show(ui, |ui| tab_ui(tab, i, selected, ui, actions));
        }
        if !servers.is_empty() {
            ui.separator();
        }
        for (i, server) in servers.iter().enumerate() {
            let selected = view.server == Some(i);
            egui::Frame::new()
                .fill(tab_fill(selected, ui))
                .corner_radius(4.0)
                .inner_margin(egui::Margin::symmetric(4, 1))
                .show(ui, |ui| server_tab_ui(server, i, selected, ui, actions));
        }
        if ui
            .button("+ New tab")
            .on_hover_text("A new tab with an untitled session (Ctrl+T)")
            .clicked()
        {
            actions.push(Action::NewTab);
        }
        if ui
            .button("+ Server tab")
            .on_hover_text(
                "A mock WebSocket server to test a client against: rules, connection ids, faults",
            )
            .clicked()
        {
            actions.push(Action::NewServerTab);
        }
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            let any = tabs.iter().any(|t| t.is_active());
            if ui
                .add_enabled(any, egui::Button::new("Disconnect all"))
                .clicked()
            {
                actions.push(Action::DisconnectAll);
            }
            if ui
                .button("Shortcuts")
                .on_hover_text("Every keyboard shortcut (F1)")
                .clicked()
            {
                actions.push(Action::ShowShortcuts);
            }
            if ui
                .button("Commands…")
                .on_hover_text("Find and run any command by name (Ctrl+Shift+P)")
                .clicked()
            {
                actions.push(Action::OpenPalette);
            }
        });
    });
}
