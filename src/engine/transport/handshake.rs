//! The HTTP upgrade, done by hand so that the exact bytes both ways can be shown and every check explained.
//!
//! tungstenite's own client handshake hides the raw response and refuses some legal replies (a `Connection`
//! token list, no subprotocol selected); this module writes the request itself, reads the response head up to
//! the blank line, validates it, and hands any bytes read past the head to tungstenite as the start of the
//! frame stream.

use crate::engine::target::Target;
use crate::model::deflate::{self, DeflateOffer};
use crate::model::{
    Check, CheckOutcome, ConnectRequest, HandshakeInfo, HttpHead, Stage, StageError,
};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Largest response head we accept.
const MAX_HEAD_BYTES: usize = 64 * 1024;
/// Largest body of a non-101 reply we keep.
const MAX_BODY_BYTES: usize = 64 * 1024;

/// A request ready to be written.
#[derive(Clone, Debug)]
pub struct UpgradeRequest {
    /// The request head as it will be sent.
    pub head: HttpHead,
    /// The bytes that will be sent.
    pub raw: Vec<u8>,
    /// The `Sec-WebSocket-Key` sent (the user's, if they overrode it).
    pub key: String,
    /// The subprotocols offered.
    pub offered_protocols: Vec<String>,
    /// The permessage-deflate offers made (none when compression is off).
    pub deflate_offers: Vec<DeflateOffer>,
}

/// Builds the upgrade request. A user header named like a generated one replaces it in place.
pub fn build_request(target: &Target, req: &ConnectRequest) -> Result<UpgradeRequest, StageError> {
    let key = tokio_tungstenite::tungstenite::handshake::client::generate_key();
    let mut headers: Vec<(String, String)> = vec![
        ("Host".into(), target.host_header.clone()),
        ("Upgrade".into(), "websocket".into()),
        ("Connection".into(), "Upgrade".into()),
        ("Sec-WebSocket-Key".into(), key),
        ("Sec-WebSocket-Version".into(), "13".into()),
    ];
    if let Some(origin) = req.origin.as_ref().filter(|o| !o.trim().is_empty()) {
        headers.push(("Origin".into(), origin.trim().to_owned()));
    }
    let offered: Vec<String> = req
        .subprotocols
        .iter()
        .map(|p| p.trim().to_owned())
        .filter(|p| !p.is_empty())
        .collect();
    if !offered.is_empty() {
        headers.push(("Sec-WebSocket-Protocol".into(), offered.join(", ")));
    }
    if let Some(offers) = req
        .deflate
        .offers()
        .map_err(|e| StageError::new(Stage::Handshake, e))?
    {
        let extensions: Vec<_> = offers.iter().map(DeflateOffer::to_extension).collect();
        headers.push((
            "Sec-WebSocket-Extensions".into(),
            deflate::format_extensions(&extensions),
        ));
    }
    if let Some(auth) = &target.basic_auth {
        headers.push(("Authorization".into(), auth.clone()));
    }
    for (name, value) in &req.headers {
        let name = name.trim();
        if name.is_empty() {
            continue;
        }
        validate_header(name, value)?;
        let value = value.trim().to_owned();
        match headers
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            Some(slot) => *slot = (name.to_owned(), value),
            None => headers.push((name.to_owned(), value)),
        }
    }
    let key = header_value(&headers, "Sec-WebSocket-Key")
        .unwrap_or_default()
        .to_owned();
    // A Sec-WebSocket-Extensions header of the user's replaces the generated offer: what it offers is checked.
    let deflate_offers = header_value(&headers, "Sec-WebSocket-Extensions")
        .map(deflate::offers_in)
        .unwrap_or_default();
    let start_line = format!("GET {} HTTP/1.1", target.resource);
    let mut raw = Vec::with_capacity(256);
    raw.extend_from_slice(start_line.as_bytes());
    raw.extend_from_slice(b"\r\n");
    for (n, v) in &headers {
        raw.extend_from_slice(n.as_bytes());
        raw.extend_from_slice(b": ");
        raw.extend_from_slice(v.as_bytes());
        raw.extend_from_slice(b"\r\n");
    }
    raw.extend_from_slice(b"\r\n");
    Ok(UpgradeRequest {
        head: HttpHead {
            start_line,
            headers,
        },
        raw,
        key,
        offered_protocols: offered,
        deflate_offers,
    })
}

/// The headers a request carries besides the ones every upgrade has (for "copy as" commands).
pub fn extra_headers(req: &ConnectRequest) -> Result<Vec<(String, String)>, StageError> {
    let target = crate::engine::target::parse_target(&req.url)?;
    let built = build_request(&target, req)?;
    const STANDARD: [&str; 7] = [
        "Host",
        "Upgrade",
        "Connection",
        "Sec-WebSocket-Key",
        "Sec-WebSocket-Version",
        "Origin",
        "Sec-WebSocket-Protocol",
    ];
    Ok(built
        .head
        .headers
        .into_iter()
        .filter(|(n, _)| !STANDARD.iter().any(|s| s.eq_ignore_ascii_case(n)))
        .collect())
}

fn validate_header(name: &str, value: &str) -> Result<(), StageError> {
    let token_ok = name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
    if !token_ok {
        return Err(StageError::new(
            Stage::Handshake,
            format!(
                "header name '{name}' has characters HTTP does not allow (use letters, digits and -)"
            ),
        ));
    }
    if value.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
        return Err(StageError::new(
            Stage::Handshake,
            format!("the value of header '{name}' contains a line break"),
        ));
    }
    Ok(())
}

/// The first value of header `name` (case-insensitive).
pub fn header_value<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Comma-separated tokens across every header named `name`.
fn header_tokens<'a>(
    headers: &'a [(String, String)],
    name: &'a str,
) -> impl Iterator<Item = &'a str> {
    headers
        .iter()
        .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
        .flat_map(|(_, v)| v.split(','))
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

/// The outcome of a successful upgrade.
pub struct Upgraded {
    /// Bytes read past the response head: the start of the frame stream.
    pub leftover: Vec<u8>,
}

/// Sends the request and reads the response. On success `info` describes the exchange; on failure it holds
/// whatever was seen so far.
pub async fn upgrade<S>(
    stream: &mut S,
    request: &UpgradeRequest,
    info: &mut HandshakeInfo,
    body_wait: Duration,
) -> Result<Upgraded, StageError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    info.request = request.head.clone();
    info.request_raw = request.raw.clone();
    info.method = "GET".into();
    info.target = request.head.start_line[4..request.head.start_line.len() - 9].to_owned();
    stream.write_all(&request.raw).await.map_err(|e| {
        StageError::new(
            Stage::Handshake,
            format!("could not send the upgrade request: {e}"),
        )
    })?;
    stream.flush().await.map_err(|e| {
        StageError::new(
            Stage::Handshake,
            format!("could not send the upgrade request: {e}"),
        )
    })?;

    let mut buf = Vec::with_capacity(1024);
    let head_len = loop {
        if let Some(pos) = find_head_end(&buf) {
            break pos;
        }
        if buf.len() > MAX_HEAD_BYTES {
            return Err(StageError::new(
                Stage::Handshake,
                format!("the response headers exceed {} KiB", MAX_HEAD_BYTES / 1024),
            ));
        }
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await.map_err(|e| {
            StageError::new(
                Stage::Handshake,
                format!("reading the upgrade response failed: {e}"),
            )
        })?;
        if n == 0 {
            info.response_raw = buf.clone();
            return Err(StageError::new(
                Stage::Handshake,
                if buf.is_empty() {
                    "the server closed the connection without answering the upgrade request"
                        .to_owned()
                } else {
                    format!(
                        "the server closed the connection in the middle of its HTTP response ({} bytes received)",
                        buf.len()
                    )
                },
            ));
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let leftover = buf.split_off(head_len);
    info.response_raw = buf;
    parse_response_head(info)?;

    if info.status != 101 {
        let body = read_body(stream, &info.response.headers, leftover, body_wait).await;
        info.response_body = body;
        let error = non_101_error(info);
        info.checks = vec![Check {
            name: "Status".into(),
            outcome: CheckOutcome::Fail,
            detail: format!(
                "{} {} instead of 101 Switching Protocols",
                info.status, info.reason
            ),
        }];
        return Err(error);
    }
    check_101(info, request)?;
    Ok(Upgraded { leftover })
}

fn find_head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n").map(|p| p + 4)
}

fn parse_response_head(info: &mut HandshakeInfo) -> Result<(), StageError> {
    let raw = &info.response_raw;
    let mut headers = [httparse::EMPTY_HEADER; 128];
    let mut resp = httparse::Response::new(&mut headers);
    match resp.parse(raw) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => {
            return Err(StageError::new(
                Stage::Handshake,
                "the HTTP response head is incomplete",
            ));
        }
        Err(e) => {
            let first = raw.split(|&b| b == b'\r').next().unwrap_or_default();
            return Err(StageError::new(
                Stage::Handshake,
                format!(
                    "the server's answer is not a valid HTTP response ({e}); it begins with '{}'",
                    String::from_utf8_lossy(&first[..first.len().min(80)])
                ),
            ));
        }
    }
    info.status = resp.code.unwrap_or(0);
    info.reason = resp.reason.unwrap_or("").to_owned();
    info.response.headers = resp
        .headers
        .iter()
        .map(|h| {
            (
                h.name.to_owned(),
                String::from_utf8_lossy(h.value).into_owned(),
            )
        })
        .collect();
    let line_end = raw
        .windows(2)
        .position(|w| w == b"\r\n")
        .unwrap_or(raw.len());
    info.response.start_line = String::from_utf8_lossy(&raw[..line_end]).into_owned();
    Ok(())
}

async fn read_body<S>(
    stream: &mut S,
    headers: &[(String, String)],
    mut body: Vec<u8>,
    wait: Duration,
) -> Vec<u8>
where
    S: AsyncRead + Unpin,
{
    let expected =
        header_value(headers, "Content-Length").and_then(|v| v.trim().parse::<usize>().ok());
    let limit = expected.unwrap_or(MAX_BODY_BYTES).min(MAX_BODY_BYTES);
    let deadline = tokio::time::Instant::now() + wait;
    let chunked =
        header_tokens(headers, "Transfer-Encoding").any(|t| t.eq_ignore_ascii_case("chunked"));
    let mut chunk = [0u8; 4096];
    while body.len() < limit {
        if chunked && let Some((whole, _)) = crate::engine::pipeline::dechunk(&body) {
            return whole;
        }
        match tokio::time::timeout_at(deadline, stream.read(&mut chunk)).await {
            Ok(Ok(n)) if n > 0 => body.extend_from_slice(&chunk[..n]),
            _ => break,
        }
    }
    // A chunked body is shown without its chunk sizes, also when it did not end in time.
    if chunked {
        return crate::engine::pipeline::dechunk(&body)
            .map(|(whole, _)| whole)
            .unwrap_or_else(|| dechunk_partial(&body));
    }
    body.truncate(limit);
    body
}

/// The data of the complete chunks at the start of `bytes` (a body cut short).
fn dechunk_partial(mut bytes: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    while let Some(eol) = bytes.windows(2).position(|w| w == b"\r\n") {
        let size = std::str::from_utf8(&bytes[..eol])
            .ok()
            .and_then(|t| usize::from_str_radix(t.split(';').next().unwrap_or("").trim(), 16).ok());
        let Some(size) = size.filter(|&n| n > 0) else {
            break;
        };
        let rest = &bytes[eol + 2..];
        let take = size.min(rest.len());
        body.extend_from_slice(&rest[..take]);
        if rest.len() < size.saturating_add(2) {
            break;
        }
        bytes = &rest[size + 2..];
    }
    body.truncate(MAX_BODY_BYTES);
    body
}

fn non_101_error(info: &HandshakeInfo) -> StageError {
    let mut msg = format!(
        "the server answered {} {} instead of 101 Switching Protocols",
        info.status, info.reason
    );
    match info.status {
        300..=399 => match header_value(&info.response.headers, "Location") {
            Some(loc) => msg.push_str(&format!(
                " (a redirect to {loc}; sockscope does not follow redirects)"
            )),
            None => msg.push_str(" (a redirect without a Location header)"),
        },
        426 => msg.push_str(" (the server wants a different protocol version)"),
        200 => msg.push_str(" (a plain HTTP endpoint, not a WebSocket one)"),
        status => msg.push_str(refusal_hint(status)),
    }
    msg.push_str(&body_snippet(&info.response_body));
    StageError::new(Stage::Handshake, msg)
}

/// What a refusal's status asks of the user (401, 403, 404), in parentheses; empty for others.
pub(crate) fn refusal_hint(status: u16) -> &'static str {
    match status {
        401 => " (authentication required: add an Authorization header)",
        403 => " (forbidden: check the Origin and credentials)",
        404 => " (no WebSocket endpoint at this path)",
        _ => "",
    }
}

/// `"; body: …"`: the first 200 characters of a refusal's body on one line; empty without a body.
pub(crate) fn body_snippet(body: &[u8]) -> String {
    if body.is_empty() {
        return String::new();
    }
    let snippet: String = String::from_utf8_lossy(body)
        .chars()
        .take(200)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    format!("; body: {}", snippet.trim())
}

fn check_101(info: &mut HandshakeInfo, request: &UpgradeRequest) -> Result<(), StageError> {
    let headers = info.response.headers.clone();
    let status = check(
        "Status",
        CheckOutcome::Pass,
        "101 Switching Protocols".into(),
    );
    let checks = vec![
        status,
        check_upgrade(&headers),
        check_connection(&headers),
        check_accept(&headers, request),
        check_subprotocol(&headers, request, info),
        check_extensions(&headers, request, info),
    ];
    let failure = checks
        .iter()
        .find(|c| c.outcome == CheckOutcome::Fail)
        .map(|c| c.detail.clone());
    info.checks = checks;
    match failure {
        Some(detail) => Err(StageError::new(Stage::Handshake, detail)),
        None => Ok(()),
    }
}

fn check(name: &str, outcome: CheckOutcome, detail: String) -> Check {
    Check {
        name: name.to_owned(),
        outcome,
        detail,
    }
}

fn check_upgrade(headers: &[(String, String)]) -> Check {
    use CheckOutcome::{Fail, Pass};
    match header_value(headers, "Upgrade") {
        Some(v) if v.trim().eq_ignore_ascii_case("websocket") => check(
            "Upgrade",
            Pass,
            format!("'{}' (case-insensitive match for websocket)", v.trim()),
        ),
        Some(v) => check(
            "Upgrade",
            Fail,
            format!("the server's Upgrade header is '{v}', not 'websocket'"),
        ),
        None => check(
            "Upgrade",
            Fail,
            "the server's 101 response has no Upgrade header".into(),
        ),
    }
}

fn check_connection(headers: &[(String, String)]) -> Check {
    let connection: Vec<&str> = header_tokens(headers, "Connection").collect();
    if connection.iter().any(|t| t.eq_ignore_ascii_case("upgrade")) {
        let detail = if connection.len() > 1 {
            format!(
                "token list '{}' contains Upgrade (valid)",
                connection.join(", ")
            )
        } else {
            "Upgrade".to_owned()
        };
        check("Connection", CheckOutcome::Pass, detail)
    } else {
        check(
            "Connection",
            CheckOutcome::Fail,
            "the server's Connection header does not contain 'Upgrade'".into(),
        )
    }
}

fn check_accept(headers: &[(String, String)], request: &UpgradeRequest) -> Check {
    use CheckOutcome::{Fail, Pass};
    let expected =
        tokio_tungstenite::tungstenite::handshake::derive_accept_key(request.key.as_bytes());
    match header_value(headers, "Sec-WebSocket-Accept") {
        Some(v) if v.trim() == expected => check(
            "Sec-WebSocket-Accept",
            Pass,
            format!("matches base64(SHA-1(key + GUID)) = {expected}"),
        ),
        Some(v) => check(
            "Sec-WebSocket-Accept",
            Fail,
            format!(
                "the server's Sec-WebSocket-Accept '{}' does not match '{expected}' computed from our key",
                v.trim()
            ),
        ),
        None => check(
            "Sec-WebSocket-Accept",
            Fail,
            "the server's 101 response has no Sec-WebSocket-Accept header".into(),
        ),
    }
}

/// The selected subprotocol (recorded in `info`), or a warning when none of those offered was picked.
pub(crate) fn check_subprotocol(
    headers: &[(String, String)],
    request: &UpgradeRequest,
    info: &mut HandshakeInfo,
) -> Check {
    use CheckOutcome::{Fail, Pass, Warn};
    let selected: Vec<&str> = header_tokens(headers, "Sec-WebSocket-Protocol").collect();
    match selected.as_slice() {
        [] if request.offered_protocols.is_empty() => {
            check("Subprotocol", Pass, "none offered, none selected".into())
        }
        [] => {
            let warning = format!(
                "the server selected none of the offered subprotocols ({}); continuing without one",
                request.offered_protocols.join(", ")
            );
            info.warnings.push(warning.clone());
            check("Subprotocol", Warn, warning)
        }
        [one] if request.offered_protocols.iter().any(|p| p == one) => {
            info.subprotocol = Some((*one).to_owned());
            check(
                "Subprotocol",
                Pass,
                format!("'{one}' selected from those offered"),
            )
        }
        [one] => check(
            "Subprotocol",
            Fail,
            format!("the server selected subprotocol '{one}', which we did not offer"),
        ),
        many => check(
            "Subprotocol",
            Fail,
            format!(
                "the server selected several subprotocols ({}); it must pick one",
                many.join(", ")
            ),
        ),
    }
}

/// The extensions the server enabled, checked against our offers (RFC 7692 §7.1); what was agreed goes into
/// `info`.
pub(crate) fn check_extensions(
    headers: &[(String, String)],
    request: &UpgradeRequest,
    info: &mut HandshakeInfo,
) -> Check {
    let answer = headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("Sec-WebSocket-Extensions"))
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
        .collect::<Vec<_>>()
        .join(", ");
    let offered = !request.deflate_offers.is_empty();
    match deflate::negotiate(&request.deflate_offers, &answer) {
        Ok(None) if offered => check(
            "Extensions",
            CheckOutcome::Pass,
            "permessage-deflate offered; the server declined it (messages go uncompressed)".into(),
        ),
        Ok(None) => check(
            "Extensions",
            CheckOutcome::Pass,
            "none offered, none enabled".into(),
        ),
        Ok(Some(agreed)) => {
            let detail = format!("permessage-deflate: {}", agreed.describe());
            info.extensions = deflate::parse_extensions(&answer).unwrap_or_default();
            info.deflate = Some(agreed);
            check("Extensions", CheckOutcome::Pass, detail)
        }
        Err(e) => check("Extensions", CheckOutcome::Fail, e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::target::parse_target;

    #[test]
    fn request_keeps_user_order_and_case_and_overrides_in_place() {
        let target = parse_target("ws://h:9/p?q=1").expect("url");
        let mut req = ConnectRequest::new("ws://h:9/p?q=1");
        req.headers = vec![
            ("X-Trace-ID".into(), "abc".into()),
            ("host".into(), "other".into()),
            ("Authorization".into(), "Bearer t".into()),
        ];
        req.subprotocols = vec!["chat".into(), " v2 ".into()];
        req.origin = Some("http://o".into());
        let built = build_request(&target, &req).expect("valid");
        let text = String::from_utf8(built.raw.clone()).expect("ascii");
        assert!(
            text.starts_with("GET /p?q=1 HTTP/1.1\r\nhost: other\r\nUpgrade: websocket\r\n"),
            "{text}"
        );
        assert!(text.contains(
            "Origin: http://o\r\nSec-WebSocket-Protocol: chat, v2\r\n\
             Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\nX-Trace-ID: abc\r\n"
        ), "{text}");
        assert!(text.ends_with("Authorization: Bearer t\r\n\r\n"));
        assert_eq!(built.key.len(), 24);
        assert_eq!(built.deflate_offers.len(), 1);
    }

    #[test]
    fn the_deflate_offer_is_the_settings_or_the_users_own_header() {
        let target = parse_target("ws://h/").expect("url");
        let mut req = ConnectRequest::new("ws://h/");
        req.deflate.offer =
            "permessage-deflate; server_max_window_bits=10, permessage-deflate".into();
        let built = build_request(&target, &req).expect("valid");
        assert_eq!(
            header_value(&built.head.headers, "Sec-WebSocket-Extensions"),
            Some("permessage-deflate; server_max_window_bits=10, permessage-deflate")
        );
        assert_eq!(built.deflate_offers.len(), 2);
        req.deflate.offer = "permessage-deflate; server_max_window_bits=99".into();
        let err = build_request(&target, &req).expect_err("bad offer");
        assert!(
            err.message.contains("server_max_window_bits=99"),
            "{}",
            err.message
        );
        req.deflate.enabled = false;
        let off = build_request(&target, &req).expect("valid");
        assert_eq!(
            header_value(&off.head.headers, "Sec-WebSocket-Extensions"),
            None
        );
        assert!(off.deflate_offers.is_empty());
        // A header of the user's is sent as written, and what it offers is what the answer is checked against.
        req.headers = vec![(
            "sec-websocket-extensions".into(),
            "x-custom, permessage-deflate; client_no_context_takeover".into(),
        )];
        let own = build_request(&target, &req).expect("valid");
        assert_eq!(
            own.deflate_offers,
            vec![DeflateOffer {
                client_no_context_takeover: true,
                ..DeflateOffer::default()
            }]
        );
    }

    #[test]
    fn a_cut_chunked_body_keeps_its_whole_chunks() {
        assert_eq!(
            dechunk_partial(b"d\r\nno entry here\r\n4\r\nab"),
            b"no entry hereab"
        );
        assert_eq!(dechunk_partial(b"zz\r\n"), b"");
    }

    #[test]
    fn bad_header_input_is_refused() {
        let target = parse_target("ws://h/").expect("url");
        let mut req = ConnectRequest::new("ws://h/");
        req.headers = vec![("Bad Name".into(), "v".into())];
        assert!(build_request(&target, &req).is_err());
        req.headers = vec![("X".into(), "a\r\nInjected: 1".into())];
        let err = build_request(&target, &req).expect_err("crlf");
        assert!(err.message.contains("line break"));
    }
}
