//! Unit tests of the socketio codec on its spec's examples.
use super::*;

const V5: SioVersion = SioVersion::V5;
const V4: SioVersion = SioVersion::V4;

fn packet(kind: PacketType, namespace: &str, id: Option<u64>, data: Option<Value>) -> Packet {
    let attachments = 0;
    Packet {
        kind,
        namespace: namespace.into(),
        id,
        data,
        attachments,
    }
}

/// Decodes `text`, checks the packet, and checks encoding gives back exactly `text`.
fn both_ways(text: &str, version: SioVersion, expected: &Packet) {
    assert_eq!(decode_text(text, version).as_ref(), Ok(expected), "{text}");
    assert_eq!(encode_text(expected), text);
}

#[test]
fn connect_packets_from_the_v5_spec() {
    // `40` on the wire: Engine.IO message `4` carrying Socket.IO `0`.
    both_ways("0", V5, &packet(PacketType::Connect, "/", None, None));
    both_ways(
        "0/admin,",
        V5,
        &packet(PacketType::Connect, "/admin", None, None),
    );
    both_ways(
        r#"0/admin,{"token":"123"}"#,
        V5,
        &packet(
            PacketType::Connect,
            "/admin",
            None,
            Some(json!({"token": "123"})),
        ),
    );
    both_ways(
        r#"0{"sid":"wZX3oN0bSVIhsaknAAAI"}"#,
        V5,
        &packet(
            PacketType::Connect,
            "/",
            None,
            Some(json!({"sid": "wZX3oN0bSVIhsaknAAAI"})),
        ),
    );
    assert_eq!(
        encode_text(&connect("admin", Some(json!({"token": "123"})))),
        r#"0/admin,{"token":"123"}"#
    );
    assert_eq!(encode_text(&connect("/", None)), "0");
}

#[test]
fn connect_error_disconnect_and_events_from_the_v5_spec() {
    let refused = packet(
        PacketType::ConnectError,
        "/",
        None,
        Some(json!({"message": "Not authorized"})),
    );
    both_ways(r#"4{"message":"Not authorized"}"#, V5, &refused);
    both_ways("1", V5, &packet(PacketType::Disconnect, "/", None, None));
    both_ways(
        "1/admin,",
        V5,
        &packet(PacketType::Disconnect, "/admin", None, None),
    );
    assert_eq!(encode_text(&disconnect("/admin")), "1/admin,");

    let hello = packet(PacketType::Event, "/", None, Some(json!(["hello", 1])));
    both_ways(r#"2["hello",1]"#, V5, &hello);
    assert_eq!(hello.event_name().as_deref(), Some("hello"));
    assert_eq!(hello.args(), &[json!(1)]);
    assert_eq!(event("/", "hello", vec![json!(1)], None), hello);

    both_ways(
        r#"2/admin,["bar"]"#,
        V5,
        &packet(PacketType::Event, "/admin", None, Some(json!(["bar"]))),
    );
    let with_ack = packet(PacketType::Event, "/", Some(1), Some(json!(["ev"])));
    both_ways(r#"21["ev"]"#, V5, &with_ack);
    assert_eq!(with_ack.args(), &[] as &[Value]);
    both_ways(
        r#"212["foo"]"#,
        V5,
        &packet(PacketType::Event, "/", Some(12), Some(json!(["foo"]))),
    );
}

#[test]
fn acks_from_the_v5_spec() {
    let ok = packet(PacketType::Ack, "/", Some(1), Some(json!(["ok"])));
    both_ways(r#"31["ok"]"#, V5, &ok);
    assert_eq!(ok.args(), &[json!("ok")]);
    assert_eq!(ok.event_name(), None);
    assert_eq!(ack("/", 1, vec![json!("ok")]), ok);
    both_ways(
        r#"3/admin,13["bar"]"#,
        V5,
        &packet(PacketType::Ack, "/admin", Some(13), Some(json!(["bar"]))),
    );
    both_ways(
        "3/admin,456[]",
        V4,
        &packet(PacketType::Ack, "/admin", Some(456), Some(json!([]))),
    );
}

#[test]
fn binary_event_with_one_attachment() {
    // `451-["hello",{"_placeholder":true,"num":0}]` on the wire, then a binary frame.
    let text = r#"51-["hello",{"_placeholder":true,"num":0}]"#;
    let decoded = decode_text(text, V5).expect("decodes");
    assert_eq!(decoded.kind, PacketType::BinaryEvent);
    assert_eq!(decoded.attachments, 1);
    assert_eq!(encode_text(&decoded), text);

    let mut reassembler = Reassembler::default();
    assert_eq!(reassembler.feed_text(decoded.clone()), Ok(None));
    assert!(reassembler.is_waiting());
    assert_eq!(reassembler.missing(), 1);
    let complete = reassembler
        .feed_binary(vec![1, 2, 3])
        .expect("fills")
        .expect("complete");
    assert!(!reassembler.is_waiting());
    assert_eq!(complete.data, Some(json!(["hello", {"base64": "AQID"}])));
    assert_eq!(complete.event_name().as_deref(), Some("hello"));
    assert_eq!(complete.args(), &[json!({"base64": "AQID"})]);

    // And back: the same text and the same bytes.
    let (split, bytes) = split_binary(complete).expect("splits");
    assert_eq!(split, decoded);
    assert_eq!(bytes, vec![vec![1, 2, 3]]);
}

#[test]
fn binary_packets_from_the_specs_examples() {
    let two = r#"52-/admin,["baz",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#;
    let decoded = decode_text(two, V5).expect("decodes");
    assert_eq!(
        (decoded.attachments, decoded.namespace.as_str()),
        (2, "/admin")
    );
    let mut reassembler = Reassembler::default();
    assert_eq!(reassembler.feed_text(decoded), Ok(None));
    assert_eq!(reassembler.feed_binary(vec![1, 2]), Ok(None));
    let complete = reassembler
        .feed_binary(vec![3, 4])
        .expect("fills")
        .expect("complete");
    assert_eq!(
        complete.data,
        Some(json!(["baz", {"base64": "AQI="}, {"base64": "AwQ="}]))
    );

    // The v5 sample session's BINARY_ACK, and revision 4's BINARY_ACK example.
    let sample = decode_text(r#"61-/admin,1[{"_placeholder":true,"num":0}]"#, V5).expect("decodes");
    assert_eq!(
        (sample.kind, sample.id, sample.attachments),
        (PacketType::BinaryAck, Some(1), 1)
    );
    let v4 = r#"61-/admin,456[{"_placeholder":true,"num":0}]"#;
    let decoded = decode_text(v4, V4).expect("decodes");
    assert_eq!(encode_text(&decoded), v4);
    assert_eq!(reassembler.feed_text(decoded), Ok(None));
    let complete = reassembler
        .feed_binary(vec![3, 2, 1])
        .expect("fills")
        .expect("complete");
    assert_eq!(complete.args(), &[json!({"base64": "AwIB"})]);
}

#[test]
fn placeholders_nest_and_may_repeat() {
    let text = r#"51-["x",{"a":[{"_placeholder":true,"num":0}]},{"_placeholder":true,"num":0}]"#;
    let mut reassembler = Reassembler::default();
    reassembler
        .feed_text(decode_text(text, V5).expect("decodes"))
        .expect("waits");
    let complete = reassembler
        .feed_binary(vec![0xff])
        .expect("fills")
        .expect("complete");
    assert_eq!(
        complete.data,
        Some(json!(["x", {"a": [{"base64": "/w=="}]}, {"base64": "/w=="}]))
    );
}

#[test]
fn socket_io_2_error_and_connect_with_query() {
    let admin = packet(PacketType::Connect, "/admin?token=abc", None, None);
    both_ways("0/admin?token=abc,", V4, &admin);
    assert_eq!(admin.namespace_path(), "/admin");
    assert_eq!(admin.namespace_query(), Some("token=abc"));
    assert_eq!(
        encode_text(&connect("/admin?token=abc", None)),
        "0/admin?token=abc,"
    );
    let error = packet(
        PacketType::ConnectError,
        "/admin",
        None,
        Some(json!("Not authorized")),
    );
    both_ways(r#"4/admin,"Not authorized""#, V4, &error);
    assert_eq!(error.kind.name(V4), "ERROR");
    assert_eq!(error.kind.name(V5), "CONNECT_ERROR");
    both_ways(
        r#"2/admin,456["project:delete",123]"#,
        V4,
        &packet(
            PacketType::Event,
            "/admin",
            Some(456),
            Some(json!(["project:delete", 123])),
        ),
    );
    // Revision 4's CONNECT has no payload.
    assert!(matches!(
        decode_text(r#"0{"token":"1"}"#, V4),
        Err(DecodeError::BadPayload { .. })
    ));
}

#[test]
fn namespace_without_a_comma_runs_to_the_end() {
    // The reference parser reads `1/admin` like `1/admin,`.
    assert_eq!(
        decode_text("1/admin", V5),
        Ok(packet(PacketType::Disconnect, "/admin", None, None))
    );
    assert_eq!(
        decode_text("2/,[\"a\"]", V5),
        Ok(packet(PacketType::Event, "/", None, Some(json!(["a"]))))
    );
}

#[test]
fn bad_packets_are_errors_in_plain_words() {
    assert_eq!(decode_text("", V5), Err(DecodeError::Empty));
    assert_eq!(decode_text("7", V5), Err(DecodeError::UnknownType('7')));
    assert_eq!(decode_text("ü", V5), Err(DecodeError::UnknownType('ü')));
    assert_eq!(
        decode_text("7[]", V5).map_err(|e| e.to_string()),
        Err("socket.io packet type '7' is unknown".into())
    );
    assert!(matches!(
        decode_text(r#"2["a""#, V5),
        Err(DecodeError::BadJson(_))
    ));
    assert!(matches!(
        decode_text("2[1]x", V5),
        Err(DecodeError::BadJson(_))
    ));
    assert_eq!(decode_text("5[]", V5), Err(DecodeError::BadAttachments));
    assert_eq!(
        decode_text("5-[\"a\"]", V5),
        Err(DecodeError::BadAttachments)
    );
    assert_eq!(
        decode_text("51[\"a\"]", V5),
        Err(DecodeError::BadAttachments)
    );
    assert_eq!(
        decode_text("599999999999999999999999-[\"a\"]", V5),
        Err(DecodeError::TooManyAttachments(
            "599999999999999999999999"[1..].into()
        ))
    );
    assert_eq!(
        decode_text("565-[\"a\"]", V5),
        Err(DecodeError::TooManyAttachments("65".into()))
    );
    assert!(decode_text("564-[\"a\"]", V5).is_ok());
    assert_eq!(
        decode_text("218446744073709551616[\"a\"]", V5),
        Err(DecodeError::AckIdTooLarge("18446744073709551616".into()))
    );
    assert_eq!(
        decode_text("218446744073709551615[\"a\"]", V5).map(|p| p.id),
        Ok(Some(u64::MAX))
    );
    assert_eq!(
        decode_text("2", V5),
        Err(DecodeError::MissingPayload("EVENT"))
    );
    assert_eq!(
        decode_text("31", V5),
        Err(DecodeError::MissingPayload("ACK"))
    );
    for bad in [
        "2[]", "2{}", "2[null]", "3{}", "1[]", "0[]", "0\"x\"", "4[]", "4 1",
    ] {
        assert!(
            matches!(decode_text(bad, V5), Err(DecodeError::BadPayload { .. })),
            "{bad}"
        );
    }
}

#[test]
fn reassembler_refuses_what_it_cannot_place() {
    let mut reassembler = Reassembler::default();
    assert_eq!(
        reassembler.feed_binary(vec![1]),
        Err(ReassembleError::UnexpectedBinary)
    );

    // A placeholder past the attachments, or with a num that is not a small whole number.
    for text in [
        r#"51-["a",{"_placeholder":true,"num":1}]"#,
        r#"51-["a",{"_placeholder":true,"num":-1}]"#,
        r#"51-["a",{"_placeholder":true,"num":1e300}]"#,
        r#"51-["a",{"_placeholder":true,"num":"0"}]"#,
        r#"51-["a",{"_placeholder":true}]"#,
    ] {
        reassembler
            .feed_text(decode_text(text, V5).expect("decodes"))
            .expect("waits");
        assert!(
            matches!(
                reassembler.feed_binary(vec![1]),
                Err(ReassembleError::BadPlaceholder(..))
            ),
            "{text}"
        );
        assert!(!reassembler.is_waiting());
    }
    let none = decode_text(r#"50-["a",{"_placeholder":true,"num":0}]"#, V5).expect("decodes");
    assert!(matches!(
        reassembler.feed_text(none),
        Err(ReassembleError::BadPlaceholder(..))
    ));

    // More than 64 attachments on a packet built by hand.
    let mut huge = event("/", "a", vec![], None);
    huge.kind = PacketType::BinaryEvent;
    huge.attachments = MAX_ATTACHMENTS + 1;
    assert_eq!(
        reassembler.feed_text(huge),
        Err(ReassembleError::TooManyAttachments(65))
    );

    // A text packet while attachments are still due: the waiting packet is dropped, the new one handed back.
    let two = decode_text(r#"52-["a",{"_placeholder":true,"num":1}]"#, V5).expect("decodes");
    reassembler.feed_text(two).expect("waits");
    reassembler.feed_binary(vec![1]).expect("one of two");
    let next = decode_text(r#"2["b"]"#, V5).expect("decodes");
    let Err(ReassembleError::Interrupted {
        missing,
        next: back,
    }) = reassembler.feed_text(next.clone())
    else {
        panic!("expected an interruption");
    };
    assert_eq!((missing, &*back), (1, &next));
    assert_eq!(reassembler.feed_text(*back), Ok(Some(next)));
}

#[test]
fn a_placeholder_free_binary_packet_with_no_attachments_completes_at_once() {
    let text = r#"50-["a"]"#;
    let mut reassembler = Reassembler::default();
    let decoded = decode_text(text, V5).expect("decodes");
    assert_eq!(reassembler.feed_text(decoded.clone()), Ok(Some(decoded)));
}

#[test]
fn split_binary_for_sending() {
    let bytes_arg = json!({"base64": "AQIDBA=="});
    let (packet, bytes) = split_binary(event(
        "/admin",
        "upload",
        vec![json!("x"), bytes_arg],
        Some(3),
    ))
    .expect("splits");
    assert_eq!(
        encode_text(&packet),
        r#"51-/admin,3["upload","x",{"_placeholder":true,"num":0}]"#
    );
    assert_eq!(bytes, vec![vec![1, 2, 3, 4]]);

    let (packet, bytes) = split_binary(ack(
        "/",
        15,
        vec![json!("bar"), json!({"base64": "AQIDBA=="})],
    ))
    .expect("splits");
    assert_eq!(
        encode_text(&packet),
        r#"61-15["bar",{"_placeholder":true,"num":0}]"#
    );
    assert_eq!(bytes.len(), 1);

    // Nothing to take out: unchanged. An object with more keys than base64 is plain JSON.
    let plain = event("/", "e", vec![json!({"base64": "AA==", "also": 1})], None);
    assert_eq!(split_binary(plain.clone()), Ok((plain, vec![])));
    // Only events and acks carry binary.
    let auth = connect("/", Some(json!({"base64": "AA=="})));
    assert_eq!(split_binary(auth.clone()), Ok((auth, vec![])));
    // Bad base64 and too many attachments are errors.
    let bad = event("/", "e", vec![json!({"base64": "!!"})], None);
    assert!(matches!(
        split_binary(bad),
        Err(ReassembleError::BadBase64(_))
    ));
    let many = event(
        "/",
        "e",
        vec![json!({"base64": "AA=="}); MAX_ATTACHMENTS + 1],
        None,
    );
    assert_eq!(
        split_binary(many),
        Err(ReassembleError::TooManyAttachments(65))
    );
}

#[test]
fn encode_then_decode_is_the_identity() {
    let mut binary = event(
        "/chat",
        "file",
        vec![json!({"_placeholder": true, "num": 0})],
        Some(7),
    );
    binary.kind = PacketType::BinaryEvent;
    binary.attachments = 1;
    let packets = [
        connect("/", None),
        connect("/a", Some(json!({"token": "t", "n": [1, 2.5, null, true]}))),
        disconnect("/a"),
        event(
            "/",
            "é€",
            vec![json!("\u{1e}"), json!({"nested": {"deep": []}})],
            Some(0),
        ),
        event("/1", "x", vec![], Some(u64::MAX)),
        ack("/", 9, vec![]),
        packet(
            PacketType::ConnectError,
            "/x",
            None,
            Some(json!({"message": "no"})),
        ),
        packet(PacketType::ConnectError, "/", None, None),
        binary,
    ];
    for p in &packets {
        assert_eq!(
            decode_text(&encode_text(p), V5).as_ref(),
            Ok(p),
            "{}",
            encode_text(p)
        );
    }
}

#[test]
fn version_follows_engine_io() {
    use super::super::engineio::EioVersion;
    assert_eq!(SioVersion::from(EioVersion::V3), SioVersion::V4);
    assert_eq!(SioVersion::from(EioVersion::V4), SioVersion::V5);
}
