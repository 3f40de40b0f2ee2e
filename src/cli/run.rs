//! `sockscope run`, `import-har` and `export-k6`: collections headless, for scripts and CI.

use crate::cli::args::{ExportK6Args, ImportHarArgs, RunArgs};
use crate::engine::EventKind;
use crate::engine::replay::{self, Control, Progress, ReplayError, ReplayOptions};
use crate::model::junit::{self, Outcome};
use crate::model::session::Session;
use crate::model::{fsutil, ndjson};
use std::collections::HashMap;
use std::io::Write;

/// `run`: every expectation held.
pub const RUN_PASSED: i32 = 0;
/// `run`: an expectation failed.
pub const RUN_FAILED: i32 = 1;
/// `run`: the session could not be loaded or the connection could not be made.
pub const RUN_ERROR: i32 = 2;

/// Runs `sockscope run` and returns the exit status.
pub async fn run(args: RunArgs) -> i32 {
    let session = match Session::load(&args.session) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return RUN_ERROR;
        }
    };
    let variables = match parse_vars(&args.vars) {
        Ok(v) => v,
        Err(v) => {
            eprintln!("error: --var '{v}' must look like NAME=VALUE");
            return RUN_ERROR;
        }
    };
    let base_dir = args.session.parent().map(|p| p.to_path_buf());
    // The session's codec, built once: the replay encodes and matches with it, and binary message events
    // carry "decoded" as `connect --decode` gives it. When it does not build, the replay says why.
    let codec = session
        .endpoint
        .codec
        .relative_to(base_dir.as_deref())
        .build()
        .ok()
        .flatten()
        .map(|(codec, _)| std::sync::Arc::new(codec));
    let options = ReplayOptions {
        url: args.url.clone(),
        variables,
        base_dir,
        codec: codec.clone(),
    };
    let json_mode = args.json;
    let stdout = std::io::stdout();
    let (_tx, control) = tokio::sync::watch::channel(Control::Run);
    let result = replay::run(&session, &options, control, |p| {
        print_progress(p, json_mode, codec.as_deref(), &mut stdout.lock());
    })
    .await;
    let result = match result {
        Ok(r) => r,
        Err(e) => {
            if json_mode && let ReplayError::Connect(err) = &e {
                println!("{}", ndjson::error(err));
            }
            eprintln!("error: {e}");
            return RUN_ERROR;
        }
    };
    print_summary(&session.name, &result, json_mode);
    if let Some(path) = &args.junit {
        let xml = junit::to_xml(&session.name, &result.reports, result.elapsed.as_secs_f64());
        if let Err(e) = fsutil::write_atomic(path, xml.as_bytes()) {
            eprintln!(
                "error: could not write the JUnit report: {e} ({})",
                path.display()
            );
            return RUN_ERROR;
        }
    }
    if result.passed() {
        RUN_PASSED
    } else {
        RUN_FAILED
    }
}

/// The `--var NAME=VALUE` flags as session variables; the first flag without `=` is the error.
fn parse_vars(vars: &[String]) -> Result<HashMap<String, String>, &str> {
    let mut variables = HashMap::new();
    for v in vars {
        let Some((name, value)) = v.split_once('=') else {
            return Err(v);
        };
        variables.insert(name.trim().to_owned(), value.to_owned());
    }
    Ok(variables)
}

/// Prints one replay event: NDJSON lines with `--json`, else a line per finished step (and connection errors on
/// stderr).
fn print_progress(
    p: Progress,
    json_mode: bool,
    codec: Option<&crate::model::codec::Codec>,
    out: &mut impl Write,
) {
    match p {
        Progress::Connection(kind) if json_mode => {
            let value = match &kind {
                EventKind::Handshake(h) if h.status != 0 => Some(ndjson::handshake(h)),
                EventKind::Message(m) => {
                    let mut event = ndjson::message(m);
                    if let Some(codec) = codec {
                        crate::cli::connect::add_decoded(codec, m, &mut event);
                    }
                    Some(event)
                }
                EventKind::Error(e) => Some(ndjson::error(e)),
                EventKind::Closed(c) => Some(ndjson::closed(c)),
                EventKind::Protocol(crate::engine::events::ProtocolEvent::Chosen {
                    name,
                    version,
                    reason,
                    ..
                }) => Some(ndjson::protocol(name, version, reason)),
                EventKind::Protocol(crate::engine::events::ProtocolEvent::Failed {
                    message,
                    ..
                }) => Some(ndjson::error(&crate::model::StageError::new(
                    crate::model::Stage::Protocol,
                    message.clone(),
                ))),
                _ => None,
            };
            if let Some(v) = value {
                let _ = writeln!(out, "{v}");
            }
        }
        Progress::Connection(EventKind::Error(e)) => eprintln!("error: {e}"),
        Progress::Connection(EventKind::Protocol(
            crate::engine::events::ProtocolEvent::Failed { message, .. },
        )) => eprintln!("error: Protocol: {message}"),
        Progress::Connection(_) | Progress::StepStarted { .. } => {}
        Progress::StepFinished(r) => {
            if json_mode {
                let _ = writeln!(out, "{}", ndjson::step(&r));
            } else {
                let word = match r.outcome {
                    Outcome::Pass => "PASS",
                    Outcome::Fail => "FAIL",
                    Outcome::Skip => "SKIP",
                };
                let name = if r.folder.is_empty() {
                    r.name.clone()
                } else {
                    format!("{} / {}", r.folder, r.name)
                };
                let _ = writeln!(
                    out,
                    "{word} {:>3}. {name} ({:.0} ms)",
                    r.index,
                    r.seconds * 1000.0
                );
                if r.outcome == Outcome::Fail {
                    let _ = writeln!(
                        out,
                        "      expected: {}\n      got:      {}",
                        r.expected, r.got
                    );
                }
            }
        }
    }
}

/// Prints the last line: the NDJSON summary with `--json`, else how many steps passed, failed and skipped.
fn print_summary(name: &str, result: &replay::ReplayResult, json_mode: bool) {
    let count = |o: Outcome| result.reports.iter().filter(|r| r.outcome == o).count();
    let (passed, failed, skipped) = (
        count(Outcome::Pass),
        count(Outcome::Fail),
        count(Outcome::Skip),
    );
    if json_mode {
        println!(
            "{}",
            ndjson::summary(passed, failed, skipped, result.elapsed)
        );
    } else {
        println!(
            "{}: {passed} of {} steps passed, {failed} failed, {skipped} skipped in {:.2} s",
            name,
            result.reports.len(),
            result.elapsed.as_secs_f64()
        );
    }
}

/// Runs `sockscope import-har`.
pub fn import_har(args: ImportHarArgs) -> i32 {
    let text = match std::fs::read_to_string(&args.har) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: could not read {}: {e}", args.har.display());
            return RUN_ERROR;
        }
    };
    let session = match crate::model::har::import(&text) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {}: {e}", args.har.display());
            return RUN_ERROR;
        }
    };
    if let Err(e) = session.save(&args.output) {
        eprintln!("error: could not write {}: {e}", args.output.display());
        return RUN_ERROR;
    }
    eprintln!(
        "wrote {} ({} steps for {})",
        args.output.display(),
        session.steps().len(),
        session.endpoint.url
    );
    0
}

/// Runs `sockscope export-k6`.
pub fn export_k6(args: ExportK6Args) -> i32 {
    let session = match Session::load(&args.session) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return RUN_ERROR;
        }
    };
    let shape = match args.shape.shape() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return RUN_ERROR;
        }
    };
    let script = crate::model::k6::export_with(&session, &shape);
    if let Err(e) = fsutil::write_atomic(&args.output, script.as_bytes()) {
        eprintln!("error: could not write {}: {e}", args.output.display());
        return RUN_ERROR;
    }
    eprintln!("wrote {}", args.output.display());
    0
}
