//! The engine against real servers: echo, closes from either side, and failures at each stage.

use crate::servers::{self, collect, start};
use sockscope::engine::{Command, EventKind};
use sockscope::model::{ConnState, ConnectRequest, Direction, Initiator, MessageKind, Stage};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echo_round_trip_of_text_binary_and_ping_then_client_close() {
    let server = servers::echo().await;
    let (handle, mut events) = start(ConnectRequest::new(server.url()));
    let h = handle.clone();
    let t = collect(&mut events, move |event, t| match event {
        EventKind::State(ConnState::Open) => {
            h.send(Command::Text("héllo".into()));
            h.send(Command::Binary(vec![0, 1, 2, 255]));
            h.send(Command::Ping(b"p1".to_vec()));
        }
        EventKind::Message(m)
            if m.direction == Direction::Received && m.kind == MessageKind::Binary =>
        {
            assert_eq!(
                t.messages
                    .iter()
                    .filter(|m| m.direction == Direction::Received)
                    .count(),
                1
            );
            h.send(Command::Close {
                code: 4000,
                reason: "bye".into(),
            });
        }
        _ => {}
    })
    .await;
    assert!(t.opened);
    let hs = t.handshake.expect("handshake");
    assert_eq!(hs.status, 101);
    assert!(
        hs.timings.tcp_ms.is_some()
            && hs.timings.upgrade_ms.is_some()
            && hs.timings.dns_ms.is_none()
    );
    assert!(
        hs.request_raw
            .starts_with(b"GET / HTTP/1.1\r\nHost: 127.0.0.1:")
    );
    let received: Vec<_> = t
        .messages
        .iter()
        .filter(|m| m.direction == Direction::Received)
        .collect();
    assert_eq!(received[0].kind, MessageKind::Text);
    assert_eq!(&received[0].payload[..], "héllo".as_bytes());
    assert_eq!(received[1].kind, MessageKind::Binary);
    assert_eq!(&received[1].payload[..], vec![0, 1, 2, 255]);
    assert!(
        received
            .iter()
            .any(|m| m.kind == MessageKind::Pong && &m.payload[..] == b"p1")
    );
    let sent_close = t
        .messages
        .iter()
        .find(|m| m.direction == Direction::Sent && m.kind == MessageKind::Close);
    assert_eq!(sent_close.and_then(|m| m.close_code()), Some(4000));
    let closed = t.closed.expect("closed");
    assert_eq!((closed.code, closed.reason.as_str()), (Some(4000), "bye"));
    assert!(closed.clean);
    assert_eq!(closed.initiated_by, Initiator::Client);
    assert!(t.errors.is_empty(), "{:?}", t.errors);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_initiated_close_reports_code_reason_and_our_automatic_reply() {
    let addr = servers::greet_then_close("welcome", 4001, "server says bye").await;
    let (_handle, mut events) = start(ConnectRequest::new(format!("ws://{addr}/chat")));
    let t = collect(&mut events, |_, _| {}).await;
    let closed = t.closed.expect("closed");
    assert_eq!(closed.code, Some(4001));
    assert_eq!(closed.reason, "server says bye");
    assert!(closed.clean);
    assert_eq!(closed.initiated_by, Initiator::Server);
    assert_eq!(&t.messages[0].payload[..], b"welcome");
    let reply = t
        .messages
        .iter()
        .find(|m| m.direction == Direction::Sent && m.kind == MessageKind::Close);
    assert!(reply.is_some_and(|m| m.automatic() && m.close_code() == Some(4001)));
    assert!(
        t.handshake
            .expect("handshake")
            .request_raw
            .starts_with(b"GET /chat HTTP/1.1")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_connection_fails_at_the_tcp_stage() {
    let port = servers::closed_port().await;
    let (_handle, mut events) = start(ConnectRequest::new(format!("ws://127.0.0.1:{port}")));
    let t = collect(&mut events, |_, _| {}).await;
    assert!(!t.opened);
    assert_eq!(t.errors.len(), 1);
    assert_eq!(t.errors[0].stage, Stage::Tcp);
    assert!(
        t.errors[0].message.contains("refused"),
        "{}",
        t.errors[0].message
    );
    let closed = t.closed.expect("closed");
    assert!(!closed.clean);
    assert_eq!(closed.initiated_by, Initiator::None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_url_fails_at_the_url_stage() {
    let (_handle, mut events) = start(ConnectRequest::new("gopher://example.com"));
    let t = collect(&mut events, |_, _| {}).await;
    assert_eq!(t.errors[0].stage, Stage::Url);
    assert!(t.errors[0].message.contains("unsupported scheme"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_101_reply_keeps_status_headers_and_body() {
    let addr = servers::raw_http(
        b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer\r\nContent-Length: 13\r\n\r\ntoken missing",
    )
    .await;
    let (_handle, mut events) = start(ConnectRequest::new(format!("ws://{addr}/")));
    let t = collect(&mut events, |_, _| {}).await;
    let hs = t.handshake.expect("the failed handshake is reported");
    assert_eq!(hs.status, 401);
    assert_eq!(hs.reason, "Unauthorized");
    assert_eq!(hs.response_body, b"token missing");
    assert!(
        hs.response
            .headers
            .iter()
            .any(|(n, v)| n == "WWW-Authenticate" && v == "Bearer")
    );
    assert_eq!(t.errors[0].stage, Stage::Handshake);
    assert!(
        t.errors[0].message.contains("401 Unauthorized"),
        "{}",
        t.errors[0].message
    );
    assert!(t.errors[0].message.contains("token missing"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirect_is_reported_not_followed() {
    let addr =
        servers::raw_http(b"HTTP/1.1 301 Moved Permanently\r\nLocation: wss://elsewhere/\r\n\r\n")
            .await;
    let (_handle, mut events) = start(ConnectRequest::new(format!("ws://{addr}/")));
    let t = collect(&mut events, |_, _| {}).await;
    assert!(
        t.errors[0].message.contains("redirect to wss://elsewhere/"),
        "{}",
        t.errors[0].message
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_accept_key_fails_the_handshake() {
    let addr = servers::raw_http(
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Accept: wrong\r\n\r\n",
    )
    .await;
    let (_handle, mut events) = start(ConnectRequest::new(format!("ws://{addr}/")));
    let t = collect(&mut events, |_, _| {}).await;
    assert_eq!(t.errors[0].stage, Stage::Handshake);
    assert!(
        t.errors[0]
            .message
            .contains("Sec-WebSocket-Accept 'wrong' does not match"),
        "{}",
        t.errors[0].message
    );
    assert!(!t.opened);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_token_list_and_no_selected_subprotocol_are_accepted_with_a_warning() {
    let addr = servers::raw_101_token_list().await;
    let mut req = ConnectRequest::new(format!("ws://{addr}/"));
    req.subprotocols = vec!["chat".into()];
    let (_handle, mut events) = start(req);
    let t = collect(&mut events, |_, _| {}).await;
    assert!(t.opened, "{:?}", t.errors);
    let hs = t.handshake.expect("handshake");
    assert!(hs.subprotocol.is_none());
    assert!(
        hs.warnings[0].contains("selected none of the offered subprotocols"),
        "{:?}",
        hs.warnings
    );
    assert!(
        hs.response
            .headers
            .iter()
            .any(|(n, v)| n == "X-Custom-Case" && v == "Kept")
    );
    // The frames that arrived in the same packet as the 101 head are not lost.
    assert_eq!(&t.messages[0].payload[..], b"hi");
    let closed = t.closed.expect("closed");
    assert_eq!(
        (closed.code, closed.initiated_by, closed.clean),
        (Some(1000), Initiator::Server, true)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_echo_server_selects_the_first_offered_subprotocol() {
    let server = servers::echo().await;
    let mut req = ConnectRequest::new(server.url());
    req.subprotocols = vec!["v2.chat".into(), "v1.chat".into()];
    let (handle, mut events) = start(req);
    let t = collect(&mut events, move |event, _| {
        if let EventKind::State(ConnState::Open) = event {
            handle.send(Command::Close {
                code: 1000,
                reason: String::new(),
            });
        }
    })
    .await;
    assert_eq!(
        t.handshake.expect("handshake").subprotocol.as_deref(),
        Some("v2.chat")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_never_answers_times_out_at_the_upgrade() {
    let addr = servers::silent().await;
    let mut req = ConnectRequest::new(format!("ws://{addr}/"));
    req.connect_timeout_millis = 300;
    let (_handle, mut events) = start(req);
    let t = collect(&mut events, |_, _| {}).await;
    assert_eq!(t.errors[0].stage, Stage::Timeout);
    assert!(
        t.errors[0].message.contains("Handshake"),
        "{}",
        t.errors[0].message
    );
    assert!(
        t.errors[0].message.contains("300 ms"),
        "{}",
        t.errors[0].message
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_connection_is_a_read_error_and_not_clean() {
    let addr = servers::send_then_drop().await;
    let (_handle, mut events) = start(ConnectRequest::new(format!("ws://{addr}/")));
    let t = collect(&mut events, |_, _| {}).await;
    assert_eq!(&t.messages[0].payload[..], b"bye, abruptly");
    assert_eq!(t.errors.len(), 1, "{:?}", t.errors);
    assert_eq!(t.errors[0].stage, Stage::Read);
    assert!(
        t.errors[0].message.contains("without a close frame"),
        "{}",
        t.errors[0].message
    );
    let closed = t.closed.expect("closed");
    assert!(!closed.clean);
    assert_eq!(closed.initiated_by, Initiator::None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_while_connecting_ends_the_attempt() {
    let addr = servers::silent().await;
    let (handle, mut events) = start(ConnectRequest::new(format!("ws://{addr}/")));
    let t = collect(&mut events, move |event, _| {
        if let EventKind::State(ConnState::Connecting) = event {
            handle.send(Command::Close {
                code: 1000,
                reason: String::new(),
            });
        }
    })
    .await;
    assert!(!t.opened);
    assert!(t.errors[0].message.contains("cancelled"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_control_payloads_are_refused_before_sending() {
    let server = servers::echo().await;
    let (handle, mut events) = start(ConnectRequest::new(server.url()));
    let t = collect(&mut events, move |event, _| {
        if let EventKind::State(ConnState::Open) = event {
            handle.send(Command::Ping(vec![0; 126]));
            handle.send(Command::Close {
                code: 1000,
                reason: String::new(),
            });
        }
    })
    .await;
    assert_eq!(t.errors[0].stage, Stage::Write);
    assert!(t.errors[0].message.contains("at most 125 bytes"));
    assert!(t.closed.expect("closed").clean);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_keeps_its_order_around_control_frames_and_its_times_agree() {
    // All of it arrives with the 101 response: text, binary, ping, a fragmented text, pong, text, close.
    const FRAMES: &[u8] = &[
        0x81, 0x01, b'a', // text "a"
        0x82, 0x01, 0x07, // binary [7]
        0x89, 0x01, b'p', // ping "p"
        0x01, 0x02, b'b', b'1', // text "b1", more to come
        0x80, 0x02, b'b', b'2', // continuation "b2", final
        0x8a, 0x01, b'x', // pong "x"
        0x81, 0x01, b'c', // text "c"
        0x88, 0x02, 0x03, 0xe8, // close 1000
    ];
    let (addr, _seen) = servers::raw_101_then(FRAMES).await;
    let before = std::time::SystemTime::now();
    let (_h, mut events) = start(ConnectRequest::new(format!("ws://{addr}/")));
    let t = collect(&mut events, |_, _| {}).await;
    let after = std::time::SystemTime::now();
    let received: Vec<_> = t
        .messages
        .iter()
        .filter(|m| m.direction == Direction::Received)
        .collect();
    assert_eq!(
        received
            .iter()
            .map(|m| (m.kind, m.payload.to_vec()))
            .collect::<Vec<_>>(),
        vec![
            (MessageKind::Text, b"a".to_vec()),
            (MessageKind::Binary, vec![7]),
            (MessageKind::Ping, b"p".to_vec()),
            (MessageKind::Text, b"b1b2".to_vec()),
            (MessageKind::Pong, b"x".to_vec()),
            (MessageKind::Text, b"c".to_vec()),
            (MessageKind::Close, Vec::new()),
        ]
    );
    // A message is dated by the read that brought its last bytes: all of these came in one read (with the 101
    // head), so they share one time, on the wall clock of this run.
    let (at, since) = (received[0].at(), received[0].since_connect());
    for m in &received {
        assert_eq!((m.at(), m.since_connect()), (at, since), "{m:?}");
    }
    assert!(
        before <= at && at <= after,
        "{at:?} not in {before:?}..{after:?}"
    );
    let reply = t
        .messages
        .iter()
        .find(|m| m.direction == Direction::Sent)
        .expect("our close reply");
    assert!(reply.since_connect() >= since && reply.at() >= at);
    assert!(t.closed.expect("closed").clean);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_sent_message_is_logged_before_its_echo() {
    let server = servers::echo().await;
    let (handle, mut events) = start(ConnectRequest::new(server.url()));
    let h = handle.clone();
    let mut echoed = 0;
    let t = collect(&mut events, move |event, _| match event {
        EventKind::State(ConnState::Open) => {
            for i in 0..300 {
                h.send(Command::Text(format!("m{i}")));
            }
        }
        EventKind::Message(m)
            if m.direction == Direction::Received && m.kind == MessageKind::Text =>
        {
            echoed += 1;
            if echoed == 300 {
                h.send(Command::Close {
                    code: 1000,
                    reason: String::new(),
                });
            }
        }
        _ => {}
    })
    .await;
    let position = |direction, text: &str| {
        t.messages
            .iter()
            .position(|m| m.direction == direction && &m.payload[..] == text.as_bytes())
            .unwrap_or_else(|| panic!("{direction:?} {text}"))
    };
    for i in 0..300 {
        let text = format!("m{i}");
        assert!(
            position(Direction::Sent, &text) < position(Direction::Received, &text),
            "{text}"
        );
    }
}
