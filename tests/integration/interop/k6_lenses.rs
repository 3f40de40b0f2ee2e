//! Exported k6 scripts for the protocols of part 2, run in real k6 against the same peers as the lenses: STOMP
//! against RabbitMQ (CONNECT, heart-beats at 1 s kept up for 4 s, a receipt), MQTT against aedes (CONNECT,
//! PINGREQ at a 1 s keep-alive, QoS 1 and 2), SignalR against the hub (handshake record, invoke / stream / send),
//! Phoenix (join, push, heartbeat) and Action Cable (welcome, subscribe, perform).

use super::k6::{decoded, expect, k6, run_k6, step};
use super::{Runtime, start_peer, start_peer_with};
use sockscope::model::protocol::Protocol;
use sockscope::model::session::{Matcher, Session};

fn session(url: String, protocol: Protocol, options: &[(&str, &str)]) -> Session {
    let mut session = Session::default();
    session.endpoint.url = url;
    session.endpoint.protocol.protocol = protocol;
    session.endpoint.protocol.automatic = true;
    for (k, v) in options {
        session
            .endpoint
            .protocol
            .options
            .insert((*k).into(), (*v).into());
    }
    session
}

/// Runs `session` in k6: all `checks` pass (the expectations, the 101 and the protocol's handshake).
fn passes_in_k6(test: &str, session: &Session, checks: u64) {
    let Some(k6) = k6(test) else { return };
    let (status, passes, fails, output) = run_k6(&k6, session);
    assert_eq!((passes, fails), (checks, 0), "{output}");
    assert_eq!(status, Some(0), "{output}");
}

#[test]
fn k6_speaks_stomp_to_rabbitmq() {
    let test = "k6_speaks_stomp_to_rabbitmq";
    let Some(url) = super::brokers::rabbitmq(test, "STOMP") else {
        return;
    };
    let mut s = session(
        url,
        Protocol::Stomp,
        &[
            ("login", "guest"),
            ("passcode", "guest"),
            ("heart-beat", "1000,1000"),
        ],
    );
    s.collection = vec![
        step(
            "subscribe",
            0,
            r#"{"command":"SUBSCRIBE","headers":{"destination":"/topic/k6","receipt":"k6-sub"}}"#,
            vec![expect(Matcher::Reply("RECEIPT".into()), 3000)],
        ),
        step(
            "send",
            200,
            r#"{"command":"SEND","headers":{"destination":"/topic/k6"},"body":"héllo k6"}"#,
            vec![decoded("$.body", r#""héllo k6""#)],
        ),
        // RabbitMQ drops a client that promised heart-beats every 1 s and went silent: still here after 4 s.
        step(
            "after 4 s",
            4000,
            r#"{"command":"SEND","headers":{"destination":"/topic/k6"},"body":"late"}"#,
            vec![decoded("$.body", r#""late""#)],
        ),
    ];
    passes_in_k6(test, &s, 5);
}

#[test]
fn k6_speaks_mqtt_to_aedes() {
    let test = "k6_speaks_mqtt_to_aedes";
    let Some(peer) = start_peer(
        test,
        Runtime::Node,
        "node_aedes_broker.js",
        &["-e", "require('aedes')"],
    ) else {
        return;
    };
    let mut s = session(
        format!("ws://127.0.0.1:{}/", peer.port),
        Protocol::Mqtt,
        &[
            ("keepalive", "1"),
            ("username", "guest"),
            ("password", "secret"),
        ],
    );
    s.collection = vec![
        step(
            "subscribe",
            0,
            r#"{"subscribe":"k6/#","qos":2}"#,
            vec![expect(Matcher::Reply("suback".into()), 3000)],
        ),
        step(
            "qos 1",
            200,
            r#"{"publish":"k6/a","payload":"one","qos":1}"#,
            vec![
                expect(Matcher::Reply("puback".into()), 3000),
                decoded("$.payload", r#""one""#),
            ],
        ),
        // aedes drops a client silent for 1.5 keep-alives: PINGREQ keeps it for 3 s.
        step(
            "qos 2 after 3 s",
            3000,
            r#"{"publish":"k6/b","payload_base64":"AAH/","qos":2}"#,
            vec![
                expect(Matcher::Reply("pubcomp".into()), 3000),
                decoded("$.payload", r#"{"base64":"AAH/"}"#),
            ],
        ),
    ];
    passes_in_k6(test, &s, 7);
}

#[test]
fn k6_speaks_signalr_to_the_hub() {
    let test = "k6_speaks_signalr_to_the_hub";
    let Some(hub) = start_peer_with(
        test,
        Runtime::Node,
        "node_signalr_hub.js",
        &["-e", "require('@microsoft/signalr-protocol-msgpack')"],
        &[],
    ) else {
        return;
    };
    let mut s = session(
        format!("ws://127.0.0.1:{}/chathub", hub.port),
        Protocol::SignalR,
        &[("keepalive_ms", "500")],
    );
    s.collection = vec![
        step(
            "invoke",
            0,
            r#"{"invoke":"Echo","args":["k6"]}"#,
            vec![
                expect(Matcher::Reply("completion".into()), 3000),
                decoded("$.result", r#""k6""#),
            ],
        ),
        step(
            "stream",
            100,
            r#"{"stream":"Counter","args":[2]}"#,
            vec![decoded("$.item", "1")],
        ),
        step(
            "send",
            100,
            r#"{"send":"Notify","args":["from k6"]}"#,
            vec![decoded("$.target", r#""notified""#)],
        ),
    ];
    passes_in_k6(test, &s, 6);
}

#[test]
fn k6_speaks_phoenix_and_action_cable() {
    let test = "k6_speaks_phoenix_and_action_cable";
    let Some(socket) = start_peer_with(
        test,
        Runtime::Node,
        "node_phoenix_server.js",
        &["-e", "require('ws')"],
        &[],
    ) else {
        return;
    };
    let mut s = session(
        format!("ws://127.0.0.1:{}/socket", socket.port),
        Protocol::Phoenix,
        &[("heartbeat_ms", "300")],
    );
    s.collection = vec![
        step(
            "join",
            0,
            r#"{"topic":"room:k6","event":"phx_join","payload":{}}"#,
            vec![
                expect(Matcher::Reply("phx_reply".into()), 3000),
                decoded("$.status", r#""ok""#),
            ],
        ),
        step(
            "push after heartbeats",
            1000,
            r#"{"topic":"room:k6","event":"new_msg","payload":{"body":"k6"}}"#,
            vec![decoded("$.payload.body", r#""k6""#)],
        ),
    ];
    passes_in_k6(test, &s, 5);

    let Some(cable) = start_peer_with(
        test,
        Runtime::Node,
        "node_actioncable_server.js",
        &["-e", "require('ws')"],
        &[],
    ) else {
        return;
    };
    let mut s = session(
        format!("ws://127.0.0.1:{}/cable", cable.port),
        Protocol::ActionCable,
        &[],
    );
    s.collection = vec![
        step(
            "subscribe",
            0,
            r#"{"subscribe":{"channel":"ChatChannel","room":"k6"}}"#,
            vec![decoded("$.type", r#""confirm_subscription""#)],
        ),
        step(
            "speak",
            200,
            r#"{"perform":"speak","identifier":{"channel":"ChatChannel","room":"k6"},"data":{"message":"from k6"}}"#,
            vec![decoded("$.message.message", r#""from k6""#)],
        ),
    ];
    passes_in_k6(test, &s, 4);
}
