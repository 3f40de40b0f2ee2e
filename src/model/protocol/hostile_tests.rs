//! The fuzz target `lens` (fuzz/fuzz_targets/lens.rs) as a deterministic test that runs everywhere: every lens
//! of part 2 fed mutated and random messages, emits and clock ticks, automatic part on and off. Nothing panics,
//! and everything a lens asks to send reads back in its own protocol (never `invalid`).

use super::Protocol;
use super::engineio::WsData;
use super::lens::{Class, Options, Output, for_protocol};
use serde_json::json;
use std::time::{Duration, Instant};

/// A small deterministic generator (xorshift), so a failure replays.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Valid messages of each protocol to start mutations from.
fn seeds(protocol: Protocol) -> Vec<Vec<u8>> {
    let text = |s: &str| s.as_bytes().to_vec();
    match protocol {
        Protocol::Stomp => vec![
            text("CONNECTED\nversion:1.2\nheart-beat:100,100\n\n\0"),
            text(
                "MESSAGE\nsubscription:sub-0\ndestination:/t\ncontent-length:3\n\na\0b\0\nRECEIPT\nreceipt-id:r\n\n\0",
            ),
            text("ERROR\nmessage:bad\n\nno\0"),
            text("\n"),
        ],
        Protocol::Mqtt => vec![
            vec![0x20, 2, 0, 0],
            vec![0x32, 7, 0, 1, b'a', 0, 5, b'h', b'i', 0x90, 3, 0, 1, 1],
            vec![0x34, 6, 0, 1, b'a', 0, 9, 0, 0x62, 2, 0, 9],
            vec![0x50, 2, 0, 1, 0x70, 2, 0, 1, 0xd0, 0],
        ],
        Protocol::SignalR => vec![
            text("{}\u{1e}"),
            text("{\"type\":1,\"target\":\"t\",\"arguments\":[1]}\u{1e}{\"type\":6}\u{1e}"),
            text(
                "{\"type\":3,\"invocationId\":\"0\",\"result\":1}\u{1e}{\"type\":2,\"invocationId\":\"1\",\"item\":2}\u{1e}",
            ),
            text("{\"type\":7,\"error\":\"e\"}\u{1e}"),
            vec![0x06, 0x95, 0x01, 0x80, 0xc0, 0xa1, b't', 0x90],
        ],
        Protocol::Phoenix => vec![
            text("[\"1\",\"1\",\"room:a\",\"phx_reply\",{\"status\":\"ok\",\"response\":{}}]"),
            text("[null,null,\"room:a\",\"new_msg\",{\"body\":\"x\"}]"),
            text("[\"1\",\"1\",\"room:a\",\"phx_error\",{}]"),
        ],
        _ => vec![
            text("{\"type\":\"welcome\"}"),
            text("{\"type\":\"ping\",\"message\":1}"),
            text(
                "{\"identifier\":\"{\\\"channel\\\":\\\"C\\\"}\",\"type\":\"confirm_subscription\"}",
            ),
            text("{\"identifier\":\"{\\\"channel\\\":\\\"C\\\"}\",\"message\":{\"a\":1}}"),
            text("{\"type\":\"disconnect\",\"reason\":\"r\",\"reconnect\":true}"),
        ],
    }
}

fn emits(protocol: Protocol) -> Vec<serde_json::Value> {
    match protocol {
        Protocol::Stomp => vec![
            json!({"command":"SUBSCRIBE","headers":{"destination":"/t","receipt":"r"}}),
            json!({"command":"SEND","headers":{"destination":"/t","x":"a:b\nc"},"body":{"base64":"AAE="}}),
            json!({"command":"DISCONNECT"}),
        ],
        Protocol::Mqtt => vec![
            json!({"subscribe":"a/#","qos":2}),
            json!({"publish":"a","payload":"é","qos":1}),
            json!({"publish":"a","payload_base64":"AP8=","qos":2,"retain":true}),
            json!({"unsubscribe":"a/#"}),
        ],
        Protocol::SignalR => vec![
            json!({"invoke":"t","args":[1,"x"]}),
            json!({"stream":"s","args":[]}),
            json!({"send":"n"}),
            json!({"cancel":"1"}),
        ],
        Protocol::Phoenix => vec![
            json!({"topic":"room:a","event":"phx_join","payload":{}}),
            json!({"topic":"room:a","event":"new_msg","payload":{"body":"x"}}),
            json!({"topic":"room:a","event":"phx_leave"}),
        ],
        _ => vec![
            json!({"subscribe":{"channel":"C"}}),
            json!({"perform":"speak","identifier":{"channel":"C"},"data":{"m":1}}),
            json!({"unsubscribe":{"channel":"C"}}),
        ],
    }
}

#[test]
fn every_lens_survives_mutated_and_random_input_and_sends_what_it_reads() {
    let cases: [(Protocol, &[(&str, &str)]); 7] = [
        (Protocol::Stomp, &[]),
        (Protocol::Mqtt, &[]),
        (Protocol::Mqtt, &[("version", "5")]),
        (Protocol::SignalR, &[]),
        (Protocol::SignalR, &[("hub_protocol", "messagepack")]),
        (Protocol::Phoenix, &[]),
        (Protocol::ActionCable, &[]),
    ];
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for (protocol, opts) in cases {
        let options: Options = opts
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect();
        let seeds = seeds(protocol);
        let emits = emits(protocol);
        for round in 0..300 {
            let automatic = round % 3 != 0;
            let mut lens = for_protocol(protocol, &options, automatic, "ws://h/x")
                .expect("options")
                .expect("lens");
            let mut now = Instant::now();
            let mut outputs = lens.start(now);
            for _ in 0..12 {
                match rng.below(5) {
                    0 => outputs.extend(lens.emit(now, &emits[rng.below(emits.len())])),
                    1 => {
                        now += Duration::from_millis(rng.below(40_000) as u64);
                        outputs.extend(lens.on_time(now));
                    }
                    _ => {
                        let mut bytes = seeds[rng.below(seeds.len())].clone();
                        for _ in 0..rng.below(4) {
                            match rng.below(4) {
                                0 if !bytes.is_empty() => {
                                    let i = rng.below(bytes.len());
                                    bytes[i] = rng.next() as u8;
                                }
                                1 => bytes.truncate(rng.below(bytes.len() + 1)),
                                2 => bytes.extend((0..rng.below(8)).map(|_| rng.next() as u8)),
                                _ => {
                                    let copy = bytes.clone();
                                    bytes.extend(copy);
                                }
                            }
                        }
                        let message = match String::from_utf8(bytes) {
                            Ok(t) if rng.below(2) == 0 => WsData::Text(t),
                            Ok(t) => WsData::Binary(t.into_bytes()),
                            Err(e) => WsData::Binary(e.into_bytes()),
                        };
                        outputs.extend(lens.on_message(now, message).1);
                    }
                }
                let _ = lens.next_deadline();
                let _ = lens.open_items();
            }
            for output in outputs {
                if let Output::Send { message, .. } = output {
                    let read = lens.describe_sent(&message);
                    assert!(
                        read.parts().all(|p| p.class != Class::Invalid),
                        "{protocol}: {message:?} reads back as {read:?}"
                    );
                }
            }
        }
    }
}
