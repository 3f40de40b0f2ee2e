//! permessage-deflate with independent servers: Python `websockets` (deflate on by default), aiohttp (compress on
//! by default) and node `ws` with `perMessageDeflate` at window bits 9..15, with and without context takeover.
//! Text and binary, a 10 MiB message, a fragmented compressed message from us, server pings in between.

use super::{Peer, Runtime, start_peer, start_peer_with};
use crate::servers::{collect, start};
use sockscope::engine::{Command, EventKind};
use sockscope::model::{ConnState, ConnectRequest, Direction, MessageKind};

/// Compressible JSON, `n` records.
fn json(n: usize) -> String {
    (0..n)
        .map(|i| format!("{{\"seq\":{i},\"kind\":\"tick\",\"price\":{}}}", i % 17))
        .collect::<Vec<_>>()
        .join(",")
}

/// Round trips over a compressed connection; `pings` says whether the peer answers "ping:…" with a ping first
/// and then the echo.
async fn exercise(peer: Peer, path: &str, pings: bool) -> sockscope::model::HandshakeInfo {
    let (handle, mut events) = start(ConnectRequest::new(format!(
        "ws://127.0.0.1:{}{path}",
        peer.port
    )));
    let text = json(400);
    let big: Vec<u8> = json(270_000).into_bytes(); // over 10 MiB
    assert!(big.len() > 10 << 20, "{}", big.len());
    let fragmented = json(50);
    let (t2, b2, f2) = (text.clone(), big.clone(), fragmented.clone());
    let expected = if pings { 6 } else { 5 };
    let t = collect(&mut events, move |event, t| match event {
        EventKind::State(ConnState::Open) => {
            handle.send(Command::Text(t2.clone()));
            handle.send(Command::Binary(vec![0, 1, 254, 255]));
            if pings {
                handle.send(Command::Text("ping:between".into()));
            }
            handle.send(Command::Binary(b2.clone()));
            handle.send(Command::Fragmented {
                payload: f2.clone().into_bytes(),
                text: true,
                fragment_size: 100,
            });
            handle.send(Command::Uncompressed {
                payload: b"sent as is".to_vec(),
                text: true,
            });
        }
        EventKind::Message(m) if m.direction == Direction::Received && m.kind.is_data() => {
            let received = t
                .messages
                .iter()
                .filter(|m| m.direction == Direction::Received && m.kind.is_data())
                .count();
            // `t` does not hold this message yet.
            if received + 1 == expected {
                handle.send(Command::Close {
                    code: 1000,
                    reason: String::new(),
                });
            }
        }
        _ => {}
    })
    .await;
    assert!(t.opened, "{:?}", t.errors);
    let hs = t.handshake.expect("handshake");
    assert!(
        hs.deflate.is_some(),
        "permessage-deflate agreed: {:?}",
        hs.checks
    );
    let data: Vec<_> = t
        .messages
        .iter()
        .filter(|m| m.direction == Direction::Received && m.kind.is_data())
        .collect();
    assert_eq!(data.len(), expected, "{:?}", t.errors);
    let payloads: Vec<&[u8]> = data.iter().map(|m| &m.payload[..]).collect();
    assert!(payloads.contains(&text.as_bytes()));
    assert!(payloads.contains(&&[0u8, 1, 254, 255][..]));
    assert!(payloads.iter().any(|p| *p == &big[..]), "10 MiB intact");
    assert!(payloads.contains(&fragmented.as_bytes()));
    assert!(payloads.contains(&&b"sent as is"[..]));
    let big_in = data
        .iter()
        .find(|m| m.payload.len() == big.len())
        .expect("big");
    assert!(
        big_in.compressed() && big_in.wire_size() < big.len() / 5,
        "the server compressed 10 MiB of JSON to {}",
        big_in.wire_size()
    );
    let sent: Vec<_> = t
        .messages
        .iter()
        .filter(|m| m.direction == Direction::Sent && m.kind.is_data())
        .collect();
    assert!(
        sent.iter()
            .filter(|m| &m.payload[..] != b"sent as is")
            .all(|m| m.compressed()),
        "everything but the one sent as is went compressed"
    );
    if pings {
        assert!(
            t.messages.iter().any(|m| m.direction == Direction::Received
                && m.kind == MessageKind::Ping
                && &m.payload[..] == b"between"),
            "the server's ping between compressed messages"
        );
    }
    assert!(t.closed.expect("closed").clean, "{:?}", t.errors);
    *hs
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_websockets_with_deflate() {
    if let Some(peer) = start_peer(
        "python_websockets_with_deflate",
        Runtime::Python,
        "python_websockets_echo.py",
        &["-c", "import websockets"],
    ) {
        // "ping:" there answers after the pong, as a separate message.
        let hs = exercise(peer, "/", false).await;
        let agreed = hs.deflate.expect("agreed");
        assert!(agreed.client_max_window_bits <= 15);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aiohttp_with_compress() {
    if let Some(peer) = start_peer(
        "aiohttp_with_compress",
        Runtime::Python,
        "python_aiohttp_echo.py",
        &["-c", "import aiohttp"],
    ) {
        exercise(peer, "/any", false).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_ws_with_deflate_at_every_window_with_and_without_context_takeover() {
    let every = (9..=15u8).flat_map(|bits| [(bits, false), (bits, true)]);
    for (bits, no_takeover) in every {
        let options = format!(
            r#"{{"serverMaxWindowBits":{bits},"clientMaxWindowBits":{bits},"serverNoContextTakeover":{no_takeover},"clientNoContextTakeover":{no_takeover}}}"#
        );
        let Some(peer) = start_peer_with(
            "node_ws_with_deflate",
            Runtime::Node,
            "node_ws_deflate_echo.js",
            &["-e", "require('ws')"],
            &[std::ffi::OsStr::new(&options)],
        ) else {
            return;
        };
        let hs = exercise(peer, "/", true).await;
        let agreed = hs.deflate.expect("agreed");
        assert_eq!(
            (
                agreed.server_max_window_bits,
                agreed.client_max_window_bits,
                agreed.server_no_context_takeover,
                agreed.client_no_context_takeover
            ),
            (bits, bits, no_takeover, no_takeover),
            "{options}"
        );
    }
}

/// A server that pings every 0.5 s and gives up after 1 s without a pong (Python `websockets`): with automatic
/// pongs off it closes on us with 1011 "keepalive ping timeout", each of its pings logged as unanswered; with
/// them on, the connection stays up until we close it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_websockets_ping_timeout_is_testable_with_automatic_pongs_off() {
    for auto_pong in [false, true] {
        let Some(peer) = start_peer(
            "python_websockets_ping_timeout_is_testable_with_automatic_pongs_off",
            Runtime::Python,
            "python_websockets_pinger.py",
            &["-c", "import websockets"],
        ) else {
            return;
        };
        let mut req = ConnectRequest::new(format!("ws://127.0.0.1:{}/", peer.port));
        req.auto_pong = auto_pong;
        let (handle, mut events) = start(req);
        let started = std::time::Instant::now();
        let t = collect(&mut events, move |event, _| {
            if let EventKind::State(ConnState::Open) = event {
                let h = handle.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
                    h.send(Command::Close {
                        code: 1000,
                        reason: String::new(),
                    });
                });
            }
        })
        .await;
        let closed = t.closed.expect("closed");
        let pings: Vec<_> = t
            .messages
            .iter()
            .filter(|m| m.direction == Direction::Received && m.kind == MessageKind::Ping)
            .collect();
        assert!(!pings.is_empty(), "the server pinged");
        if auto_pong {
            assert_eq!(closed.code, Some(1000), "{:?}", t.errors);
            assert_eq!(closed.initiated_by, sockscope::model::Initiator::Client);
            assert!(pings.iter().all(|p| p.note().is_none()));
        } else {
            assert_eq!(closed.code, Some(1011), "{:?}", t.errors);
            assert_eq!(closed.reason, "keepalive ping timeout");
            assert!(started.elapsed() < std::time::Duration::from_millis(2900));
            assert!(
                pings
                    .iter()
                    .all(|p| p.note().is_some_and(|n| n.contains("not answered")))
            );
        }
    }
}
