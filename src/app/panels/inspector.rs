//! The handshake inspector: checks, a timing waterfall, TLS details, the proxy exchange, the exact request and
//! response, and "copy as" commands.

use crate::app::action::Action;
use crate::app::tab::ConnTab;
use crate::model::copy_as::Tool;
use crate::model::{CertInfo, CheckOutcome, HandshakeInfo, TlsInfo};
use egui::{Color32, RichText};

const PASS: Color32 = Color32::from_rgb(0x3f, 0xb9, 0x50);
const WARN: Color32 = Color32::from_rgb(0xd2, 0x99, 0x22);
const FAIL: Color32 = Color32::from_rgb(0xf8, 0x51, 0x49);

pub(crate) fn ui(tab: &mut ConnTab, ui: &mut egui::Ui, actions: &mut Vec<Action>) {
    copy_as_ui(ui, actions);
    attempt_picker_ui(tab, ui);
    let latest = tab.attempts.len().saturating_sub(1);
    let (error, handshake) = match tab.inspected_attempt.filter(|&i| i < latest) {
        Some(i) => (
            tab.attempts[i].error.as_ref(),
            tab.attempts[i].handshake.as_deref(),
        ),
        None => (tab.error.as_ref(), tab.handshake.as_deref()),
    };
    if let Some(err) = error {
        ui.label(RichText::new(format!("Error: {err}")).color(ui.visuals().error_fg_color));
    }
    let Some(h) = handshake else {
        ui.label(RichText::new("No handshake yet: connect to see the exchange.").weak());
        return;
    };
    if h.status != 0 {
        let colour = if h.accepted() { PASS } else { FAIL };
        ui.label(
            RichText::new(&h.response.start_line)
                .monospace()
                .strong()
                .color(colour),
        );
    }
    for w in &h.warnings {
        ui.label(RichText::new(format!("Warning: {w}")).color(WARN));
    }
    checks_ui(h, ui);
    protocol_ui(tab.protocol.as_ref(), ui);
    section(ui, "Timing");
    waterfall_ui(h, ui);
    if let Some(p) = &h.proxy {
        section(
            ui,
            &format!("Proxy: {} via {} (from {})", p.kind, p.proxy, p.source),
        );
        mono(ui, &p.request);
        mono(ui, &p.response);
    }
    if let Some(tls) = &h.tls {
        tls_ui(tls, ui, actions);
    }
    if let Some(h2) = &h.h2 {
        h2_ui(h2, h.tls.as_ref(), ui);
    }
    section(ui, "Request");
    mono(ui, &String::from_utf8_lossy(&h.request_raw));
    if !h.response_raw.is_empty() {
        section(ui, "Response");
        mono(ui, &String::from_utf8_lossy(&h.response_raw));
    }
    if !h.response_body.is_empty() {
        section(
            ui,
            &format!("Response body ({} bytes)", h.response_body.len()),
        );
        mono(ui, &String::from_utf8_lossy(&h.response_body));
    }
}

/// The protocol's own handshake: which protocol and why, and Engine.IO's open packet (sid, ping times, maxPayload).
fn protocol_ui(view: Option<&crate::app::tab::protocol::ProtocolView>, ui: &mut egui::Ui) {
    let Some(view) = view.filter(|v| v.name != "raw") else {
        return;
    };
    section(
        ui,
        &format!("Protocol: {} {} ({})", view.name, view.version, view.reason),
    );
    let state = match (view.automatic, view.ready) {
        (false, _) => "decoding only (its handshake is off)",
        (true, true) => "handshake complete",
        (true, false) => "handshake under way",
    };
    ui.label(state);
    if let Some(open) = &view.open {
        egui::Grid::new("engine-io-open")
            .num_columns(2)
            .show(ui, |ui| {
                for key in [
                    "sid",
                    "pingInterval",
                    "pingTimeout",
                    "maxPayload",
                    "upgrades",
                ] {
                    if let Some(v) = open.get(key) {
                        ui.label(key);
                        ui.monospace(match v {
                            serde_json::Value::String(s) => s.clone(),
                            other => other.to_string(),
                        });
                        ui.end_row();
                    }
                }
            });
    }
    if let Some(f) = &view.failure {
        ui.label(RichText::new(f).color(FAIL));
    }
}

/// The HTTP/2 side: ALPN, the stream, both sides' SETTINGS.
fn h2_ui(h2: &crate::model::h2::H2Info, tls: Option<&TlsInfo>, ui: &mut egui::Ui) {
    use crate::model::h2::setting_name;
    let how = match (h2.mode.as_str(), tls.and_then(|t| t.alpn.as_deref())) {
        ("h2", Some(alpn)) => format!("ALPN {alpn}"),
        ("h2c", _) => "h2c, prior knowledge".to_owned(),
        (mode, _) => mode.to_owned(),
    };
    let shared = if h2.reused {
        ", on a shared connection"
    } else {
        ""
    };
    let stream = if h2.stream_id == 0 {
        "no stream opened".to_owned()
    } else {
        format!("stream {}", h2.stream_id)
    };
    section(ui, &format!("HTTP/2: {how}, {stream}{shared}"));
    egui::Grid::new("h2-settings")
        .num_columns(3)
        .striped(true)
        .show(ui, |ui| {
            ui.label(RichText::new("SETTINGS").strong());
            ui.label(RichText::new("server").strong());
            ui.label(RichText::new("ours").strong());
            ui.end_row();
            let mut ids: Vec<u16> = h2.server_settings.iter().map(|(id, _)| *id).collect();
            for (id, _) in &h2.our_settings {
                if !ids.contains(id) {
                    ids.push(*id);
                }
            }
            let value = |pairs: &[(u16, u32)], id: u16| {
                pairs
                    .iter()
                    .rev()
                    .find(|(i, _)| *i == id)
                    .map_or("-".to_owned(), |(_, v)| v.to_string())
            };
            for id in ids {
                let name = setting_name(id);
                ui.monospace(name.strip_prefix("SETTINGS_").unwrap_or(&name));
                ui.monospace(value(&h2.server_settings, id));
                ui.monospace(value(&h2.our_settings, id));
                ui.end_row();
            }
        });
    ui.label(RichText::new("- : not sent (the RFC's default applies)").weak());
}

fn section(ui: &mut egui::Ui, title: &str) {
    ui.add_space(6.0);
    ui.label(RichText::new(title).strong());
}

fn mono(ui: &mut egui::Ui, text: &str) {
    let shown = text.trim_end_matches(['\r', '\n']).replace("\r\n", "\n");
    ui.add(egui::Label::new(RichText::new(shown).monospace()).wrap());
}

fn waterfall_ui(h: &HandshakeInfo, ui: &mut egui::Ui) {
    let t = &h.timings;
    let stages = [
        ("DNS", t.dns_ms, Color32::from_rgb(0x8b, 0x94, 0x9e)),
        ("TCP", t.tcp_ms, Color32::from_rgb(0x4a, 0x9e, 0xff)),
        ("Proxy", t.proxy_ms, Color32::from_rgb(0xa3, 0x71, 0xf7)),
        ("TLS", t.tls_ms, Color32::from_rgb(0xd2, 0x99, 0x22)),
        (
            "h2 settings",
            t.h2_settings_ms,
            Color32::from_rgb(0x39, 0xc5, 0xbb),
        ),
        ("Upgrade", t.upgrade_ms, PASS),
    ];
    let total = t.total_ms.max(0.001);
    let label_width = 130.0;
    let bar_width = (ui.available_width() - label_width - 8.0).max(60.0);
    let mut offset = 0.0;
    for (name, ms, colour) in stages {
        let Some(ms) = ms else { continue };
        ui.horizontal(|ui| {
            ui.add_sized(
                [label_width, 16.0],
                egui::Label::new(format!("{name} {ms:.2} ms")),
            );
            let (rect, _) =
                ui.allocate_exact_size(egui::vec2(bar_width, 12.0), egui::Sense::hover());
            let x0 = rect.left() + (offset / total) as f32 * bar_width;
            let x1 = (x0 + (ms / total) as f32 * bar_width)
                .max(x0 + 2.0)
                .min(rect.right());
            ui.painter()
                .rect_filled(rect, 2.0, ui.visuals().faint_bg_color);
            ui.painter().rect_filled(
                egui::Rect::from_min_max(egui::pos2(x0, rect.top()), egui::pos2(x1, rect.bottom())),
                2.0,
                colour,
            );
        });
        offset += ms;
    }
    ui.label(RichText::new(format!("Total {:.2} ms", t.total_ms)).strong());
}

fn tls_ui(tls: &TlsInfo, ui: &mut egui::Ui, actions: &mut Vec<Action>) {
    section(ui, "TLS");
    tls_failure_ui(tls, ui, actions);
    if tls.insecure {
        ui.label(RichText::new("Certificate verification was skipped (insecure)").color(WARN));
    }
    egui::Grid::new("tls")
        .num_columns(2)
        .spacing([8.0, 2.0])
        .show(ui, |ui| {
            let rows = [
                ("Version", tls.version.clone()),
                ("Cipher", tls.cipher.clone()),
                (
                    "Key exchange",
                    tls.key_exchange.clone().unwrap_or_else(|| "-".into()),
                ),
                ("ALPN", tls.alpn.clone().unwrap_or_else(|| "none".into())),
                ("SNI", tls.sni.clone()),
                ("Handshake", tls.handshake_kind.clone()),
            ];
            for (k, v) in rows {
                ui.label(RichText::new(k).weak());
                ui.label(RichText::new(v).monospace());
                ui.end_row();
            }
        });
    for (i, cert) in tls.certificates.iter().enumerate() {
        let title = if i == 0 {
            format!("Server certificate: {}", cert.subject)
        } else {
            format!("Chain #{i}: {}", cert.subject)
        };
        certificate_ui(i, cert, title, ui);
    }
}

/// Copy as curl, wscat or websocat.
fn copy_as_ui(ui: &mut egui::Ui, actions: &mut Vec<Action>) {
    ui.horizontal(|ui| {
        ui.label("Copy as");
        for tool in [Tool::Curl, Tool::Wscat, Tool::Websocat] {
            if ui
                .button(tool.name())
                .on_hover_text(format!("Copy an equivalent {} command line", tool.name()))
                .clicked()
            {
                actions.push(Action::CopyAs(tool));
            }
        }
    });
}

/// The attempt chooser, when the tab has made more than one.
fn attempt_picker_ui(tab: &mut ConnTab, ui: &mut egui::Ui) {
    if tab.attempts.len() > 1 {
        let latest = tab.attempts.len() - 1;
        let shown = tab.inspected_attempt.unwrap_or(latest).min(latest);
        ui.horizontal(|ui| {
            let label = ui.label("Attempt");
            egui::ComboBox::from_id_salt("attempt")
                .selected_text(format!(
                    "{} of {}",
                    tab.attempts_dropped + shown as u64 + 1,
                    tab.attempts_dropped + latest as u64 + 1
                ))
                .show_ui(ui, |ui| {
                    for i in (0..=latest).rev() {
                        let number = tab.attempts_dropped + i as u64 + 1;
                        let outcome = match &tab.attempts[i].error {
                            Some(e) => format!("{number}: failed at {}", e.stage.title()),
                            None => format!("{number}: connected"),
                        };
                        let value = if i == latest { None } else { Some(i) };
                        ui.selectable_value(&mut tab.inspected_attempt, value, outcome);
                    }
                })
                .response
                .labelled_by(label.id);
        });
    }
}

/// The upgrade's checks: PASS, WARN or FAIL, the name and the detail.
fn checks_ui(h: &HandshakeInfo, ui: &mut egui::Ui) {
    if !h.checks.is_empty() {
        section(ui, "Checks");
        egui::Grid::new("checks")
            .num_columns(3)
            .spacing([8.0, 2.0])
            .show(ui, |ui| {
                for c in &h.checks {
                    let (word, colour) = match c.outcome {
                        CheckOutcome::Pass => ("PASS", PASS),
                        CheckOutcome::Warn => ("WARN", WARN),
                        CheckOutcome::Fail => ("FAIL", FAIL),
                    };
                    ui.label(RichText::new(word).monospace().strong().color(colour));
                    ui.label(&c.name);
                    ui.add(egui::Label::new(RichText::new(&c.detail).weak()).wrap());
                    ui.end_row();
                }
            });
    }
}

/// Why the TLS handshake failed, and for a refused certificate: use a CA file, or skip verification.
fn tls_failure_ui(tls: &TlsInfo, ui: &mut egui::Ui, actions: &mut Vec<Action>) {
    if let Some(why) = &tls.failure {
        ui.label(RichText::new(format!("The TLS handshake failed: {why}")).color(FAIL));
        if tls.certificates.is_empty() {
            ui.label(RichText::new("The server sent no certificate.").weak());
        } else {
            ui.label(
                RichText::new(format!(
                    "The server sent {} certificate(s), shown below.",
                    tls.certificates.len()
                ))
                .weak(),
            );
        }
        if tls.certificate_refused {
            ui.horizontal_wrapped(|ui| {
                if ui
                    .button("Use a CA file…")
                    .on_hover_text("Trust the CA that issued this certificate (a PEM file), then connect again")
                    .clicked()
                {
                    actions.push(Action::PickFile(crate::app::action::FileField::CaFile));
                }
                if ui
                    .button("Skip verification and connect")
                    .on_hover_text(
                        "Connect without checking the server's identity (this tab only; flagged in the bar while on)",
                    )
                    .clicked()
                {
                    actions.push(Action::ConnectInsecure);
                }
            });
        }
    }
}

/// Certificate `i` of the chain (0: the server's), folded under `title`.
fn certificate_ui(i: usize, cert: &CertInfo, title: String, ui: &mut egui::Ui) {
    egui::CollapsingHeader::new(title)
        .id_salt(("cert", i))
        .default_open(i == 0)
        .show(ui, |ui| {
            egui::Grid::new(("cert-grid", i))
                .num_columns(2)
                .spacing([8.0, 2.0])
                .show(ui, |ui| {
                    let expiry = if cert.days_left < 0 {
                        RichText::new(format!(
                            "{} (expired {} days ago)",
                            cert.not_after, -cert.days_left
                        ))
                        .color(FAIL)
                    } else if cert.days_left < 14 {
                        RichText::new(format!("{} (in {} days)", cert.not_after, cert.days_left))
                            .color(WARN)
                    } else {
                        RichText::new(format!("{} (in {} days)", cert.not_after, cert.days_left))
                    };
                    ui.label(RichText::new("Issuer").weak());
                    ui.add(egui::Label::new(&cert.issuer).wrap());
                    ui.end_row();
                    ui.label(RichText::new("Valid from").weak());
                    ui.label(&cert.not_before);
                    ui.end_row();
                    ui.label(RichText::new("Valid until").weak());
                    ui.label(expiry);
                    ui.end_row();
                    ui.label(RichText::new("Names").weak());
                    ui.add(egui::Label::new(cert.sans.join(", ")).wrap());
                    ui.end_row();
                    ui.label(RichText::new("SHA-256").weak());
                    ui.vertical(|ui| {
                        ui.add(
                            egui::Label::new(
                                RichText::new(fingerprint_lines(&cert.sha256)).monospace(),
                            )
                            .wrap_mode(egui::TextWrapMode::Extend),
                        );
                        if ui
                            .small_button("Copy fingerprint")
                            .on_hover_text("Copy the SHA-256 fingerprint (colon-separated hex)")
                            .clicked()
                        {
                            ui.ctx().copy_text(cert.sha256.clone());
                        }
                    });
                    ui.end_row();
                });
        });
}

/// A colon-separated fingerprint in lines of 8 bytes (`AB:CD:…`), so it reads in a narrow panel without
/// breaking inside a byte.
fn fingerprint_lines(sha256: &str) -> String {
    let bytes: Vec<&str> = sha256.split(':').collect();
    bytes
        .chunks(8)
        .map(|line| line.join(":"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod fingerprint_tests {
    #[test]
    fn a_fingerprint_breaks_between_bytes() {
        let sha: Vec<String> = (0..32).map(|i| format!("{i:02X}")).collect();
        let lines = super::fingerprint_lines(&sha.join(":"));
        let lines: Vec<&str> = lines.lines().collect();
        assert_eq!(lines.len(), 4);
        assert_eq!(lines[0], "00:01:02:03:04:05:06:07");
        assert!(lines.iter().all(|l| l.len() == 23));
    }
}
