//! "Copy as": the same connection as a curl, wscat or websocat command line.

use super::ConnectRequest;

/// A command-line tool to express a connection for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tool {
    /// curl, performing the HTTP upgrade and showing the 101 response.
    Curl,
    /// wscat (npm `wscat`).
    Wscat,
    /// websocat.
    Websocat,
}

impl Tool {
    /// Parses `curl`, `wscat` or `websocat`.
    pub fn from_name(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().as_str() {
            "curl" => Some(Self::Curl),
            "wscat" => Some(Self::Wscat),
            "websocat" => Some(Self::Websocat),
            _ => None,
        }
    }

    /// The tool's name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Curl => "curl",
            Self::Wscat => "wscat",
            Self::Websocat => "websocat",
        }
    }
}

/// Quotes `s` for a POSIX shell.
pub fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./:=@%+,".contains(&b))
    {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// The sample key from RFC 6455; any valid key performs the same upgrade.
const SAMPLE_KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

/// The command line for `tool`. Things the tool cannot express are listed as trailing `#` comments.
pub fn command(tool: Tool, req: &ConnectRequest, effective_headers: &[(String, String)]) -> String {
    use crate::model::h2::HttpVersion;
    if req.http_version == HttpVersion::Http2 {
        // A command that speaks HTTP/1.1 would test something else: say so instead.
        return format!(
            "# {} cannot open a WebSocket over HTTP/2 (RFC 8441's extended CONNECT): it speaks HTTP/1.1 only.\n\
             sockscope connect {} --http 2",
            tool.name(),
            shell_quote(req.url.trim())
        );
    }
    let url = req.url.trim();
    let mut parts: Vec<String> = vec![tool.name().to_owned()];
    let mut notes: Vec<String> = Vec::new();
    let protocols: Vec<&str> = req
        .subprotocols
        .iter()
        .map(|p| p.trim())
        .filter(|p| !p.is_empty())
        .collect();
    let origin = req
        .origin
        .as_deref()
        .map(str::trim)
        .filter(|o| !o.is_empty());
    match tool {
        Tool::Curl => {
            let http_url = if let Some(rest) = url.strip_prefix("wss://") {
                format!("https://{rest}")
            } else if let Some(rest) = url.strip_prefix("ws://") {
                format!("http://{rest}")
            } else {
                url.to_owned()
            };
            parts.extend(["--include", "--no-buffer", "--http1.1"].map(String::from));
            let mut headers = vec![
                ("Connection".to_owned(), "Upgrade".to_owned()),
                ("Upgrade".to_owned(), "websocket".to_owned()),
                ("Sec-WebSocket-Version".to_owned(), "13".to_owned()),
                ("Sec-WebSocket-Key".to_owned(), SAMPLE_KEY.to_owned()),
            ];
            if let Some(o) = origin {
                headers.push(("Origin".into(), o.into()));
            }
            if !protocols.is_empty() {
                headers.push(("Sec-WebSocket-Protocol".into(), protocols.join(", ")));
            }
            headers.extend(effective_headers.iter().cloned());
            for (n, v) in headers {
                parts.push("-H".into());
                parts.push(shell_quote(&format!("{n}: {v}")));
            }
            tls_and_proxy(req, &mut parts, &mut notes, tool);
            parts.push(shell_quote(&http_url));
        }
        Tool::Wscat => {
            if !req.deflate.enabled {
                notes.push("wscat always offers permessage-deflate".into());
            }
            parts.push("--connect".into());
            parts.push(shell_quote(url));
            for (n, v) in effective_headers {
                parts.push("-H".into());
                parts.push(shell_quote(&format!("{n}: {v}")));
            }
            for p in &protocols {
                parts.push("-s".into());
                parts.push(shell_quote(p));
            }
            if let Some(o) = origin {
                parts.push("-o".into());
                parts.push(shell_quote(o));
            }
            tls_and_proxy(req, &mut parts, &mut notes, tool);
        }
        Tool::Websocat => {
            // websocat cannot compress (vi/websocat#47): the offer would make a server send frames it cannot read.
            let extensions = |n: &str| n.eq_ignore_ascii_case("Sec-WebSocket-Extensions");
            if effective_headers.iter().any(|(n, _)| extensions(n)) {
                notes.push(
                    "websocat cannot compress (vi/websocat#47): it connects without permessage-deflate".into(),
                );
            }
            for (n, v) in effective_headers.iter().filter(|(n, _)| !extensions(n)) {
                parts.push("-H".into());
                parts.push(shell_quote(&format!("{n}: {v}")));
            }
            if !protocols.is_empty() {
                parts.push("--protocol".into());
                parts.push(shell_quote(&protocols.join(", ")));
            }
            if let Some(o) = origin {
                parts.push("--origin".into());
                parts.push(shell_quote(o));
            }
            tls_and_proxy(req, &mut parts, &mut notes, tool);
            parts.push(shell_quote(url));
        }
    }
    let mut line = parts.join(" ");
    if req.http_version == HttpVersion::Auto {
        notes.push(format!(
            "{} speaks HTTP/1.1 only: where sockscope's auto picks HTTP/2, this command does not",
            tool.name()
        ));
    }
    for note in notes {
        line.push_str(&format!("  # {note}"));
    }
    line
}

fn tls_and_proxy(
    req: &ConnectRequest,
    parts: &mut Vec<String>,
    notes: &mut Vec<String>,
    tool: Tool,
) {
    let tls = &req.tls;
    if tls.insecure {
        parts.push(
            match tool {
                Tool::Curl => "--insecure",
                Tool::Wscat => "--no-check",
                Tool::Websocat => "--insecure",
            }
            .into(),
        );
    }
    let file =
        |p: &Option<std::path::PathBuf>| p.as_ref().map(|p| shell_quote(&p.display().to_string()));
    if let Some(ca) = file(&tls.ca_file) {
        match tool {
            Tool::Curl => parts.extend(["--cacert".into(), ca]),
            Tool::Wscat => parts.extend(["--ca".into(), ca]),
            Tool::Websocat => notes.push(format!(
                "websocat has no CA-file flag: set SSL_CERT_FILE={ca}"
            )),
        }
    }
    if let (Some(cert), Some(key)) = (file(&tls.client_cert_file), file(&tls.client_key_file)) {
        match tool {
            Tool::Curl => parts.extend(["--cert".into(), cert, "--key".into(), key]),
            Tool::Wscat => parts.extend(["--cert".into(), cert, "--key".into(), key]),
            Tool::Websocat => notes
                .push("websocat needs the client identity as PKCS#12 (--client-pkcs12-der)".into()),
        }
    }
    if let Some(proxy) = req
        .proxy
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        match tool {
            Tool::Curl => parts.extend(["--proxy".into(), shell_quote(proxy)]),
            Tool::Wscat => parts.extend(["--proxy".into(), shell_quote(proxy)]),
            Tool::Websocat => match proxy.split_once("://") {
                Some(("socks5" | "socks5h", rest)) => {
                    parts.extend(["--socks5".into(), shell_quote(rest)])
                }
                _ => notes.push(format!(
                    "websocat supports only SOCKS5 proxies; this one is {proxy}"
                )),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> ConnectRequest {
        let mut req = ConnectRequest::new("wss://api.example.com/socket?token=a b");
        req.subprotocols = vec!["graphql-ws".into()];
        req.origin = Some("https://app.example.com".into());
        req
    }

    #[test]
    fn curl_performs_the_upgrade_over_https() {
        let headers = vec![("Authorization".to_owned(), "Bearer it's".to_owned())];
        let line = command(Tool::Curl, &request(), &headers);
        assert!(line.starts_with(
            "curl --include --no-buffer --http1.1 -H 'Connection: Upgrade' -H 'Upgrade: websocket'"
        ));
        assert!(line.contains("-H 'Sec-WebSocket-Protocol: graphql-ws'"));
        assert!(line.contains(r"-H 'Authorization: Bearer it'\''s'"));
        assert!(line.ends_with("'https://api.example.com/socket?token=a b'"));
    }

    #[test]
    fn http2_is_said_to_be_out_of_reach_instead_of_a_wrong_command() {
        let mut req = request();
        req.http_version = crate::model::h2::HttpVersion::Http2;
        for tool in [Tool::Curl, Tool::Wscat, Tool::Websocat] {
            let text = command(tool, &req, &[]);
            assert!(
                text.starts_with(&format!(
                    "# {} cannot open a WebSocket over HTTP/2",
                    tool.name()
                )),
                "{text}"
            );
            assert_eq!(
                text.lines().nth(1),
                Some("sockscope connect 'wss://api.example.com/socket?token=a b' --http 2"),
                "the command that can: {text}"
            );
        }
        req.http_version = crate::model::h2::HttpVersion::Auto;
        let curl = command(Tool::Curl, &req, &[]);
        assert!(curl.starts_with("curl --include"), "{curl}");
        assert!(curl.contains("# curl speaks HTTP/1.1 only"), "{curl}");
    }

    #[test]
    fn wscat_and_websocat_flags() {
        let mut req = request();
        req.tls.insecure = true;
        req.proxy = Some("socks5://127.0.0.1:1080".into());
        let headers = vec![("X-A".to_owned(), "1".to_owned())];
        let wscat = command(Tool::Wscat, &req, &headers);
        assert!(wscat.starts_with("wscat --connect 'wss://api.example.com/socket?token=a b' -H 'X-A: 1' -s graphql-ws -o https://app.example.com --no-check"));
        let websocat = command(Tool::Websocat, &req, &headers);
        assert_eq!(
            websocat,
            "websocat -H 'X-A: 1' --protocol graphql-ws --origin https://app.example.com --insecure --socks5 127.0.0.1:1080 'wss://api.example.com/socket?token=a b'"
        );
    }

    #[test]
    fn the_deflate_offer_is_a_header_except_for_websocat() {
        let req = request();
        let headers = vec![(
            "Sec-WebSocket-Extensions".to_owned(),
            "permessage-deflate; client_max_window_bits".to_owned(),
        )];
        for tool in [Tool::Curl, Tool::Wscat] {
            let line = command(tool, &req, &headers);
            assert!(
                line.contains(
                    "-H 'Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits'"
                ),
                "{line}"
            );
            assert!(!line.contains('#'), "{line}");
        }
        let websocat = command(Tool::Websocat, &req, &headers);
        assert!(!websocat.contains("-H"), "{websocat}");
        assert!(websocat.ends_with("# websocat cannot compress (vi/websocat#47): it connects without permessage-deflate"), "{websocat}");
        let mut off = request();
        off.deflate.enabled = false;
        let wscat = command(Tool::Wscat, &off, &[]);
        assert!(
            wscat.ends_with("# wscat always offers permessage-deflate"),
            "{wscat}"
        );
    }
}
