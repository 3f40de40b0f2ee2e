//! The URL and extra headers a user types: the first line is the URL, the others `Name: value` header rows.
//! Parsing and building the upgrade request return a request or a staged error, never a panic; a built request
//! is one HTTP head ending in an empty line.
#![no_main]
use libfuzzer_sys::fuzz_target;
use sockscope::engine::handshake::build_request;
use sockscope::engine::target::parse_target;
use sockscope::model::ConnectRequest;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut lines = text.split('\n');
    let url = lines.next().unwrap_or_default();
    let mut req = ConnectRequest::new(url);
    for line in lines {
        let (name, value) = line.split_once(':').unwrap_or((line, ""));
        req.headers.push((name.to_owned(), value.trim().to_owned()));
    }
    let Ok(target) = parse_target(url) else {
        return;
    };
    if let Ok(upgrade) = build_request(&target, &req) {
        let head = String::from_utf8_lossy(&upgrade.raw);
        assert!(head.ends_with("\r\n\r\n"), "{head:?}");
        assert_eq!(
            head.matches("\r\n\r\n").count(),
            1,
            "one head only: {head:?}"
        );
    }
});
