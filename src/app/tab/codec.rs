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
