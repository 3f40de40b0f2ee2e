//! Plain data shared by every layer: what a connection is asked to do, and what it reports.
//!
//! Nothing here knows about egui or tokio, so the GUI, the command line and the tests all speak the same types.

mod close;
pub mod codec;
pub mod copy_as;
pub mod deflate;
pub mod endpoint;
pub(crate) mod frame;
pub mod fsutil;
pub mod h2;
mod handshake;
pub mod json_text;
pub mod log;
pub mod mock;
pub mod protocol;
mod request;
pub mod session;
mod stage;

pub use close::{CloseInfo, Initiator, MAX_CLOSE_REASON, close_code_name, close_code_sendable};
pub use frame::{FrameInfo, MAX_CONTROL_PAYLOAD, RawFrame, fragment};
pub use handshake::{
    CertInfo, Check, CheckOutcome, HandshakeInfo, HttpHead, ProxyExchange, TlsInfo,
};
pub use log::entry::{Direction, EntryExtra, LogEntry, MessageKind, saturating_nanos, unix_nanos};
pub use log::ndjson;
pub use log::payload::{
    PayloadFormat, PayloadParseError, format_size, hex_dump, hex_dump_with, hex_line_chars,
    hex_string, parse_payload, preview,
};
pub use request::{
    ConnId, ConnectRequest, DEFAULT_H2_WINDOW, Heartbeat, Keepalive, OutgoingMessage,
    ProtocolChoice, ReconnectPolicy, TlsOptions,
};
pub use session::{expect, har, junit, k6, template};
pub use stage::{ConnState, Stage, StageError, StageTimings, millis};
