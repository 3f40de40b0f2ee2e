//! The MessagePack and CBOR codecs (model::codec) fed arbitrary payloads: decoding never panics and stays
//! bounded (a header announcing 4 GiB allocates nothing), and whatever decodes encodes to bytes that decode to
//! the same JSON. The first byte picks the codec.
#![no_main]
use libfuzzer_sys::fuzz_target;
use sockscope::model::codec::{cbor, msgpack};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    if selector & 1 == 0 {
        if let Ok(value) = msgpack::decode(rest) {
            let bytes = msgpack::encode(&value).expect("a decoded value encodes");
            assert_eq!(msgpack::decode(&bytes), Ok(value));
        }
    } else if let Ok(value) = cbor::decode(rest) {
        let bytes = cbor::encode(&value).expect("a decoded value encodes");
        assert_eq!(cbor::decode(&bytes), Ok(value));
    }
});
