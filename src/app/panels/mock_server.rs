//! The "Mock server" window: rules file, port, Start / Stop and the URL; the clients (id, address, since, last
//! active, messages in and out), ticked to send to, close with a code, or drop; and the server's log, filtered
//! by client.

use crate::app::action::Action;
use crate::app::mock_server::MockPanel;
use egui::RichText;

pub(crate) fn ui(
    panel: &mut MockPanel,
    engine: Option<&crate::engine::Engine>,
    ctx: &egui::Context,
    actions: &mut Vec<Action>,
) {
    if !panel.open {
        return;
    }
    if panel.drain() || panel.starting() {
        ctx.request_repaint();
    }
    if panel.server.is_some() {
        // Clients' "last active" and counts move without events of their own.
        ctx.request_repaint_after(std::time::Duration::from_millis(500));
    }
    let mut open = true;
    egui::Window::new("Mock server")
        .open(&mut open)
        .default_width(720.0)
        .default_height(560.0)
        .resizable(true)
        .show(ctx, |ui| body(panel, engine, ui, actions));
    if !open {
        panel.open = false;
    }
}

fn body(
    panel: &mut MockPanel,
    engine: Option<&crate::engine::Engine>,
    ui: &mut egui::Ui,
    actions: &mut Vec<Action>,
) {
    ui.label(
        RichText::new(
            "A WebSocket server that answers by rules (sockscope serve --rules): connection ids, routes by \
             $request.body.action, groups, faults, and API Gateway's management API on the same port.",
        )
        .weak(),
    );
    let running = panel.server.is_some();
    ui.add_enabled_ui(!running, |ui| {
        ui.horizontal(|ui| {
            let label = ui.label("Rules file");
            ui.add(
                egui::TextEdit::singleline(&mut panel.rules_path)
                    .hint_text("assets/mock/chat.ron (empty: no rules)")
                    .desired_width(320.0),
            )
            .labelled_by(label.id);
            let label = ui.label("Port");
            ui.add(egui::DragValue::new(&mut panel.port).range(0..=65535))
                .labelled_by(label.id)
                .on_hover_text("0: any free port");
            ui.checkbox(&mut panel.tls, "wss (self-signed)")
                .on_hover_text(
                    "TLS with a certificate made on the spot for 127.0.0.1 and localhost",
                );
        });
    });
    rules_editor_ui(panel, running, ui);
    ui.horizontal(|ui| {
        if running {
            if ui.button("Stop").clicked() {
                actions.push(Action::StopMockServer);
            }
            if let Some(server) = &panel.server {
                let url = server.url();
                ui.label(RichText::new(&url).monospace());
                if ui.small_button("Copy URL").clicked() {
                    ui.ctx().copy_text(url);
                }
                if let Some(sha) = server.sha256() {
                    ui.label(RichText::new(format!("SHA-256 {sha}")).monospace().weak())
                        .on_hover_text(
                            "The self-signed certificate's fingerprint: trust it in the client",
                        );
                }
            }
        } else if panel.starting() {
            ui.spinner();
            ui.label("starting…");
        } else if ui
            .add_enabled(engine.is_some(), egui::Button::new("Start"))
            .on_hover_text("Listen on 127.0.0.1 with these rules")
            .clicked()
            && let Some(engine) = engine
        {
            panel.start(engine, ui.ctx());
        }
    });
    if let Some(error) = &panel.error {
        ui.label(
            RichText::new(format!("Could not start: {error}")).color(ui.visuals().error_fg_color),
        );
    }
    let Some(server) = &panel.server else {
        return;
    };
    ui.separator();
    let clients = server.clients();
    ui.horizontal(|ui| {
        ui.strong(format!("Clients ({})", clients.len()));
        if ui.small_button("All").clicked() {
            panel.selected = clients.iter().map(|(id, _)| id.clone()).collect();
        }
        if ui.small_button("None").clicked() {
            panel.selected.clear();
        }
    });
    if clients.is_empty() {
        ui.label(RichText::new("No client yet: connect one to the URL above.").weak());
    }
    egui::ScrollArea::vertical()
        .id_salt("mock-clients")
        .max_height(160.0)
        .show(ui, |ui| {
            egui::Grid::new("mock-clients-grid")
                .num_columns(6)
                .striped(true)
                .show(ui, |ui| {
                    for title in [
                        "connection id",
                        "address",
                        "since",
                        "last active",
                        "in / out",
                        "path",
                    ] {
                        ui.label(RichText::new(title).weak());
                    }
                    ui.end_row();
                    for (id, client) in &clients {
                        let mut ticked = panel.selected.contains(id);
                        if ui
                            .checkbox(&mut ticked, RichText::new(id).monospace())
                            .changed()
                        {
                            if ticked {
                                panel.selected.insert(id.clone());
                            } else {
                                panel.selected.remove(id);
                            }
                        }
                        ui.label(&client.peer);
                        ui.label(crate::app::panels::log_view::format_time(
                            client.connected_at,
                        ));
                        ui.label(crate::app::panels::log_view::format_time(
                            client.last_active(),
                        ));
                        ui.label(format!(
                            "{} / {}",
                            client.counts.0.load(std::sync::atomic::Ordering::Relaxed),
                            client.counts.1.load(std::sync::atomic::Ordering::Relaxed)
                        ));
                        ui.label(&client.request.path);
                        ui.end_row();
                    }
                });
        });
    let some = !panel.selected.is_empty();
    ui.horizontal(|ui| {
        let label = ui.label("Message to send");
        ui.add(
            egui::TextEdit::singleline(&mut panel.message)
                .hint_text("text to send")
                .desired_width(280.0),
        )
        .labelled_by(label.id);
        if ui
            .add_enabled(some, egui::Button::new("Send to selected"))
            .clicked()
        {
            panel.send(false);
        }
        if ui
            .add_enabled(!clients.is_empty(), egui::Button::new("Send to all"))
            .clicked()
        {
            panel.send(true);
        }
    });
    ui.horizontal(|ui| {
        let label = ui.label("Close code");
        ui.add(egui::DragValue::new(&mut panel.close_code).range(1000..=4999))
            .labelled_by(label.id);
        let label = ui.label("Reason");
        ui.add(egui::TextEdit::singleline(&mut panel.close_reason).desired_width(160.0))
            .labelled_by(label.id);
        if ui
            .add_enabled(some, egui::Button::new("Close selected"))
            .clicked()
        {
            panel.close();
        }
        if ui
            .add_enabled(some, egui::Button::new("Drop selected"))
            .on_hover_text("A TCP reset: no close frame")
            .clicked()
        {
            panel.drop_clients();
        }
    });
    ui.horizontal(|ui| {
        let label = ui.label("Fault");
        egui::ComboBox::from_id_salt("mock-fault")
            .selected_text(panel.fault.describe())
            .show_ui(ui, |ui| {
                for fault in crate::app::mock_server::CLIENT_FAULTS {
                    let text = fault.describe();
                    ui.selectable_value(&mut panel.fault, fault, text);
                }
            })
            .response
            .labelled_by(label.id);
        if ui
            .add_enabled(some, egui::Button::new("Inject on selected"))
            .on_hover_text("Misbehave on purpose towards the ticked clients (logged as a fault)")
            .clicked()
        {
            panel.inject();
        }
    });
    if let Some(status) = &panel.status {
        ui.label(RichText::new(status).weak());
    }
    ui.separator();
    ui.horizontal(|ui| {
        ui.strong("Log");
        let label = ui.label("client");
        let shown = if panel.log_filter.is_empty() {
            "all".to_owned()
        } else {
            panel.log_filter.clone()
        };
        egui::ComboBox::from_id_salt("mock-log-filter")
            .selected_text(shown)
            .show_ui(ui, |ui| {
                ui.selectable_value(&mut panel.log_filter, String::new(), "all");
                for (id, _) in &clients {
                    ui.selectable_value(&mut panel.log_filter, id.clone(), id);
                }
            })
            .response
            .labelled_by(label.id);
        if panel.log_dropped > 0 {
            ui.label(RichText::new(format!("({} oldest dropped)", panel.log_dropped)).weak());
        }
    });
    let filter = panel.log_filter.clone();
    egui::ScrollArea::vertical()
        .id_salt("mock-log")
        .stick_to_bottom(true)
        .auto_shrink([false, false])
        .show(ui, |ui| {
            // The last 500 lines that pass the filter.
            let lines: Vec<&str> = panel
                .log
                .iter()
                .rev()
                .filter(|l| filter.is_empty() || l.id == filter || l.id.is_empty())
                .take(500)
                .map(|l| l.text.as_str())
                .collect();
            for line in lines.into_iter().rev() {
                ui.label(RichText::new(line).monospace());
            }
        });
}

/// The rules as RON, edited here: loaded from the file (off this thread), checked as typed (line and column),
/// saved atomically once they parse. Start serves them when the editor is open and not empty.
fn rules_editor_ui(panel: &mut MockPanel, running: bool, ui: &mut egui::Ui) {
    ui.horizontal(|ui| {
        ui.checkbox(&mut panel.editing, "Edit rules")
            .on_hover_text("Edit the rules as RON here; Start serves what the editor holds");
        if !panel.editing {
            return;
        }
        let named = !panel.rules_path.trim().is_empty();
        if ui
            .add_enabled(named, egui::Button::new("Load from file"))
            .clicked()
        {
            panel.load_text(ui.ctx());
        }
        if ui
            .add_enabled(named, egui::Button::new("Save to file"))
            .on_hover_text("Written atomically, and only when the rules parse")
            .clicked()
        {
            panel.save_text(ui.ctx());
        }
        if ui
            .button("Example")
            .on_hover_text("The chat rules of assets/mock/chat.ron")
            .clicked()
        {
            panel.rules_text = include_str!("../../../assets/mock/chat.ron").to_owned();
        }
    });
    if !panel.editing {
        return;
    }
    if let Some(status) = &panel.rules_status {
        ui.label(RichText::new(status).weak());
    }
    if !panel.rules_text.trim().is_empty() {
        match panel.checked() {
            Ok(n) => {
                ui.label(RichText::new(format!("The rules parse: {n} rules.")).weak());
            }
            Err(e) => {
                ui.label(RichText::new(e).color(ui.visuals().error_fg_color));
            }
        }
    }
    egui::ScrollArea::vertical()
        .id_salt("mock-rules-text")
        .max_height(180.0)
        .show(ui, |ui| {
            let label = ui.label(RichText::new("Rules (RON)").weak());
            ui.add_enabled(
                !running,
                egui::TextEdit::multiline(&mut panel.rules_text)
                    .font(egui::TextStyle::Monospace)
                    .desired_rows(8)
                    .desired_width(f32::INFINITY)
                    .hint_text("MockRules(rules: [Rule(name: \"echo\", when: Route(\"$default\"), then: [Reply(\"{{request.body}}\")])])"),
            )
            .labelled_by(label.id);
        });
}
