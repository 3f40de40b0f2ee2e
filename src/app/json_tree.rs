//! The JSON payload view as a tree: objects and arrays fold open and shut, leaves are coloured by type.
//! The first two levels start open; deeper ones open on a click, so a large document costs only what is shown.

use egui::{Color32, RichText};
use serde_json::Value;

/// Children shown per object or array before "… N more".
const MAX_CHILDREN: usize = 1_000;
/// Characters of a string leaf shown before it is cut.
const MAX_LEAF_CHARS: usize = 300;

/// Colours for keys and the kinds of leaf.
struct Palette {
    key: Color32,
    string: Color32,
    number: Color32,
    literal: Color32,
}

impl Palette {
    fn new(ui: &egui::Ui) -> Self {
        let dark = ui.visuals().dark_mode;
        let pick = |light: (u8, u8, u8), darkc: (u8, u8, u8)| {
            let (r, g, b) = if dark { darkc } else { light };
            Color32::from_rgb(r, g, b)
        };
        Self {
            key: pick((0x0a, 0x55, 0xa8), (0x79, 0xc0, 0xff)),
            string: pick((0x0a, 0x6e, 0x2a), (0xa5, 0xd6, 0xff)),
            number: pick((0x95, 0x3e, 0x00), (0xff, 0xa6, 0x57)),
            literal: pick((0x8a, 0x20, 0xa8), (0xd2, 0xa8, 0xff)),
        }
    }
}

/// Shows `value` as a foldable tree; `id` keeps each node's open state apart from other payloads'.
pub fn show(ui: &mut egui::Ui, id: egui::Id, value: &Value) {
    let palette = Palette::new(ui);
    node(ui, &palette, "$", value, id, 0);
}

fn summary(value: &Value) -> String {
    match value {
        Value::Object(map) => format!("{{…}} {} keys", map.len()),
        Value::Array(items) => format!("[…] {} items", items.len()),
        _ => String::new(),
    }
}

fn node(
    ui: &mut egui::Ui,
    palette: &Palette,
    key: &str,
    value: &Value,
    id: egui::Id,
    depth: usize,
) {
    let children: Vec<(String, &Value)> = match value {
        Value::Object(map) => map.iter().map(|(k, v)| (k.clone(), v)).collect(),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, v)| (i.to_string(), v))
            .collect(),
        leaf => {
            ui.horizontal_wrapped(|ui| {
                ui.spacing_mut().item_spacing.x = 4.0;
                ui.label(
                    RichText::new(format!("{key}:"))
                        .monospace()
                        .color(palette.key),
                );
                let (text, colour) = match leaf {
                    Value::String(s) => {
                        let mut shown: String = s.chars().take(MAX_LEAF_CHARS).collect();
                        if shown.len() < s.len() {
                            shown.push('…');
                        }
                        (format!("{shown:?}"), palette.string)
                    }
                    Value::Number(n) => (n.to_string(), palette.number),
                    other => (other.to_string(), palette.literal),
                };
                ui.label(RichText::new(text).monospace().color(colour));
            });
            return;
        }
    };
    let title = RichText::new(format!("{key}: {}", summary(value))).monospace();
    egui::CollapsingHeader::new(title)
        .id_salt(id)
        .default_open(depth < 2)
        .show(ui, |ui| {
            for (child_key, child) in children.iter().take(MAX_CHILDREN) {
                node(ui, palette, child_key, child, id.with(child_key), depth + 1);
            }
            if children.len() > MAX_CHILDREN {
                ui.weak(format!(
                    "… {} more (Copy gives the whole document)",
                    children.len() - MAX_CHILDREN
                ));
            }
        });
}
