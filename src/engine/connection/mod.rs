//! One task owns each connection: it connects, relays commands to the socket and reports everything that
//! happens. A separate reader task keeps polling the socket at all times, so automatic pongs and close replies
//! flow even while a write is pending. Around the attempts sits the reconnect loop; within an attempt run the
//! interval pings, the pong watchdog and the heartbeat.

mod attempt;
mod command;
pub(super) mod duplex;
mod lens;
mod outgoing;
pub(super) mod reader;

pub use command::{Command, Commands, Queued};

use crate::engine::events::{EventKind, EventSink};
use crate::engine::task::deadline_after;
use crate::model::template;
use crate::model::{ConnId, ConnectRequest, Stage, StageError};
pub use attempt::CLOSE_REPLY_TIMEOUT;
use attempt::run_attempt;
use command::next;
pub(crate) use outgoing::to_frame;
use std::time::Duration;

/// Runs one connection — with its reconnections, when enabled — to its end.
pub async fn run(conn_id: ConnId, req: ConnectRequest, mut commands: Commands, sink: EventSink) {
    // The protocol's URL and subprotocols (Socket.IO's /socket.io/?EIO=4&transport=websocket).
    let req = match lens::prepare(&req) {
        Ok(req) => req,
        Err(message) => {
            protocol_failed(conn_id, &sink, message).await;
            return;
        }
    };
    let mut template_counter = 0u64;
    let mut reconnects = 0u32;
    let mut failures_in_a_row = 0u32;
    loop {
        // SignalR's negotiate, when asked for, before every attempt: a connection token is spent when its
        // WebSocket closes, so a reconnect negotiates again, as the official client does.
        let end = match negotiate(req.clone()).await {
            Ok(attempt_req) => {
                run_attempt(
                    conn_id,
                    &attempt_req,
                    &mut commands,
                    &sink,
                    &mut template_counter,
                )
                .await
            }
            Err(message) => {
                protocol_failed(conn_id, &sink, message).await;
                attempt::AttemptEnd {
                    by_user: false,
                    opened: false,
                    immediately: false,
                }
            }
        };
        if end.by_user || !req.reconnect.enabled {
            return;
        }
        failures_in_a_row = if end.opened { 1 } else { failures_in_a_row + 1 };
        reconnects += 1;
        if req
            .reconnect
            .max_attempts
            .is_some_and(|max| reconnects > max)
        {
            sink.emit(
                conn_id,
                EventKind::GaveUp {
                    attempts: reconnects - 1,
                },
            )
            .await;
            return;
        }
        let delay = if end.immediately {
            Duration::ZERO
        } else {
            req.reconnect
                .delay(failures_in_a_row, template::random_unit())
        };
        sink.emit(
            conn_id,
            EventKind::Reconnecting {
                attempt: reconnects,
                delay,
            },
        )
        .await;
        let wake_at = deadline_after(delay);
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(wake_at) => break,
                cmd = next(&mut commands) => match cmd {
                    Some(Command::ReconnectNow) => break,
                    Some(Command::Close { .. } | Command::Abort) | None => return,
                    Some(_) => {
                        sink.emit(conn_id, EventKind::Error(StageError::new(
                            Stage::Write,
                            "not connected (waiting to reconnect): message not sent",
                        ))).await;
                    }
                },
            }
        }
    }
}

/// The protocol could not be set up before connecting (its options, SignalR's negotiate): the error at stage
/// `protocol`, then the end of the attempt.
async fn protocol_failed(conn_id: ConnId, sink: &EventSink, message: String) {
    let err = StageError::new(Stage::Protocol, message);
    sink.emit(conn_id, EventKind::Error(err)).await;
    attempt::finish(
        sink,
        conn_id,
        None,
        String::new(),
        false,
        crate::model::Initiator::None,
    )
    .await;
}

/// With SignalR and `negotiate=true`: POST `/negotiate`, follow a redirect (Azure SignalR Service, with its
/// access token), and connect with `id=connectionToken`; any other request as it is.
async fn negotiate(mut req: ConnectRequest) -> Result<ConnectRequest, String> {
    use crate::model::protocol::signalr::{self, Negotiated};
    let choice = &req.protocol;
    if choice.protocol != crate::model::protocol::Protocol::SignalR
        || !signalr::lens::Settings::from_options(&choice.options)?.negotiate
    {
        return Ok(req);
    }
    let mut hub = req.url.clone();
    for _ in 0..5 {
        let at = signalr::negotiate_url(&hub);
        let (status, body) = crate::engine::pipeline::http_post(&req, &at)
            .await
            .map_err(|e| {
                format!(
                    "SignalR negotiate ({at}) failed at {}: {}",
                    e.stage.as_str(),
                    e.message
                )
            })?;
        match signalr::read_negotiate(&hub, status, &body)
            .map_err(|e| format!("SignalR negotiate ({at}): {e}"))?
        {
            Negotiated::Connect { url, .. } => {
                req.url = url;
                return Ok(req);
            }
            Negotiated::Redirect { url, access_token } => {
                hub = url;
                if let Some(token) = access_token {
                    req.headers
                        .retain(|(name, _)| !name.eq_ignore_ascii_case("authorization"));
                    req.headers
                        .push(("Authorization".into(), format!("Bearer {token}")));
                }
            }
        }
    }
    Err("SignalR negotiate: redirected more than 5 times".into())
}
