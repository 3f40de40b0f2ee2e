//! How an open connection ended, reported: the write or read error, our close for a server that broke the
//! protocol, the protocol's last word, the abort, and the close itself.

use super::{AttemptEnd, Ending, Open};
use crate::engine::events::{EventKind, EventSink};
use crate::model::{
    CloseInfo, ConnId, ConnState, EntryExtra, Initiator, MessageKind, Stage, StageError,
};
use futures_util::SinkExt;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::frame::{Frame, Utf8Bytes};
use tokio_tungstenite::tungstenite::{Message, protocol::CloseFrame};

impl Open<'_> {
    /// Reports how the connection ended: the write error, the read error, our close for a server that broke
    /// the protocol, the abort, and the close itself.
    pub(super) async fn close(mut self, ending: Ending) -> AttemptEnd {
        let (conn_id, sink) = (self.a.conn_id, self.a.sink);
        let (mut aborted, mut immediately, mut outcome) = (false, false, None);
        match ending {
            Ending::WriteFailed(err) => sink.emit(conn_id, EventKind::Error(err)).await,
            Ending::Read(o) => outcome = Some(o),
            Ending::Aborted => aborted = true,
            Ending::ReconnectNow => immediately = true,
            Ending::TimedOut => {}
        }
        let close_sent = self.shared.close_sent.load(Ordering::Acquire);
        let (peer_close, read_error, fail, fail_reason) = match outcome {
            Some(o) => (o.peer_close, o.error, o.fail_code, o.fail_reason),
            None => (None, None, None, None),
        };
        if let Some(err) = read_error {
            sink.emit(conn_id, EventKind::Error(err)).await;
        }
        if let Some(code) = fail.filter(|_| !self.shared.close_sent.load(Ordering::Acquire)) {
            self.tell_protocol_error(code, fail_reason).await;
        }
        if aborted {
            let err = StageError::new(
                Stage::Write,
                "connection dropped without a close handshake (abort)",
            );
            sink.emit(conn_id, EventKind::Error(err)).await;
        }
        let (code, reason, clean, initiated_by) = self.close_info(peer_close, close_sent);
        if let Some(said) = self.driver.as_ref().and_then(|d| d.on_close(code, &reason)) {
            sink.emit(conn_id, EventKind::Protocol(said)).await;
        }
        finish(sink, conn_id, code, reason, clean, initiated_by).await;
        AttemptEnd {
            by_user: self.by_user,
            opened: true,
            immediately,
        }
    }

    /// The server broke the protocol: tell it why before dropping the connection (RFC 6455 §7.1.7). The
    /// library's state is already failed, so the close goes out as a raw frame.
    async fn tell_protocol_error(&mut self, code: u16, reason: Option<&'static str>) {
        let reason = reason.unwrap_or(match code {
            1007 => "invalid UTF-8",
            1009 => "message too big",
            _ => "protocol error",
        });
        let frame = Frame::close(Some(CloseFrame {
            code: CloseCode::from(code),
            reason: Utf8Bytes::from(reason),
        }));
        let writer = &mut self.writer;
        let sent = tokio::time::timeout(Duration::from_secs(1), async {
            writer.feed(Message::Frame(frame)).await?;
            writer.flush().await
        })
        .await;
        if matches!(sent, Ok(Ok(()))) {
            let mut entry = self.a.clock.sent(
                self.a.conn_id,
                MessageKind::Close,
                reason.as_bytes().to_vec(),
                Some(code),
            );
            entry.extra = Some(Box::new(EntryExtra {
                note: Some(format!(
                    "sent because the server broke the protocol ({reason})"
                )),
                ..EntryExtra::default()
            }));
            self.a
                .sink
                .emit(self.a.conn_id, EventKind::Message(entry))
                .await;
        }
    }

    /// Code, reason, cleanliness and initiator of the close.
    fn close_info(
        &self,
        peer_close: Option<(Option<u16>, String)>,
        close_sent: bool,
    ) -> (Option<u16>, String, bool, Initiator) {
        match peer_close {
            Some((code, reason)) => {
                let initiated_by = if self.shared.peer_first.load(Ordering::Acquire) {
                    Initiator::Server
                } else {
                    Initiator::Client
                };
                (code, reason, true, initiated_by)
            }
            None => {
                let initiated_by = if close_sent {
                    Initiator::Client
                } else {
                    Initiator::None
                };
                (None, String::new(), false, initiated_by)
            }
        }
    }
}

pub(in crate::engine::connection) async fn finish(
    sink: &EventSink,
    conn_id: ConnId,
    code: Option<u16>,
    reason: String,
    clean: bool,
    initiated_by: Initiator,
) {
    sink.emit(conn_id, EventKind::State(ConnState::Closed))
        .await;
    let info = CloseInfo {
        code,
        reason,
        clean,
        initiated_by,
    };
    sink.emit(conn_id, EventKind::Closed(info)).await;
}
