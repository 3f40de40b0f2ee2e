//! Events from connections to their consumer (the GUI or the command line), with a memory budget.
//!
//! Every event goes through one unbounded channel, but its bytes are charged against a budget (a semaphore of
//! bytes) that the consumer refunds as it drains. When the budget is spent:
//! - [`Overflow::DropMessages`] (the GUI): message events are dropped and counted; state, handshake, error and
//!   close events always pass. The socket reader never waits, so automatic pongs keep flowing.
//! - [`Overflow::Wait`] (the command line): the connection waits until the consumer catches up, like websocat
//!   blocking on a slow stdout.
//!
//! Received data messages travel in bursts: the reader gathers the messages it can take off the socket without
//! waiting (up to [`BURST_MESSAGES`] or [`BURST_BYTES`]) and sends them as one queue item, their payloads still
//! sharing the socket's read buffer. [`EventStream::recv`] hands them out one by one as ordinary
//! [`EventKind::Message`] events; [`EventStream::recv_item`] hands them out uncopied, for a consumer that prints
//! and forgets them (the command line).

use crate::model::{
    CloseInfo, ConnId, ConnState, Direction, HandshakeInfo, LogEntry, MessageKind, StageError,
};
use bytes::Bytes;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use tokio::sync::{Semaphore, SemaphorePermit, mpsc};

/// Something a connection reports.
#[derive(Clone, Debug)]
pub struct Event {
    /// The connection it concerns.
    pub conn_id: ConnId,
    /// What happened.
    pub kind: EventKind,
}

/// What happened.
#[derive(Clone, Debug)]
pub enum EventKind {
    /// The connection changed state.
    State(ConnState),
    /// The HTTP upgrade completed (or got a response that was not 101).
    Handshake(Box<HandshakeInfo>),
    /// A message was sent or received.
    Message(LogEntry),
    /// Something failed.
    Error(StageError),
    /// The connection ended (the last event of an attempt).
    Closed(CloseInfo),
    /// A reconnection attempt starts after `delay`.
    Reconnecting {
        /// Reconnection number, from 1.
        attempt: u32,
        /// The backoff delay before it.
        delay: std::time::Duration,
    },
    /// Frame headers seen on the wire in one read or write, in order (only when frame observation is on).
    Frames(Vec<crate::model::FrameInfo>),
    /// The protocol on top of WebSocket: which one, its handshake, its failures.
    Protocol(ProtocolEvent),
    /// Reconnection stopped after the maximum number of attempts.
    GaveUp {
        /// How many reconnections were tried.
        attempts: u32,
    },
}

/// What the protocol on top of WebSocket reports (see `model::protocol::lens`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProtocolEvent {
    /// The connection speaks `name` (picked by `auto` for `reason`, or `"chosen"`).
    Chosen {
        /// The protocol's name (`socket.io`, `graphql-transport-ws`, …; `raw` when `auto` found none).
        name: String,
        /// The version spoken (Socket.IO: the Engine.IO version; GraphQL: the subprotocol).
        version: String,
        /// Why `auto` picked it, or `chosen`.
        reason: String,
        /// Its automatic part (handshake, keep-alive) runs.
        automatic: bool,
    },
    /// The protocol's handshake completed: held messages go out now.
    Ready,
    /// The protocol failed, in plain words (reported as an error at stage `protocol`).
    Failed {
        /// What failed.
        message: String,
        /// Its own handshake never completed: the endpoint could not be used.
        handshake: bool,
    },
    /// What is open now (namespaces, operations), when it changed.
    Open(Vec<crate::model::protocol::OpenItem>),
}

/// The most received messages one burst carries.
pub const BURST_MESSAGES: usize = 1024;
/// A burst is sent once its payloads reach this many bytes.
pub const BURST_BYTES: usize = 256 * 1024;

/// Queued bytes past which a reader whose consumer never makes it wait slows down (see [`EventSink::lagging`]).
pub const PACE_BYTES: usize = 32 << 20;

/// A received text or binary message as it came off the socket: its payload still shares the read buffer.
#[derive(Clone, Debug)]
pub struct Incoming {
    /// Text (else binary).
    pub text: bool,
    /// When the read that completed it returned: nanoseconds since the Unix epoch.
    pub at_ns: i64,
    /// The same instant, in nanoseconds since the connection attempt started.
    pub since_ns: u64,
    /// The payload (checked UTF-8 for text).
    pub payload: Bytes,
    /// The message in its protocol's terms, on connections with a protocol.
    pub protocol: Option<Box<crate::model::protocol::Decoded>>,
    /// It came compressed (permessage-deflate), with this many payload bytes on the wire.
    pub compressed_size: Option<u64>,
}

impl Incoming {
    /// Payload bytes on the wire: the compressed size, else the payload's size.
    pub fn wire_size(&self) -> u64 {
        self.compressed_size.unwrap_or(self.payload.len() as u64)
    }

    /// The log entry for it. A payload still sharing the read buffer is copied into its own allocation; one the
    /// reader already detached (see [`EventSink::detaches_payloads`]) moves over as is.
    pub fn into_entry(self, conn_id: ConnId) -> LogEntry {
        let kind = if self.text {
            MessageKind::Text
        } else {
            MessageKind::Binary
        };
        let mut entry = LogEntry::from_nanos(
            conn_id,
            Direction::Received,
            kind,
            self.at_ns,
            self.since_ns,
            Vec::from(self.payload),
        )
        .with_compressed_size(self.compressed_size);
        if let Some(decoded) = self.protocol {
            entry.extra_mut().protocol = Some(*decoded);
        }
        entry
    }
}

/// What [`EventStream::recv_item`] yields: an event, or one received data message of a burst, uncopied.
#[derive(Debug)]
pub enum Item {
    /// Any event.
    Event(Event),
    /// A received text or binary message on connection `.0`.
    Data(ConnId, Incoming),
}

/// What the queue carries: one event, or a burst of received data messages on one connection.
enum Queued {
    One(Event),
    Burst(ConnId, Vec<Incoming>),
}

/// What to do when the consumer falls behind by more than the budget.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Overflow {
    /// Make the connection wait (no loss; the reader stalls).
    Wait,
    /// Drop message events beyond the budget and count them (the reader never stalls).
    DropMessages,
}

/// A callback that wakes the consumer (the GUI's `request_repaint`).
pub type Waker = Arc<dyn Fn() + Send + Sync>;

struct Shared {
    budget: Semaphore,
    budget_bytes: usize,
    overflow: Overflow,
    dropped: AtomicU64,
    wake: Option<Waker>,
    wake_pending: AtomicBool,
}

/// The sending side, cloned into every connection task.
#[derive(Clone)]
pub struct EventSink {
    tx: mpsc::UnboundedSender<(Queued, u32)>,
    shared: Arc<Shared>,
}

/// The receiving side, owned by the consumer.
pub struct EventStream {
    rx: mpsc::UnboundedReceiver<(Queued, u32)>,
    shared: Arc<Shared>,
    /// The rest of the burst being handed out.
    burst: Option<(ConnId, std::vec::IntoIter<Incoming>)>,
}

/// Creates a linked sink and stream with a budget of `budget_bytes` queued bytes.
pub fn channel(
    budget_bytes: usize,
    overflow: Overflow,
    wake: Option<Waker>,
) -> (EventSink, EventStream) {
    let budget_bytes = budget_bytes.clamp(64 * 1024, u32::MAX as usize / 2);
    let shared = Arc::new(Shared {
        budget: Semaphore::new(budget_bytes),
        budget_bytes,
        overflow,
        dropped: AtomicU64::new(0),
        wake,
        wake_pending: AtomicBool::new(false),
    });
    let (tx, rx) = mpsc::unbounded_channel();
    (
        EventSink {
            tx,
            shared: shared.clone(),
        },
        EventStream {
            rx,
            shared,
            burst: None,
        },
    )
}

/// Fixed cost charged per event on top of its payload.
const EVENT_OVERHEAD_BYTES: usize = 128;

fn cost(event: &Event) -> u32 {
    let payload = match &event.kind {
        EventKind::Message(m) => m.payload.len(),
        EventKind::Handshake(h) => {
            h.request_raw.len() + h.response_raw.len() + h.response_body.len()
        }
        EventKind::Frames(f) => f.len() * std::mem::size_of::<crate::model::FrameInfo>(),
        _ => 0,
    };
    (payload + EVENT_OVERHEAD_BYTES).min(u32::MAX as usize) as u32
}

impl EventSink {
    /// Reports `kind` for `conn_id`, charging the budget as the overflow policy says.
    pub async fn emit(&self, conn_id: ConnId, kind: EventKind) {
        let event = Event { conn_id, kind };
        let cost = cost(&event).min(self.shared.budget_bytes as u32);
        if self.charge(cost).await {
            self.queue(Queued::One(event), cost);
        } else if matches!(event.kind, EventKind::Message(_)) {
            self.count_dropped(1);
        } else {
            // Never lose a state change: it passes without charge.
            self.queue(Queued::One(event), 0);
        }
    }

    /// Reports `kind` without waiting (from inside a poll: frame headers, and a sent message reported while the
    /// writer still holds the socket). Over budget it is dropped and counted with [`Overflow::DropMessages`], and
    /// sent uncharged with [`Overflow::Wait`] (it is small, or already held in memory by its sender).
    pub fn emit_now(&self, conn_id: ConnId, kind: EventKind) {
        let event = Event { conn_id, kind };
        let cost = cost(&event).min(self.shared.budget_bytes as u32);
        if self.try_charge(cost) {
            self.queue(Queued::One(event), cost);
        } else if self.shared.overflow == Overflow::DropMessages {
            self.count_dropped(1);
        } else {
            self.queue(Queued::One(event), 0);
        }
    }

    /// True when the reader should copy each payload off the socket's read buffer before queueing it. A consumer
    /// that keeps every message ([`Overflow::DropMessages`]: the GUI's log) then stores that one copy, and a
    /// backlog does not hold read buffers beside the log's copies. A consumer that prints and forgets
    /// ([`Overflow::Wait`]: the command line) takes payloads straight from the read buffer.
    pub fn detaches_payloads(&self) -> bool {
        self.shared.overflow == Overflow::DropMessages
    }

    /// True when a consumer that never makes the connection wait ([`Overflow::DropMessages`]) has fallen behind
    /// by more than [`PACE_BYTES`]: the reader then reads more slowly (see `reader::read_loop`).
    pub fn lagging(&self) -> bool {
        self.shared.overflow == Overflow::DropMessages
            && self.shared.budget_bytes - self.shared.budget.available_permits() > PACE_BYTES
    }

    /// Reports received data messages of one connection, in order, as one queue item. With
    /// [`Overflow::DropMessages`] a burst the budget cannot hold is dropped whole and its messages counted.
    pub async fn emit_burst(&self, conn_id: ConnId, burst: Vec<Incoming>) {
        if burst.is_empty() {
            return;
        }
        let bytes: usize = burst
            .iter()
            .map(|m| m.payload.len() + EVENT_OVERHEAD_BYTES)
            .sum();
        let cost = bytes.min(self.shared.budget_bytes) as u32;
        if self.charge(cost).await {
            self.queue(Queued::Burst(conn_id, burst), cost);
        } else {
            self.count_dropped(burst.len() as u64);
        }
    }

    /// Takes `cost` from the budget as the overflow policy says: waits for it ([`Overflow::Wait`]), or takes it
    /// only if it is free ([`Overflow::DropMessages`]). False when it was not taken.
    async fn charge(&self, cost: u32) -> bool {
        match self.shared.overflow {
            Overflow::Wait => self
                .shared
                .budget
                .acquire_many(cost)
                .await
                .map(SemaphorePermit::forget)
                .is_ok(),
            Overflow::DropMessages => self.try_charge(cost),
        }
    }

    /// Takes `cost` from the budget if it is free, whatever the policy.
    fn try_charge(&self, cost: u32) -> bool {
        self.shared
            .budget
            .try_acquire_many(cost)
            .map(SemaphorePermit::forget)
            .is_ok()
    }

    /// Queues `queued`, charged `cost` (0: uncharged), and wakes the consumer.
    fn queue(&self, queued: Queued, cost: u32) {
        if self.tx.send((queued, cost)).is_err() {
            // The consumer is gone; refund so nobody waits forever.
            self.shared.budget.add_permits(cost as usize);
        }
        self.wake();
    }

    fn count_dropped(&self, messages: u64) {
        self.shared.dropped.fetch_add(messages, Ordering::Relaxed);
        self.wake();
    }

    fn wake(&self) {
        if let Some(wake) = &self.shared.wake
            && !self.shared.wake_pending.swap(true, Ordering::AcqRel)
        {
            wake();
        }
    }
}

impl EventStream {
    /// Bytes charged by the events waiting in the queue (uncharged state events not counted).
    pub fn queued_bytes(&self) -> usize {
        self.shared
            .budget_bytes
            .saturating_sub(self.shared.budget.available_permits())
    }

    /// The next event, waiting for one. `None` when every sink is gone.
    pub async fn recv(&mut self) -> Option<Event> {
        Some(Self::into_event(self.recv_item().await?))
    }

    /// The next event if one is queued, without waiting.
    pub fn try_recv(&mut self) -> Option<Event> {
        Some(Self::into_event(self.try_recv_item()?))
    }

    /// The next event or received data message (uncopied), waiting for one. `None` when every sink is gone.
    pub async fn recv_item(&mut self) -> Option<Item> {
        loop {
            if let Some(item) = self.next_of_burst() {
                return Some(item);
            }
            let (queued, cost) = self.rx.recv().await?;
            if let Some(item) = self.unpack(queued, cost) {
                return Some(item);
            }
        }
    }

    /// The next event or received data message (uncopied) if one is queued, without waiting.
    pub fn try_recv_item(&mut self) -> Option<Item> {
        loop {
            if let Some(item) = self.next_of_burst() {
                return Some(item);
            }
            let (queued, cost) = self.rx.try_recv().ok()?;
            if let Some(item) = self.unpack(queued, cost) {
                return Some(item);
            }
        }
    }

    /// The next message of the burst being handed out, if one remains (the queue itself is not looked at): a
    /// consumer that prints data messages takes the rest of a burst in a tight loop.
    pub fn next_in_burst(&mut self) -> Option<Incoming> {
        let (_, rest) = self.burst.as_mut()?;
        rest.next()
    }

    fn into_event(item: Item) -> Event {
        match item {
            Item::Event(event) => event,
            Item::Data(conn_id, message) => Event {
                conn_id,
                kind: EventKind::Message(message.into_entry(conn_id)),
            },
        }
    }

    fn next_of_burst(&mut self) -> Option<Item> {
        let (conn_id, rest) = self.burst.as_mut()?;
        match rest.next() {
            Some(message) => Some(Item::Data(*conn_id, message)),
            None => {
                self.burst = None;
                None
            }
        }
    }

    fn unpack(&mut self, queued: Queued, cost: u32) -> Option<Item> {
        // A burst's budget is refunded as it leaves the queue: at most one burst waits outside it.
        self.refund(cost);
        match queued {
            Queued::One(event) => Some(Item::Event(event)),
            Queued::Burst(conn_id, messages) => {
                self.burst = Some((conn_id, messages.into_iter()));
                self.next_of_burst()
            }
        }
    }

    /// Call before draining: events that arrive after this wake the consumer again.
    pub fn rearm_wake(&self) {
        self.shared.wake_pending.store(false, Ordering::Release);
    }

    /// True when no event is queued.
    pub fn is_empty(&self) -> bool {
        self.burst.as_ref().is_none_or(|(_, rest)| rest.len() == 0) && self.rx.is_empty()
    }

    /// Message events dropped so far because the consumer fell behind.
    pub fn dropped(&self) -> u64 {
        self.shared.dropped.load(Ordering::Relaxed)
    }

    fn refund(&self, cost: u32) {
        if cost > 0 {
            self.shared.budget.add_permits(cost as usize);
        }
    }
}

#[cfg(test)]
mod tests;
