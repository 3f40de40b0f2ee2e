//! The tab's codec, built from its setting when the setting changes: MessagePack and CBOR at once, Protobuf
//! compiled from its `.proto` files on a short-lived thread (file reads never run on the UI thread), its result
//! taken the next frame.

use crate::model::codec::{Codec, CodecSetting};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, TryRecvError, channel};

type Built = Result<Option<(Codec, Vec<String>)>, String>;

/// Where the tab's codec stands.
#[derive(Default)]
pub enum CodecStatus {
    /// No codec: bytes as bytes.
    #[default]
    Off,
    /// The `.proto` files are being compiled.
    Compiling,
    /// Ready; for Protobuf, the message types the files define.
    Ready(Arc<Codec>, Vec<String>),
    /// The setting does not give a codec, in words.
    Failed(String),
}

/// The tab's codec and the setting it was built from.
#[derive(Default)]
pub struct CodecState {
    built_for: Option<CodecSetting>,
    pending: Option<Receiver<Built>>,
    /// The codec now.
    pub status: CodecStatus,
    /// Counts builds: a cached decoding of another build is stale.
    pub generation: u64,
}

impl CodecState {
    /// Brings the codec up to date with `setting` (a build starts when it changed) and takes a finished build.
    pub fn update(&mut self, setting: &CodecSetting, ctx: &egui::Context) {
        if self.built_for.as_ref() != Some(setting) {
            self.built_for = Some(setting.clone());
            self.generation += 1;
            self.pending = None;
            if setting.kind == crate::model::codec::CodecKind::Protobuf {
                let (tx, rx) = channel();
                let setting = setting.clone();
                let ctx = ctx.clone();
                let spawned = std::thread::Builder::new()
                    .name("sockscope-proto".into())
                    .spawn(move || {
                        let _ = tx.send(setting.build());
                        ctx.request_repaint();
                    });
                match spawned {
                    Ok(_) => {
                        self.pending = Some(rx);
                        self.status = CodecStatus::Compiling;
                    }
                    Err(e) => {
                        self.status = CodecStatus::Failed(format!("could not start compiling: {e}"))
                    }
                }
            } else {
                // MessagePack and CBOR read no file.
                self.status = status(setting.build());
            }
        }
        if let Some(rx) = &self.pending {
            match rx.try_recv() {
                Ok(built) => {
                    self.pending = None;
                    self.generation += 1;
                    self.status = status(built);
                }
                Err(TryRecvError::Empty) => {}
                Err(TryRecvError::Disconnected) => {
                    self.pending = None;
                    self.status = CodecStatus::Failed("compiling the .proto files failed".into());
                }
            }
        }
    }

    /// The codec, when it is ready.
    pub fn ready(&self) -> Option<&Arc<Codec>> {
        match &self.status {
            CodecStatus::Ready(codec, _) => Some(codec),
            _ => None,
        }
    }
}

fn status(built: Built) -> CodecStatus {
    match built {
        Ok(None) => CodecStatus::Off,
        Ok(Some((codec, names))) => CodecStatus::Ready(Arc::new(codec), names),
        Err(e) => CodecStatus::Failed(e),
    }
}

/// A binary message read with `codec` by its direction (received and sent messages can be different Protobuf
/// types). `None` for what the codec does not read: text, control frames, and messages a protocol lens already
/// reads (its payloads carry their own decoding).
pub fn decode_entry(
    codec: &Codec,
    entry: &crate::model::LogEntry,
) -> Option<Result<serde_json::Value, crate::model::codec::DecodeError>> {
    if entry.kind != crate::model::MessageKind::Binary || entry.decoded().is_some() {
        return None;
    }
    Some(if entry.direction == crate::model::Direction::Received {
        codec.decode_received(&entry.payload)
    } else {
        codec.decode_sent(&entry.payload)
    })
}

/// Compact JSON text of `value`, at most `max_bytes` of it (cut at a character boundary): a preview or a search
/// never writes out all of a huge value.
pub fn json_head(value: &serde_json::Value, max_bytes: usize) -> String {
    crate::model::json_text::capped(value, max_bytes, false).0
}

/// Payload bytes the log's rows decode per frame at most; the rows beyond it show their bytes for a frame and
/// are decoded in the next ones (a screen of 1 MiB Protobuf messages must not stall a frame).
pub const PREVIEW_DECODE_BUDGET: usize = 2 << 20;
/// Decoded preview lines kept (a few screens); the set starts over beyond it.
const PREVIEW_LINES_KEPT: usize = 4_096;
/// Bytes of JSON a preview line holds (the widest row shows 400 characters).
const PREVIEW_JSON_BYTES: usize = 1_600;

/// The one-line decoded previews of the log's visible binary rows, by sequence number, for one codec build:
/// decoded when a row is first drawn (never at ingest), within [`PREVIEW_DECODE_BUDGET`] per frame.
#[derive(Default)]
pub struct PreviewLines {
    generation: u64,
    lines: std::collections::HashMap<u64, std::sync::Arc<str>>,
    budget: usize,
    /// A row was left undecoded in this frame for lack of budget: another frame is needed.
    pub deferred: bool,
    /// Messages decoded so far (for tests and the benchmark).
    pub decoded: u64,
}

impl PreviewLines {
    /// A new frame with the codec build `generation`: the budget starts again (and lines of another build go).
    pub fn frame(&mut self, generation: u64) {
        if self.generation != generation {
            self.generation = generation;
            self.lines.clear();
        }
        self.budget = PREVIEW_DECODE_BUDGET;
        self.deferred = false;
    }

    /// The row's line: the decoded value as compact JSON, or why it does not decode followed by its bytes.
    /// `None` when the codec does not read this message, or it waits for a later frame's budget.
    pub fn line(
        &mut self,
        codec: &Codec,
        seq: u64,
        entry: &crate::model::LogEntry,
    ) -> Option<std::sync::Arc<str>> {
        if let Some(line) = self.lines.get(&seq) {
            return Some(line.clone());
        }
        if entry.kind != crate::model::MessageKind::Binary || entry.decoded().is_some() {
            return None;
        }
        // One message larger than the whole budget is decoded when it is the frame's first.
        if entry.payload.len() > self.budget && self.budget < PREVIEW_DECODE_BUDGET {
            self.deferred = true;
            return None;
        }
        self.budget = self.budget.saturating_sub(entry.payload.len());
        self.decoded += 1;
        let line: std::sync::Arc<str> = match decode_entry(codec, entry)? {
            Ok(value) => json_head(&value, PREVIEW_JSON_BYTES).into(),
            Err(e) => format!(
                "(not {}: {e}) {}",
                codec.kind().label(),
                crate::model::preview(&entry.payload, false, 120)
            )
            .into(),
        };
        if self.lines.len() >= PREVIEW_LINES_KEPT {
            self.lines.clear();
        }
        self.lines.insert(seq, line.clone());
        Some(line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Direction, LogEntry, MessageKind};
    use std::time::{Duration, SystemTime};

    fn binary(payload: Vec<u8>) -> LogEntry {
        LogEntry::new(
            1,
            Direction::Received,
            MessageKind::Binary,
            SystemTime::now(),
            Duration::ZERO,
            payload,
        )
    }

    #[test]
    fn preview_lines_decode_once_within_a_frame_budget() {
        let codec = Codec::MessagePack;
        let small = binary(vec![0x82, 0xa1, b'a', 0x01, 0xa1, b'b', 0xc3]);
        let mut lines = PreviewLines::default();
        lines.frame(1);
        assert_eq!(
            lines.line(&codec, 7, &small).as_deref(),
            Some(r#"{"a":1,"b":true}"#)
        );
        assert_eq!(
            lines.line(&codec, 7, &small).as_deref(),
            Some(r#"{"a":1,"b":true}"#)
        );
        assert_eq!(lines.decoded, 1, "a drawn row is decoded once");
        // A message that does not decode says why and shows its bytes.
        let bad = binary(vec![0xc1]);
        let line = lines.line(&codec, 8, &bad).expect("a line");
        assert!(line.starts_with("(not MessagePack: at byte 0:"), "{line}");
        assert!(line.ends_with("c1"), "{line}");
        // Over the frame's budget: left for the next frame.
        let mut big = vec![0xc6];
        big.extend_from_slice(&(PREVIEW_DECODE_BUDGET as u32).to_be_bytes());
        big.resize(PREVIEW_DECODE_BUDGET + 5, 0);
        let big = binary(big);
        assert!(lines.line(&codec, 9, &big).is_none());
        assert!(lines.deferred);
        lines.frame(1);
        assert!(lines.line(&codec, 9, &big).is_some(), "first in its frame");
        // Text is not the codec's.
        let mut text = small.clone();
        text.kind = MessageKind::Text;
        assert!(lines.line(&codec, 10, &text).is_none());
        // Another codec build starts over.
        lines.frame(2);
        let before = lines.decoded;
        lines.line(&codec, 7, &small);
        assert_eq!(lines.decoded, before + 1);
    }

    #[test]
    fn json_head_cuts_at_a_character_boundary() {
        let value = serde_json::json!({"k": "ééééé"});
        let full = json_head(&value, 1000);
        assert_eq!(full, r#"{"k":"ééééé"}"#);
        let cut = json_head(&value, 9);
        assert!(full.starts_with(&cut) && cut.len() <= 9, "{cut}");
    }
}
