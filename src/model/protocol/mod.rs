//! Protocols on top of WebSocket, as sans-IO codecs and state machines: bytes and time in, messages, events and
//! bytes out (no tokio, no egui), so each is unit-tested on its spec's examples and fuzzed without a server.
//!
//! A connection has a [`Protocol`]: `raw` (plain RFC 6455), one of the protocols here, or `auto`, which picks one
//! from the subprotocol the server selected or the URL ([`detect`]) and says why. Adding a protocol means adding
//! a module here and a variant below; the connection actor does not change.

pub mod actioncable;
pub mod engineio;
pub mod graphql;
pub mod lens;
pub mod mqtt;
pub mod msgpack;
pub mod phoenix;
pub mod signalr;
pub mod socketio;
pub mod stomp;

#[cfg(test)]
mod hostile_tests;

pub use lens::{Class, Decoded, Lens, OpenItem, Options, Output};

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// What a connection speaks on top of WebSocket.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Protocol {
    /// Plain RFC 6455 messages (what sockscope always did; the default for the command line and old sessions).
    #[default]
    Raw,
    /// Pick one from the server's subprotocol or the URL, and say which and why.
    Auto,
    /// Socket.IO over Engine.IO (v3/v4 servers by default, v2 as an option).
    SocketIo,
    /// GraphQL over WebSocket, the `graphql-transport-ws` protocol (the `graphql-ws` library).
    GraphqlTransportWs,
    /// GraphQL over WebSocket, the legacy `subscriptions-transport-ws` protocol (subprotocol `graphql-ws`).
    GraphqlWs,
    /// STOMP 1.0–1.2 (subprotocols `v12.stomp`, `v11.stomp`, `v10.stomp`).
    Stomp,
    /// MQTT 3.1.1 or 5 over WebSocket (subprotocol `mqtt`, binary frames).
    Mqtt,
    /// ASP.NET Core SignalR's hub protocol (JSON, or MessagePack as an option).
    SignalR,
    /// Phoenix Channels (`/socket/websocket?vsn=2.0.0`).
    Phoenix,
    /// Rails Action Cable (subprotocol `actioncable-v1-json`).
    ActionCable,
}

impl Protocol {
    /// Every protocol, in the order the GUI lists them.
    pub const ALL: [Protocol; 10] = [
        Protocol::Auto,
        Protocol::Raw,
        Protocol::SocketIo,
        Protocol::GraphqlTransportWs,
        Protocol::GraphqlWs,
        Protocol::Stomp,
        Protocol::Mqtt,
        Protocol::SignalR,
        Protocol::Phoenix,
        Protocol::ActionCable,
    ];

    /// The name on the command line (`--protocol`), in NDJSON and in session files' display.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Raw => "raw",
            Protocol::Auto => "auto",
            Protocol::SocketIo => "socket.io",
            Protocol::GraphqlTransportWs => "graphql-transport-ws",
            Protocol::GraphqlWs => "graphql-ws",
            Protocol::Stomp => "stomp",
            Protocol::Mqtt => "mqtt",
            Protocol::SignalR => "signalr",
            Protocol::Phoenix => "phoenix",
            Protocol::ActionCable => "actioncable",
        }
    }

    /// The subprotocol tokens offered in the upgrade when this protocol is chosen explicitly (unless the user
    /// set subprotocols). `auto` offers nothing by itself.
    pub fn offered_subprotocols(self) -> &'static [&'static str] {
        match self {
            Protocol::GraphqlTransportWs => &["graphql-transport-ws"],
            Protocol::GraphqlWs => &["graphql-ws"],
            Protocol::Stomp => &["v12.stomp", "v11.stomp", "v10.stomp"],
            Protocol::Mqtt => &["mqtt"],
            Protocol::ActionCable => actioncable::SUBPROTOCOLS,
            Protocol::Raw
            | Protocol::Auto
            | Protocol::SocketIo
            | Protocol::SignalR
            | Protocol::Phoenix => &[],
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An unknown `--protocol` name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown protocol '{0}' (expected raw, auto, socket.io, graphql-transport-ws, graphql-ws, stomp, mqtt, signalr, phoenix or actioncable)"
)]
pub struct UnknownProtocol(pub String);

impl FromStr for Protocol {
    type Err = UnknownProtocol;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.trim().to_ascii_lowercase();
        Protocol::ALL
            .into_iter()
            .find(|p| {
                p.name() == lower
                    || (lower == "socketio" && *p == Protocol::SocketIo)
                    || (lower == "action-cable" && *p == Protocol::ActionCable)
            })
            .ok_or_else(|| UnknownProtocol(s.to_owned()))
    }
}

/// What `auto` picked and why, in words for the log and the `protocol` NDJSON event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detection {
    /// The protocol picked (never `Auto`; `Raw` when nothing was recognised).
    pub protocol: Protocol,
    /// Why, in plain words.
    pub reason: String,
}

/// Picks a protocol for `auto`: the subprotocol the server selected wins, then the URL's path.
pub fn detect(selected_subprotocol: Option<&str>, url: &str) -> Detection {
    let found = |protocol, reason: String| Detection { protocol, reason };
    match selected_subprotocol.map(str::trim) {
        Some(p) if p.eq_ignore_ascii_case("graphql-transport-ws") => {
            return found(
                Protocol::GraphqlTransportWs,
                "the server selected the subprotocol graphql-transport-ws".into(),
            );
        }
        Some(p) if p.eq_ignore_ascii_case("graphql-ws") => {
            return found(
                Protocol::GraphqlWs,
                "the server selected the subprotocol graphql-ws (the legacy subscriptions-transport-ws protocol)"
                    .into(),
            );
        }
        Some(p) if stomp_subprotocol(p) => {
            return found(
                Protocol::Stomp,
                format!("the server selected the subprotocol {p} (STOMP)"),
            );
        }
        Some(p) if p.eq_ignore_ascii_case("mqtt") || p.eq_ignore_ascii_case("mqttv3.1") => {
            return found(
                Protocol::Mqtt,
                format!("the server selected the subprotocol {p} (MQTT over WebSocket)"),
            );
        }
        Some(p) if p.eq_ignore_ascii_case("actioncable-v1-json") => {
            return found(
                Protocol::ActionCable,
                "the server selected the subprotocol actioncable-v1-json (Rails Action Cable)"
                    .into(),
            );
        }
        _ => {}
    }
    let path = url_path(url);
    if path.ends_with("/websocket") && query_has(url, "vsn") {
        return found(
            Protocol::Phoenix,
            "the URL is …/websocket?vsn= (a Phoenix socket)".into(),
        );
    }
    if path.ends_with("/cable") || path.ends_with("/cable/") {
        return found(
            Protocol::ActionCable,
            "the URL's path is /cable (Action Cable's default)".into(),
        );
    }
    let last = path.trim_end_matches('/').rsplit('/').next().unwrap_or("");
    if (last.ends_with("hub") && last != "github") || path.contains("/hubs/") {
        return found(
            Protocol::SignalR,
            format!("the URL's path names a hub ({last}), as SignalR's do"),
        );
    }
    if path.contains("/socket.io/") || path.ends_with("/socket.io") {
        return found(
            Protocol::SocketIo,
            "the URL's path is /socket.io/ (Socket.IO's default)".into(),
        );
    }
    if query_has(url, "EIO") {
        return found(
            Protocol::SocketIo,
            "the URL asks for an Engine.IO version (EIO=)".into(),
        );
    }
    let reason = match selected_subprotocol {
        Some(p) if !p.trim().is_empty() => format!(
            "the server selected the subprotocol {p}, which sockscope has no lens for: raw messages"
        ),
        _ => "no known subprotocol or path: raw messages".into(),
    };
    found(Protocol::Raw, reason)
}

/// `v12.stomp`, `v11.stomp`, `v10.stomp` (and a bare `stomp`).
fn stomp_subprotocol(p: &str) -> bool {
    let p = p.to_ascii_lowercase();
    p == "stomp" || matches!(p.as_str(), "v10.stomp" | "v11.stomp" | "v12.stomp")
}

/// The path of a URL (between the authority and any `?` or `#`), lower-cased.
fn url_path(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let rest = rest.split(['?', '#']).next().unwrap_or("");
    rest.find('/')
        .map_or(String::new(), |i| rest[i..].to_ascii_lowercase())
}

/// Whether the URL's query has parameter `name` (case-sensitive, as servers read it).
fn query_has(url: &str, name: &str) -> bool {
    let Some((_, query)) = url.split_once('?') else {
        return false;
    };
    let query = query.split('#').next().unwrap_or("");
    query
        .split('&')
        .any(|pair| pair.split('=').next() == Some(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_are_refused_in_words() {
        for p in Protocol::ALL {
            assert_eq!(p.name().parse::<Protocol>(), Ok(p));
        }
        assert_eq!("Socket.IO".parse::<Protocol>(), Ok(Protocol::SocketIo));
        let err = "amqp".parse::<Protocol>().expect_err("refused");
        assert!(err.to_string().contains("unknown protocol 'amqp'"), "{err}");
    }

    #[test]
    fn the_servers_subprotocol_wins_then_the_path() {
        let d = detect(Some("graphql-transport-ws"), "ws://h/socket.io/");
        assert_eq!(d.protocol, Protocol::GraphqlTransportWs);
        assert!(
            d.reason.contains("selected the subprotocol"),
            "{}",
            d.reason
        );
        assert_eq!(
            detect(Some("graphql-ws"), "ws://h/graphql").protocol,
            Protocol::GraphqlWs
        );
        let d = detect(None, "ws://h:3000/socket.io/?EIO=4&transport=websocket");
        assert_eq!(d.protocol, Protocol::SocketIo);
        assert!(d.reason.contains("/socket.io/"), "{}", d.reason);
        assert_eq!(
            detect(None, "wss://h/custom/?EIO=3").protocol,
            Protocol::SocketIo
        );
        assert_eq!(detect(None, "ws://h/graphql").protocol, Protocol::Raw);
        // A query that merely mentions socket.io is not a path.
        assert_eq!(
            detect(None, "ws://h/x?next=/socket.io/").protocol,
            Protocol::Raw
        );
        let d = detect(Some("mqtt"), "ws://h/");
        assert_eq!(d.protocol, Protocol::Mqtt);
        assert!(d.reason.contains("mqtt"), "{}", d.reason);
        assert_eq!(
            detect(Some("v12.stomp"), "ws://h/ws").protocol,
            Protocol::Stomp
        );
        let d = detect(Some("wamp.2.json"), "ws://h/");
        assert_eq!(d.protocol, Protocol::Raw);
        assert!(d.reason.contains("wamp.2.json"), "{}", d.reason);
    }

    #[test]
    fn only_an_explicit_graphql_choice_offers_a_subprotocol() {
        assert!(Protocol::Auto.offered_subprotocols().is_empty());
        assert!(Protocol::SocketIo.offered_subprotocols().is_empty());
        assert_eq!(
            Protocol::GraphqlTransportWs.offered_subprotocols(),
            ["graphql-transport-ws"]
        );
        assert_eq!(Protocol::GraphqlWs.offered_subprotocols(), ["graphql-ws"]);
    }

    #[test]
    fn a_session_without_a_protocol_loads_as_raw() {
        assert_eq!(Protocol::default(), Protocol::Raw);
        let p: Protocol = ron::from_str("GraphqlWs").expect("ron");
        assert_eq!(p, Protocol::GraphqlWs);
    }
}
