//! Checking received messages against a step's expectations.

use crate::model::session::Matcher;
use crate::model::template::{self, Context};
use serde_json::Value;

/// A received message, as the matcher sees it.
#[derive(Clone, Copy, Debug)]
pub enum Received<'a> {
    /// A data message (text, or binary shown as lossy UTF-8).
    Data(&'a [u8]),
    /// The server closed, with this code.
    Close(Option<u16>),
    /// A message with its protocol's reading, and the id of the step's own protocol message (its ack id or
    /// operation id), when it has one.
    Decoded {
        bytes: &'a [u8],
        decoded: &'a Value,
        step_id: Option<&'a str>,
    },
    /// A binary message read with the session's codec (MessagePack, CBOR, Protobuf): the text, JSON and equals
    /// matchers read its decoded value; `Bytes` still reads its bytes.
    Encoded { bytes: &'a [u8], value: &'a Value },
}

/// A matcher ready to run: templates expanded, regex compiled, JSON parsed.
#[derive(Debug)]
pub enum Compiled {
    /// Exact text.
    Equals(String),
    /// Substring.
    Contains(String),
    /// Regular expression.
    Regex(regex::Regex),
    /// JSON subset.
    JsonSubset(Value),
    /// JSON path equals.
    JsonPath(Vec<PathPart>, Value),
    /// Exact bytes.
    Bytes(Vec<u8>),
    /// Close with an optional code.
    Close(Option<u16>),
    /// A decoded protocol message's value at a path.
    Decoded(Vec<PathPart>, Value),
    /// A protocol message of this type for the step's id.
    Reply(String),
}

/// One step of a JSON path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PathPart {
    /// An object key.
    Key(String),
    /// An array index.
    Index(usize),
}

/// Prepares `matcher`; errors say what is wrong with it.
pub fn compile(matcher: &Matcher, ctx: &Context) -> Result<Compiled, String> {
    let env = |name: &str| std::env::var(name).ok();
    let expand = |s: &str| template::expand(s, ctx, env).map_err(|e| e.to_string());
    Ok(match matcher {
        Matcher::Equals(s) => Compiled::Equals(expand(s)?),
        Matcher::Contains(s) => Compiled::Contains(expand(s)?),
        Matcher::Regex(r) => {
            Compiled::Regex(regex::Regex::new(r).map_err(|e| format!("invalid regex: {e}"))?)
        }
        Matcher::JsonSubset(j) => Compiled::JsonSubset(
            serde_json::from_str(&expand(j)?)
                .map_err(|e| format!("the expected JSON is not valid: {e}"))?,
        ),
        Matcher::JsonPath { path, equals } => Compiled::JsonPath(
            parse_path(path)?,
            serde_json::from_str(&expand(equals)?).map_err(|e| {
                format!("the expected value is not valid JSON (quote strings): {e}")
            })?,
        ),
        Matcher::Bytes(hex) => Compiled::Bytes(
            crate::model::parse_payload(hex, crate::model::PayloadFormat::Hex)
                .map_err(|e| format!("expected bytes: {e}"))?,
        ),
        Matcher::Close(code) => Compiled::Close(*code),
        Matcher::Decoded { path, equals } => Compiled::Decoded(
            parse_path(path)?,
            serde_json::from_str(&expand(equals)?).map_err(|e| {
                format!("the expected value is not valid JSON (quote strings): {e}")
            })?,
        ),
        Matcher::Reply(kind) => {
            let kind = kind.trim();
            if kind.is_empty() {
                return Err(
                    "a reply expectation needs a message type (ack, next, error, complete)".into(),
                );
            }
            Compiled::Reply(kind.to_owned())
        }
    })
}

/// Parses `$.a.b[0]`, `a.b.0` or `a["key with dots"]`-free simple paths.
pub fn parse_path(path: &str) -> Result<Vec<PathPart>, String> {
    let trimmed = path.trim().trim_start_matches('$').trim_start_matches('.');
    let mut parts = Vec::new();
    for segment in trimmed.split('.').filter(|s| !s.is_empty()) {
        let (name, mut rest) = match segment.find('[') {
            Some(i) => (&segment[..i], &segment[i..]),
            None => (segment, ""),
        };
        if !name.is_empty() {
            match name.parse::<usize>() {
                Ok(i) => parts.push(PathPart::Index(i)),
                Err(_) => parts.push(PathPart::Key(name.to_owned())),
            }
        }
        while let Some(stripped) = rest.strip_prefix('[') {
            let Some(end) = stripped.find(']') else {
                return Err(format!("JSON path '{path}': '[' without ']'"));
            };
            let index = stripped[..end].trim().parse::<usize>().map_err(|_| {
                format!(
                    "JSON path '{path}': '[{}]' is not an array index",
                    &stripped[..end]
                )
            })?;
            parts.push(PathPart::Index(index));
            rest = &stripped[end + 1..];
        }
    }
    Ok(parts)
}

fn lookup<'a>(value: &'a Value, path: &[PathPart]) -> Option<&'a Value> {
    path.iter().try_fold(value, |v, part| match part {
        PathPart::Key(k) => v.get(k),
        PathPart::Index(i) => v.get(*i),
    })
}

/// True when `actual` contains `expected`: objects by key (recursively), everything else by equality.
pub fn json_contains(actual: &Value, expected: &Value) -> bool {
    match (actual, expected) {
        (Value::Object(a), Value::Object(e)) => e
            .iter()
            .all(|(k, ev)| a.get(k).is_some_and(|av| json_contains(av, ev))),
        _ => actual == expected,
    }
}

impl Compiled {
    /// Whether `message` satisfies this matcher.
    pub fn matches(&self, message: Received<'_>) -> bool {
        let message = match (self, message) {
            (Compiled::Decoded(path, expected), Received::Decoded { decoded, .. }) => {
                return lookup(decoded, path) == Some(expected);
            }
            (
                Compiled::Reply(kind),
                Received::Decoded {
                    decoded, step_id, ..
                },
            ) => {
                let id = match decoded.get("ack_id").or_else(|| decoded.get("id")) {
                    Some(Value::String(s)) => Some(s.clone()),
                    Some(Value::Number(n)) => Some(n.to_string()),
                    _ => None,
                };
                return decoded.get("type").and_then(Value::as_str) == Some(kind.as_str())
                    && step_id.is_some_and(|want| id.as_deref() == Some(want));
            }
            (Compiled::Decoded(..) | Compiled::Reply(_), _) => return false,
            (Compiled::Bytes(want), Received::Encoded { bytes, .. }) => {
                return want.as_slice() == bytes;
            }
            (_, Received::Encoded { value, .. }) => return self.matches_value(value),
            (_, Received::Decoded { bytes, .. }) => Received::Data(bytes),
            (_, other) => other,
        };
        match (self, message) {
            (Compiled::Close(want), Received::Close(got)) => want.is_none() || *want == got,
            (Compiled::Close(_), _) | (_, Received::Close(_)) => false,
            (Compiled::Bytes(want), Received::Data(bytes)) => want.as_slice() == bytes,
            (_, Received::Data(bytes)) => {
                let text = String::from_utf8_lossy(bytes);
                match self {
                    Compiled::Equals(s) => text == s.as_str(),
                    Compiled::Contains(s) => text.contains(s.as_str()),
                    Compiled::Regex(r) => r.is_match(&text),
                    Compiled::JsonSubset(expected) => serde_json::from_str::<Value>(&text)
                        .is_ok_and(|actual| json_contains(&actual, expected)),
                    Compiled::JsonPath(path, expected) => serde_json::from_str::<Value>(&text)
                        .is_ok_and(|actual| lookup(&actual, path) == Some(expected)),
                    Compiled::Close(_)
                    | Compiled::Bytes(_)
                    | Compiled::Decoded(..)
                    | Compiled::Reply(_) => false,
                }
            }
            (_, Received::Decoded { .. } | Received::Encoded { .. }) => false,
        }
    }

    /// A codec's reading of a binary message: JSON subset and JSON path on the value, equals by JSON value (or
    /// by its compact text), contains and regex on its compact text.
    fn matches_value(&self, value: &Value) -> bool {
        let text = || value.to_string();
        match self {
            Compiled::Equals(s) => serde_json::from_str::<Value>(s)
                .map(|expected| &expected == value)
                .unwrap_or_else(|_| text() == *s),
            Compiled::Contains(s) => text().contains(s.as_str()),
            Compiled::Regex(r) => r.is_match(&text()),
            Compiled::JsonSubset(expected) => json_contains(value, expected),
            Compiled::JsonPath(path, expected) => lookup(value, path) == Some(expected),
            Compiled::Bytes(_)
            | Compiled::Close(_)
            | Compiled::Decoded(..)
            | Compiled::Reply(_) => false,
        }
    }

    /// The expectation in words, for reports ("JSON at $.ok equals true").
    pub fn describe(&self) -> String {
        match self {
            Compiled::Equals(s) => format!("a message equal to {s:?}"),
            Compiled::Contains(s) => format!("a message containing {s:?}"),
            Compiled::Regex(r) => format!("a message matching /{}/", r.as_str()),
            Compiled::JsonSubset(v) => format!("a JSON message containing {v}"),
            Compiled::JsonPath(path, v) => format!("JSON at {} equal to {v}", show_path(path)),
            Compiled::Bytes(b) => {
                format!("a message with the bytes {}", crate::model::hex_string(b))
            }
            Compiled::Close(Some(code)) => format!("the server to close with code {code}"),
            Compiled::Close(None) => "the server to close".to_owned(),
            Compiled::Decoded(path, v) => {
                format!("a protocol message with {} equal to {v}", show_path(path))
            }
            Compiled::Reply(kind) => format!("a protocol {kind} for this step's message"),
        }
    }
}

/// `$.a[0]`.
fn show_path(path: &[PathPart]) -> String {
    let p: Vec<String> = path
        .iter()
        .map(|p| match p {
            PathPart::Key(k) => format!(".{k}"),
            PathPart::Index(i) => format!("[{i}]"),
        })
        .collect();
    format!("${}", p.concat())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(matcher: Matcher) -> Compiled {
        compile(&matcher, &Context::default()).expect("compiles")
    }

    #[test]
    fn text_matchers() {
        assert!(m(Matcher::Equals("hi".into())).matches(Received::Data(b"hi")));
        assert!(!m(Matcher::Equals("hi".into())).matches(Received::Data(b"hi!")));
        assert!(m(Matcher::Contains("ell".into())).matches(Received::Data(b"hello")));
        assert!(m(Matcher::Regex(r"^id-\d+$".into())).matches(Received::Data(b"id-42")));
        assert!(compile(&Matcher::Regex("(".into()), &Context::default()).is_err());
    }

    #[test]
    fn json_matchers() {
        let msg =
            br#"{"type":"joined","room":{"name":"lobby","size":3},"users":["a","b"],"ok":true}"#;
        assert!(
            m(Matcher::JsonSubset(
                r#"{"type":"joined","room":{"name":"lobby"}}"#.into()
            ))
            .matches(Received::Data(msg))
        );
        assert!(
            !m(Matcher::JsonSubset(r#"{"room":{"name":"other"}}"#.into()))
                .matches(Received::Data(msg))
        );
        let path = |p: &str, v: &str| {
            m(Matcher::JsonPath {
                path: p.into(),
                equals: v.into(),
            })
        };
        assert!(path("$.room.size", "3").matches(Received::Data(msg)));
        assert!(path("users[1]", r#""b""#).matches(Received::Data(msg)));
        assert!(path("users.0", r#""a""#).matches(Received::Data(msg)));
        assert!(path("$.ok", "true").matches(Received::Data(msg)));
        assert!(!path("$.missing", "1").matches(Received::Data(msg)));
        assert!(!path("$.ok", "true").matches(Received::Data(b"not json")));
        assert!(parse_path("a[x]").is_err());
    }

    #[test]
    fn close_matcher() {
        assert!(m(Matcher::Close(Some(4000))).matches(Received::Close(Some(4000))));
        assert!(!m(Matcher::Close(Some(4000))).matches(Received::Close(Some(1000))));
        assert!(m(Matcher::Close(None)).matches(Received::Close(None)));
        assert!(!m(Matcher::Contains("x".into())).matches(Received::Close(None)));
        assert_eq!(
            m(Matcher::JsonPath {
                path: "$.a[0]".into(),
                equals: "1".into()
            })
            .describe(),
            "JSON at $.a[0] equal to 1"
        );
    }

    #[test]
    fn protocol_expectations_read_the_decoded_form_and_this_steps_id() {
        let ack = serde_json::json!({"name":"socket.io","type":"ack","ack_id":3,"args":[3]});
        let got = |step_id| Received::Decoded {
            bytes: b"433[3]",
            decoded: &ack,
            step_id,
        };
        let reply = m(Matcher::Reply("ack".into()));
        assert!(reply.matches(got(Some("3"))));
        assert!(!reply.matches(got(Some("4"))), "another step's ack");
        assert!(!reply.matches(got(None)));
        assert!(
            !reply.matches(Received::Data(b"433[3]")),
            "raw messages have no protocol reading"
        );
        let field = m(Matcher::Decoded {
            path: "$.args[0]".into(),
            equals: "3".into(),
        });
        assert!(field.matches(got(None)));
        assert!(
            field
                .describe()
                .contains("protocol message with $.args[0] equal to 3")
        );
        // The text matchers still read the message itself.
        assert!(m(Matcher::Contains("[3]".into())).matches(got(None)));
    }

    #[test]
    fn a_codec_reading_is_matched_as_json() {
        let value = serde_json::json!({"op":"tick","px":97000.5,"ids":[1,2]});
        let bytes = [0x83u8, 0xa2];
        let got = Received::Encoded {
            bytes: &bytes,
            value: &value,
        };
        assert!(m(Matcher::JsonSubset(r#"{"op":"tick"}"#.into())).matches(got));
        assert!(!m(Matcher::JsonSubset(r#"{"op":"trade"}"#.into())).matches(got));
        let path = m(Matcher::JsonPath {
            path: "$.ids[1]".into(),
            equals: "2".into(),
        });
        assert!(path.matches(got));
        // Equals compares JSON values: key order and spacing do not matter.
        assert!(
            m(Matcher::Equals(
                r#"{ "ids":[1,2], "px":97000.5, "op":"tick" }"#.into()
            ))
            .matches(got)
        );
        assert!(!m(Matcher::Equals(r#"{"op":"tick"}"#.into())).matches(got));
        assert!(m(Matcher::Contains(r#""op":"tick""#.into())).matches(got));
        assert!(m(Matcher::Regex(r#""px":97\d+"#.into())).matches(got));
        // Bytes still read the bytes.
        assert!(m(Matcher::Bytes("83 a2".into())).matches(got));
        assert!(!m(Matcher::Bytes("83".into())).matches(got));
        assert!(!m(Matcher::Close(None)).matches(got));
    }
}
