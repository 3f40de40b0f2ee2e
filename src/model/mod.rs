//! Plain data shared by every layer: what a connection is asked to do, and what it reports.
//!
//! Nothing here knows about egui or tokio, so the GUI, the command line and the tests all speak the same types.

mod close;
pub mod copy_as;
pub mod endpoint;
mod entry;
pub mod expect;
mod frame;
pub mod fsutil;
mod handshake;
pub mod har;
pub mod junit;
pub mod k6;
pub mod ndjson;
mod payload;
mod request;
pub mod session;
mod stage;
pub mod template;

pub use close::{CloseInfo, Initiator, close_code_name, close_code_sendable};
pub use entry::{Direction, EntryExtra, LogEntry, MessageKind, saturating_nanos, unix_nanos};
pub use frame::{FrameInfo, MAX_CONTROL_PAYLOAD, RawFrame, fragment};
pub use handshake::{
    CertInfo, Check, CheckOutcome, HandshakeInfo, HttpHead, ProxyExchange, TlsInfo,
};
pub use payload::{PayloadFormat, PayloadParseError, hex_dump, hex_string, parse_payload, preview};
pub use request::{
    ConnId, ConnectRequest, Heartbeat, Keepalive, OutgoingMessage, ReconnectPolicy, TlsOptions,
};
pub use stage::{ConnState, Stage, StageError, StageTimings};
