//! Talking to the active tab's connection: connecting, closing, pings, and sending what the composer holds (a
//! message, fragments, a hand-built frame, a close), with the composer's checks and the question before a
//! frame that breaks the protocol.

use super::{AppState, Confirmation};
use crate::engine::Command;
use crate::model::{PayloadFormat, RawFrame, close_code_name, close_code_sendable, parse_payload};

impl AppState {
    pub(super) fn connect(&mut self) {
        let i = self.active.min(self.tabs.len() - 1);
        if let Some(old) = self.tabs[i].conn.take() {
            old.send(Command::Close {
                code: 1000,
                reason: String::new(),
            });
        }
        let Some(engine) = self.engine.as_mut() else {
            return;
        };
        // Session variables and {{env.NAME}} apply to the URL, headers and auth; an unknown name stops here.
        let session = &self.tabs[i].session;
        let request = match session.request(&session.context(&Default::default())) {
            Ok(r) => r,
            Err(e) => {
                let tab = &mut self.tabs[i];
                tab.error = Some(crate::model::StageError::new(
                    crate::model::Stage::Url,
                    format!("cannot connect: {e}"),
                ));
                tab.conn_state = crate::model::ConnState::Closed;
                return;
            }
        };
        let handle = engine.connect(request);
        self.tabs[i].attach(handle);
    }

    /// Sends `command` on the active tab, or asks first when it breaks a rule not yet confirmed.
    pub(super) fn command(&mut self, command: Command) {
        let tab = self.tab_mut();
        tab.composer.error = None;
        let sent = tab.conn.as_ref().is_some_and(|c| c.send(command));
        if !sent {
            tab.composer.error = Some("not connected: press Connect first".into());
        }
    }

    pub(super) fn ask_or_send(
        &mut self,
        command: Command,
        message: String,
        kinds: Vec<&'static str>,
    ) {
        if kinds.iter().all(|k| self.confirmed_violations.contains(k)) {
            self.command(command);
        } else {
            self.confirming = Some(Confirmation {
                message,
                kinds,
                command,
            });
        }
    }

    pub(super) fn composed_payload(&mut self) -> Option<Vec<u8>> {
        if self.tab().composer.format == PayloadFormat::Json {
            return self.composed_json().map(String::into_bytes);
        }
        let composer = &mut self.tab_mut().composer;
        match parse_payload(&composer.text, composer.format) {
            Ok(bytes) => Some(bytes),
            Err(e) => {
                composer.error = Some(format!("{}: {e}", composer.format.label()));
                None
            }
        }
    }

    /// JSON mode with a codec and Encode on: the expanded JSON encoded (`Err` when it cannot be, said in the
    /// composer, nothing sent); `None` when the message goes as it is.
    fn encoded(&mut self, json: &[u8]) -> Option<Result<Vec<u8>, ()>> {
        let tab = self.tab_mut();
        if tab.composer.format != PayloadFormat::Json || !tab.composer.encode {
            return None;
        }
        let codec = tab.codec.ready()?.clone();
        let result = serde_json::from_slice::<serde_json::Value>(json)
            .map_err(|e| e.to_string())
            .and_then(|value| codec.encode(&value).map_err(|e| e.0));
        Some(result.map_err(|why| {
            tab.composer.error = Some(format!("cannot be encoded as {}: {why}", codec.describe()));
        }))
    }

    /// JSON mode: the text with its templates expanded (session variables, `{{counter}}`, …), checked.
    fn composed_json(&mut self) -> Option<String> {
        let tab = self.tab_mut();
        let mut ctx = tab.session.context(&Default::default());
        ctx.counter = tab.composer.sent;
        let composer = &mut tab.composer;
        if let Some(problem) = composer.json_problem() {
            composer.error = Some(format!("JSON: {problem}"));
            return None;
        }
        let env = |name: &str| std::env::var(name).ok();
        let text = match crate::model::session::template::expand(&composer.text, &ctx, env) {
            Ok(t) => t,
            Err(e) => {
                composer.error = Some(format!("JSON: {e}"));
                return None;
            }
        };
        if let Err(problem) = crate::model::json_text::check(&text) {
            composer.error = Some(format!("JSON, after expanding its templates: {problem}"));
            return None;
        }
        composer.sent += 1;
        Some(text)
    }

    pub(super) fn send_composed(&mut self) {
        let Some(bytes) = self.composed_payload() else {
            return;
        };
        if let Some(encoded) = self.encoded(&bytes) {
            let Ok(payload) = encoded else {
                return;
            };
            let tab = self.tab();
            let command = if tab.deflate_agreed() && !tab.composer.compress {
                Command::Uncompressed {
                    text: false,
                    payload,
                }
            } else {
                Command::Binary(payload)
            };
            self.command(command);
            return;
        }
        let tab = self.tab();
        let composer = &tab.composer;
        let command = match composer.format {
            _ if tab.deflate_agreed() && !composer.compress => Command::Uncompressed {
                text: matches!(composer.format, PayloadFormat::Text | PayloadFormat::Json),
                payload: match composer.format {
                    PayloadFormat::Text => composer.text.clone().into_bytes(),
                    _ => bytes,
                },
            },
            PayloadFormat::Text => Command::Text(composer.text.clone()),
            PayloadFormat::Json => Command::Text(String::from_utf8(bytes).unwrap_or_default()),
            PayloadFormat::Hex | PayloadFormat::Base64 => Command::Binary(bytes),
        };
        self.command(command);
    }

    pub(super) fn send_fragmented(&mut self) {
        let Some(payload) = self.composed_payload() else {
            return;
        };
        let composer = &mut self.tab_mut().composer;
        let fragment_size = match composer.fragment_size.trim().parse::<usize>() {
            Ok(n) if n > 0 => n,
            _ => {
                composer.error =
                    Some("the fragment size must be a whole number of bytes, at least 1".into());
                return;
            }
        };
        let text = matches!(composer.format, PayloadFormat::Text | PayloadFormat::Json);
        self.command(Command::Fragmented {
            payload,
            text,
            fragment_size,
        });
    }

    pub(super) fn send_raw_frame(&mut self) {
        let Some(payload) = self.composed_payload() else {
            return;
        };
        let composer = &self.tab().composer;
        let frame = RawFrame {
            opcode: composer.raw_opcode,
            fin: composer.raw_fin,
            rsv1: composer.raw_rsv[0],
            rsv2: composer.raw_rsv[1],
            rsv3: composer.raw_rsv[2],
            payload,
        };
        match frame.violation() {
            Some(v) => {
                let kinds = frame.violation_kinds();
                self.ask_or_send(
                    Command::Raw(frame),
                    format!("This frame breaks RFC 6455: {v}."),
                    kinds,
                );
            }
            None => self.command(Command::Raw(frame)),
        }
    }

    pub(super) fn close_with_composer_code(&mut self) {
        let composer = &mut self.tab_mut().composer;
        let code = match composer.close_code.trim().parse::<u16>() {
            Ok(c) => c,
            Err(_) => {
                composer.error = Some(format!(
                    "close code '{}' is not a number from 0 to 65535",
                    composer.close_code.trim()
                ));
                return;
            }
        };
        if composer.close_reason.len() > crate::model::MAX_CLOSE_REASON {
            composer.error = Some(format!(
                "the close reason is {} bytes; at most {} fit in a close frame",
                composer.close_reason.len(),
                crate::model::MAX_CLOSE_REASON
            ));
            return;
        }
        let command = Command::Close {
            code,
            reason: composer.close_reason.clone(),
        };
        if close_code_sendable(code) {
            self.command(command);
        } else {
            let message = format!(
                "Close code {code} ({}) is one RFC 6455 forbids sending; the server should answer with a protocol error.",
                close_code_name(code)
            );
            self.ask_or_send(command, message, vec!["reserved close code"]);
        }
    }

    /// Turns off certificate verification for the active tab and connects again.
    /// The protocol's automatic part on, for this tab's session, and a new connection that runs it.
    pub(super) fn use_protocol(&mut self, protocol: crate::model::protocol::Protocol) {
        let choice = &mut self.tab_mut().session.endpoint.protocol;
        choice.protocol = protocol;
        choice.automatic = true;
        self.connect();
    }

    pub(super) fn connect_insecure(&mut self) {
        self.tab_mut().session.endpoint.tls.insecure = true;
        self.connect();
    }

    /// Closes the active tab's connection normally, or cancels its attempt or pending reconnection.
    pub(super) fn disconnect(&mut self) {
        let tab = self.tab_mut();
        tab.reconnect = None;
        if let Some(conn) = &tab.conn {
            conn.send(Command::Close {
                code: 1000,
                reason: String::new(),
            });
        }
    }

    /// Closes every tab's connection.
    pub(super) fn disconnect_all(&mut self) {
        for tab in &mut self.tabs {
            tab.reconnect = None;
            if let Some(conn) = &tab.conn {
                conn.send(Command::Close {
                    code: 1000,
                    reason: String::new(),
                });
            }
        }
    }

    /// Reconnects the active tab at once (a new connection when the old one is gone).
    pub(super) fn reconnect_now(&mut self) {
        let tab = self.tab();
        match &tab.conn {
            Some(conn) if conn.is_alive() => {
                conn.send(Command::ReconnectNow);
            }
            _ => self.connect(),
        }
    }

    /// Sends a ping with the composer's ping payload.
    pub(super) fn ping(&mut self) {
        let payload = self.tab().composer.ping_payload.clone().into_bytes();
        self.command(Command::Ping(payload));
    }

    /// Sends the frame waiting for confirmation, remembering its kinds as agreed to.
    pub(super) fn confirm(&mut self) {
        if let Some(c) = self.confirming.take() {
            self.confirmed_violations.extend(c.kinds.iter().copied());
            self.command(c.command);
        }
    }
}
