//! Hostile servers seen from the GUI: each ends in plain words with the close code we sent or the server's close.

use super::*;

#[test]
fn hostile_servers_end_in_plain_words_with_the_close_code_we_sent() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    // (frames after the 101, words the error must contain, the close code we send)
    let cases: [(&'static [u8], &str, u16); 3] = [
        (
            &[0x81, 0x02, b'o', b'k', 0x81, 0x02, 0xff, 0xfe],
            "not valid UTF-8",
            1007,
        ),
        (
            &[0x81, 0x02, b'o', b'k', 0xC1, 0x01, b'x'],
            "protocol violation",
            1002,
        ),
        (
            &[0x81, 0x02, b'o', b'k', 0x82, 127, 0, 0, 1, 0, 0, 0, 0, 0],
            "the server sent a message of 1099511627776 bytes, over the limit of",
            1009,
        ),
    ];
    for (frames, words, code) in cases {
        let (addr, _seen) = rt.block_on(crate::servers::raw_101_then(frames));
        let mut harness = harness(Some(format!("ws://{addr}/")));
        wait_for(&mut harness, "the connection to end", |h| {
            h.state().tab().conn_state == ConnState::Closed
        });
        harness.run_steps(2);
        let tab = harness.state().tab();
        let error = tab.error.as_ref().expect("an error is shown");
        assert_eq!(error.stage, sockscope::model::Stage::Read, "{error}");
        assert!(error.message.contains(words), "{error}");
        assert!(
            harness
                .query_by_label_contains(&error.to_string())
                .is_some(),
            "the error is on screen: {error}"
        );
        assert!(
            harness
                .query_by_label_contains("received text 2 B ok")
                .is_some(),
            "what came before is kept"
        );
        let sent_close = tab
            .log
            .iter()
            .find(|e| {
                e.direction == sockscope::model::Direction::Sent
                    && e.kind == sockscope::model::MessageKind::Close
            })
            .expect("our close is logged");
        assert_eq!(sent_close.close_code(), Some(code));
        let row = format!("sent close {} B", sent_close.size());
        assert!(
            harness
                .query_by_label_contains(&format!("{row} {code}"))
                .is_some(),
            "our close with {code} is on screen"
        );
    }
}

#[test]
fn a_reset_mid_frame_and_a_server_ignoring_our_close_end_in_plain_words() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let addr = rt.block_on(crate::servers::raw_101_then_reset(&[
        0x81, 0x02, b'o', b'k', 0x81, 0x05, b'h', b'e',
    ]));
    let mut harness = harness(Some(format!("ws://{addr}/")));
    wait_for(&mut harness, "the reset", |h| {
        h.state().tab().conn_state == ConnState::Closed
    });
    harness.run_steps(2);
    let error = harness.state().tab().error.clone().expect("an error");
    assert_eq!(error.stage, sockscope::model::Stage::Read, "{error}");
    assert!(
        harness
            .query_by_label_contains(&error.to_string())
            .is_some()
    );
    assert!(
        harness
            .query_by_label_contains("received text 2 B ok")
            .is_some()
    );

    drop(harness);
    let addr = rt.block_on(crate::servers::raw_101_deaf());
    let mut harness = self::harness(Some(format!("ws://{addr}/")));
    wait_for(&mut harness, "the connection to open", |h| {
        h.state().tab().conn_state == ConnState::Open
    });
    harness.get_by_label("Disconnect").click();
    wait_for(&mut harness, "giving up on the close", |h| {
        h.state().tab().conn_state == ConnState::Closed
    });
    harness.run_steps(2);
    let error = harness.state().tab().error.clone().expect("an error");
    assert_eq!(error.stage, sockscope::model::Stage::Timeout, "{error}");
    assert!(
        error.message.contains("did not answer our close frame"),
        "{error}"
    );
    assert!(
        harness
            .query_by_label_contains(&error.to_string())
            .is_some()
    );
}

#[test]
fn a_server_close_without_a_code_or_with_an_unallowed_one_is_shown_as_a_server_close() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    // (frames, the close code the GUI reports, the code of our reply)
    let cases: [(&'static [u8], Option<u16>, Option<u16>); 2] = [
        (&[0x81, 0x02, b'o', b'k', 0x88, 0x00], None, None),
        // Code 999 is not allowed: the library answers 1002 and reports 1002.
        (
            &[0x81, 0x02, b'o', b'k', 0x88, 0x02, 0x03, 0xE7],
            Some(1002),
            Some(1002),
        ),
    ];
    for (frames, reported, reply) in cases {
        let (addr, _seen) = rt.block_on(crate::servers::raw_101_then(frames));
        let mut harness = harness(Some(format!("ws://{addr}/")));
        wait_for(&mut harness, "the close", |h| {
            h.state().tab().conn_state == ConnState::Closed
        });
        harness.run_steps(2);
        let tab = harness.state().tab();
        let info = tab.close_info.clone().expect("close info");
        assert_eq!(info.code, reported);
        assert_eq!(info.initiated_by, sockscope::model::Initiator::Server);
        assert!(tab.error.is_none(), "{:?}", tab.error);
        let our_reply = tab
            .log
            .iter()
            .find(|e| {
                e.direction == sockscope::model::Direction::Sent
                    && e.kind == sockscope::model::MessageKind::Close
            })
            .expect("our reply is logged");
        assert!(our_reply.automatic());
        assert_eq!(our_reply.close_code(), reply);
        // The connection bar and the log's divider both say so.
        assert_eq!(
            harness
                .query_all_by_label_contains("closed by the server")
                .count(),
            2
        );
        assert!(
            harness
                .query_by_label_contains("received text 2 B ok")
                .is_some()
        );
    }
}
