//! The command line: `sockscope [URL]`, `sockscope connect …`, `sockscope serve …`.

pub mod args;
pub mod connect;
pub mod run;

pub use args::{Cli, CliCommand};

use crate::engine::echo::{EchoServer, Verbosity};
use std::net::SocketAddr;

/// Runs `sockscope serve` until interrupted; returns the exit status.
pub async fn serve(port: u16) -> i32 {
    let bound = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await;
    let server = match bound {
        Ok(listener) => EchoServer::from_listener(listener, Verbosity::Connections),
        Err(e) => {
            eprintln!("error: could not listen on 127.0.0.1:{port}: {e}");
            return connect::EXIT_USAGE;
        }
    };
    println!("{}", server.url());
    eprintln!("echo server listening on {} (Ctrl+C to stop)", server.url());
    let _ = tokio::signal::ctrl_c().await;
    eprintln!("stopping");
    0
}
