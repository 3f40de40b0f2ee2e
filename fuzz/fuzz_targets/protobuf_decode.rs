//! The Protobuf codec (model::codec::protobuf) fed arbitrary payloads for a message type with every kind of
//! field (compiled once from an inline .proto): decoding never panics, and whatever decodes (unknown fields
//! included, as "#N") encodes to bytes that decode to the same JSON.
#![no_main]
use libfuzzer_sys::fuzz_target;
use sockscope::model::codec::protobuf::{MessageType, compile};
use std::sync::OnceLock;

fn message_type() -> &'static MessageType {
    static TYPE: OnceLock<MessageType> = OnceLock::new();
    TYPE.get_or_init(|| {
        let dir = std::env::temp_dir().join("sockscope-fuzz-proto");
        std::fs::create_dir_all(&dir).expect("temp dir");
        let file = dir.join("fuzz.proto");
        std::fs::write(
            &file,
            "syntax = \"proto3\"; package f; message Inner { sint64 s = 1; fixed32 f = 2; }\n\
             message M { string a = 1; int64 b = 2; repeated int32 c = 3; map<string, Inner> d = 4;\n\
             oneof o { bool e = 5; Inner g = 6; } bytes h = 7; double i = 8; repeated Inner j = 9; }",
        )
        .expect("write");
        compile(&[file], &[]).expect("compiles").message("f.M").expect("type")
    })
}

fuzz_target!(|data: &[u8]| {
    let t = message_type();
    if let Ok(value) = t.decode(data) {
        let bytes = t.encode(&value).expect("a decoded message encodes");
        assert_eq!(t.decode(&bytes).ok(), Some(value));
    }
});
