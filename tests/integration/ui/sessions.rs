//! Sessions from the GUI: a collection built, saved, reopened and replayed, a failing replay, the workspace,
//! the log turned into a collection, and session variables.

use super::*;

/// Saves the active tab to `path` and waits for the file worker to finish.
fn save_active_tab(harness: &mut Harness<'static, AppState>, path: &std::path::Path) {
    let active = harness.state().active;
    harness.state_mut().save_tab_to(active, path.to_path_buf());
    harness
        .state_mut()
        .finish_file_work(Duration::from_secs(10));
    harness.run_steps(2);
}

#[test]
fn a_collection_is_built_saved_reopened_and_replayed() {
    let dir = std::env::temp_dir().join(format!("sockscope-ui-session-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("built.ron");
    let mut harness = harness(None);
    connect(&mut harness);
    harness.get_by_label("Send").click();
    wait_for(&mut harness, "the echo", |h| h.state().tab().log.len() >= 2);
    // Save the echoed message from the log into the collection.
    harness.get_by_label_contains("received text 17 B").click();
    harness.run_steps(2);
    harness.get_by_label("Save to collection").click();
    harness.run_steps(2);
    assert_eq!(harness.state().tab().session.steps().len(), 1);
    // Add a second message (it starts empty, not as a copy of the composer), write it, give it an expectation.
    harness.get_by_label("+ Message").click();
    harness.run_steps(2);
    {
        let tab = harness.state_mut().tab_mut();
        let sockscope::model::session::Item::Step(step) = &mut tab.session.collection[1] else {
            panic!("a step")
        };
        assert_eq!(
            step.payload,
            sockscope::model::session::Payload::Text(String::new())
        );
        step.payload = sockscope::model::session::Payload::Text("Hello, sockscope!".into());
        step.expect.push(sockscope::model::session::Expectation {
            matcher: sockscope::model::session::Matcher::Equals("Hello, sockscope!".into()),
            timeout_ms: 3000,
            enabled: true,
        });
        tab.session.name = "Built in the UI".into();
    }
    harness.run_steps(1);
    assert!(
        harness.query_by_label("*").is_some(),
        "the unsaved marker shows"
    );
    save_active_tab(&mut harness, &path);
    assert!(harness.query_by_label("*").is_none(), "saved");
    assert!(
        std::fs::read_to_string(&path)
            .expect("file")
            .contains("Built in the UI")
    );

    // Reopen it in a fresh app from the recent list, then replay it against the echo server.
    drop(harness);
    let mut harness = self::harness(None);
    harness.state_mut().recent = vec![path.clone()];
    harness.run_steps(1);
    harness.get_by_label("Recent").click();
    harness.run_steps(2);
    harness.get_by_label("built.ron").click();
    harness.run_steps(1);
    harness
        .state_mut()
        .finish_file_work(Duration::from_secs(10));
    harness.run_steps(2);
    assert_eq!(harness.state().tab().session.name, "Built in the UI");
    let echo = harness.state().echo_url.clone().expect("echo");
    harness.state_mut().tab_mut().session.endpoint.url = echo;
    harness.get_by_label("Run collection").click();
    wait_for(&mut harness, "the replay to finish", |h| {
        h.state().tab().replay.as_ref().is_some_and(|r| r.finished)
    });
    harness.run_steps(2);
    let run = harness.state().tab().replay.as_ref().expect("replay");
    assert_eq!(run.reports.len(), 2);
    assert!(
        run.reports
            .iter()
            .all(|r| r.outcome == sockscope::model::junit::Outcome::Pass),
        "{:?}",
        run.reports
    );
    // The collection panel's progress, and the connection bar tells the run's outcome (not an older one).
    assert_eq!(
        harness
            .query_all_by_label_contains("finished: 2/2 steps, 2 passed, 0 failed")
            .count(),
        2
    );
    harness.get_by_label("Collection run finished: 2/2 steps, 2 passed, 0 failed");
    // Sending one step by hand needs a connection: it says so.
    harness
        .get_all_by_label("Send")
        .next()
        .expect("a step's Send")
        .click();
    harness.run_steps(2);
    assert!(
        harness
            .query_by_label_contains("not connected: press Connect first")
            .is_some()
    );
}

#[test]
fn a_failing_replay_shows_expected_and_got() {
    let mut harness = harness(None);
    {
        let tab = harness.state_mut().tab_mut();
        tab.session
            .collection
            .push(sockscope::model::session::Item::Step(
                sockscope::model::session::Step {
                    name: "wants a pong".into(),
                    payload: sockscope::model::session::Payload::Text("ping".into()),
                    expect: vec![sockscope::model::session::Expectation {
                        matcher: sockscope::model::session::Matcher::Equals("pong".into()),
                        timeout_ms: 200,
                        enabled: true,
                    }],
                    ..Default::default()
                },
            ));
    }
    harness.run_steps(1);
    harness.get_by_label("Run collection").click();
    wait_for(&mut harness, "the replay to finish", |h| {
        h.state().tab().replay.as_ref().is_some_and(|r| r.finished)
    });
    harness.run_steps(2);
    assert!(
        harness
            .query_by_label_contains("1. wants a pong: expected a message equal to \"pong\"")
            .is_some()
    );
    harness.get_by_label("finished: 1/1 steps, 0 passed, 1 failed");
    harness.get_by_label("Collection run finished: 1/1 steps, 0 passed, 1 failed");
}

#[test]
fn the_workspace_is_restored_and_an_unreadable_one_is_left_alone() {
    let dir = std::env::temp_dir().join(format!("sockscope-ui-ws-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let ws = dir.join("workspace.ron");
    let _ = std::fs::remove_file(&ws);
    {
        let mut state = sockscope::app::headless_state(None).expect("state");
        state.restore_workspace(ws.clone());
        state.tab_mut().composer.text = "keep me".into();
        state.tab_mut().session.name = "unsaved work".into();
        state.apply(sockscope::app::Action::NewTab);
        state.tab_mut().session.endpoint.url = "ws://example.invalid/second".into();
        state.save_workspace();
    }
    let mut state = sockscope::app::headless_state(None).expect("state");
    state.restore_workspace(ws.clone());
    assert_eq!(state.tabs.len(), 2);
    assert_eq!(state.tabs[0].composer.text, "keep me");
    assert_eq!(state.tabs[0].session.name, "unsaved work");
    assert!(state.tabs[0].is_dirty(), "unsaved edits stay marked");
    assert_eq!(
        state.tabs[1].session.endpoint.url,
        "ws://example.invalid/second"
    );
    assert_eq!(state.active, 1);

    std::fs::write(&ws, "not (ron").expect("write");
    let mut state = sockscope::app::headless_state(None).expect("state");
    state.restore_workspace(ws.clone());
    assert!(
        state
            .notice
            .as_deref()
            .is_some_and(|n| n.contains("left as it is"))
    );
    state.save_workspace();
    assert_eq!(
        std::fs::read_to_string(&ws).expect("read"),
        "not (ron",
        "never overwritten"
    );
}

#[test]
fn the_log_becomes_a_collection_with_its_original_timing() {
    let mut harness = harness(None);
    connect(&mut harness);
    harness.get_by_label("Send").click();
    wait_for(&mut harness, "the first echo", |h| {
        h.state().tab().log.len() >= 2
    });
    std::thread::sleep(Duration::from_millis(300));
    harness.state_mut().tab_mut().composer.text = "second".into();
    harness.run_steps(1);
    harness.get_by_label("Send").click();
    wait_for(&mut harness, "the second echo", |h| {
        h.state().tab().log.len() >= 4
    });
    harness.get_by_label("Log to collection").click();
    harness.run_steps(2);
    let steps = harness.state().tab().session.steps();
    assert_eq!(steps.len(), 2);
    assert_eq!(steps[0].1.delay_ms, 0);
    assert!(
        steps[1].1.delay_ms >= 300,
        "recorded gap: {} ms",
        steps[1].1.delay_ms
    );
    assert_eq!(
        steps[1].1.payload,
        sockscope::model::session::Payload::Text("second".into())
    );
    assert_eq!(steps[1].1.expect.len(), 1, "the echo became an expectation");
    assert!(
        !steps[1].1.expect[0].enabled,
        "switched off until the user wants it"
    );
}

#[test]
fn session_variables_apply_to_the_url_and_unknown_ones_stop_the_connect() {
    let mut harness = harness(None);
    let echo = harness.state().echo_url.clone().expect("echo");
    let port = echo.rsplit(':').next().expect("port").to_owned();
    {
        let tab = harness.state_mut().tab_mut();
        tab.session.endpoint.url = "ws://127.0.0.1:{{port}}/{{room}}".into();
        tab.session.variables = vec![
            sockscope::model::session::Variable {
                name: "port".into(),
                value: port,
                secret: false,
            },
            sockscope::model::session::Variable {
                name: "room".into(),
                value: "lobby".into(),
                secret: false,
            },
        ];
    }
    connect(&mut harness);
    assert_eq!(
        harness
            .state()
            .tab()
            .handshake
            .as_ref()
            .expect("handshake")
            .target,
        "/lobby"
    );
    harness.get_by_label("Disconnect").click();
    wait_for(&mut harness, "closed", |h| {
        h.state().tab().conn_state == ConnState::Closed
    });
    harness.state_mut().tab_mut().session.endpoint.url = "ws://127.0.0.1:{{nope}}/".into();
    harness.get_by_label("Connect").click();
    harness.run_steps(2);
    assert!(
        harness
            .query_by_label_contains("unknown variable '{{nope}}'")
            .is_some()
    );
    assert!(
        harness.state().tab().connection().is_none(),
        "nothing was sent"
    );
}

#[test]
fn an_untitled_session_takes_the_name_of_the_file_it_is_saved_to() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("chat.ron");
    let mut harness = harness(None);
    assert_eq!(harness.state().tab().session.name, "Untitled");
    save_active_tab(&mut harness, &path);
    assert_eq!(harness.state().tab().session.name, "chat");
    assert_eq!(harness.state().tab().title(), "chat");
    assert!(
        harness.query_by_label("*").is_none(),
        "saved under that name"
    );
    assert!(
        std::fs::read_to_string(&path)
            .expect("file")
            .contains("name: \"chat\"")
    );
}
