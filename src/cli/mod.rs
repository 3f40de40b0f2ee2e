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
    if let Some(path) = &args.rules {
        return serve_rules(path, &args).await;
    }
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
    let addr = SocketAddr::new(args.bind, port);
    warn_if_reachable(addr);
    let bound = tokio::net::TcpListener::bind(addr).await;
    let server = match bound {
        Ok(listener) => EchoServer::with_behaviour(listener, behaviour, Verbosity::Connections),
        Err(e) => {
            eprintln!("error: could not listen on {addr}: {e}");
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

/// A listener on another address than loopback is reachable from other machines: said on stderr.
fn warn_if_reachable(addr: SocketAddr) {
    if !addr.ip().is_loopback() {
        eprintln!(
            "warning: listening on {}, which other machines can reach (the default is 127.0.0.1)",
            addr.ip()
        );
    }
}

/// `serve --rules FILE`: the mock server until interrupted. A rules file that does not load exits 2 with
/// file:line:column.
async fn serve_rules(path: &std::path::Path, args: &ServeArgs) -> i32 {
    use crate::engine::server::mock::MockServer;
    let rules = match crate::model::mock::MockRules::load(path) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return connect::EXIT_USAGE;
        }
    };
    let addr = SocketAddr::new(args.bind, args.port);
    warn_if_reachable(addr);
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(crate::engine::server::mock::MockTls::Files {
            cert: cert.clone(),
            key: key.clone(),
        }),
        _ if args.tls_self_signed => Some(crate::engine::server::mock::MockTls::SelfSigned),
        _ => None,
    };
    let (server, mut events) = match MockServer::bind(addr, rules, tls).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {}: {e}", path.display());
            return connect::EXIT_USAGE;
        }
    };
    if args.json {
        let mut listening = serde_json::json!({"event": "listening", "url": server.url()});
        if let Some(sha) = server.sha256() {
            listening["sha256"] = sha.into();
        }
        println!("{listening}");
    } else {
        if let Some(sha) = server.sha256() {
            eprintln!("certificate SHA-256: {sha}");
        }
        println!("{}", server.url());
        eprintln!(
            "mock server ({}) listening on {} (Ctrl+C to stop)",
            path.display(),
            server.url()
        );
    }
    use std::io::Write;
    let stdout = std::io::stdout();
    loop {
        tokio::select! {
            event = events.recv() => {
                let Some(event) = event else { break };
                let mut out = stdout.lock();
                let line = if args.json { event.to_json().to_string() } else { event.to_line() };
                if writeln!(out, "{line}").and_then(|_| out.flush()).is_err() {
                    break;
                }
            }
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    eprintln!("stopping");
    0
}
