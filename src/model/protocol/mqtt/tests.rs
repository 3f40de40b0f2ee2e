use super::lens::{Emit, MqttLens, Settings};
use super::*;
use crate::model::protocol::engineio::WsData;
use crate::model::protocol::lens::{Class, Lens, Options, Output, Then};
use serde_json::json;
use std::time::{Duration, Instant};

fn round_trip(version: Version, packet: Packet) {
    let bytes = encode(version, &packet);
    let mut r = Reader::new(version, 1 << 20);
    assert_eq!(r.feed(&bytes).expect("reads"), vec![packet], "{bytes:02X?}");
    assert_eq!(r.pending(), 0);
}

#[test]
fn a_311_connect_is_the_bytes_the_spec_shows() {
    let c = Packet::Connect(Connect {
        client_id: "a".into(),
        clean: true,
        keep_alive: 60,
        level: 4,
        ..Connect::default()
    });
    assert_eq!(
        encode(Version::V311, &c),
        vec![
            0x10, 13, 0, 4, b'M', b'Q', b'T', b'T', 4, 0x02, 0, 60, 0, 1, b'a'
        ]
    );
    assert_eq!(encode(Version::V311, &Packet::PingReq), vec![0xC0, 0]);
    // PUBLISH QoS 1 retain: flags 0x33.
    let p = Packet::Publish(Publish {
        topic: "a/b".into(),
        payload: b"hi".to_vec(),
        qos: 1,
        retain: true,
        packet_id: Some(7),
        ..Publish::default()
    });
    assert_eq!(
        encode(Version::V311, &p),
        vec![0x33, 9, 0, 3, b'a', b'/', b'b', 0, 7, b'h', b'i']
    );
}

#[test]
fn every_packet_round_trips_in_both_versions() {
    for v in [Version::V311, Version::V5] {
        let props = if v == Version::V5 {
            vec![
                (0x03, PropValue::Str("text/plain".into())),
                (0x26, PropValue::Pair("k".into(), "v".into())),
                (0x0B, PropValue::Var(300)),
            ]
        } else {
            Vec::new()
        };
        round_trip(
            v,
            Packet::Connect(Connect {
                client_id: "c".into(),
                clean: false,
                keep_alive: 5,
                username: Some("u".into()),
                password: Some(b"p".to_vec()),
                will: Some(Will {
                    topic: "w".into(),
                    payload: vec![0, 255],
                    qos: 1,
                    retain: true,
                    properties: props.clone(),
                }),
                properties: props.clone(),
                level: v.level(),
            }),
        );
        round_trip(
            v,
            Packet::ConnAck {
                session_present: true,
                code: 0,
                properties: props.clone(),
            },
        );
        round_trip(
            v,
            Packet::Publish(Publish {
                topic: "t".into(),
                payload: vec![1, 2, 3],
                qos: 2,
                retain: false,
                dup: true,
                packet_id: Some(65535),
                properties: props.clone(),
            }),
        );
        for kind in [
            AckKind::PubAck,
            AckKind::PubRec,
            AckKind::PubRel,
            AckKind::PubComp,
        ] {
            round_trip(
                v,
                Packet::Ack {
                    kind,
                    packet_id: 3,
                    code: 0,
                    properties: Vec::new(),
                },
            );
        }
        round_trip(
            v,
            Packet::Subscribe {
                packet_id: 1,
                filters: vec![("a/#".into(), 1), ("b/+".into(), 2)],
                properties: props.clone(),
            },
        );
        round_trip(
            v,
            Packet::SubAck {
                packet_id: 1,
                codes: vec![1, 0x80],
                properties: props.clone(),
            },
        );
        round_trip(
            v,
            Packet::Unsubscribe {
                packet_id: 2,
                filters: vec!["a/#".into()],
                properties: props.clone(),
            },
        );
        let codes = if v == Version::V5 {
            vec![0, 0x11]
        } else {
            Vec::new()
        };
        round_trip(
            v,
            Packet::UnsubAck {
                packet_id: 2,
                codes,
                properties: props.clone(),
            },
        );
        round_trip(v, Packet::PingReq);
        round_trip(v, Packet::PingResp);
        if v == Version::V5 {
            round_trip(
                v,
                Packet::Disconnect {
                    code: 0x8E,
                    properties: props.clone(),
                },
            );
            round_trip(
                v,
                Packet::Ack {
                    kind: AckKind::PubAck,
                    packet_id: 3,
                    code: 0x10,
                    properties: Vec::new(),
                },
            );
        } else {
            round_trip(
                v,
                Packet::Disconnect {
                    code: 0,
                    properties: Vec::new(),
                },
            );
        }
    }
}

#[test]
fn packets_split_across_messages_and_several_in_one() {
    let a = encode(Version::V311, &Packet::PingResp);
    let p = encode(
        Version::V311,
        &Packet::Publish(Publish {
            topic: "x".into(),
            payload: vec![7; 300],
            ..Publish::default()
        }),
    );
    let mut stream = a.clone();
    stream.extend_from_slice(&p);
    stream.extend_from_slice(&a);
    let mut r = Reader::new(Version::V311, 1 << 20);
    // Byte by byte: every packet comes out once, when complete.
    let mut got = Vec::new();
    for b in &stream {
        got.extend(r.feed(std::slice::from_ref(b)).expect("reads"));
    }
    assert_eq!(got.len(), 3);
    assert_eq!(
        Reader::new(Version::V311, 1 << 20)
            .feed(&stream)
            .expect("all")
            .len(),
        3
    );
}

#[test]
fn bad_packets_are_refused_in_words_and_bounded() {
    let mut r = Reader::new(Version::V311, 1 << 20);
    assert!(
        r.feed(&[0x00, 0])
            .expect_err("reserved")
            .0
            .contains("reserved")
    );
    assert!(
        r.feed(&[0x36, 3, 0, 1, b'a'])
            .expect_err("qos 3")
            .0
            .contains("QoS 3")
    );
    assert!(
        r.feed(&[0x80, 2, 0, 1])
            .expect_err("flags")
            .0
            .contains("flags")
    );
    assert!(r.feed(&[0xFF, 0xFF, 0xFF, 0xFF, 0xFF]).is_err());
    let mut small = Reader::new(Version::V311, 100);
    let err = small.feed(&[0x30, 0xFF, 0x01]).expect_err("too big");
    assert!(err.0.contains("larger than"), "{}", err.0);
    // Truncated fields inside a complete packet.
    assert!(
        r.feed(&[0x90, 1, 0])
            .expect_err("short")
            .0
            .contains("ends before")
    );
}

#[test]
fn topic_filters_match_as_the_spec_says() {
    assert!(topic_matches("a/#", "a/b/c"));
    assert!(topic_matches("a/#", "a"));
    assert!(topic_matches("a/+/c", "a/b/c"));
    assert!(!topic_matches("a/+", "a/b/c"));
    assert!(!topic_matches("#", "$SYS/x"));
    assert!(topic_matches("$share/g/a/+", "a/b"));
}

fn binaries(out: &[Output]) -> Vec<Packet> {
    out.iter()
        .filter_map(|o| match o {
            Output::Send {
                message: WsData::Binary(b),
                ..
            } => Reader::new(Version::V5, 1 << 20).feed(b).ok(),
            _ => None,
        })
        .flatten()
        .collect()
}

fn v5_lens() -> MqttLens {
    let mut o = Options::new();
    o.insert("version".into(), "5".into());
    o.insert("keepalive".into(), "2".into());
    o.insert("client_id".into(), "me".into());
    o.insert("username".into(), "u".into());
    o.insert("password".into(), "p".into());
    MqttLens::new(Settings::from_options(&o).expect("settings"), true)
}

#[test]
fn connect_then_the_qos_flows_both_ways_and_the_keepalive() {
    let mut lens = v5_lens();
    let t0 = Instant::now();
    let out = lens.start(t0);
    match binaries(&out).as_slice() {
        [Packet::Connect(c)] => {
            assert_eq!((c.level, c.client_id.as_str(), c.keep_alive), (5, "me", 2));
            assert_eq!(c.password.as_deref(), Some(&b"p"[..]));
        }
        other => panic!("{other:?}"),
    }
    let connack = encode(
        Version::V5,
        &Packet::ConnAck {
            session_present: false,
            code: 0,
            properties: Vec::new(),
        },
    );
    let (d, out) = lens.on_message(t0, WsData::Binary(connack));
    assert_eq!(d.kind(), "connack");
    assert_eq!(out, vec![Output::Ready]);
    // Publish at QoS 2: PUBREC is answered with PUBREL, PUBCOMP ends it.
    let out = lens.emit(t0, &json!({"publish":"a/b","payload":"x","qos":2}));
    let Packet::Publish(p) = &binaries(&out)[0] else {
        panic!()
    };
    let id = p.packet_id.expect("id");
    let rec = encode(
        Version::V5,
        &Packet::Ack {
            kind: AckKind::PubRec,
            packet_id: id,
            code: 0,
            properties: Vec::new(),
        },
    );
    let (_, out) = lens.on_message(t0, WsData::Binary(rec));
    assert_eq!(
        binaries(&out),
        vec![Packet::Ack {
            kind: AckKind::PubRel,
            packet_id: id,
            code: 0,
            properties: Vec::new()
        }]
    );
    let comp = encode(
        Version::V5,
        &Packet::Ack {
            kind: AckKind::PubComp,
            packet_id: id,
            code: 0,
            properties: Vec::new(),
        },
    );
    let (d, _) = lens.on_message(t0, WsData::Binary(comp));
    assert_eq!(d.value["topic"], "a/b");
    // A subscription, then a QoS 1 and a QoS 2 publish received in one message.
    lens.emit(t0, &json!({"subscribe":"a/#","qos":2}));
    assert!(lens.open_items()[0].state.contains("waiting"));
    let sub_id = 2;
    let mut bytes = encode(
        Version::V5,
        &Packet::SubAck {
            packet_id: sub_id,
            codes: vec![2],
            properties: Vec::new(),
        },
    );
    for (qos, pid) in [(1, 10), (2, 11)] {
        bytes.extend(encode(
            Version::V5,
            &Packet::Publish(Publish {
                topic: "a/c".into(),
                payload: b"m".to_vec(),
                qos,
                packet_id: Some(pid),
                ..Publish::default()
            }),
        ));
    }
    let (d, out) = lens.on_message(t0, WsData::Binary(bytes));
    assert_eq!(d.part_count(), 3);
    assert_eq!(d.application_count(), 2);
    assert_eq!(d.more[0].class, Class::Application);
    assert_eq!(lens.open_items()[0].state, "granted QoS 2");
    assert_eq!(lens.open_items()[0].received, 2);
    let acks = binaries(&out);
    assert_eq!(
        acks[0],
        Packet::Ack {
            kind: AckKind::PubAck,
            packet_id: 10,
            code: 0,
            properties: Vec::new()
        }
    );
    assert_eq!(
        acks[1],
        Packet::Ack {
            kind: AckKind::PubRec,
            packet_id: 11,
            code: 0,
            properties: Vec::new()
        }
    );
    let rel = encode(
        Version::V5,
        &Packet::Ack {
            kind: AckKind::PubRel,
            packet_id: 11,
            code: 0,
            properties: Vec::new(),
        },
    );
    let (_, out) = lens.on_message(t0, WsData::Binary(rel));
    assert_eq!(
        binaries(&out),
        vec![Packet::Ack {
            kind: AckKind::PubComp,
            packet_id: 11,
            code: 0,
            properties: Vec::new()
        }]
    );
    // PINGREQ every keep-alive; an unanswered one drops the connection.
    assert_eq!(lens.next_deadline(), Some(t0 + Duration::from_secs(2)));
    let out = lens.on_time(t0 + Duration::from_secs(2));
    assert_eq!(binaries(&out), vec![Packet::PingReq]);
    let out = lens.on_time(t0 + Duration::from_secs(4));
    match out.as_slice() {
        [Output::Failed(f)] => {
            assert_eq!(f.then, Then::Drop);
            assert!(f.message.contains("PINGREQ"), "{}", f.message);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_refused_connack_says_why() {
    let mut o = Options::new();
    o.insert("username".into(), "guest".into());
    o.insert("password".into(), "wrong".into());
    let mut lens = MqttLens::new(Settings::from_options(&o).expect("s"), true);
    let t0 = Instant::now();
    lens.start(t0);
    let (d, out) = lens.on_message(t0, WsData::Binary(vec![0x20, 2, 0, 4]));
    assert_eq!(d.value["reason"], "bad user name or password");
    match out.as_slice() {
        [Output::Failed(f)] => {
            assert!(f.handshake);
            assert!(
                f.message.contains("bad user name or password"),
                "{}",
                f.message
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn emits_and_options_are_checked_in_words() {
    assert!(
        matches!(Emit::parse(&json!({"publish":"a","payload_base64":"AAE="})), Ok(Emit::Publish(p)) if p.payload == vec![0, 1])
    );
    assert!(
        Emit::parse(&json!({"publish":"a/#"}))
            .expect_err("wildcard")
            .contains("subscriptions")
    );
    assert!(Emit::parse(&json!({"subscribe":"a","qos":3})).is_err());
    assert!(
        Emit::parse(&json!({"topic":"a"}))
            .expect_err("field")
            .contains("no field 'topic'")
    );
    let mut o = Options::new();
    o.insert("version".into(), "4.0".into());
    assert!(
        Settings::from_options(&o)
            .expect_err("v")
            .contains("3.1.1 or 5")
    );
    o.clear();
    o.insert("clean".into(), "maybe".into());
    assert!(Settings::from_options(&o).is_err());
}

#[test]
fn properties_take_their_own_wire_type_and_3_1_1_refusals_read_right() {
    assert_eq!(property_value(0x23, &json!(7)), Ok(PropValue::Two(7)));
    assert_eq!(property_value(0x01, &json!(1)), Ok(PropValue::Byte(1)));
    assert_eq!(property_value(0x0B, &json!(300)), Ok(PropValue::Var(300)));
    assert!(property_value(0x01, &json!(300)).is_err());
    assert!(
        matches!(Emit::parse(&json!({"publish":"a","properties":{"topic_alias":3}})), Ok(Emit::Publish(p)) if p.properties == vec![(0x23, PropValue::Two(3))])
    );
    assert!(
        Emit::parse(&json!({"publish":"a","properties":{"subscription_identifier":3}}))
            .expect_err("server's")
            .contains("not one a client")
    );
    // A 3.1.1 broker answers a v5 CONNECT with return code 1.
    assert_eq!(
        connack_words(Version::V5, 1),
        "unacceptable protocol version"
    );
    assert_eq!(
        connack_words(Version::V5, 0x86),
        "bad user name or password"
    );
    let mut o = Options::new();
    o.insert("password".into(), "p".into());
    assert!(
        Settings::from_options(&o)
            .expect_err("no user")
            .contains("user name")
    );
    // Properties on a 3.1.1 connection are refused, not silently dropped.
    let mut lens = MqttLens::new(Settings::from_options(&Options::new()).expect("s"), true);
    let out = lens.emit(
        Instant::now(),
        &json!({"publish":"a","properties":{"content_type":"x"}}),
    );
    assert!(matches!(out.as_slice(), [Output::Failed(f)] if f.message.contains("MQTT 5")));
    // The packets before a malformed one are kept.
    let mut bytes = encode(
        Version::V311,
        &Packet::ConnAck {
            session_present: false,
            code: 0,
            properties: Vec::new(),
        },
    );
    bytes.extend([0x00, 0x00]);
    let (d, out) = lens.on_message(Instant::now(), WsData::Binary(bytes));
    assert_eq!(d.kind(), "connack");
    assert_eq!(out[0], Output::Ready);
}
