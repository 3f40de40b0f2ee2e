//! A server tab: a mock WebSocket server beside the connection tabs. At the top its settings (rules file, port,
//! address, ws / wss, path, subprotocols, required token or headers), Start / Stop and the URL; on the left its
//! clients, ticked to send to, close with a code, drop or break; in the middle every client's traffic and the
//! server's events with a connection-id column, filtered by client and by text; on the right the picked client's
//! handshake and the picked message; at the bottom the composer.

use crate::app::mock_log::{RowKind, Tone};
use crate::app::mock_server::{MockPanel, TlsChoice};
use egui::RichText;

/// Characters of a payload shown in a log row.
const ROW_PREVIEW: usize = 240;
/// Bytes of a picked message shown in the details (the rest is cut, and said so).
const DETAILS_CAP: usize = 64 * 1024;

pub(crate) fn ui(panel: &mut MockPanel, engine: Option<&crate::engine::Engine>, ui: &mut egui::Ui) {
    egui::Panel::top("server-settings").show(ui, |ui| settings_ui(panel, engine, ui));
    egui::Panel::bottom("server-composer")
        .resizable(true)
        .default_size(150.0)
        .min_size(120.0)
        .show(ui, |ui| composer_ui(panel, ui));
    egui::Panel::left("server-clients")
        .resizable(true)
        .default_size(300.0)
        .min_size(220.0)
        .max_size(520.0)
        .show(ui, |ui| clients_ui(panel, ui));
    egui::Panel::right("server-details")
        .resizable(true)
        .default_size(340.0)
        .min_size(240.0)
        .max_size(760.0)
        .show(ui, |ui| details_ui(panel, ui));
    egui::CentralPanel::default().show(ui, |ui| {
        if panel.editing {
            ui.horizontal(|ui| {
                if ui.selectable_label(!panel.rules_view, "Log").clicked() {
                    panel.rules_view = false;
                }
                let rules = match panel.checked() {
                    Ok(n) => format!("Rules ({n})"),
                    Err(_) => "Rules (does not parse)".to_owned(),
                };
                if ui.selectable_label(panel.rules_view, rules).clicked() {
                    panel.rules_view = true;
                }
            });
            ui.separator();
        }
        if panel.editing && panel.rules_view {
            rules_ui(panel, ui);
        } else {
            log_ui(panel, ui);
        }
    });
}

fn settings_ui(panel: &mut MockPanel, engine: Option<&crate::engine::Engine>, ui: &mut egui::Ui) {
    ui.add_space(2.0);
    let running = panel.server.is_some() || panel.starting();
    ui.add_enabled_ui(!running, |ui| {
        ui.horizontal_wrapped(|ui| {
            let label = ui.label("Rules file");
            ui.add(
                egui::TextEdit::singleline(&mut panel.rules_path)
                    .hint_text("assets/mock/chat.ron (empty: no rules)")
                    .desired_width(260.0),
            )
            .labelled_by(label.id);
            let label = ui.label("Port");
            ui.add(egui::DragValue::new(&mut panel.port).range(0..=65535))
                .labelled_by(label.id)
                .on_hover_text("0: any free port");
            let label = ui.label("Address");
            ui.add(
                egui::TextEdit::singleline(&mut panel.bind)
                    .hint_text("127.0.0.1")
                    .desired_width(100.0),
            )
            .labelled_by(label.id)
            .on_hover_text("127.0.0.1 unless clients on other machines must reach it (0.0.0.0)");
            let label = ui.label("Scheme");
            egui::ComboBox::from_id_salt("server-tls")
                .selected_text(match panel.tls {
                    TlsChoice::Off => "ws",
                    TlsChoice::SelfSigned => "wss, self-signed",
                    TlsChoice::Files => "wss, my certificate",
                })
                .show_ui(ui, |ui| {
                    ui.selectable_value(&mut panel.tls, TlsChoice::Off, "ws");
                    ui.selectable_value(&mut panel.tls, TlsChoice::SelfSigned, "wss, self-signed")
                        .on_hover_text("A certificate made on the spot for 127.0.0.1 and localhost");
                    ui.selectable_value(&mut panel.tls, TlsChoice::Files, "wss, my certificate");
                })
                .response
                .labelled_by(label.id);
        });
        if panel.tls == TlsChoice::Files {
            ui.horizontal(|ui| {
                let label = ui.label("Certificate (PEM)");
                ui.add(egui::TextEdit::singleline(&mut panel.cert_path).desired_width(240.0))
                    .labelled_by(label.id);
                let label = ui.label("Key (PEM)");
                ui.add(egui::TextEdit::singleline(&mut panel.key_path).desired_width(240.0))
                    .labelled_by(label.id);
            });
        }
        ui.horizontal_wrapped(|ui| {
            let label = ui.label("Path");
            ui.add(
                egui::TextEdit::singleline(&mut panel.path)
                    .hint_text("any (or the rules file's)")
                    .desired_width(130.0),
            )
            .labelled_by(label.id);
            let label = ui.label("Subprotocols");
            ui.add(
                egui::TextEdit::singleline(&mut panel.subprotocols)
                    .hint_text("graphql-transport-ws, mqtt")
                    .desired_width(170.0),
            )
            .labelled_by(label.id)
            .on_hover_text("Accepted, in order of preference: the first the client offers is selected");
            let label = ui.label("Bearer token");
            ui.add(
                egui::TextEdit::singleline(&mut panel.bearer_token)
                    .hint_text("none required")
                    .desired_width(120.0),
            )
            .labelled_by(label.id)
            .on_hover_text("Clients without Authorization: Bearer <token> get a 401 with a body ({{env.NAME}} works)");
            let label = ui.label("Required headers");
            ui.add(
                egui::TextEdit::multiline(&mut panel.require_headers)
                    .hint_text("X-Api-Key: secret")
                    .desired_rows(1)
                    .desired_width(170.0),
            )
            .labelled_by(label.id)
            .on_hover_text("One Name: value a line; a client without them gets a 401");
        });
    });
    if let Ok(addr) = panel.listen_addr()
        && !addr.is_loopback()
    {
        ui.label(
            RichText::new(format!(
                "Warning: {addr} can be reached from other machines; 127.0.0.1 cannot."
            ))
            .color(ui.visuals().warn_fg_color),
        );
    }
    rules_editor_ui(panel, ui);
    ui.horizontal(|ui| {
        if panel.server.is_some() {
            if ui
                .button("Stop")
                .on_hover_text("Clients are closed with 1001")
                .clicked()
            {
                panel.stop();
            }
            if let Some(url) = panel.url() {
                ui.label(RichText::new(&url).monospace().strong());
                if ui.small_button("Copy URL").clicked() {
                    ui.ctx().copy_text(url);
                }
            }
            if let Some(sha) = panel.server.as_ref().and_then(|s| s.sha256()) {
                ui.label(RichText::new(format!("SHA-256 {sha}")).monospace().weak())
                    .on_hover_text("The certificate's fingerprint: trust it in the client");
            }
        } else if panel.starting() {
            ui.spinner();
            ui.label("starting…");
        } else if ui
            .add_enabled(engine.is_some(), egui::Button::new("Start"))
            .on_hover_text(
                "Listen with these rules and settings (empty fields keep the rules file's)",
            )
            .clicked()
            && let Some(engine) = engine
        {
            panel.start(engine, ui.ctx());
        }
        if !panel.serving.is_empty() {
            ui.label(RichText::new(panel.serving.join(" · ")).weak());
        }
    });
    if let Some(error) = &panel.error {
        ui.label(
            RichText::new(format!("Could not start: {error}")).color(ui.visuals().error_fg_color),
        );
    }
    ui.add_space(2.0);
}

fn clients_ui(panel: &mut MockPanel, ui: &mut egui::Ui) {
    let n = panel.clients.len();
    ui.horizontal(|ui| {
        ui.strong(format!("Clients ({n})"));
        if ui
            .small_button("All")
            .on_hover_text("Tick every client")
            .clicked()
        {
            panel.selected = panel.clients.iter().map(|(id, _)| id.clone()).collect();
        }
        if ui.small_button("None").clicked() {
            panel.selected.clear();
        }
    });
    if panel.server.is_none() {
        ui.label(RichText::new("Start the server: its clients appear here.").weak());
        return;
    }
    if n == 0 {
        ui.label(RichText::new("No client yet: connect one to the URL above.").weak());
        return;
    }
    let line = ui.text_style_height(&egui::TextStyle::Body);
    let row_height = line * 2.0 + ui.spacing().item_spacing.y * 2.0 + 4.0;
    egui::ScrollArea::vertical()
        .id_salt("server-clients-list")
        .auto_shrink([false, false])
        .show_rows(ui, row_height, n, |ui, range| {
            for i in range {
                let Some((id, client)) = panel.clients.get(i) else {
                    continue;
                };
                let id = id.clone();
                ui.allocate_ui(egui::vec2(ui.available_width(), row_height), |ui| {
                    ui.vertical(|ui| {
                        ui.horizontal(|ui| {
                            let mut ticked = panel.selected.contains(&id);
                            if ui
                                .checkbox(&mut ticked, RichText::new(&id).monospace())
                                .changed()
                            {
                                if ticked {
                                    panel.selected.insert(id.clone());
                                    panel.inspected = Some(id.clone());
                                } else {
                                    panel.selected.remove(&id);
                                }
                            }
                            let inspected = panel.inspected.as_deref() == Some(id.as_str());
                            if ui
                                .selectable_label(inspected, "handshake")
                                .on_hover_text("Show this client's upgrade request in the details")
                                .clicked()
                            {
                                panel.inspected = Some(id.clone());
                            }
                        });
                        let counts = &client.counts;
                        let clock = |t: std::time::SystemTime| {
                            chrono::DateTime::<chrono::Local>::from(t)
                                .format("%H:%M:%S")
                                .to_string()
                        };
                        ui.add(
                            egui::Label::new(
                                RichText::new(format!(
                                    "{} · since {}, active {} · in {} out {}",
                                    client.peer,
                                    clock(client.connected_at),
                                    clock(client.last_active()),
                                    counts.0.load(std::sync::atomic::Ordering::Relaxed),
                                    counts.1.load(std::sync::atomic::Ordering::Relaxed),
                                ))
                                .small()
                                .weak(),
                            )
                            .truncate(),
                        )
                        .on_hover_text(
                            "address · connected at, last active · messages in (from the client) and out (to it)",
                        );
                    });
                });
            }
        });
}

fn composer_ui(panel: &mut MockPanel, ui: &mut egui::Ui) {
    let running = panel.server.is_some();
    let some = running && !panel.selected.is_empty();
    let any = running && !panel.clients.is_empty();
    ui.add_space(2.0);
    ui.horizontal(|ui| {
        ui.strong(format!("To {} ticked", panel.selected.len()));
        ui.label(
            RichText::new(
                "Templates: {{counter}} {{uuid}} {{timestamp_ms}} {{random_int}} {{env.NAME}} {{connection.id}}",
            )
            .weak()
            .small(),
        );
    });
    let label = ui.label("Message to send");
    ui.add(
        egui::TextEdit::multiline(&mut panel.message)
            .font(egui::TextStyle::Monospace)
            .hint_text("{\"type\":\"notice\",\"to\":\"{{connection.id}}\"}")
            .desired_rows(2)
            .desired_width(f32::INFINITY),
    )
    .labelled_by(label.id);
    ui.horizontal_wrapped(|ui| {
        if ui
            .add_enabled(some, egui::Button::new("Send to selected"))
            .clicked()
        {
            panel.send(false);
        }
        if ui
            .add_enabled(any, egui::Button::new("Send to all"))
            .clicked()
        {
            panel.send(true);
        }
        ui.separator();
        let label = ui.label("Close code");
        ui.add(egui::DragValue::new(&mut panel.close_code).range(1000..=4999))
            .labelled_by(label.id);
        let label = ui.label("Reason");
        ui.add(egui::TextEdit::singleline(&mut panel.close_reason).desired_width(120.0))
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
        ui.separator();
        let label = ui.label("Fault");
        egui::ComboBox::from_id_salt("server-fault")
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
}

fn details_ui(panel: &mut MockPanel, ui: &mut egui::Ui) {
    egui::ScrollArea::vertical()
        .id_salt("server-details-scroll")
        .auto_shrink([false, false])
        .show(ui, |ui| {
            if let Some(seq) = panel.selected_row
                && let Some(row) = panel.log.get(seq)
            {
                let row = row.clone();
                message_ui(seq, &row, ui);
                ui.separator();
            }
            let Some(id) = panel.inspected.clone() else {
                ui.label(
                    RichText::new(
                        "Pick a client (handshake) or a log row to see its upgrade request here.",
                    )
                    .weak(),
                );
                return;
            };
            ui.label(RichText::new(format!("Client {id}")).strong());
            let connected = panel.clients.iter().any(|(c, _)| *c == id);
            let Some(h) = panel.handshakes.get(&id) else {
                ui.label(RichText::new("Its handshake is no longer kept.").weak());
                return;
            };
            egui::Grid::new("server-client-facts")
                .num_columns(2)
                .show(ui, |ui| {
                    ui.label(RichText::new("address").weak());
                    ui.label(&h.peer);
                    ui.end_row();
                    ui.label(RichText::new("connected").weak());
                    ui.label(format!(
                        "{}{}",
                        crate::app::panels::log_view::format_time(h.at),
                        if connected { "" } else { " (gone)" }
                    ));
                    ui.end_row();
                    ui.label(RichText::new("offered").weak());
                    ui.label(if h.request.subprotocols.is_empty() {
                        "no subprotocol".to_owned()
                    } else {
                        h.request.subprotocols.join(", ")
                    });
                    ui.end_row();
                    ui.label(RichText::new("selected").weak());
                    ui.label(h.subprotocol.as_deref().unwrap_or("none"));
                    ui.end_row();
                });
            ui.add_space(6.0);
            ui.horizontal(|ui| {
                ui.label(RichText::new("Request").strong());
                if ui.small_button("Copy").clicked() {
                    ui.ctx().copy_text(h.request_text());
                }
            });
            ui.add(egui::Label::new(RichText::new(h.request_text()).monospace()).wrap());
        });
}

fn message_ui(seq: u64, row: &crate::app::mock_log::Row, ui: &mut egui::Ui) {
    let who = if row.id.is_empty() {
        "server".to_owned()
    } else {
        row.id.to_string()
    };
    match &row.kind {
        RowKind::Message {
            sent,
            text,
            payload,
        } => {
            let way = if *sent { "sent to" } else { "received from" };
            ui.horizontal(|ui| {
                ui.label(
                    RichText::new(format!(
                        "#{} {} {who}, {} bytes ({})",
                        seq + 1,
                        way,
                        payload.len(),
                        if *text { "text" } else { "binary" }
                    ))
                    .strong(),
                );
                if ui.small_button("Copy").clicked() {
                    ui.ctx().copy_text(if *text {
                        String::from_utf8_lossy(payload).into_owned()
                    } else {
                        crate::model::hex_string(payload)
                    });
                }
            });
            ui.label(RichText::new(crate::app::panels::log_view::format_time(row.at)).weak());
            let head = &payload[..payload.len().min(DETAILS_CAP)];
            let shown = if *text {
                let s = String::from_utf8_lossy(head);
                crate::model::json_text::reformat(&s, true).unwrap_or_else(|_| s.into_owned())
            } else {
                crate::model::hex_dump(head)
            };
            ui.add(egui::Label::new(RichText::new(shown).monospace()).wrap());
            if payload.len() > DETAILS_CAP {
                ui.label(RichText::new(format!("(the first {DETAILS_CAP} bytes shown)")).weak());
            }
        }
        RowKind::Event { text, .. } => {
            ui.label(RichText::new(format!("#{} {who}", seq + 1)).strong());
            ui.label(RichText::new(crate::app::panels::log_view::format_time(row.at)).weak());
            ui.label(text);
        }
    }
}

fn log_ui(panel: &mut MockPanel, ui: &mut egui::Ui) {
    ui.horizontal(|ui| {
        ui.strong("Log");
        let label = ui.label("client");
        let shown = if panel.log.client.is_empty() {
            "all".to_owned()
        } else {
            panel.log.client.clone()
        };
        egui::ComboBox::from_id_salt("server-log-client")
            .selected_text(shown)
            .show_ui(ui, |ui| {
                ui.selectable_value(&mut panel.log.client, String::new(), "all");
                let ids: Vec<String> = panel.clients.iter().map(|(id, _)| id.clone()).collect();
                for id in ids {
                    let text = id.clone();
                    ui.selectable_value(&mut panel.log.client, id, text);
                }
            })
            .response
            .labelled_by(label.id)
            .on_hover_text("Only this client's rows (and the server's own)");
        let label = ui.label("search");
        ui.add(
            egui::TextEdit::singleline(&mut panel.log.search)
                .hint_text("text in a payload or an event")
                .desired_width(180.0),
        )
        .labelled_by(label.id);
        if ui.small_button("Clear").clicked() {
            panel.log.clear();
            panel.selected_row = None;
        }
        let total = panel.log.len();
        let dropped = panel.log.dropped;
        let n = panel.log.shown().len();
        let mut words = format!("{n} of {total} rows");
        if dropped > 0 {
            words.push_str(&format!(", {dropped} oldest dropped"));
        }
        ui.label(RichText::new(words).weak());
    });
    let font = egui::TextStyle::Monospace.resolve(ui.style());
    let row_height = ui.text_style_height(&egui::TextStyle::Monospace) + 4.0;
    let header = format!(
        "{:>7}  {:<12}  {:<16} {} {:<6} {:>9}  {}",
        "#", "time", "connection id", " ", "type", "size", "payload"
    );
    ui.horizontal(|ui| {
        ui.add_space(ui.spacing().button_padding.x);
        ui.label(RichText::new(header).monospace().weak());
    });
    let shown: Vec<u64> = panel.log.shown().to_vec();
    let colours = (
        ui.visuals().text_color(),
        ui.visuals().weak_text_color(),
        ui.visuals().warn_fg_color,
        ui.visuals().error_fg_color,
    );
    let mut picked = None;
    egui::ScrollArea::vertical()
        .id_salt("server-log-rows")
        .stick_to_bottom(true)
        .auto_shrink([false, false])
        .show_rows(ui, row_height, shown.len(), |ui, range| {
            ui.style_mut().wrap_mode = Some(egui::TextWrapMode::Truncate);
            for &seq in &shown[range] {
                let Some(row) = panel.log.get(seq) else {
                    continue;
                };
                let time = crate::app::panels::log_view::format_time(row.at);
                let (arrow, kind, size, text, colour) = match &row.kind {
                    RowKind::Message {
                        sent,
                        text,
                        payload,
                    } => (
                        if *sent { "↑" } else { "↓" },
                        if *text { "text" } else { "binary" },
                        format!("{} B", payload.len()),
                        crate::model::preview(payload, *text, ROW_PREVIEW),
                        colours.0,
                    ),
                    RowKind::Event { tone, text } => (
                        "·",
                        match tone {
                            Tone::Fault => "fault",
                            Tone::Problem => "!",
                            Tone::Plain => "",
                        },
                        String::new(),
                        text.clone(),
                        match tone {
                            Tone::Plain => colours.1,
                            Tone::Fault => colours.2,
                            Tone::Problem => colours.3,
                        },
                    ),
                };
                let line = format!(
                    "{:>7}  {:<12}  {:<16} {} {:<6} {:>9}  {}",
                    seq + 1,
                    time,
                    &*row.id,
                    arrow,
                    kind,
                    size,
                    text
                );
                let job = egui::text::LayoutJob::single_section(
                    line,
                    egui::TextFormat::simple(font.clone(), colour),
                );
                let selected = panel.selected_row == Some(seq);
                if ui.selectable_label(selected, job).clicked() {
                    picked = Some((seq, row.id.clone()));
                }
            }
        });
    if let Some((seq, id)) = picked {
        panel.selected_row = Some(seq);
        if !id.is_empty() {
            panel.inspected = Some(id.to_string());
        }
    }
}

/// The rules' file buttons (in the settings): Edit rules, Load, Save, Example, and what they said.
fn rules_editor_ui(panel: &mut MockPanel, ui: &mut egui::Ui) {
    ui.horizontal(|ui| {
        if ui
            .checkbox(&mut panel.editing, "Edit rules")
            .on_hover_text(
                "Edit the rules here (a form, or RON); Start serves what the editor holds",
            )
            .changed()
        {
            panel.rules_view = panel.editing;
            // The editor starts from the file named, if any.
            if panel.editing && panel.rules_text.trim().is_empty() {
                panel.load_text(ui.ctx());
            }
        }
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
        if let Some(status) = &panel.rules_status {
            ui.label(RichText::new(status).weak());
        }
    });
}

/// The rules, edited in a form or as RON: checked as typed (the error with its line and column); the form
/// writes RON on every change. Start serves them; while the server runs they are read-only.
fn rules_ui(panel: &mut MockPanel, ui: &mut egui::Ui) {
    let running = panel.server.is_some() || panel.starting();
    ui.horizontal(|ui| {
        if ui.selectable_label(!panel.ron_mode, "Form").clicked() {
            panel.ron_mode = false;
        }
        if ui
            .selectable_label(panel.ron_mode, "RON")
            .on_hover_text("The rules file's own text")
            .clicked()
        {
            panel.ron_mode = true;
        }
        match panel.checked() {
            Ok(n) if !panel.rules_text.trim().is_empty() => {
                ui.label(RichText::new(format!("The rules parse: {n} rules.")).weak());
            }
            Ok(_) => {}
            Err(e) => {
                ui.label(RichText::new(e).color(ui.visuals().error_fg_color));
            }
        }
        if running {
            ui.label(RichText::new("(read-only while the server runs)").weak());
        }
    });
    if !panel.ron_mode {
        let mut rules = match panel.parsed() {
            Ok(rules) => rules.clone(),
            Err(_) => {
                ui.label(
                    RichText::new("The form shows the rules once their RON parses: fix it in RON.")
                        .weak(),
                );
                return;
            }
        };
        egui::ScrollArea::vertical()
            .id_salt("server-rules-form")
            .auto_shrink([false, false])
            .show(ui, |ui| {
                if super::mock_rules::form_ui(&mut rules, !running, ui) {
                    panel.set_rules(&rules);
                }
            });
        return;
    }
    egui::ScrollArea::vertical()
        .id_salt("server-rules-text")
        .auto_shrink([false, false])
        .show(ui, |ui| {
            let label = ui.label(RichText::new("Rules (RON)").weak());
            ui.add_enabled(
                !running,
                egui::TextEdit::multiline(&mut panel.rules_text)
                    .font(egui::TextStyle::Monospace)
                    .desired_rows(16)
                    .desired_width(f32::INFINITY)
                    .hint_text("MockRules(rules: [Rule(name: \"echo\", when: Route(\"$default\"), then: [Reply(\"{{request.body}}\")])])"),
            )
            .labelled_by(label.id);
        });
}
