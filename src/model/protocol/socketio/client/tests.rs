use super::super::options::{Emit, Settings, build_url};
use super::*;
use crate::model::protocol::engineio::WsData;
use crate::model::protocol::lens::Output;
use crate::model::protocol::lens::{Lens, Options};

fn text(s: &str) -> WsData {
    WsData::Text(s.to_owned())
}

fn settings(pairs: &[(&str, &str)]) -> Settings {
    let options: Options = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    Settings::from_options(&options).expect("settings")
}

fn sent(out: &[Output]) -> Vec<WsData> {
    out.iter()
        .filter_map(|o| match o {
            Output::Send { message, .. } => Some(message.clone()),
            _ => None,
        })
        .collect()
}

const OPEN_V4: &str =
    r#"0{"sid":"s1","upgrades":[],"pingInterval":1000,"pingTimeout":1500,"maxPayload":1000000}"#;

/// A v4 client through the open packet and the main namespace's CONNECT.
fn connected_v4() -> (Client, Instant) {
    let mut client = Client::new(settings(&[("auth", r#"{"token":"t"}"#)]), true);
    let now = Instant::now();
    assert!(client.start(now).is_empty());
    let (decoded, out) = client.on_message(now, text(OPEN_V4));
    assert_eq!((decoded.kind(), decoded.class), ("open", Class::Control));
    assert_eq!(
        decoded.field("data").and_then(|d| d.get("sid")),
        Some(&json!("s1"))
    );
    assert_eq!(sent(&out), vec![text(r#"40{"token":"t"}"#)]);
    let (decoded, out) = client.on_message(now, text(r#"40{"sid":"n1"}"#));
    assert_eq!(decoded.kind(), "connect");
    assert_eq!(out, vec![Output::Ready]);
    (client, now)
}

#[test]
fn urls_are_built_for_the_websocket_transport() {
    let s = settings(&[]);
    assert_eq!(
        build_url("http://127.0.0.1:3000/", &s),
        "ws://127.0.0.1:3000/socket.io/?EIO=4&transport=websocket"
    );
    assert_eq!(
        build_url("https://h", &s),
        "wss://h/socket.io/?EIO=4&transport=websocket"
    );
    // A typed Socket.IO URL keeps its EIO and query; polling becomes websocket.
    assert_eq!(
        build_url("ws://h/socket.io/?EIO=3&transport=polling&x=1", &s),
        "ws://h/socket.io/?EIO=3&transport=websocket&x=1"
    );
    assert_eq!(
        build_url("ws://h/", &settings(&[("path", "custom"), ("eio", "3")])),
        "ws://h/custom/?EIO=3&transport=websocket"
    );
    // Socket.IO 2 sends the default namespace's auth as query parameters.
    assert_eq!(
        build_url(
            "h:1/",
            &settings(&[("eio", "3"), ("auth", r#"{"token":"a b"}"#)])
        ),
        "ws://h:1/socket.io/?EIO=3&transport=websocket&token=a%20b"
    );
    // A path that is not the Socket.IO path names the namespace, as in the official client.
    let s = settings(&[]).for_url("http://h/admin");
    assert_eq!(s.namespace, "/admin");
    assert_eq!(
        settings(&[]).for_url("ws://h/socket.io/?EIO=3").eio,
        EioVersion::V3
    );
}

#[test]
fn v4_answers_pings_and_notices_a_silent_server() {
    let (mut client, now) = connected_v4();
    let (decoded, out) = client.on_message(now, text("2"));
    assert_eq!(decoded.class, Class::KeepAlive);
    assert_eq!(sent(&out), vec![text("3")]);
    let due = client.next_deadline().expect("deadline");
    assert_eq!(due, now + Duration::from_millis(2500));
    assert!(client.on_time(due - Duration::from_millis(1)).is_empty());
    let out = client.on_time(due);
    let [Output::Failed(f)] = &out[..] else {
        panic!("{out:?}")
    };
    assert_eq!(f.then, Then::Drop);
    assert!(
        f.message.contains("no ping from the server for 2500 ms"),
        "{}",
        f.message
    );
}

#[test]
fn events_wait_for_their_namespace_and_acks_carry_the_round_trip() {
    let (mut client, now) = connected_v4();
    let out = client.emit(now, &json!({"event":"echo","args":["hi"],"ack":true}));
    assert_eq!(sent(&out), vec![text(r#"420["echo","hi"]"#)]);
    let later = now + Duration::from_millis(5);
    let (ack, _) = client.on_message(later, text(r#"430["hi"]"#));
    assert_eq!(ack.kind(), "ack");
    assert_eq!(ack.field("event"), Some(&json!("echo")));
    assert_eq!(ack.field("rtt_ms"), Some(&json!(5.0)));
    // An event for /admin connects it first (with its auth) and goes out once the server says yes.
    let out = client.emit(
        now,
        &json!({"event":"x","namespace":"/admin","auth":{"token":"secret"}}),
    );
    assert_eq!(sent(&out), vec![text(r#"40/admin,{"token":"secret"}"#)]);
    let (_, out) = client.on_message(now, text(r#"40/admin,{"sid":"a1"}"#));
    assert_eq!(sent(&out), vec![text(r#"42/admin,["x"]"#)]);
    assert!(
        client
            .open_items()
            .iter()
            .any(|i| i.key == "/admin" && i.state == "connected")
    );
}

#[test]
fn a_refused_namespace_drops_its_events_in_words() {
    let (mut client, now) = connected_v4();
    client.emit(now, &json!({"event":"x","namespace":"/admin"}));
    let (decoded, out) = client.on_message(now, text(r#"44/admin,{"message":"not authorized"}"#));
    assert_eq!(decoded.kind(), "connect_error");
    let [Output::Failed(f)] = &out[..] else {
        panic!("{out:?}")
    };
    assert_eq!(f.then, Then::Continue);
    assert!(
        f.message
            .contains("refused namespace /admin: not authorized (1 event(s) not sent)"),
        "{}",
        f.message
    );
}

#[test]
fn binary_events_are_one_decoded_row_both_ways() {
    let (mut client, now) = connected_v4();
    let (part, _) = client.on_message(
        now,
        text(r#"451-["bin","file",{"_placeholder":true,"num":0}]"#),
    );
    assert_eq!((part.kind(), part.class), ("part", Class::Part));
    let (event, _) = client.on_message(now, WsData::Binary(vec![0, 1, 2]));
    assert_eq!(event.kind(), "event");
    assert_eq!(
        event.field("args"),
        Some(&json!(["file", {"base64":"AAEC"}]))
    );
    let out = client.emit(now, &json!({"event":"up","args":[{"base64":"AAEC"}]}));
    assert_eq!(
        sent(&out),
        vec![
            text(r#"451-["up",{"_placeholder":true,"num":0}]"#),
            WsData::Binary(vec![0, 1, 2])
        ]
    );
}

#[test]
fn v3_pings_on_its_own_and_sends_binary_with_a_type_byte() {
    let mut client = Client::new(settings(&[("eio", "3")]), true);
    let now = Instant::now();
    client.start(now);
    let (_, out) = client.on_message(
        now,
        text(r#"0{"sid":"s","pingInterval":1000,"pingTimeout":1500}"#),
    );
    // A Socket.IO 2 server joins "/" by itself: nothing to send.
    assert!(sent(&out).is_empty());
    let (_, out) = client.on_message(now, text("40"));
    assert_eq!(out, vec![Output::Ready]);
    let due = client.next_deadline().expect("ping due");
    assert_eq!(due, now + Duration::from_millis(1000));
    assert_eq!(sent(&client.on_time(due)), vec![text("2")]);
    let (pong, _) = client.on_message(due, text("3"));
    assert_eq!(pong.class, Class::KeepAlive);
    let out = client.emit(now, &json!({"event":"up","args":[{"base64":"AQ=="}]}));
    assert_eq!(sent(&out)[1], WsData::Binary(vec![4, 1]));
    // v2 auth goes in the namespace's query.
    let out = client.emit(now, &json!({"connect":"/admin","auth":{"token":"secret"}}));
    assert_eq!(sent(&out), vec![text("40/admin?token=secret,")]);
}

#[test]
fn no_open_packet_is_a_handshake_failure() {
    let mut client = Client::new(settings(&[("open_timeout_ms", "100")]), true);
    let now = Instant::now();
    client.start(now);
    let out = client.on_time(now + Duration::from_millis(100));
    let [Output::Failed(f)] = &out[..] else {
        panic!("{out:?}")
    };
    assert!(f.handshake && f.then == Then::Close, "{f:?}");
    assert!(
        f.message.contains("no Engine.IO open packet"),
        "{}",
        f.message
    );
}

#[test]
fn emits_are_checked_in_words() {
    assert!(Emit::parse(&json!({"event":"x","args":"hi"})).is_err());
    let err = Emit::parse(&json!({"event":"x","arg":[]})).expect_err("typo");
    assert!(err.contains("no field 'arg'"), "{err}");
    let err = Emit::parse(&json!({"event":"x","namespace":"/a,b"})).expect_err("comma");
    assert!(err.contains("a ',' ends a namespace"), "{err}");
    assert_eq!(
        Emit::parse(&json!({"disconnect":"admin"})),
        Ok(Emit::Disconnect {
            namespace: "/admin".into()
        })
    );
}
