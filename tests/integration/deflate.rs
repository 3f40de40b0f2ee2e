//! permessage-deflate against servers written here byte by byte: what is compressed both ways, and hostile
//! servers (RSV1 where RFC 7692 forbids it, data that does not inflate, a decompression bomb) each ending the
//! connection with the close code it calls for, what came before kept. Interop with independent servers is in
//! `interop/deflate.rs`.

use crate::servers::{self, collect, start};
use sockscope::engine::{Command, EventKind};
use sockscope::model::deflate::{Compressor, Negotiated};
use sockscope::model::{ConnState, ConnectRequest, Direction, MessageKind, Stage};

/// An unmasked server frame.
fn frame(first: u8, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![first];
    match payload.len() {
        n @ 0..=125 => f.push(n as u8),
        n @ 126..=0xffff => {
            f.push(126);
            f.extend((n as u16).to_be_bytes());
        }
        n => {
            f.push(127);
            f.extend((n as u64).to_be_bytes());
        }
    }
    f.extend_from_slice(payload);
    f
}

/// Connects to a server that agrees to deflate and sends `frames`; `on_open` runs once open. Returns the
/// transcript and what the server received.
async fn against(
    frames: Vec<u8>,
    req: impl FnOnce(&mut ConnectRequest),
    on_open: impl Fn(&sockscope::engine::ConnectionHandle) + Send + 'static,
) -> (servers::Transcript, Vec<u8>) {
    let (addr, mut seen) = servers::raw_101_deflate_then(frames).await;
    let mut request = ConnectRequest::new(format!("ws://{addr}/"));
    request.max_message_size_bytes = 1 << 20;
    req(&mut request);
    let (handle, mut events) = start(request);
    let t = collect(&mut events, move |event, _| {
        if let EventKind::State(ConnState::Open) = event {
            on_open(&handle);
        }
    })
    .await;
    (t, servers::recorded(&mut seen).await)
}

/// The data messages received (not the red row that shows the frame behind a violation).
fn received_data(t: &servers::Transcript) -> Vec<&sockscope::model::LogEntry> {
    t.messages
        .iter()
        .filter(|m| m.direction == Direction::Received && m.kind.is_data())
        .filter(|m| !m.extra.as_ref().is_some_and(|e| e.violation))
        .collect()
}

fn our_close(t: &servers::Transcript) -> Option<(u16, String)> {
    t.messages
        .iter()
        .find(|m| m.direction == Direction::Sent && m.kind == MessageKind::Close)
        .map(|m| {
            (
                m.close_code().unwrap_or_default(),
                String::from_utf8_lossy(&m.payload).into_owned(),
            )
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compressed_both_ways_and_one_message_sent_as_is() {
    let mut server = Compressor::new(&Negotiated::default_parameters());
    let mut wire = frame(0xC1, &server.compress(b"hello, compressed world"));
    wire.extend(frame(0x81, b"plain is legal too"));
    wire.extend(frame(0xC1, &server.compress(b"hello, compressed world")));
    let (t, seen) = against(
        wire,
        |_| {},
        |h| {
            h.send(Command::Text("from us, compressed".into()));
            h.send(Command::Uncompressed {
                payload: b"from us, as is".to_vec(),
                text: true,
            });
            h.send(Command::Close {
                code: 1000,
                reason: String::new(),
            });
        },
    )
    .await;
    assert!(t.opened, "{:?}", t.errors);
    let hs = t.handshake.as_ref().expect("handshake");
    assert!(hs.deflate.is_some(), "{:?}", hs.checks);
    assert_eq!(hs.extensions[0].name, "permessage-deflate");
    let data = received_data(&t);
    assert_eq!(data.len(), 3, "{:?}", t.errors);
    assert_eq!(&data[0].payload[..], b"hello, compressed world");
    assert!(data[0].compressed());
    assert!(
        data[2].wire_size() < data[0].wire_size(),
        "the context carried over"
    );
    assert_eq!(
        (&data[1].payload[..], data[1].compressed()),
        (&b"plain is legal too"[..], false)
    );
    // What we sent: RSV1 on the first, compressed; the second as is.
    let frames = servers::client_frames(&seen);
    assert_eq!(frames[0].0, 0xC1, "FIN, RSV1, text");
    let mut inflate = flate2::Decompress::new(false);
    let mut data = frames[0].1.clone();
    data.extend([0, 0, 0xff, 0xff]);
    let mut out = Vec::with_capacity(256);
    inflate
        .decompress_vec(&data, &mut out, flate2::FlushDecompress::Sync)
        .expect("our data inflates");
    assert_eq!(out, b"from us, compressed");
    assert_eq!(frames[1], (0x81, b"from us, as is".to_vec()));
    let sent: Vec<_> = t
        .messages
        .iter()
        .filter(|m| m.direction == Direction::Sent && m.kind.is_data())
        .collect();
    assert!(sent[0].compressed() && !sent[1].compressed());
    assert_eq!(sent[0].wire_size(), frames[0].1.len());
}

/// Each broken frame follows a good compressed message: the connection ends with `code` and a staged read
/// error saying `says`, and the good message is kept.
async fn hostile(bad: Vec<u8>, code: u16, says: &str) {
    let mut server = Compressor::new(&Negotiated::default_parameters());
    let mut wire = frame(0xC1, &server.compress(b"before"));
    wire.extend(bad);
    wire.extend(frame(0x81, b"never"));
    let (t, seen) = against(wire, |_| {}, |_| {}).await;
    let data = received_data(&t);
    assert_eq!(data.len(), 1, "{says}: {:?}", t.errors);
    assert_eq!(&data[0].payload[..], b"before", "{says}");
    let error = t
        .errors
        .first()
        .unwrap_or_else(|| panic!("{says}: an error"));
    assert_eq!(error.stage, Stage::Read, "{says}");
    assert!(error.message.contains(says), "{says}: {}", error.message);
    assert_eq!(our_close(&t).map(|c| c.0), Some(code), "{says}");
    assert_eq!(
        servers::client_close(&seen),
        Some(Some(code)),
        "{says}: the server got our close"
    );
    assert!(!t.closed.expect("closed").clean, "{says}");
    // The frame behind it is shown, red, in the log.
    assert!(
        t.messages
            .iter()
            .any(|m| m.extra.as_ref().is_some_and(|e| e.violation)),
        "{says}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rsv1_on_a_ping_gets_1002() {
    hostile(frame(0xC9, b"p"), 1002, "RSV1 on a ping frame").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rsv1_on_a_continuation_gets_1002() {
    let part = Compressor::new(&Negotiated::default_parameters()).compress(b"x");
    let bad = [frame(0x41, &part[..1]), frame(0xC0, &part[1..])].concat();
    hostile(bad, 1002, "continuation frame").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_that_does_not_inflate_gets_1007() {
    hostile(frame(0xC1, &[0xff; 64]), 1007, "does not inflate").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_decompression_bomb_stops_at_the_limit_with_1009() {
    // About 2 KiB of deflate data that inflates to 2 MiB, over the 1 MiB limit.
    let bomb = Compressor::new(&Negotiated::default_parameters()).compress(&vec![0u8; 2 << 20]);
    assert!(bomb.len() < 4096, "{}", bomb.len());
    hostile(frame(0xC2, &bomb), 1009, "inflated past the 1.0 MiB limit").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rsv1_without_deflate_agreed_gets_1002() {
    let (addr, mut seen) = servers::raw_101_then(&[0x81, 0x02, b'o', b'k', 0xC1, 0x01, b'x']).await;
    let (_h, mut events) = start(ConnectRequest::new(format!("ws://{addr}/")));
    let t = collect(&mut events, |_, _| {}).await;
    let hs = t.handshake.as_ref().expect("handshake");
    assert!(hs.deflate.is_none(), "offered, not agreed");
    assert_eq!(&received_data(&t)[0].payload[..], b"ok");
    assert!(
        t.errors[0].message.contains("protocol violation"),
        "{}",
        t.errors[0].message
    );
    let seen = servers::recorded(&mut seen).await;
    assert_eq!(servers::client_close(&seen), Some(Some(1002)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_automatic_pongs_off_a_ping_goes_unanswered_and_says_so() {
    for auto_pong in [true, false] {
        let wire = [frame(0x89, b"are you there"), frame(0x81, b"after")].concat();
        let (t, seen) = against(
            wire,
            |r| r.auto_pong = auto_pong,
            |h| {
                // Long enough for an automatic pong to go out first.
                let h = h.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
                    h.send(Command::Close {
                        code: 1000,
                        reason: String::new(),
                    });
                });
            },
        )
        .await;
        let ping = t
            .messages
            .iter()
            .find(|m| m.direction == Direction::Received && m.kind == MessageKind::Ping)
            .expect("the ping is logged either way");
        assert_eq!(&ping.payload[..], b"are you there");
        let pongs: Vec<_> = servers::client_frames(&seen)
            .into_iter()
            .filter(|f| f.0 == 0x8A)
            .collect();
        if auto_pong {
            assert_eq!(pongs, vec![(0x8A, b"are you there".to_vec())]);
            assert_eq!(ping.note(), None);
        } else {
            assert!(pongs.is_empty(), "no pong went out: {pongs:?}");
            assert!(
                ping.note().is_some_and(|n| n.contains("not answered")),
                "{:?}",
                ping.note()
            );
            assert!(
                !t.messages.iter().any(|m| m.kind == MessageKind::Pong),
                "the ping is not shown as a pong"
            );
        }
        assert_eq!(&received_data(&t)[0].payload[..], b"after");
    }
}
