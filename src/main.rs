//! The `sockscope` binary: parses the command line and hands over to the GUI or a subcommand.

use clap::{CommandFactory, FromArgMatches};
use sockscope::cli::{Cli, CliCommand, connect};

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SOCKSCOPE_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();

    let matches = Cli::command().get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    let code = match cli.command {
        None => window(cli.url),
        Some(CliCommand::Connect(args)) => match args.plan(matches.subcommand_matches("connect")) {
            Ok(plan) => single_thread_runtime().block_on(connect::run(plan)),
            Err(e) => {
                eprintln!("error: {e}");
                connect::EXIT_USAGE
            }
        },
        Some(CliCommand::Serve(args)) => runtime().block_on(sockscope::cli::serve(args)),
        Some(CliCommand::Run(args)) => runtime().block_on(sockscope::cli::run::run(args)),
        Some(CliCommand::ImportHar(args)) => sockscope::cli::run::import_har(args),
        Some(CliCommand::ExportK6(args)) => sockscope::cli::run::export_k6(args),
        Some(CliCommand::Load(args)) => sockscope::cli::load::load(args),
    };
    std::process::exit(code);
}

#[cfg(feature = "gui")]
fn window(url: Option<String>) -> i32 {
    match sockscope::app::run(url) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: could not open the window: {e:#}");
            1
        }
    }
}

#[cfg(not(feature = "gui"))]
fn window(_url: Option<String>) -> i32 {
    eprintln!(
        "error: this sockscope was built without the window (feature `gui`); use `sockscope connect URL`"
    );
    connect::EXIT_USAGE
}

/// One thread for `connect`: the reader, the connection task and the printer hand each message along without
/// waking another thread, which is most of what a flood costs (measured by benches/ingest_cli.sh).
fn single_thread_runtime() -> tokio::runtime::Runtime {
    build_runtime(tokio::runtime::Builder::new_current_thread())
}

fn runtime() -> tokio::runtime::Runtime {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.worker_threads(2);
    build_runtime(builder)
}

fn build_runtime(mut builder: tokio::runtime::Builder) -> tokio::runtime::Runtime {
    match builder.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: could not start the async runtime: {e}");
            std::process::exit(1);
        }
    }
}
