//! Proxies: HTTP CONNECT (with Basic auth) and SOCKS5 (with user/password), given explicitly or taken from
//! `HTTPS_PROXY` / `HTTP_PROXY` / `ALL_PROXY`, minus the hosts `NO_PROXY` names.

use crate::engine::target::Target;
use crate::model::{ProxyExchange, Stage, StageError};
use base64::Engine as _;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The kind of proxy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProxyScheme {
    /// HTTP CONNECT tunnel.
    Http,
    /// SOCKS5, with the target name resolved by the proxy.
    Socks5,
}

/// A parsed proxy address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proxy {
    /// HTTP or SOCKS5.
    pub scheme: ProxyScheme,
    /// Proxy host.
    pub host: String,
    /// Proxy port.
    pub port: u16,
    /// User and password, when given.
    pub credentials: Option<(String, String)>,
    /// Where it came from: "--proxy" or the environment variable's name.
    pub source: String,
}

impl Proxy {
    /// `http://host:port` or `socks5://host:port`, without credentials (safe to show).
    pub fn display(&self) -> String {
        let scheme = match self.scheme {
            ProxyScheme::Http => "http",
            ProxyScheme::Socks5 => "socks5",
        };
        format!("{scheme}://{}:{}", self.host, self.port)
    }
}

/// Parses `http://[user:pass@]host:port`, `socks5://…` (or `socks5h://`), or a bare `host:port` (HTTP).
pub fn parse_proxy(input: &str, source: &str) -> Result<Proxy, StageError> {
    let input = input.trim();
    let with_scheme = if input.contains("://") {
        input.to_owned()
    } else {
        format!("http://{input}")
    };
    let bad =
        |why: String| StageError::new(Stage::Proxy, format!("proxy address from {source} {why}"));
    let url = url::Url::parse(&with_scheme).map_err(|e| bad(format!("is not valid: {e}")))?;
    let scheme = match url.scheme() {
        "http" => ProxyScheme::Http,
        "socks5" | "socks5h" => ProxyScheme::Socks5,
        "https" => {
            return Err(bad(
                "uses https://, which is not supported (use http:// or socks5://)".into(),
            ));
        }
        other => {
            return Err(bad(format!(
                "has unsupported scheme '{other}://' (use http:// or socks5://)"
            )));
        }
    };
    let host = match url.host() {
        Some(url::Host::Ipv6(a)) => a.to_string(),
        Some(h) => h.to_string(),
        None => return Err(bad("has no host".into())),
    };
    let port = url.port().unwrap_or(match scheme {
        ProxyScheme::Http => 8080,
        ProxyScheme::Socks5 => 1080,
    });
    let credentials = (!url.username().is_empty()).then(|| {
        (
            decode(url.username()),
            decode(url.password().unwrap_or_default()),
        )
    });
    Ok(Proxy {
        scheme,
        host,
        port,
        credentials,
        source: source.to_owned(),
    })
}

fn decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// The proxy the environment asks for when connecting to `target`, if any.
pub fn proxy_from_env(
    target: &Target,
    env: impl Fn(&str) -> Option<String>,
) -> Option<Result<Proxy, StageError>> {
    let get = |name: &str| {
        env(&name.to_ascii_lowercase())
            .or_else(|| env(name))
            .filter(|v| !v.trim().is_empty())
            .map(|v| (name.to_owned(), v))
    };
    let (name, value) = if target.secure {
        get("HTTPS_PROXY").or_else(|| get("ALL_PROXY"))?
    } else {
        get("HTTP_PROXY").or_else(|| get("ALL_PROXY"))?
    };
    if let Some((_, no_proxy)) = get("NO_PROXY")
        && no_proxy_matches(&no_proxy, &target.host, target.port)
    {
        return None;
    }
    Some(parse_proxy(&value, &name))
}

/// True when `host` is excluded by a `NO_PROXY` list (`*`, exact names, domain suffixes, `host:port`).
pub fn no_proxy_matches(no_proxy: &str, host: &str, port: u16) -> bool {
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_ascii_lowercase();
    no_proxy
        .split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .any(|entry| {
            if entry == "*" {
                return true;
            }
            let entry = entry.to_ascii_lowercase();
            let (name, entry_port) = match entry.rsplit_once(':') {
                Some((n, p)) if !n.contains(':') && p.parse::<u16>().is_ok() => {
                    (n.to_owned(), p.parse::<u16>().ok())
                }
                _ => (entry.clone(), None),
            };
            if entry_port.is_some_and(|p| p != port) {
                return false;
            }
            let name = name.trim_start_matches("*.").trim_start_matches('.');
            host == name || host.ends_with(&format!(".{name}"))
        })
}

/// Opens an HTTP CONNECT tunnel to `target` over `stream`.
pub async fn http_connect(
    stream: &mut TcpStream,
    proxy: &Proxy,
    target: &Target,
    exchange: &mut ProxyExchange,
) -> Result<(), StageError> {
    let authority = if target.host.contains(':') {
        format!("[{}]:{}", target.host, target.port)
    } else {
        format!("{}:{}", target.host, target.port)
    };
    let mut request = format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n");
    let mut shown = request.clone();
    if let Some((user, pass)) = &proxy.credentials {
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
        request.push_str(&format!("Proxy-Authorization: Basic {token}\r\n"));
        shown.push_str("Proxy-Authorization: Basic ••••••\r\n");
    }
    request.push_str("\r\n");
    shown.push_str("\r\n");
    exchange.request = shown;
    stream.write_all(request.as_bytes()).await.map_err(|e| {
        StageError::new(
            Stage::Proxy,
            format!("could not send CONNECT to the proxy: {e}"),
        )
    })?;
    // Byte by byte up to the blank line, so no tunnel bytes are read past it.
    let mut head = Vec::with_capacity(256);
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() > 16 * 1024 {
            return Err(StageError::new(
                Stage::Proxy,
                "the proxy's CONNECT reply exceeds 16 KiB",
            ));
        }
        let n = stream.read(&mut byte).await.map_err(|e| {
            StageError::new(
                Stage::Proxy,
                format!("reading the proxy's reply failed: {e}"),
            )
        })?;
        if n == 0 {
            exchange.response = String::from_utf8_lossy(&head).into_owned();
            return Err(StageError::new(
                Stage::Proxy,
                "the proxy closed the connection without answering CONNECT",
            ));
        }
        head.push(byte[0]);
    }
    exchange.response = String::from_utf8_lossy(&head).into_owned();
    let status_line = exchange
        .response
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned();
    let status: u16 = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    match status {
        200..=299 => Ok(()),
        407 => Err(StageError::new(
            Stage::Proxy,
            if proxy.credentials.is_some() {
                format!("the proxy rejected our credentials ({status_line})")
            } else {
                format!(
                    "the proxy requires authentication ({status_line}): give user:pass in the proxy URL"
                )
            },
        )),
        0 => Err(StageError::new(
            Stage::Proxy,
            format!(
                "the proxy's reply is not HTTP: '{}'",
                status_line.chars().take(80).collect::<String>()
            ),
        )),
        _ => Err(StageError::new(
            Stage::Proxy,
            format!("the proxy refused to connect to {authority}: {status_line}"),
        )),
    }
}

/// Asks a SOCKS5 proxy on `stream` for a tunnel to `target` (the proxy resolves the name).
pub async fn socks5_connect(
    stream: TcpStream,
    proxy: &Proxy,
    target: &Target,
    exchange: &mut ProxyExchange,
) -> Result<TcpStream, StageError> {
    let dest = (target.host.as_str(), target.port);
    exchange.request = match &proxy.credentials {
        Some((user, _)) => format!(
            "SOCKS5 CONNECT {}:{} (user '{user}')",
            target.host, target.port
        ),
        None => format!(
            "SOCKS5 CONNECT {}:{} (no authentication)",
            target.host, target.port
        ),
    };
    let result = match &proxy.credentials {
        Some((user, pass)) => {
            tokio_socks::tcp::Socks5Stream::connect_with_password_and_socket(
                stream, dest, user, pass,
            )
            .await
        }
        None => tokio_socks::tcp::Socks5Stream::connect_with_socket(stream, dest).await,
    };
    match result {
        Ok(s) => {
            exchange.response = "succeeded".into();
            Ok(s.into_inner())
        }
        Err(e) => {
            exchange.response = format!("failed: {e}");
            let why = match &e {
                tokio_socks::Error::PasswordAuthFailure(_) => "the proxy rejected our user name or password".to_owned(),
                tokio_socks::Error::NoAcceptableAuthMethods => {
                    "the proxy accepts none of our authentication methods (give user:pass in the proxy URL?)".to_owned()
                }
                other => format!("the SOCKS5 proxy could not connect to {}:{}: {other}", target.host, target.port),
            };
            Err(StageError::new(Stage::Proxy, why))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::target::parse_target;

    #[test]
    fn proxy_urls() {
        let p = parse_proxy("http://al%20ice:p%40ss@proxy.local:3128", "--proxy").expect("valid");
        assert_eq!(
            (p.scheme, p.host.as_str(), p.port),
            (ProxyScheme::Http, "proxy.local", 3128)
        );
        assert_eq!(p.credentials, Some(("al ice".into(), "p@ss".into())));
        assert_eq!(p.display(), "http://proxy.local:3128");
        let p = parse_proxy("socks5h://127.0.0.1", "ALL_PROXY").expect("valid");
        assert_eq!((p.scheme, p.port), (ProxyScheme::Socks5, 1080));
        assert_eq!(
            parse_proxy("10.0.0.1:8888", "--proxy")
                .expect("bare")
                .scheme,
            ProxyScheme::Http
        );
        assert!(
            parse_proxy("ftp://x", "--proxy")
                .expect_err("scheme")
                .message
                .contains("unsupported")
        );
    }

    #[test]
    fn environment_and_no_proxy() {
        let wss = parse_target("wss://api.example.com/").expect("url");
        let ws = parse_target("ws://localhost:9000/").expect("url");
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        let e = env(&[("HTTPS_PROXY", "http://p:1"), ("ALL_PROXY", "socks5://s:2")]);
        assert_eq!(
            proxy_from_env(&wss, e).and_then(Result::ok).map(|p| p.port),
            Some(1)
        );
        assert_eq!(
            proxy_from_env(&ws, e).and_then(Result::ok).map(|p| p.port),
            Some(2)
        );
        let e = env(&[
            ("https_proxy", "http://p:1"),
            ("no_proxy", "localhost,.example.com"),
        ]);
        assert!(proxy_from_env(&wss, e).is_none());
        assert!(
            proxy_from_env(&ws, env(&[("NO_PROXY", "*"), ("ALL_PROXY", "http://p:1")])).is_none()
        );
        assert!(no_proxy_matches("example.com", "api.example.com", 443));
        assert!(!no_proxy_matches("example.com", "badexample.com", 443));
        assert!(no_proxy_matches("localhost:9000", "localhost", 9000));
        assert!(!no_proxy_matches("localhost:9000", "localhost", 9001));
        assert!(no_proxy_matches("::1", "::1", 80));
    }
}
