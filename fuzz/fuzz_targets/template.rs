//! Template expansion: the first line is the template, the rest `name=value` variables; the environment has one
//! variable. Expansion returns text or an error, and text without `{{` comes back unchanged.
#![no_main]
use libfuzzer_sys::fuzz_target;
use sockscope::model::template::{Context, expand};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (template, rest) = text.split_once('\n').unwrap_or((text, ""));
    let mut ctx = Context {
        counter: 7,
        ..Context::default()
    };
    for line in rest.lines() {
        if let Some((name, value)) = line.split_once('=') {
            ctx.variables.insert(name.to_owned(), value.to_owned());
        }
    }
    let env = |name: &str| (name == "TOKEN").then(|| "t0k".to_owned());
    let result = expand(template, &ctx, env);
    if !template.contains("{{") {
        assert!(
            matches!(result.as_deref(), Ok(t) if t == template),
            "plain text changed: {result:?}"
        );
    }
});
