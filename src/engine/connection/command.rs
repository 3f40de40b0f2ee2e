//! What a connection can be told to do, and the queue that carries it (with the byte budget of
//! `send_within_budget`).

use crate::model::RawFrame;
use tokio::sync::mpsc;

/// What a connection can be told to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// Send a text message.
    Text(String),
    /// Send a binary message.
    Binary(Vec<u8>),
    /// Send a ping with this payload (at most 125 bytes).
    Ping(Vec<u8>),
    /// Send a pong with this payload (at most 125 bytes).
    Pong(Vec<u8>),
    /// Send a message split into frames of at most `fragment_size` bytes.
    Fragmented {
        /// The message.
        payload: Vec<u8>,
        /// Text (else binary).
        text: bool,
        /// Largest frame payload.
        fragment_size: usize,
    },
    /// Send a data message uncompressed, also on a connection that negotiated permessage-deflate (legal: RSV1
    /// off means "not compressed").
    Uncompressed {
        /// The message.
        payload: Vec<u8>,
        /// Text (else binary).
        text: bool,
    },
    /// Send one hand-built frame, as is.
    Raw(RawFrame),
    /// Start the close handshake with this code (any u16) and reason.
    Close {
        /// The close code.
        code: u16,
        /// The close reason (at most 123 bytes of UTF-8).
        reason: String,
    },
    /// Send one protocol message (the `--emit` JSON: a Socket.IO event, a GraphQL operation, …), once the
    /// protocol's handshake has completed.
    Emit(serde_json::Value),
    /// Drop the connection at once, without a close handshake (no reconnect follows).
    Abort,
    /// Reconnect at once: skips a pending backoff delay, or drops the open connection and reconnects.
    ReconnectNow,
}

impl Command {
    /// The payload bytes this command carries (what it holds in memory while queued).
    pub fn payload_len(&self) -> usize {
        match self {
            Self::Text(t) => t.len(),
            Self::Binary(b) | Self::Ping(b) | Self::Pong(b) => b.len(),
            Self::Fragmented { payload, .. } | Self::Uncompressed { payload, .. } => payload.len(),
            Self::Raw(raw) => raw.payload.len(),
            Self::Close { reason, .. } => reason.len(),
            Self::Emit(value) => value.to_string().len(),
            Self::Abort | Self::ReconnectNow => 0,
        }
    }
}

/// A command in the queue, with its share of the handle's byte budget when it was sent within one (given
/// back as the connection takes the command off the queue).
#[derive(Debug)]
pub struct Queued {
    command: Command,
    _budget: Option<tokio::sync::OwnedSemaphorePermit>,
}

impl Queued {
    /// A command outside any budget.
    pub(crate) fn now(command: Command) -> Self {
        Self {
            command,
            _budget: None,
        }
    }

    /// A command holding `permit` until it is taken off the queue.
    pub(crate) fn within(command: Command, permit: tokio::sync::OwnedSemaphorePermit) -> Self {
        Self {
            command,
            _budget: Some(permit),
        }
    }
}

/// The commands of one connection, in order.
pub type Commands = mpsc::UnboundedReceiver<Queued>;

/// The next command; its budget is given back as it leaves the queue.
pub(super) async fn next(commands: &mut Commands) -> Option<Command> {
    commands.recv().await.map(|queued| queued.command)
}
