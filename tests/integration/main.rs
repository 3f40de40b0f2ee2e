//! Integration tests: real servers on 127.0.0.1:0 started by each test, the real binary for the CLI, and the
//! GUI driven headless through egui_kittest. One test binary keeps link times down.

mod cli;
mod deflate;
mod engine;
mod hostile;
mod inspect;
mod interop;
mod keepalive;
mod mock;
mod regressions;
mod servers;
mod sessions;
mod skips;
mod tls;
mod ui;
