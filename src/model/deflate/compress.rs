//! Compressing the messages we send (RFC 7692 §7.2.1).

use super::Negotiated;
use flate2::{Compress, Compression, FlushCompress};

/// The compressor of one connection's outgoing messages, as negotiated.
pub struct Compressor {
    deflate: Compress,
    /// Start every message with an empty window.
    reset_each: bool,
}

impl std::fmt::Debug for Compressor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Compressor")
            .field("reset_each", &self.reset_each)
            .finish_non_exhaustive()
    }
}

/// The trailer a sync flush ends with, which RFC 7692 §7.2.1 takes off every message.
pub(super) const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

impl Compressor {
    /// A compressor for our side of `agreed`.
    ///
    /// zlib (and zlib-rs) cannot compress raw deflate with an 8-bit window; as Chrome does, a window of 8 is
    /// compressed with 9 — and then with a fresh context for every message, so that no match reaches back
    /// further than the message itself (which a peer inflating with 256 bytes of history could not follow).
    pub fn new(agreed: &Negotiated) -> Self {
        let bits = agreed.client_max_window_bits.clamp(9, 15);
        Self {
            deflate: Compress::new_with_window_bits(Compression::default(), false, bits),
            reset_each: agreed.client_no_context_takeover || agreed.client_max_window_bits < 9,
        }
    }

    /// `payload` compressed as one message's data (the trailer removed).
    pub fn compress(&mut self, payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(payload.len() / 2 + 64);
        let mut input = payload;
        loop {
            if out.capacity() - out.len() < 64 {
                out.reserve(out.capacity().max(1024));
            }
            let before = self.deflate.total_in();
            // Raw deflate has no failure on any input (a second sync flush with nothing new is a BufError, which
            // says only that).
            if self
                .deflate
                .compress_vec(input, &mut out, FlushCompress::Sync)
                .is_err()
            {
                break;
            }
            let used = (self.deflate.total_in() - before) as usize;
            input = &input[used..];
            // Done once everything went in and the flush left room to spare (a full buffer may hold more).
            if input.is_empty() && out.capacity() - out.len() >= 64 {
                break;
            }
        }
        if out.ends_with(&TAIL) {
            out.truncate(out.len() - TAIL.len());
        }
        if self.reset_each {
            self.deflate.reset();
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::{Decompress, FlushDecompress};

    fn agreed(client_bits: u8, no_takeover: bool) -> Negotiated {
        Negotiated {
            server_no_context_takeover: false,
            client_no_context_takeover: no_takeover,
            server_max_window_bits: 15,
            client_max_window_bits: client_bits,
            params: Vec::new(),
            offer_index: 0,
        }
    }

    fn inflate(d: &mut Decompress, data: &[u8]) -> Vec<u8> {
        let mut input = data.to_vec();
        input.extend_from_slice(&TAIL);
        let mut out = Vec::with_capacity(1 << 20);
        d.decompress_vec(&input, &mut out, FlushDecompress::Sync)
            .expect("inflates");
        out
    }

    #[test]
    fn the_rfc_examples_compress_as_written() {
        // RFC 7692 §7.2.3.1: "Hello" compressed is f2 48 cd c9 c9 07 00.
        let mut c = Compressor::new(&agreed(15, false));
        assert_eq!(
            c.compress(b"Hello"),
            [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]
        );
        // §7.2.3.2: the same again with the context kept is shorter.
        assert_eq!(c.compress(b"Hello"), [0xf2, 0x00, 0x11, 0x00, 0x00]);
        // §7.2.3.6: an empty message is a single 0x00.
        assert_eq!(Compressor::new(&agreed(15, true)).compress(b""), [0x00]);
    }

    #[test]
    fn messages_round_trip_with_and_without_context_takeover_at_every_window() {
        let text: Vec<u8> = (0..20_000u32)
            .flat_map(|n| format!("{{\"n\":{},\"name\":\"item-{}\"}}", n, n % 97).into_bytes())
            .collect();
        for bits in 8..=15u8 {
            for no_takeover in [false, true] {
                let mut c = Compressor::new(&agreed(bits, no_takeover));
                let mut d = Decompress::new_with_window_bits(false, bits.max(9));
                for round in 0..3 {
                    let wire = c.compress(&text);
                    assert!(wire.len() < text.len() / 4, "bits {bits} round {round}");
                    if no_takeover || bits < 9 {
                        d.reset(false);
                    }
                    assert_eq!(inflate(&mut d, &wire), text, "bits {bits} round {round}");
                }
            }
        }
    }
}
