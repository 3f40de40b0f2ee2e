//! Servers that break the protocol on purpose: the connection ends with a clear read error, the close code
//! RFC 6455 asks for is sent (1002, 1007, 1009), and what arrived before is kept.

use crate::servers::{self, collect, start};
use sockscope::model::{ConnectRequest, Direction, MessageKind, Stage};

/// Connects to a server that sends `frames` after the 101; returns what the engine reported and the close frame
/// the server received (see [`servers::client_close`]).
async fn against(
    frames: &'static [u8],
    max_message: Option<usize>,
) -> (servers::Transcript, Option<Option<u16>>) {
    let (addr, mut seen) = servers::raw_101_then(frames).await;
    let mut req = ConnectRequest::new(format!("ws://{addr}/"));
    if let Some(max) = max_message {
        req.max_message_size_bytes = max;
        req.max_frame_size_bytes = max;
    }
    let (_h, mut events) = start(req);
    let t = collect(&mut events, |_, _| {}).await;
    let code = servers::client_close(&servers::recorded(&mut seen).await);
    (t, code)
}

fn our_close(t: &servers::Transcript) -> Option<u16> {
    t.messages
        .iter()
        .find(|m| m.direction == Direction::Sent && m.kind == MessageKind::Close)
        .and_then(|m| m.close_code())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_utf8_gets_1007_and_earlier_messages_are_kept() {
    // A good text message, then a text frame whose payload is not UTF-8.
    let (t, code) = against(&[0x81, 0x02, b'o', b'k', 0x81, 0x02, 0xff, 0xfe], None).await;
    assert_eq!(
        &t.messages[0].payload[..],
        b"ok",
        "what came before is kept"
    );
    assert_eq!(t.errors[0].stage, Stage::Read);
    assert!(
        t.errors[0].message.contains("not valid UTF-8"),
        "{}",
        t.errors[0].message
    );
    assert_eq!(our_close(&t), Some(1007));
    assert_eq!(
        code,
        Some(Some(1007)),
        "the server received our close frame"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_masked_server_frame_or_rsv_bits_get_1002() {
    let (t, code) = against(&[0x81, 0x82, 1, 2, 3, 4, b'h' ^ 1, b'i' ^ 2], None).await;
    assert!(
        t.errors[0].message.contains("protocol violation"),
        "{}",
        t.errors[0].message
    );
    assert_eq!((our_close(&t), code), (Some(1002), Some(Some(1002))));
    let (t, code) = against(&[0xC1, 0x01, b'x'], None).await;
    assert_eq!((our_close(&t), code), (Some(1002), Some(Some(1002))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_absurd_length_gets_1009_without_allocating_it() {
    // A binary frame header claiming 2^40 bytes.
    let (t, code) = against(&[0x82, 127, 0, 0, 1, 0, 0, 0, 0, 0], Some(1 << 20)).await;
    assert_eq!(t.errors[0].stage, Stage::Read);
    assert_eq!((our_close(&t), code), (Some(1009), Some(Some(1009))));
    assert!(!t.closed.expect("closed").clean);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_close_without_a_code_is_answered_and_ends_cleanly() {
    let (t, code) = against(&[0x81, 0x02, b'h', b'i', 0x88, 0x00], None).await;
    let closed = t.closed.expect("closed");
    assert_eq!(closed.code, None);
    assert_eq!(closed.initiated_by, sockscope::model::Initiator::Server);
    assert!(closed.clean, "{closed:?}");
    assert!(t.errors.is_empty(), "{:?}", t.errors);
    assert_eq!(&t.messages[0].payload[..], b"hi");
    let reply = t
        .messages
        .iter()
        .find(|m| m.direction == Direction::Sent && m.kind == MessageKind::Close)
        .expect("our reply is logged");
    assert!(reply.automatic());
    assert_eq!(
        code,
        Some(None),
        "the server received our reply, a close frame without a code"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_close_code_gets_1002() {
    // Close with code 999 (below the range RFC 6455 allows), after a message.
    let (t, code) = against(&[0x81, 0x02, b'o', b'k', 0x88, 0x02, 0x03, 0xE7], None).await;
    assert_eq!(
        &t.messages[0].payload[..],
        b"ok",
        "what came before is kept"
    );
    // tungstenite answers an unallowed code with 1002 and completes the closing handshake.
    assert_eq!((our_close(&t), code), (Some(1002), Some(Some(1002))));
    let closed = t.closed.expect("closed");
    assert_eq!(closed.code, Some(1002));
    assert_eq!(closed.initiated_by, sockscope::model::Initiator::Server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_mid_frame_keeps_what_came_before_and_names_the_cause() {
    // One whole message, then a frame that promises 5 bytes and delivers 2 before the reset.
    let addr = servers::raw_101_then_reset(&[0x81, 0x02, b'o', b'k', 0x81, 0x05, b'h', b'e']).await;
    let (_h, mut events) = start(ConnectRequest::new(format!("ws://{addr}/")));
    let t = collect(&mut events, |_, _| {}).await;
    assert_eq!(t.messages.len(), 1, "{:?}", t.messages);
    assert_eq!(&t.messages[0].payload[..], b"ok");
    assert_eq!(t.errors[0].stage, Stage::Read);
    assert!(
        t.errors[0].message.contains("reset")
            || t.errors[0].message.contains("without a closing handshake"),
        "{}",
        t.errors[0].message
    );
    let closed = t.closed.expect("closed");
    assert!(!closed.clean);
    assert_eq!(closed.initiated_by, sockscope::model::Initiator::None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_ignores_our_close_is_given_up_on_in_time() {
    let addr = servers::raw_101_deaf().await;
    let (handle, mut events) = start(ConnectRequest::new(format!("ws://{addr}/")));
    let started = std::time::Instant::now();
    let t = collect(&mut events, |kind, _| {
        if matches!(
            kind,
            sockscope::engine::EventKind::State(sockscope::model::ConnState::Open)
        ) {
            handle.send(sockscope::engine::Command::Close {
                code: 1000,
                reason: "bye".into(),
            });
        }
    })
    .await;
    assert!(started.elapsed() < std::time::Duration::from_secs(15));
    assert_eq!(t.errors[0].stage, Stage::Timeout);
    assert!(
        t.errors[0]
            .message
            .contains("did not answer our close frame"),
        "{}",
        t.errors[0].message
    );
    assert_eq!(our_close(&t), Some(1000));
    assert!(!t.closed.expect("closed").clean);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_slower_than_a_flood_loses_counted_messages_but_never_the_close() {
    use sockscope::engine::echo::EchoServer;
    use sockscope::engine::{EventKind, Overflow, events};
    use std::time::{Duration, Instant};
    // 100,000 messages of 64 B are ~19 MB charged against the GUI's policy with a budget of 256 KiB.
    let server = EchoServer::flood(100_000, 64).await.expect("flood server");
    let (sink, mut stream) = events::channel(256 << 10, Overflow::DropMessages, None);
    let mut req = ConnectRequest::new(server.url());
    req.proxy_from_env = false;
    let (_handle, _task) = sockscope::engine::spawn_connection(req, sink);
    // The slowest consumer: it reads nothing until the budget has overflowed.
    let deadline = Instant::now() + Duration::from_secs(30);
    while stream.dropped() == 0 {
        assert!(Instant::now() < deadline, "no message was dropped in 30 s");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let (mut opened, mut logged, mut numbers) = (false, 0u64, Vec::new());
    let closed = loop {
        let event = tokio::time::timeout(Duration::from_secs(30), stream.recv())
            .await
            .expect("the flood ends in time")
            .expect("a Closed event");
        if matches!(event.kind, EventKind::Message(_)) {
            logged += 1;
        }
        match event.kind {
            EventKind::State(sockscope::model::ConnState::Open) => opened = true,
            EventKind::Message(m) if m.direction == Direction::Received && m.kind.is_data() => {
                let digits: String = m
                    .payload
                    .iter()
                    .take_while(|b| b.is_ascii_digit())
                    .map(|b| char::from(*b))
                    .collect();
                numbers.push(digits.parse::<u64>().expect("a numbered message"));
            }
            EventKind::Closed(c) => break c,
            _ => {}
        }
    };
    assert!(opened, "state events are never dropped");
    assert_eq!(closed.code, Some(1000), "the close is never dropped");
    assert!(closed.clean);
    let dropped = stream.dropped();
    assert!(
        numbers.len() < 100_000 && dropped > 0,
        "{} arrived, {dropped} dropped",
        numbers.len()
    );
    assert!(
        numbers.windows(2).all(|w| w[0] < w[1]),
        "what arrives keeps its order"
    );
    // 100,000 data messages, the server's close and our reply: each is delivered or counted as dropped.
    assert_eq!(logged + dropped, 100_002);
}
