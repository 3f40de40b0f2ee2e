//! sockscope: a native desktop WebSocket tester.
//!
//! # Layout
//! - [`model`]: plain data (requests, log entries, handshake facts, errors) and the NDJSON schema. No egui, no tokio.
//! - [`engine`]: tokio tasks that connect stage by stage, own each connection, and run the echo server. No egui.
//! - `app`: the egui/eframe GUI (feature `gui`, on by default). Talks to the engine over channels; never awaits, never blocks.
//! - [`cli`]: the command line (`connect`, `serve`), driving the same engine headless.

#[cfg(feature = "gui")]
pub mod app;
pub mod cli;
pub mod engine;
pub mod model;
