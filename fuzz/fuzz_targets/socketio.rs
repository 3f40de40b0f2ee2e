//! The Socket.IO codec (model::protocol::socketio, Socket.IO protocol v4 and v5) fed arbitrary text packets and
//! attachments: decoding and reassembling never panic; whatever decodes encodes to text that decodes to the same
//! packet; and a reassembled binary packet, split for sending and reassembled again, has the same payload.
//! The first byte picks the version (bit 0); the rest, split at 0x00 bytes, is the text packet then attachments.
#![no_main]
use libfuzzer_sys::fuzz_target;
use sockscope::model::protocol::socketio::{
    Reassembler, SioVersion, decode_text, encode_text, split_binary,
};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let version = if selector & 1 == 0 {
        SioVersion::V4
    } else {
        SioVersion::V5
    };
    let mut parts = rest.split(|&b| b == 0);
    let Some(Ok(text)) = parts.next().map(std::str::from_utf8) else {
        return;
    };
    let Ok(packet) = decode_text(text, version) else {
        return;
    };
    assert_eq!(
        decode_text(&encode_text(&packet), version).as_ref(),
        Ok(&packet)
    );

    let mut reassembler = Reassembler::default();
    let mut complete = reassembler.feed_text(packet).ok().flatten();
    for part in parts {
        if complete.is_some() {
            break;
        }
        complete = reassembler.feed_binary(part.to_vec()).ok().flatten();
    }
    let Some(complete) = complete.filter(|p| p.kind.is_binary()) else {
        return;
    };
    let Ok((split, attachments)) = split_binary(complete.clone()) else {
        return;
    };
    let mut again = Reassembler::default();
    let mut rebuilt = again.feed_text(split).expect("split packets reassemble");
    for attachment in attachments {
        assert!(rebuilt.is_none(), "an attachment too many");
        rebuilt = again
            .feed_binary(attachment)
            .expect("split attachments reassemble");
    }
    let rebuilt = rebuilt.expect("all attachments given");
    assert_eq!(
        (&rebuilt.namespace, rebuilt.id, &rebuilt.data),
        (&complete.namespace, complete.id, &complete.data)
    );
});
