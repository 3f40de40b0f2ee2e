//! Payload input as typed in the composer: text, hex and base64. Whatever parses as hex prints back as hex that
//! parses to the same bytes; the hex dump and previews of any bytes never panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use sockscope::model::{PayloadFormat, hex_dump, hex_string, parse_payload, preview};

fuzz_target!(|data: &[u8]| {
    let _ = hex_dump(data);
    let _ = preview(data, false, 80);
    let _ = preview(data, true, 3);
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for format in [
        PayloadFormat::Text,
        PayloadFormat::Hex,
        PayloadFormat::Base64,
    ] {
        let _ = parse_payload(text, format);
    }
    if let Ok(bytes) = parse_payload(text, PayloadFormat::Hex) {
        let again = parse_payload(&hex_string(&bytes), PayloadFormat::Hex);
        assert!(
            matches!(again.as_deref(), Ok(b) if b == &bytes[..]),
            "hex round trip: {again:?}"
        );
    }
});
