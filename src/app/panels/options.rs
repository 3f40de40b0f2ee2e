//! Connection options: query parameters kept in sync with the URL, header rows, subprotocols, Origin, auth
//! helpers, TLS, proxy and limits.

use crate::app::action::{Action, FileField};
use crate::app::tab::{ConnTab, OptionsTab};
use crate::model::endpoint::{Auth, HeaderRow, ProxyMode, query_params, with_query_params};
use egui::RichText;
use std::path::PathBuf;

const TABS: [(OptionsTab, &str); 11] = [
    (OptionsTab::Params, "Params"),
    (OptionsTab::Headers, "Headers"),
    (OptionsTab::Auth, "Auth"),
    (OptionsTab::Tls, "TLS"),
    (OptionsTab::Proxy, "Proxy"),
    (OptionsTab::Keepalive, "Keepalive"),
    (OptionsTab::Limits, "Limits"),
    (OptionsTab::Compression, "Compression"),
    (OptionsTab::Http, "HTTP"),
    (OptionsTab::Codec, "Codec"),
    (OptionsTab::Protocol, "Protocol options"),
];

pub(crate) fn ui(tab: &mut ConnTab, ui: &mut egui::Ui, actions: &mut Vec<Action>) {
    ui.horizontal_wrapped(|ui| {
        for (option, name) in TABS {
            ui.selectable_value(&mut tab.options_tab, option, name);
        }
    });
    ui.add_space(2.0);
    match tab.options_tab {
        OptionsTab::Params => params_ui(tab, ui),
        OptionsTab::Headers => headers_ui(tab, ui),
        OptionsTab::Auth => auth_ui(tab, ui),
        OptionsTab::Tls => tls_ui(tab, ui, actions),
        OptionsTab::Proxy => proxy_ui(tab, ui),
        OptionsTab::Keepalive => keepalive_ui(tab, ui),
        OptionsTab::Limits => limits_ui(tab, ui),
        OptionsTab::Compression => compression_ui(tab, ui),
        OptionsTab::Http => http_ui(tab, ui),
        OptionsTab::Codec => codec_ui(tab, ui),
        OptionsTab::Protocol => super::protocol::options_ui(tab, ui),
    }
    ui.add_space(4.0);
}

fn params_ui(tab: &mut ConnTab, ui: &mut egui::Ui) {
    let Some(mut params) = query_params(&tab.session.endpoint.url) else {
        ui.label(RichText::new("Fix the URL to edit its query parameters.").weak());
        return;
    };
    let mut changed = false;
    let mut remove = None;
    egui::Grid::new("params")
        .num_columns(3)
        .spacing([6.0, 3.0])
        .show(ui, |ui| {
            let name_label = ui.label(RichText::new("Parameter").weak());
            let value_label = ui.label(RichText::new("Value").weak());
            ui.end_row();
            for (i, (k, v)) in params.iter_mut().enumerate() {
                changed |= ui
                    .add(egui::TextEdit::singleline(k).desired_width(160.0))
                    .labelled_by(name_label.id)
                    .changed();
                changed |= ui
                    .add(egui::TextEdit::singleline(v).desired_width(260.0))
                    .labelled_by(value_label.id)
                    .changed();
                if ui
                    .small_button("Remove")
                    .on_hover_text("Remove this parameter")
                    .clicked()
                {
                    remove = Some(i);
                }
                ui.end_row();
            }
        });
    if let Some(i) = remove {
        params.remove(i);
        changed = true;
    }
    if ui.button("Add parameter").clicked() {
        params.push((format!("param{}", params.len() + 1), String::new()));
        changed = true;
    }
    if changed && let Some(url) = with_query_params(&tab.session.endpoint.url, &params) {
        tab.session.endpoint.url = url;
    }
}

fn headers_ui(tab: &mut ConnTab, ui: &mut egui::Ui) {
    let endpoint = &mut tab.session.endpoint;
    let mut remove = None;
    // The row "Add header" just made: its name field takes the keyboard in the frame it first shows, so the
    // first keys typed land in it.
    let focus_id = ui.scope_id().with("header-focus");
    let focus_row = ui.data_mut(|d| d.remove_temp::<usize>(focus_id));
    egui::Grid::new("headers")
        .num_columns(5)
        .spacing([6.0, 3.0])
        .show(ui, |ui| {
            let on_label = ui.label(RichText::new("On").weak());
            let name_label = ui.label(RichText::new("Header name").weak());
            let value_label = ui.label(RichText::new("Header value").weak());
            let secret_label = ui.label(RichText::new("Secret").weak());
            ui.end_row();
            for (i, row) in endpoint.headers.iter_mut().enumerate() {
                ui.checkbox(&mut row.enabled, "").labelled_by(on_label.id);
                let name_id = ui.scope_id().with(("header-name", i));
                if focus_row == Some(i) {
                    ui.memory_mut(|m| m.request_focus(name_id));
                }
                ui.add(
                    egui::TextEdit::singleline(&mut row.name)
                        .id(name_id)
                        .hint_text("X-Header")
                        .desired_width(200.0),
                )
                .labelled_by(name_label.id);
                ui.add(
                    egui::TextEdit::singleline(&mut row.value)
                        .id(ui.scope_id().with(("header-value", i)))
                        .password(row.secret)
                        .desired_width(380.0),
                )
                .labelled_by(value_label.id);
                ui.checkbox(&mut row.secret, "")
                    .labelled_by(secret_label.id)
                    .on_hover_text(
                        "Never written to session files; or reference {{env.NAME}} in the value",
                    );
                if ui
                    .small_button("Remove")
                    .on_hover_text("Remove this header")
                    .clicked()
                {
                    remove = Some(i);
                }
                ui.end_row();
            }
        });
    if let Some(i) = remove {
        endpoint.headers.remove(i);
    }
    if ui.button("Add header").clicked() {
        endpoint.headers.push(HeaderRow::default());
        let row = endpoint.headers.len() - 1;
        ui.data_mut(|d| d.insert_temp(focus_id, row));
    }
    ui.horizontal(|ui| {
        let label = ui.label("Subprotocols");
        let mut text = endpoint.subprotocols.join(",");
        if ui
            .add(
                egui::TextEdit::singleline(&mut text)
                    .hint_text("graphql-ws, v2.chat (in order of preference)")
                    .desired_width(300.0),
            )
            .labelled_by(label.id)
            .changed()
        {
            endpoint.subprotocols = if text.is_empty() {
                Vec::new()
            } else {
                text.split(',').map(str::to_owned).collect()
            };
        }
    });
    ui.horizontal(|ui| {
        let label = ui.label("Origin");
        ui.add(
            egui::TextEdit::singleline(&mut endpoint.origin)
                .hint_text("https://app.example.com")
                .desired_width(300.0),
        )
        .labelled_by(label.id);
    });
}

fn auth_ui(tab: &mut ConnTab, ui: &mut egui::Ui) {
    let auth = &mut tab.session.endpoint.auth;
    ui.horizontal(|ui| {
        if ui
            .selectable_label(matches!(auth, Auth::None), "None")
            .clicked()
        {
            *auth = Auth::None;
        }
        if ui
            .selectable_label(matches!(auth, Auth::Bearer { .. }), "Bearer token")
            .clicked()
            && !matches!(auth, Auth::Bearer { .. })
        {
            *auth = Auth::Bearer {
                token: String::new(),
            };
        }
        if ui
            .selectable_label(matches!(auth, Auth::Basic { .. }), "Basic")
            .clicked()
            && !matches!(auth, Auth::Basic { .. })
        {
            *auth = Auth::Basic {
                user: String::new(),
                password: String::new(),
            };
        }
    });
    match auth {
        Auth::None => {
            ui.label(RichText::new("No Authorization header is added.").weak());
        }
        Auth::Bearer { token } => {
            ui.horizontal(|ui| {
                let label = ui.label("Token");
                ui.add(
                    egui::TextEdit::singleline(token)
                        .password(true)
                        .desired_width(360.0),
                )
                .labelled_by(label.id);
            });
        }
        Auth::Basic { user, password } => {
            ui.horizontal(|ui| {
                let label = ui.label("User");
                ui.add(egui::TextEdit::singleline(user).desired_width(160.0))
                    .labelled_by(label.id);
                let label = ui.label("Password");
                ui.add(
                    egui::TextEdit::singleline(password)
                        .password(true)
                        .desired_width(160.0),
                )
                .labelled_by(label.id);
            });
        }
    }
    if let Some((name, value)) = tab.session.endpoint.auth_header() {
        let shown = value
            .split_once(' ')
            .map(|(scheme, _)| format!("{scheme} ••••••"))
            .unwrap_or_default();
        ui.label(RichText::new(format!("Adds {name}: {shown}")).weak());
    }
}

fn path_field(
    ui: &mut egui::Ui,
    title: &str,
    path: &mut Option<PathBuf>,
    field: FileField,
    actions: &mut Vec<Action>,
) {
    ui.horizontal(|ui| {
        let label = ui.add_sized([110.0, 18.0], egui::Label::new(title));
        let mut text = path
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        if ui
            .add(
                egui::TextEdit::singleline(&mut text)
                    .hint_text("PEM file")
                    .desired_width(300.0),
            )
            .labelled_by(label.id)
            .changed()
        {
            *path = (!text.trim().is_empty()).then(|| PathBuf::from(text.trim()));
        }
        if ui
            .button("Browse…")
            .on_hover_text(format!("Choose the {title} file"))
            .clicked()
        {
            actions.push(Action::PickFile(field));
        }
    });
}

fn tls_ui(tab: &mut ConnTab, ui: &mut egui::Ui, actions: &mut Vec<Action>) {
    let tls = &mut tab.session.endpoint.tls;
    path_field(ui, "CA file", &mut tls.ca_file, FileField::CaFile, actions);
    path_field(
        ui,
        "Client cert",
        &mut tls.client_cert_file,
        FileField::ClientCert,
        actions,
    );
    path_field(
        ui,
        "Client key",
        &mut tls.client_key_file,
        FileField::ClientKey,
        actions,
    );
    ui.horizontal(|ui| {
        let label = ui.add_sized([110.0, 18.0], egui::Label::new("SNI override"));
        let mut sni = tls.sni.clone().unwrap_or_default();
        if ui
            .add(
                egui::TextEdit::singleline(&mut sni)
                    .hint_text("the URL's host")
                    .desired_width(300.0),
            )
            .labelled_by(label.id)
            .changed()
        {
            tls.sni = (!sni.trim().is_empty()).then(|| sni.trim().to_owned());
        }
    });
    let warn = ui.visuals().warn_fg_color;
    ui.checkbox(
        &mut tls.insecure,
        RichText::new("Skip certificate verification (insecure)").color(warn),
    );
    ui.label(
        RichText::new("Set SSLKEYLOGFILE before starting to log TLS keys for Wireshark.").weak(),
    );
}

fn proxy_ui(tab: &mut ConnTab, ui: &mut egui::Ui) {
    let endpoint = &mut tab.session.endpoint;
    ui.horizontal(|ui| {
        ui.radio_value(
            &mut endpoint.proxy_mode,
            ProxyMode::Environment,
            "From environment",
        );
        ui.radio_value(&mut endpoint.proxy_mode, ProxyMode::Direct, "Direct");
        ui.radio_value(&mut endpoint.proxy_mode, ProxyMode::Custom, "Custom");
    });
    match endpoint.proxy_mode {
        ProxyMode::Environment => {
            let vars: Vec<String> = ["HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY"]
                .iter()
                .filter_map(|n| {
                    std::env::var(n)
                        .or_else(|_| std::env::var(n.to_ascii_lowercase()))
                        .ok()
                        .map(|v| format!("{n}={}", mask_credentials(&v)))
                })
                .collect();
            let text = if vars.is_empty() {
                "No proxy variables are set: connections go direct.".to_owned()
            } else {
                vars.join("   ")
            };
            ui.label(RichText::new(text).weak());
        }
        ProxyMode::Direct => {
            ui.label(RichText::new("Proxy variables are ignored.").weak());
        }
        ProxyMode::Custom => {
            ui.horizontal(|ui| {
                let label = ui.label("Proxy URL");
                ui.add(
                    egui::TextEdit::singleline(&mut endpoint.proxy_url)
                        .hint_text("http://user:pass@host:3128 or socks5://host:1080")
                        .desired_width(360.0),
                )
                .labelled_by(label.id);
            });
        }
    }
}

fn mask_credentials(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}••••@{}", &url[..s + 3], &url[at + 1..]),
        _ => url.to_owned(),
    }
}

fn millis_field(ui: &mut egui::Ui, title: &str, value: &mut Option<u64>, default_secs: f64) {
    ui.horizontal(|ui| {
        let mut on = value.is_some();
        let check = ui.checkbox(&mut on, title);
        if on {
            let mut secs = value.map_or(default_secs, |ms| ms as f64 / 1000.0);
            ui.add(
                egui::DragValue::new(&mut secs)
                    .range(0.05..=3600.0)
                    .speed(0.1)
                    .suffix(" s"),
            )
            .labelled_by(check.id);
            *value = Some((secs * 1000.0).round() as u64);
        } else {
            *value = None;
        }
    });
}

fn keepalive_ui(tab: &mut ConnTab, ui: &mut egui::Ui) {
    let e = &mut tab.session.endpoint;
    millis_field(
        ui,
        "Ping on an interval",
        &mut e.keepalive.ping_interval_millis,
        10.0,
    );
    millis_field(
        ui,
        "Pong timeout",
        &mut e.keepalive.pong_timeout_millis,
        5.0,
    );
    if e.keepalive.pong_timeout_millis.is_some() {
        ui.checkbox(
            &mut e.keepalive.close_when_dead,
            "Drop a dead connection (and reconnect, when on)",
        );
    }
    ui.checkbox(
        &mut e.auto_pong,
        "Answer the server's pings (off: they go unanswered, to test the server's ping timeout)",
    );
    ui.separator();
    ui.horizontal(|ui| {
        let check = ui.checkbox(&mut e.heartbeat_enabled, "Heartbeat message every");
        let mut secs = e.heartbeat.interval_millis as f64 / 1000.0;
        if ui
            .add(
                egui::DragValue::new(&mut secs)
                    .range(0.05..=3600.0)
                    .speed(0.1)
                    .suffix(" s"),
            )
            .labelled_by(check.id)
            .changed()
        {
            e.heartbeat.interval_millis = (secs * 1000.0).round() as u64;
        }
    });
    ui.horizontal(|ui| {
        let label = ui.label("Heartbeat text");
        ui.add(egui::TextEdit::singleline(&mut e.heartbeat.text).desired_width(360.0))
            .labelled_by(label.id)
            .on_hover_text(
                "Templates: {{counter}}, {{timestamp_ms}}, {{uuid}}, {{random_int}}, {{env.NAME}}",
            );
    });
    ui.separator();
    let label = ui.label(
        "On-connect messages (one per line; sent after every handshake, reconnects included)",
    );
    let mut text = e.on_connect.join("\n");
    if ui
        .add(
            egui::TextEdit::multiline(&mut text)
                .desired_rows(2)
                .desired_width(480.0)
                .hint_text(r#"{"action":"auth","token":"{{env.TOKEN}}"}"#),
        )
        .labelled_by(label.id)
        .changed()
    {
        e.on_connect = text.lines().map(str::to_owned).collect();
    }
    ui.separator();
    let r = &mut e.reconnect;
    ui.checkbox(
        &mut r.enabled,
        "Reconnect automatically (exponential backoff with jitter)",
    );
    if r.enabled {
        egui::Grid::new("reconnect")
            .num_columns(2)
            .spacing([8.0, 4.0])
            .show(ui, |ui| {
                let label = ui.label("Max attempts (0 = unlimited)");
                let mut max = r.max_attempts.unwrap_or(0);
                ui.add(egui::DragValue::new(&mut max).range(0..=10_000))
                    .labelled_by(label.id);
                r.max_attempts = (max > 0).then_some(max);
                ui.end_row();
                let label = ui.label("First delay (ms)");
                ui.add(egui::DragValue::new(&mut r.initial_delay_millis).range(1..=600_000))
                    .labelled_by(label.id);
                ui.end_row();
                let label = ui.label("Longest delay (ms)");
                ui.add(egui::DragValue::new(&mut r.max_delay_millis).range(1..=3_600_000))
                    .labelled_by(label.id);
                ui.end_row();
            });
    }
}

/// Offers a user can start from: Chrome's, and the two settings servers most often differ on.
const OFFERS: [(&str, &str); 4] = [
    ("Browser", crate::model::deflate::DEFAULT_OFFER),
    (
        "No context takeover",
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover; client_max_window_bits",
    ),
    (
        "Small windows",
        "permessage-deflate; server_max_window_bits=10; client_max_window_bits=10",
    ),
    (
        "Two offers",
        "permessage-deflate; server_max_window_bits=10; client_max_window_bits, permessage-deflate",
    ),
];

fn compression_ui(tab: &mut ConnTab, ui: &mut egui::Ui) {
    let d = &mut tab.session.endpoint.deflate;
    ui.checkbox(
        &mut d.enabled,
        "Offer permessage-deflate (RFC 7692), as browsers do",
    );
    ui.add_enabled_ui(d.enabled, |ui| {
        ui.horizontal(|ui| {
            let label = ui.label("Offer");
            ui.add(
                egui::TextEdit::singleline(&mut d.offer)
                    .desired_width(ui.available_width().min(520.0))
                    .font(egui::TextStyle::Monospace),
            )
            .labelled_by(label.id)
            .on_hover_text(
                "Sec-WebSocket-Extensions as sent: one or more 'permessage-deflate; …' offers, comma-separated, \
                 in order. Parameters: server_no_context_takeover, client_no_context_takeover, \
                 server_max_window_bits=8..15, client_max_window_bits[=8..15].",
            );
        });
        match crate::model::deflate::parse_offers(&d.offer) {
            Ok(offers) => ui.label(
                RichText::new(format!(
                    "{} offer{}, checked: the server's answer must fit one of them",
                    offers.len(),
                    if offers.len() == 1 { "" } else { "s" }
                ))
                .weak(),
            ),
            Err(e) => ui.label(RichText::new(e).color(ui.visuals().error_fg_color)),
        };
        ui.horizontal_wrapped(|ui| {
            ui.label("Start from:");
            for (name, offer) in OFFERS {
                if ui
                    .selectable_label(d.offer == offer, name)
                    .on_hover_text(offer)
                    .clicked()
                {
                    d.offer = offer.to_owned();
                }
            }
        });
    });
    ui.separator();
    match tab.handshake.as_ref().filter(|h| h.accepted()) {
        Some(h) => match &h.deflate {
            Some(agreed) => ui.label(format!(
                "Last connection: permessage-deflate agreed ({})",
                agreed.describe()
            )),
            None => ui.label("Last connection: not compressed (the server enabled no extension)"),
        },
        None => ui.label(RichText::new("Connect to see what the server agrees to.").weak()),
    };
    ui.label(
        RichText::new(
            "A message can still go uncompressed: untick Compress in the composer. Raw frames keep RSV1 as you set it.",
        )
        .weak(),
    );
}

/// The HTTP under the WebSocket: 1.1, 2 (RFC 8441) or auto, sharing one HTTP/2 connection, and what the last
/// handshake used.
fn http_ui(tab: &mut ConnTab, ui: &mut egui::Ui) {
    use crate::model::h2::HttpVersion;
    let e = &mut tab.session.endpoint;
    ui.horizontal(|ui| {
        ui.label("HTTP version");
        for v in HttpVersion::ALL {
            ui.radio_value(&mut e.http_version, v, v.label());
        }
    });
    let hint = match e.http_version {
        HttpVersion::Http1 => "GET with Upgrade: websocket (RFC 6455), as every tester does.",
        HttpVersion::Http2 => {
            "An extended CONNECT (RFC 8441): wss offers ALPN h2 only; ws speaks h2c with prior knowledge. \
             The server's SETTINGS must carry SETTINGS_ENABLE_CONNECT_PROTOCOL = 1."
        }
        HttpVersion::Auto => {
            "As a browser: wss offers ALPN h2, http/1.1 and uses HTTP/2 when the server picks it and enables the \
             extended CONNECT; otherwise HTTP/1.1 (on a fresh connection, with a warning, when HTTP/2 was \
             tried). ws: HTTP/1.1."
        }
    };
    ui.label(RichText::new(hint).weak());
    ui.add_enabled(
        e.http_version != HttpVersion::Http1,
        egui::Checkbox::new(
            &mut e.h2_share,
            "Share one HTTP/2 connection with other tabs to the same origin (a stream each)",
        ),
    );
    if let Some(h) = tab.handshake.as_ref() {
        let used = match &h.h2 {
            Some(h2) => format!(
                "Last handshake: HTTP/2 ({}), stream {}{}",
                h2.mode,
                h2.stream_id,
                if h2.reused {
                    ", on a shared connection"
                } else {
                    ""
                }
            ),
            None => "Last handshake: HTTP/1.1".to_owned(),
        };
        ui.label(used);
    }
}

/// How binary messages are read: none, MessagePack, CBOR or Protobuf with its .proto files and message types,
/// and whether the setting gives a codec (the .proto files compile off this thread).
fn codec_ui(tab: &mut ConnTab, ui: &mut egui::Ui) {
    use crate::app::tab::codec::CodecStatus;
    use crate::model::codec::CodecKind;
    let setting = &mut tab.session.endpoint.codec;
    ui.horizontal(|ui| {
        ui.label("Binary messages as");
        for kind in CodecKind::ALL {
            ui.radio_value(&mut setting.kind, kind, kind.label());
        }
    });
    if setting.kind == CodecKind::Protobuf {
        egui::Grid::new("proto-fields")
            .num_columns(2)
            .spacing([8.0, 4.0])
            .show(ui, |ui| {
                let list_field =
                    |ui: &mut egui::Ui, title: &str, list: &mut Vec<String>, hint: &str| {
                        let label = ui.label(title);
                        let mut text = list.join(", ");
                        if ui
                            .add(
                                egui::TextEdit::singleline(&mut text)
                                    .hint_text(hint)
                                    .desired_width(420.0),
                            )
                            .labelled_by(label.id)
                            .changed()
                        {
                            *list = text
                                .split(',')
                                .map(|p| p.trim().to_owned())
                                .filter(|p| !p.is_empty())
                                .collect();
                        }
                        ui.end_row();
                    };
                list_field(
                    ui,
                    ".proto files",
                    &mut setting.proto_files,
                    "feed.proto, other.proto",
                );
                list_field(
                    ui,
                    "Import paths",
                    &mut setting.proto_paths,
                    "(each file's folder)",
                );
                for (title, value, hint) in [
                    (
                        "Received message type",
                        &mut setting.proto_message,
                        "pkg.Type",
                    ),
                    (
                        "Sent message type",
                        &mut setting.proto_send_message,
                        "(the same)",
                    ),
                ] {
                    let label = ui.label(title);
                    ui.add(
                        egui::TextEdit::singleline(value)
                            .hint_text(hint)
                            .desired_width(260.0),
                    )
                    .labelled_by(label.id);
                    ui.end_row();
                }
            });
    }
    tab.codec.update(&tab.session.endpoint.codec, ui.ctx());
    match &tab.codec.status {
        CodecStatus::Off => {
            ui.label(RichText::new("Binary messages show as hex, base64 or text.").weak());
        }
        CodecStatus::Compiling => {
            ui.label(RichText::new("Compiling the .proto files…").weak());
        }
        CodecStatus::Ready(codec, names) => {
            let mut text = format!(
                "Ready: binary messages are shown decoded ({}).",
                codec.describe()
            );
            if !names.is_empty() {
                text.push_str(&format!(" Message types: {}", names.join(", ")));
            }
            ui.label(text);
        }
        CodecStatus::Failed(why) => {
            ui.label(RichText::new(why.as_str()).color(ui.visuals().warn_fg_color));
        }
    }
}

fn limits_ui(tab: &mut ConnTab, ui: &mut egui::Ui) {
    let e = &mut tab.session.endpoint;
    egui::Grid::new("limits")
        .num_columns(2)
        .spacing([8.0, 4.0])
        .show(ui, |ui| {
            let label = ui.label("Timeout per stage (s)");
            ui.add(
                egui::DragValue::new(&mut e.connect_timeout_secs)
                    .range(0.1..=600.0)
                    .speed(0.1),
            )
            .labelled_by(label.id);
            ui.end_row();
            let label = ui.label("Max message (MiB)");
            ui.add(
                egui::DragValue::new(&mut e.max_message_mib)
                    .range(0.001..=4096.0)
                    .speed(1.0),
            )
            .labelled_by(label.id);
            ui.end_row();
            let label = ui.label("Max frame (MiB)");
            ui.add(
                egui::DragValue::new(&mut e.max_frame_mib)
                    .range(0.001..=4096.0)
                    .speed(1.0),
            )
            .labelled_by(label.id);
            ui.end_row();
        });
}
