//! The protocol's part of an open connection: starting it, its timer, the user's messages held until its
//! handshake completed, `Emit` commands, and writing what it asks (see `connection/lens.rs`).

use super::super::Command;
use super::super::lens::MAX_HELD_COMMANDS;
use super::{Ending, Open};
use crate::engine::events::{EventKind, ProtocolEvent};
use crate::model::protocol::lens::Then;
use crate::model::protocol::{Decoded, Output, engineio::WsData};
use crate::model::{Direction, LogEntry, MessageKind, Stage, StageError};

impl Open<'_> {
    /// The protocol's first messages (Socket.IO waits for the server; GraphQL sends `connection_init`).
    pub(super) async fn start_protocol(&mut self) -> Option<Ending> {
        let outputs = self.driver.as_mut()?.start();
        self.apply_outputs(outputs, true).await
    }

    /// The protocol's timer fired: a ping to send, or a deadline passed.
    pub(super) async fn on_lens_time(&mut self) -> Option<Ending> {
        let outputs = self.driver.as_mut()?.on_time();
        self.apply_outputs(outputs, true).await
    }

    /// A command from the user, on its way to the socket: `Ok` sends it now. With a protocol, data messages wait
    /// for the protocol's handshake and an `Emit` goes to the protocol; without one an `Emit` is refused.
    pub(super) async fn route(&mut self, cmd: Command) -> Result<Command, Option<Ending>> {
        let is_data = matches!(
            cmd,
            Command::Text(_)
                | Command::Binary(_)
                | Command::Fragmented { .. }
                | Command::Uncompressed { .. }
                | Command::Raw(_)
                | Command::Emit(_)
        );
        let Some(driver) = self.driver.as_mut() else {
            if matches!(cmd, Command::Emit(_)) {
                self.error(
                    "this connection speaks plain WebSocket (no protocol was chosen or detected): protocol \
                     message not sent",
                )
                .await;
                return Err(None);
            }
            return Ok(cmd);
        };
        if is_data && !driver.ready {
            if driver.held.len() >= MAX_HELD_COMMANDS {
                let why = format!(
                    "{MAX_HELD_COMMANDS} messages already wait for the protocol's handshake: not sent"
                );
                self.error(&why).await;
            } else {
                driver.held.push_back(cmd);
            }
            return Err(None);
        }
        if let Command::Emit(value) = cmd {
            let outputs = driver.emit(&value);
            return Err(self.apply_outputs(outputs, true).await);
        }
        Ok(cmd)
    }

    /// Does what the protocol asked; `report` says failures still need reporting (the reader reports those it
    /// found itself, in order with the messages).
    pub(super) async fn apply_outputs(
        &mut self,
        outputs: Vec<Output>,
        report: bool,
    ) -> Option<Ending> {
        for output in outputs {
            match output {
                Output::Send {
                    message,
                    decoded,
                    automatic,
                } => {
                    let cmd = match message {
                        WsData::Text(t) => Command::Text(t),
                        WsData::Binary(b) => Command::Binary(b),
                    };
                    if let Some(ending) = self.send(cmd, Some((decoded, automatic))).await {
                        return Some(ending);
                    }
                }
                Output::Ready => {
                    let Some(driver) = self.driver.as_mut().filter(|d| !d.ready) else {
                        continue;
                    };
                    driver.ready = true;
                    let held = std::mem::take(&mut driver.held);
                    for cmd in held.into_iter().rev() {
                        self.a.pending.push_front(cmd);
                    }
                    self.protocol_event(ProtocolEvent::Ready).await;
                }
                Output::Failed(f) => {
                    if report {
                        let event = ProtocolEvent::Failed {
                            message: f.message.clone(),
                            handshake: f.handshake,
                        };
                        self.protocol_event(event).await;
                    }
                    if f.then != Then::Continue
                        && let Some(driver) = self.driver.as_mut()
                    {
                        driver.ended = true;
                    }
                    match f.then {
                        Then::Continue => {}
                        Then::Close => {
                            // Our close, but not the user's: a reconnect policy still applies.
                            let by_user = self.by_user;
                            let close = Command::Close {
                                code: 1000,
                                reason: "protocol failure".into(),
                            };
                            let ending = self.send(close, None).await;
                            self.by_user = by_user;
                            if ending.is_some() {
                                return ending;
                            }
                        }
                        Then::Drop => {
                            self.reader_task.abort();
                            return Some(Ending::TimedOut);
                        }
                    }
                }
            }
        }
        if let Some(driver) = self.driver.as_ref() {
            driver.report_items(self.a.conn_id, self.a.sink).await;
        }
        None
    }

    /// Puts the protocol's view on a sent entry: what the protocol sent, or what the user typed, read.
    pub(super) fn annotate(&self, entry: &mut LogEntry, decoded: Option<(Decoded, bool)>) {
        match decoded {
            Some((decoded, automatic)) => {
                let extra = entry.extra_mut();
                extra.protocol = Some(decoded);
                extra.automatic |= automatic;
            }
            None => {
                let Some(driver) = &self.driver else { return };
                if entry.direction != Direction::Sent {
                    return;
                }
                let data = match entry.kind {
                    MessageKind::Text => {
                        WsData::Text(String::from_utf8_lossy(&entry.payload).into_owned())
                    }
                    MessageKind::Binary => WsData::Binary(entry.payload.to_vec()),
                    _ => return,
                };
                entry.extra_mut().protocol = Some(driver.describe_sent(&data));
            }
        }
    }

    async fn protocol_event(&self, event: ProtocolEvent) {
        self.a
            .sink
            .emit(self.a.conn_id, EventKind::Protocol(event))
            .await;
    }

    async fn error(&self, message: &str) {
        let err = StageError::new(Stage::Protocol, message);
        self.a
            .sink
            .emit(self.a.conn_id, EventKind::Error(err))
            .await;
    }
}
