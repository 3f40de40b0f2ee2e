//! The tab strip: one tab per connection with a state badge, a close button each, New and Disconnect all.

use super::connection::state_colour;
use crate::app::action::Action;
use crate::app::tab::ConnTab;

/// The strip over `tabs`, with tab `active` shown as selected.
pub(crate) fn ui(tabs: &[ConnTab], active: usize, ui: &mut egui::Ui, actions: &mut Vec<Action>) {
    ui.horizontal(|ui| {
        for (i, tab) in tabs.iter().enumerate() {
            let colour = state_colour(tab.conn_state, ui.visuals());
            let selected = i == active;
            let title = tab.title();
            let badge = if tab.reconnect.is_some() {
                "reconnecting"
            } else {
                tab.conn_state.label()
            };
            let text_colour = if selected {
                ui.visuals().strong_text_color()
            } else {
                ui.visuals().text_color()
            };
            let font = egui::TextStyle::Button.resolve(ui.style());
            let mut job = egui::text::LayoutJob::default();
            job.append("• ", 0.0, egui::TextFormat::simple(font.clone(), colour));
            job.append(&title, 0.0, egui::TextFormat::simple(font, text_colour));
            let response = ui
                .selectable_label(selected, job)
                .on_hover_text(format!("{} — {badge}", tab.session.endpoint.url));
            if response.clicked() {
                actions.push(Action::SelectTab(i));
            }
            if ui
                .small_button("x")
                .on_hover_text(format!(
                    "Close the tab {title} (its connection closes cleanly)"
                ))
                .clicked()
            {
                actions.push(Action::CloseTab(i));
            }
            ui.separator();
        }
        if ui
            .button("+ New")
            .on_hover_text("Open another connection tab")
            .clicked()
        {
            actions.push(Action::NewTab);
        }
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            let any = tabs.iter().any(|t| t.is_active());
            if ui
                .add_enabled(any, egui::Button::new("Disconnect all"))
                .clicked()
            {
                actions.push(Action::DisconnectAll);
            }
        });
    });
}
