//! HAR import: any text either imports or gives an error; an imported session saves to RON that loads again.
#![no_main]
use libfuzzer_sys::fuzz_target;
use sockscope::model::{har, session::Session};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(session) = har::import(text) {
        let saved = session.to_ron();
        if let Err(e) = Session::from_ron(&saved, std::path::Path::new("har.ron")) {
            panic!("an imported session saved RON that does not load: {e}\n{saved}");
        }
    }
});
