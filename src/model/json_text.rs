//! JSON as people type it: checked with the line and column of the first problem, beautified and minified
//! without touching what is inside strings or numbers, with `{{templates}}` standing for values (they are
//! expanded only when the message is sent).

use std::fmt;

/// `value` written out as JSON (pretty or compact), at most `cap` bytes of it, cut at a character boundary (the
/// rest is never produced), and whether it is whole: a preview, a search or a view of a huge value does not pay
/// for writing all of it.
pub fn capped(value: &serde_json::Value, cap: usize, pretty: bool) -> (String, bool) {
    /// A writer that takes `cap` bytes and then refuses.
    struct Capped {
        out: Vec<u8>,
        cap: usize,
    }
    impl std::io::Write for Capped {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let room = self.cap - self.out.len();
            if room == 0 {
                return Err(std::io::Error::other("enough"));
            }
            let n = room.min(buf.len());
            self.out.extend_from_slice(&buf[..n]);
            Ok(n)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut capped = Capped {
        out: Vec::new(),
        cap,
    };
    let complete = if pretty {
        serde_json::to_writer_pretty(&mut capped, value).is_ok()
    } else {
        serde_json::to_writer(&mut capped, value).is_ok()
    };
    let mut out = capped.out;
    let valid = match std::str::from_utf8(&out) {
        Ok(_) => out.len(),
        Err(e) => e.valid_up_to(),
    };
    out.truncate(valid);
    (String::from_utf8(out).unwrap_or_default(), complete)
}

/// The first thing wrong with a JSON text, where people count: lines and columns from 1.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsonProblem {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for JsonProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}, column {}: {}",
            self.line, self.column, self.message
        )
    }
}

/// The text with every `{{…}}` replaced by a number of the same length, so positions stay where they were and
/// a template stands for a value wherever it is (`{"n": {{counter}}}`, `"{{uuid}}"`).
fn with_templates_as_values(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let Some(end) = rest[start + 2..].find("}}") else {
            break;
        };
        out.push_str(&rest[..start]);
        let len = end + 4;
        let template = &rest[start..start + len];
        if template.contains('\n') {
            out.push_str(template);
        } else {
            out.push('1');
            out.extend(std::iter::repeat_n('0', len - 1));
        }
        rest = &rest[start + len..];
    }
    out.push_str(rest);
    out
}

/// Checks that `text` is one JSON value (templates count as values).
pub fn check(text: &str) -> Result<(), JsonProblem> {
    if text.trim().is_empty() {
        return Err(JsonProblem {
            line: 1,
            column: 1,
            message: "empty: write a JSON value, e.g. {\"type\": \"hello\"}".into(),
        });
    }
    let filled = with_templates_as_values(text);
    match serde_json::from_str::<serde::de::IgnoredAny>(&filled) {
        Ok(_) => Ok(()),
        Err(e) => {
            let full = e.to_string();
            let message = plain_words(match full.rfind(" at line ") {
                Some(i) => &full[..i],
                None => &full,
            });
            let (line, column) = position(text, e.line(), e.column());
            let at = text
                .split('\n')
                .nth(line - 1)
                .and_then(|l| l.chars().nth(column - 1));
            let message = if full.starts_with("expected value") && matches!(at, Some(']' | '}')) {
                "a comma before the closing bracket: remove it".to_owned()
            } else {
                message
            };
            Err(JsonProblem {
                line,
                column,
                message,
            })
        }
    }
}

/// serde_json's words, said for people who are writing JSON by hand.
fn plain_words(message: &str) -> String {
    let said = match message {
        "expected ident" => "a bare word must be true, false or null (put text in \"quotes\")",
        "expected value" => {
            "expected a value: a \"string\", a number, an {object}, an [array], true, false or null"
        }
        "trailing characters" => "more text after the end of the JSON value",
        "EOF while parsing an object" => "the text ends inside an object: a } is missing",
        "EOF while parsing a list" => "the text ends inside an array: a ] is missing",
        "EOF while parsing a string" => "the text ends inside a string: a closing \" is missing",
        "EOF while parsing a value" => "the text ends where a value should be",
        "key must be a string" => "an object's keys must be \"quoted strings\"",
        "trailing comma" => "a comma before the closing bracket: remove it",
        other => return other.to_owned(),
    };
    said.to_owned()
}

/// Where people see the problem. serde_json counts columns in bytes, and puts a problem found at a line break at
/// column 0 of the next line: that is the end of the line before.
fn position(text: &str, line: usize, byte_column: usize) -> (usize, usize) {
    let line = line.max(1);
    if byte_column == 0 && line > 1 {
        let before = text.split('\n').nth(line - 2).unwrap_or_default();
        return (line - 1, before.trim_end_matches('\r').chars().count() + 1);
    }
    (line, char_column(text, line, byte_column))
}

/// serde_json counts columns in bytes; people count characters.
fn char_column(text: &str, line: usize, byte_column: usize) -> usize {
    let Some(line_text) = text.split('\n').nth(line.saturating_sub(1)) else {
        return byte_column.max(1);
    };
    let mut end = byte_column.min(line_text.len());
    while !line_text.is_char_boundary(end) {
        end -= 1;
    }
    line_text[..end].chars().count().max(1)
}

/// Re-lays `text` out: indented two spaces a level (`pretty`), or with no whitespace at all. Strings, numbers and
/// templates are copied as written. The text must pass [`check`] first.
pub fn reformat(text: &str, pretty: bool) -> Result<String, JsonProblem> {
    check(text)?;
    let mut out = String::with_capacity(text.len() + text.len() / 4);
    let mut depth = 0usize;
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        out.extend(std::iter::repeat_n("  ", depth));
    };
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        match c {
            b' ' | b'\t' | b'\r' | b'\n' => i += 1,
            b'"' => {
                let start = i;
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                i = (i + 1).min(bytes.len());
                out.push_str(&text[start..i]);
            }
            b'{' if bytes.get(i + 1) == Some(&b'{') => {
                let end = text[i + 2..]
                    .find("}}")
                    .map_or(bytes.len(), |e| i + 2 + e + 2);
                out.push_str(&text[i..end]);
                i = end;
            }
            b'{' | b'[' => {
                out.push(c as char);
                i += 1;
                let next = text[i..].trim_start().as_bytes().first().copied();
                if next == Some(b'}') || next == Some(b']') {
                    continue;
                }
                depth += 1;
                if pretty {
                    newline(&mut out, depth);
                }
            }
            b'}' | b']' => {
                let empty = matches!(out.as_bytes().last(), Some(b'{' | b'['));
                if !empty {
                    depth = depth.saturating_sub(1);
                    if pretty {
                        newline(&mut out, depth);
                    }
                }
                out.push(c as char);
                i += 1;
            }
            b',' => {
                out.push(',');
                i += 1;
                if pretty {
                    newline(&mut out, depth);
                }
            }
            b':' => {
                out.push(':');
                if pretty {
                    out.push(' ');
                }
                i += 1;
            }
            _ => {
                let start = i;
                while i < bytes.len()
                    && !matches!(
                        bytes[i],
                        b' ' | b'\t'
                            | b'\r'
                            | b'\n'
                            | b','
                            | b':'
                            | b'{'
                            | b'}'
                            | b'['
                            | b']'
                            | b'"'
                    )
                {
                    i += 1;
                }
                while !text.is_char_boundary(i) {
                    i += 1;
                }
                out.push_str(&text[start..i]);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_have_a_line_and_a_column() {
        assert_eq!(check(r#"{"a": 1}"#), Ok(()));
        let e = check("{\n  \"a\": 1,\n  \"b\": tru\n}").expect_err("not valid");
        assert_eq!((e.line, e.column), (3, 11), "right after `tru`: {e}");
        assert!(e.message.contains("true, false or null"), "{e}");
        assert!(!e.to_string().contains(" at line "), "{e}");
        let e = check("{} {}").expect_err("not valid");
        assert!(e.message.contains("more text after the end"), "{e}");
        let e = check("{\"a\": [1, 2,]}").expect_err("not valid");
        assert!(e.message.contains("comma before"), "{e}");
        assert!(
            check("   ")
                .expect_err("not valid")
                .message
                .starts_with("empty")
        );
        // Columns count characters, not bytes.
        let e = check("[\"é\", x]").expect_err("not valid");
        assert_eq!(e.column, 7, "{e}");
    }

    #[test]
    fn templates_stand_for_values() {
        assert_eq!(check(r#"{"n": {{counter}}, "id": "{{uuid}}"}"#), Ok(()));
        assert_eq!(check("[{{a}}, {{ b }}]"), Ok(()));
        let e = check(r#"{"n": {{counter}} x}"#).expect_err("not valid");
        assert_eq!(e.column, 19, "the position is in the text as written: {e}");
    }

    #[test]
    fn beautify_and_minify_keep_what_is_written() {
        let text = r#"{"a":[1,2.50,{"b":"x, y: {z}"}],"t":{{timestamp_ms}},"e":{},"l":[ ]}"#;
        let pretty = reformat(text, true).expect("valid");
        assert_eq!(
            pretty,
            "{\n  \"a\": [\n    1,\n    2.50,\n    {\n      \"b\": \"x, y: {z}\"\n    }\n  ],\n  \"t\": {{timestamp_ms}},\n  \"e\": {},\n  \"l\": []\n}"
        );
        let minified = reformat(&pretty, false).expect("valid");
        assert_eq!(
            minified,
            r#"{"a":[1,2.50,{"b":"x, y: {z}"}],"t":{{timestamp_ms}},"e":{},"l":[]}"#
        );
        assert_eq!(
            reformat("\"é \\\" q\"", true).expect("valid"),
            "\"é \\\" q\""
        );
        assert!(reformat("{", true).is_err());
    }

    #[test]
    fn nothing_typed_panics() {
        for text in [
            "\"\\",
            "{{",
            "{{}}",
            "\"\\é",
            "[1,",
            "}",
            "{\"a\"::1}",
            "\u{0}",
            "[{{x\n}}]",
        ] {
            let _ = check(text);
            let _ = reformat(text, true);
        }
    }
}
