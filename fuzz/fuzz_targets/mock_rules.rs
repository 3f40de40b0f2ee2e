//! The mock server's rules: any rules text either loads or gives an error (a loaded file saves to RON that loads
//! again); and the chat rules never panic on any message a client may send, nor on any upgrade request.
#![no_main]
use libfuzzer_sys::fuzz_target;
use sockscope::model::mock::MockRules;
use sockscope::model::mock::core::{MockCore, Request};
use std::path::Path;

const CHAT: &str = include_str!("../../assets/mock/chat.ron");

fuzz_target!(|data: &[u8]| {
    let path = Path::new("fuzz.ron");
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(rules) = MockRules::from_ron(text, path)
    {
        let saved = rules.to_ron().expect("serialises");
        if let Err(e) = MockRules::from_ron(&saved, path) {
            panic!("loaded rules saved RON that does not load: {e}\n{saved}");
        }
        let _ = MockCore::with_env(rules, |_| None);
    }
    let rules = MockRules::from_ron(CHAT, path).expect("chat.ron loads");
    let mut core = MockCore::with_env(rules, |_| Some("T".into())).expect("compiles");
    let text = String::from_utf8_lossy(data).into_owned();
    let request = Request {
        path: text.clone(),
        headers: vec![("Authorization".into(), "Bearer T".into()), ("X".into(), text.clone())],
        subprotocols: vec![text],
        ..Request::default()
    };
    let _ = core.connect("a", request.clone());
    core.opened("a");
    let _ = core.connect("b", request);
    core.opened("b");
    for part in data.split(|b| *b == 0) {
        let _ = core.message("a", true, part);
        let _ = core.message("b", false, part);
    }
    let _ = core.closed("a");
    let _ = core.closed("b");
});
