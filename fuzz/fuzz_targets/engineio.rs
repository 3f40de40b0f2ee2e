//! The Engine.IO codec (model::protocol::engineio, Engine.IO protocol v3 and v4) fed arbitrary WebSocket
//! messages: decode never panics, and whatever decodes encodes to a message that decodes to the same packet.
//! The first byte picks the version (bit 0) and text or binary (bit 1); the rest is the message.
#![no_main]
use libfuzzer_sys::fuzz_target;
use sockscope::model::protocol::engineio::{EioVersion, WsData, decode, encode};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let version = if selector & 1 == 0 {
        EioVersion::V3
    } else {
        EioVersion::V4
    };
    let message = if selector & 2 == 0 {
        match std::str::from_utf8(rest) {
            Ok(text) => WsData::Text(text.to_owned()),
            Err(_) => return,
        }
    } else {
        WsData::Binary(rest.to_vec())
    };
    if let Ok(packet) = decode(version, message) {
        assert_eq!(decode(version, encode(version, &packet)), Ok(packet));
    }
});
