//! What a test does when something it needs is not on the machine (an interop peer, node): under CI it fails,
//! since CI installs everything; elsewhere it skips, and says so where a person will see it.
//!
//! libtest hides what passing tests print, so a skip is never an `eprintln!`. Under `scripts/test.sh` (which sets
//! `SOCKSCOPE_SKIP_FILE`) each skip is one line in that file, and the script sums them up in one line after
//! `cargo test`. Under plain `cargo test` the line is written straight to the process's stderr, which libtest
//! does not capture.

use std::io::Write;

/// True under CI: `CI` is set to anything but "" or "false" (GitHub, GitLab and `.ci/run` set `CI=true`).
pub fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && !v.eq_ignore_ascii_case("false"))
}

/// `test` cannot run because of `reason`. Under CI this panics (a missing dependency there is a broken install
/// step); otherwise the skip is recorded as described in the module docs and the caller returns.
pub fn skip(test: &str, reason: &str) {
    assert!(
        !under_ci(),
        "{test}: {reason} (under CI every test dependency must be installed)"
    );
    let line = format!("{test}: {reason}\n");
    if let Some(path) = std::env::var_os("SOCKSCOPE_SKIP_FILE") {
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut file| file.write_all(line.as_bytes()));
        if written.is_ok() {
            return;
        }
    }
    let _ = std::io::stderr().write_all(format!("SKIPPED {line}").as_bytes());
}
