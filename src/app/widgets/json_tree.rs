//! The JSON payload view as a tree: objects and arrays fold open and shut, leaves are coloured by type.
//! The first two levels start open. The open nodes are flattened into rows once (per selection and per click),
//! and only the rows in view are drawn, so a frame costs the same for a 30-byte and a 32 MiB document.

use egui::{Color32, RichText};
use serde_json::Value;
use std::collections::HashSet;

/// Children listed per object or array before "… N more".
const MAX_CHILDREN: usize = 1_000;
/// Characters of a string leaf shown before it is cut.
const MAX_LEAF_CHARS: usize = 300;
/// Rows the flattened tree holds at most (fold nodes to see others; Copy gives the whole document).
pub const MAX_ROWS: usize = 50_000;
/// Nodes at a depth below this start open.
const OPEN_DEPTH: usize = 2;

/// Which nodes are open, and the rows they make.
#[derive(Default)]
pub struct JsonTree {
    /// Nodes whose open state differs from the default (by child indexes from the root).
    toggled: HashSet<Vec<u32>>,
    rows: Vec<Row>,
    built: bool,
    /// Times the rows were rebuilt (once per selection and per fold or unfold).
    pub builds: u64,
}

/// One line of the tree.
struct Row {
    depth: usize,
    path: Vec<u32>,
    key: String,
    kind: RowKind,
}

enum RowKind {
    /// An object or array: its summary, and whether it is open.
    Node { summary: String, open: bool },
    /// A leaf value as shown, and its colour class.
    Leaf { text: String, class: Leaf },
    /// A note: children left out, or the row cap reached.
    Note(String),
}

#[derive(Clone, Copy)]
enum Leaf {
    String,
    Number,
    Literal,
}

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

fn summary(value: &Value) -> String {
    match value {
        Value::Object(map) => format!("{{…}} {} keys", map.len()),
        Value::Array(items) => format!("[…] {} items", items.len()),
        _ => String::new(),
    }
}

impl JsonTree {
    /// Number of rows (after the first build).
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// True when there are no rows yet.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    fn is_open(&self, path: &[u32]) -> bool {
        (path.len() < OPEN_DEPTH) != self.toggled.contains(path)
    }

    fn build(&mut self, value: &Value) {
        self.rows.clear();
        let mut path = Vec::new();
        self.walk("$".into(), value, &mut path);
        self.built = true;
        self.builds += 1;
    }

    fn walk(&mut self, key: String, value: &Value, path: &mut Vec<u32>) {
        let depth = path.len();
        if self.rows.len() >= MAX_ROWS {
            return;
        }
        if self.rows.len() == MAX_ROWS - 1 {
            self.rows.push(Row {
                depth,
                path: path.clone(),
                key: String::new(),
                kind: RowKind::Note(format!(
                    "… the tree stops at {MAX_ROWS} rows: fold some nodes (Copy gives the whole document)"
                )),
            });
            return;
        }
        let leaf = |text: String, class: Leaf| RowKind::Leaf { text, class };
        let kind = match value {
            Value::Object(_) | Value::Array(_) => RowKind::Node {
                summary: summary(value),
                open: self.is_open(path),
            },
            Value::String(s) => {
                let mut shown: String = s.chars().take(MAX_LEAF_CHARS).collect();
                if shown.len() < s.len() {
                    shown.push('…');
                }
                leaf(format!("{shown:?}"), Leaf::String)
            }
            Value::Number(n) => leaf(n.to_string(), Leaf::Number),
            other => leaf(other.to_string(), Leaf::Literal),
        };
        let open = matches!(kind, RowKind::Node { open: true, .. });
        self.rows.push(Row {
            depth,
            path: path.clone(),
            key,
            kind,
        });
        if !open {
            return;
        }
        let total = match value {
            Value::Object(map) => {
                for (i, (k, v)) in map.iter().take(MAX_CHILDREN).enumerate() {
                    path.push(i as u32);
                    self.walk(k.clone(), v, path);
                    path.pop();
                }
                map.len()
            }
            Value::Array(items) => {
                for (i, v) in items.iter().take(MAX_CHILDREN).enumerate() {
                    path.push(i as u32);
                    self.walk(i.to_string(), v, path);
                    path.pop();
                }
                items.len()
            }
            _ => 0,
        };
        if total > MAX_CHILDREN && self.rows.len() < MAX_ROWS {
            self.rows.push(Row {
                depth: depth + 1,
                path: path.clone(),
                key: String::new(),
                kind: RowKind::Note(format!(
                    "… {} more (Copy gives the whole document)",
                    total - MAX_CHILDREN
                )),
            });
        }
    }
}

/// Shows `value` as a foldable tree whose state is `tree`, in a scroll area at most `max_height` tall.
pub fn show(ui: &mut egui::Ui, tree: &mut JsonTree, value: &Value, max_height: f32) {
    if !tree.built {
        tree.build(value);
    }
    let palette = Palette::new(ui);
    let row_height = ui.spacing().interact_size.y;
    let indent = ui.spacing().indent;
    let mut clicked: Option<Vec<u32>> = None;
    egui::ScrollArea::both()
        .id_salt("json-tree")
        .max_height(max_height)
        .auto_shrink([false, true])
        .show_rows(ui, row_height, tree.rows.len(), |ui, range| {
            for row in tree.rows.get(range).unwrap_or_default() {
                ui.horizontal(|ui| {
                    ui.set_height(row_height);
                    ui.spacing_mut().item_spacing.x = 4.0;
                    ui.add_space(row.depth as f32 * indent);
                    match &row.kind {
                        RowKind::Node { summary, open } => {
                            let size = egui::vec2(ui.spacing().icon_width, row_height);
                            let (_, icon) = ui.allocate_exact_size(size, egui::Sense::hover());
                            let openness = if *open { 1.0 } else { 0.0 };
                            egui::collapsing_header::paint_default_icon(ui, openness, &icon);
                            let title =
                                RichText::new(format!("{}: {summary}", row.key)).monospace();
                            if ui
                                .add(egui::Button::new(title).frame(false))
                                .on_hover_text(if *open { "Fold" } else { "Unfold" })
                                .clicked()
                            {
                                clicked = Some(row.path.clone());
                            }
                        }
                        RowKind::Leaf { text, class } => {
                            ui.add_space(ui.spacing().icon_width);
                            ui.label(
                                RichText::new(format!("{}:", row.key))
                                    .monospace()
                                    .color(palette.key),
                            );
                            let colour = match class {
                                Leaf::String => palette.string,
                                Leaf::Number => palette.number,
                                Leaf::Literal => palette.literal,
                            };
                            ui.add(
                                egui::Label::new(RichText::new(text).monospace().color(colour))
                                    .extend(),
                            );
                        }
                        RowKind::Note(note) => {
                            ui.weak(note);
                        }
                    }
                });
            }
        });
    if let Some(path) = clicked {
        if !tree.toggled.remove(&path) {
            tree.toggled.insert(path);
        }
        tree.build(value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_rebuilds_the_rows_and_the_row_count_is_capped() {
        let value = serde_json::json!({"a": {"b": {"c": 1}}, "list": [1, 2, 3]});
        let mut tree = JsonTree::default();
        tree.build(&value);
        // $, a, a.b (closed at depth 2), list, 1, 2, 3.
        assert_eq!(tree.len(), 7);
        tree.toggled.insert(vec![0, 0]);
        tree.build(&value);
        assert_eq!(tree.len(), 8, "a.b opened shows c");
        tree.toggled.insert(vec![]);
        tree.build(&value);
        assert_eq!(tree.len(), 1, "the root folded");

        let wide: Vec<Value> = (0..2_000)
            .map(|i| serde_json::json!({"i": i, "v": [i, i]}))
            .collect();
        let mut tree = JsonTree::default();
        tree.build(&Value::Array(wide));
        assert!(tree.len() <= MAX_ROWS);
        assert!(
            tree.rows
                .iter()
                .any(|r| matches!(&r.kind, RowKind::Note(n) if n.contains("1000 more")))
        );
    }
}
