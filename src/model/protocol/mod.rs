//! Protocols spoken on top of WebSocket: sans-IO codecs from WebSocket messages to protocol messages and back.

pub mod engineio;
pub mod socketio;
