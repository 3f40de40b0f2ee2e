//! The MessagePack codec: one message is one MessagePack value (the reader and writer are
//! `model::protocol::msgpack`, which SignalR's MessagePack hub protocol uses too).

use super::{DecodeError, EncodeError};
use crate::model::protocol::msgpack;
use serde_json::Value;

/// Reads the one MessagePack value that fills `bytes`.
pub fn decode(bytes: &[u8]) -> Result<Value, DecodeError> {
    let (value, used) = msgpack::read_at(bytes).map_err(|(at, e)| DecodeError::new(at, e.0))?;
    if used != bytes.len() {
        return Err(DecodeError::new(
            used,
            format!("{} bytes follow the MessagePack value", bytes.len() - used),
        ));
    }
    Ok(value)
}

/// Writes `value` as MessagePack.
pub fn encode(value: &Value) -> Result<Vec<u8>, EncodeError> {
    let mut out = Vec::new();
    msgpack::write(value, &mut out);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn one_value_per_message_with_the_offset_of_a_fault() {
        let bytes = encode(&json!({"a": [1, 2]})).expect("encodes");
        assert_eq!(decode(&bytes), Ok(json!({"a": [1, 2]})));
        let mut longer = bytes.clone();
        longer.push(0xc0);
        assert_eq!(decode(&longer).expect_err("trailing").offset, bytes.len());
        // A 5-byte header announcing 4 Gi items: refused at once, nothing allocated.
        let err = decode(&[0xdd, 0xff, 0xff, 0xff, 0xff]).expect_err("hostile");
        assert_eq!(err.offset, 0);
    }
}
