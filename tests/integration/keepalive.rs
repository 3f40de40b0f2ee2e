//! Keepalive pings with RTT, the pong watchdog, heartbeats, reconnect with backoff and on-connect messages, and
//! raw frame control.

use crate::servers::{self, cli, collect, collect_all, start};
use sockscope::engine::{Command, EventKind};
use sockscope::model::{
    ConnState, ConnectRequest, Direction, Heartbeat, MessageKind, OutgoingMessage, RawFrame,
    ReconnectPolicy, Stage,
};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interval_pings_measure_rtt() {
    let server = servers::echo().await;
    let mut req = ConnectRequest::new(server.url());
    req.keepalive.ping_interval_millis = Some(40);
    let (handle, mut events) = start(req);
    let mut pongs = 0;
    let t = collect(&mut events, move |event, _| {
        if let EventKind::Message(m) = event
            && m.kind == MessageKind::Pong
        {
            pongs += 1;
            if pongs == 3 {
                handle.send(Command::Close {
                    code: 1000,
                    reason: String::new(),
                });
            }
        }
    })
    .await;
    let pings: Vec<_> = t
        .messages
        .iter()
        .filter(|m| m.kind == MessageKind::Ping)
        .collect();
    let pongs: Vec<_> = t
        .messages
        .iter()
        .filter(|m| m.kind == MessageKind::Pong)
        .collect();
    assert!(pings.len() >= 3 && pongs.len() >= 3);
    assert_eq!(&pings[0].payload[..], b"sockscope-1");
    assert_eq!(&pongs[0].payload[..], b"sockscope-1");
    assert!(
        pongs
            .iter()
            .all(|p| p.rtt().is_some_and(|r| r < Duration::from_secs(1)))
    );
    assert!(t.closed.expect("closed").clean);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_never_pongs_is_declared_dead() {
    let addr = servers::raw_101_deaf().await;
    let mut req = ConnectRequest::new(format!("ws://{addr}/"));
    req.keepalive.ping_interval_millis = Some(30);
    req.keepalive.pong_timeout_millis = Some(150);
    req.keepalive.close_when_dead = true;
    let (_h, mut events) = start(req);
    let t = collect(&mut events, |_, _| {}).await;
    assert!(t.opened);
    assert_eq!(t.errors[0].stage, Stage::Timeout);
    assert!(
        t.errors[0].message.contains("no pong within 150 ms"),
        "{}",
        t.errors[0].message
    );
    assert!(!t.closed.expect("closed").clean);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeat_sends_templated_messages() {
    let server = servers::echo().await;
    let mut req = ConnectRequest::new(server.url());
    req.heartbeat = Some(Heartbeat {
        interval_millis: 30,
        text: r#"{"type":"hb","n":{{counter}}}"#.into(),
    });
    let (handle, mut events) = start(req);
    let t = collect(&mut events, move |event, _| {
        if let EventKind::Message(m) = event
            && m.direction == Direction::Received
            && &m.payload[..] == br#"{"type":"hb","n":2}"#
        {
            handle.send(Command::Close {
                code: 1000,
                reason: String::new(),
            });
        }
    })
    .await;
    let sent: Vec<_> = t
        .messages
        .iter()
        .filter(|m| m.direction == Direction::Sent && m.kind == MessageKind::Text)
        .collect();
    assert_eq!(&sent[0].payload[..], br#"{"type":"hb","n":1}"#);
    assert_eq!(&sent[1].payload[..], br#"{"type":"hb","n":2}"#);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnect_resends_on_connect_messages_and_gives_up_after_the_maximum() {
    let (addr, seen) = servers::drop_after_first_message().await;
    let mut req = ConnectRequest::new(format!("ws://{addr}/"));
    req.on_connect = vec![OutgoingMessage::Text(
        r#"{"action":"auth","n":{{counter}}}"#.into(),
    )];
    req.reconnect = ReconnectPolicy {
        enabled: true,
        max_attempts: Some(3),
        initial_delay_millis: 20,
        max_delay_millis: 200,
    };
    let (_h, mut events) = start(req);
    let all = collect_all(&mut events, |_| {}).await;
    let handshakes = all
        .iter()
        .filter(|e| matches!(e, EventKind::Handshake(_)))
        .count();
    let attempts: Vec<u32> = all
        .iter()
        .filter_map(|e| match e {
            EventKind::Reconnecting { attempt, .. } => Some(*attempt),
            _ => None,
        })
        .collect();
    assert_eq!(
        handshakes, 4,
        "the first connection and three reconnections"
    );
    assert_eq!(attempts, [1, 2, 3]);
    assert!(matches!(
        all.last(),
        Some(EventKind::GaveUp { attempts: 3 })
    ));
    let seen = seen.lock().expect("log").clone();
    assert_eq!(
        seen,
        (1..=4)
            .map(|n| format!(r#"{{"action":"auth","n":{n}}}"#))
            .collect::<Vec<_>>(),
        "the on-connect message was sent after every handshake"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backoff_grows_while_connecting_fails() {
    let port = servers::closed_port().await;
    let mut req = ConnectRequest::new(format!("ws://127.0.0.1:{port}/"));
    req.reconnect = ReconnectPolicy {
        enabled: true,
        max_attempts: Some(4),
        initial_delay_millis: 40,
        max_delay_millis: 10_000,
    };
    let (_h, mut events) = start(req);
    let all = collect_all(&mut events, |_| {}).await;
    let delays: Vec<u128> = all
        .iter()
        .filter_map(|e| match e {
            EventKind::Reconnecting { delay, .. } => Some(delay.as_millis()),
            _ => None,
        })
        .collect();
    assert_eq!(delays.len(), 4);
    for (i, d) in delays.iter().enumerate() {
        let full = 40u128 << i;
        assert!(
            *d >= full / 2 && *d <= full,
            "delay {i} = {d} ms, expected {}..={full}",
            full / 2
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_own_close_stops_reconnecting() {
    let server = servers::echo().await;
    let mut req = ConnectRequest::new(server.url());
    req.reconnect.enabled = true;
    let (handle, mut events) = start(req);
    let all = collect_all(&mut events, move |e| {
        if let EventKind::State(ConnState::Open) = e {
            handle.send(Command::Close {
                code: 1000,
                reason: String::new(),
            });
        }
    })
    .await;
    assert!(
        !all.iter()
            .any(|e| matches!(e, EventKind::Reconnecting { .. }))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_frames_and_reserved_close_codes_are_sent_and_marked() {
    // A text frame with RSV1 set and no extension: on the wire as asked (FIN + RSV1 + text, masked, "x"), and
    // marked as a protocol violation in the log. The server records those 7 bytes and hangs up.
    let (addr, mut recorded) = servers::raw_101_then_drop_after(7).await;
    let (handle, mut events) = start(ConnectRequest::new(format!("ws://{addr}/")));
    let t = collect(&mut events, move |event, _| {
        if let EventKind::State(ConnState::Open) = event {
            handle.send(Command::Raw(RawFrame {
                opcode: 1,
                fin: true,
                rsv1: true,
                payload: b"x".to_vec(),
                ..RawFrame::default()
            }));
        }
    })
    .await;
    assert_eq!(
        servers::client_frames(&servers::recorded(&mut recorded).await),
        [(0xC1, b"x".to_vec())],
        "the frame went out with FIN, RSV1 and opcode 1"
    );
    let sent = t
        .messages
        .iter()
        .find(|m| m.direction == Direction::Sent)
        .expect("sent");
    let extra = sent.extra.as_ref().expect("note");
    assert!(extra.violation);
    assert!(
        extra
            .note
            .as_deref()
            .is_some_and(|n| n.contains("RSV1=1") && n.contains("protocol violation")),
        "{extra:?}"
    );
    let closed = t.closed.expect("closed");
    assert!(!closed.clean && closed.code.is_none(), "{closed:?}");

    // Our echo server (tungstenite) fails a connection whose frame has RSV1 set by dropping it.
    let server = servers::echo().await;
    let (handle, mut events) = start(ConnectRequest::new(server.url()));
    let t = collect(&mut events, move |event, _| {
        if let EventKind::State(ConnState::Open) = event {
            handle.send(Command::Raw(RawFrame {
                opcode: 1,
                fin: true,
                rsv1: true,
                payload: b"x".to_vec(),
                ..RawFrame::default()
            }));
        }
    })
    .await;
    let closed = t.closed.expect("closed");
    assert!(!closed.clean && closed.code.is_none(), "{closed:?}");
    assert_eq!(t.errors.len(), 1, "{:?}", t.errors);
    assert_eq!(t.errors[0].stage, Stage::Read, "{:?}", t.errors);

    // A reserved close code goes out as asked (8 bytes: header, mask, code)...
    let (addr, mut recorded) = servers::raw_101_then_drop_after(8).await;
    let (handle, mut events) = start(ConnectRequest::new(format!("ws://{addr}/")));
    collect(&mut events, move |event, _| {
        if let EventKind::State(ConnState::Open) = event {
            handle.send(Command::Close {
                code: 1005,
                reason: String::new(),
            });
        }
    })
    .await;
    assert_eq!(
        servers::client_close(&servers::recorded(&mut recorded).await),
        Some(Some(1005))
    );
    // ... is marked, and a server answers it with a protocol error.
    let (handle, mut events) = start(ConnectRequest::new(server.url()));
    let t = collect(&mut events, move |event, _| {
        if let EventKind::State(ConnState::Open) = event {
            handle.send(Command::Close {
                code: 1005,
                reason: String::new(),
            });
        }
    })
    .await;
    let sent = t
        .messages
        .iter()
        .find(|m| m.direction == Direction::Sent)
        .expect("sent");
    assert_eq!(sent.close_code(), Some(1005));
    assert!(sent.note().is_some_and(|n| n.contains("reserved")));
    assert!(
        t.messages
            .iter()
            .any(|m| m.direction == Direction::Received && m.close_code() == Some(1002))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fragmented_messages_are_reassembled_by_the_server() {
    let server = servers::echo().await;
    let (handle, mut events) = start(ConnectRequest::new(server.url()));
    let t = collect(&mut events, move |event, _| match event {
        EventKind::State(ConnState::Open) => {
            handle.send(Command::Fragmented {
                payload: "fragmented héllo".as_bytes().to_vec(),
                text: true,
                fragment_size: 3,
            });
        }
        EventKind::Message(m) if m.direction == Direction::Received => {
            handle.send(Command::Close {
                code: 1000,
                reason: String::new(),
            });
        }
        _ => {}
    })
    .await;
    let sent = &t.messages[0];
    assert_eq!(sent.note(), Some("sent as 6 frames of at most 3 bytes"));
    let echoed = t
        .messages
        .iter()
        .find(|m| m.direction == Direction::Received)
        .expect("echo");
    assert_eq!(&echoed.payload[..], "fragmented héllo".as_bytes());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_pings_reconnects_and_fragments() {
    let server = servers::echo().await;
    let url = server.url();
    let out = tokio::task::spawn_blocking(move || {
        cli(&[
            "connect",
            &url,
            "--ping-interval",
            "0.05",
            "--wait",
            "0.4",
            "--json",
            "--send-fragmented",
            "abcdefghij",
            "--fragment-size",
            "3",
        ])
    })
    .await
    .expect("join");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let events: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    let pongs: Vec<_> = events.iter().filter(|e| e["kind"] == "pong").collect();
    assert!(pongs.len() >= 2, "{events:?}");
    assert!(pongs.iter().all(|p| p["rtt_ms"].as_f64().is_some()));
    assert!(
        events
            .iter()
            .any(|e| e["kind"] == "ping" && e["direction"] == "sent")
    );
    assert!(
        events
            .iter()
            .any(|e| e["note"] == "sent as 4 frames of at most 3 bytes")
    );
    assert!(
        events
            .iter()
            .any(|e| e["direction"] == "received" && e["text"] == "abcdefghij")
    );

    let port = servers::closed_port().await;
    let out = tokio::task::spawn_blocking(move || {
        cli(&[
            "connect",
            &format!("ws://127.0.0.1:{port}"),
            "--reconnect",
            "--max-reconnects",
            "2",
            "--json",
        ])
    })
    .await
    .expect("join");
    assert_eq!(out.status.code(), Some(3));
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        text.matches(r#""event":"reconnecting""#).count(),
        2,
        "{text}"
    );
    assert_eq!(text.matches(r#""event":"closed""#).count(), 3, "{text}");
    assert!(
        text.trim_end()
            .ends_with(r#"{"event":"gave_up","attempts":2}"#),
        "{text}"
    );

    let (addr, seen) = servers::drop_after_first_message().await;
    let out = tokio::task::spawn_blocking(move || {
        cli(&[
            "connect",
            &format!("ws://{addr}"),
            "--reconnect",
            "--max-reconnects",
            "1",
            "--send",
            "subscribe",
        ])
    })
    .await
    .expect("join");
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        seen.lock().expect("log").as_slice(),
        ["subscribe", "subscribe"]
    );
}
