//! Events from connections to their consumer (the GUI or the command line), with a memory budget.
//!
//! Every event goes through one unbounded channel, but its bytes are charged against a budget (a semaphore of
//! bytes) that the consumer refunds as it drains. When the budget is spent:
//! - [`Overflow::DropMessages`] (the GUI): message events are dropped and counted; state, handshake, error and
//!   close events always pass. The socket reader never waits, so automatic pongs keep flowing.
//! - [`Overflow::Wait`] (the command line): the connection waits until the consumer catches up, like websocat
//!   blocking on a slow stdout.

use crate::model::{CloseInfo, ConnId, ConnState, HandshakeInfo, LogEntry, StageError};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use tokio::sync::{Semaphore, mpsc};

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
    /// A frame header seen on the wire (only when frame observation is on).
    Frame(crate::model::FrameInfo),
    /// Reconnection stopped after the maximum number of attempts.
    GaveUp {
        /// How many reconnections were tried.
        attempts: u32,
    },
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
    tx: mpsc::UnboundedSender<(Event, u32)>,
    shared: Arc<Shared>,
}

/// The receiving side, owned by the consumer.
pub struct EventStream {
    rx: mpsc::UnboundedReceiver<(Event, u32)>,
    shared: Arc<Shared>,
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
        EventStream { rx, shared },
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
        _ => 0,
    };
    (payload + EVENT_OVERHEAD_BYTES).min(u32::MAX as usize) as u32
}

impl EventSink {
    /// Reports `kind` for `conn_id`, charging the budget as the overflow policy says.
    pub async fn emit(&self, conn_id: ConnId, kind: EventKind) {
        let event = Event { conn_id, kind };
        let cost = cost(&event).min(self.shared.budget_bytes as u32);
        let is_message = matches!(event.kind, EventKind::Message(_));
        match self.shared.overflow {
            Overflow::Wait => match self.shared.budget.acquire_many(cost).await {
                Ok(permit) => permit.forget(),
                Err(_) => return,
            },
            Overflow::DropMessages => match self.shared.budget.try_acquire_many(cost) {
                Ok(permit) => permit.forget(),
                Err(_) if is_message => {
                    self.shared.dropped.fetch_add(1, Ordering::Relaxed);
                    self.wake();
                    return;
                }
                // Never lose a state change: it passes without charge.
                Err(_) => {
                    let _ = self.tx.send((event, 0));
                    self.wake();
                    return;
                }
            },
        }
        if self.tx.send((event, cost)).is_err() {
            // The consumer is gone; refund so nobody waits forever.
            self.shared.budget.add_permits(cost as usize);
        }
        self.wake();
    }

    /// Reports `kind` without waiting (from inside a stream poll). Over budget it is dropped and counted with
    /// [`Overflow::DropMessages`], and sent uncharged with [`Overflow::Wait`] (frame events are small).
    pub fn emit_now(&self, conn_id: ConnId, kind: EventKind) {
        let event = Event { conn_id, kind };
        let cost = cost(&event).min(self.shared.budget_bytes as u32);
        match self.shared.budget.try_acquire_many(cost) {
            Ok(permit) => {
                permit.forget();
                if self.tx.send((event, cost)).is_err() {
                    self.shared.budget.add_permits(cost as usize);
                }
            }
            Err(_) if self.shared.overflow == Overflow::DropMessages => {
                self.shared.dropped.fetch_add(1, Ordering::Relaxed);
            }
            Err(_) => {
                let _ = self.tx.send((event, 0));
            }
        }
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
        let (event, cost) = self.rx.recv().await?;
        self.refund(cost);
        Some(event)
    }

    /// The next event if one is queued, without waiting.
    pub fn try_recv(&mut self) -> Option<Event> {
        let (event, cost) = self.rx.try_recv().ok()?;
        self.refund(cost);
        Some(event)
    }

    /// Call before draining: events that arrive after this wake the consumer again.
    pub fn rearm_wake(&self) {
        self.shared.wake_pending.store(false, Ordering::Release);
    }

    /// True when no event is queued.
    pub fn is_empty(&self) -> bool {
        self.rx.is_empty()
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
mod tests {
    use super::*;
    use crate::model::{Direction, MessageKind};
    use std::time::{Duration, SystemTime};

    fn message(size: usize) -> EventKind {
        EventKind::Message(LogEntry::new(
            1,
            Direction::Received,
            MessageKind::Binary,
            SystemTime::now(),
            Duration::ZERO,
            vec![0; size],
        ))
    }

    #[tokio::test]
    async fn drop_policy_counts_drops_but_keeps_state_events() {
        let (sink, mut stream) = channel(64 * 1024, Overflow::DropMessages, None);
        for _ in 0..10 {
            sink.emit(1, message(16 * 1024)).await;
        }
        sink.emit(1, EventKind::State(ConnState::Closed)).await;
        let mut messages = 0;
        let mut states = 0;
        while let Some(e) = stream.try_recv() {
            match e.kind {
                EventKind::Message(_) => messages += 1,
                EventKind::State(_) => states += 1,
                _ => {}
            }
        }
        assert_eq!(states, 1);
        assert!((3..10).contains(&messages), "{messages}");
        assert_eq!(stream.dropped(), 10 - messages);
        // Once drained, the budget is back.
        sink.emit(1, message(16 * 1024)).await;
        assert!(stream.try_recv().is_some());
    }

    #[tokio::test]
    async fn wait_policy_loses_nothing() {
        let (sink, mut stream) = channel(64 * 1024, Overflow::Wait, None);
        let producer = tokio::spawn(async move {
            for _ in 0..100 {
                sink.emit(1, message(16 * 1024)).await;
            }
        });
        let mut got = 0;
        while got < 100 {
            if stream.recv().await.is_some() {
                got += 1;
            }
        }
        producer.await.expect("producer finished");
        assert_eq!(stream.dropped(), 0);
    }

    #[tokio::test]
    async fn wakes_are_coalesced_until_rearmed() {
        let count = Arc::new(AtomicU64::new(0));
        let c = count.clone();
        let (sink, mut stream) = channel(
            1 << 20,
            Overflow::DropMessages,
            Some(Arc::new(move || {
                c.fetch_add(1, Ordering::Relaxed);
            })),
        );
        for _ in 0..50 {
            sink.emit(1, message(10)).await;
        }
        assert_eq!(count.load(Ordering::Relaxed), 1);
        stream.rearm_wake();
        while stream.try_recv().is_some() {}
        sink.emit(1, message(10)).await;
        assert_eq!(count.load(Ordering::Relaxed), 2);
    }
}
