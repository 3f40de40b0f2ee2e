//! `sockscope load`: a session's collection as a k6 load run — live progress on stderr (from k6's REST API),
//! then the result as a table (or `--json`), and k6's verdict as the exit status.

use crate::cli::args::LoadArgs;
use crate::engine::load::{HOW_TO_GET_K6, LoadPlan, LoadRun, find_k6};
use crate::model::session::Session;
use crate::model::session::k6_summary::Summary;
use std::future::Future;
use std::time::Duration;

/// No k6, or the session or flags cannot be used.
pub const LOAD_UNAVAILABLE: i32 = 2;

/// Runs `sockscope load`; returns the exit status.
pub fn load(args: LoadArgs) -> i32 {
    let session = match Session::load(&args.session) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return LOAD_UNAVAILABLE;
        }
    };
    let shape = match args.shape.shape() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return LOAD_UNAVAILABLE;
        }
    };
    let mut vars = Vec::new();
    for v in &args.vars {
        match v.split_once('=') {
            Some((name, value)) if !name.trim().is_empty() => {
                vars.push((name.trim().to_owned(), value.to_owned()))
            }
            _ => {
                eprintln!("error: --var '{v}' must look like NAME=VALUE");
                return LOAD_UNAVAILABLE;
            }
        }
    }
    let Some(k6) = find_k6(args.k6.as_deref()) else {
        match &args.k6 {
            Some(p) => eprintln!("error: no k6 at {}", p.display()),
            None => eprintln!("error: {HOW_TO_GET_K6}"),
        }
        return LOAD_UNAVAILABLE;
    };
    let plan = LoadPlan {
        session,
        shape,
        url: args.url.clone(),
        vars,
        k6,
    };
    let mut run = match LoadRun::start(&plan) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return LOAD_UNAVAILABLE;
        }
    };
    eprintln!(
        "load test with {} ({})",
        plan.k6.display(),
        describe_shape(&plan)
    );
    // Ctrl+C reaches k6 too (the same process group): k6 then stops and writes its summary. sockscope stays to
    // read it and to remove the run's files, instead of dying first.
    let interrupted = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let _signals = watch_ctrl_c(interrupted.clone());
    let mut said = false;
    let result = run.wait(Duration::from_secs(1), |elapsed, live| {
        if interrupted.load(std::sync::atomic::Ordering::Acquire) && !said {
            said = true;
            eprintln!("interrupted: k6 is stopping and writing its summary");
        }
        eprintln!(
            "{:>6.1} s  VUs {:>4}  iterations {:>7}  checks {}  sent {:.0}/s  received {:.0}/s",
            elapsed.as_secs_f64(),
            live.vus,
            live.iterations,
            live.checks_rate
                .map(|r| format!("{:.1} %", r * 100.0))
                .unwrap_or_else(|| "–".into()),
            live.msgs_sent.rate,
            live.msgs_received.rate
        );
    });
    match &result.summary {
        Some(summary) if args.json => {
            let mut json = summary.to_json();
            json["k6_exit_status"] = serde_json::json!(result.status);
            println!("{json}");
        }
        Some(summary) => print!("{}", table(summary)),
        None => {}
    }
    if let Some(problem) = &result.problem {
        eprintln!("error: {problem}");
    }
    match result.status {
        Some(0) => 0,
        Some(code) => {
            eprintln!(
                "k6 exited with status {code}{}",
                match code {
                    99 => " (a threshold was crossed: some expectation failed)",
                    105 => " (interrupted; the result above is what ran until then)",
                    _ => "",
                }
            );
            code
        }
        None => {
            eprintln!("k6 was stopped");
            1
        }
    }
}

/// Sets `flag` on Ctrl+C (instead of the process ending) for as long as the returned runtime lives.
fn watch_ctrl_c(
    flag: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> Option<tokio::runtime::Runtime> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .ok()?;
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    runtime.spawn(async move {
        let mut signal = Box::pin(tokio::signal::ctrl_c());
        // Listening starts at the first poll: say so once it is in place.
        std::future::poll_fn(|cx| {
            let _ = signal.as_mut().poll(cx);
            std::task::Poll::Ready(())
        })
        .await;
        let _ = ready_tx.send(());
        loop {
            if signal.as_mut().await.is_err() {
                return;
            }
            flag.store(true, std::sync::atomic::Ordering::Release);
            signal = Box::pin(tokio::signal::ctrl_c());
        }
    });
    let _ = ready_rx.recv_timeout(Duration::from_secs(1));
    Some(runtime)
}

fn describe_shape(plan: &LoadPlan) -> String {
    let s = &plan.shape;
    if !s.stages.is_empty() {
        let stages: Vec<String> = s.stages.iter().map(|(d, t)| format!("{d}→{t}")).collect();
        return format!("stages {}", stages.join(", "));
    }
    match (&s.duration, s.vus) {
        (Some(d), v) => format!("{} VUs for {d}", v.unwrap_or(1)),
        (None, Some(v)) => format!("{v} VUs, one iteration each"),
        (None, None) => "1 VU, one iteration".into(),
    }
}

/// The result as a plain-text table.
pub fn table(s: &Summary) -> String {
    let mut out = String::new();
    let all = s.checks_passed + s.checks_failed;
    out.push_str(&format!(
        "checks: {} of {} passed ({:.1} %)\n",
        s.checks_passed,
        all,
        if all == 0 {
            100.0
        } else {
            s.checks_passed as f64 * 100.0 / all as f64
        }
    ));
    for step in &s.steps {
        let label = if step.index > 0 {
            format!("#{} {}", step.index, step.name)
        } else {
            step.name.clone()
        };
        out.push_str(&format!(
            "  {:<48} {:>8} passed {:>6} failed  {:>5.1} %\n",
            label,
            step.passes,
            step.fails,
            step.rate() * 100.0
        ));
    }
    out.push_str(&format!(
        "{:<22} {:>9} {:>9} {:>9} {:>9} {:>9}\n",
        "ms", "avg", "med", "p90", "p95", "max"
    ));
    for (name, t) in [
        ("ws_connecting", s.ws_connecting),
        ("session duration", s.session_duration),
        ("iteration duration", s.iteration_duration),
    ] {
        if let Some(t) = t {
            out.push_str(&format!(
                "{name:<22} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>9.2}\n",
                t.avg, t.med, t.p90, t.p95, t.max
            ));
        }
    }
    out.push_str(&format!(
        "sessions {:.0} ({:.1}/s), iterations {:.0} ({:.1}/s), messages sent {:.0} ({:.0}/s), received {:.0} ({:.0}/s)\n",
        s.sessions.count,
        s.sessions.rate,
        s.iterations.count,
        s.iterations.rate,
        s.msgs_sent.count,
        s.msgs_sent.rate,
        s.msgs_received.count,
        s.msgs_received.rate
    ));
    for t in &s.thresholds_failed {
        out.push_str(&format!("threshold crossed: {t}\n"));
    }
    out
}
