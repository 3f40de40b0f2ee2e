//! `--decode` / `--encode` against independent codec libraries in node (tests/peers/node_codec_peer.js):
//! msgpackr for MessagePack, node-cbor (npm `cbor`) for CBOR, protobufjs (loading the same .proto files at run time) for
//! Protobuf. The peer sends samples its library encoded, which sockscope must decode to the expected JSON; it
//! decodes what sockscope encoded and answers with the JSON its library read.

use super::{Runtime, start_peer_with};
use crate::servers::cli_async;
use serde_json::{Value, json};
use std::path::PathBuf;

fn proto_dir() -> PathBuf {
    super::peers_dir().join("proto")
}

fn peer(test: &str) -> Option<super::Peer> {
    start_peer_with(
        test,
        Runtime::Node,
        "node_codec_peer.js",
        &[
            "-e",
            "require('msgpackr'); require('cbor'); require('protobufjs')",
        ],
        &[proto_dir().as_os_str()],
    )
}

fn events(out: &std::process::Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

fn received(events: &[Value]) -> Vec<&Value> {
    events
        .iter()
        .filter(|e| {
            e["event"] == "message"
                && e["direction"] == "received"
                && (e["kind"] == "binary" || e["kind"] == "text")
        })
        .collect()
}

/// What the peer's library read of our message: its text answer, as JSON.
fn peer_read(events: &[Value]) -> Value {
    let answer = received(events)
        .into_iter()
        .find(|e| e["kind"] == "text")
        .expect("the peer's answer");
    serde_json::from_str(answer["text"].as_str().expect("text")).expect("JSON")
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

fn proto_flags() -> Vec<String> {
    let feed = proto_dir().join("feed.proto");
    vec![
        "--proto-file".into(),
        feed.display().to_string(),
        "--proto-message".into(),
        "feed.Tick".into(),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messagepack_from_msgpackr_and_back() {
    let Some(peer) = peer("messagepack_from_msgpackr_and_back") else {
        return;
    };
    let url = format!("ws://127.0.0.1:{}/msgpack", peer.port);
    let out = cli_async(args(&[
        "connect", &url, "--decode", "msgpack", "--json", "--count", "5",
    ]))
    .await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let all = events(&out);
    let decoded: Vec<&Value> = received(&all).iter().map(|e| &e["decoded"]).collect();
    assert_eq!(
        decoded,
        vec![
            &json!({"name": "ACME", "price": 1.5, "sizes": [1, 2, 300], "ok": true, "none": null}),
            &json!({"big": "18446744073709551615", "small": "-9007199254740993", "safe": 1_099_511_627_776.0}),
            &json!({"raw": {"base64": "AAH+/w=="}}),
            &json!({"at": {"ext": -1, "base64": "O5rKAGsRPaA=", "timestamp": "2026-12-03T10:00:00.250Z"}}),
            &json!({"mine": {"ext": 5, "base64": "AQID"}}),
        ]
    );
    // What sockscope encodes, msgpackr reads as meant (a big integer, bytes, an extension value).
    let sent = json!({"a": [1, -1, 1.5, null, true], "big": "18446744073709551615",
        "raw": {"base64": "AP8="}, "mine": {"ext": 5, "base64": "AQID"}, "nested": {"deep": [[{}]]}});
    let out = cli_async(args(&[
        "connect",
        &url,
        "--encode",
        "msgpack",
        "--decode",
        "msgpack",
        "--json",
        "--send",
        &sent.to_string(),
        "--count",
        "6",
    ]))
    .await;
    let all = events(&out);
    let read = peer_read(&all);
    assert_eq!(read, sent);
    // The sent binary message's event carries its decoded form too.
    let ours = all
        .iter()
        .find(|e| e["event"] == "message" && e["direction"] == "sent" && e["kind"] == "binary")
        .expect("our message");
    assert_eq!(ours["decoded"], sent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cbor_from_node_cbor_and_back() {
    let Some(peer) = peer("cbor_from_node_cbor_and_back") else {
        return;
    };
    let url = format!("ws://127.0.0.1:{}/cbor", peer.port);
    let out = cli_async(args(&[
        "connect", &url, "--decode", "cbor", "--json", "--count", "5",
    ]))
    .await;
    let all = events(&out);
    let decoded: Vec<&Value> = received(&all).iter().map(|e| &e["decoded"]).collect();
    assert_eq!(
        decoded,
        vec![
            &json!({"name": "ACME", "price": 1.5, "sizes": [1, 2, 300], "ok": true, "none": null}),
            &json!({"big": "18446744073709551615", "neg": "-18446744073709551616"}),
            &json!({"raw": {"base64": "AAH+/w=="}}),
            &json!({"tag": 1, "value": 1363896240}),
            &json!({"tag": 0, "value": "2013-03-21T20:04:00Z"}),
        ]
    );
    // node-cbor reads our tag 1 (epoch seconds) as a date, our bignum as a BigInt, our bytes as bytes.
    let sent = json!({"t": {"tag": 1, "value": 1363896240}, "big": "-18446744073709551617",
        "raw": {"base64": "AP8="}, "f": {"float": "Infinity"}});
    let out = cli_async(args(&[
        "connect",
        &url,
        "--encode",
        "cbor",
        "--json",
        "--send",
        &sent.to_string(),
        "--count",
        "6",
    ]))
    .await;
    let all = events(&out);
    let read = peer_read(&all);
    assert_eq!(read["t"], "2013-03-21T20:04:00.000Z");
    assert_eq!(read["big"], "-18446744073709551617");
    assert_eq!(read["raw"], json!({"base64": "AP8="}));
    assert_eq!(
        read["f"],
        Value::Null,
        "JSON.stringify(Infinity) is null: node-cbor read an infinity"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protobuf_from_protobufjs_with_unknown_fields_and_back() {
    let Some(peer) = peer("protobuf_from_protobufjs_with_unknown_fields_and_back") else {
        return;
    };
    let url = format!("ws://127.0.0.1:{}/protobuf", peer.port);
    let mut list = args(&[
        "connect", &url, "--decode", "protobuf", "--json", "--count", "2",
    ]);
    list.extend(proto_flags());
    let out = cli_async(list).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let all = events(&out);
    let decoded: Vec<&Value> = received(&all).iter().map(|e| &e["decoded"]).collect();
    assert_eq!(
        decoded,
        vec![
            // Imports, a map of messages, packed repeated int32, a oneof, a Timestamp, bytes, an int64 as a string.
            &json!({"symbol": "ACME", "price": "9007199254740993", "sizes": [1, 2, 300],
                "points": {"a": {"x": 1, "y": -2}}, "ask": true, "at": "2026-12-03T10:00:00Z", "raw": "AP8="}),
            // A newer sender's fields 9 and 10, unknown to feed.Tick, by number.
            &json!({"symbol": "NEW", "#9": 7, "#10": {"base64": "aGk="}}),
        ]
    );
    let sent = json!({"symbol": "X", "price": "12345678901234567", "sizes": [5, 6], "bid": true,
        "points": {"p": {"x": 3}}});
    let mut list = args(&[
        "connect",
        &url,
        "--encode",
        "protobuf",
        "--json",
        "--send",
        &sent.to_string(),
        "--count",
        "3",
    ]);
    list.extend(proto_flags());
    let out = cli_async(list).await;
    let all = events(&out);
    let read = peer_read(&all);
    assert_eq!(read, sent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_cannot_be_encoded_or_decoded_is_said_before_or_as_it_happens() {
    let Some(peer) = peer("what_cannot_be_encoded_or_decoded_is_said_before_or_as_it_happens")
    else {
        return;
    };
    let url = format!("ws://127.0.0.1:{}/protobuf", peer.port);
    // A word for an int32: a usage error, nothing sent (exit 2).
    let mut list = args(&[
        "connect",
        &url,
        "--encode",
        "protobuf",
        "--send",
        r#"{"sizes":["seven"]}"#,
    ]);
    list.extend(proto_flags());
    let out = cli_async(list).await;
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot be encoded as Protobuf") && stderr.contains("feed.Tick"),
        "{stderr}"
    );
    // An unknown message type names the ones there are.
    let out = cli_async(args(&[
        "connect",
        &url,
        "--decode",
        "protobuf",
        "--proto-file",
        &proto_dir().join("feed.proto").display().to_string(),
        "--proto-message",
        "feed.Nope",
    ]))
    .await;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("feed.TickV2"));
    // Protobuf bytes read as MessagePack: a decode_error with the offset, the payload still there.
    let mut list = args(&[
        "connect", &url, "--decode", "msgpack", "--json", "--count", "1",
    ]);
    list.extend(proto_flags());
    let out = cli_async(list).await;
    let all = events(&out);
    let first = received(&all)[0];
    let error = first["decode_error"].as_str().expect("decode_error");
    assert!(error.starts_with("at byte "), "{error}");
    assert!(first["base64"].is_string(), "the payload stays");
}

/// A session whose steps send JSON encoded with its codec and whose expectations read the binary replies
/// decoded, run by `sockscope run` against the peer answering in kind (`?reply=binary`). `.proto` files are
/// found next to the session file.
fn codec_session(dir: &std::path::Path, url: &str, codec: &str, steps: &str) -> PathBuf {
    let path = dir.join("codec.ron");
    let text = format!(
        r#"Session(
  name: "codec",
  endpoint: Endpoint(url: "{url}", codec: CodecSetting(kind: "{codec}", proto_files: ["feed.proto"],
    proto_message: "feed.Tick")),
  collection: [{steps}],
)"#
    );
    std::fs::write(&path, text).expect("session written");
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_run_encodes_its_steps_and_expects_on_decoded_replies() {
    let Some(peer) = peer("a_session_run_encodes_its_steps_and_expects_on_decoded_replies") else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    for name in ["feed.proto", "common.proto"] {
        std::fs::copy(proto_dir().join(name), dir.path().join(name)).expect("proto copied");
    }
    let run = |path: PathBuf| {
        cli_async(vec![
            "run".into(),
            path.display().to_string(),
            "--json".into(),
        ])
    };
    // MessagePack: msgpackr reads our {{counter}}-templated JSON, adds a key, and packs it again.
    let url = format!("ws://127.0.0.1:{}/msgpack?reply=binary", peer.port);
    let steps = r#"
    Step(Step(name: "subscribe", payload: Encoded("{\"op\":\"sub\",\"id\":{{counter}},\"big\":\"18446744073709551615\"}"),
      expect: [
        Expectation(matcher: JsonSubset("{\"op\":\"sub\",\"seen_by\":\"msgpackr\",\"big\":\"18446744073709551615\"}")),
        Expectation(matcher: JsonPath(path: "$.id", equals: "1")),
      ])),
    Step(Step(name: "again", payload: Encoded("{\"op\":\"sub\",\"id\":{{counter}}}"),
      expect: [Expectation(matcher: Equals("{\"id\":2,\"op\":\"sub\",\"seen_by\":\"msgpackr\"}"))])),
"#;
    let out = run(codec_session(dir.path(), &url, "msgpack", steps)).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Its NDJSON carries the decoded replies, as `connect --decode` does.
    let all = events(&out);
    let replies: Vec<&Value> = received(&all)
        .into_iter()
        .filter(|e| e["kind"] == "binary")
        .collect();
    assert!(
        replies
            .iter()
            .any(|e| e["decoded"] == json!({"op": "sub", "id": 2, "seen_by": "msgpackr"})),
        "{replies:#?}"
    );
    // An expectation that the decoded reply does not meet fails, and the report shows the reply as JSON.
    let steps = r#"
    Step(Step(name: "wrong", payload: Encoded("{\"op\":\"sub\"}"),
      expect: [Expectation(matcher: JsonSubset("{\"seen_by\":\"someone else\"}"), timeout_ms: 1500)])),
"#;
    let out = run(codec_session(dir.path(), &url, "msgpack", steps)).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains(r#"\"seen_by\":\"msgpackr\""#), "{stdout}");
    // Protobuf, with the .proto file next to the session: protobufjs rewrites the symbol.
    let url = format!("ws://127.0.0.1:{}/protobuf?reply=binary", peer.port);
    let steps = r#"
    Step(Step(name: "tick", payload: Encoded("{\"symbol\":\"ACME\",\"price\":\"9007199254740993\",\"sizes\":[1,2]}"),
      expect: [Expectation(matcher: JsonSubset("{\"symbol\":\"seen:ACME\",\"price\":\"9007199254740993\",\"sizes\":[1,2]}"))])),
"#;
    let out = run(codec_session(dir.path(), &url, "protobuf", steps)).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // A value the type cannot hold fails the step before anything is sent.
    let steps = r#"
    Step(Step(name: "bad", payload: Encoded("{\"sizes\":[\"seven\"]}"))),
"#;
    let out = run(codec_session(dir.path(), &url, "protobuf", steps)).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("cannot be encoded as Protobuf feed.Tick"),
        "{stdout}"
    );
}
