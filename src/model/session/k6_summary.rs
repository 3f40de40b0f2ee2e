//! What k6 reports about a load run, read back: the live figures of its REST API (`/v1/metrics`) and the
//! end-of-test summary (`--summary-export`), with the checks of the exported script grouped by step (their names
//! start with `#N`, see `k6.rs`).

use serde_json::Value;

/// A trend's statistics, in milliseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Trend {
    pub avg: f64,
    pub min: f64,
    pub med: f64,
    pub max: f64,
    pub p90: f64,
    pub p95: f64,
}

impl Trend {
    fn read(v: Option<&Value>) -> Option<Self> {
        let v = v?;
        let f = |k: &str| v.get(k).and_then(Value::as_f64).unwrap_or(0.0);
        Some(Self {
            avg: f("avg"),
            min: f("min"),
            med: f("med"),
            max: f("max"),
            p90: f("p(90)"),
            p95: f("p(95)"),
        })
    }
}

/// A counter: how many, and how many per second over the run.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Count {
    pub count: f64,
    pub rate: f64,
}

impl Count {
    fn read(v: Option<&Value>) -> Self {
        let f = |k: &str| {
            v.and_then(|v| v.get(k))
                .and_then(Value::as_f64)
                .unwrap_or(0.0)
        };
        Self {
            count: f("count"),
            rate: f("rate"),
        }
    }
}

/// The checks of one step (or the protocol handshake / the 101, which have no `#N`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StepChecks {
    /// The step's number in the collection (0: checks that belong to no step).
    pub index: usize,
    /// The step's name as the check names give it (or the check's own name).
    pub name: String,
    pub passes: u64,
    pub fails: u64,
}

impl StepChecks {
    /// Passed checks as a share of all, 0..=1 (1 with no checks).
    pub fn rate(&self) -> f64 {
        let all = self.passes + self.fails;
        if all == 0 {
            1.0
        } else {
            self.passes as f64 / all as f64
        }
    }
}

/// The end-of-test summary.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Summary {
    pub checks_passed: u64,
    pub checks_failed: u64,
    /// Per step, in collection order, then the checks of no step.
    pub steps: Vec<StepChecks>,
    pub ws_connecting: Option<Trend>,
    pub session_duration: Option<Trend>,
    pub iteration_duration: Option<Trend>,
    pub iterations: Count,
    pub sessions: Count,
    pub msgs_sent: Count,
    pub msgs_received: Count,
    /// Thresholds k6 found crossed (by metric and expression).
    pub thresholds_failed: Vec<String>,
}

impl Summary {
    /// Reads a `--summary-export` file's JSON.
    pub fn parse(text: &str) -> Result<Self, String> {
        let v: Value =
            serde_json::from_str(text).map_err(|e| format!("k6's summary is not JSON ({e})"))?;
        let metrics = v.get("metrics").ok_or("k6's summary has no metrics")?;
        let checks = metrics.get("checks");
        let n = |v: Option<&Value>, k: &str| {
            v.and_then(|v| v.get(k))
                .and_then(Value::as_u64)
                .unwrap_or(0)
        };
        let mut steps: Vec<StepChecks> = Vec::new();
        let mut other: Vec<StepChecks> = Vec::new();
        if let Some(all) = v.pointer("/root_group/checks").and_then(Value::as_object) {
            for (name, c) in all {
                let (passes, fails) = (n(Some(c), "passes"), n(Some(c), "fails"));
                match step_of(name) {
                    Some((index, step)) => match steps.iter_mut().find(|s| s.index == index) {
                        Some(s) => {
                            s.passes += passes;
                            s.fails += fails;
                        }
                        None => steps.push(StepChecks {
                            index,
                            name: step.to_owned(),
                            passes,
                            fails,
                        }),
                    },
                    None => other.push(StepChecks {
                        index: 0,
                        name: name.clone(),
                        passes,
                        fails,
                    }),
                }
            }
        }
        steps.sort_by_key(|s| s.index);
        steps.extend(other);
        let mut thresholds_failed = Vec::new();
        if let Some(m) = metrics.as_object() {
            for (metric, body) in m {
                if let Some(t) = body.get("thresholds").and_then(Value::as_object) {
                    // In this format `true` means the threshold was crossed.
                    for (expr, crossed) in t {
                        if crossed.as_bool() == Some(true) {
                            thresholds_failed.push(format!("{metric}: {expr}"));
                        }
                    }
                }
            }
        }
        Ok(Self {
            checks_passed: n(checks, "passes"),
            checks_failed: n(checks, "fails"),
            steps,
            ws_connecting: Trend::read(metrics.get("ws_connecting")),
            session_duration: Trend::read(metrics.get("ws_session_duration")),
            iteration_duration: Trend::read(metrics.get("iteration_duration")),
            iterations: Count::read(metrics.get("iterations")),
            sessions: Count::read(metrics.get("ws_sessions")),
            msgs_sent: Count::read(metrics.get("ws_msgs_sent")),
            msgs_received: Count::read(metrics.get("ws_msgs_received")),
            thresholds_failed,
        })
    }

    /// The summary as one JSON object (`sockscope load --json`).
    pub fn to_json(&self) -> Value {
        let trend = |t: &Option<Trend>| {
            t.map(|t| {
                serde_json::json!({"avg": t.avg, "min": t.min, "med": t.med, "max": t.max, "p90": t.p90, "p95": t.p95})
            })
        };
        let count = |c: &Count| serde_json::json!({"count": c.count, "rate": c.rate});
        serde_json::json!({
            "checks": {"passed": self.checks_passed, "failed": self.checks_failed},
            "steps": self.steps.iter().map(|s| serde_json::json!({
                "index": s.index, "name": s.name, "passed": s.passes, "failed": s.fails, "rate": s.rate(),
            })).collect::<Vec<_>>(),
            "ws_connecting_ms": trend(&self.ws_connecting),
            "session_duration_ms": trend(&self.session_duration),
            "iteration_duration_ms": trend(&self.iteration_duration),
            "iterations": count(&self.iterations),
            "sessions": count(&self.sessions),
            "msgs_sent": count(&self.msgs_sent),
            "msgs_received": count(&self.msgs_received),
            "thresholds_failed": self.thresholds_failed,
        })
    }
}

/// `#3 JSON / subset: expectation 1 (…)` → (3, "JSON / subset").
fn step_of(check: &str) -> Option<(usize, &str)> {
    let rest = check.strip_prefix('#')?;
    let (number, rest) = rest.split_once(' ')?;
    let index = number.parse().ok()?;
    let (step, _) = rest.rsplit_once(": expectation ")?;
    Some((index, step))
}

/// What k6's REST API says while it runs.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Live {
    pub vus: f64,
    pub iterations: f64,
    /// Share of checks passed so far (none yet: `None`).
    pub checks_rate: Option<f64>,
    pub msgs_sent: Count,
    pub msgs_received: Count,
}

impl Live {
    /// Reads a `/v1/metrics` answer.
    pub fn parse(text: &str) -> Option<Self> {
        let v: Value = serde_json::from_str(text).ok()?;
        let mut live = Self::default();
        for m in v.get("data")?.as_array()? {
            let sample = m.pointer("/attributes/sample");
            let f = |k: &str| sample.and_then(|s| s.get(k)).and_then(Value::as_f64);
            match m.get("id").and_then(Value::as_str) {
                Some("vus") => live.vus = f("value").unwrap_or(0.0),
                Some("iterations") => live.iterations = f("count").unwrap_or(0.0),
                Some("checks") => live.checks_rate = f("rate"),
                Some("ws_msgs_sent") => live.msgs_sent = Count::read(sample),
                Some("ws_msgs_received") => live.msgs_received = Count::read(sample),
                _ => {}
            }
        }
        Some(live)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_summary_groups_checks_by_step() {
        let text = r##"{"metrics":{
            "checks":{"passes":5,"fails":1,"thresholds":{"rate==1.0":true},"value":0.83},
            "ws_connecting":{"avg":4.0,"min":0.1,"med":2.2,"max":37.7,"p(90)":9.8,"p(95)":14.7},
            "ws_msgs_sent":{"count":80,"rate":15.9},
            "iterations":{"count":16,"rate":3.2},
            "checks{step:1}":{"passes":2,"fails":0,"thresholds":{"rate==1.0":false},"value":1}},
          "root_group":{"checks":{
            "#2 b: expectation 1 (equals x)":{"passes":1,"fails":1},
            "#1 a: expectation 1 (equals y)":{"passes":1,"fails":0},
            "#1 a: expectation 2 (contains z)":{"passes":1,"fails":0},
            "handshake status is 101":{"passes":2,"fails":0}}}}"##;
        let s = Summary::parse(text).expect("parses");
        assert_eq!((s.checks_passed, s.checks_failed), (5, 1));
        assert_eq!(
            s.steps
                .iter()
                .map(|c| (c.index, c.name.as_str(), c.passes, c.fails))
                .collect::<Vec<_>>(),
            [
                (1, "a", 2, 0),
                (2, "b", 1, 1),
                (0, "handshake status is 101", 2, 0)
            ]
        );
        assert_eq!(s.steps[1].rate(), 0.5);
        assert_eq!(s.ws_connecting.map(|t| t.p95), Some(14.7));
        assert_eq!(s.msgs_sent.count, 80.0);
        assert_eq!(s.thresholds_failed, ["checks: rate==1.0"]);
        assert_eq!(s.to_json()["steps"][1]["rate"], 0.5);
        assert!(Summary::parse("nope").is_err());
    }

    #[test]
    fn live_figures_from_the_rest_api() {
        let text = r#"{"data":[
            {"type":"metrics","id":"vus","attributes":{"sample":{"value":20}}},
            {"type":"metrics","id":"checks","attributes":{"sample":{"rate":1}}},
            {"type":"metrics","id":"iterations","attributes":{"sample":{"count":33,"rate":6.1}}},
            {"type":"metrics","id":"ws_msgs_sent","attributes":{"sample":{"count":4650,"rate":1557.9}}}]}"#;
        let live = Live::parse(text).expect("parses");
        assert_eq!(
            (
                live.vus,
                live.iterations,
                live.checks_rate,
                live.msgs_sent.rate
            ),
            (20.0, 33.0, Some(1.0), 1557.9)
        );
        assert_eq!(Live::parse("{}"), None);
    }
}
