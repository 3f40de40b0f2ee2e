//! The protocol on top of WebSocket, run inside the connection (so it goes on while the window is hidden, and
//! in the CLI alike). The connection knows protocols only through `model::protocol::Lens`:
//! - before connecting, [`prepare`] builds the protocol's URL (Socket.IO's `/socket.io/?EIO=4&transport=websocket`)
//!   and offers its subprotocol tokens unless the user set some;
//! - once open, [`Driver::open`] picks the lens (`auto`: from the server's subprotocol or the URL) and says which;
//! - the reader decodes every received data message under the lens's lock ([`ReaderLens::decode`]), so each log
//!   entry carries its decoded form in order, reports failures after the messages that caused them, and hands
//!   what the lens wants sent (pongs, held events) to the connection task over a bounded channel; either side
//!   reports the open items when they changed, under one lock, so the last report is the latest state;
//! - the connection task ([`Driver`]) starts the lens, feeds it `Emit` commands and its timer, holds the user's
//!   messages until the protocol's handshake completed, and writes what the lens asks.

use crate::engine::events::{EventKind, EventSink, Incoming, ProtocolEvent};
use crate::model::protocol::lens::{self, Failure, Then};
use crate::model::protocol::{Lens, OpenItem, Output, Protocol, detect, engineio::WsData};
use crate::model::{ConnId, ConnectRequest};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;
use tokio::sync::mpsc;

/// The user's messages held until the protocol's handshake completes, at most; more are refused in words.
pub(super) const MAX_HELD_COMMANDS: usize = 4096;

/// Output batches the reader may queue for the connection task before it waits (TCP then slows the server).
const OUTPUT_QUEUE: usize = 256;

type SharedLens = Arc<Mutex<Box<dyn Lens>>>;

/// The open items last reported, shared by the reader and the connection task. Each reports under this lock
/// (reading the items and sending them), so the reports go out in the order the items were read and the last one
/// is the lens's latest state (two caches let a fast reply's change go unreported).
type ReportedItems = Arc<tokio::sync::Mutex<Vec<OpenItem>>>;

/// Reports the lens's open items when they differ from the last report.
async fn report_items(
    lens: &SharedLens,
    reported: &ReportedItems,
    conn_id: ConnId,
    sink: &EventSink,
) {
    let mut last = reported.lock().await;
    let items = lock(lens).open_items();
    if items != *last {
        *last = items.clone();
        sink.emit(conn_id, EventKind::Protocol(ProtocolEvent::Open(items)))
            .await;
    }
}

fn lock(lens: &SharedLens) -> MutexGuard<'_, Box<dyn Lens>> {
    // A panic inside a lens ends the connection anyway (contain_panics); the state is still readable.
    lens.lock().unwrap_or_else(|e| e.into_inner())
}

/// The request with the protocol's URL and subprotocols, or why the protocol options cannot be used.
pub(super) fn prepare(req: &ConnectRequest) -> Result<ConnectRequest, String> {
    let choice = &req.protocol;
    lens::check_options(choice.protocol, &choice.options)?;
    let mut req = req.clone();
    let for_url = match choice.protocol {
        Protocol::Auto => detect(None, &req.url).protocol,
        p => p,
    };
    req.url = lens::connect_url(for_url, &choice.options, &req.url)?;
    if req.subprotocols.is_empty() {
        req.subprotocols = choice
            .protocol
            .offered_subprotocols()
            .iter()
            .map(|p| (*p).to_owned())
            .collect();
    }
    Ok(req)
}

/// What the reader shares with the connection task.
pub(super) struct ReaderLens {
    lens: SharedLens,
    outputs: mpsc::Sender<Vec<Output>>,
    /// The open items last reported (by either side).
    reported: ReportedItems,
}

/// What decoding a burst left to do once the burst is reported.
#[derive(Default)]
pub(super) struct AfterBurst {
    failures: Vec<Failure>,
    forward: Vec<Output>,
    wake: bool,
}

impl ReaderLens {
    /// Decodes each message of `burst` in place (its log entry will carry the decoded form).
    pub(super) fn decode(&mut self, burst: &mut [Incoming]) -> AfterBurst {
        let mut after = AfterBurst::default();
        let now = Instant::now();
        let mut lens = lock(&self.lens);
        let deadline = lens.next_deadline();
        for message in burst.iter_mut() {
            let data = if message.text {
                WsData::Text(String::from_utf8_lossy(&message.payload).into_owned())
            } else {
                WsData::Binary(message.payload.to_vec())
            };
            let (decoded, outputs) = lens.on_message(now, data);
            message.protocol = Some(Box::new(decoded));
            for output in outputs {
                match output {
                    Output::Failed(f) => {
                        if f.then != Then::Continue {
                            after.forward.push(Output::Failed(f.clone()));
                        }
                        after.failures.push(f);
                    }
                    other => after.forward.push(other),
                }
            }
        }
        after.wake = lens.next_deadline() != deadline;
        after
    }

    /// Reports what a decoded burst left (after the burst itself): failures, then the open items, then hands
    /// the rest to the connection task.
    pub(super) async fn finish(&self, after: AfterBurst, conn_id: ConnId, sink: &EventSink) {
        for f in after.failures {
            let event = ProtocolEvent::Failed {
                message: f.message,
                handshake: f.handshake,
            };
            sink.emit(conn_id, EventKind::Protocol(event)).await;
        }
        report_items(&self.lens, &self.reported, conn_id, sink).await;
        if !after.forward.is_empty() || after.wake {
            // The connection task is gone only when the connection is ending: nothing left to send then.
            let _ = self.outputs.send(after.forward).await;
        }
    }
}

/// The connection task's side of the protocol.
pub(super) struct Driver {
    lens: SharedLens,
    outputs: mpsc::Receiver<Vec<Output>>,
    automatic: bool,
    /// The protocol's handshake completed (or nothing is automatic): the user's messages go out.
    pub(super) ready: bool,
    /// The user's messages waiting for `ready`.
    pub(super) held: VecDeque<super::Command>,
    /// A failure that ends the connection was reported: the close needs no other explanation.
    pub(super) ended: bool,
    name: &'static str,
    reported: ReportedItems,
}

impl Driver {
    /// The driver for an opened connection (`None` for raw), the reader's share, and what to say about the
    /// choice (`None` for a raw connection nobody asked a protocol of).
    pub(super) fn open(
        req: &ConnectRequest,
        subprotocol: Option<&str>,
    ) -> (Option<(Driver, ReaderLens)>, Option<ProtocolEvent>) {
        let choice = &req.protocol;
        let (protocol, reason) = match choice.protocol {
            Protocol::Raw => return (None, None),
            Protocol::Auto => {
                let d = detect(subprotocol, &req.url);
                (d.protocol, d.reason)
            }
            p => (p, "chosen".to_owned()),
        };
        let made = lens::for_protocol(protocol, &choice.options, choice.automatic, &req.url);
        let lens = match made {
            Ok(Some(lens)) => lens,
            Ok(None) => {
                let chosen = ProtocolEvent::Chosen {
                    name: protocol.name().into(),
                    version: String::new(),
                    reason,
                    automatic: false,
                };
                return (None, Some(chosen));
            }
            Err(message) => {
                let failed = ProtocolEvent::Failed {
                    message,
                    handshake: true,
                };
                return (None, Some(failed));
            }
        };
        let chosen = ProtocolEvent::Chosen {
            name: protocol.name().into(),
            version: lens.version(),
            reason,
            automatic: choice.automatic,
        };
        let lens: SharedLens = Arc::new(Mutex::new(lens));
        let reported = ReportedItems::default();
        let (tx, rx) = mpsc::channel(OUTPUT_QUEUE);
        let driver = Driver {
            lens: lens.clone(),
            outputs: rx,
            automatic: choice.automatic,
            ready: !choice.automatic,
            held: VecDeque::new(),
            ended: false,
            name: protocol.name(),
            reported: reported.clone(),
        };
        let reader = ReaderLens {
            lens,
            outputs: tx,
            reported,
        };
        (Some((driver, reader)), Some(chosen))
    }

    /// The lens starts (its handshake's first message).
    pub(super) fn start(&mut self) -> Vec<Output> {
        lock(&self.lens).start(Instant::now())
    }

    /// The user's protocol message.
    pub(super) fn emit(&mut self, value: &serde_json::Value) -> Vec<Output> {
        lock(&self.lens).emit(Instant::now(), value)
    }

    /// Time passed.
    pub(super) fn on_time(&mut self) -> Vec<Output> {
        lock(&self.lens).on_time(Instant::now())
    }

    /// When the lens next wants the time.
    pub(super) fn deadline(&self) -> Option<tokio::time::Instant> {
        lock(&self.lens)
            .next_deadline()
            .map(tokio::time::Instant::from_std)
    }

    /// What the reader handed over.
    pub(super) async fn next_outputs(&mut self) -> Option<Vec<Output>> {
        self.outputs.recv().await
    }

    /// A data message the user typed, decoded for the log.
    pub(super) fn describe_sent(&self, message: &WsData) -> crate::model::protocol::Decoded {
        lock(&self.lens).describe_sent(message)
    }

    /// Reports the open items when they changed since the last report (by either side).
    pub(super) async fn report_items(&self, conn_id: ConnId, sink: &EventSink) {
        report_items(&self.lens, &self.reported, conn_id, sink).await;
    }

    /// What to say when the connection closed with `code` (its meaning in the protocol), or before the
    /// protocol's handshake completed.
    pub(super) fn on_close(&self, code: Option<u16>, reason: &str) -> Option<ProtocolEvent> {
        if self.ended {
            return None;
        }
        let lens = lock(&self.lens);
        let meaning = code.and_then(|c| lens.close_meaning(c).map(|m| format!("{c}: {m}")));
        if self.automatic && !self.ready {
            let handshake = !lens.handshake_done();
            // The server's own words, when it gave some (RabbitMQ's web-MQTT closes with 1002
            // "unauthenticated" instead of a refusing CONNACK).
            let words = match (code, reason.trim()) {
                (Some(c), r) if !r.is_empty() => {
                    Some(format!("the server closed with {c} \"{r}\""))
                }
                _ => None,
            };
            let why = match (meaning, words) {
                (Some(m), Some(w)) => format!(" ({m}; {w})"),
                (Some(m), None) => format!(" ({m})"),
                (None, Some(w)) => format!(" ({w})"),
                (None, None) => String::new(),
            };
            return Some(ProtocolEvent::Failed {
                message: format!(
                    "the connection ended before the {} handshake completed{why}",
                    self.name
                ),
                handshake,
            });
        }
        meaning.map(|m| ProtocolEvent::Failed {
            message: format!("the server closed the connection with {m}"),
            handshake: false,
        })
    }
}
