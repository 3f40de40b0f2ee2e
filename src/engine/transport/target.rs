//! Turns the URL a user typed into a validated connection target.

use crate::model::{Stage, StageError};
use base64::Engine as _;
use std::net::IpAddr;

/// A parsed, validated WebSocket endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// The normalised URL (`ws://` or `wss://`, no fragment, no credentials: those travel as `basic_auth`).
    pub url: String,
    /// True for `wss://`.
    pub secure: bool,
    /// Host name or IP address, without IPv6 brackets.
    pub host: String,
    /// The host as an IP address, when it is one (no DNS needed).
    pub ip: Option<IpAddr>,
    /// TCP port.
    pub port: u16,
    /// Path and query, as sent in the request line.
    pub resource: String,
    /// The value of the `Host` header.
    pub host_header: String,
    /// `Authorization` value built from credentials in the URL, if any.
    pub basic_auth: Option<String>,
}

/// Parses `input`. Accepts `ws://`, `wss://`, `http://` → ws, `https://` → wss, and a bare `host[:port]/…` as ws.
pub fn parse_target(input: &str) -> Result<Target, StageError> {
    let trimmed = input.trim();
    if trimmed.is_empty() {
        return Err(StageError::new(
            Stage::Url,
            "no URL given (try ws://127.0.0.1:9001)",
        ));
    }
    let with_scheme = if trimmed.contains("://") {
        trimmed.to_owned()
    } else {
        format!("ws://{trimmed}")
    };
    let mut url = url::Url::parse(&with_scheme)
        .map_err(|e| StageError::new(Stage::Url, format!("'{trimmed}' is not a valid URL: {e}")))?;
    let secure = match url.scheme() {
        "ws" | "http" => false,
        "wss" | "https" => true,
        other => {
            return Err(StageError::new(
                Stage::Url,
                format!("unsupported scheme '{other}://' (use ws:// or wss://)"),
            ));
        }
    };
    let (host, ip) = match url.host() {
        Some(url::Host::Domain(d)) => (d.to_owned(), None),
        Some(url::Host::Ipv4(a)) => (a.to_string(), Some(IpAddr::V4(a))),
        Some(url::Host::Ipv6(a)) => (a.to_string(), Some(IpAddr::V6(a))),
        None => {
            return Err(StageError::new(
                Stage::Url,
                format!("'{trimmed}' has no host"),
            ));
        }
    };
    let default_port = if secure { 443 } else { 80 };
    let port = url.port().unwrap_or(default_port);
    let host_for_header = match ip {
        Some(IpAddr::V6(_)) => format!("[{host}]"),
        _ => host.clone(),
    };
    let host_header = if port == default_port {
        host_for_header
    } else {
        format!("{host_for_header}:{port}")
    };
    let basic_auth = if url.username().is_empty() {
        None
    } else {
        let user = percent_decode(url.username());
        let pass = percent_decode(url.password().unwrap_or(""));
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
        Some(format!("Basic {token}"))
    };
    let mut resource = url.path().to_owned();
    if resource.is_empty() {
        resource.push('/');
    }
    if let Some(q) = url.query() {
        resource.push('?');
        resource.push_str(q);
    }
    url.set_fragment(None);
    let _ = url.set_scheme(if secure { "wss" } else { "ws" });
    // Credentials are sent as an Authorization header, never kept in the URL, which may be shown or logged.
    let _ = url.set_username("");
    let _ = url.set_password(None);
    Ok(Target {
        url: url.to_string(),
        secure,
        host,
        ip,
        port,
        resource,
        host_header,
        basic_auth,
    })
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Some(v) = std::str::from_utf8(&bytes[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes_ports_and_resources() {
        let t = parse_target("ws://example.com/chat?room=1#frag").expect("valid");
        assert_eq!(
            (t.secure, t.port, t.resource.as_str()),
            (false, 80, "/chat?room=1")
        );
        assert_eq!(t.host_header, "example.com");
        assert_eq!(t.url, "ws://example.com/chat?room=1");

        let t = parse_target("https://example.com:8443").expect("valid");
        assert_eq!((t.secure, t.port, t.resource.as_str()), (true, 8443, "/"));
        assert_eq!(t.host_header, "example.com:8443");
        assert!(t.url.starts_with("wss://"));

        let t = parse_target("127.0.0.1:9001").expect("bare host:port");
        assert_eq!(t.ip, Some("127.0.0.1".parse().expect("ip")));
        assert_eq!(t.port, 9001);

        let t = parse_target("ws://[::1]:9001/x").expect("ipv6");
        assert_eq!(t.host, "::1");
        assert_eq!(t.host_header, "[::1]:9001");
    }

    #[test]
    fn credentials_become_basic_auth() {
        let t = parse_target("ws://al%40ice:s3cret@h/").expect("valid");
        assert_eq!(t.basic_auth.as_deref(), Some("Basic YWxAaWNlOnMzY3JldA=="));
        assert_eq!(t.url, "ws://h/", "credentials are not kept in the URL");
    }

    #[test]
    fn bad_urls_say_why() {
        for (input, needle) in [
            ("", "no URL"),
            ("ftp://x", "unsupported scheme"),
            ("ws://", "not a valid URL"),
            ("ws://exa mple.com", "not a valid URL"),
        ] {
            let err = parse_target(input).expect_err(input);
            assert_eq!(err.stage, Stage::Url);
            assert!(err.message.contains(needle), "{input}: {}", err.message);
        }
    }
}
