//! "Load test…": the session's collection run through k6 on a thread of its own (the UI thread only reads what
//! it sends): finding k6, starting it, its live figures every half second, and the result.

use crate::engine::load::{HOW_TO_GET_K6, LoadPlan, LoadResult, LoadRun, find_k6};
use crate::model::k6::{LoadShape, check_duration};
use crate::model::session::Session;
use crate::model::session::k6_summary::Live;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

/// Live samples kept for the chart: past this many, every other one goes (the chart keeps its shape).
const MAX_SAMPLES: usize = 2000;

/// What the load thread reports.
enum Update {
    Live(f64, Live),
    Done(Box<LoadResult>),
    Failed(String),
}

/// The load test window's state.
pub struct LoadTest {
    /// The window is shown.
    pub open: bool,
    /// Virtual users.
    pub vus: u32,
    /// How long, in k6's syntax.
    pub duration: String,
    /// Instead of the session's URL (empty: the session's).
    pub url: String,
    /// The k6 binary (empty: $K6, else PATH).
    pub k6_path: String,
    /// Where k6 was found, or why not (`None`: still looking).
    pub k6: Option<Result<PathBuf, String>>,
    probe: Option<mpsc::Receiver<Option<PathBuf>>>,
    updates: Option<mpsc::Receiver<Update>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
    /// Seconds since the start, and the figures then.
    pub samples: Vec<(f64, Live)>,
    /// The last run's result.
    pub result: Option<LoadResult>,
    /// Why the last run could not start (or the form is wrong).
    pub error: Option<String>,
}

impl Default for LoadTest {
    fn default() -> Self {
        Self {
            open: false,
            vus: 10,
            duration: "10s".into(),
            url: String::new(),
            k6_path: String::new(),
            k6: None,
            probe: None,
            updates: None,
            stop: Arc::default(),
            thread: None,
            samples: Vec::new(),
            result: None,
            error: None,
        }
    }
}

impl LoadTest {
    /// Shows the window and looks for k6 (off the UI thread: it reads the file system).
    pub fn show(&mut self) {
        self.open = true;
        self.look_for_k6();
    }

    /// Looks for k6 again (the path field changed).
    pub fn look_for_k6(&mut self) {
        let configured =
            Some(PathBuf::from(self.k6_path.trim())).filter(|p| !p.as_os_str().is_empty());
        let (tx, rx) = mpsc::channel();
        self.k6 = None;
        self.probe = Some(rx);
        let spawned = std::thread::Builder::new()
            .name("sockscope-k6-probe".into())
            .spawn(move || {
                let _ = tx.send(find_k6(configured.as_deref()));
            });
        if spawned.is_err() {
            self.k6 = Some(Err("could not look for k6 (no thread)".into()));
        }
    }

    /// The VUs and duration as a k6 load shape (a duration k6 cannot read is left to k6's default).
    pub fn shape(&self) -> LoadShape {
        let duration = self.duration.trim();
        LoadShape {
            vus: Some(self.vus.max(1)),
            duration: check_duration(duration)
                .is_ok()
                .then(|| duration.to_owned()),
            stages: Vec::new(),
        }
    }

    /// A run is going on.
    pub fn running(&self) -> bool {
        self.updates.is_some()
    }

    /// Takes what the threads sent (called every frame; never waits).
    pub fn drain(&mut self) {
        if let Some(rx) = &self.probe
            && let Ok(found) = rx.try_recv()
        {
            self.k6 = Some(found.ok_or_else(|| {
                if self.k6_path.trim().is_empty() {
                    HOW_TO_GET_K6.to_owned()
                } else {
                    format!("no k6 at {}", self.k6_path.trim())
                }
            }));
            self.probe = None;
        }
        let Some(rx) = &self.updates else {
            return;
        };
        loop {
            match rx.try_recv() {
                Ok(Update::Live(at, live)) => {
                    self.samples.push((at, live));
                    if self.samples.len() > MAX_SAMPLES {
                        let mut keep = false;
                        self.samples.retain(|_| {
                            keep = !keep;
                            keep
                        });
                    }
                }
                Ok(Update::Done(result)) => {
                    self.result = Some(*result);
                    self.updates = None;
                    return;
                }
                Ok(Update::Failed(e)) => {
                    self.error = Some(e);
                    self.updates = None;
                    return;
                }
                Err(mpsc::TryRecvError::Empty) => return,
                Err(mpsc::TryRecvError::Disconnected) => {
                    self.error = Some("the load test ended without a result".into());
                    self.updates = None;
                    return;
                }
            }
        }
    }

    /// Starts a run of `session` (its secret variables go to k6 through `-e`, never into the script).
    pub fn start(&mut self, session: &Session) {
        if self.running() {
            return;
        }
        self.error = None;
        let duration = self.duration.trim().to_owned();
        if let Err(e) = check_duration(&duration) {
            self.error = Some(e);
            return;
        }
        let Some(Ok(k6)) = self.k6.clone() else {
            self.error = Some(match &self.k6 {
                Some(Err(e)) => e.clone(),
                _ => "still looking for k6".into(),
            });
            return;
        };
        let plan = LoadPlan {
            session: session.clone(),
            shape: LoadShape {
                vus: Some(self.vus.max(1)),
                duration: Some(duration),
                stages: Vec::new(),
            },
            url: Some(self.url.trim().to_owned()).filter(|u| !u.is_empty()),
            vars: session
                .variables
                .iter()
                .filter(|v| v.secret)
                .map(|v| (v.name.clone(), v.value.clone()))
                .collect(),
            k6,
        };
        let (tx, rx) = mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        self.stop = stop.clone();
        self.samples.clear();
        self.result = None;
        let spawned = std::thread::Builder::new()
            .name("sockscope-load".into())
            .spawn(move || run(plan, tx, stop));
        match spawned {
            Ok(handle) => {
                self.updates = Some(rx);
                self.thread = Some(handle);
            }
            Err(e) => self.error = Some(format!("could not start the load test: {e}")),
        }
    }

    /// Stops the run (k6 is killed; there is no summary then).
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Release);
    }

    /// Stops the run and waits for its thread (k6 killed, its files removed): when the app closes, so that no k6
    /// goes on loading the server on its own. The thread looks at the stop flag every half second.
    pub fn shutdown(&mut self) {
        self.stop();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The load thread: starts k6, reports its live figures every half second and its result at the end.
fn run(plan: LoadPlan, tx: mpsc::Sender<Update>, stop: Arc<AtomicBool>) {
    let mut run = match LoadRun::start(&plan) {
        Ok(r) => r,
        Err(e) => {
            let _ = tx.send(Update::Failed(e));
            return;
        }
    };
    let mut stopped = false;
    loop {
        if stop.load(Ordering::Acquire) && !stopped {
            stopped = true;
            run.stop();
        }
        if let Some(result) = run.try_finish() {
            let _ = tx.send(Update::Done(Box::new(result)));
            return;
        }
        if let Some(live) = run.live()
            && tx
                .send(Update::Live(run.elapsed().as_secs_f64(), live))
                .is_err()
        {
            // The window is gone: so is the run.
            run.stop();
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}
