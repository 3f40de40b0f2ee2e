//! GraphQL over WebSocket messages of both protocols fed arbitrary text: decoding never panics, and whatever
//! decodes encodes to a message that decodes to the same thing.
#![no_main]
use libfuzzer_sys::fuzz_target;
use sockscope::model::protocol::graphql::{Dialect, decode, encode};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for dialect in [Dialect::TransportWs, Dialect::Legacy] {
        if let Ok(message) = decode(dialect, text) {
            let again = encode(dialect, &message).expect("a decoded message exists in its protocol");
            assert_eq!(decode(dialect, &again), Ok(message));
        }
    }
});
