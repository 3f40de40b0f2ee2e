//! Every protocol lens (model::protocol::lens: Socket.IO v2/v4, both GraphQL protocols, STOMP, MQTT 3.1.1 and 5,
//! SignalR, Phoenix, Action Cable) fed an arbitrary run of
//! messages, emits and clock ticks, with its automatic part on or off: nothing panics, and whatever it asks to
//! send is a message its own protocol reads back (never `invalid`).
//! Byte 0 picks the lens; the rest, split at 0x00 bytes, are inputs: a first byte 't' is a text message, 'b' a
//! binary one, 'e' an emit (JSON), 'c' a clock tick of (second byte × 100) ms.
#![no_main]
use libfuzzer_sys::fuzz_target;
use sockscope::model::protocol::engineio::WsData;
use sockscope::model::protocol::lens::{self, Class, Options, Output};
use sockscope::model::protocol::Protocol;
use std::time::{Duration, Instant};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let mut options = Options::new();
    let (protocol, url) = match selector % 10 {
        0 => (Protocol::SocketIo, "ws://h/socket.io/?EIO=4"),
        1 => (Protocol::SocketIo, "ws://h/socket.io/?EIO=3"),
        2 => (Protocol::GraphqlTransportWs, "ws://h/graphql"),
        3 => (Protocol::GraphqlWs, "ws://h/graphql"),
        4 => (Protocol::Stomp, "ws://h/ws"),
        5 => (Protocol::Mqtt, "ws://h/mqtt"),
        6 => {
            options.insert("version".into(), "5".into());
            (Protocol::Mqtt, "ws://h/mqtt")
        }
        7 => (Protocol::SignalR, "ws://h/hub"),
        8 => (Protocol::Phoenix, "ws://h/socket"),
        _ => (Protocol::ActionCable, "ws://h/cable"),
    };
    let automatic = selector & 0x80 == 0;
    let Ok(Some(mut lens)) = lens::for_protocol(protocol, &options, automatic, url) else {
        return;
    };
    let mut now = Instant::now();
    let mut outputs = lens.start(now);
    for input in rest.split(|&b| b == 0) {
        let Some((&kind, body)) = input.split_first() else {
            continue;
        };
        match kind {
            b't' => {
                let Ok(text) = std::str::from_utf8(body) else { continue };
                outputs.extend(lens.on_message(now, WsData::Text(text.to_owned())).1);
            }
            b'b' => outputs.extend(lens.on_message(now, WsData::Binary(body.to_vec())).1),
            b'e' => {
                let Ok(value) = serde_json::from_slice(body) else { continue };
                outputs.extend(lens.emit(now, &value));
            }
            b'c' => {
                let step = u64::from(body.first().copied().unwrap_or(1)) * 100;
                now += Duration::from_millis(step);
                outputs.extend(lens.on_time(now));
            }
            _ => {}
        }
        let _ = lens.next_deadline();
        let _ = lens.open_items();
    }
    for output in outputs {
        if let Output::Send { message, .. } = output {
            let read = lens.describe_sent(&message);
            assert_ne!(read.class, Class::Invalid, "{message:?} reads back as {read:?}");
        }
    }
});
