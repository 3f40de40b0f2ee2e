//! STOMP and MQTT against brokers nobody here wrote: RabbitMQ's web-STOMP (STOMP 1.2) and web-MQTT (MQTT 3.1.1)
//! plugins, which `scripts/test.sh` starts once per run (`scripts/rabbitmq.sh`) and names in
//! `SOCKSCOPE_RABBITMQ_STOMP` / `SOCKSCOPE_RABBITMQ_MQTT`; the node `aedes` broker (MQTT 3.1.1); a small MQTT 5
//! broker on npm `mqtt-packet` (MQTT.js's codec), so an independent decoder reads every v5 packet sockscope
//! sends and an independent encoder writes every one it reads; and `stomp-broker-js` (STOMP 1.1). All through
//! `sockscope connect --protocol …`, as a user runs it.

use super::{Peer, Runtime, connect, protocol_error, start_peer};
use serde_json::{Value, json};

/// A RabbitMQ listener's URL, or None (after recording the skip) when the run started none.
pub(crate) fn rabbitmq(test: &str, which: &str) -> Option<String> {
    let var = format!("SOCKSCOPE_RABBITMQ_{which}");
    match std::env::var(&var) {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            crate::skips::skip(
                test,
                &format!(
                    "{var} is not set (scripts/test.sh starts RabbitMQ with scripts/rabbitmq.sh and sets it)"
                ),
            );
            None
        }
    }
}

fn node_peer(test: &str, script: &str, module: &str) -> Option<Peer> {
    let probe = format!("require('{module}')");
    start_peer(test, Runtime::Node, script, &["-e", &probe])
}

/// The decoded protocol messages of one direction, in order (one per part).
fn decoded<'a>(events: &'a [Value], direction: &str) -> Vec<&'a Value> {
    events
        .iter()
        .filter(|e| e["event"] == "message" && e["direction"] == direction)
        .filter_map(|e| e.get("protocol"))
        .collect()
}

fn of_type<'a>(messages: &[&'a Value], kind: &str) -> Vec<&'a Value> {
    messages
        .iter()
        .copied()
        .filter(|m| m["type"] == kind)
        .collect()
}

fn errors(events: &[Value]) -> Vec<&Value> {
    events.iter().filter(|e| e["event"] == "error").collect()
}

/// STOMP 1.2 against RabbitMQ: CONNECT with login, a subscription whose receipt is matched, a SEND whose body
/// holds NUL (content-length), the MESSAGE back, heart-beats at 1 s both ways kept up for 5 s, DISCONNECT (with
/// a receipt asked for); then a wrong passcode refused with RabbitMQ's words.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stomp_against_rabbitmq_web_stomp() {
    let Some(url) = rabbitmq("stomp_against_rabbitmq_web_stomp", "STOMP") else {
        return;
    };
    let (events, code, stderr) = connect(
        &url,
        &[
            "--protocol",
            "stomp",
            "--protocol-option",
            "login=guest",
            "--protocol-option",
            "passcode=guest",
            "--protocol-option",
            "heart-beat=1000,1000",
            "--emit",
            r#"{"command":"SUBSCRIBE","headers":{"destination":"/topic/sockscope","receipt":"sub-receipt"}}"#,
            "--emit",
            r#"{"command":"SEND","headers":{"destination":"/topic/sockscope","content-type":"application/octet-stream"},"body":{"base64":"AGhpAA=="}}"#,
            "--emit",
            r#"{"command":"SEND","headers":{"destination":"/topic/sockscope"},"body":"plain text"}"#,
            "--wait",
            "5.5",
        ],
    )
    .await;
    assert_eq!(code, Some(0), "stderr: {stderr}\n{events:#?}");
    assert!(errors(&events).is_empty(), "{:#?}", errors(&events));
    assert_eq!(
        events[1],
        json!({"event":"protocol","name":"stomp","version":"1.0,1.1,1.2","reason":"chosen"})
    );
    let received = decoded(&events, "received");
    let connected = of_type(&received, "CONNECTED");
    assert_eq!(connected[0]["headers"]["version"], "1.2");
    assert!(
        connected[0]["headers"]["server"]
            .as_str()
            .is_some_and(|s| s.starts_with("RabbitMQ")),
        "{connected:?}"
    );
    let receipt = of_type(&received, "RECEIPT");
    assert_eq!(receipt[0]["receipt_for"], "SUBSCRIBE");
    assert_eq!(receipt[0]["headers"]["receipt-id"], "sub-receipt");
    let messages = of_type(&received, "MESSAGE");
    assert_eq!(messages.len(), 2, "{messages:?}");
    assert_eq!(messages[0]["body"], json!({"base64":"AGhpAA=="}));
    assert_eq!(messages[0]["headers"]["content-length"], "4");
    assert_eq!(messages[1]["body"], "plain text");
    assert_eq!(messages[1]["headers"]["subscription"], "sub-0");
    // Heart-beats at the negotiated 1 s, both ways, for the 5.5 s the connection stayed.
    let beats_in = of_type(&received, "heartbeat").len();
    let beats_out = of_type(&decoded(&events, "sent"), "heartbeat").len();
    assert!(beats_in >= 3, "{beats_in} heart-beats from RabbitMQ");
    assert!(beats_out >= 4, "{beats_out} heart-beats sent");
    let closed = events.last().expect("closed");
    assert_eq!(closed["event"], "closed");
    assert_eq!(closed["initiated_by"], "client");

    // DISCONNECT asks for a receipt, which RabbitMQ gives.
    let (events, code, _) = connect(
        &url,
        &[
            "--protocol",
            "stomp",
            "--emit",
            r#"{"command":"DISCONNECT"}"#,
            "--wait",
            "2",
        ],
    )
    .await;
    assert_eq!(code, Some(0), "{events:#?}");
    let sent = decoded(&events, "sent");
    assert!(
        of_type(&sent, "DISCONNECT")[0]["headers"]["receipt"].is_string(),
        "{sent:#?}"
    );
    // RabbitMQ 3.10's web-STOMP closes at once (1000, "STOMP died") instead of sending the RECEIPT.
    assert!(errors(&events).is_empty(), "{:#?}", errors(&events));
    let closed = events.last().expect("closed");
    assert_eq!(
        (&closed["initiated_by"], &closed["code"]),
        (&json!("server"), &json!(1000))
    );

    // A wrong passcode: the handshake failed (exit 3), with RabbitMQ's own words.
    let (events, code, _) = connect(
        &url,
        &[
            "--protocol",
            "stomp",
            "--protocol-option",
            "login=guest",
            "--protocol-option",
            "passcode=wrong",
            "--wait",
            "3",
        ],
    )
    .await;
    assert_eq!(code, Some(3), "{events:#?}");
    let message = protocol_error(&events);
    assert!(
        message.contains("refused the connection") && message.contains("ccess refused"),
        "{message}"
    );
}

/// MQTT 3.1.1 against RabbitMQ: CONNECT with a user name, a subscription granted QoS 1, publishes at QoS 0 and
/// 1 (and 2, which RabbitMQ acknowledges as QoS 1, said in words), the messages back with their PUBACKs,
/// PINGREQ every second answered for 5 s; then a wrong password refused in CONNACK's words.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mqtt_against_rabbitmq_web_mqtt() {
    let Some(url) = rabbitmq("mqtt_against_rabbitmq_web_mqtt", "MQTT") else {
        return;
    };
    let (events, code, stderr) = connect(
        &url,
        &[
            "--protocol",
            "mqtt",
            "--protocol-option",
            "username=guest",
            "--protocol-option",
            "password=guest",
            "--protocol-option",
            "keepalive=1",
            "--emit",
            r#"{"subscribe":"mq/#","qos":1}"#,
            "--emit",
            r#"{"publish":"mq/a","payload":"zero"}"#,
            "--emit",
            r#"{"publish":"mq/a","payload":"one","qos":1}"#,
            "--emit",
            r#"{"publish":"mq/b","payload_base64":"/wD+","qos":2}"#,
            "--wait",
            "5.5",
        ],
    )
    .await;
    assert_eq!(code, Some(0), "stderr: {stderr}\n{events:#?}");
    assert!(errors(&events).is_empty(), "{:#?}", errors(&events));
    let received = decoded(&events, "received");
    assert_eq!(of_type(&received, "connack")[0]["reason_code"], 0);
    let suback = of_type(&received, "suback");
    assert_eq!(suback[0]["reason_codes"], json!([1]));
    assert_eq!(suback[0]["topic"], "mq/#");
    let publishes = of_type(&received, "publish");
    let payloads: Vec<&Value> = publishes.iter().map(|p| &p["payload"]).collect();
    assert_eq!(
        payloads,
        [&json!("zero"), &json!("one"), &json!({"base64":"/wD+"})]
    );
    assert_eq!(publishes[1]["qos"], 1);
    // Our PUBACKs for the QoS 1 deliveries.
    let sent = decoded(&events, "sent");
    assert_eq!(of_type(&sent, "puback").len(), 2, "{sent:#?}");
    let acks = of_type(&received, "puback");
    assert_eq!(acks.len(), 2, "{acks:?}");
    assert!(
        acks.iter()
            .any(|a| a["note"].as_str().is_some_and(|n| n.contains("QoS 2"))),
        "{acks:?}"
    );
    let pings = of_type(&sent, "pingreq").len();
    let pongs = of_type(&received, "pingresp").len();
    assert!(
        pings >= 4 && pongs >= 4,
        "{pings} PINGREQ, {pongs} PINGRESP"
    );

    let (events, code, _) = connect(
        &url,
        &[
            "--protocol",
            "mqtt",
            "--protocol-option",
            "username=guest",
            "--protocol-option",
            "password=wrong",
            "--wait",
            "3",
        ],
    )
    .await;
    assert_eq!(code, Some(3), "{events:#?}");
    // RabbitMQ 3.10 answers a wrong password by closing with 1002 "unauthenticated" (no CONNACK): its words
    // are in the error.
    let message = protocol_error(&events);
    assert!(message.contains("unauthenticated"), "{message}");
}

/// MQTT 3.1.1 against aedes: QoS 2 both ways (PUBREC / PUBREL / PUBCOMP), a retained message delivered to a
/// later subscriber, several packets in one text of `--stdin`-free emits, unsubscribe, and a refused password.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mqtt_against_aedes() {
    let Some(peer) = node_peer("mqtt_against_aedes", "node_aedes_broker.js", "aedes") else {
        return;
    };
    let url = format!("ws://127.0.0.1:{}/", peer.port);
    // A retained message first, from one connection.
    let (events, code, _) = connect(
        &url,
        &[
            "--protocol",
            "mqtt",
            "--emit",
            r#"{"publish":"kept/x","payload":"retained","qos":1,"retain":true}"#,
            "--emit",
            r#"{"subscribe":"other/#"}"#,
            "--emit",
            r#"{"unsubscribe":"other/#"}"#,
            "--wait",
            "1",
        ],
    )
    .await;
    assert_eq!(code, Some(0), "{events:#?}");
    assert_eq!(
        of_type(&decoded(&events, "received"), "unsuback")[0]["topic"],
        "other/#"
    );
    let (events, code, stderr) = connect(
        &url,
        &[
            "--protocol",
            "mqtt",
            "--protocol-option",
            "username=guest",
            "--protocol-option",
            "password=secret",
            "--protocol-option",
            "client_id=sockscope-aedes",
            "--emit",
            r#"{"subscribe":"kept/#","qos":2}"#,
            "--emit",
            r#"{"publish":"kept/y","payload":"exactly once","qos":2}"#,
            "--wait",
            "2",
        ],
    )
    .await;
    assert_eq!(code, Some(0), "stderr: {stderr}\n{events:#?}");
    assert!(errors(&events).is_empty(), "{:#?}", errors(&events));
    let received = decoded(&events, "received");
    let sent = decoded(&events, "sent");
    let publishes = of_type(&received, "publish");
    let retained = publishes
        .iter()
        .find(|p| p["topic"] == "kept/x")
        .unwrap_or_else(|| panic!("{publishes:?}"));
    assert_eq!(retained["retain"], true);
    assert_eq!(retained["payload"], "retained");
    let once = publishes
        .iter()
        .find(|p| p["topic"] == "kept/y")
        .unwrap_or_else(|| panic!("{publishes:?}"));
    assert_eq!(once["qos"], 2);
    // Our QoS 2 publish: PUBREC came, we sent PUBREL, PUBCOMP ended it.
    assert!(!of_type(&received, "pubrec").is_empty(), "{received:#?}");
    assert!(!of_type(&sent, "pubrel").is_empty(), "{sent:#?}");
    assert_eq!(of_type(&received, "pubcomp")[0]["topic"], "kept/y");
    // aedes' QoS 2 deliveries: we answered PUBREC, it sent PUBREL, we answered PUBCOMP.
    assert!(!of_type(&sent, "pubrec").is_empty(), "{sent:#?}");
    assert!(!of_type(&sent, "pubcomp").is_empty(), "{sent:#?}");

    let (events, code, _) = connect(
        &url,
        &[
            "--protocol",
            "mqtt",
            "--protocol-option",
            "username=guest",
            "--protocol-option",
            "password=nope",
            "--wait",
            "2",
        ],
    )
    .await;
    assert_eq!(code, Some(3), "{events:#?}");
    let connack = of_type(&decoded(&events, "received"), "connack");
    assert_eq!(connack[0]["reason"], "bad user name or password");
}

/// `--encode` and `--decode` with MQTT apply to the PUBLISH payload, not to the WebSocket message: a JSON
/// payload goes out as MessagePack bytes inside an MQTT packet aedes relays, and comes back decoded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mqtt_payloads_through_a_codec_via_aedes() {
    let Some(peer) = node_peer(
        "mqtt_payloads_through_a_codec_via_aedes",
        "node_aedes_broker.js",
        "aedes",
    ) else {
        return;
    };
    let url = format!("ws://127.0.0.1:{}/", peer.port);
    let payload = json!({"px": 97000.5, "big": "18446744073709551615", "raw": {"base64": "AP8="}});
    let publish = json!({"publish": "codec/t", "payload": payload, "qos": 1}).to_string();
    let (events, code, stderr) = connect(
        &url,
        &[
            "--protocol",
            "mqtt",
            "--encode",
            "msgpack",
            "--decode",
            "msgpack",
            "--emit",
            r#"{"subscribe":"codec/#","qos":1}"#,
            "--emit",
            &publish,
            "--wait",
            "1.5",
        ],
    )
    .await;
    assert_eq!(code, Some(0), "stderr: {stderr}\n{events:#?}");
    let received = decoded(&events, "received");
    let back = of_type(&received, "publish");
    let back = back.first().unwrap_or_else(|| panic!("{received:#?}"));
    assert_eq!(back["topic"], "codec/t");
    // The payload on the wire is MessagePack (a 3-entry map starts 0x83), which the codec reads back.
    let bytes = back["payload"]["base64"].as_str().expect("binary payload");
    let bytes =
        base64::Engine::decode(&base64::engine::general_purpose::STANDARD, bytes).expect("base64");
    assert_eq!(bytes[0], 0x83, "{bytes:02x?}");
    assert_eq!(back["decoded"], payload);
    // A protocol whose payloads are JSON already is refused before connecting.
    let (_, code, stderr) =
        connect(&url, &["--protocol", "socket.io", "--encode", "msgpack"]).await;
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("socket.io carries JSON already"),
        "{stderr}"
    );
}

/// MQTT 5 against a broker on mqtt-packet: CONNACK's properties decoded, QoS 2 both ways, a publish's
/// properties (content type, user property) read by mqtt-packet and written back to us, PINGREQ at a 1 s
/// keep-alive kept up for 5 s (the broker drops a client silent for 1.5 s), `--count` counting PUBLISHes only, a
/// refused CONNACK's reason string shown.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mqtt5_against_mqtt_packet() {
    let Some(peer) = node_peer(
        "mqtt5_against_mqtt_packet",
        "node_mqtt5_broker.js",
        "mqtt-packet",
    ) else {
        return;
    };
    let url = format!("ws://127.0.0.1:{}/", peer.port);
    let (events, code, stderr) = connect(
        &url,
        &[
            "--protocol",
            "mqtt",
            "--protocol-option",
            "version=5",
            "--protocol-option",
            "username=guest",
            "--protocol-option",
            "password=secret",
            "--protocol-option",
            "keepalive=1",
            "--emit",
            r#"{"subscribe":"v5/+","qos":2}"#,
            "--emit",
            r#"{"publish":"v5/a","payload":"{\"n\":1}","qos":2,"properties":{"content_type":"application/json","user_property":[["k","v"],["k2","v2"]],"message_expiry_interval":60}}"#,
            "--emit",
            r#"{"publish":"v5/b","payload":"one","qos":1}"#,
            "--wait",
            "5.5",
        ],
    )
    .await;
    assert_eq!(code, Some(0), "stderr: {stderr}\n{events:#?}");
    assert!(errors(&events).is_empty(), "{:#?}", errors(&events));
    assert_eq!(events[1]["version"], "5");
    let received = decoded(&events, "received");
    let sent = decoded(&events, "sent");
    let connack = of_type(&received, "connack");
    assert_eq!(connack[0]["reason"], "success");
    assert_eq!(connack[0]["properties"]["topic_alias_maximum"], 0);
    let publishes = of_type(&received, "publish");
    assert_eq!(publishes.len(), 2, "{publishes:?}");
    let p = publishes
        .iter()
        .find(|p| p["topic"] == "v5/a")
        .expect("v5/a");
    assert_eq!(p["qos"], 2);
    assert_eq!(p["properties"]["content_type"], "application/json");
    assert_eq!(
        p["properties"]["user_property"],
        json!([["k", "v"], ["k2", "v2"]])
    );
    assert_eq!(of_type(&received, "pubcomp").len(), 1);
    assert_eq!(of_type(&sent, "pubcomp").len(), 1);
    assert_eq!(of_type(&received, "puback").len(), 1);
    let pings = of_type(&sent, "pingreq").len();
    let pongs = of_type(&received, "pingresp").len();
    assert!(
        pings >= 4 && pongs >= 4,
        "{pings} PINGREQ, {pongs} PINGRESP"
    );
    let closed = events.last().expect("closed");
    assert_eq!(closed["initiated_by"], "client", "{closed}");

    // --count counts PUBLISH received, nothing else; a WebSocket message is never split in two counts.
    let (events, code, _) = connect(
        &url,
        &[
            "--protocol",
            "mqtt",
            "--protocol-option",
            "version=5",
            "--emit",
            r#"{"subscribe":"c/#"}"#,
            "--emit",
            r#"{"publish":"c/1","payload":"a"}"#,
            "--emit",
            r#"{"publish":"c/2","payload":"b"}"#,
            "--count",
            "2",
        ],
    )
    .await;
    assert_eq!(code, Some(0), "{events:#?}");
    let publishes = of_type(&decoded(&events, "received"), "publish");
    assert_eq!(publishes.len(), 2, "{events:#?}");

    let (events, code, _) = connect(
        &url,
        &[
            "--protocol",
            "mqtt",
            "--protocol-option",
            "version=5",
            "--protocol-option",
            "username=mallory",
            "--wait",
            "2",
        ],
    )
    .await;
    assert_eq!(code, Some(3), "{events:#?}");
    let message = protocol_error(&events);
    assert!(
        message.contains("bad user name or password") && message.contains("guest / secret only"),
        "{message}"
    );
}

/// STOMP 1.1 against stomp-broker-js: CONNECTED names 1.1 (so 1.1 escaping is used); one connection
/// subscribes, a second one SENDs (this broker does not deliver a message to its sender), the MESSAGE arrives.
/// (stomp-broker-js 0.1.3 crashes on DISCONNECT, so none is sent.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stomp_against_stomp_broker_js() {
    let Some(peer) = node_peer(
        "stomp_against_stomp_broker_js",
        "node_stomp_broker.js",
        "stomp-broker-js",
    ) else {
        return;
    };
    let url = format!("ws://127.0.0.1:{}/stomp", peer.port);
    let subscriber = connect(
        &url,
        &[
            "--protocol",
            "stomp",
            "--emit",
            r#"{"command":"SUBSCRIBE","headers":{"destination":"/queue/a"}}"#,
            "--count",
            "1",
            "--wait",
            "5",
        ],
    );
    let sender = async {
        tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
        connect(
            &url,
            &[
                "--protocol",
                "stomp",
                "--emit",
                r#"{"command":"SEND","headers":{"destination":"/queue/a","note":"a:b"},"body":"over 1.1"}"#,
                "--wait",
                "1",
            ],
        )
        .await
    };
    let ((events, code, stderr), (sent, sent_code, _)) = tokio::join!(subscriber, sender);
    assert_eq!(sent_code, Some(0), "{sent:#?}");
    assert_eq!(code, Some(0), "stderr: {stderr}\n{events:#?}");
    let received = decoded(&events, "received");
    assert_eq!(
        of_type(&received, "CONNECTED")[0]["headers"]["version"],
        "1.1",
        "{events:#?}"
    );
    let messages = of_type(&received, "MESSAGE");
    assert_eq!(messages[0]["body"], "over 1.1", "{received:#?}");
    assert_eq!(messages[0]["headers"]["destination"], "/queue/a");
}
