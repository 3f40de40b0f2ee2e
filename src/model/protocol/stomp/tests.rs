use super::lens::{Settings, StompLens, parse_emit};
use super::*;
use crate::model::protocol::engineio::WsData;
use crate::model::protocol::lens::{Class, Lens, Options, Output, Then};
use serde_json::json;
use std::time::{Duration, Instant};

fn frames(items: Vec<Item>) -> Vec<Frame> {
    items
        .into_iter()
        .filter_map(|i| match i {
            Item::Frame(f) => Some(f),
            Item::HeartBeat => None,
        })
        .collect()
}

#[test]
fn frames_round_trip_with_escaping_per_version() {
    let mut f = Frame::new(
        "SEND",
        &[("destination", "/queue/a"), ("note", "a:b\nc\\d\re")],
    );
    f.body = b"hello".to_vec();
    let bytes = encode(Version::V12, &f);
    assert_eq!(
        bytes,
        b"SEND\ndestination:/queue/a\nnote:a\\cb\\nc\\\\d\\re\n\nhello\0".to_vec()
    );
    let mut r = Reader::new(1 << 20);
    assert_eq!(frames(r.feed(&bytes).expect("reads")), vec![f.clone()]);
    // 1.1 does not escape CR; 1.0 escapes nothing.
    let v11 = encode(Version::V11, &f);
    assert!(v11.windows(3).any(|w| w == b"d\re"));
    // CONNECT is never escaped.
    let c = Frame::new("CONNECT", &[("login", "a:b")]);
    assert_eq!(
        encode(Version::V12, &c),
        b"CONNECT\nlogin:a:b\n\n\0".to_vec()
    );
    // An escape 1.2 does not define is refused in words.
    let err = r.feed(b"MESSAGE\nx:\\t\n\n\0").expect_err("bad escape");
    assert!(err.0.contains("\\t"), "{}", err.0);
}

#[test]
fn several_frames_heartbeats_and_split_frames() {
    let mut r = Reader::new(1 << 20);
    let items = r
        .feed(b"\nMESSAGE\ndestination:/t\n\none\0\nMESSAGE\r\ndestination:/t\r\n\r\ntwo\0\n")
        .expect("reads");
    let got = frames(items.clone());
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].body, b"one");
    assert_eq!(got[1].header("destination"), Some("/t"));
    assert_eq!(got[1].body, b"two");
    // The EOLs around frames are not heart-beats; an EOL alone is.
    assert!(!items.contains(&Item::HeartBeat));
    assert_eq!(r.feed(b"\n").expect("beat"), vec![Item::HeartBeat]);
    assert_eq!(r.feed(b"\r\n\n").expect("beats"), vec![Item::HeartBeat]);
    // A frame over two messages.
    assert!(r.feed(b"MESSAGE\ndest").expect("part").is_empty());
    assert!(r.pending() > 0);
    let rest = frames(r.feed(b"ination:/x\n\nbody\0").expect("rest"));
    assert_eq!(rest[0].header("destination"), Some("/x"));
    assert_eq!(r.pending(), 0);
}

#[test]
fn content_length_bodies_may_hold_nul() {
    let mut f = Frame::new("SEND", &[("destination", "/q")]);
    f.body = b"a\0b".to_vec();
    let bytes = encode(Version::V12, &f);
    assert!(
        bytes.windows(16).any(|w| w == b"content-length:3"),
        "{bytes:?}"
    );
    let mut r = Reader::new(1 << 20);
    let got = frames(r.feed(&bytes).expect("reads"));
    assert_eq!(got[0].body, b"a\0b");
    let err = Reader::new(1 << 20)
        .feed(b"SEND\ncontent-length:1\n\nab\0")
        .expect_err("no NUL after the length");
    assert!(err.0.contains("content-length"), "{}", err.0);
    // A content-length that is no number (stomp-broker-js sends "undefined") is read as none, and said.
    let got = frames(
        Reader::new(1 << 20)
            .feed(b"MESSAGE\ncontent-length:undefined\n\nbody\0")
            .expect("lenient"),
    );
    assert_eq!(got[0].body, b"body");
    let d = lens::decoded(&got[0]);
    assert!(
        d.value["warning"]
            .as_str()
            .is_some_and(|w| w.contains("undefined")),
        "{d:?}"
    );
}

#[test]
fn an_endless_frame_is_refused_at_the_bound() {
    let mut r = Reader::new(64);
    let err = r.feed(&[b'A'; 100]).expect_err("too long");
    assert!(err.0.contains("without its closing NUL"), "{}", err.0);
    assert_eq!(r.pending(), 0);
    assert!(r.feed(b"not a command\n\n\0").is_err());
}

#[test]
fn the_emit_form_is_checked_in_words() {
    let f = parse_emit(
        &json!({"command":"send","headers":{"destination":"/q","n":1},"body":{"base64":"AAE="}}),
    )
    .expect("emit");
    assert_eq!(f.command, "SEND");
    assert_eq!(f.header("n"), Some("1"));
    assert_eq!(f.body, vec![0, 1]);
    assert!(parse_emit(&json!({"headers":{}})).is_err());
    assert!(
        parse_emit(&json!({"command":"SEND","dest":"x"}))
            .expect_err("unknown")
            .contains("no field 'dest'")
    );
}

fn text(out: &[Output]) -> Vec<String> {
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

#[test]
fn connect_heart_beats_receipts_and_a_silent_server() {
    let mut options = Options::new();
    options.insert("login".into(), "guest".into());
    options.insert("passcode".into(), "secret".into());
    options.insert("heart-beat".into(), "1000,1000".into());
    let mut lens = StompLens::new(Settings::from_options(&options).expect("settings"), true);
    let t0 = Instant::now();
    let out = lens.start(t0);
    let sent = text(&out);
    assert!(sent[0].starts_with("CONNECT\naccept-version:1.0,1.1,1.2\nhost:/\nlogin:guest\npasscode:secret\nheart-beat:1000,1000\n\n"));
    match &out[0] {
        Output::Send {
            decoded, automatic, ..
        } => {
            assert!(*automatic);
            assert_eq!(decoded.value["headers"]["passcode"], "***");
        }
        other => panic!("{other:?}"),
    }
    let (d, out) = lens.on_message(
        t0,
        WsData::Text(
            "CONNECTED\nversion:1.2\nheart-beat:2000,500\nserver:RabbitMQ/3.10\n\n\0".into(),
        ),
    );
    assert_eq!(d.kind(), "CONNECTED");
    assert_eq!(d.class, Class::Control);
    assert_eq!(out, vec![Output::Ready]);
    assert_eq!(Lens::version(&lens), "1.2");
    assert_eq!(
        Lens::version(&StompLens::new(
            Settings::from_options(&Options::new()).expect("s"),
            true
        )),
        "1.0,1.1,1.2"
    );
    // We send every max(1000, 500) = 1000 ms; the server every max(1000, 2000) = 2000 ms.
    assert_eq!(lens.next_deadline(), Some(t0 + Duration::from_millis(1000)));
    let out = lens.on_time(t0 + Duration::from_millis(1000));
    assert_eq!(text(&out), vec!["\n".to_owned()]);
    // A subscription with a receipt, matched.
    let out = lens.emit(
        t0,
        &json!({"command":"SUBSCRIBE","headers":{"destination":"/topic/t","receipt":"r1"}}),
    );
    assert!(text(&out)[0].contains("id:sub-0\n"), "{:?}", text(&out));
    assert_eq!(lens.open_items()[0].state, "sent");
    let (d, _) = lens.on_message(
        t0 + Duration::from_millis(5),
        WsData::Text("RECEIPT\nreceipt-id:r1\n\n\0\nMESSAGE\nsubscription:sub-0\ndestination:/topic/t\nmessage-id:1\n\nhi\0".into()),
    );
    assert_eq!(d.part_count(), 2);
    assert_eq!(d.value["receipt_for"], "SUBSCRIBE");
    assert_eq!(d.more[0].kind(), "MESSAGE");
    assert_eq!(d.more[0].class, Class::Application);
    assert_eq!(d.application_count(), 1);
    assert_eq!(lens.open_items()[0].state, "subscribed");
    assert_eq!(lens.open_items()[0].received, 1);
    // Silence past twice the server's interval drops the connection, in words.
    let late = t0 + Duration::from_millis(5) + Duration::from_millis(4000);
    let out = lens.on_time(late);
    match out.as_slice() {
        [Output::Failed(f)] => {
            assert_eq!(f.then, Then::Drop);
            assert!(f.message.contains("went silent"), "{}", f.message);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_error_before_connected_names_the_brokers_words() {
    let mut lens = StompLens::new(Settings::from_options(&Options::new()).expect("s"), true);
    let t0 = Instant::now();
    lens.start(t0);
    let (d, out) = lens.on_message(
        t0,
        WsData::Text(
            "ERROR\nmessage:Bad CONNECT\ncontent-length:31\n\nAccess refused for user 'guest'\0\n"
                .into(),
        ),
    );
    assert_eq!(d.kind(), "ERROR");
    match out.as_slice() {
        [Output::Failed(f)] => {
            assert!(f.handshake);
            assert!(
                f.message
                    .contains("Bad CONNECT (Access refused for user 'guest')"),
                "{}",
                f.message
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn frames_before_a_broken_one_still_count() {
    let mut lens = StompLens::new(Settings::from_options(&Options::new()).expect("s"), true);
    let t0 = Instant::now();
    lens.start(t0);
    let (d, out) = lens.on_message(
        t0,
        WsData::Text("CONNECTED\nversion:1.2\n\n\0lowercase\n\n\0".into()),
    );
    assert_eq!(d.kind(), "CONNECTED");
    assert_eq!(d.more[0].kind(), "invalid");
    assert_eq!(out[0], Output::Ready);
    assert!(matches!(&out[1], Output::Failed(f) if f.message.contains("not a STOMP frame")));
    // A line break in a CONNECT header cannot travel: refused when the options are read.
    let mut o = Options::new();
    o.insert("login".into(), "a\nb".into());
    assert!(
        Settings::from_options(&o)
            .expect_err("refused")
            .contains("line break")
    );
    // A body with NUL is logged with the content-length it goes with.
    let out = lens.emit(
        t0,
        &json!({"command":"SEND","headers":{"destination":"/q"},"body":{"base64":"AAE="}}),
    );
    match &out[0] {
        Output::Send { decoded, .. } => assert_eq!(decoded.value["headers"]["content-length"], "2"),
        other => panic!("{other:?}"),
    }
    // A large frame in small pieces without NUL waits without being read again, and completes.
    let mut r = Reader::new(1 << 20);
    assert!(
        r.feed(b"MESSAGE\ndestination:/t\n\n")
            .expect("head")
            .is_empty()
    );
    for _ in 0..1000 {
        assert!(r.feed(&[b'x'; 100]).expect("piece").is_empty());
    }
    let got = frames(r.feed(b"\0").expect("end"));
    assert_eq!(got[0].body.len(), 100_000);
}
