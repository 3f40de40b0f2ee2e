//! The command line: `sockscope [URL]`, `sockscope connect …`, `sockscope serve …`.

pub mod args;
pub mod connect;
pub mod load;
pub mod run;

pub use args::{Cli, CliCommand};

use crate::engine::echo::{Behaviour, EchoServer, Verbosity};
use args::ServeArgs;
use std::net::SocketAddr;

/// The largest `serve --flood --size`: the largest frame a client accepts by default.
pub const MAX_FLOOD_MESSAGE_BYTES: usize = 16 << 20;

/// Runs `sockscope serve` until interrupted; returns the exit status.
pub async fn serve(args: ServeArgs) -> i32 {
    let port = args.port;
    if args.size > MAX_FLOOD_MESSAGE_BYTES {
        eprintln!(
            "error: --size {} is too large: a flood message may be at most {MAX_FLOOD_MESSAGE_BYTES} bytes (16 MiB)",
            args.size
        );
        return connect::EXIT_USAGE;
    }
    let behaviour = match args.flood {
        Some(count) => Behaviour::Flood {
            count,
            size: args.size,
        },
        None => Behaviour::Echo,
    };
    let bound = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await;
    let server = match bound {
        Ok(listener) => EchoServer::with_behaviour(listener, behaviour, Verbosity::Connections),
        Err(e) => {
            eprintln!("error: could not listen on 127.0.0.1:{port}: {e}");
            return connect::EXIT_USAGE;
        }
    };
    println!("{}", server.url());
    let what = match behaviour {
        Behaviour::Echo => "echo server".to_owned(),
        Behaviour::Flood { count, size } => {
            format!("flood server ({count} × {size} bytes per client)")
        }
    };
    eprintln!("{what} listening on {} (Ctrl+C to stop)", server.url());
    let _ = tokio::signal::ctrl_c().await;
    eprintln!("stopping");
    0
}
