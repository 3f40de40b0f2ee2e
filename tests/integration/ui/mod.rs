//! The GUI, headless through egui_kittest: typing a URL, connecting to the built-in echo server, sending,
//! seeing rows appear, errors in plain words, and closing with a code and reason.
//!
//! This file holds the shared harness (`harness`, `wait_for`, `type_into`, `direct`, `connect`); the tests are
//! split by area: `connect`, `frames`, `sessions`, `log`, `hostile`, plus `thread` (the UI thread never waits) and
//! `trust` (certificates and violations).

mod brokers;
mod codecs;
mod connect;
mod deflate;
mod frames;
mod hostile;
mod http2;
mod layout;
mod log;
mod mock;
mod protocol;
mod sessions;
mod thread;
mod trust;

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use sockscope::app::AppState;
use sockscope::model::ConnState;
use sockscope::model::endpoint::ProxyMode;
use std::time::{Duration, Instant};

/// The app headless; with `url`, its first tab connects there at once (as `sockscope URL` does).
pub(crate) fn harness(url: Option<String>) -> Harness<'static, AppState> {
    harness_sized(url, [1200.0, 760.0])
}

/// A harness with a window of `size` points.
pub(crate) fn harness_sized(url: Option<String>, size: [f32; 2]) -> Harness<'static, AppState> {
    let mut state = sockscope::app::headless_state(None).expect("engine starts");
    direct(&mut state);
    if let Some(url) = url {
        let tab = state.tab_mut();
        let mut session = tab.session.clone();
        session.endpoint.url = url;
        *tab = sockscope::app::ConnTab::with_session(session, None);
        state.apply(sockscope::app::Action::Connect);
    }
    Harness::builder().with_size(size).build_ui_state(
        |ui, state: &mut AppState| {
            state.drain_events();
            state.ui(ui);
        },
        state,
    )
}

/// Steps frames until `done` holds (the engine works on its own threads meanwhile).
pub(crate) fn wait_for(
    harness: &mut Harness<'static, AppState>,
    what: &str,
    done: impl Fn(&Harness<'static, AppState>) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        harness.step();
        if done(harness) {
            return;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

pub(crate) fn type_into(harness: &mut Harness<'static, AppState>, label: &str, text: &str) {
    harness.get_by_label(label).focus();
    harness.run_steps(1);
    harness.get_by_label(label).type_text(text);
    harness.run_steps(2);
}

/// Makes the active tab connect without a proxy, whatever proxy the developer's environment names (the proxy
/// modes have tests of their own), and leaves it unmodified (no `*`, no "unsaved" question on close).
pub(crate) fn direct(state: &mut AppState) {
    let tab = state.tab_mut();
    if tab.session.endpoint.proxy_mode == ProxyMode::Direct {
        return;
    }
    assert!(!tab.is_dirty(), "direct() runs before a test edits the tab");
    let mut session = tab.session.clone();
    session.endpoint.proxy_mode = ProxyMode::Direct;
    let path = tab.session_path.clone();
    *tab = sockscope::app::ConnTab::with_session(session, path);
}

pub(crate) fn connect(harness: &mut Harness<'static, AppState>) {
    assert_eq!(
        harness.state().tab().session.endpoint.proxy_mode,
        ProxyMode::Direct,
        "a test tab connects directly: call direct() on a new tab"
    );
    harness.get_by_label("Connect").click();
    wait_for(harness, "the connection to open", |h| {
        h.state().tab().conn_state == ConnState::Open
    });
}

/// Picks `name` in the Protocol box.
pub(crate) fn pick_protocol(harness: &mut Harness<'static, AppState>, name: &str) {
    harness.get_by_label("Protocol").click();
    harness.run_steps(2);
    harness.get_by_label(name).click();
    harness.run_steps(2);
}

/// A tab for `url` that connects directly.
pub(crate) fn tab_for(harness: &mut Harness<'static, AppState>, url: String) {
    let tab = harness.state_mut().tab_mut();
    let mut session = tab.session.clone();
    session.endpoint.url = url;
    *tab = sockscope::app::ConnTab::with_session(session, None);
    harness.run_steps(1);
}
