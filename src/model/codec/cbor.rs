//! CBOR (RFC 8949) ↔ JSON, as sockscope shows and composes binary payloads: byte strings as `{"base64":…}`, tags
//! as `{"tag":N,"value":…}`, integers beyond ±2^53 as decimal strings, a map key that is not a text string as the
//! JSON text of the key, NaN and the infinities as `{"float":"NaN"}` (`"Infinity"`, `"-Infinity"`), `undefined`
//! as `null`, other simple values as `{"simple":N}`. Indefinite-length items are read whole. Reading is bounded:
//! nesting, the number of values, and no allocation sized by a length the input cannot hold.

use super::{DecodeError, EncodeError, SAFE_INTEGER, big_integer};
use crate::model::protocol::lens::{bytes_value, value_bytes};
use serde_json::{Map, Number, Value, json};

/// Deeper nesting than this is refused.
const MAX_DEPTH: usize = 128;
/// Values read from one message at most.
const MAX_VALUES: usize = 1 << 20;
/// Room reserved up front for an array at most.
const MAX_RESERVE: usize = 1024;

/// Reads one CBOR data item that fills `bytes` (bytes after it are an error).
pub fn decode(bytes: &[u8]) -> Result<Value, DecodeError> {
    let mut r = Reader {
        bytes,
        at: 0,
        values: 0,
        item_start: 0,
    };
    let value = r.item(0)?;
    if r.at != bytes.len() {
        return Err(DecodeError::new(
            r.at,
            format!("{} bytes follow the CBOR data item", bytes.len() - r.at),
        ));
    }
    Ok(value)
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
    values: usize,
    /// Where the item being read starts (what a failure points at).
    item_start: usize,
}

/// What a head announced.
enum Arg {
    Value(u64),
    Indefinite,
}

impl Reader<'_> {
    fn fail<T>(&self, at: usize, cause: impl Into<String>) -> Result<T, DecodeError> {
        Err(DecodeError::new(at, cause))
    }

    fn left(&self) -> usize {
        self.bytes.len() - self.at
    }

    fn take(&mut self, n: u64) -> Result<&[u8], DecodeError> {
        if (self.left() as u64) < n {
            return self.fail(
                self.item_start,
                format!("the item needs {n} more bytes, {} are left", self.left()),
            );
        }
        let n = n as usize;
        let s = &self.bytes[self.at..self.at + n];
        self.at += n;
        Ok(s)
    }

    fn uint(&mut self, n: u64) -> Result<u64, DecodeError> {
        Ok(self
            .take(n)?
            .iter()
            .fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
    }

    /// The head's major type, additional information and argument.
    fn head(&mut self) -> Result<(u8, u8, Arg), DecodeError> {
        let start = self.at;
        let b = self.take(1)?[0];
        let (major, info) = (b >> 5, b & 0x1f);
        let arg = match info {
            0..=23 => Arg::Value(u64::from(info)),
            24 => Arg::Value(self.uint(1)?),
            25 => Arg::Value(self.uint(2)?),
            26 => Arg::Value(self.uint(4)?),
            27 => Arg::Value(self.uint(8)?),
            31 if matches!(major, 2..=5 | 7) => Arg::Indefinite,
            _ => {
                return self.fail(
                    start,
                    format!("additional information {info} is not used with major type {major}"),
                );
            }
        };
        Ok((major, info, arg))
    }

    fn item(&mut self, depth: usize) -> Result<Value, DecodeError> {
        let start = self.at;
        self.item_start = start;
        if depth > MAX_DEPTH {
            return self.fail(start, format!("nested deeper than {MAX_DEPTH} levels"));
        }
        self.values += 1;
        if self.values > MAX_VALUES {
            return self.fail(
                start,
                format!("more than {MAX_VALUES} values in one message"),
            );
        }
        let (major, info, arg) = self.head()?;
        match (major, arg) {
            (0, Arg::Value(n)) => Ok(unsigned(n)),
            (1, Arg::Value(n)) => Ok(negative(n)),
            (2, arg) => {
                let bytes = self.string(2, arg, start)?;
                Ok(bytes_value(&bytes))
            }
            (3, arg) => {
                let bytes = self.string(3, arg, start)?;
                match String::from_utf8(bytes) {
                    Ok(s) => Ok(Value::String(s)),
                    Err(_) => self.fail(start, "a text string that is not UTF-8"),
                }
            }
            (4, arg) => {
                let mut items = Vec::new();
                match arg {
                    Arg::Value(n) => {
                        self.room(n, start, "array")?;
                        items.reserve(n.min(MAX_RESERVE as u64) as usize);
                        for _ in 0..n {
                            items.push(self.item(depth + 1)?);
                        }
                    }
                    Arg::Indefinite => {
                        while !self.at_break()? {
                            items.push(self.item(depth + 1)?);
                        }
                    }
                }
                Ok(Value::Array(items))
            }
            (5, arg) => {
                let mut map = Map::new();
                match arg {
                    Arg::Value(n) => {
                        self.room(n.saturating_mul(2), start, "map")?;
                        for _ in 0..n {
                            self.entry(&mut map, depth)?;
                        }
                    }
                    Arg::Indefinite => {
                        while !self.at_break()? {
                            self.entry(&mut map, depth)?;
                        }
                    }
                }
                Ok(Value::Object(map))
            }
            (6, Arg::Value(tag)) => {
                let value = self.item(depth + 1)?;
                Ok(tagged(tag, value))
            }
            (7, arg) => self.simple(info, arg, start),
            _ => self.fail(start, format!("major type {major} cannot be indefinite")),
        }
    }

    /// Each item takes at least one byte: a count larger than what is left is a lie, refused before any room is
    /// taken for it.
    fn room(&self, n: u64, start: usize, what: &str) -> Result<(), DecodeError> {
        if n > self.left() as u64 {
            return self.fail(
                start,
                format!("an {what} of {n} items in the {} bytes left", self.left()),
            );
        }
        Ok(())
    }

    fn entry(&mut self, map: &mut Map<String, Value>, depth: usize) -> Result<(), DecodeError> {
        let key = match self.item(depth + 1)? {
            Value::String(s) => s,
            other => other.to_string(),
        };
        let value = self.item(depth + 1)?;
        map.insert(key, value);
        Ok(())
    }

    fn at_break(&mut self) -> Result<bool, DecodeError> {
        match self.bytes.get(self.at) {
            Some(0xff) => {
                self.at += 1;
                Ok(true)
            }
            Some(_) => Ok(false),
            None => self.fail(self.at, "an indefinite-length item has no break (0xff)"),
        }
    }

    /// A byte or text string, definite or made of definite chunks of the same type.
    fn string(&mut self, major: u8, arg: Arg, start: usize) -> Result<Vec<u8>, DecodeError> {
        match arg {
            Arg::Value(n) => Ok(self.take(n)?.to_vec()),
            Arg::Indefinite => {
                let mut all = Vec::new();
                while !self.at_break()? {
                    let chunk_at = self.at;
                    match self.head()? {
                        (m, _, Arg::Value(n)) if m == major => all.extend_from_slice(self.take(n)?),
                        _ => {
                            return self.fail(
                                chunk_at,
                                format!(
                                    "a chunk of an indefinite-length string (at {start}) is not a definite string of \
                                     the same type"
                                ),
                            );
                        }
                    }
                }
                Ok(all)
            }
        }
    }

    fn simple(&mut self, info: u8, arg: Arg, start: usize) -> Result<Value, DecodeError> {
        let Arg::Value(n) = arg else {
            return self.fail(start, "a break (0xff) outside an indefinite-length item");
        };
        Ok(match info {
            20 => Value::Bool(false),
            21 => Value::Bool(true),
            22 | 23 => Value::Null,
            25 => float(f64::from(half(n as u16))),
            26 => float(f64::from(f32::from_bits(n as u32))),
            27 => float(f64::from_bits(n)),
            24 if n < 32 => return self.fail(start, format!("simple value {n} in two bytes")),
            _ => json!({ "simple": n }),
        })
    }
}

fn unsigned(n: u64) -> Value {
    if n <= SAFE_INTEGER {
        json!(n)
    } else {
        Value::String(n.to_string())
    }
}

fn negative(n: u64) -> Value {
    let v = -1 - i128::from(n);
    if v >= -(SAFE_INTEGER as i128) {
        json!(v as i64)
    } else {
        Value::String(v.to_string())
    }
}

/// Tags 2 and 3 (bignums) as decimal strings when they fit 128 bits; every other tag as `{"tag":N,"value":…}`.
fn tagged(tag: u64, value: Value) -> Value {
    if let (2 | 3, Some(bytes)) = (tag, value_bytes(&value))
        && bytes.len() <= 16
    {
        let n = bytes
            .iter()
            .fold(0u128, |acc, b| (acc << 8) | u128::from(*b));
        return Value::String(if tag == 2 {
            n.to_string()
        } else {
            format!("-{}", n + 1)
        });
    }
    json!({ "tag": tag, "value": value })
}

fn float(f: f64) -> Value {
    match Number::from_f64(f) {
        Some(n) => Value::Number(n),
        None => super::special_float(f),
    }
}

/// An IEEE 754 half-precision float.
fn half(bits: u16) -> f32 {
    let sign = if bits & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exp = (bits >> 10) & 0x1f;
    let frac = f32::from(bits & 0x3ff);
    sign * match exp {
        0 => frac * 2f32.powi(-24),
        31 if frac == 0.0 => f32::INFINITY,
        31 => f32::NAN,
        e => (1.0 + frac / 1024.0) * 2f32.powi(i32::from(e) - 15),
    }
}

/// Writes `value` as CBOR, taking the forms [`decode`] gives: `{"base64":…}` is a byte string,
/// `{"tag":N,"value":…}` a tag, a decimal string beyond ±2^53 an integer (a bignum past 64 bits), `{"simple":N}` a
/// simple value. Integers are written in their shortest head, other numbers as 64-bit floats.
pub fn encode(value: &Value) -> Result<Vec<u8>, EncodeError> {
    let mut out = Vec::new();
    write(value, &mut out, 0)?;
    Ok(out)
}

fn head(out: &mut Vec<u8>, major: u8, n: u64) {
    let m = major << 5;
    match n {
        0..=23 => out.push(m | n as u8),
        24..=0xff => out.extend_from_slice(&[m | 24, n as u8]),
        0x100..=0xffff => {
            out.push(m | 25);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        0x1_0000..=0xffff_ffff => {
            out.push(m | 26);
            out.extend_from_slice(&(n as u32).to_be_bytes());
        }
        _ => {
            out.push(m | 27);
            out.extend_from_slice(&n.to_be_bytes());
        }
    }
}

/// An integer of any size CBOR takes (up to 128 bits through bignum tags).
fn integer(out: &mut Vec<u8>, v: i128) {
    if v >= 0 {
        match u64::try_from(v) {
            Ok(u) => head(out, 0, u),
            Err(_) => bignum(out, 2, v as u128),
        }
    } else {
        let n = -1 - v;
        match u64::try_from(n) {
            Ok(u) => head(out, 1, u),
            Err(_) => bignum(out, 3, n as u128),
        }
    }
}

fn bignum(out: &mut Vec<u8>, tag: u64, n: u128) {
    head(out, 6, tag);
    let bytes = n.to_be_bytes();
    let first = bytes.iter().position(|b| *b != 0).unwrap_or(15);
    head(out, 2, (16 - first) as u64);
    out.extend_from_slice(&bytes[first..]);
}

fn write(value: &Value, out: &mut Vec<u8>, depth: usize) -> Result<(), EncodeError> {
    if depth > MAX_DEPTH {
        return Err(EncodeError(format!(
            "nested deeper than {MAX_DEPTH} levels"
        )));
    }
    match value {
        Value::Null => out.push(0xf6),
        Value::Bool(b) => out.push(if *b { 0xf5 } else { 0xf4 }),
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                head(out, 0, u);
            } else if let Some(i) = n.as_i64() {
                integer(out, i128::from(i));
            } else {
                out.push(0xfb);
                out.extend_from_slice(&n.as_f64().unwrap_or(0.0).to_bits().to_be_bytes());
            }
        }
        Value::String(s) => {
            if let Some(v) = big_integer(s) {
                integer(out, v);
            } else {
                head(out, 3, s.len() as u64);
                out.extend_from_slice(s.as_bytes());
            }
        }
        Value::Array(items) => {
            head(out, 4, items.len() as u64);
            for item in items {
                write(item, out, depth + 1)?;
            }
        }
        Value::Object(map) => {
            if let Some(bytes) = value_bytes(value) {
                head(out, 2, bytes.len() as u64);
                out.extend_from_slice(&bytes);
                return Ok(());
            }
            if map.len() == 2
                && let (Some(tag), Some(inner)) = (map.get("tag"), map.get("value"))
            {
                let Some(tag) = tag.as_u64() else {
                    return Err(EncodeError(format!(
                        "a CBOR tag is a number from 0 to 2^64-1, not {tag}"
                    )));
                };
                head(out, 6, tag);
                return write(inner, out, depth + 1);
            }
            if let Some(f) = super::float_form(value) {
                out.push(0xfb);
                out.extend_from_slice(&f.to_bits().to_be_bytes());
                return Ok(());
            }
            if map.len() == 1
                && let Some(simple) = map.get("simple")
            {
                return match simple.as_u64() {
                    Some(n @ (0..=19 | 32..=255)) => {
                        if n < 24 {
                            out.push(0xe0 | n as u8);
                        } else {
                            out.extend_from_slice(&[0xf8, n as u8]);
                        }
                        Ok(())
                    }
                    _ => Err(EncodeError(format!(
                        "a CBOR simple value is 0..19 or 32..255 (20..23 are false, true, null, undefined), not {simple}"
                    ))),
                };
            }
            head(out, 5, map.len() as u64);
            for (k, v) in map {
                head(out, 3, k.len() as u64);
                out.extend_from_slice(k.as_bytes());
                write(v, out, depth + 1)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
            .collect()
    }

    /// RFC 8949 Appendix A's examples.
    #[test]
    fn the_rfc_examples_read_as_json() {
        for (h, json) in [
            ("00", "0"),
            ("1903e8", "1000"),
            ("1bffffffffffffffff", "\"18446744073709551615\""),
            ("c249010000000000000000", "\"18446744073709551616\""),
            ("3bffffffffffffffff", "\"-18446744073709551616\""),
            ("c349010000000000000000", "\"-18446744073709551617\""),
            ("20", "-1"),
            ("3903e7", "-1000"),
            ("f93c00", "1.0"),
            ("f97bff", "65504.0"),
            ("fa47c35000", "100000.0"),
            ("fb7e37e43c8800759c", "1e300"),
            ("f97c00", "{\"float\":\"Infinity\"}"),
            ("f97e00", "{\"float\":\"NaN\"}"),
            ("f9fc00", "{\"float\":\"-Infinity\"}"),
            ("f4", "false"),
            ("f6", "null"),
            ("f7", "null"),
            ("f0", "{\"simple\":16}"),
            ("f8ff", "{\"simple\":255}"),
            (
                "c074323031332d30332d32315432303a30343a30305a",
                "{\"tag\":0,\"value\":\"2013-03-21T20:04:00Z\"}",
            ),
            (
                "d74401020304",
                "{\"tag\":23,\"value\":{\"base64\":\"AQIDBA==\"}}",
            ),
            ("4401020304", "{\"base64\":\"AQIDBA==\"}"),
            ("6449455446", "\"IETF\""),
            ("62c3bc", "\"ü\""),
            ("8301820203820405", "[1,[2,3],[4,5]]"),
            ("a201020304", "{\"1\":2,\"3\":4}"),
            ("a26161016162820203", "{\"a\":1,\"b\":[2,3]}"),
            ("5f42010243030405ff", "{\"base64\":\"AQIDBAU=\"}"),
            ("7f657374726561646d696e67ff", "\"streaming\""),
            ("9f018202039f0405ffff", "[1,[2,3],[4,5]]"),
            ("bf61610161629f0203ffff", "{\"a\":1,\"b\":[2,3]}"),
            ("826161bf61626163ff", "[\"a\",{\"b\":\"c\"}]"),
        ] {
            let want: Value = serde_json::from_str(json).expect("json");
            assert_eq!(decode(&hex(h)), Ok(want), "{h}");
        }
        // The smallest half-precision subnormal, 2^-24 (compared as a number: JSON text parsing may round).
        let tiny = decode(&hex("f90001")).expect("half");
        assert_eq!(tiny.as_f64(), Some(2f64.powi(-24)));
    }

    #[test]
    fn what_decodes_encodes_back_to_the_same_value() {
        for json in [
            r#"{"a":[1,-1,-1000,1000000,"18446744073709551616","-18446744073709551617",1.5,true,null]}"#,
            r#"{"tag":1,"value":1363896240}"#,
            r#"{"bytes":{"base64":"AP8="},"deep":[[[{"x":"y"}]]],"simple":{"simple":99}}"#,
            r#"[{"float":"NaN"},{"float":"Infinity"},{"float":"-Infinity"},"9007199254740993","NaN"]"#,
        ] {
            let value: Value = serde_json::from_str(json).expect("json");
            let bytes = encode(&value).expect("encodes");
            assert_eq!(decode(&bytes), Ok(value), "{json}");
        }
        // The shortest heads (RFC 8949 §4.2.1).
        assert_eq!(encode(&json!(1000)).expect("int"), hex("1903e8"));
        assert_eq!(encode(&json!(-1)).expect("int"), hex("20"));
        assert_eq!(
            encode(&json!("18446744073709551616")).expect("bignum"),
            hex("c249010000000000000000")
        );
        assert!(encode(&json!({"tag": -1, "value": 0})).is_err());
        assert!(encode(&json!({"simple": 21})).is_err());
    }

    #[test]
    fn hostile_input_is_refused_with_its_offset_and_never_allocated() {
        // An array announcing 2^64-1 items, a map 2^32, a byte string 4 GiB: refused, nothing reserved.
        for h in ["9bffffffffffffffff", "ba ffffffff", "5affffffff00"] {
            let bytes = hex(&h.replace(' ', ""));
            let err = decode(&bytes).expect_err(h);
            assert_eq!(err.offset, 0, "{h}: {err}");
        }
        let deep = vec![0x81u8; 10_000];
        assert!(
            decode(&deep)
                .expect_err("deep")
                .cause
                .contains("nested deeper")
        );
        assert!(decode(&hex("ff")).is_err(), "a lone break");
        assert!(
            decode(&hex("1c")).is_err(),
            "reserved additional information"
        );
        assert!(
            decode(&hex("5f4101ff00"))
                .expect_err("trailing")
                .cause
                .contains("follow")
        );
        assert!(
            decode(&hex("5f6101ff")).is_err(),
            "a text chunk in a byte string"
        );
        assert!(decode(&hex("62ff00")).is_err(), "bad UTF-8");
        assert!(decode(&hex("9f01")).is_err(), "no break");
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..3000 {
            let mut junk = [0u8; 24];
            for b in &mut junk {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                *b = seed as u8;
            }
            let _ = decode(&junk);
        }
    }
}
