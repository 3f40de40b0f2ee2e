use super::*;
use crate::model::deflate::{Compressor, Negotiated};

fn agreed(server_bits: u8, server_no_takeover: bool) -> Negotiated {
    Negotiated {
        server_no_context_takeover: server_no_takeover,
        client_no_context_takeover: false,
        server_max_window_bits: server_bits,
        client_max_window_bits: server_bits,
        params: Vec::new(),
        offer_index: 0,
    }
}

/// A server frame (unmasked).
fn frame(first: u8, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![first];
    match payload.len() {
        n @ 0..=125 => f.push(n as u8),
        n @ 126..=0xffff => {
            f.push(126);
            f.extend((n as u16).to_be_bytes());
        }
        n => {
            f.push(127);
            f.extend((n as u64).to_be_bytes());
        }
    }
    f.extend_from_slice(payload);
    f
}

/// What the engine does: reads of `split` bytes, scanned in place, then whatever waits handed on. Returns the
/// bytes the library would see, the error, and the most this side held at once.
fn drive(side: &mut ReadSide, wire: &[u8], split: usize) -> (Vec<u8>, Option<WireError>, usize) {
    let mut seen = Vec::new();
    let mut held = 0;
    let drain = |side: &mut ReadSide, seen: &mut Vec<u8>, held: &mut usize| {
        let mut tmp = vec![0u8; 5000];
        loop {
            *held = (*held).max(side.backlog.len() + side.out.len());
            let n = side.read(&mut tmp);
            if n == 0 {
                break;
            }
            seen.extend_from_slice(&tmp[..n]);
        }
    };
    for chunk in wire.chunks(split.max(1)) {
        assert!(
            !side.busy(),
            "the engine reads the socket only when nothing waits"
        );
        let mut buf = chunk.to_vec();
        let keep = side.scan(&mut buf);
        seen.extend_from_slice(&buf[..keep]);
        drain(side, &mut seen, &mut held);
    }
    (seen, side.error().cloned(), held)
}

/// Frames as the library would parse them: (opcode, fin, rsv1, payload).
fn frames(mut bytes: &[u8]) -> Vec<(u8, bool, bool, Vec<u8>)> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let need = header_len(bytes).expect("a header");
        let len = payload_len(bytes) as usize;
        assert_eq!(bytes[1] & 0x80, 0, "unmasked");
        out.push((
            bytes[0] & 0x0f,
            bytes[0] & 0x80 != 0,
            bytes[0] & 0x40 != 0,
            bytes[need..need + len].to_vec(),
        ));
        bytes = &bytes[need + len..];
    }
    out
}

/// Messages reassembled: (opcode, payload); control frames as they come.
fn messages(bytes: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut out = Vec::new();
    let mut current: Option<(u8, Vec<u8>)> = None;
    for (opcode, fin, rsv1, payload) in frames(bytes) {
        assert!(!rsv1, "nothing compressed reaches the library");
        if opcode >= 8 {
            out.push((opcode, payload));
            continue;
        }
        let message = current.get_or_insert_with(|| (opcode, Vec::new()));
        message.1.extend_from_slice(&payload);
        if fin {
            out.extend(current.take());
        }
    }
    assert!(current.is_none(), "every message ended");
    out
}

/// Like [`messages`], tolerating a message that an error cut short.
fn messages_until_error(bytes: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut out = Vec::new();
    let mut current: Option<(u8, Vec<u8>)> = None;
    for (opcode, fin, _, payload) in frames(bytes) {
        let message = current.get_or_insert_with(|| (opcode, Vec::new()));
        message.1.extend_from_slice(&payload);
        if fin {
            out.extend(current.take());
        }
    }
    out
}

fn json_lines(n: usize) -> Vec<u8> {
    (0..n)
        .flat_map(|i| {
            format!("{{\"seq\":{i},\"kind\":\"tick\",\"price\":{}}}\n", i % 13).into_bytes()
        })
        .collect()
}

#[test]
fn plain_frames_pass_in_place_untouched() {
    let mut wire = frame(0x81, b"hello");
    wire.extend(frame(0x02, &[1; 300]));
    wire.extend(frame(0x89, b"p"));
    wire.extend(frame(0x80, &[2; 70_000]));
    for split in [1, 3, 100, 100_000] {
        let mut side = ReadSide::new(Some(&agreed(15, false)), true, 1 << 20);
        let mut buf = wire.clone();
        let mut passed = 0;
        for chunk in buf.chunks_mut(split) {
            let n = chunk.len();
            assert_eq!(side.scan(chunk), n, "split {split}");
            passed += n;
        }
        assert_eq!((passed, &buf), (wire.len(), &wire));
        let facts: Vec<Fact> = std::iter::from_fn(|| side.next_fact()).collect();
        assert_eq!(
            facts,
            [
                Fact::Data {
                    compressed: false,
                    wire_size: 5
                },
                Fact::Control {
                    unanswered_ping: false
                },
                Fact::Data {
                    compressed: false,
                    wire_size: 70_300
                },
            ]
        );
    }
}

#[test]
fn compressed_messages_inflate_split_anywhere_with_context_takeover() {
    let texts = [
        json_lines(1),
        json_lines(300),
        json_lines(300),
        b"".to_vec(),
    ];
    let mut compressor = Compressor::new(&agreed(15, false));
    let mut wire = Vec::new();
    let mut sizes = Vec::new();
    for t in &texts {
        let data = compressor.compress(t);
        sizes.push(data.len() as u64);
        wire.extend(frame(0xC1, &data));
    }
    assert!(sizes[2] < sizes[1], "the second copy uses the context");
    for split in [1, 2, 7, 1000, 1 << 20] {
        let mut side = ReadSide::new(Some(&agreed(15, false)), true, 1 << 20);
        let (seen, error, _) = drive(&mut side, &wire, split);
        assert_eq!(error, None, "split {split}");
        let got = messages(&seen);
        assert_eq!(got.len(), texts.len());
        for (i, t) in texts.iter().enumerate() {
            assert_eq!((got[i].0, &got[i].1), (1, t), "message {i}, split {split}");
            assert_eq!(
                side.next_fact(),
                Some(Fact::Data {
                    compressed: true,
                    wire_size: sizes[i]
                })
            );
        }
    }
}

#[test]
fn every_window_with_and_without_context_takeover() {
    let text = json_lines(2000);
    for bits in 8..=15u8 {
        for no_takeover in [false, true] {
            // The server's compressor: our own, configured as the server's side.
            let mut server = Compressor::new(&Negotiated {
                client_max_window_bits: bits,
                client_no_context_takeover: no_takeover,
                ..agreed(bits, no_takeover)
            });
            let mut wire = Vec::new();
            for _ in 0..3 {
                wire.extend(frame(0xC2, &server.compress(&text)));
            }
            let mut side = ReadSide::new(Some(&agreed(bits, no_takeover)), true, 1 << 20);
            let (seen, error, _) = drive(&mut side, &wire, 4096);
            assert_eq!(error, None, "bits {bits}");
            let got = messages(&seen);
            assert_eq!(got.len(), 3);
            assert!(
                got.iter().all(|(op, p)| *op == 2 && *p == text),
                "bits {bits}"
            );
        }
    }
}

#[test]
fn a_fragmented_compressed_message_with_a_ping_between_fragments() {
    let text = json_lines(5000);
    let data = Compressor::new(&agreed(15, false)).compress(&text);
    let third = data.len() / 3;
    let mut wire = frame(0x41, &data[..third]);
    wire.extend(frame(0x89, b"mid"));
    wire.extend(frame(0x00, &data[third..2 * third]));
    wire.extend(frame(0x80, &data[2 * third..]));
    wire.extend(frame(0x81, b"after"));
    let mut side = ReadSide::new(Some(&agreed(15, false)), false, 1 << 20);
    let (seen, error, _) = drive(&mut side, &wire, 1500);
    assert_eq!(error, None);
    let got = messages(&seen);
    assert_eq!(got.len(), 3);
    assert_eq!(
        got[0],
        (10, b"mid".to_vec()),
        "the ping goes on as a pong: nobody answers it"
    );
    assert_eq!(got[1].0, 1);
    assert_eq!(got[1].1, text);
    assert_eq!(got[2], (1, b"after".to_vec()));
    assert!(
        frames(&seen).iter().all(|f| f.3.len() <= CHUNK),
        "inflated data goes on in frames of at most CHUNK bytes"
    );
    let facts: Vec<Fact> = std::iter::from_fn(|| side.next_fact()).collect();
    assert_eq!(
        facts,
        [
            Fact::Control {
                unanswered_ping: true
            },
            Fact::Data {
                compressed: true,
                wire_size: data.len() as u64
            },
            Fact::Data {
                compressed: false,
                wire_size: 5
            },
        ]
    );
}

#[test]
fn without_deflate_a_ping_still_goes_on_as_a_pong_in_place() {
    let mut side = ReadSide::new(None, false, 1 << 20);
    let mut wire = frame(0x89, b"x");
    wire.extend(frame(0xC1, b"rsv1 left to the library"));
    let n = wire.len();
    assert_eq!(side.scan(&mut wire), n);
    assert_eq!(wire[0], 0x8A);
    assert_eq!(wire[3], 0xC1, "RSV1 is not ours to judge without deflate");
    assert!(ReadSide::needed(None, false) && !ReadSide::needed(None, true));
}

#[test]
fn rsv1_where_rfc_7692_forbids_it_fails_after_what_came_before() {
    let data = Compressor::new(&agreed(15, true)).compress(b"fine");
    let cases: [(Vec<u8>, u16, &str); 5] = [
        (frame(0xC9, b""), 1002, "RSV1 on a ping frame"),
        (
            [frame(0x41, &data), frame(0xC0, b"x")].concat(),
            1002,
            "continuation frame",
        ),
        (frame(0xC1, &[0xff; 40]), 1007, "does not inflate"),
        (
            [frame(0x01, b"a"), frame(0xC1, &data)].concat(),
            1002,
            "before finishing",
        ),
        (
            {
                let mut f = frame(0xC1, &data);
                f[1] |= 0x80;
                f.splice(2..2, [0, 0, 0, 0]);
                f
            },
            1002,
            "masked",
        ),
    ];
    for (bad, code, says) in cases {
        let mut wire = frame(0x81, b"before");
        wire.extend(frame(0xC1, &data));
        wire.extend(bad);
        wire.extend(frame(0x81, b"never seen"));
        for split in [1, 5, 1000] {
            let mut side = ReadSide::new(Some(&agreed(15, true)), true, 1 << 20);
            let (seen, error, _) = drive(&mut side, &wire, split);
            let error = error.unwrap_or_else(|| panic!("{says}: an error"));
            assert_eq!(error.code, code, "{says}");
            assert!(error.message.contains(says), "{says}: {}", error.message);
            let got = messages_until_error(&seen);
            assert_eq!(
                got[..2],
                [(1, b"before".to_vec()), (1, b"fine".to_vec())],
                "{says}: nothing before it is lost (split {split})"
            );
            assert!(!seen.windows(10).any(|w| w == b"never seen"), "{says}");
        }
    }
}

#[test]
fn a_decompression_bomb_stops_at_the_limit_with_memory_bounded() {
    // 64 MiB of zeros compress to about 64 KiB; the limit is 1 MiB.
    let zeros = vec![0u8; 64 << 20];
    let data = Compressor::new(&agreed(15, true)).compress(&zeros);
    assert!(data.len() < 128 * 1024, "{}", data.len());
    let small = Compressor::new(&agreed(15, true)).compress(&zeros[..2 << 20]);
    assert!(
        small.len() < 4096,
        "a few KiB inflate to 2 MiB: {}",
        small.len()
    );
    for wire in [frame(0xC2, &small), frame(0xC2, &data)] {
        let mut side = ReadSide::new(Some(&agreed(15, true)), true, 1 << 20);
        let (seen, error, held) = drive(&mut side, &wire, 16 * 1024);
        let error = error.expect("stopped");
        assert_eq!(error.code, 1009);
        assert!(error.message.contains("1.0 MiB"), "{}", error.message);
        assert!(seen.len() <= (1 << 20) + 64 * 16, "{}", seen.len());
        assert!(held <= BUDGET + 2 * CHUNK + 16 * 1024, "held {held}");
    }
}

#[test]
fn a_message_over_budget_comes_out_in_bounded_steps() {
    let text = json_lines(200_000); // about 8 MiB
    let data = Compressor::new(&agreed(15, false)).compress(&text);
    let mut side = ReadSide::new(Some(&agreed(15, false)), true, 64 << 20);
    let (seen, error, held) = drive(&mut side, &frame(0xC1, &data), 16 * 1024);
    assert_eq!(error, None);
    assert!(held <= BUDGET + 2 * CHUNK + 16 * 1024, "held {held}");
    assert_eq!(messages(&seen), [(1, text)]);
}

#[test]
fn bfinal_ends_the_stream_and_the_next_message_starts_afresh() {
    use flate2::{Compress, Compression, FlushCompress};
    let mut c = Compress::new(Compression::default(), false);
    let mut data = Vec::with_capacity(256);
    c.compress_vec(b"final block", &mut data, FlushCompress::Finish)
        .expect("compress");
    let mut wire = frame(0xC1, &data);
    let next = Compressor::new(&agreed(15, false)).compress(b"next");
    wire.extend(frame(0xC1, &next));
    let mut side = ReadSide::new(Some(&agreed(15, false)), true, 1 << 20);
    let (seen, error, _) = drive(&mut side, &wire, 3);
    assert_eq!(error, None);
    assert_eq!(
        messages(&seen),
        [(1, b"final block".to_vec()), (1, b"next".to_vec())]
    );
}

/// A small deterministic fuzzer (the cargo-fuzz target `frame_observer` does the same with coverage): streams of
/// valid compressed frames, plain frames, control frames and damage, read whole and byte by byte, hand the library
/// the same bytes and end with the same close code; nothing panics.
#[test]
fn damaged_streams_read_the_same_however_they_are_split() {
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for _ in 0..300 {
        let no_takeover = next() % 2 == 0;
        let bits = 9 + (next() % 7) as u8;
        let mut server = Compressor::new(&Negotiated {
            client_no_context_takeover: no_takeover,
            client_max_window_bits: bits,
            ..agreed(bits, no_takeover)
        });
        let mut wire = Vec::new();
        for _ in 0..(1 + next() % 6) {
            match next() % 6 {
                0 | 1 => {
                    let text = json_lines((next() % 200) as usize);
                    let data = server.compress(&text);
                    if next() % 3 == 0 && data.len() > 2 {
                        let cut = 1 + (next() as usize) % (data.len() - 1);
                        wire.extend(frame(0x41, &data[..cut]));
                        wire.extend(frame(0x89, b"mid"));
                        wire.extend(frame(0x80, &data[cut..]));
                    } else {
                        wire.extend(frame(0xC1, &data));
                    }
                }
                2 => wire.extend(frame(0x82, &[7; 40])),
                3 => wire.extend(frame(0x8A, b"pong")),
                _ => {
                    // Damage: a few bytes flipped somewhere.
                    if !wire.is_empty() {
                        for _ in 0..(1 + next() % 3) {
                            let at = (next() as usize) % wire.len();
                            wire[at] ^= (next() % 255) as u8 + 1;
                        }
                    }
                }
            }
        }
        let run = |split: usize| {
            let mut side = ReadSide::new(Some(&agreed(bits, no_takeover)), true, 1 << 20);
            let (seen, error, held) = drive(&mut side, &wire, split);
            assert!(held <= BUDGET + 2 * CHUNK + split, "held {held}");
            (seen, error.map(|e| e.code))
        };
        assert_eq!(run(wire.len().max(1)), run(1));
        assert_eq!(run(wire.len().max(1)), run(7));
    }
}

/// Found in review: a plain data frame inside a compressed message, RSV2/RSV3 on a compressed frame, and frames
/// over the frame limit (compressed on the wire, or as handed on) are each refused.
#[test]
fn what_the_library_cannot_see_in_a_compressed_message_is_refused_here() {
    let data = Compressor::new(&agreed(15, true)).compress(b"Hello");
    for (bad, code, says) in [
        (
            [frame(0x41, &data), frame(0x81, b"hi")].concat(),
            1002,
            "before finishing",
        ),
        (frame(0xE1, &data), 1002, "RSV2 or RSV3"),
        (
            [frame(0x41, &data[..2]), frame(0x90, &data[2..])].concat(),
            1002,
            "RSV2 or RSV3",
        ),
        (
            frame(0xC1, &[0u8; 300]),
            1009,
            "over the limit of 256 bytes",
        ),
    ] {
        let mut side = ReadSide::new(Some(&agreed(15, true)), true, 1 << 20).with_max_frame(256);
        let (_, error, _) = drive(&mut side, &bad, 7);
        let error = error.unwrap_or_else(|| panic!("{says}: refused"));
        assert_eq!(error.code, code, "{says}: {}", error.message);
        assert!(error.message.contains(says), "{says}: {}", error.message);
    }
    // Inflated data goes on in frames no larger than the limit.
    let text = json_lines(100);
    let data = Compressor::new(&agreed(15, true)).compress(&text);
    assert!(data.len() < 1000);
    let mut side = ReadSide::new(Some(&agreed(15, true)), true, 1 << 20).with_max_frame(1000);
    let (seen, error, _) = drive(&mut side, &frame(0xC1, &data), 100);
    assert_eq!(error, None);
    assert!(frames(&seen).iter().all(|f| f.3.len() <= 1000));
    assert_eq!(messages(&seen), [(1, text)]);
}
