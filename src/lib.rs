//! sockscope: a native desktop WebSocket tester.
//!
//! # Layout
//! Layers depend one way: `model` ← `engine` ← `app` and `cli`. Each folder is one job:
//! - [`model`]: plain data and rules. No egui, no tokio.
//!   - `request`, `frame`, `stage`, `handshake`, `close`: what a connection is asked, frame rules, stages and
//!     errors, handshake facts, close codes.
//!   - `log/`: log entries, payload formats, the NDJSON schema. `session/`: sessions, expectations, templates,
//!     HAR, k6, JUnit.
//!   - `protocol/`: protocols on top of WebSocket as sans-IO codecs and clients behind one `Lens` interface
//!     (Engine.IO / Socket.IO, GraphQL over WebSocket both ways), and `auto` detection.
//! - [`engine`]: tokio tasks. No egui.
//!   - `connection/`: the actor that owns a connection (reconnects, the attempt's steps, outgoing frames, the
//!     reader task, the shared socket, the protocol's driver).
//!   - `transport/`: how bytes get there (URL, staged connect, proxies, TLS, the upgrade, the observed stream).
//!   - `server/`: servers sockscope runs (the echo server). `events`, `replay`, `errors`, `task`: the event
//!     channel, the replay runner, error wording, timers.
//! - `app`: the egui/eframe GUI (feature `gui`, on by default). Never awaits, never blocks.
//!   - `action`: what panels may ask for. `state/`: the app state by job. `tab/`: one connection tab's state.
//!     `panels/`: one file per panel. `widgets/`: the virtual list and the JSON tree.
//! - [`cli`]: the command line (`connect`, `run`, `serve`, `import-har`, `export-k6`), driving the same engine
//!   headless.

#[cfg(feature = "gui")]
pub mod app;
pub mod cli;
pub mod engine;
pub mod model;
