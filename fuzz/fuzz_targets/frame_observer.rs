//! The frame observer fed arbitrary bytes: it never panics or allocates what a header claims, and reading the
//! stream in one piece or byte by byte finds the same frames.
#![no_main]
use libfuzzer_sys::fuzz_target;
use sockscope::engine::observer::FrameParser;

fuzz_target!(|data: &[u8]| {
    let whole = FrameParser::default().feed(data);
    let mut parser = FrameParser::default();
    let mut pieces = Vec::new();
    for byte in data {
        pieces.extend(parser.feed(std::slice::from_ref(byte)));
    }
    assert_eq!(whole, pieces);
});
