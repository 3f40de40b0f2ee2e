//! Templates in messages: `{{counter}}`, `{{timestamp_ms}}`, `{{uuid}}`, `{{random_int}}`, and variables the
//! caller supplies (`{{name}}`, `{{env.NAME}}`). An unknown name is an error shown before sending, never sent
//! literally.

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

/// Why a template could not be expanded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// `{{name}}` names nothing known.
    #[error(
        "unknown variable '{{{{{0}}}}}' (built-ins: counter, timestamp_ms, uuid, random_int; env.NAME)"
    )]
    Unknown(String),
    /// `{{` without a matching `}}`.
    #[error("'{{{{' at byte {0} is not closed with '}}}}'")]
    Unclosed(usize),
    /// `{{env.NAME}}` names an unset variable.
    #[error("environment variable '{0}' is not set")]
    MissingEnv(String),
}

/// What a template may refer to.
#[derive(Clone, Debug, Default)]
pub struct Context {
    /// The value of `{{counter}}` (the caller increments it per send).
    pub counter: u64,
    /// User variables.
    pub variables: HashMap<String, String>,
}

/// Expands every `{{…}}` in `text`.
pub fn expand(
    text: &str,
    ctx: &Context,
    env: impl Fn(&str) -> Option<String>,
) -> Result<String, TemplateError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut offset = 0;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            return Err(TemplateError::Unclosed(offset + start));
        };
        let name = after[..end].trim();
        out.push_str(&resolve(name, ctx, &env)?);
        let consumed = start + 2 + end + 2;
        offset += consumed;
        rest = &rest[consumed..];
    }
    out.push_str(rest);
    Ok(out)
}

fn resolve(
    name: &str,
    ctx: &Context,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<String, TemplateError> {
    if let Some(value) = ctx.variables.get(name) {
        return Ok(value.clone());
    }
    if let Some(var) = name.strip_prefix("env.") {
        return env(var).ok_or_else(|| TemplateError::MissingEnv(var.to_owned()));
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    Ok(match name {
        "counter" => ctx.counter.to_string(),
        "timestamp_ms" => now.as_millis().to_string(),
        "uuid" => uuid_v4(),
        "random_int" => (random_u64() % 1_000_000).to_string(),
        _ => return Err(TemplateError::Unknown(name.to_owned())),
    })
}

pub(crate) fn random_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos(),
    );
    h.finish()
}

/// A random (version 4) UUID.
pub fn uuid_v4() -> String {
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&random_u64().to_le_bytes());
    bytes[8..].copy_from_slice(&random_u64().to_le_bytes());
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// A random number in [0, 1), for backoff jitter.
pub fn random_unit() -> f64 {
    (random_u64() >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn builtins_variables_and_env() {
        let mut ctx = Context {
            counter: 7,
            ..Context::default()
        };
        ctx.variables.insert("room".into(), "lobby".into());
        let out = expand(
            r#"{"n":{{counter}},"room":"{{ room }}","k":"{{env.KEY}}"}"#,
            &ctx,
            |n| (n == "KEY").then(|| "v".to_owned()),
        )
        .expect("expands");
        assert_eq!(out, r#"{"n":7,"room":"lobby","k":"v"}"#);
        let id = expand("{{uuid}}", &ctx, no_env).expect("uuid");
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert!(
            expand("{{timestamp_ms}}", &ctx, no_env)
                .expect("ts")
                .parse::<u128>()
                .is_ok()
        );
        assert_eq!(
            expand("no templates", &ctx, no_env).expect("plain"),
            "no templates"
        );
    }

    #[test]
    fn unknown_unclosed_and_missing_env_are_errors() {
        let ctx = Context::default();
        assert_eq!(
            expand("a {{nope}}", &ctx, no_env),
            Err(TemplateError::Unknown("nope".into()))
        );
        assert_eq!(
            expand("ab{{counter", &ctx, no_env),
            Err(TemplateError::Unclosed(2))
        );
        assert_eq!(
            expand("{{env.X}}", &ctx, no_env),
            Err(TemplateError::MissingEnv("X".into()))
        );
        assert_eq!(
            TemplateError::Unknown("nope".into()).to_string(),
            "unknown variable '{{nope}}' (built-ins: counter, timestamp_ms, uuid, random_int; env.NAME)"
        );
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_with_jitter() {
        let p = crate::model::ReconnectPolicy {
            enabled: true,
            max_attempts: None,
            initial_delay_millis: 100,
            max_delay_millis: 1000,
        };
        assert_eq!(p.delay(1, 1.0).as_millis(), 100);
        assert_eq!(p.delay(2, 1.0).as_millis(), 200);
        assert_eq!(p.delay(4, 1.0).as_millis(), 800);
        assert_eq!(p.delay(9, 1.0).as_millis(), 1000);
        assert_eq!(p.delay(2, 0.0).as_millis(), 100);
    }
}
