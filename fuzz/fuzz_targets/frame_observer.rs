//! The frame observer and the permessage-deflate read side fed arbitrary bytes: neither panics or allocates what
//! a header claims; reading the stream in one piece or byte by byte finds the same frames; and the read side hands
//! the library the same bytes and the same close code however the stream is split, holding a bounded amount.
#![no_main]
use libfuzzer_sys::fuzz_target;
use sockscope::engine::observer::FrameParser;
use sockscope::model::deflate::{Negotiated, ReadSide};

/// Everything the read side hands on for `data` read in pieces of `split` bytes, and its error.
fn read_side(data: &[u8], split: usize, agreed: &Negotiated, answer_pings: bool) -> (Vec<u8>, Option<u16>) {
    let mut side = ReadSide::new(Some(agreed), answer_pings, 1 << 20);
    let mut seen = Vec::new();
    let mut tmp = vec![0u8; 4096];
    for chunk in data.chunks(split) {
        let mut buf = chunk.to_vec();
        let keep = side.scan(&mut buf);
        seen.extend_from_slice(&buf[..keep]);
        loop {
            let n = side.read(&mut tmp);
            if n == 0 {
                break;
            }
            seen.extend_from_slice(&tmp[..n]);
        }
        assert!(seen.len() <= (2 << 20) + data.len() * 2, "output stays bounded");
    }
    (seen, side.error().map(|e| e.code))
}

fuzz_target!(|data: &[u8]| {
    let whole = FrameParser::default().feed(data);
    let mut parser = FrameParser::default();
    let mut pieces = Vec::new();
    for byte in data {
        pieces.extend(parser.feed(std::slice::from_ref(byte)));
    }
    assert_eq!(whole, pieces);

    // The first byte picks the agreed parameters; the rest is the stream (compressed frames included).
    let Some((&knobs, stream)) = data.split_first() else {
        return;
    };
    let agreed = Negotiated {
        server_no_context_takeover: knobs & 1 != 0,
        client_no_context_takeover: false,
        server_max_window_bits: 8 + (knobs >> 1) % 8,
        client_max_window_bits: 15,
        params: Vec::new(),
        offer_index: 0,
    };
    let answer_pings = knobs & 0x80 == 0;
    let one = read_side(stream, stream.len().max(1), &agreed, answer_pings);
    let bytewise = read_side(stream, 1, &agreed, answer_pings);
    assert_eq!(one, bytewise);
});
