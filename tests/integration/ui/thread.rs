//! The UI thread never waits (issue 12): a selected payload is analysed once, not every frame; file work runs on
//! the file worker; with no file-dialog backend the app says so and takes a typed path; a path chosen for a tab
//! goes to that tab even when tabs close meanwhile; the log export streams over several frames.

use crate::ui::wait_for;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use sockscope::app::{Action, AppState, FileDialogs, FileField};
use sockscope::model::session::Session;
use sockscope::model::{Direction, LogEntry, MessageKind};
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

const NO_DIALOG: &str = "No file dialog is available: (test) no portal, no zenity.";

fn harness() -> Harness<'static, AppState> {
    let mut state = sockscope::app::headless_state(None).expect("engine starts");
    state.file_dialogs = FileDialogs::Typed(NO_DIALOG.into());
    Harness::builder()
        .with_size([1200.0, 760.0])
        .build_ui_state(
            |ui, state: &mut AppState| {
                state.drain_events();
                state.ui(ui);
            },
            state,
        )
}

fn temp_dir(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("sockscope-ui-thread-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    dir
}

fn type_path(harness: &mut Harness<'static, AppState>, label: &str, path: &std::path::Path) {
    harness
        .state_mut()
        .path_prompt
        .as_mut()
        .expect("a prompt")
        .text
        .clear();
    harness.run_steps(1);
    harness.get_by_label(label).focus();
    harness.run_steps(1);
    harness
        .get_by_label(label)
        .type_text(&path.display().to_string());
    harness.run_steps(1);
    harness.get_by_label("OK").click();
    harness.run_steps(1);
}

fn entry(payload: Vec<u8>) -> LogEntry {
    LogEntry::new(
        1,
        Direction::Received,
        MessageKind::Text,
        SystemTime::now(),
        Duration::ZERO,
        payload,
    )
}

/// A JSON array of `n` small objects.
fn json_array(n: usize) -> Vec<u8> {
    let mut out = b"[".to_vec();
    for i in 0..n {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(
            format!(r#"{{"id":{i},"name":"item {i}","tags":["a","b"]}}"#).as_bytes(),
        );
    }
    out.push(b']');
    out
}

#[test]
fn a_selected_json_message_is_parsed_once_not_every_frame() {
    let mut harness = harness();
    let payload = json_array(20_000);
    harness.state_mut().tab_mut().log.push(entry(payload));
    harness.state_mut().apply(Action::Select(0));
    harness.run_steps(5);
    let cache = &harness.state().tab().caches.payload;
    assert_eq!(cache.analyses, 1, "five frames, one parse");
    assert_eq!(cache.renders, 0, "the tree needs no pretty text");
    assert!(harness.query_by_label("$: […] 20000 items").is_some());
    assert!(
        harness
            .query_by_label_contains("19000 more (Copy gives the whole document)")
            .is_none(),
        "rows out of view are not drawn"
    );
    // As text: pretty-printed once, cut to what is shown.
    harness.get_by_label("As text").click();
    harness.run_steps(4);
    let cache = &harness.state().tab().caches.payload;
    assert_eq!((cache.analyses, cache.renders), (1, 1));
    let shown = harness
        .get_by_label("Payload (JSON)")
        .value()
        .expect("text");
    assert!(
        shown.starts_with("[\n  {\n    \"id\": 0,"),
        "{}",
        &shown[..40]
    );
    assert!(shown.len() < 300 * 1024, "{} bytes shown", shown.len());
    assert!(shown.ends_with("(cut: Copy gives the whole document)"));
}

#[test]
fn without_a_file_dialog_open_says_why_and_takes_a_typed_path() {
    let dir = temp_dir("open");
    let path = dir.join("typed.ron");
    let session = Session {
        name: "Typed in".into(),
        ..Session::default()
    };
    session.save(&path).expect("save");
    let mut harness = harness();
    harness.run_steps(1);
    harness.get_by_label("Open…").click();
    harness.run_steps(2);
    assert!(
        harness.query_by_label_contains(NO_DIALOG).is_some(),
        "the reason is shown"
    );
    // A path that does not exist: said so, nothing else changes.
    type_path(
        &mut harness,
        "Open a session file:",
        &dir.join("missing.ron"),
    );
    wait_for(&mut harness, "the failure", |h| {
        !h.state().file_work_pending()
    });
    harness.run_steps(1);
    assert!(
        harness
            .state()
            .notice
            .as_deref()
            .is_some_and(|n| n.contains("could not open the session")),
        "{:?}",
        harness.state().notice
    );
    assert_eq!(harness.state().tabs.len(), 1);
    harness.get_by_label("Open…").click();
    harness.run_steps(2);
    type_path(&mut harness, "Open a session file:", &path);
    wait_for(&mut harness, "the session to open", |h| {
        h.state().tab().session.name == "Typed in"
    });
    assert!(harness.state().path_prompt.is_none());
    assert_eq!(harness.state().recent.first(), Some(&path));
}

#[test]
fn cancel_drops_the_typed_path_prompt() {
    let mut harness = harness();
    harness.run_steps(1);
    harness.get_by_label("Import HAR…").click();
    harness.run_steps(2);
    assert!(harness.query_by_label("Import a HAR capture:").is_some());
    harness.get_by_label("Cancel").click();
    harness.run_steps(2);
    assert!(harness.state().path_prompt.is_none());
    assert!(harness.query_by_label_contains(NO_DIALOG).is_none());
}

#[test]
fn a_tls_file_picked_for_a_tab_lands_in_that_tab_after_an_earlier_tab_closes() {
    let mut harness = harness();
    harness.state_mut().apply(Action::NewTab);
    harness.state_mut().apply(Action::NewTab);
    let ids: Vec<u64> = harness.state().tabs.iter().map(|t| t.id).collect();
    harness.state_mut().apply(Action::SelectTab(1));
    harness
        .state_mut()
        .apply(Action::PickFile(FileField::CaFile));
    // The first tab closes while the prompt (the dialog) is open: the second tab is now at index 0.
    harness.state_mut().apply(Action::CloseTab(0));
    harness.run_steps(1);
    type_path(
        &mut harness,
        "Choose the PEM file:",
        std::path::Path::new("/tmp/ca.pem"),
    );
    let state = harness.state();
    let tab = |id: u64| {
        state
            .tabs
            .iter()
            .find(|t| t.id == id)
            .expect("tab")
            .session
            .endpoint
            .tls
            .ca_file
            .clone()
    };
    assert_eq!(tab(ids[1]), Some(PathBuf::from("/tmp/ca.pem")));
    assert_eq!(tab(ids[2]), None, "not the tab that moved into its index");
}

#[test]
fn save_as_writes_on_the_file_worker_and_then_marks_the_tab_saved() {
    let dir = temp_dir("save");
    let path = dir.join("saved.ron");
    let _ = std::fs::remove_file(&path);
    let mut harness = harness();
    harness.state_mut().tab_mut().session.name = "To save".into();
    harness.run_steps(1);
    assert!(harness.query_by_label("*").is_some());
    harness.get_by_label("Save As…").click();
    harness.run_steps(2);
    assert_eq!(
        harness
            .state()
            .path_prompt
            .as_ref()
            .map(|p| p.text.as_str()),
        Some("To save.ron"),
        "the suggested name"
    );
    type_path(&mut harness, "Save the session as:", &path);
    wait_for(&mut harness, "the save", |h| !h.state().file_work_pending());
    harness.run_steps(2);
    assert!(harness.query_by_label("*").is_none(), "saved");
    assert_eq!(harness.state().tab().session_path.as_ref(), Some(&path));
    let text = std::fs::read_to_string(&path).expect("file");
    assert!(text.contains("To save"));
    // Delete runs on the worker too.
    harness.get_by_label("Delete…").click();
    harness.run_steps(2);
    assert_eq!(harness.state().deleting.as_ref(), Some(&path), "asks first");
    harness.state_mut().apply(Action::ConfirmDelete);
    wait_for(&mut harness, "the delete", |h| {
        !h.state().file_work_pending()
    });
    assert!(!path.exists());
    assert!(harness.state().tab().session_path.is_none());
}

#[test]
fn a_session_that_cannot_be_read_is_never_overwritten() {
    let dir = temp_dir("unreadable");
    let path = dir.join("broken.ron");
    std::fs::write(&path, "Session( not ron").expect("write");
    let mut harness = harness();
    harness.state_mut().apply(Action::OpenRecent(path.clone()));
    wait_for(&mut harness, "the read", |h| !h.state().file_work_pending());
    assert!(
        harness
            .state()
            .notice
            .as_deref()
            .is_some_and(|n| n.contains("could not open the session"))
    );
    assert!(harness.state().tab().session_path.is_none());
    harness.state_mut().apply(Action::SaveSession);
    harness.run_steps(1);
    assert_eq!(
        std::fs::read_to_string(&path).expect("read"),
        "Session( not ron"
    );
}

#[test]
fn the_log_export_streams_over_several_frames_and_writes_every_entry() {
    let dir = temp_dir("export");
    let path = dir.join("log.ndjson");
    let _ = std::fs::remove_file(&path);
    let mut harness = harness();
    let n = 50_000;
    for i in 0..n {
        harness
            .state_mut()
            .tab_mut()
            .log
            .push(entry(format!("message {i}").into_bytes()));
    }
    harness.state_mut().apply(Action::ExportLog);
    harness.run_steps(1);
    type_path(
        &mut harness,
        "Export the log as (.ndjson, or .json for an array):",
        &path,
    );
    let mut frames = 0;
    while harness.state().file_work_pending() || harness.state().notice.is_none() {
        harness.step();
        frames += 1;
        assert!(frames < 10_000, "the export finishes");
        std::thread::sleep(Duration::from_millis(1));
    }
    assert!(
        frames >= 2,
        "copied in parts, not all at once ({frames} frames)"
    );
    let notice = harness.state().notice.clone().unwrap_or_default();
    assert!(
        notice.contains(&format!("exported {n} messages")),
        "{notice}"
    );
    let text = std::fs::read_to_string(&path).expect("file");
    assert_eq!(text.lines().count(), n);
    assert!(
        text.lines()
            .last()
            .is_some_and(|l| l.contains("message 49999"))
    );
}
