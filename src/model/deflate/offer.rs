//! The `Sec-WebSocket-Extensions` grammar (RFC 6455 §9.1), permessage-deflate offers, and the server's answer
//! checked against them (RFC 7692 §7.1).

use super::NAME;

/// What Chrome offers.
pub const DEFAULT_OFFER: &str = "permessage-deflate; client_max_window_bits";

/// One extension in a `Sec-WebSocket-Extensions` header: its name and parameters, as written (a quoted value
/// unquoted).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Extension {
    /// The extension token, e.g. `permessage-deflate`.
    pub name: String,
    /// Parameters in order; a parameter without `=` has no value.
    pub params: Vec<(String, Option<String>)>,
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn token(s: &str) -> Result<&str, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("an empty name".to_owned());
    }
    if let Some(bad) = s.bytes().find(|&b| !is_tchar(b)) {
        return Err(format!(
            "'{s}' has a character a token cannot hold ('{}')",
            bad as char
        ));
    }
    Ok(s)
}

/// Splits `s` at `sep` outside double quotes.
fn split_outside_quotes(s: &str, sep: char) -> Result<Vec<&str>, String> {
    let mut parts = Vec::new();
    let (mut quoted, mut escaped, mut start) = (false, false, 0);
    for (i, c) in s.char_indices() {
        if escaped {
            escaped = false;
        } else if quoted && c == '\\' {
            escaped = true;
        } else if c == '"' {
            quoted = !quoted;
        } else if c == sep && !quoted {
            parts.push(&s[start..i]);
            start = i + 1;
        }
    }
    if quoted {
        return Err("a quoted value is not closed".to_owned());
    }
    parts.push(&s[start..]);
    Ok(parts)
}

/// Parses a `Sec-WebSocket-Extensions` value (several headers: join them with commas first).
pub fn parse_extensions(value: &str) -> Result<Vec<Extension>, String> {
    let mut out = Vec::new();
    for element in split_outside_quotes(value, ',')? {
        if element.trim().is_empty() {
            continue;
        }
        let mut parts = split_outside_quotes(element, ';')?.into_iter();
        let name = token(parts.next().unwrap_or_default())
            .map_err(|e| format!("extension name: {e}"))?
            .to_owned();
        let mut params = Vec::new();
        for part in parts {
            let (key, value) = match part.split_once('=') {
                Some((k, v)) => (k, Some(v.trim())),
                None => (part, None),
            };
            let key = token(key).map_err(|e| format!("a parameter of {name}: {e}"))?;
            let value = match value {
                None => None,
                Some(v) if v.len() >= 2 && v.starts_with('"') && v.ends_with('"') => {
                    let inner = v[1..v.len() - 1]
                        .replace("\\\"", "\"")
                        .replace("\\\\", "\\");
                    // RFC 6455 §9.1: a quoted value must be a token once unquoted.
                    Some(
                        token(&inner)
                            .map_err(|e| format!("the value of {key}: {e}"))?
                            .to_owned(),
                    )
                }
                Some(v) => Some(
                    token(v)
                        .map_err(|e| format!("the value of {key}: {e}"))?
                        .to_owned(),
                ),
            };
            params.push((key.to_owned(), value));
        }
        out.push(Extension { name, params });
    }
    Ok(out)
}

/// Extensions written back as a header value.
pub fn format_extensions(extensions: &[Extension]) -> String {
    extensions
        .iter()
        .map(|e| {
            let mut s = e.name.clone();
            for (k, v) in &e.params {
                s.push_str("; ");
                s.push_str(k);
                if let Some(v) = v {
                    s.push('=');
                    s.push_str(v);
                }
            }
            s
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// One permessage-deflate offer (RFC 7692 §7.1).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeflateOffer {
    /// Ask the server to reset its compression context after every message.
    pub server_no_context_takeover: bool,
    /// Tell the server we will reset ours after every message.
    pub client_no_context_takeover: bool,
    /// Ask the server to use at most this window (8..=15).
    pub server_max_window_bits: Option<u8>,
    /// Let the server limit our window: `Some(None)` without a value, `Some(Some(n))` with a hint.
    pub client_max_window_bits: Option<Option<u8>>,
}

const PARAMS: [&str; 4] = [
    "server_no_context_takeover",
    "client_no_context_takeover",
    "server_max_window_bits",
    "client_max_window_bits",
];

fn window_bits(name: &str, value: &str) -> Result<u8, String> {
    // RFC 7692 §7.1.2: 1*DIGIT without leading zeros, 8..15.
    let digits = !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit());
    match value.parse::<u8>() {
        Ok(n @ 8..=15) if digits && !value.starts_with('0') => Ok(n),
        _ => Err(format!("{name}={value} is not a window size (8 to 15)")),
    }
}

/// The parameters of one permessage-deflate element, each at most once, each with the value it must have.
fn read_params(ext: &Extension, whose: &str) -> Result<DeflateOffer, String> {
    let mut offer = DeflateOffer::default();
    let mut seen: Vec<&str> = Vec::new();
    for (key, value) in &ext.params {
        let key = key.as_str();
        let Some(known) = PARAMS.iter().find(|p| p.eq_ignore_ascii_case(key)) else {
            return Err(format!(
                "{whose} permessage-deflate has an unknown parameter '{key}'"
            ));
        };
        if seen.contains(known) {
            return Err(format!("{whose} permessage-deflate has '{known}' twice"));
        }
        seen.push(known);
        match (*known, value) {
            ("server_no_context_takeover", None) => offer.server_no_context_takeover = true,
            ("client_no_context_takeover", None) => offer.client_no_context_takeover = true,
            ("server_no_context_takeover" | "client_no_context_takeover", Some(v)) => {
                return Err(format!(
                    "{whose} permessage-deflate gives {known} a value ('{v}'); it takes none"
                ));
            }
            ("server_max_window_bits", Some(v)) => {
                offer.server_max_window_bits = Some(window_bits(known, v)?)
            }
            ("server_max_window_bits", None) => {
                return Err(format!(
                    "{whose} permessage-deflate has server_max_window_bits without a value (8 to 15)"
                ));
            }
            ("client_max_window_bits", v) => {
                offer.client_max_window_bits = Some(match v {
                    Some(v) => Some(window_bits(known, v)?),
                    None => None,
                })
            }
            _ => unreachable!("every known parameter is matched"),
        }
    }
    Ok(offer)
}

impl DeflateOffer {
    /// The offer as a header element.
    pub fn to_extension(&self) -> Extension {
        let mut params = Vec::new();
        if self.server_no_context_takeover {
            params.push(("server_no_context_takeover".to_owned(), None));
        }
        if self.client_no_context_takeover {
            params.push(("client_no_context_takeover".to_owned(), None));
        }
        if let Some(n) = self.server_max_window_bits {
            params.push(("server_max_window_bits".to_owned(), Some(n.to_string())));
        }
        if let Some(n) = self.client_max_window_bits {
            params.push((
                "client_max_window_bits".to_owned(),
                n.map(|n| n.to_string()),
            ));
        }
        Extension {
            name: NAME.to_owned(),
            params,
        }
    }
}

/// Parses the offer a user wrote: one or more permessage-deflate elements, comma-separated.
pub fn parse_offers(text: &str) -> Result<Vec<DeflateOffer>, String> {
    let extensions = parse_extensions(text).map_err(|e| format!("the deflate offer: {e}"))?;
    if extensions.is_empty() {
        return Err("the deflate offer is empty (write at least 'permessage-deflate')".to_owned());
    }
    extensions
        .iter()
        .map(|ext| {
            if !ext.name.eq_ignore_ascii_case(NAME) {
                return Err(format!(
                    "the deflate offer names '{}'; only permessage-deflate can be offered here (other extensions go in a Sec-WebSocket-Extensions header)",
                    ext.name
                ));
            }
            read_params(ext, "the offer's")
        })
        .collect()
}

/// The permessage-deflate offers in a header value someone wrote by hand (other extensions, and elements that
/// do not parse, are left out: the server may still enable them, and is then refused).
pub fn offers_in(value: &str) -> Vec<DeflateOffer> {
    parse_extensions(value)
        .unwrap_or_default()
        .iter()
        .filter(|e| e.name.eq_ignore_ascii_case(NAME))
        .filter_map(|e| read_params(e, "the offer's").ok())
        .collect()
}

/// What both sides agreed on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Negotiated {
    /// The server resets its context after every message.
    pub server_no_context_takeover: bool,
    /// We reset ours after every message.
    pub client_no_context_takeover: bool,
    /// The server's window (15 unless it said otherwise).
    pub server_max_window_bits: u8,
    /// Our window (15 unless the server said otherwise; never more than our hint).
    pub client_max_window_bits: u8,
    /// The parameters as the server wrote them (for the inspector and the handshake event).
    pub params: Vec<(String, Option<String>)>,
    /// Which of our offers it accepted (0-based).
    pub offer_index: usize,
}

impl Negotiated {
    /// What a plain `permessage-deflate` answer agrees: windows of 15 bits, contexts kept.
    pub fn default_parameters() -> Self {
        Self {
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: 15,
            client_max_window_bits: 15,
            params: Vec::new(),
            offer_index: 0,
        }
    }

    /// "server_max_window_bits=10, client_no_context_takeover" (or "default parameters").
    pub fn describe(&self) -> String {
        if self.params.is_empty() {
            return "default parameters (windows of 15 bits, contexts kept)".to_owned();
        }
        self.params
            .iter()
            .map(|(k, v)| match v {
                Some(v) => format!("{k}={v}"),
                None => k.clone(),
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The answer checked against one offer (RFC 7692 §7.1).
fn accept(offer: &DeflateOffer, answer: &DeflateOffer) -> Result<(), String> {
    if let (Some(asked), Some(got)) = (offer.server_max_window_bits, answer.server_max_window_bits)
        && got > asked
    {
        return Err(format!(
            "the server answered server_max_window_bits={got}, larger than the {asked} offered"
        ));
    }
    match (offer.client_max_window_bits, answer.client_max_window_bits) {
        (None, Some(_)) => {
            return Err(
                "the server answered client_max_window_bits, which the offer did not allow"
                    .to_owned(),
            );
        }
        (Some(_), Some(None)) => {
            return Err(
                "the server answered client_max_window_bits without a value (8 to 15)".to_owned(),
            );
        }
        _ => {}
    }
    Ok(())
}

/// Checks the server's `Sec-WebSocket-Extensions` (all its values, joined) against `offers`: `Ok(None)` when it
/// enabled nothing, `Ok(Some(_))` with what was agreed, and an error naming the parameter when the answer is
/// not one RFC 7692 allows.
pub fn negotiate(offers: &[DeflateOffer], answer: &str) -> Result<Option<Negotiated>, String> {
    let extensions = parse_extensions(answer)
        .map_err(|e| format!("the server's Sec-WebSocket-Extensions is not valid: {e}"))?;
    let mut agreed = None;
    for ext in &extensions {
        if !ext.name.eq_ignore_ascii_case(NAME) {
            return Err(format!(
                "the server enabled extension '{}', which was not offered",
                ext.name
            ));
        }
        if offers.is_empty() {
            return Err("the server enabled permessage-deflate, which was not offered".to_owned());
        }
        if agreed.is_some() {
            return Err("the server enabled permessage-deflate twice".to_owned());
        }
        let got = read_params(ext, "the server's")?;
        let mut first_error = None;
        let fits: Vec<bool> = offers
            .iter()
            .map(|offer| match accept(offer, &got) {
                Ok(()) => true,
                Err(e) => {
                    first_error.get_or_insert(e);
                    false
                }
            })
            .collect();
        // A server accepts an offer's server_no_context_takeover and server_max_window_bits by answering them
        // (§7.1.1.1, §7.1.2.1): the offer it took is the first whose requests the answer carries, else the
        // first it fits at all (decoding works either way).
        let answered = |o: &DeflateOffer| {
            (!o.server_no_context_takeover || got.server_no_context_takeover)
                && (o.server_max_window_bits.is_none() || got.server_max_window_bits.is_some())
        };
        let index = (0..offers.len())
            .find(|&i| fits[i] && answered(&offers[i]))
            .or_else(|| fits.iter().position(|&f| f));
        let Some(index) = index else {
            return Err(first_error.unwrap_or_default());
        };
        let offer = &offers[index];
        let hint = offer.client_max_window_bits.flatten().unwrap_or(15);
        agreed = Some(Negotiated {
            server_no_context_takeover: got.server_no_context_takeover,
            client_no_context_takeover: got.client_no_context_takeover,
            server_max_window_bits: got.server_max_window_bits.unwrap_or(15),
            client_max_window_bits: got.client_max_window_bits.flatten().unwrap_or(15).min(hint),
            params: ext.params.clone(),
            offer_index: index,
        });
    }
    Ok(agreed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_offer_is_chromes() {
        let offers = parse_offers(DEFAULT_OFFER).expect("parses");
        assert_eq!(
            offers,
            vec![DeflateOffer {
                client_max_window_bits: Some(None),
                ..DeflateOffer::default()
            }]
        );
        let ext: Vec<Extension> = offers.iter().map(DeflateOffer::to_extension).collect();
        assert_eq!(format_extensions(&ext), DEFAULT_OFFER);
    }

    #[test]
    fn several_offers_keep_their_order_and_every_parameter() {
        let text = "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
                    server_max_window_bits=10; client_max_window_bits=\"12\", permessage-deflate";
        let offers = parse_offers(text).expect("parses");
        assert_eq!(offers.len(), 2);
        assert_eq!(
            offers[0],
            DeflateOffer {
                server_no_context_takeover: true,
                client_no_context_takeover: true,
                server_max_window_bits: Some(10),
                client_max_window_bits: Some(Some(12)),
            }
        );
        assert_eq!(offers[1], DeflateOffer::default());
    }

    #[test]
    fn a_bad_offer_names_what_is_wrong() {
        for (text, says) in [
            (
                "permessage-deflate; server_max_window_bits=16",
                "server_max_window_bits=16",
            ),
            (
                "permessage-deflate; server_max_window_bits",
                "without a value",
            ),
            (
                "permessage-deflate; client_max_window_bits=07",
                "client_max_window_bits=07",
            ),
            (
                "permessage-deflate; server_max_window_bits=+9",
                "server_max_window_bits=+9",
            ),
            ("permessage-deflate; foo", "unknown parameter 'foo'"),
            (
                "permessage-deflate; server_no_context_takeover=1",
                "takes none",
            ),
            (
                "permessage-deflate; client_no_context_takeover; client_no_context_takeover",
                "twice",
            ),
            ("x-webkit-deflate-frame", "only permessage-deflate"),
            ("", "empty"),
            ("permessage-deflate; a=\"b", "not closed"),
        ] {
            let err = parse_offers(text).expect_err(text);
            assert!(err.contains(says), "{text}: {err}");
        }
    }

    fn offer(text: &str) -> Vec<DeflateOffer> {
        parse_offers(text).expect("offer")
    }

    #[test]
    fn a_plain_answer_takes_the_defaults() {
        let n = negotiate(&offer(DEFAULT_OFFER), "permessage-deflate")
            .expect("valid")
            .expect("agreed");
        assert_eq!(
            (n.server_max_window_bits, n.client_max_window_bits),
            (15, 15)
        );
        assert!(!n.server_no_context_takeover && !n.client_no_context_takeover);
        assert_eq!(negotiate(&offer(DEFAULT_OFFER), "").expect("valid"), None);
    }

    #[test]
    fn an_answer_within_the_offer_is_agreed() {
        let n = negotiate(
            &offer("permessage-deflate; server_max_window_bits=12; client_max_window_bits=11"),
            "permessage-deflate; server_max_window_bits=10; client_max_window_bits=9; \
             client_no_context_takeover; server_no_context_takeover",
        )
        .expect("valid")
        .expect("agreed");
        assert_eq!(
            (
                n.server_max_window_bits,
                n.client_max_window_bits,
                n.server_no_context_takeover,
                n.client_no_context_takeover
            ),
            (10, 9, true, true)
        );
        assert!(n.describe().contains("server_max_window_bits=10"));
        // Without a window in the answer, our hint still bounds our own window.
        let n = negotiate(
            &offer("permessage-deflate; client_max_window_bits=11"),
            "permessage-deflate",
        )
        .expect("valid")
        .expect("agreed");
        assert_eq!(n.client_max_window_bits, 11);
    }

    #[test]
    fn the_second_offer_can_be_the_one_accepted() {
        let n = negotiate(
            &offer("permessage-deflate; server_max_window_bits=9, permessage-deflate; client_max_window_bits"),
            "permessage-deflate; client_max_window_bits=10",
        )
        .expect("valid")
        .expect("agreed");
        assert_eq!((n.offer_index, n.client_max_window_bits), (1, 10));
        // The plain answer fits both offers; it carries no server_max_window_bits, so it took the second.
        let n = negotiate(
            &offer("permessage-deflate; server_max_window_bits=10, permessage-deflate"),
            "permessage-deflate",
        )
        .expect("valid")
        .expect("agreed");
        assert_eq!(n.offer_index, 1);
    }

    #[test]
    fn answers_rfc_7692_forbids_fail_naming_the_parameter() {
        for (offered, answer, says) in [
            (
                DEFAULT_OFFER,
                "permessage-deflate; foo=1",
                "unknown parameter 'foo'",
            ),
            (
                DEFAULT_OFFER,
                "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
                "'server_no_context_takeover' twice",
            ),
            (
                "permessage-deflate; server_max_window_bits=10",
                "permessage-deflate; server_max_window_bits=12",
                "larger than the 10 offered",
            ),
            (
                "permessage-deflate",
                "permessage-deflate; client_max_window_bits=10",
                "the offer did not allow",
            ),
            (
                DEFAULT_OFFER,
                "permessage-deflate; client_max_window_bits",
                "without a value",
            ),
            (
                DEFAULT_OFFER,
                "permessage-deflate; server_max_window_bits=7",
                "server_max_window_bits=7",
            ),
            (
                DEFAULT_OFFER,
                "permessage-deflate, permessage-deflate",
                "twice",
            ),
            (
                DEFAULT_OFFER,
                "x-webkit-deflate-frame",
                "'x-webkit-deflate-frame'",
            ),
            (DEFAULT_OFFER, "permessage-deflate; a b", "token"),
        ] {
            let err = negotiate(&offer(offered), answer).expect_err(answer);
            assert!(err.contains(says), "{answer}: {err}");
        }
        let err = negotiate(&[], "permessage-deflate").expect_err("not offered");
        assert!(err.contains("not offered"), "{err}");
    }
}
