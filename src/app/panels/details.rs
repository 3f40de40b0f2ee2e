//! The side panel: the selected message in full (text or hex), and the handshake of the current connection.

use super::log_view::{format_size, format_time};
use crate::app::action::Action;
use crate::app::tab::payload_cache::{MAX_SHOWN_BYTES, PayloadCache};
use crate::app::tab::{ConnTab, PayloadView, SideTab};
use crate::model::{LogEntry, MessageKind, close_code_name};
use egui::RichText;
use serde_json::Value;
use std::sync::Arc;

pub(crate) fn ui(
    tab: &mut ConnTab,
    notice: Option<&str>,
    ui: &mut egui::Ui,
    actions: &mut Vec<Action>,
) {
    ui.add_space(4.0);
    // Wrapped, never wider than the panel: the panel keeps the width the user gave it.
    ui.horizontal_wrapped(|ui| {
        ui.selectable_value(&mut tab.side_tab, SideTab::Message, "Message");
        let label = match tab.handshake.as_ref().map(|h| h.status) {
            Some(101) | None => "Handshake".to_owned(),
            Some(0) => "Handshake (no reply)".to_owned(),
            Some(status) => format!("Handshake ({status})"),
        };
        ui.selectable_value(&mut tab.side_tab, SideTab::Handshake, label);
        ui.selectable_value(&mut tab.side_tab, SideTab::Latency, "Latency");
        ui.selectable_value(&mut tab.side_tab, SideTab::Frames, "Wire");
        ui.selectable_value(&mut tab.side_tab, SideTab::Traffic, "Traffic");
    });
    ui.separator();
    egui::ScrollArea::both()
        .id_salt("details-scroll")
        .auto_shrink([false, false])
        .show(ui, |ui| {
            match tab.side_tab {
                SideTab::Message => message_ui(tab, ui, actions),
                SideTab::Latency => super::latency::ui(tab, ui, actions),
                SideTab::Frames => frames_ui(tab, ui),
                SideTab::Traffic => super::traffic::ui(tab, ui),
                SideTab::Handshake => super::inspector::ui(tab, ui, actions),
            }
            if let Some(note) = notice {
                ui.separator();
                ui.label(RichText::new(note).weak());
            }
        });
}

fn message_ui(tab: &mut ConnTab, ui: &mut egui::Ui, actions: &mut Vec<Action>) {
    let Some((seq, entry)) = tab
        .selected
        .and_then(|s| tab.log.by_seq(s).map(|entry| (s, entry)))
    else {
        tab.caches.payload.clear();
        ui.label(RichText::new("Click a row in the log to see its payload.").weak());
        return;
    };
    header_ui(entry, ui);
    // Analysed once per selection (UTF-8 check, JSON parse), not once per frame.
    let cache = &mut tab.caches.payload;
    if entry.kind == MessageKind::Binary && entry.decoded().is_none() {
        tab.codec.update(&tab.session.endpoint.codec, ui.ctx());
        decoded_ui(&tab.codec, seq, entry, cache, ui);
    }
    let selected = cache.get(seq, entry);
    let json = selected.json.clone();
    let view = tab.payload_view.unwrap_or(selected.auto);
    view_bar_ui(
        view,
        json.is_some(),
        &mut tab.payload_view,
        &mut tab.json_as_text,
        ui,
    );
    let tree_view = view == PayloadView::Json && !tab.json_as_text && json.is_some();
    // The hex view fits 16 bytes a line when the panel is wide enough, else 8.
    if view == PayloadView::Hex {
        let font = egui::TextStyle::Monospace.resolve(ui.style());
        let char_width = ui.fonts_mut(|f| f.glyph_width(&font, '0')).max(1.0);
        let fits = |n| {
            crate::model::hex_line_chars(
                entry.payload.len(),
                n,
                crate::app::tab::payload_cache::HEX_OFFSET_DIGITS,
            ) as f32
                * char_width
                + 16.0
                <= ui.available_width()
        };
        cache.hex_per_line = if fits(16) { 16 } else { 8 };
    }
    // The body is built once per selection and view (the tree needs none).
    let body = (!tree_view).then(|| cache.body(seq, entry, view));
    let shown = Shown {
        seq,
        entry,
        view,
        json,
        tree_view,
    };
    buttons_ui(&shown, cache, ui, actions);
    tab.codec.update(&tab.session.endpoint.codec, ui.ctx());
    inner_bytes_ui(&tab.codec, cache.get(seq, entry), ui);
    body_ui(&shown, body, cache, ui);
}

/// The message's JSON (its text, or what the codec read) holds bytes as base64: pick a field and read it as
/// hex, MessagePack, CBOR or Protobuf (the message type of Options → Codec).
fn inner_bytes_ui(
    codec: &crate::app::tab::codec::CodecState,
    selected: &mut crate::app::tab::payload_cache::SelectedPayload,
    ui: &mut egui::Ui,
) {
    use crate::model::codec::{CodecKind, base64_fields};
    // Found again when the codec's reading of a binary message changes (another build).
    let reading = selected.decoded.as_ref().map(|(g, _)| *g);
    if selected.inner.fields.is_none() || selected.inner.reading != reading {
        let source = selected.json.clone().or_else(|| {
            selected
                .decoded
                .as_ref()
                .and_then(|(_, r)| r.as_ref().ok().cloned())
        });
        selected.inner.fields = Some(source.map(|v| base64_fields(&v)).unwrap_or_default());
        selected.inner.reading = reading;
        selected.inner.read_as = codec.ready().map_or(CodecKind::None, |c| c.kind());
    }
    let inner = &mut selected.inner;
    let Some(fields) = inner.fields.as_ref().filter(|f| !f.is_empty()) else {
        return;
    };
    inner.pick = inner.pick.min(fields.len() - 1);
    ui.horizontal_wrapped(|ui| {
        let label = ui.label(RichText::new("Base64 inside").weak());
        // As `PayloadCache::current_inner_fields` says them.
        let name =
            |(path, bytes): &(String, Vec<u8>)| format!("{path} ({})", format_size(bytes.len()));
        egui::ComboBox::from_id_salt("inner-bytes-field")
            .selected_text(name(&fields[inner.pick]))
            .show_ui(ui, |ui| {
                for (i, field) in fields.iter().enumerate() {
                    ui.selectable_value(&mut inner.pick, i, name(field));
                }
            })
            .response
            .labelled_by(label.id)
            .on_hover_text("A field of this message that holds bytes as base64");
        let label = ui.label(RichText::new("read as").weak());
        let shown = |k: CodecKind| match k {
            CodecKind::None => "hex",
            other => other.label(),
        };
        egui::ComboBox::from_id_salt("inner-bytes-codec")
            .selected_text(shown(inner.read_as))
            .show_ui(ui, |ui| {
                for kind in CodecKind::ALL {
                    ui.selectable_value(&mut inner.read_as, kind, shown(kind));
                }
            })
            .response
            .labelled_by(label.id);
    });
    let (_, bytes) = &fields[inner.pick];
    if inner.read_as == CodecKind::None {
        let shown = &bytes[..bytes.len().min(4096)];
        let mut dump = crate::model::hex_dump_with(shown, 8, 4);
        if shown.len() < bytes.len() {
            dump.push_str("\n…");
        }
        let mut text: &str = &dump;
        ui.add(
            egui::TextEdit::multiline(&mut text)
                .font(egui::TextStyle::Monospace)
                .desired_rows(3)
                .desired_width(f32::INFINITY),
        );
        ui.separator();
        return;
    }
    let key = (inner.pick, inner.read_as, codec.generation);
    if inner.result.as_ref().is_none_or(|(k, _)| *k != key) {
        let result = match inner.read_as {
            CodecKind::MessagePack => crate::model::codec::msgpack::decode(bytes),
            CodecKind::Cbor => crate::model::codec::cbor::decode(bytes),
            _ => match codec.ready().map(|c| c.as_ref()) {
                Some(crate::model::codec::Codec::Protobuf { receive, .. }) => receive.decode(bytes),
                _ => Err(crate::model::codec::DecodeError::new(
                    0,
                    "choose the .proto files and the message type in Options → Codec (Protobuf)",
                )),
            },
        };
        inner.result = Some((key, result.map(Arc::new).map_err(|e| e.to_string())));
        inner.tree = Default::default();
    }
    match inner.result.as_ref().map(|(_, r)| r) {
        Some(Ok(value)) => {
            let value = value.clone();
            ui.push_id("inner-bytes-tree", |ui| {
                crate::app::widgets::json_tree::show(ui, &mut inner.tree, &value, 220.0);
            });
        }
        Some(Err(why)) => {
            ui.label(
                RichText::new(format!(
                    "Does not decode as {}: {why}",
                    inner.read_as.label()
                ))
                .color(ui.visuals().warn_fg_color),
            );
        }
        None => {}
    }
    ui.separator();
}

/// A binary message read with the tab's codec: a foldable tree (decoded once per selection), or where and why
/// it does not decode (the bytes follow below either way).
fn decoded_ui(
    codec: &crate::app::tab::codec::CodecState,
    seq: u64,
    entry: &LogEntry,
    cache: &mut crate::app::tab::payload_cache::PayloadCache,
    ui: &mut egui::Ui,
) {
    use crate::app::tab::codec::CodecStatus;
    let ready = match &codec.status {
        CodecStatus::Off => return,
        CodecStatus::Compiling => {
            ui.label(RichText::new("Compiling the .proto files…").weak());
            return;
        }
        CodecStatus::Failed(why) => {
            ui.label(RichText::new(format!("Codec: {why}")).color(ui.visuals().warn_fg_color));
            return;
        }
        CodecStatus::Ready(c, _) => c.clone(),
    };
    let selected = cache.get(seq, entry);
    let fresh = selected
        .decoded
        .as_ref()
        .is_some_and(|(g, _)| *g == codec.generation);
    if !fresh {
        let result = if entry.direction == crate::model::Direction::Received {
            ready.decode_received(&entry.payload)
        } else {
            ready.decode_sent(&entry.payload)
        };
        selected.decoded = Some((
            codec.generation,
            result.map(Arc::new).map_err(|e| e.to_string()),
        ));
        selected.decoded_tree = Default::default();
    }
    let Some((_, result)) = &selected.decoded else {
        return;
    };
    match result {
        Ok(value) => {
            let value = value.clone();
            ui.label(RichText::new(format!("Decoded ({})", ready.describe())).strong());
            ui.push_id("decoded-tree", |ui| {
                crate::app::widgets::json_tree::show(ui, &mut selected.decoded_tree, &value, 260.0);
            });
        }
        Err(why) => {
            ui.label(
                RichText::new(format!("Does not decode as {}: {why}", ready.describe()))
                    .color(ui.visuals().warn_fg_color),
            );
        }
    }
    ui.separator();
}

/// The selected message as the panel shows it.
struct Shown<'a> {
    seq: u64,
    entry: &'a LogEntry,
    view: PayloadView,
    json: Option<Arc<Value>>,
    /// The JSON is shown as a foldable tree (no text body).
    tree_view: bool,
}

/// Direction, kind, size, time and (for a close) its code.
fn header_ui(entry: &LogEntry, ui: &mut egui::Ui) {
    ui.label(format!(
        "{} {} · {} · {} · {} after connect",
        entry.direction.as_str(),
        entry.kind.as_str(),
        format_size(entry.size()),
        format_time(entry.at()),
        super::log_view::format_ms(entry.since_connect().as_secs_f64() * 1000.0, 3)
    ));
    if entry.compressed() {
        ui.label(format!(
            "compressed (permessage-deflate): {} on the wire, {} of its size",
            format_size(entry.wire_size()),
            super::log_view::ratio(entry)
        ));
    }
    if entry.kind == MessageKind::Close {
        match entry.close_code() {
            Some(code) => ui.label(format!("close code {code} ({})", close_code_name(code))),
            None => ui.label("close frame without a status code"),
        };
    }
    if let Some(decoded) = entry.decoded() {
        // The protocol's reading of this message (the open packet's sid and ping times, an event's args, …);
        // the raw payload follows below.
        let title: String = decoded.summary_all().chars().take(80).collect();
        egui::CollapsingHeader::new(RichText::new(format!("Protocol: {title}")).strong())
            .id_salt("decoded-protocol")
            .default_open(true)
            .show(ui, |ui| {
                // Several protocol messages in one WebSocket message: each in full, in order.
                let n = decoded.part_count();
                let pretty = decoded
                    .parts()
                    .enumerate()
                    .map(|(i, p)| {
                        let text = serde_json::to_string_pretty(&p.value).unwrap_or_default();
                        if n == 1 {
                            text
                        } else {
                            format!("part {} of {n}:\n{text}", i + 1)
                        }
                    })
                    .collect::<Vec<_>>()
                    .join("\n");
                egui::ScrollArea::vertical()
                    .id_salt("decoded-scroll")
                    .max_height(140.0)
                    .show(ui, |ui| ui.monospace(pretty));
            });
    }
}

/// The view chooser (Text, JSON, Hex, Base64) and, for JSON, "As text".
fn view_bar_ui(
    view: PayloadView,
    has_json: bool,
    payload_view: &mut Option<PayloadView>,
    json_as_text: &mut bool,
    ui: &mut egui::Ui,
) {
    ui.horizontal(|ui| {
        for (v, name) in [
            (PayloadView::Text, "Text"),
            (PayloadView::Json, "JSON"),
            (PayloadView::Hex, "Hex"),
            (PayloadView::Base64, "Base64"),
        ] {
            if ui.selectable_label(view == v, name).clicked() {
                *payload_view = Some(v);
            }
        }
        if view == PayloadView::Json && has_json {
            ui.separator();
            ui.checkbox(json_as_text, "As text")
                .on_hover_text("Show the JSON as pretty text instead of a foldable tree");
        }
    });
}

/// Copy, Save…, Save to collection, and a note when only the start is shown.
fn buttons_ui(sel: &Shown, cache: &mut PayloadCache, ui: &mut egui::Ui, actions: &mut Vec<Action>) {
    let Shown {
        seq,
        entry,
        view,
        tree_view,
        ..
    } = *sel;
    let json = &sel.json;
    ui.horizontal_wrapped(|ui| {
        if ui
            .button("Copy")
            .on_hover_text("Copy the payload as shown (text, pretty JSON, hex dump or base64)")
            .clicked()
        {
            // Built on the click only: JSON is copied whole, the other views as shown.
            let text = match (json, view) {
                (Some(v), PayloadView::Json) => {
                    serde_json::to_string_pretty(&**v).unwrap_or_default()
                }
                _ => cache.body(seq, entry, view).to_string(),
            };
            ui.ctx().copy_text(text);
        }
        if ui
            .button("Save…")
            .on_hover_text("Save the raw payload to a file")
            .clicked()
        {
            actions.push(Action::SavePayload);
        }
        if ui
            .button("Save to collection")
            .on_hover_text("Add this message to the session's collection")
            .clicked()
        {
            actions.push(Action::SaveToCollection(seq));
        }
        if entry.payload.len() > MAX_SHOWN_BYTES && !tree_view {
            ui.label(
                RichText::new(format!(
                    "showing the first {}",
                    format_size(MAX_SHOWN_BYTES)
                ))
                .weak(),
            );
        }
    });
}

/// The payload: the JSON tree, or the body laid out once per body, width, scale and theme.
fn body_ui(sel: &Shown, body: Option<Arc<str>>, cache: &mut PayloadCache, ui: &mut egui::Ui) {
    let Shown {
        seq,
        entry,
        view,
        tree_view,
        ..
    } = *sel;
    let json = &sel.json;
    let label = ui.label(
        RichText::new(match view {
            PayloadView::Text => "Payload (text)",
            PayloadView::Json => "Payload (JSON)",
            PayloadView::Hex => "Payload (hex)",
            PayloadView::Base64 => "Payload (base64)",
        })
        .weak(),
    );
    let max_height = (ui.clip_rect().bottom() - ui.cursor().top()).max(200.0);
    let (Some(body), false) = (body, tree_view) else {
        if let Some(value) = json {
            let selected = cache.get(seq, entry);
            crate::app::widgets::json_tree::show(ui, &mut selected.tree, value, max_height);
        }
        return;
    };
    let mut shown: &str = &body;
    let edit = egui::TextEdit::multiline(&mut shown)
        .font(egui::TextStyle::Monospace)
        .desired_width(f32::INFINITY)
        .desired_rows(6);
    // Laying out up to a megabyte of text is the costly part: do it once per body, width, scale and theme.
    let selected = cache.get(seq, entry);
    let hex = view == PayloadView::Hex;
    let mut cached_layout = |ui: &egui::Ui, text: &dyn egui::TextBuffer, wrap_width: f32| {
        let key = (
            wrap_width.to_bits(),
            ui.ctx().pixels_per_point().to_bits(),
            ui.visuals().dark_mode,
        );
        if let Some((k, galley)) = &selected.galley
            && *k == key
        {
            return galley.clone();
        }
        let job = if view == PayloadView::Json {
            let mut job = crate::app::widgets::json_colours::job(text.as_str(), ui);
            job.wrap.max_width = wrap_width;
            job
        } else {
            let font = egui::TextStyle::Monospace.resolve(ui.style());
            // A hex dump reads only unwrapped: lay it out without wrapping and scroll sideways.
            let width = if hex { f32::INFINITY } else { wrap_width };
            egui::text::LayoutJob::simple(
                text.as_str().to_owned(),
                font,
                ui.visuals().text_color(),
                width,
            )
        };
        let galley = ui.fonts_mut(|f| f.layout_job(job));
        selected.galley = Some((key, galley.clone()));
        galley
    };
    let edit = edit.layouter(&mut cached_layout);
    if hex {
        // One scroll position per message: another selection starts at the offsets.
        egui::ScrollArea::horizontal()
            .id_salt(("hex-scroll", seq))
            .show(ui, |ui| ui.add(edit).labelled_by(label.id));
    } else {
        ui.add(edit).labelled_by(label.id);
    }
}

/// Every frame header seen on the wire: fragments, continuations, automatic pongs and close replies included.
fn frames_ui(tab: &ConnTab, ui: &mut egui::Ui) {
    ui.label(
        RichText::new(format!(
            "{} frames on the wire (newest last)",
            tab.frames.len()
        ))
        .weak(),
    );
    let row_height = 18.0;
    let n = tab.frames.len();
    // RSV1 marks compressed messages once permessage-deflate was agreed.
    let deflate = tab.handshake.as_ref().is_some_and(|h| h.deflate.is_some());
    // Lines never wrap: a narrow panel scrolls them sideways, the header with them.
    let line = |ui: &mut egui::Ui, text: RichText| {
        ui.add(egui::Label::new(text.monospace()).wrap_mode(egui::TextWrapMode::Extend));
    };
    // Newest frames last; start scrolled to the end.
    egui::ScrollArea::horizontal()
        .id_salt("frames-sideways")
        .show(ui, |ui| {
            line(ui, RichText::new(FRAMES_HEADER).weak());
            egui::ScrollArea::vertical()
                .id_salt("frames-scroll")
                .stick_to_bottom(true)
                .show_rows(ui, row_height, n, |ui, range| {
                    for i in range {
                        let Some(f) = tab.frames.get(i) else { break };
                        let rsv = format!(
                            "{}{}{}",
                            u8::from(f.rsv1),
                            u8::from(f.rsv2),
                            u8::from(f.rsv3)
                        );
                        let opcode = match f.opcode_name() {
                            "reserved" => format!("{:#x} reserved", f.opcode),
                            name => name.to_owned(),
                        };
                        let text = format!(
                            "{:<2}{:<13}{:>8} {:>10}  {:<3} {rsv}  {}",
                            f.direction.arrow(),
                            opcode,
                            f.payload_len,
                            super::log_view::format_ms(f.since_connect().as_secs_f64() * 1000.0, 1),
                            u8::from(f.fin),
                            if f.masked { "masked" } else { "-" },
                        );
                        match f.violation_with(deflate) {
                            Some(why) => {
                                let red = ui.visuals().error_fg_color;
                                line(ui, RichText::new(format!("{text}  !! {why}")).color(red));
                            }
                            None => line(ui, RichText::new(text)),
                        }
                    }
                });
        });
}

/// The Wire view's column titles, aligned with its lines.
const FRAMES_HEADER: &str = "  opcode         length         at  FIN RSV  mask";
