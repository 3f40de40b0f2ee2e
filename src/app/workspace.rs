//! The workspace: open tabs (their sessions, unsaved edits included, secrets left out), the composer text, the
//! active tab and recent files — restored on the next start. Window size and panel layout are kept by eframe.
//! A workspace file that cannot be read is left alone (never overwritten) and the app starts fresh.

use crate::model::session::Session;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// One tab, as kept between runs.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TabState {
    /// The session's file, if it has one.
    pub path: Option<PathBuf>,
    /// The session as it was (RON, secrets left out).
    pub session_ron: String,
    /// True when it had unsaved changes.
    pub dirty: bool,
    /// The composer's text.
    pub composer_text: String,
}

/// Everything kept between runs.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Workspace {
    /// Format version.
    pub version: u32,
    /// Open tabs.
    pub tabs: Vec<TabState>,
    /// The active tab.
    pub active: usize,
    /// Recent session files, newest first.
    pub recent: Vec<PathBuf>,
    /// How much each tab's message log keeps.
    pub log_limits: super::LogLimits,
    /// The log's columns: which are shown, how wide.
    pub log_columns: super::LogColumns,
    /// The k6 binary the load test uses (empty: $K6, else the PATH).
    pub k6_path: String,
}

/// `$XDG_DATA_HOME/sockscope/workspace.ron`, else `~/.local/share/sockscope/workspace.ron`.
pub fn default_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))?;
    Some(base.join("sockscope").join("workspace.ron"))
}

/// Reads the workspace; `Ok(None)` when there is none yet.
pub fn load(path: &Path) -> Result<Option<Workspace>, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("could not read {}: {e}", path.display())),
    };
    ron::from_str(&text).map(Some).map_err(|e| {
        format!(
            "{}:{}:{}: {}",
            path.display(),
            e.span.start.line,
            e.span.start.col,
            e.code
        )
    })
}

/// Writes the workspace atomically, creating its folder.
pub fn save(path: &Path, workspace: &Workspace) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let text = ron::ser::to_string_pretty(workspace, ron::ser::PrettyConfig::new())
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    crate::model::fsutil::write_atomic(path, text.as_bytes())
}

/// The session a tab state stands for: its unsaved copy, or the file when it was saved.
pub fn tab_session(tab: &TabState) -> (Session, String) {
    let stored = Session::from_ron(&tab.session_ron, Path::new("workspace")).unwrap_or_default();
    match &tab.path {
        Some(path) => match Session::load(path) {
            Ok(from_file) => {
                let saved = from_file.to_ron();
                if tab.dirty {
                    (stored, saved)
                } else {
                    (from_file, saved)
                }
            }
            // The file is gone or unreadable: keep the copy, marked unsaved.
            Err(_) => (stored, String::new()),
        },
        None => {
            let saved = if tab.dirty {
                String::new()
            } else {
                stored.to_ron()
            };
            (stored, saved)
        }
    }
}
