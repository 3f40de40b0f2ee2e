//! Payload input and display: text, hex and base64 entry; hex strings, hex dumps and one-line previews.

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

/// How the user entered a payload.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum PayloadFormat {
    /// UTF-8 text, sent as a text message.
    #[default]
    Text,
    /// Hex digits (spaces, `0x` prefixes, `:` and `-` separators allowed), sent as binary.
    Hex,
    /// Standard or URL-safe base64 (padding optional), sent as binary.
    Base64,
    /// JSON, sent as a text message: checked before it is sent, `{{templates}}` expanded.
    Json,
}

impl PayloadFormat {
    /// The name shown to people.
    pub fn label(self) -> &'static str {
        match self {
            Self::Text => "Text",
            Self::Hex => "Binary (hex)",
            Self::Base64 => "Binary (base64)",
            Self::Json => "JSON",
        }
    }
}

/// Why a hex or base64 payload could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PayloadParseError {
    /// A character that is not a hex digit.
    #[error("'{ch}' at position {position} is not a hex digit")]
    BadHexDigit {
        /// The offending character.
        ch: char,
        /// Its character position (from 1).
        position: usize,
    },
    /// An odd number of hex digits.
    #[error("odd number of hex digits ({0}): each byte needs two")]
    OddHexLength(usize),
    /// Invalid base64.
    #[error("not valid base64: {0}")]
    Base64(String),
}

/// Turns user input into payload bytes.
pub fn parse_payload(input: &str, format: PayloadFormat) -> Result<Vec<u8>, PayloadParseError> {
    match format {
        PayloadFormat::Text | PayloadFormat::Json => Ok(input.as_bytes().to_vec()),
        PayloadFormat::Hex => parse_hex(input),
        PayloadFormat::Base64 => parse_base64(input),
    }
}

fn parse_hex(input: &str) -> Result<Vec<u8>, PayloadParseError> {
    let mut digits = Vec::with_capacity(input.len());
    let mut chars = input.char_indices().peekable();
    while let Some((i, ch)) = chars.next() {
        if ch.is_whitespace() || ch == ':' || ch == '-' || ch == ',' {
            continue;
        }
        if ch == '0' && matches!(chars.peek(), Some((_, 'x' | 'X'))) {
            // A `0x` prefix, either for the whole string or per byte.
            chars.next();
            continue;
        }
        match ch.to_digit(16) {
            Some(d) => digits.push(d as u8),
            None => {
                return Err(PayloadParseError::BadHexDigit {
                    ch,
                    position: input[..i].chars().count() + 1,
                });
            }
        }
    }
    if digits.len() % 2 != 0 {
        return Err(PayloadParseError::OddHexLength(digits.len()));
    }
    Ok(digits.chunks(2).map(|p| (p[0] << 4) | p[1]).collect())
}

fn parse_base64(input: &str) -> Result<Vec<u8>, PayloadParseError> {
    let cleaned: String = input.chars().filter(|c| !c.is_whitespace()).collect();
    let trimmed = cleaned.trim_end_matches('=');
    let engine = if trimmed.contains(['-', '_']) {
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
    } else {
        &base64::engine::general_purpose::STANDARD_NO_PAD
    };
    engine
        .decode(trimmed)
        .map_err(|e| PayloadParseError::Base64(e.to_string()))
}

/// "12 B", "3.4 KiB", "1.2 MiB".
pub fn format_size(bytes: usize) -> String {
    if bytes < 1024 {
        format!("{bytes} B")
    } else if bytes < 1024 * 1024 {
        format!("{:.1} KiB", bytes as f64 / 1024.0)
    } else {
        format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
    }
}

/// Lower-case hex with no separators, as printed by `connect` for binary messages.
pub fn hex_string(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// A classic hex dump: offset, 16 bytes in hex, and their printable ASCII.
pub fn hex_dump(bytes: &[u8]) -> String {
    hex_dump_with(bytes, 16, 8)
}

/// A hex dump of `per_line` bytes a line (an extra space after each 8) with `offset_digits`-digit offsets (more
/// when the payload needs them) and an ASCII column.
pub fn hex_dump_with(bytes: &[u8], per_line: usize, offset_digits: usize) -> String {
    let per_line = per_line.max(1);
    let needed = format!("{:x}", bytes.len().saturating_sub(1)).len();
    let digits = offset_digits.max(needed);
    let mut out = String::with_capacity(bytes.len() * 4 + 16);
    for (line, chunk) in bytes.chunks(per_line).enumerate() {
        let _ = write!(out, "{:0digits$x}  ", line * per_line);
        for i in 0..per_line {
            match chunk.get(i) {
                Some(b) => {
                    let _ = write!(out, "{b:02x} ");
                }
                None => out.push_str("   "),
            }
            if i % 8 == 7 && i + 1 < per_line {
                out.push(' ');
            }
        }
        out.push_str(" |");
        for &b in chunk {
            out.push(if b.is_ascii_graphic() || b == b' ' {
                b as char
            } else {
                '.'
            });
        }
        out.push_str("|\n");
    }
    out
}

/// The width in characters of a [`hex_dump_with`] line.
pub fn hex_line_chars(len: usize, per_line: usize, offset_digits: usize) -> usize {
    let digits = offset_digits.max(format!("{:x}", len.saturating_sub(1)).len());
    digits + 2 + per_line * 3 + per_line.saturating_sub(1) / 8 + 2 + per_line + 1
}

/// A one-line preview of at most `max_chars` characters: text with control characters made visible, or hex.
pub fn preview(bytes: &[u8], is_text: bool, max_chars: usize) -> String {
    let mut out = String::new();
    if is_text {
        // Bytes that are not UTF-8 (a frame that broke the protocol, a preview cut inside a character) show as
        // \xNN: a replacement character would hide them, and not every font has one.
        let head = &bytes[..bytes.len().min(max_chars * 4)];
        let mut shown = 0;
        for chunk in head.utf8_chunks() {
            for ch in chunk.valid().chars() {
                if shown >= max_chars {
                    out.push('…');
                    return out;
                }
                match ch {
                    '\n' => out.push_str("\\n"),
                    '\r' | '\t' => out.push(' '),
                    c if c.is_control() => out.push('·'),
                    c => out.push(c),
                }
                shown += 1;
            }
            for b in chunk.invalid() {
                if shown >= max_chars {
                    out.push('…');
                    return out;
                }
                let _ = write!(out, "\\x{b:02x}");
                shown += 1;
            }
        }
        if bytes.len() > max_chars * 4 {
            out.push('…');
        }
    } else {
        let shown = bytes.len().min(max_chars / 3);
        for (i, b) in bytes[..shown].iter().enumerate() {
            if i > 0 {
                out.push(' ');
            }
            let _ = write!(out, "{b:02x}");
        }
        if shown < bytes.len() {
            out.push_str(" …");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_preview_shows_bytes_that_are_not_utf8_as_escapes() {
        assert_eq!(preview(&[b'o', 0xff, 0xfe, b'k'], true, 80), "o\\xff\\xfek");
        // Cut inside a character: the lone lead byte is shown, not replaced.
        assert_eq!(preview("é".as_bytes()[..1].as_ref(), true, 80), "\\xc3");
        assert_eq!(preview("héllo\n".as_bytes(), true, 3), "hél…");
        assert!(!preview(&[0xff; 40], true, 10).contains('\u{fffd}'));
    }

    #[test]
    fn hex_accepts_common_spellings() {
        let want = vec![0xde, 0xad, 0xbe, 0xef];
        for input in [
            "deadbeef",
            "DE AD BE EF",
            "0xdeadbeef",
            "0xde 0xad 0xbe 0xef",
            "de:ad:be:ef",
            "de-ad\nbe-ef",
        ] {
            assert_eq!(
                parse_payload(input, PayloadFormat::Hex),
                Ok(want.clone()),
                "{input}"
            );
        }
        assert_eq!(parse_payload("", PayloadFormat::Hex), Ok(vec![]));
    }

    #[test]
    fn hex_errors_name_the_problem() {
        assert_eq!(
            parse_payload("12 3g", PayloadFormat::Hex),
            Err(PayloadParseError::BadHexDigit {
                ch: 'g',
                position: 5
            })
        );
        assert_eq!(
            parse_payload("123", PayloadFormat::Hex),
            Err(PayloadParseError::OddHexLength(3))
        );
        assert_eq!(
            parse_payload("é", PayloadFormat::Hex),
            Err(PayloadParseError::BadHexDigit {
                ch: 'é',
                position: 1
            })
        );
    }

    #[test]
    fn base64_standard_urlsafe_and_unpadded() {
        assert_eq!(
            parse_payload("aGVsbG8=", PayloadFormat::Base64),
            Ok(b"hello".to_vec())
        );
        assert_eq!(
            parse_payload("aGVsbG8", PayloadFormat::Base64),
            Ok(b"hello".to_vec())
        );
        assert_eq!(
            parse_payload("-_8", PayloadFormat::Base64),
            Ok(vec![0xfb, 0xff])
        );
        assert_eq!(
            parse_payload("+/8=", PayloadFormat::Base64),
            Ok(vec![0xfb, 0xff])
        );
        assert!(matches!(
            parse_payload("@@@", PayloadFormat::Base64),
            Err(PayloadParseError::Base64(_))
        ));
    }

    #[test]
    fn dump_and_preview() {
        let eight = hex_dump_with(&[0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5], 8, 4);
        assert_eq!(
            eight,
            "0000  de ad be ef 01 02 03 04  |........|\n0008  05                       |.|\n"
        );
        assert_eq!(
            eight.lines().next().expect("a line").chars().count(),
            hex_line_chars(9, 8, 4)
        );
        assert_eq!(
            hex_dump(&[0; 20])
                .lines()
                .next()
                .expect("a line")
                .chars()
                .count(),
            hex_line_chars(20, 16, 8)
        );
        let dump = hex_dump(b"hello, world!\x00\x01\x02xyz");
        assert!(dump.starts_with(
            "00000000  68 65 6c 6c 6f 2c 20 77  6f 72 6c 64 21 00 01 02  |hello, world!...|"
        ));
        assert!(dump.contains("00000010  78 79 7a"));
        assert_eq!(preview(b"a\nb", true, 10), "a\\nb");
        assert_eq!(preview("ééé".as_bytes(), true, 2), "éé…");
        assert_eq!(preview(&[1, 2, 3, 4], false, 6), "01 02 …");
        assert_eq!(hex_string(&[0, 255]), "00ff");
    }
}
