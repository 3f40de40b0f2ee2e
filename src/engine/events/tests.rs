//! Tests of the event queue: budgets, batching and wake-ups.

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

#[tokio::test(start_paused = true)]
async fn wait_policy_loses_nothing() {
    // 100 messages of 16 KiB through a budget of 64 KiB: the producer must wait for the consumer, and every
    // message must come out, once, in order.
    let (sink, mut stream) = channel(64 * 1024, Overflow::Wait, None);
    let producer = tokio::spawn(async move {
        for n in 0..100u32 {
            sink.emit(n, message(16 * 1024)).await;
        }
    });
    // Let the producer run until the budget stops it (paused time: this returns once every task is idle).
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        !producer.is_finished(),
        "the producer waits once the budget is spent"
    );
    assert!(
        stream.queued_bytes() <= 64 * 1024,
        "{}",
        stream.queued_bytes()
    );
    let mut got = Vec::new();
    // The stream ends when the producer drops its sink; a lost message cannot make this wait forever.
    while let Some(event) = tokio::time::timeout(Duration::from_secs(10), stream.recv())
        .await
        .expect("the producer never stalls for good")
    {
        assert!(matches!(event.kind, EventKind::Message(_)));
        got.push(event.conn_id);
    }
    producer.await.expect("producer finished");
    assert_eq!(got, (0..100).collect::<Vec<_>>());
    assert_eq!(stream.dropped(), 0);
}

fn burst(texts: &[&'static str]) -> Vec<Incoming> {
    texts
        .iter()
        .enumerate()
        .map(|(i, t)| Incoming {
            text: true,
            at_ns: 1_000 + i as i64,
            since_ns: i as u64,
            payload: Bytes::from_static(t.as_bytes()),
            protocol: None,
            compressed_size: None,
        })
        .collect()
}

#[tokio::test]
async fn bursts_come_out_one_message_at_a_time_in_order() {
    let (sink, mut stream) = channel(1 << 20, Overflow::Wait, None);
    sink.emit_burst(7, burst(&["a", "b"])).await;
    sink.emit(7, EventKind::State(ConnState::Closing)).await;
    sink.emit_burst(7, burst(&["c"])).await;
    sink.emit_burst(7, Vec::new()).await;
    let mut seen = Vec::new();
    while !stream.is_empty() {
        match stream.try_recv().expect("queued").kind {
            EventKind::Message(m) => {
                assert_eq!(
                    (m.conn_id, m.direction, m.kind),
                    (7, Direction::Received, MessageKind::Text)
                );
                seen.push(String::from_utf8(m.payload.to_vec()).expect("utf-8"));
            }
            EventKind::State(s) => seen.push(format!("{s:?}")),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(seen, ["a", "b", "Closing", "c"]);
    assert_eq!(stream.queued_bytes(), 0, "the budget is refunded");
    // The uncopied view yields the same messages with their times.
    sink.emit_burst(3, burst(&["x", "y"])).await;
    let Some(Item::Data(3, first)) = stream.recv_item().await else {
        panic!("a data item")
    };
    assert_eq!((&first.payload[..], first.since_ns), (&b"x"[..], 0));
    assert!(
        !stream.is_empty(),
        "the rest of the burst still counts as queued"
    );
    let entry = stream.recv().await.expect("y");
    let EventKind::Message(y) = entry.kind else {
        panic!("a message")
    };
    assert_eq!(
        (&y.payload[..], y.since_connect()),
        (&b"y"[..], Duration::from_nanos(1))
    );
    assert!(stream.is_empty());
}

#[tokio::test]
async fn only_a_consumer_that_never_waits_is_lagging_and_only_past_the_pace_mark() {
    let big = |n| Incoming {
        text: false,
        at_ns: 0,
        since_ns: 0,
        payload: Bytes::from(vec![0u8; n]),
        protocol: None,
        compressed_size: None,
    };
    let (sink, mut stream) = channel(256 << 20, Overflow::DropMessages, None);
    sink.emit_burst(1, vec![big(PACE_BYTES - 4096)]).await;
    assert!(!sink.lagging());
    sink.emit_burst(1, vec![big(8192)]).await;
    assert!(sink.lagging());
    while stream.try_recv_item().is_some() {}
    assert!(!sink.lagging(), "caught up");
    let (sink, _stream) = channel(256 << 20, Overflow::Wait, None);
    sink.emit_burst(1, vec![big(PACE_BYTES * 2)]).await;
    assert!(!sink.lagging(), "the command line waits instead");
}

#[test]
fn a_detached_payload_moves_into_its_entry_and_a_shared_one_is_copied() {
    let detached = vec![1u8, 2, 3];
    let at = detached.as_ptr();
    let message = |payload| Incoming {
        text: false,
        at_ns: 5,
        since_ns: 2,
        payload,
        protocol: None,
        compressed_size: None,
    };
    let entry = message(Bytes::from(detached)).into_entry(9);
    assert_eq!(entry.payload.as_ptr(), at, "no copy");
    let buffer = Bytes::from(vec![7u8; 64]);
    let entry = message(buffer.slice(8..16)).into_entry(9);
    assert_eq!(&entry.payload[..], &[7u8; 8]);
    assert_ne!(entry.payload.as_ptr(), buffer[8..].as_ptr(), "copied out");
    assert_eq!(
        (entry.since_connect(), entry.kind),
        (Duration::from_nanos(2), MessageKind::Binary)
    );
}

#[tokio::test]
async fn a_burst_over_budget_is_dropped_whole_and_counted() {
    let (sink, mut stream) = channel(64 * 1024, Overflow::DropMessages, None);
    let big = || Incoming {
        text: false,
        at_ns: 0,
        since_ns: 0,
        payload: Bytes::from(vec![0u8; 40 * 1024]),
        protocol: None,
        compressed_size: None,
    };
    sink.emit_burst(1, vec![big()]).await;
    sink.emit_burst(1, vec![big(), big()]).await;
    assert_eq!(stream.dropped(), 2);
    assert!(matches!(stream.try_recv_item(), Some(Item::Data(1, _))));
    assert!(stream.try_recv_item().is_none());
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
