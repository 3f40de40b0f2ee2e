//! The selected message, analysed once per selection instead of once per frame: whether it is text, its JSON
//! (parsed once), the body shown for each view (bounded to [`MAX_SHOWN_BYTES`], pretty-printed once) and the
//! JSON tree's rows. A 32 MiB JSON payload costs its parse when it is selected, then only what is drawn.

use crate::app::widgets::json_tree::JsonTree;
use crate::model::{LogEntry, MessageKind, hex_dump_with};
use serde_json::Value;
use std::sync::Arc;

/// How the selected payload is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PayloadView {
    /// UTF-8 text.
    Text,
    /// Pretty, coloured JSON.
    Json,
    /// Hex dump with offsets and ASCII.
    Hex,
    /// Base64.
    Base64,
}

/// Payload bytes shown at most (Save writes them whole; Copy of JSON gives the whole document).
pub const MAX_SHOWN_BYTES: usize = 256 * 1024;

/// The hex view's offsets have at least this many digits (more for payloads past 64 KiB).
pub const HEX_OFFSET_DIGITS: usize = 4;

/// What the details panel knows about the selected payload.
pub struct SelectedPayload {
    seq: u64,
    /// Valid UTF-8 and not a binary message.
    pub is_text: bool,
    /// The payload as JSON, when it is a JSON object or array.
    pub json: Option<Arc<Value>>,
    /// The view picked by content.
    pub auto: PayloadView,
    /// The JSON tree's open nodes and rows.
    pub tree: JsonTree,
    body: Option<(PayloadView, usize, Arc<str>)>,
    /// The laid-out pretty JSON text, kept while the width, scale and theme stay the same.
    pub galley: Option<(GalleyKey, Arc<egui::Galley>)>,
    /// A binary payload decoded with the tab's codec (once per selection and codec build): the build it was
    /// made with, and the value or why it does not decode.
    pub decoded: Option<(u64, Result<Arc<Value>, String>)>,
    /// The decoded value's tree.
    pub decoded_tree: JsonTree,
    /// Base64 fields of the JSON, opened as bytes.
    pub inner: InnerBytes,
}

/// What an inner reading was made for: the field, the codec, the codec's build.
pub type InnerKey = (usize, crate::model::codec::CodecKind, u64);

/// The base64 fields of the selected message's JSON (SignalR and AWS payloads carry bytes so), one of them
/// opened as bytes and read with a codec.
#[derive(Default)]
pub struct InnerBytes {
    /// The fields found (once per selection): JSON path and bytes.
    pub fields: Option<Vec<(String, Vec<u8>)>>,
    /// The codec build whose reading they were found in (a binary message's), if any.
    pub reading: Option<u64>,
    /// The field shown.
    pub pick: usize,
    /// What it is read as (`None`: hex).
    pub read_as: crate::model::codec::CodecKind,
    /// What the last reading was made for (field, codec, codec build) and its result.
    pub result: Option<(InnerKey, Result<Arc<Value>, String>)>,
    /// The reading's tree.
    pub tree: JsonTree,
}

/// What a cached galley was laid out for.
pub type GalleyKey = (u32, u32, bool);

/// The cache of one tab's selected payload.
#[derive(Default)]
pub struct PayloadCache {
    current: Option<SelectedPayload>,
    /// Payload analyses (UTF-8 check, JSON parse) made so far: one per selection.
    pub analyses: u64,
    /// Bodies built (pretty-print, hex dump, base64, text) so far: one per selection and view.
    pub renders: u64,
    /// Bytes per line of the hex view (8 or 16, by the panel's width; 0 until the panel says).
    pub hex_per_line: usize,
}

impl PayloadCache {
    /// The analysis of `entry` (sequence number `seq`), made now if the selection changed.
    pub fn get(&mut self, seq: u64, entry: &LogEntry) -> &mut SelectedPayload {
        if self.current.as_ref().is_some_and(|c| c.seq != seq) {
            self.current = None;
        }
        let analyses = &mut self.analyses;
        self.current.get_or_insert_with(|| {
            *analyses += 1;
            SelectedPayload::analyse(seq, entry)
        })
    }

    /// The body of `view` for the selected payload (built once per view).
    pub fn body(&mut self, seq: u64, entry: &LogEntry, view: PayloadView) -> Arc<str> {
        let per_line = match self.hex_per_line {
            0 => 16,
            n => n,
        };
        let per_line = if view == PayloadView::Hex {
            per_line
        } else {
            0
        };
        let selected = self.get(seq, entry);
        if let Some((v, n, body)) = &selected.body
            && (*v, *n) == (view, per_line)
        {
            return body.clone();
        }
        let body: Arc<str> = render(entry, view, selected.json.as_deref(), per_line).into();
        selected.body = Some((view, per_line, body.clone()));
        selected.galley = None;
        self.renders += 1;
        body
    }

    /// The base64 fields found in the selected message, as the panel lists them ("$.data (16 B)"; for tests).
    pub fn current_inner_fields(&self) -> Vec<String> {
        self.current
            .as_ref()
            .and_then(|c| c.inner.fields.as_ref())
            .map(|fields| {
                fields
                    .iter()
                    .map(|(path, bytes)| {
                        format!("{path} ({})", crate::model::format_size(bytes.len()))
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Forgets the selection (the log was cleared, or nothing is selected).
    pub fn clear(&mut self) {
        self.current = None;
    }
}

impl SelectedPayload {
    fn analyse(seq: u64, entry: &LogEntry) -> Self {
        let is_text =
            entry.kind != MessageKind::Binary && std::str::from_utf8(&entry.payload).is_ok();
        let looks_like_json = entry
            .payload
            .iter()
            .find(|b| !b.is_ascii_whitespace())
            .is_some_and(|b| *b == b'{' || *b == b'[');
        let json = (is_text && looks_like_json)
            .then(|| serde_json::from_slice::<Value>(&entry.payload).ok())
            .flatten()
            .filter(|v| v.is_object() || v.is_array())
            .map(Arc::new);
        let auto = if json.is_some() {
            PayloadView::Json
        } else if is_text {
            PayloadView::Text
        } else {
            PayloadView::Hex
        };
        Self {
            seq,
            is_text,
            json,
            auto,
            tree: JsonTree::default(),
            body: None,
            galley: None,
            decoded: None,
            decoded_tree: JsonTree::default(),
            inner: InnerBytes::default(),
        }
    }
}

/// The text of `view`, at most about [`MAX_SHOWN_BYTES`] of payload.
fn render(entry: &LogEntry, view: PayloadView, json: Option<&Value>, per_line: usize) -> String {
    let shown = &entry.payload[..entry.payload.len().min(MAX_SHOWN_BYTES)];
    match view {
        PayloadView::Text => String::from_utf8_lossy(shown).into_owned(),
        PayloadView::Json => match json {
            Some(v) => pretty_capped(v, MAX_SHOWN_BYTES),
            None => match serde_json::from_slice::<Value>(&entry.payload) {
                Ok(v) => pretty_capped(&v, MAX_SHOWN_BYTES),
                Err(e) => format!("(not JSON: {e})"),
            },
        },
        PayloadView::Hex => hex_dump_with(shown, per_line, HEX_OFFSET_DIGITS),
        PayloadView::Base64 => {
            base64::Engine::encode(&base64::engine::general_purpose::STANDARD, shown)
        }
    }
}

/// Pretty JSON, stopped after about `cap` bytes (the rest is never produced) and marked as cut.
pub fn pretty_capped(value: &Value, cap: usize) -> String {
    let (mut text, complete) = crate::model::json_text::capped(value, cap, true);
    if !complete {
        text.push_str("\n… (cut: Copy gives the whole document)");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Direction;
    use std::time::{Duration, SystemTime};

    fn entry(payload: &[u8], kind: MessageKind) -> LogEntry {
        LogEntry::new(
            1,
            Direction::Received,
            kind,
            SystemTime::now(),
            Duration::ZERO,
            payload.to_vec(),
        )
    }

    #[test]
    fn a_selection_is_parsed_and_rendered_once_however_many_frames_draw_it() {
        let json = entry(br#"{"a":[1,2,3],"b":"x"}"#, MessageKind::Text);
        let mut cache = PayloadCache::default();
        for _ in 0..10 {
            assert!(cache.get(5, &json).json.is_some());
            let body = cache.body(5, &json, PayloadView::Json);
            assert!(body.starts_with("{\n  \"a\""), "{body}");
        }
        assert_eq!((cache.analyses, cache.renders), (1, 1));
        // Another view renders once more; another selection analyses once more.
        cache.body(5, &json, PayloadView::Hex);
        cache.body(5, &json, PayloadView::Hex);
        assert_eq!(cache.renders, 2);
        let binary = entry(&[0xff, 0, 1], MessageKind::Binary);
        assert_eq!(cache.get(6, &binary).auto, PayloadView::Hex);
        assert_eq!(cache.analyses, 2);
    }

    #[test]
    fn pretty_json_is_cut_at_the_cap_on_a_character_boundary() {
        let value = serde_json::json!({"k": "ééééééééééééééééééééé", "n": [1, 2, 3, 4, 5, 6]});
        let full = serde_json::to_string_pretty(&value).unwrap_or_default();
        assert_eq!(pretty_capped(&value, 1 << 20), full);
        for cap in 0..full.len() {
            let cut = pretty_capped(&value, cap);
            assert!(
                cut.ends_with("(cut: Copy gives the whole document)"),
                "{cap}"
            );
            let body = cut.split("\n… (cut").next().unwrap_or_default();
            assert!(full.starts_with(body));
            assert!(body.len() <= cap);
        }
    }

    #[test]
    fn bad_payloads_do_not_panic() {
        let mut cache = PayloadCache::default();
        for (i, bytes) in [&b"{"[..], b"[1,", b"\xff\xfe", b"", b"   "]
            .iter()
            .enumerate()
        {
            let e = entry(bytes, MessageKind::Text);
            assert!(cache.get(i as u64, &e).json.is_none());
            for view in [
                PayloadView::Text,
                PayloadView::Json,
                PayloadView::Hex,
                PayloadView::Base64,
            ] {
                cache.body(i as u64, &e, view);
            }
        }
    }
}
