//! Servers that break the protocol on purpose: the connection ends with a clear read error, the close code
//! RFC 6455 asks for is sent (1002, 1007, 1009), and what arrived before is kept.

use crate::servers::{self, collect, start};
use sockscope::model::{ConnectRequest, Direction, MessageKind, Stage};

async fn against(
    frames: &'static [u8],
    max_message: Option<usize>,
) -> (servers::Transcript, Option<u16>) {
    let (addr, seen) = servers::raw_101_then(frames).await;
    let mut req = ConnectRequest::new(format!("ws://{addr}/"));
    if let Some(max) = max_message {
        req.max_message_size_bytes = max;
        req.max_frame_size_bytes = max;
    }
    let (_h, mut events) = start(req);
    let t = collect(&mut events, |_, _| {}).await;
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let code = servers::client_close_code(&seen.lock().expect("seen"));
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
    assert_eq!(code, Some(1007), "the server received our close frame");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_masked_server_frame_or_rsv_bits_get_1002() {
    let (t, code) = against(&[0x81, 0x82, 1, 2, 3, 4, b'h' ^ 1, b'i' ^ 2], None).await;
    assert!(
        t.errors[0].message.contains("protocol violation"),
        "{}",
        t.errors[0].message
    );
    assert_eq!((our_close(&t), code), (Some(1002), Some(1002)));
    let (t, code) = against(&[0xC1, 0x01, b'x'], None).await;
    assert_eq!((our_close(&t), code), (Some(1002), Some(1002)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_absurd_length_gets_1009_without_allocating_it() {
    // A binary frame header claiming 2^40 bytes.
    let (t, code) = against(&[0x82, 127, 0, 0, 1, 0, 0, 0, 0, 0], Some(1 << 20)).await;
    assert_eq!(t.errors[0].stage, Stage::Read);
    assert_eq!((our_close(&t), code), (Some(1009), Some(1009)));
    assert!(!t.closed.expect("closed").clean);
}
