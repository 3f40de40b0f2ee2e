//! A small MessagePack reader and writer between bytes and JSON values, for the protocols that carry it
//! (SignalR's MessagePack hub protocol) and the MessagePack codec (`model::codec`). Bytes (`bin`) read as
//! `{"base64":…}`, extension values as `{"ext":TYPE,"base64":…}` (the timestamp type -1 adds `"timestamp"`, its
//! RFC 3339 time), integers beyond ±2^53 as decimal strings, NaN and the infinities as `{"float":"NaN"}`; the
//! writer takes the same forms. Nesting and the number of values are bounded.

use super::lens::{bytes_value, value_bytes};
use serde_json::{Map, Number, Value, json};

/// Deeper nesting than this is refused (a hostile peer cannot exhaust the stack).
const MAX_DEPTH: usize = 64;

/// Values read from one input at most (each becomes a JSON value of some 80 bytes: memory stays bounded).
const MAX_VALUES: usize = 1 << 20;

/// Room reserved up front for an array at most; a longer one grows as its items really arrive.
const MAX_RESERVE: usize = 1024;

/// Bytes that are not one MessagePack value, in words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Malformed(pub String);

/// Reads one value from the start of `bytes`: the value and the bytes it used.
pub fn read(bytes: &[u8]) -> Result<(Value, usize), Malformed> {
    read_at(bytes).map_err(|(_, e)| e)
}

/// As [`read`]; a failure also says at which byte the value that failed starts.
pub fn read_at(bytes: &[u8]) -> Result<(Value, usize), (usize, Malformed)> {
    let mut r = Reader {
        bytes,
        at: 0,
        values: 0,
        start: 0,
    };
    match r.value(0) {
        Ok(v) => Ok((v, r.at)),
        Err(e) => Err((r.start, e)),
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
    values: usize,
    /// Where the value being read starts.
    start: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], Malformed> {
        if self.bytes.len() - self.at < n {
            return Err(Malformed(format!(
                "the MessagePack value ends early (byte {} of {}, {n} more needed)",
                self.at,
                self.bytes.len()
            )));
        }
        let s = &self.bytes[self.at..self.at + n];
        self.at += n;
        Ok(s)
    }

    fn uint(&mut self, n: usize) -> Result<u64, Malformed> {
        Ok(self
            .take(n)?
            .iter()
            .fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
    }

    fn value(&mut self, depth: usize) -> Result<Value, Malformed> {
        if depth > MAX_DEPTH {
            return Err(Malformed(format!(
                "MessagePack nested deeper than {MAX_DEPTH} levels"
            )));
        }
        self.values += 1;
        if self.values > MAX_VALUES {
            return Err(Malformed(format!(
                "a MessagePack message of more than {MAX_VALUES} values"
            )));
        }
        self.start = self.at;
        let b = self.take(1)?[0];
        Ok(match b {
            0x00..=0x7f => json!(b),
            0x80..=0x8f => self.map((b & 0x0f) as usize, depth)?,
            0x90..=0x9f => self.array((b & 0x0f) as usize, depth)?,
            0xa0..=0xbf => self.str((b & 0x1f) as usize)?,
            0xc0 => Value::Null,
            0xc2 => Value::Bool(false),
            0xc3 => Value::Bool(true),
            0xc4..=0xc6 => {
                let n = self.uint(1 << (b - 0xc4))? as usize;
                bytes_value(self.take(n)?)
            }
            0xc7..=0xc9 => {
                let n = self.uint(1 << (b - 0xc7))? as usize;
                self.ext(n)?
            }
            0xca => {
                let bits = self.uint(4)? as u32;
                float(f64::from(f32::from_bits(bits)))
            }
            0xcb => float(f64::from_bits(self.uint(8)?)),
            0xcc..=0xcf => {
                let n = self.uint(1 << (b - 0xcc))?;
                if n > SAFE_INTEGER {
                    Value::String(n.to_string())
                } else {
                    json!(n)
                }
            }
            0xd0 => json!(self.uint(1)? as u8 as i8),
            0xd1 => json!(self.uint(2)? as u16 as i16),
            0xd2 => json!(self.uint(4)? as u32 as i32),
            0xd3 => {
                let n = self.uint(8)? as i64;
                if n < -(SAFE_INTEGER as i64) {
                    Value::String(n.to_string())
                } else {
                    json!(n)
                }
            }
            0xd4..=0xd8 => self.ext(1 << (b - 0xd4))?,
            0xd9..=0xdb => {
                let n = self.uint(1 << (b - 0xd9))? as usize;
                self.str(n)?
            }
            0xdc | 0xdd => {
                let n = self.uint(if b == 0xdc { 2 } else { 4 })? as usize;
                self.array(n, depth)?
            }
            0xde | 0xdf => {
                let n = self.uint(if b == 0xde { 2 } else { 4 })? as usize;
                self.map(n, depth)?
            }
            0xe0..=0xff => json!(b as i8),
            0xc1 => return Err(Malformed("0xC1 is not used in MessagePack".into())),
        })
    }

    fn str(&mut self, n: usize) -> Result<Value, Malformed> {
        let bytes = self.take(n)?;
        Ok(match std::str::from_utf8(bytes) {
            Ok(s) => Value::String(s.to_owned()),
            Err(_) => bytes_value(bytes),
        })
    }

    fn ext(&mut self, n: usize) -> Result<Value, Malformed> {
        let kind = self.take(1)?[0] as i8;
        let data = self.take(n)?;
        let mut o = Map::new();
        o.insert("ext".into(), json!(kind));
        if let Value::Object(bytes) = bytes_value(data) {
            o.extend(bytes);
        }
        if kind == -1
            && let Some(time) = timestamp(data)
        {
            o.insert("timestamp".into(), Value::String(time));
        }
        Ok(Value::Object(o))
    }

    fn array(&mut self, n: usize, depth: usize) -> Result<Value, Malformed> {
        // Each element takes at least one byte: a length larger than what is left is a lie.
        if n > self.bytes.len() - self.at {
            return Err(Malformed(format!(
                "a MessagePack array of {n} items in {} bytes",
                self.bytes.len() - self.at
            )));
        }
        let mut items = Vec::with_capacity(n.min(MAX_RESERVE));
        for _ in 0..n {
            items.push(self.value(depth + 1)?);
        }
        Ok(Value::Array(items))
    }

    fn map(&mut self, n: usize, depth: usize) -> Result<Value, Malformed> {
        if n > self.bytes.len() - self.at {
            return Err(Malformed(format!(
                "a MessagePack map of {n} entries in {} bytes",
                self.bytes.len() - self.at
            )));
        }
        let mut map = Map::new();
        for _ in 0..n {
            let key = match self.value(depth + 1)? {
                Value::String(s) => s,
                other => other.to_string(),
            };
            map.insert(key, self.value(depth + 1)?);
        }
        Ok(Value::Object(map))
    }
}

fn float(f: f64) -> Value {
    Number::from_f64(f).map_or_else(|| crate::model::codec::special_float(f), Value::Number)
}

/// The MessagePack timestamp extension (type -1; 32, 64 or 96 bits) as an RFC 3339 time in UTC.
fn timestamp(data: &[u8]) -> Option<String> {
    let be = |b: &[u8]| b.iter().fold(0u64, |acc, x| (acc << 8) | u64::from(*x));
    let (secs, nanos) = match data.len() {
        4 => (be(data) as i64, 0u32),
        8 => {
            let all = be(data);
            ((all & 0x3_ffff_ffff) as i64, (all >> 34) as u32)
        }
        12 => (be(&data[4..]) as i64, be(&data[..4]) as u32),
        _ => return None,
    };
    let time = chrono::DateTime::from_timestamp(secs, nanos)?;
    Some(time.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
}

/// A decimal string beyond ±2^53 that fits 64 bits: the integer it spells.
fn big_integer(s: &str) -> Option<Value> {
    let v = crate::model::codec::big_integer(s)?;
    u64::try_from(v)
        .map(|u| json!(u))
        .or_else(|_| i64::try_from(v).map(|i| json!(i)))
        .ok()
}

/// The type and data of an `{"ext":N,"base64":…}` value (a `"timestamp"` beside them is what reading added).
fn ext_value(value: &Value) -> Option<(i8, Vec<u8>)> {
    let object = value.as_object().filter(|o| o.len() >= 2)?;
    let extra = object.len() - 2;
    if !(extra == 0 || (extra == 1 && object.contains_key("timestamp"))) {
        return None;
    }
    let kind = i8::try_from(object.get("ext")?.as_i64()?).ok()?;
    let mut bytes_only = serde_json::Map::new();
    bytes_only.insert("base64".into(), object.get("base64")?.clone());
    Some((kind, value_bytes(&Value::Object(bytes_only))?))
}

const SAFE_INTEGER: u64 = crate::model::codec::SAFE_INTEGER;

/// Writes a JSON value as MessagePack (`{"base64":…}` as `bin`).
pub fn write(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Null => out.push(0xc0),
        Value::Bool(b) => out.push(if *b { 0xc3 } else { 0xc2 }),
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                match u {
                    0..=0x7f => out.push(u as u8),
                    0x80..=0xff => out.extend_from_slice(&[0xcc, u as u8]),
                    0x100..=0xffff => {
                        out.push(0xcd);
                        out.extend_from_slice(&(u as u16).to_be_bytes());
                    }
                    0x1_0000..=0xffff_ffff => {
                        out.push(0xce);
                        out.extend_from_slice(&(u as u32).to_be_bytes());
                    }
                    _ => {
                        out.push(0xcf);
                        out.extend_from_slice(&u.to_be_bytes());
                    }
                }
            } else if let Some(i) = n.as_i64() {
                if i >= -32 {
                    out.push(i as i8 as u8);
                } else {
                    out.push(0xd3);
                    out.extend_from_slice(&i.to_be_bytes());
                }
            } else {
                out.push(0xcb);
                out.extend_from_slice(&n.as_f64().unwrap_or(0.0).to_bits().to_be_bytes());
            }
        }
        Value::String(s) if big_integer(s).is_some() => {
            if let Some(v) = big_integer(s) {
                write(&v, out);
            }
        }
        Value::String(s) => {
            let n = s.len();
            match n {
                0..=31 => out.push(0xa0 | n as u8),
                32..=0xff => out.extend_from_slice(&[0xd9, n as u8]),
                0x100..=0xffff => {
                    out.push(0xda);
                    out.extend_from_slice(&(n as u16).to_be_bytes());
                }
                _ => {
                    out.push(0xdb);
                    out.extend_from_slice(&(n as u32).to_be_bytes());
                }
            }
            out.extend_from_slice(s.as_bytes());
        }
        Value::Array(items) => {
            header(out, items.len(), 0x90, 0xdc);
            for item in items {
                write(item, out);
            }
        }
        Value::Object(map) => {
            if let Some(bytes) = value_bytes(value) {
                out.push(0xc6);
                out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
                out.extend_from_slice(&bytes);
                return;
            }
            if let Some((kind, data)) = ext_value(value) {
                match data.len() {
                    1 => out.push(0xd4),
                    2 => out.push(0xd5),
                    4 => out.push(0xd6),
                    8 => out.push(0xd7),
                    16 => out.push(0xd8),
                    n if n <= 0xff => out.extend_from_slice(&[0xc7, n as u8]),
                    n if n <= 0xffff => {
                        out.push(0xc8);
                        out.extend_from_slice(&(n as u16).to_be_bytes());
                    }
                    n => {
                        out.push(0xc9);
                        out.extend_from_slice(&(n as u32).to_be_bytes());
                    }
                }
                out.push(kind as u8);
                out.extend_from_slice(&data);
                return;
            }
            if let Some(f) = crate::model::codec::float_form(value) {
                out.push(0xcb);
                out.extend_from_slice(&f.to_bits().to_be_bytes());
                return;
            }
            header(out, map.len(), 0x80, 0xde);
            for (k, v) in map {
                write(&Value::String(k.clone()), out);
                write(v, out);
            }
        }
    }
}

fn header(out: &mut Vec<u8>, n: usize, fix: u8, wide: u8) {
    if n < 16 {
        out.push(fix | n as u8);
    } else if n <= 0xffff {
        out.push(wide);
        out.extend_from_slice(&(n as u16).to_be_bytes());
    } else {
        out.push(wide + 1);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_and_bytes_read_as_base64() {
        let v = json!({"a": [1, -1, -100, 300, 70000, 5_000_000_000u64, 1.5, true, null, "x"],
            "long": "y".repeat(40), "bytes": {"base64": "AAEC"}});
        let mut out = Vec::new();
        write(&v, &mut out);
        let (back, used) = read(&out).expect("reads");
        assert_eq!(used, out.len());
        assert_eq!(back, v);
        // The spec's examples: fixarray [1, "a"] and a negative fixint.
        assert_eq!(
            read(&[0x92, 0x01, 0xa1, b'a']).expect("x").0,
            json!([1, "a"])
        );
        assert_eq!(read(&[0xff]).expect("x").0, json!(-1));
    }

    #[test]
    fn ext_timestamps_big_integers_and_special_floats_round_trip() {
        // timestamp32 1 s, timestamp64 with 500 ns, timestamp96 before 1970; an ext of 3 bytes; u64::MAX; i64::MIN.
        let cases: [(&[u8], Value); 6] = [
            (
                &[0xd6, 0xff, 0, 0, 0, 1],
                json!({"ext": -1, "base64": "AAAAAQ==", "timestamp": "1970-01-01T00:00:01Z"}),
            ),
            (
                &[0xd7, 0xff, 0, 0, 0x07, 0xd0, 0, 0, 0, 1],
                json!({"ext": -1, "base64": "AAAH0AAAAAE=", "timestamp": "1970-01-01T00:00:01.000000500Z"}),
            ),
            (
                &[
                    0xc7, 12, 0xff, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                ],
                json!({"ext": -1, "base64": "AAAAAP//////////", "timestamp": "1969-12-31T23:59:59Z"}),
            ),
            (&[0xc7, 3, 5, 1, 2, 3], json!({"ext": 5, "base64": "AQID"})),
            (
                &[0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
                json!("18446744073709551615"),
            ),
            (
                &[0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0],
                json!("-9223372036854775808"),
            ),
        ];
        for (bytes, want) in cases {
            let (value, used) = read(bytes).expect("reads");
            assert_eq!((&value, used), (&want, bytes.len()));
            let mut out = Vec::new();
            write(&value, &mut out);
            assert_eq!(out, bytes, "{want}");
        }
        let mut out = Vec::new();
        write(&json!({"float": "NaN"}), &mut out);
        assert_eq!(read(&out).expect("nan").0, json!({"float": "NaN"}));
        assert_eq!(
            read_at(&[0x92, 0x01, 0xc1]).expect_err("bad").0,
            2,
            "the offset of the bad value"
        );
    }

    #[test]
    fn hostile_input_is_refused_in_words() {
        assert!(read(&[0xdd, 0xff, 0xff, 0xff, 0xff]).is_err());
        assert!(read(&[0xc1]).is_err());
        assert!(read(&[0xa5, b'a']).is_err());
        let deep = vec![0x91; 100];
        assert!(read(&deep).expect_err("deep").0.contains("deeper"));
        // An array that claims as many items as there are bytes left reserves little, and a flood of nils is cut
        // off at the value budget.
        let mut nils = vec![0xdd, 0x00, 0x20, 0x00, 0x00];
        nils.extend(std::iter::repeat_n(0xc0, 0x20_0000));
        assert!(read(&nils).expect_err("budget").0.contains("values"));
    }
}
