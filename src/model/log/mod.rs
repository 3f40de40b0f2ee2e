//! The message log's data: one entry per message or frame, payload formats (text, hex, base64, previews) and the
//! NDJSON schema that `connect --json`, Export and the tests share.

pub mod entry;
pub mod ndjson;
pub mod payload;
