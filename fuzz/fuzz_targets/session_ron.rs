//! Session files: any text either loads or gives an error; a loaded session saves to RON that loads again.
#![no_main]
use libfuzzer_sys::fuzz_target;
use sockscope::model::session::Session;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let path = Path::new("fuzz.ron");
    if let Ok(session) = Session::from_ron(text, path) {
        let saved = session.to_ron();
        if let Err(e) = Session::from_ron(&saved, path) {
            panic!("a loaded session saved RON that does not load: {e}\n{saved}");
        }
    }
});
