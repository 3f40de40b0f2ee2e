//! Commands turned into frames: templates expanded, control-frame and close-reason limits checked, raw frames
//! built bit by bit, and the log entry each send produces.

use super::Command;
use super::reader::Clock;
use crate::model::deflate::Compressor;
use crate::model::template::{self, Context};
use crate::model::{
    ConnId, EntryExtra, LogEntry, MAX_CLOSE_REASON, MAX_CONTROL_PAYLOAD, MessageKind,
    OutgoingMessage, RawFrame, Stage, StageError, close_code_sendable, fragment,
};
use tokio_tungstenite::tungstenite::protocol::frame::coding::{CloseCode, Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::{Frame, Utf8Bytes};
use tokio_tungstenite::tungstenite::{Message, protocol::CloseFrame};

pub(super) fn expand_outgoing(
    message: &OutgoingMessage,
    counter: &mut u64,
) -> Result<Command, template::TemplateError> {
    match message {
        OutgoingMessage::Text(text) => {
            *counter += 1;
            let ctx = Context {
                counter: *counter,
                ..Context::default()
            };
            template::expand(text, &ctx, |name| std::env::var(name).ok()).map(Command::Text)
        }
        OutgoingMessage::Binary(bytes) => Ok(Command::Binary(bytes.clone())),
    }
}

pub(super) enum Outgoing {
    Send(Vec<Message>, LogEntry),
    Abort,
    Reconnect,
    Invalid(StageError),
}

pub(super) fn with_note(mut entry: LogEntry, note: String, violation: bool) -> LogEntry {
    let extra = entry.extra_mut();
    extra.note = Some(note);
    extra.violation = violation;
    entry
}

/// A hand-built frame as the library's frame (any opcode, FIN and RSV bits). Built from its header, not with
/// `Frame::message`, which debug-asserts a data opcode: a raw ping or close is a frame too.
pub(crate) fn to_frame(raw: &RawFrame) -> Frame {
    let header = tokio_tungstenite::tungstenite::protocol::frame::FrameHeader {
        is_final: raw.fin,
        rsv1: raw.rsv1,
        rsv2: raw.rsv2,
        rsv3: raw.rsv3,
        opcode: OpCode::from(raw.opcode & 0x0f),
        mask: None,
    };
    Frame::from_payload(header, raw.payload.clone().into())
}

/// A data message compressed as one frame with RSV1 set, and its entry marked with its size on the wire.
fn compressed(
    compressor: &mut Compressor,
    payload: Vec<u8>,
    text: bool,
    entry: LogEntry,
) -> Outgoing {
    let data = compressor.compress(&payload);
    let entry = entry.with_compressed_size(Some(data.len() as u64));
    let opcode = if text {
        OpCode::Data(Data::Text)
    } else {
        OpCode::Data(Data::Binary)
    };
    let mut frame = Frame::message(data, opcode, true);
    frame.header_mut().rsv1 = true;
    Outgoing::Send(vec![Message::Frame(frame)], entry)
}

/// The frames and log entry for `cmd`; data messages go compressed when `compressor` is there (permessage-deflate
/// was agreed), but for [`Command::Uncompressed`] and hand-built frames.
pub(super) fn outgoing(
    conn_id: ConnId,
    clock: &Clock,
    cmd: Command,
    compressor: Option<&mut Compressor>,
) -> Outgoing {
    let entry = |kind, payload: Vec<u8>, code| clock.sent(conn_id, kind, payload, code);
    let (cmd, compressor) = match (cmd, compressor) {
        (Command::Text(t), Some(c)) => {
            let e = entry(MessageKind::Text, t.clone().into_bytes(), None);
            return compressed(c, t.into_bytes(), true, e);
        }
        (Command::Binary(b), Some(c)) => {
            let e = entry(MessageKind::Binary, b.clone(), None);
            return compressed(c, b, false, e);
        }
        other => other,
    };
    match cmd {
        Command::Uncompressed { payload, text } => {
            let kind = if text {
                MessageKind::Text
            } else {
                MessageKind::Binary
            };
            let message = if text {
                match String::from_utf8(payload) {
                    Ok(t) => Message::text(t),
                    Err(_) => {
                        return Outgoing::Invalid(StageError::new(
                            Stage::Write,
                            "a text message must be valid UTF-8",
                        ));
                    }
                }
            } else {
                Message::binary(payload)
            };
            let bytes = match &message {
                Message::Text(t) => t.as_bytes().to_vec(),
                Message::Binary(b) => b.to_vec(),
                _ => Vec::new(),
            };
            let mut e = entry(kind, bytes, None);
            if compressor.is_some() {
                e = with_note(e, "sent uncompressed (RSV1 off)".to_owned(), false);
            }
            Outgoing::Send(vec![message], e)
        }
        Command::Emit(_) => Outgoing::Invalid(StageError::new(
            Stage::Protocol,
            "a protocol message can only be sent on a connection with a protocol",
        )),
        Command::Text(t) => {
            let e = entry(MessageKind::Text, t.clone().into_bytes(), None);
            Outgoing::Send(vec![Message::text(t)], e)
        }
        Command::Binary(b) => {
            let e = entry(MessageKind::Binary, b.clone(), None);
            Outgoing::Send(vec![Message::binary(b)], e)
        }
        Command::Ping(p) => match control_limit("ping", &p) {
            Some(err) => Outgoing::Invalid(err),
            None => Outgoing::Send(
                vec![Message::Ping(p.clone().into())],
                entry(MessageKind::Ping, p, None),
            ),
        },
        Command::Pong(p) => match control_limit("pong", &p) {
            Some(err) => Outgoing::Invalid(err),
            None => Outgoing::Send(
                vec![Message::Pong(p.clone().into())],
                entry(MessageKind::Pong, p, None),
            ),
        },
        Command::Fragmented {
            payload,
            text,
            fragment_size,
        } => fragmented(conn_id, clock, payload, text, fragment_size, compressor),
        Command::Raw(raw) => raw_frame(conn_id, clock, raw),
        Command::Close { code, reason } => close(conn_id, clock, code, reason),
        Command::Abort => Outgoing::Abort,
        Command::ReconnectNow => Outgoing::Reconnect,
    }
}

/// A ping or pong payload over the control-frame limit, refused (a raw frame can break the rule on purpose).
fn control_limit(what: &str, p: &[u8]) -> Option<StageError> {
    (p.len() > MAX_CONTROL_PAYLOAD).then(|| {
        StageError::new(
            Stage::Write,
            format!(
                "a {what} payload may be at most {MAX_CONTROL_PAYLOAD} bytes (this one is {}); send a raw frame to break the rule on purpose",
                p.len()
            ),
        )
    })
}

/// One message sent as frames of at most `fragment_size` bytes, logged once with a note. Compressed, the
/// compressed data is what is split, RSV1 on the first frame only (RFC 7692 §6.1).
fn fragmented(
    conn_id: ConnId,
    clock: &Clock,
    payload: Vec<u8>,
    text: bool,
    fragment_size: usize,
    compressor: Option<&mut Compressor>,
) -> Outgoing {
    if text && std::str::from_utf8(&payload).is_err() {
        return Outgoing::Invalid(StageError::new(
            Stage::Write,
            "a text message must be valid UTF-8",
        ));
    }
    let data = compressor.map(|c| c.compress(&payload));
    let mut frames = fragment(data.as_deref().unwrap_or(&payload), text, fragment_size);
    if data.is_some()
        && let Some(first) = frames.first_mut()
    {
        first.rsv1 = true;
    }
    let note = format!(
        "sent as {} {}frames of at most {} bytes",
        frames.len(),
        if data.is_some() { "compressed " } else { "" },
        fragment_size.max(1)
    );
    let kind = if text {
        MessageKind::Text
    } else {
        MessageKind::Binary
    };
    let messages = frames.iter().map(|f| Message::Frame(to_frame(f))).collect();
    let entry = clock
        .sent(conn_id, kind, payload, None)
        .with_compressed_size(data.map(|d| d.len() as u64));
    Outgoing::Send(messages, with_note(entry, note, false))
}

/// A raw frame, any bits as given; logged with its header and the rule it breaks, if any.
fn raw_frame(conn_id: ConnId, clock: &Clock, raw: RawFrame) -> Outgoing {
    let kind = match raw.opcode {
        1 => MessageKind::Text,
        8 => MessageKind::Close,
        9 => MessageKind::Ping,
        10 => MessageKind::Pong,
        _ => MessageKind::Binary,
    };
    let (note, violation) = match raw.violation() {
        Some(v) => (format!("{}; protocol violation: {v}", raw.describe()), true),
        None => (raw.describe(), false),
    };
    let entry = clock.sent(conn_id, kind, raw.payload.clone(), None);
    let e = with_note(entry, note, violation);
    Outgoing::Send(vec![Message::Frame(to_frame(&raw))], e)
}

/// Our close frame; a reserved code goes out as a raw frame, marked as a violation.
fn close(conn_id: ConnId, clock: &Clock, code: u16, reason: String) -> Outgoing {
    if reason.len() > MAX_CLOSE_REASON {
        return Outgoing::Invalid(StageError::new(
            Stage::Write,
            format!(
                "a close reason may be at most {MAX_CLOSE_REASON} bytes (this one is {})",
                reason.len()
            ),
        ));
    }
    let mut e = clock.sent(
        conn_id,
        MessageKind::Close,
        reason.clone().into_bytes(),
        Some(code),
    );
    if !close_code_sendable(code) {
        let note = format!("close code {code} is reserved: RFC 6455 forbids sending it");
        e.extra = Some(Box::new(EntryExtra {
            note: Some(note),
            violation: true,
            ..EntryExtra::default()
        }));
        let frame = Frame::close(Some(CloseFrame {
            code: CloseCode::from(code),
            reason: Utf8Bytes::from(reason),
        }));
        // A reserved code is sent as a raw frame: tungstenite would otherwise refuse or rewrite it.
        return Outgoing::Send(vec![Message::Frame(frame)], e);
    }
    let frame = CloseFrame {
        code: CloseCode::from(code),
        reason: reason.into(),
    };
    Outgoing::Send(vec![Message::Close(Some(frame))], e)
}
