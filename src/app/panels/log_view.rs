//! The message log: one row per message, drawn only for the visible rows so a million entries cost no more
//! per frame than forty.

use crate::app::action::Action;
use crate::app::tab::log_columns::{Column, Layout, LogColumns};
use crate::app::tab::log_filter::LogFilter;
use crate::app::tab::log_store::Marker;
use crate::app::tab::{ConnTab, LogLimits, LogStore, Tone};
use crate::model::{Direction, LogEntry, MessageKind, preview};
use egui::{Align2, Color32, FontId, Sense};

const ROW_HEIGHT: f32 = 20.0;

/// How far back "reply" looks for our last sent message.
const REPLY_LOOKBACK: usize = 1_000;

/// Milliseconds since the previous entry of the same connection.
fn since_previous(log: &LogStore, index: usize) -> Option<f64> {
    let entry = log.get(index)?;
    let prev = log.get(index.checked_sub(1)?)?;
    (prev.conn_id == entry.conn_id).then(|| {
        entry
            .since_connect()
            .saturating_sub(prev.since_connect())
            .as_secs_f64()
            * 1000.0
    })
}

/// For a received data message: milliseconds since our last sent data message (request → reply latency).
fn reply_time(log: &LogStore, index: usize) -> Option<f64> {
    let entry = log.get(index)?;
    if entry.direction != Direction::Received || !entry.kind.is_data() {
        return None;
    }
    (index.saturating_sub(REPLY_LOOKBACK)..index)
        .rev()
        .find_map(|i| {
            let e = log.get(i)?;
            (e.conn_id == entry.conn_id && e.direction == Direction::Sent && e.kind.is_data()).then(
                || {
                    entry
                        .since_connect()
                        .saturating_sub(e.since_connect())
                        .as_secs_f64()
                        * 1000.0
                },
            )
        })
}

/// Local wall-clock time with milliseconds.
pub fn format_time(at: std::time::SystemTime) -> String {
    chrono::DateTime::<chrono::Local>::from(at)
        .format("%H:%M:%S%.3f")
        .to_string()
}

/// A duration given in milliseconds, in seconds from 10 s on: `12.3 ms`, `96.3 s` (`decimals` after the point).
pub fn format_ms(ms: f64, decimals: usize) -> String {
    if ms.abs() >= 10_000.0 {
        format!("{:.*} s", decimals, ms / 1000.0)
    } else {
        format!("{ms:.decimals$} ms")
    }
}

pub use crate::model::format_size;

/// The accessible one-line description of a row (also its test selector).
pub fn row_label(entry: &LogEntry) -> String {
    if let Some(decoded) = entry.decoded() {
        let summary: String = decoded.summary_all().chars().take(120).collect();
        return format!(
            "{} {} {} {summary}",
            entry.direction.as_str(),
            entry.kind.as_str(),
            format_size(entry.size()),
        );
    }
    let compressed = if entry.compressed() {
        format!(" (compressed to {})", format_size(entry.wire_size()))
    } else {
        String::new()
    };
    format!(
        "{} {} {}{compressed} {}",
        entry.direction.as_str(),
        entry.kind.as_str(),
        format_size(entry.size()),
        row_preview(entry, 60)
    )
}

/// The accessible description of a binary row read with the tab's codec: its decoded line.
fn decoded_row_label(entry: &LogEntry, line: &str) -> String {
    format!(
        "{} {} {} {}",
        entry.direction.as_str(),
        entry.kind.as_str(),
        format_size(entry.size()),
        clip(line, 60)
    )
}

fn row_preview(entry: &LogEntry, chars: usize) -> String {
    let mut text = payload_preview(entry, chars);
    if let Some(rtt) = entry.rtt() {
        text = format!("rtt {:.2} ms  {text}", rtt.as_secs_f64() * 1000.0);
    }
    if let Some(note) = entry.note() {
        text = format!("{text}  [{note}]");
    }
    text
}

fn payload_preview(entry: &LogEntry, chars: usize) -> String {
    match entry.kind {
        MessageKind::Close => {
            let code = entry
                .close_code()
                .map(|c| c.to_string())
                .unwrap_or_else(|| "no code".into());
            let reason = String::from_utf8_lossy(&entry.payload);
            let auto = if entry.automatic() {
                " (automatic reply)"
            } else {
                ""
            };
            if reason.is_empty() {
                format!("{code}{auto}")
            } else {
                format!("{code} \"{reason}\"{auto}")
            }
        }
        MessageKind::Binary => preview(&entry.payload, false, chars),
        // A text message is UTF-8 (the protocol requires it): validating a 32 MiB payload per row per frame cost
        // more than the rest of the frame. Pings and pongs carry at most 125 bytes.
        MessageKind::Text => preview(&entry.payload, true, chars),
        _ => preview(&entry.payload, entry.text().is_some(), chars),
    }
}

/// At most `chars` characters, with an ellipsis when cut.
fn clip(text: &str, chars: usize) -> String {
    if text.chars().count() <= chars {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(chars.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// The message type, with an ack's round-trip time: `ack 1.2ms`.
fn message_cell(decoded: &crate::model::protocol::Decoded) -> Option<String> {
    let kind = match decoded.part_count() {
        1 => decoded.kind().to_owned(),
        // Several protocol messages in one WebSocket message: the first, and how many follow.
        n => format!("{} +{}", decoded.kind(), n - 1),
    };
    Some(
        match decoded.field("rtt_ms").and_then(serde_json::Value::as_f64) {
            Some(rtt) => format!("{kind} {rtt}ms"),
            None => kind.to_owned(),
        },
    )
}

/// A protocol message's values in one line: an event's args, a result's payload, an ack's time.
fn decoded_preview(decoded: &crate::model::protocol::Decoded, chars: usize) -> String {
    let mut text = decoded
        .parts()
        .filter_map(|p| p.values().next().map(ToString::to_string))
        .collect::<Vec<_>>()
        .join(" · ");
    if let (Some(part), Some(parts)) = (decoded.field("part"), decoded.field("parts")) {
        text = format!("part {part} of {parts} (the message is on its last part)");
    }
    clip(&text, chars)
}

/// Keep-alives and parts dim, failures red, the rest by class.
fn protocol_colour(
    decoded: Option<&crate::model::protocol::Decoded>,
    visuals: &egui::Visuals,
) -> Color32 {
    use crate::model::protocol::Class;
    match decoded.map(|d| d.class) {
        Some(Class::Application) => Color32::from_rgb(0x4a, 0x9e, 0xff),
        Some(Class::Control) => Color32::from_rgb(0xd2, 0x99, 0x22),
        Some(Class::Invalid) => visuals.error_fg_color,
        _ => visuals.weak_text_color(),
    }
}

fn kind_colour(entry: &LogEntry, visuals: &egui::Visuals) -> Color32 {
    if entry.extra.as_ref().is_some_and(|e| e.violation) {
        return visuals.error_fg_color;
    }
    match (entry.kind, entry.direction) {
        (MessageKind::Text | MessageKind::Binary, Direction::Sent) => {
            Color32::from_rgb(0x4a, 0x9e, 0xff)
        }
        (MessageKind::Text | MessageKind::Binary, Direction::Received) => {
            Color32::from_rgb(0x3f, 0xb9, 0x50)
        }
        (MessageKind::Close, _) => Color32::from_rgb(0xd2, 0x99, 0x22),
        _ => visuals.weak_text_color(),
    }
}

pub(crate) fn ui(
    tab: &mut ConnTab,
    dropped_in_transit: u64,
    limits: &mut LogLimits,
    columns: &mut LogColumns,
    ui: &mut egui::Ui,
    actions: &mut Vec<Action>,
) {
    // Binary rows are read with the tab's codec: searched, and previewed when drawn.
    tab.codec.update(&tab.session.endpoint.codec, ui.ctx());
    let codec = tab.codec.ready().cloned();
    tab.filter.codec = codec.clone().map(|c| (tab.codec.generation, c));
    tab.caches.rows.frame(tab.codec.generation);
    tab.filter.refresh(&tab.log);
    if tab.filter.is_scanning(&tab.log) {
        ui.ctx().request_repaint();
    }
    let protocol = tab.filter.protocol_rows;
    header_ui(tab, dropped_in_transit, limits, columns, ui, actions);
    filter_ui(tab, ui);
    ui.separator();
    let rows_in_log = tab.log.seq_of(tab.log.len()) as usize;
    // The rows are as wide as the list less its scrollbar.
    let row_width = ui.available_width() - crate::app::widgets::virtual_list::bar_width(ui);
    let layout = columns.layout(row_width, rows_in_log, protocol);
    tab.log_payload_chars = layout.payload_chars;
    columns_ui(ui, &layout, columns, rows_in_log, protocol);
    if tab.log.is_empty() && tab.log.markers().is_empty() {
        ui.add_space(20.0);
        ui.vertical_centered(|ui| {
            ui.label(egui::RichText::new("No messages yet. Connect, then send something.").weak());
        });
        return;
    }
    let font = FontId::monospace(12.5);
    let entries = tab.filter.len(&tab.log);
    if entries == 0 && tab.filter.is_active() && !tab.filter.is_scanning(&tab.log) {
        no_matches_ui(tab, ui);
        return;
    }
    let dividers = divider_rows(&tab.log, &tab.filter);
    let total = entries + dividers.len();
    let rows = Rows {
        log: &tab.log,
        filter: &tab.filter,
        selected_seq: tab.selected,
        font: &font,
        layout: &layout,
        dividers: &dividers,
        codec: codec.as_deref(),
    };
    let lines = &mut tab.caches.rows;
    tab.log_scroll
        .show(ui, total, ROW_HEIGHT, &mut tab.follow, |ui, row| {
            row_ui(ui, row, &rows, lines, actions)
        });
    if lines.deferred {
        ui.ctx().request_repaint();
    }
}

/// The rows the dividers take among the shown entries, in order (a divider before the k-th shown entry after
/// it sits at that entry's row plus the dividers before it).
fn divider_rows(log: &LogStore, filter: &LogFilter) -> Vec<usize> {
    log.markers()
        .iter()
        .enumerate()
        .map(|(k, m)| filter.rank(m.before_seq, log) + k)
        .collect()
}

/// Every message is filtered out: say so, and how to show them again.
fn no_matches_ui(tab: &mut ConnTab, ui: &mut egui::Ui) {
    ui.add_space(20.0);
    ui.vertical_centered(|ui| {
        let what = if tab.filter.query.trim().is_empty() {
            "No message passes the filters".to_owned()
        } else {
            format!(
                "No message matches \"{}\" with these filters",
                tab.filter.query.trim()
            )
        };
        ui.label(
            egui::RichText::new(format!("{what} ({} messages hidden).", tab.log.len())).weak(),
        );
        if ui
            .button("Clear search and filters")
            .on_hover_text("Show every message again (keep-alives stay behind their toggle)")
            .clicked()
        {
            tab.filter.clear();
        }
    });
}

/// The title, the count (and how many were dropped), Clear, Export…, Auto-scroll and Limits….
fn header_ui(
    tab: &mut ConnTab,
    dropped_in_transit: u64,
    limits: &mut LogLimits,
    columns: &mut LogColumns,
    ui: &mut egui::Ui,
    actions: &mut Vec<Action>,
) {
    ui.horizontal(|ui| {
        ui.strong("Messages");
        let shown = tab.filter.len(&tab.log);
        if tab.filter.is_active() {
            ui.label(format!("{shown} of {}", tab.log.len()));
        } else {
            ui.label(format!("{}", tab.log.len()));
        }
        let dropped = tab.log.dropped() + dropped_in_transit;
        if dropped > 0 {
            ui.label(
                egui::RichText::new(format!("({dropped} oldest dropped)"))
                    .color(ui.visuals().warn_fg_color),
            )
            .on_hover_text(format!(
                "The log keeps the newest {} messages and {} MiB of payloads; older ones are dropped \
                 (Limits… changes this). Export still saves everything the log holds.",
                limits.max_entries, limits.max_mib
            ));
        }
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            if ui.button("Clear").on_hover_text("Empty the log").clicked() {
                actions.push(Action::ClearLog);
            }
            if ui
                .button("Export…")
                .on_hover_text("Save the whole log as NDJSON (or JSON, by the file name)")
                .clicked()
            {
                actions.push(Action::ExportLog);
            }
            ui.checkbox(&mut tab.follow, "Auto-scroll");
            ui.menu_button("Limits…", |ui| limits_ui(limits, ui))
                .response
                .on_hover_text("How many messages each log keeps before dropping the oldest");
            let protocol = tab.filter.protocol_rows;
            // Stays open while columns are ticked on and off.
            let config = egui::containers::menu::MenuConfig::default()
                .close_behavior(egui::PopupCloseBehavior::CloseOnClickOutside);
            egui::containers::menu::MenuButton::new("Columns…")
                .config(config)
                .ui(ui, |ui| columns_menu_ui(columns, protocol, ui))
                .0
                .on_hover_text(
                    "Show or hide the log's columns (drag a column title's right edge to resize it)",
                );
        });
    });
}

/// The column titles over the rows; dragging a title's right edge resizes its column, right-clicking the titles
/// opens the column menu.
fn columns_ui(
    ui: &mut egui::Ui,
    layout: &Layout,
    columns: &mut LogColumns,
    rows_in_log: usize,
    protocol: bool,
) {
    let (header_rect, header) =
        ui.allocate_exact_size(egui::vec2(ui.available_width(), ROW_HEIGHT), Sense::click());
    header.context_menu(|ui| columns_menu_ui(columns, protocol, ui));
    let weak = ui.visuals().weak_text_color();
    let title = |ui: &egui::Ui, x: f32, name: &str| {
        ui.painter().text(
            header_rect.left_center() + egui::vec2(x, 0.0),
            Align2::LEFT_CENTER,
            name,
            FontId::proportional(12.5),
            weak,
        );
    };
    for placed in &layout.columns {
        title(ui, placed.x, placed.column.title());
        let edge = header_rect.left() + placed.x + placed.width - 5.0;
        let handle = egui::Rect::from_x_y_ranges(edge - 3.0..=edge + 3.0, header_rect.y_range());
        let id = ui.scope_id().with(("log-column-edge", placed.column));
        let response = ui
            .interact(handle, id, Sense::drag())
            .on_hover_cursor(egui::CursorIcon::ResizeHorizontal);
        if response.hovered() || response.dragged() {
            ui.painter().vline(
                edge,
                header_rect.y_range(),
                egui::Stroke::new(1.0, ui.visuals().widgets.hovered.fg_stroke.color),
            );
        }
        if response.dragged() {
            let width = columns.width(placed.column, rows_in_log) + response.drag_delta().x;
            columns.set_width(placed.column, width);
        }
        if response.double_clicked() {
            columns.widths.remove(&placed.column);
        }
        response.widget_info(|| {
            egui::WidgetInfo::labeled(
                egui::Role::Splitter,
                true,
                format!("resize the {} column", placed.column.menu_name()),
            )
        });
    }
    title(ui, layout.payload_x, "payload");
}

/// Which columns are shown (the protocol's only on a protocol connection), and back to the defaults.
fn columns_menu_ui(columns: &mut LogColumns, protocol: bool, ui: &mut egui::Ui) {
    for column in Column::ALL {
        if column.is_protocol() && !protocol {
            continue;
        }
        let mut shown = columns.is_shown(column, protocol);
        if ui.checkbox(&mut shown, column.menu_name()).changed() {
            columns.set_shown(column, shown);
        }
    }
    ui.separator();
    if ui
        .button("Default columns")
        .on_hover_text("Show the default columns at their default widths")
        .clicked()
    {
        columns.reset();
    }
    ui.weak("The payload always takes the rest of the width.");
}

/// Row `row` of the (filtered) log: its cells and a preview, clickable to select it.
/// What every row is drawn from.
struct Rows<'a> {
    log: &'a LogStore,
    filter: &'a LogFilter,
    selected_seq: Option<u64>,
    font: &'a FontId,
    layout: &'a Layout,
    /// The rows the dividers take, in order.
    dividers: &'a [usize],
    /// The tab's codec, which binary rows are previewed with.
    codec: Option<&'a crate::model::codec::Codec>,
}

fn row_ui(
    ui: &mut egui::Ui,
    row: usize,
    rows: &Rows<'_>,
    lines: &mut crate::app::tab::codec::PreviewLines,
    actions: &mut Vec<Action>,
) {
    let Rows {
        log,
        filter,
        selected_seq,
        font,
        layout,
        dividers,
        codec,
    } = *rows;
    let entry_row = match dividers.binary_search(&row) {
        Ok(k) => {
            if let Some(marker) = log.markers().get(k) {
                divider_ui(ui, marker, font);
            }
            return;
        }
        Err(before) => row - before,
    };
    let Some(index) = filter.index(entry_row, log) else {
        return;
    };
    let Some(entry) = log.get(index) else {
        return;
    };
    let seq = log.seq_of(index);
    let selected = selected_seq == Some(seq);
    let (rect, response) =
        ui.allocate_exact_size(egui::vec2(ui.available_width(), ROW_HEIGHT), Sense::click());
    let codec_line = codec.and_then(|c| lines.line(c, seq, entry));
    let label = match &codec_line {
        Some(line) => decoded_row_label(entry, line),
        None => row_label(entry),
    };
    response.widget_info(|| {
        egui::WidgetInfo::selected(egui::Role::ListBoxOption, true, selected, &label)
    });
    if response.clicked() {
        actions.push(Action::Select(seq));
    }
    let visuals = ui.visuals();
    if selected {
        ui.painter()
            .rect_filled(rect, 2.0, visuals.selection.bg_fill);
    } else if response.hovered() {
        ui.painter()
            .rect_filled(rect, 2.0, visuals.widgets.hovered.weak_bg_fill);
    } else if entry_row % 2 == 1 {
        ui.painter().rect_filled(rect, 0.0, visuals.faint_bg_color);
    }
    let painter = ui.painter_at(rect);
    for placed in &layout.columns {
        let (text, colour) = cell(placed.column, entry, log, index, seq, visuals);
        let text = clip(&text, Column::chars_in(placed.width));
        painter.text(
            rect.left_center() + egui::vec2(placed.x, 0.0),
            Align2::LEFT_CENTER,
            text,
            font.clone(),
            colour,
        );
    }
    let chars = layout.payload_chars.clamp(8, 400);
    let text = match (
        entry.decoded().filter(|_| filter.protocol_rows),
        &codec_line,
    ) {
        (Some(decoded), _) => decoded_preview(decoded, chars),
        (None, Some(line)) => clip(line, chars),
        (None, None) => row_preview(entry, chars),
    };
    painter.text(
        rect.left_center() + egui::vec2(layout.payload_x, 0.0),
        Align2::LEFT_CENTER,
        text,
        font.clone(),
        visuals.text_color(),
    );
}

/// One cell's text and colour.
fn cell(
    column: Column,
    entry: &LogEntry,
    log: &LogStore,
    index: usize,
    seq: u64,
    visuals: &egui::Visuals,
) -> (String, Color32) {
    let text_colour = visuals.text_color();
    let weak = visuals.weak_text_color();
    let ms = |v: Option<f64>| v.map(|v| format_ms(v, 1)).unwrap_or_default();
    let decoded = entry.decoded();
    let field = |f: fn(&crate::model::protocol::Decoded) -> Option<String>| {
        decoded.and_then(f).unwrap_or_default()
    };
    match column {
        Column::Number => (log.number(seq).to_string(), weak),
        Column::Direction => (
            entry.direction.arrow().to_owned(),
            kind_colour(entry, visuals),
        ),
        Column::Kind => (entry.kind.as_str().to_owned(), kind_colour(entry, visuals)),
        Column::Time => (format_time(entry.at()), text_colour),
        Column::SinceStart => (
            format_ms(entry.since_connect().as_secs_f64() * 1000.0, 1),
            weak,
        ),
        Column::SincePrevious => (ms(since_previous(log, index)), weak),
        Column::Reply => (ms(reply_time(log, index)), text_colour),
        // A compressed message's size in the colour of the Wire column's figures.
        Column::Size if entry.compressed() => {
            (format_size(entry.size()), compressed_colour(visuals))
        }
        Column::Size => (format_size(entry.size()), text_colour),
        Column::Wire => (wire_cell(entry), compressed_colour(visuals)),
        Column::Message => (field(message_cell), protocol_colour(decoded, visuals)),
        Column::Event => (field(|d| d.subject()), text_colour),
        Column::Namespace => (field(|d| d.namespace().map(str::to_owned)), weak),
        Column::Id => (field(|d| d.id()), weak),
    }
}

/// The colour of compressed sizes.
fn compressed_colour(visuals: &egui::Visuals) -> Color32 {
    if visuals.dark_mode {
        Color32::from_rgb(100, 205, 160)
    } else {
        Color32::from_rgb(0, 125, 90)
    }
}

/// "59 B 1.2%" for a compressed message, empty for the rest.
pub fn wire_cell(entry: &LogEntry) -> String {
    if !entry.compressed() {
        return String::new();
    }
    format!("{} {}", format_size(entry.wire_size()), ratio(entry))
}

/// The wire size as a share of the message's size: "1.2%", "104%".
pub fn ratio(entry: &LogEntry) -> String {
    let pct = entry.wire_size() as f64 * 100.0 / entry.size().max(1) as f64;
    if pct < 10.0 {
        format!("{pct:.1}%")
    } else {
        format!("{pct:.0}%")
    }
}

/// A divider row: a connection opened, closed or failed here.
fn divider_ui(ui: &mut egui::Ui, marker: &Marker, font: &FontId) {
    let (rect, response) =
        ui.allocate_exact_size(egui::vec2(ui.available_width(), ROW_HEIGHT), Sense::hover());
    let label = format!("divider: {}", marker.text);
    response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Label, true, &label));
    response.on_hover_text(&marker.text);
    let visuals = ui.visuals();
    let colour = match marker.tone {
        Tone::Opened => Color32::from_rgb(0x3f, 0xb9, 0x50),
        Tone::Closed => Color32::from_rgb(0xd2, 0x99, 0x22),
        Tone::Failed => visuals.error_fg_color,
    };
    let painter = ui.painter_at(rect);
    let text_pos = rect.left_center() + egui::vec2(28.0, 0.0);
    let galley = painter.layout_no_wrap(marker.text.clone(), font.clone(), colour);
    let text_end = text_pos.x + galley.size().x;
    let stroke = egui::Stroke::new(1.0, colour.gamma_multiply(0.6));
    painter.hline(
        rect.left() + 4.0..=text_pos.x - 6.0,
        rect.center().y,
        stroke,
    );
    if text_end + 6.0 < rect.right() - 4.0 {
        painter.hline(text_end + 6.0..=rect.right() - 4.0, rect.center().y, stroke);
    }
    painter.galley(
        text_pos - egui::vec2(0.0, galley.size().y / 2.0),
        galley,
        colour,
    );
}

/// The log limits. Lowering one drops entries at once, so a value being dragged is only a draft: it applies when
/// the drag ends (or when typed in), and dragging down and back up loses nothing.
fn limits_ui(limits: &mut LogLimits, ui: &mut egui::Ui) {
    let draft_id = ui.scope_id().with("log-limits-draft");
    let mut draft = ui
        .data(|d| d.get_temp::<LogLimits>(draft_id))
        .unwrap_or(*limits);
    let mut apply = false;
    egui::Grid::new("log-limits").num_columns(2).show(ui, |ui| {
        apply |= limit_field(
            ui,
            "Keep messages",
            &mut draft.max_entries,
            1_000,
            50_000_000,
            10_000.0,
        );
        apply |= limit_field(ui, "Keep payload MiB", &mut draft.max_mib, 1, 65_536, 8.0);
    });
    if apply || draft == *limits {
        *limits = draft;
        ui.data_mut(|d| d.remove::<LogLimits>(draft_id));
    } else {
        ui.data_mut(|d| d.insert_temp(draft_id, draft));
    }
    ui.weak("Beyond either limit the oldest messages are dropped and counted.");
}

/// One row of the limits grid. True when its value should apply now: a drag ended, or it was typed in.
fn limit_field(
    ui: &mut egui::Ui,
    label: &str,
    value: &mut usize,
    min: usize,
    max: usize,
    speed: f64,
) -> bool {
    let label = ui.label(label);
    let r = ui
        .add(egui::DragValue::new(value).range(min..=max).speed(speed))
        .labelled_by(label.id);
    ui.end_row();
    r.drag_stopped() || (r.changed() && !r.dragged())
}

fn filter_ui(tab: &mut ConnTab, ui: &mut egui::Ui) {
    let filter = &mut tab.filter;
    ui.horizontal_wrapped(|ui| {
        let label = ui.label("Search");
        ui.add(
            egui::TextEdit::singleline(&mut filter.query)
                .id(super::palette::search_field_id())
                .hint_text("text in payloads (Ctrl+F)")
                .desired_width(180.0),
        )
        .labelled_by(label.id);
        ui.checkbox(&mut filter.regex, "Regex");
        ui.separator();
        let direction_label = ui.label("Direction");
        egui::ComboBox::from_id_salt("direction-filter")
            .selected_text(match filter.direction {
                None => "Both ways",
                Some(Direction::Sent) => "Sent",
                Some(Direction::Received) => "Received",
            })
            .show_ui(ui, |ui| {
                ui.selectable_value(&mut filter.direction, None, "Both ways");
                ui.selectable_value(&mut filter.direction, Some(Direction::Sent), "Sent");
                ui.selectable_value(&mut filter.direction, Some(Direction::Received), "Received");
            })
            .response
            .labelled_by(direction_label.id);
        for (i, kind) in crate::app::tab::log_filter::KINDS.iter().enumerate() {
            ui.toggle_value(&mut filter.kinds[i], kind.as_str());
        }
        if filter.protocol_rows {
            ui.separator();
            ui.toggle_value(&mut filter.keepalives, "keep-alives")
                .on_hover_text(
                    "Show the protocol's keep-alive traffic (ping / pong, ka) and the parts of binary \
                     packets; hidden by default",
                );
        }
        if let Some(err) = &filter.error {
            ui.label(egui::RichText::new(err).color(ui.visuals().error_fg_color));
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_in_seconds_from_ten_seconds_on() {
        assert_eq!(format_ms(12.34, 1), "12.3 ms");
        assert_eq!(format_ms(9_999.0, 1), "9999.0 ms");
        assert_eq!(format_ms(96_317.2, 1), "96.3 s");
        assert_eq!(format_ms(10_000.0, 3), "10.000 s");
    }

    #[test]
    fn a_close_row_counts_its_code_in_its_size() {
        let close = LogEntry::from_nanos(
            1,
            Direction::Sent,
            MessageKind::Close,
            0,
            0,
            b"bye".to_vec(),
        )
        .with_close_code(Some(1000));
        assert_eq!(close.size(), 5);
        let empty =
            LogEntry::from_nanos(1, Direction::Received, MessageKind::Close, 0, 0, Vec::new());
        assert_eq!(empty.size(), 0, "a close frame without a code is empty");
    }
}
