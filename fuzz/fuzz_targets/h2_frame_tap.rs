//! The HTTP/2 frame reader under a WebSocket over HTTP/2 (model::h2::FrameTap) fed arbitrary server bytes in
//! arbitrary pieces: it never panics, keeps at most 16 RST_STREAMs, and reads the same frames whatever the
//! split. The first byte picks the piece size.
#![no_main]
use libfuzzer_sys::fuzz_target;
use sockscope::model::h2::FrameTap;

fuzz_target!(|data: &[u8]| {
    let Some((&split, rest)) = data.split_first() else {
        return;
    };
    let mut whole = FrameTap::default();
    whole.feed(rest);
    let mut pieces = FrameTap::default();
    for chunk in rest.chunks(usize::from(split).max(1)) {
        pieces.feed(chunk);
    }
    assert!(whole.resets.len() <= 16);
    assert_eq!(whole.frames, pieces.frames);
    assert_eq!(whole.settings, pieces.settings);
    assert_eq!(whole.goaway, pieces.goaway);
    assert_eq!(whole.resets, pieces.resets);
});
