//! STOMP and MQTT from the composer: a STOMP subscription and a SEND to it against RabbitMQ's web-STOMP, and
//! an MQTT subscribe and publish against aedes, each decoded in the log and listed in what is open.

use super::*;
use crate::interop::{Runtime, start_peer};

/// Moves the pointer to the button, as a hand does (the last button's tooltip goes), then clicks it.
fn click_after_moving_there(harness: &mut Harness<'static, AppState>, label: &str) {
    harness.get_by_label(label).hover();
    harness.run_steps(2);
    harness.get_by_label(label).click();
    harness.run_steps(1);
}

#[test]
fn a_stomp_subscription_and_send_from_the_composer() {
    let Some(url) = crate::interop::brokers::rabbitmq("ui_stomp", "STOMP") else {
        return;
    };
    let mut harness = harness(None);
    tab_for(&mut harness, url);
    pick_protocol(&mut harness, "STOMP");
    {
        let options = &mut harness
            .state_mut()
            .tab_mut()
            .session
            .endpoint
            .protocol
            .options;
        options.insert("login".into(), "guest".into());
        options.insert("passcode".into(), "guest".into());
    }
    connect(&mut harness);
    wait_for(&mut harness, "CONNECTED", |h| {
        h.state().tab().protocol.as_ref().is_some_and(|p| p.ready)
    });
    assert_eq!(
        harness
            .state()
            .tab()
            .protocol
            .as_ref()
            .map(|p| p.version.as_str()),
        Some("1.2"),
        "the version CONNECTED named"
    );
    {
        let form = &mut harness.state_mut().tab_mut().composer.protocol;
        form.stomp_destination = "/topic/ui".into();
        form.stomp_headers = r#"{"receipt":"ui-1"}"#.into();
        form.stomp_body = "hello from the composer".into();
    }
    harness.get_by_label("Subscribe").click();
    wait_for(&mut harness, "the receipt of the subscription", |h| {
        h.query_by_label_contains("RECEIPT").is_some()
            && h.state()
                .tab()
                .protocol
                .as_ref()
                .is_some_and(|p| p.items.iter().any(|i| i.state == "subscribed"))
    });
    click_after_moving_there(&mut harness, "Send frame");
    wait_for(&mut harness, "the MESSAGE row", |h| {
        h.query_by_label_contains("MESSAGE /topic/ui \"hello from the composer\"")
            .is_some()
    });
    assert!(
        harness
            .query_by_label_contains("subscription sub-0 /topic/ui · subscribed · 1 received")
            .is_some()
    );
}

#[test]
fn an_mqtt_subscribe_and_publish_from_the_composer() {
    let Some(peer) = start_peer(
        "ui_mqtt",
        Runtime::Node,
        "node_aedes_broker.js",
        &["-e", "require('aedes')"],
    ) else {
        return;
    };
    let mut harness = harness(None);
    tab_for(&mut harness, format!("ws://127.0.0.1:{}/", peer.port));
    pick_protocol(&mut harness, "MQTT");
    connect(&mut harness);
    wait_for(&mut harness, "CONNACK", |h| {
        h.state().tab().protocol.as_ref().is_some_and(|p| p.ready)
    });
    {
        let form = &mut harness.state_mut().tab_mut().composer.protocol;
        form.mqtt_topic = "ui/#".into();
        form.mqtt_qos = 1;
    }
    harness.get_by_label("Subscribe").click();
    wait_for(&mut harness, "the SUBACK", |h| {
        h.query_by_label_contains("subscription ui/# · granted QoS 1")
            .is_some()
    });
    {
        let form = &mut harness.state_mut().tab_mut().composer.protocol;
        form.mqtt_topic = "ui/room".into();
        form.mqtt_payload = "published from the composer".into();
    }
    click_after_moving_there(&mut harness, "Publish");
    wait_for(&mut harness, "the PUBLISH back, decoded", |h| {
        h.state().tab().log.iter().any(|e| {
            e.direction == sockscope::model::Direction::Received
                && e.decoded().is_some_and(|d| {
                    d.kind() == "publish"
                        && d.field("topic").and_then(|t| t.as_str()) == Some("ui/room")
                        && d.field("payload").and_then(|t| t.as_str())
                            == Some("published from the composer")
                })
        })
    });
    // The rows (ours and the broker's) read in MQTT's terms.
    assert!(
        harness
            .query_all_by_label_contains("\"published from the composer\"")
            .count()
            >= 2
    );
    assert!(
        harness
            .query_all_by_label_contains("publish ui/room")
            .count()
            >= 2
    );
    wait_for(&mut harness, "the PUBACK with its time", |h| {
        h.state()
            .tab()
            .log
            .iter()
            .filter_map(|e| e.decoded())
            .any(|d| d.kind() == "puback" && d.field("rtt_ms").is_some())
    });
}

/// A SignalR invocation answered at once leaves the list of what is open (the reply's change is reported even
/// when it comes before the invocation's own report).
#[test]
fn a_signalr_invocation_leaves_the_open_list_when_it_completes() {
    let Some(hub) = crate::interop::start_peer_with(
        "ui_signalr",
        Runtime::Node,
        "node_signalr_hub.js",
        &["-e", "require('@microsoft/signalr-protocol-msgpack')"],
        &[],
    ) else {
        return;
    };
    let mut harness = harness(None);
    tab_for(&mut harness, format!("ws://127.0.0.1:{}/chathub", hub.port));
    pick_protocol(&mut harness, "SignalR");
    connect(&mut harness);
    wait_for(&mut harness, "the handshake reply", |h| {
        h.state().tab().protocol.as_ref().is_some_and(|p| p.ready)
    });
    harness
        .state_mut()
        .tab_mut()
        .composer
        .protocol
        .signalr_method = "Echo".into();
    harness.run_steps(1);
    let completions = |h: &Harness<'static, AppState>| {
        h.state()
            .tab()
            .log
            .iter()
            .filter_map(|e| e.decoded())
            .filter(|d| d.kind() == "completion" && d.field("result").is_some())
            .count()
    };
    // Each answered within a millisecond or two: the reply's change comes right after the invocation's.
    for n in 1..=5 {
        click_after_moving_there(&mut harness, "Invoke");
        wait_for(&mut harness, "the completion", |h| completions(h) == n);
        // Within a second: not at the next keep-alive tick (15 s), which is when a lost report would be mended.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(1);
        while !harness
            .state()
            .tab()
            .protocol
            .as_ref()
            .is_some_and(|p| p.items.is_empty())
        {
            assert!(
                std::time::Instant::now() < deadline,
                "invocation {n} is still listed as open after its completion"
            );
            harness.step();
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
    // The completions read in SignalR's terms: the method they answer and its result.
    assert_eq!(
        harness
            .query_all_by_label_contains("completion Echo")
            .count(),
        5
    );
}
