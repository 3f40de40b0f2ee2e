use super::lens::{Emit, Settings, SignalrLens};
use super::*;
use crate::model::protocol::engineio::WsData;
use crate::model::protocol::lens::{Class, Lens, Options, Output, Then};
use std::time::{Duration, Instant};

fn sent_text(out: &[Output]) -> Vec<String> {
    out.iter()
        .filter_map(|o| match o {
            Output::Send {
                message: WsData::Text(t),
                ..
            } => Some(t.clone()),
            _ => None,
        })
        .collect()
}

fn lens(options: &[(&str, &str)]) -> SignalrLens {
    let o: Options = options
        .iter()
        .map(|(k, v)| ((*k).into(), (*v).into()))
        .collect();
    SignalrLens::new(Settings::from_options(&o).expect("settings"), true)
}

#[test]
fn the_handshake_then_invocations_matched_to_their_completions() {
    let mut l = lens(&[("keepalive_ms", "1000"), ("server_timeout_ms", "3000")]);
    let t0 = Instant::now();
    assert_eq!(
        sent_text(&l.start(t0)),
        vec!["{\"protocol\":\"json\",\"version\":1}\u{1e}".to_owned()]
    );
    let (d, out) = l.on_message(t0, WsData::Text("{}\u{1e}".into()));
    assert_eq!(d.kind(), "handshake");
    assert_eq!(out, vec![Output::Ready]);
    let out = l.emit(t0, &json!({"invoke":"Echo","args":["hi", 1]}));
    let sent = sent_text(&out);
    let record: Value = serde_json::from_str(sent[0].trim_end_matches('\u{1e}')).expect("json");
    assert_eq!(
        record,
        json!({"type":1,"invocationId":"0","target":"Echo","arguments":["hi",1]})
    );
    l.emit(t0, &json!({"stream":"Counter","args":[2]}));
    assert_eq!(l.open_items().len(), 2);
    // Several records in one message: each its own part; a record split over two messages waits.
    let (d, _) = l.on_message(
        t0 + Duration::from_millis(3),
        WsData::Text("{\"type\":3,\"invocationId\":\"0\",\"result\":\"hi\"}\u{1e}{\"type\":2,\"invocationId\":\"1\",\"item\":0}\u{1e}{\"type\":2,".into()),
    );
    assert_eq!(d.part_count(), 2);
    assert_eq!(d.value["type"], "completion");
    assert_eq!(d.value["target"], "Echo");
    assert_eq!(d.value["rtt_ms"], 3.0);
    assert_eq!(d.more[0].value["item"], 0);
    assert_eq!(d.application_count(), 2);
    let (d, _) = l.on_message(
        t0,
        WsData::Text(
            "\"invocationId\":\"1\",\"item\":1}\u{1e}{\"type\":3,\"invocationId\":\"1\"}\u{1e}"
                .into(),
        ),
    );
    assert_eq!(d.value["item"], 1);
    assert_eq!(d.more[0].value["items"], 2);
    assert!(l.open_items().is_empty());
    // A ping every keep-alive; silence past the server timeout drops the connection.
    let out = l.on_time(t0 + Duration::from_millis(1000));
    assert_eq!(sent_text(&out), vec!["{\"type\":6}\u{1e}".to_owned()]);
    match l.on_time(t0 + Duration::from_millis(3000)).as_slice() {
        [Output::Failed(f)] => {
            assert_eq!(f.then, Then::Drop);
            assert!(f.message.contains("went silent"), "{}", f.message);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_refused_handshake_and_a_close_are_said_in_words() {
    let mut l = lens(&[]);
    let t0 = Instant::now();
    l.start(t0);
    let (_, out) = l.on_message(
        t0,
        WsData::Text("{\"error\":\"Requested protocol 'json' is not available.\"}\u{1e}".into()),
    );
    match out.as_slice() {
        [Output::Failed(f)] => {
            assert!(f.handshake);
            assert!(f.message.contains("not available"), "{}", f.message);
        }
        other => panic!("{other:?}"),
    }
    let mut l = lens(&[]);
    l.start(t0);
    l.on_message(t0, WsData::Text("{}\u{1e}".into()));
    let (d, out) = l.on_message(
        t0,
        WsData::Text("{\"type\":7,\"error\":\"boom\",\"allowReconnect\":true}\u{1e}".into()),
    );
    assert_eq!(d.class, Class::Control);
    assert!(
        matches!(out.as_slice(), [Output::Failed(f)] if f.message.contains("boom") && f.message.contains("reconnect"))
    );
}

#[test]
fn messagepack_messages_decode_and_encode() {
    // [1, {}, "7", "Echo", ["hi"], []] with its length prefix, as the MessagePack hub protocol writes it.
    let record = json!({"type":1,"invocationId":"7","target":"Echo","arguments":["hi"]});
    let bytes = write_msgpack(&record);
    assert_eq!(bytes[0] as usize, bytes.len() - 1);
    let mut two = bytes.clone();
    two.extend(write_msgpack(&json!({"type":6})));
    let got = read_msgpack(&two).expect("reads");
    assert_eq!(got.len(), 2);
    assert_eq!(got[0]["target"], "Echo");
    assert_eq!(got[0]["args"], json!(["hi"]));
    assert_eq!(got[1]["type"], "ping");
    // A completion with a result: [3, {}, "7", 3, 42].
    let mut body = Vec::new();
    crate::model::protocol::msgpack::write(&json!([3, {}, "7", 3, 42]), &mut body);
    let mut framed = vec![body.len() as u8];
    framed.extend(body);
    assert_eq!(read_msgpack(&framed).expect("c")[0]["result"], 42);
    assert!(read_msgpack(&[5, 0x93]).is_err());
}

#[test]
fn emits_are_checked_in_words() {
    assert!(
        matches!(Emit::parse(&json!({"send":"Notify","args":"x"})), Ok(Emit::Send { args, .. }) if args == vec![json!("x")])
    );
    assert!(
        Emit::parse(&json!({"call":"x"}))
            .expect_err("field")
            .contains("no field 'call'")
    );
    assert!(Emit::parse(&json!({"args":[]})).is_err());
    assert!(fields_of_json(&json!({"type":1})).is_err());
    assert!(fields_of_json(&json!({"type":42})).is_err());
}

#[test]
fn negotiate_answers_are_read_in_words() {
    assert_eq!(
        negotiate_url("wss://h/chathub?access_token=a"),
        "wss://h/chathub/negotiate?negotiateVersion=1&access_token=a"
    );
    let ok = br#"{"negotiateVersion":1,"connectionId":"c","connectionToken":"t/1","availableTransports":[{"transport":"WebSockets","transferFormats":["Text","Binary"]}]}"#;
    assert_eq!(
        read_negotiate("ws://h/hub", 200, ok),
        Ok(Negotiated::Connect {
            url: "ws://h/hub?id=t%2F1".into(),
            connection_id: "t/1".into()
        })
    );
    assert!(matches!(
        read_negotiate("ws://h/hub", 200, br#"{"url":"https://x/client/?hub=a","accessToken":"k"}"#),
        Ok(Negotiated::Redirect { access_token: Some(t), .. }) if t == "k"
    ));
    assert!(
        read_negotiate("ws://h/hub", 200, br#"{"error":"nope"}"#)
            .expect_err("e")
            .contains("nope")
    );
    assert!(
        read_negotiate("ws://h/hub", 401, b"Unauthorized")
            .expect_err("e")
            .contains("401")
    );
    let lp = br#"{"connectionId":"c","availableTransports":[{"transport":"LongPolling"}]}"#;
    assert!(
        read_negotiate("ws://h/hub", 200, lp)
            .expect_err("e")
            .contains("WebSockets")
    );
}

#[test]
fn messagepack_after_the_handshake_reply_in_one_frame_and_binary_in_json_mode() {
    let mut l = lens(&[
        ("hub_protocol", "messagepack"),
        ("keepalive_ms", "0"),
        ("server_timeout_ms", "0"),
    ]);
    let t0 = Instant::now();
    l.start(t0);
    let mut frame = b"{}\x1e".to_vec();
    frame.extend(write_msgpack(
        &json!({"type":1,"target":"welcome","arguments":[30]}),
    ));
    let (d, out) = l.on_message(t0, WsData::Binary(frame));
    assert_eq!(out, vec![Output::Ready]);
    assert_eq!(d.kind(), "handshake");
    assert_eq!(d.more[0].value["target"], "welcome");
    assert_eq!(d.more[0].value["args"], json!([30]));
    // 0 is off: no pings, no server timeout.
    assert_eq!(l.next_deadline(), None);
    let mut j = lens(&[]);
    j.start(t0);
    j.on_message(t0, WsData::Text("{}\u{1e}".into()));
    let (d, out) = j.on_message(t0, WsData::Binary(vec![0x01, 0x91]));
    assert_eq!(d.class, Class::Invalid);
    assert!(
        matches!(out.as_slice(), [Output::Failed(f)] if f.message.contains("JSON hub protocol sends text"))
    );
    // A nil result is a result.
    let mut body = Vec::new();
    crate::model::protocol::msgpack::write(&json!([3, {}, "7", 3, null]), &mut body);
    let mut framed = vec![body.len() as u8];
    framed.extend(body);
    assert_eq!(
        read_msgpack(&framed).expect("c")[0].get("result"),
        Some(&Value::Null)
    );
}
