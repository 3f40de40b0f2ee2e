//! Files off the UI thread. One worker thread ("sockscope-files") runs every read, write and delete in the order
//! asked (sessions, the workspace, payloads, step payload files) and sends each outcome back; the log export
//! streams through a thread of its own; native file dialogs block short-lived threads of their own. Without a
//! dialog backend (no xdg-desktop-portal, no zenity) the app asks for a typed path instead, and says why.

use super::FileField;
use crate::engine::Waker;
use crate::model::LogEntry;
use std::path::{Path, PathBuf};
use std::sync::mpsc;

/// What a chosen path is for.
#[derive(Clone, Debug, PartialEq)]
pub enum FileTarget {
    /// Open a session file.
    OpenSession,
    /// Import a HAR capture as a new session.
    ImportHar,
    /// Save tab `tab_id`'s session here.
    SaveSessionAs {
        /// The tab, by id (indexes shift when tabs close).
        tab_id: u64,
        /// Suggested file name.
        suggested: String,
    },
    /// Save message `seq` of tab `tab_id`'s log.
    SavePayload {
        /// The tab, by id.
        tab_id: u64,
        /// The message.
        seq: u64,
        /// Suggested file name.
        suggested: &'static str,
    },
    /// Export tab `tab_id`'s log.
    ExportLog {
        /// The tab, by id.
        tab_id: u64,
    },
    /// Fill a TLS file field of tab `tab_id`.
    TlsFile {
        /// The tab, by id.
        tab_id: u64,
        /// Which field.
        field: FileField,
    },
}

impl FileTarget {
    /// What the dialog or the typed-path prompt asks for.
    pub fn title(&self) -> &'static str {
        match self {
            FileTarget::OpenSession => "Open a session file",
            FileTarget::ImportHar => "Import a HAR capture",
            FileTarget::SaveSessionAs { .. } => "Save the session as",
            FileTarget::SavePayload { .. } => "Save the payload as",
            FileTarget::ExportLog { .. } => "Export the log as (.ndjson, or .json for an array)",
            FileTarget::TlsFile { .. } => "Choose the PEM file",
        }
    }

    fn saves(&self) -> bool {
        matches!(
            self,
            FileTarget::SaveSessionAs { .. }
                | FileTarget::SavePayload { .. }
                | FileTarget::ExportLog { .. }
        )
    }

    /// The file name proposed.
    pub fn suggested(&self) -> String {
        match self {
            FileTarget::SaveSessionAs { suggested, .. } => suggested.clone(),
            FileTarget::SavePayload { suggested, .. } => (*suggested).to_owned(),
            FileTarget::ExportLog { .. } => "sockscope-log.ndjson".into(),
            _ => String::new(),
        }
    }

    fn filters(&self) -> &'static [(&'static str, &'static [&'static str])] {
        match self {
            FileTarget::OpenSession | FileTarget::SaveSessionAs { .. } => {
                &[("sockscope session", &["ron"]), ("All files", &["*"])]
            }
            FileTarget::ImportHar => &[("HAR capture", &["har", "json"]), ("All files", &["*"])],
            FileTarget::ExportLog { .. } => {
                &[("NDJSON", &["ndjson", "jsonl"]), ("JSON", &["json"])]
            }
            FileTarget::TlsFile { .. } => &[
                ("PEM", &["pem", "crt", "cer", "key"]),
                ("All files", &["*"]),
            ],
            FileTarget::SavePayload { .. } => &[],
        }
    }
}

/// How the app asks for file paths.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileDialogs {
    /// The desktop's file dialog (xdg-desktop-portal or zenity on Linux).
    Native,
    /// A path typed into the app, because no dialog can be shown (the reason, in words).
    Typed(String),
}

impl FileDialogs {
    /// Looks for a dialog backend on this machine (a few file lookups, no process started).
    pub fn detect() -> Self {
        match dialog_backend_missing() {
            None => FileDialogs::Native,
            Some(why) => FileDialogs::Typed(why),
        }
    }
}

/// Why rfd could show no dialog here, or `None` when it can. rfd 0.17 tries the portal over D-Bus, then zenity;
/// when both fail it logs an error and returns nothing, which looks exactly like Cancel, so the check comes first.
#[cfg(target_os = "linux")]
fn dialog_backend_missing() -> Option<String> {
    let on_path = |name: &str| {
        std::env::var_os("PATH")
            .is_some_and(|paths| std::env::split_paths(&paths).any(|d| d.join(name).is_file()))
    };
    if on_path("zenity") || Path::new("/.flatpak-info").exists() {
        return None;
    }
    let bus = std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some()
        || std::env::var_os("XDG_RUNTIME_DIR")
            .is_some_and(|dir| Path::new(&dir).join("bus").exists());
    // The portal runs on demand: the session bus starts it from its service file.
    let data_dirs = std::env::var("XDG_DATA_DIRS")
        .ok()
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| "/usr/local/share:/usr/share".into());
    let portal = data_dirs.split(':').any(|d| {
        Path::new(d)
            .join("dbus-1/services/org.freedesktop.portal.Desktop.service")
            .is_file()
    });
    match (bus, portal) {
        (true, true) => None,
        (false, _) => Some(
            "No file dialog is available: there is no D-Bus session bus for the desktop portal, and zenity is not installed."
                .into(),
        ),
        (true, false) => Some(
            "No file dialog is available: xdg-desktop-portal is not installed, and neither is zenity.".into(),
        ),
    }
}

#[cfg(not(target_os = "linux"))]
fn dialog_backend_missing() -> Option<String> {
    None
}

/// A typed path being asked for, in place of a dialog.
#[derive(Clone, Debug)]
pub struct PathPrompt {
    /// What the path is for.
    pub target: FileTarget,
    /// The path as typed.
    pub text: String,
    /// Why no dialog was shown.
    pub why: String,
}

/// What comes back from dialog threads and the file worker.
pub enum FileEvent {
    /// A dialog returned a path.
    Chosen(FileTarget, PathBuf),
    /// A file job finished.
    Done(FileDone),
    /// Something to tell the user (from the export thread, which is not a queued job).
    Note(String),
}

/// The outcome of a file job.
pub enum FileDone {
    /// Something to tell the user.
    Note(String),
    /// A session was read (or could not be: the file is left as it was).
    Opened(Result<(Box<crate::model::session::Session>, PathBuf), String>),
    /// A HAR capture was imported.
    Imported(Result<Box<crate::model::session::Session>, String>),
    /// Tab `tab_id`'s session was written to `path` (as this RON) or not.
    Saved {
        /// The tab.
        tab_id: u64,
        /// Where.
        path: PathBuf,
        /// The RON written, or why not.
        result: Result<String, String>,
    },
    /// A session file was deleted, or not.
    Deleted {
        /// Which.
        path: PathBuf,
        /// Why not.
        result: Result<(), String>,
    },
    /// A step's payload was prepared (its file read) for tab `tab_id`.
    StepPrepared {
        /// The tab.
        tab_id: u64,
        /// The payload, or why not.
        result: Result<crate::model::session::Prepared, String>,
    },
    /// The workspace was written (or not: the reason is logged).
    WorkspaceSaved,
}

/// A file job: runs on the worker thread.
pub type Job = Box<dyn FnOnce() -> FileDone + Send>;

/// The worker thread that does the app's file work in order.
pub struct FileWorker {
    jobs: mpsc::Sender<Job>,
}

impl FileWorker {
    /// Starts the worker; outcomes go to `results`, then `wake` is called.
    pub fn start(results: mpsc::Sender<FileEvent>, wake: Option<Waker>) -> std::io::Result<Self> {
        let (jobs, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("sockscope-files".into())
            .spawn(move || {
                for job in rx {
                    let done = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job))
                        .unwrap_or_else(|_| {
                            FileDone::Note("sockscope hit a bug in a file operation; nothing else was affected".into())
                        });
                    if results.send(FileEvent::Done(done)).is_err() {
                        return;
                    }
                    if let Some(w) = &wake {
                        w();
                    }
                }
            })?;
        Ok(Self { jobs })
    }

    /// Queues `job`; false when the worker is gone.
    pub fn submit(&self, job: Job) -> bool {
        self.jobs.send(job).is_ok()
    }
}

/// Shows the native dialog for `target` on a thread of its own; a chosen path comes back as [`FileEvent::Chosen`].
pub fn spawn_dialog(
    target: FileTarget,
    results: mpsc::Sender<FileEvent>,
    wake: Option<Waker>,
) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("sockscope-file-dialog".into())
        .spawn(move || {
            let mut dialog = rfd::FileDialog::new().set_title(target.title());
            for (name, extensions) in target.filters() {
                dialog = dialog.add_filter(*name, extensions);
            }
            let suggested = target.suggested();
            if !suggested.is_empty() {
                dialog = dialog.set_file_name(suggested);
            }
            let chosen = if target.saves() {
                dialog.save_file()
            } else {
                dialog.pick_file()
            };
            // None: cancelled (or the dialog failed; rfd does not tell which).
            if let Some(path) = chosen {
                let _ = results.send(FileEvent::Chosen(target, path));
                if let Some(w) = wake {
                    w();
                }
            }
        })
        .map(|_| ())
}

/// A piece of the log on its way to the export thread.
pub enum ExportChunk {
    /// Entries to write next.
    Entries(Vec<LogEntry>),
    /// All sent; `skipped` entries had left the log before they could be copied.
    Finish {
        /// Entries dropped by the log meanwhile.
        skipped: u64,
    },
}

/// Log bytes copied for the export per frame at most.
pub const EXPORT_CHUNK_BYTES: usize = 4 << 20;
/// Log entries copied for the export per frame at most.
pub const EXPORT_CHUNK_ENTRIES: usize = 20_000;

/// An export under way: the UI copies the log over a few frames into a bounded channel.
pub struct ExportRun {
    /// The tab whose log is exported.
    pub tab_id: u64,
    /// The next entry to copy.
    pub next_seq: u64,
    /// The end of the log when the export began.
    pub end_seq: u64,
    /// Entries that left the log before they were copied.
    pub skipped: u64,
    /// The chunk waiting for room in the channel.
    pub pending: Option<ExportChunk>,
    /// To the export thread.
    pub tx: mpsc::SyncSender<ExportChunk>,
}

/// Starts the thread that writes an export to `path` (atomically) from the chunks it receives.
pub fn spawn_export_writer(
    path: PathBuf,
    results: mpsc::Sender<FileEvent>,
    wake: Option<Waker>,
) -> std::io::Result<mpsc::SyncSender<ExportChunk>> {
    let (tx, rx) = mpsc::sync_channel::<ExportChunk>(2);
    std::thread::Builder::new()
        .name("sockscope-export-log".into())
        .spawn(move || {
            let as_array = path.extension().is_some_and(|e| e == "json");
            let (open, separator, close): (&[u8], &[u8], &[u8]) = if as_array {
                (b"[\n  ", b",\n  ", b"\n]\n")
            } else {
                (b"", b"\n", b"\n")
            };
            let mut written = 0u64;
            let mut skipped = 0u64;
            let result = crate::model::fsutil::write_atomic_with(&path, |out| {
                loop {
                    match rx.recv() {
                        Ok(ExportChunk::Entries(entries)) => {
                            for e in &entries {
                                for (part, _) in crate::model::ndjson::message_parts(e) {
                                    out.write_all(if written == 0 { open } else { separator })?;
                                    serde_json::to_writer(&mut *out, &part)?;
                                    written += 1;
                                }
                            }
                        }
                        Ok(ExportChunk::Finish { skipped: s }) => {
                            skipped = s;
                            break;
                        }
                        // The export was called off (its tab closed): the half-written file is removed.
                        Err(_) => return Err(std::io::Error::other("the export was stopped")),
                    }
                }
                match (written, as_array) {
                    (0, true) => out.write_all(b"[]\n"),
                    (0, false) => Ok(()),
                    _ => out.write_all(close),
                }
            });
            let note = match result {
                Ok(()) if skipped > 0 => format!(
                    "exported {written} messages to {} ({skipped} left the log before they could be written)",
                    path.display()
                ),
                Ok(()) => format!("exported {written} messages to {}", path.display()),
                Err(e) => format!("could not export the log: {e} ({})", path.display()),
            };
            let _ = results.send(FileEvent::Note(note));
            if let Some(w) = wake {
                w();
            }
        })?;
    Ok(tx)
}

/// Resolves a typed path: `~/` is the home folder; anything else is taken as written.
pub fn typed_path(text: &str) -> Option<PathBuf> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    if let Some(rest) = text.strip_prefix("~/")
        && let Some(home) = std::env::var_os("HOME")
    {
        return Some(Path::new(&home).join(rest));
    }
    Some(PathBuf::from(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_paths() {
        assert_eq!(typed_path("  "), None);
        assert_eq!(
            typed_path(" /tmp/x.ron "),
            Some(PathBuf::from("/tmp/x.ron"))
        );
        if let Some(home) = std::env::var_os("HOME") {
            assert_eq!(typed_path("~/a.ron"), Some(Path::new(&home).join("a.ron")));
        }
    }

    #[test]
    fn a_panicking_job_does_not_end_the_worker() {
        let (tx, rx) = mpsc::channel();
        let worker = FileWorker::start(tx, None).expect("thread");
        assert!(worker.submit(Box::new(|| panic!("bad job"))));
        assert!(worker.submit(Box::new(|| FileDone::Note("after".into()))));
        let mut notes = Vec::new();
        for _ in 0..2 {
            match rx.recv_timeout(std::time::Duration::from_secs(5)) {
                Ok(FileEvent::Done(FileDone::Note(n))) => notes.push(n),
                _ => panic!("a note"),
            }
        }
        assert!(notes[0].contains("bug"));
        assert_eq!(notes[1], "after");
    }
}
