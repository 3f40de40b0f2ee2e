//! The connection form as the user edits it: URL, header rows that can be switched off, subprotocols, Origin,
//! auth helpers, TLS, proxy and limits. It turns into a [`ConnectRequest`] when the user connects, and is what
//! sessions will save.

use super::{
    ConnectRequest, Heartbeat, Keepalive, OutgoingMessage, ProtocolChoice, ReconnectPolicy,
    TlsOptions,
};
use base64::Engine as _;
use serde::{Deserialize, Serialize};

/// One request header row.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct HeaderRow {
    /// Off rows are kept but not sent.
    pub enabled: bool,
    /// Header name.
    pub name: String,
    /// Header value.
    pub value: String,
    /// A secret value is never written to session files (reference a variable such as `{{env.TOKEN}}` instead).
    pub secret: bool,
}

impl Default for HeaderRow {
    fn default() -> Self {
        Self {
            enabled: true,
            name: String::new(),
            value: String::new(),
            secret: false,
        }
    }
}

/// Authentication helpers that produce an `Authorization` header.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Auth {
    /// No helper.
    #[default]
    None,
    /// `Authorization: Bearer TOKEN`.
    Bearer {
        /// The token.
        token: String,
    },
    /// `Authorization: Basic base64(user:password)`.
    Basic {
        /// User name.
        user: String,
        /// Password.
        password: String,
    },
}

/// Where the proxy comes from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProxyMode {
    /// `HTTPS_PROXY` / `HTTP_PROXY` / `ALL_PROXY` / `NO_PROXY`.
    #[default]
    Environment,
    /// Connect directly.
    Direct,
    /// The URL in `proxy_url`.
    Custom,
}

/// The connection form.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Endpoint {
    /// The URL.
    pub url: String,
    /// Extra headers.
    pub headers: Vec<HeaderRow>,
    /// Subprotocols to offer, in order.
    pub subprotocols: Vec<String>,
    /// The Origin header (empty: none).
    pub origin: String,
    /// Authentication helper.
    pub auth: Auth,
    /// TLS options.
    pub tls: TlsOptions,
    /// Proxy source.
    pub proxy_mode: ProxyMode,
    /// Proxy URL for [`ProxyMode::Custom`].
    pub proxy_url: String,
    /// Per-stage connect timeout, seconds.
    pub connect_timeout_secs: f64,
    /// Largest accepted message, MiB.
    pub max_message_mib: f64,
    /// Largest accepted frame, MiB.
    pub max_frame_mib: f64,
    /// Interval pings and pong timeout.
    pub keepalive: Keepalive,
    /// Whether the heartbeat message is sent.
    pub heartbeat_enabled: bool,
    /// The application-level heartbeat.
    pub heartbeat: Heartbeat,
    /// Text messages sent after every successful handshake (one per line in the editor).
    pub on_connect: Vec<String>,
    /// Automatic reconnection.
    pub reconnect: ReconnectPolicy,
    /// The protocol on top of WebSocket (raw in session files saved before protocols existed).
    pub protocol: ProtocolChoice,
    /// permessage-deflate: offered or not, and the exact offer (offered in session files saved before this
    /// option existed, as in a new one).
    pub deflate: crate::model::deflate::DeflateSetting,
    /// Answer the server's pings.
    pub auto_pong: bool,
    /// HTTP/1.1, HTTP/2 or auto (HTTP/1.1 in session files saved before this option existed).
    pub http_version: crate::model::h2::HttpVersion,
    /// Tabs to one origin share one HTTP/2 connection.
    pub h2_share: bool,
    /// How binary messages are shown: none, MessagePack, CBOR or Protobuf (with its .proto files).
    pub codec: crate::model::codec::CodecSetting,
}

impl Default for Endpoint {
    fn default() -> Self {
        let defaults = ConnectRequest::default();
        Self {
            url: String::new(),
            headers: Vec::new(),
            subprotocols: Vec::new(),
            origin: String::new(),
            auth: Auth::None,
            tls: TlsOptions::default(),
            proxy_mode: ProxyMode::Environment,
            proxy_url: String::new(),
            connect_timeout_secs: defaults.connect_timeout_millis as f64 / 1000.0,
            max_message_mib: defaults.max_message_size_bytes as f64 / (1024.0 * 1024.0),
            max_frame_mib: defaults.max_frame_size_bytes as f64 / (1024.0 * 1024.0),
            keepalive: Keepalive::default(),
            heartbeat_enabled: false,
            heartbeat: Heartbeat::default(),
            on_connect: Vec::new(),
            reconnect: ReconnectPolicy::default(),
            protocol: ProtocolChoice::default(),
            deflate: crate::model::deflate::DeflateSetting::default(),
            auto_pong: true,
            http_version: crate::model::h2::HttpVersion::Http1,
            h2_share: false,
            codec: Default::default(),
        }
    }
}

impl Endpoint {
    /// A form for `url` with default options.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            ..Self::default()
        }
    }

    /// The `Authorization` header the auth helper produces, if any.
    pub fn auth_header(&self) -> Option<(String, String)> {
        match &self.auth {
            Auth::None => None,
            Auth::Bearer { token } => {
                Some(("Authorization".into(), format!("Bearer {}", token.trim())))
            }
            Auth::Basic { user, password } => {
                let token =
                    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
                Some(("Authorization".into(), format!("Basic {token}")))
            }
        }
    }

    /// The request to connect with.
    pub fn to_request(&self) -> ConnectRequest {
        let mut headers: Vec<(String, String)> = self
            .headers
            .iter()
            .filter(|h| h.enabled && !h.name.trim().is_empty())
            .map(|h| (h.name.trim().to_owned(), h.value.clone()))
            .collect();
        if let Some(auth) = self.auth_header() {
            headers.push(auth);
        }
        let mib = |v: f64| ((v.max(0.001)) * 1024.0 * 1024.0) as usize;
        ConnectRequest {
            url: self.url.trim().to_owned(),
            headers,
            subprotocols: self
                .subprotocols
                .iter()
                .map(|p| p.trim().to_owned())
                .filter(|p| !p.is_empty())
                .collect(),
            origin: Some(self.origin.trim().to_owned()).filter(|o| !o.is_empty()),
            connect_timeout_millis: (self.connect_timeout_secs.clamp(0.05, 3600.0) * 1000.0) as u64,
            max_message_size_bytes: mib(self.max_message_mib),
            max_frame_size_bytes: mib(self.max_frame_mib),
            tls: self.tls.clone(),
            proxy: match self.proxy_mode {
                ProxyMode::Custom => {
                    Some(self.proxy_url.trim().to_owned()).filter(|p| !p.is_empty())
                }
                _ => None,
            },
            proxy_from_env: self.proxy_mode == ProxyMode::Environment,
            keepalive: self.keepalive.clone(),
            heartbeat: self.heartbeat_enabled.then(|| self.heartbeat.clone()),
            on_connect: self
                .on_connect
                .iter()
                .filter(|m| !m.trim().is_empty())
                .map(|m| OutgoingMessage::Text(m.clone()))
                .collect(),
            reconnect: self.reconnect.clone(),
            // The GUI shows every frame.
            observe_frames: true,
            protocol: self.protocol.clone(),
            deflate: self.deflate.clone(),
            auto_pong: self.auto_pong,
            http_version: self.http_version,
            h2_share: self.h2_share,
            ..ConnectRequest::default()
        }
    }
}

/// The query parameters of `url`, decoded; `None` when the URL cannot be parsed.
pub fn query_params(url: &str) -> Option<Vec<(String, String)>> {
    let parsed = url::Url::parse(url.trim()).ok()?;
    Some(
        parsed
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect(),
    )
}

/// `url` with its query replaced by `params` (encoded); `None` when the URL cannot be parsed.
pub fn with_query_params(url: &str, params: &[(String, String)]) -> Option<String> {
    let mut parsed = url::Url::parse(url.trim()).ok()?;
    if params.is_empty() {
        parsed.set_query(None);
    } else {
        let mut serializer = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in params {
            serializer.append_pair(k, v);
        }
        parsed.set_query(Some(&serializer.finish()));
    }
    Some(parsed.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_to_request() {
        let mut e = Endpoint::new(" wss://h/x ");
        e.headers = vec![
            HeaderRow {
                enabled: true,
                name: "X-On".into(),
                value: "1".into(),
                secret: false,
            },
            HeaderRow {
                enabled: false,
                name: "X-Off".into(),
                value: "2".into(),
                secret: false,
            },
        ];
        e.subprotocols = vec!["a".into(), " ".into()];
        e.auth = Auth::Basic {
            user: "u".into(),
            password: "p".into(),
        };
        e.proxy_mode = ProxyMode::Custom;
        e.proxy_url = "socks5://127.0.0.1:1080".into();
        let r = e.to_request();
        assert_eq!(r.url, "wss://h/x");
        assert_eq!(
            r.headers,
            vec![
                ("X-On".to_owned(), "1".to_owned()),
                ("Authorization".to_owned(), "Basic dTpw".to_owned())
            ]
        );
        assert_eq!(r.subprotocols, vec!["a".to_owned()]);
        assert_eq!(r.origin, None);
        assert_eq!(r.proxy.as_deref(), Some("socks5://127.0.0.1:1080"));
        assert!(!r.proxy_from_env);
        assert_eq!(r.connect_timeout_millis, 10_000);
        assert_eq!(r.max_message_size_bytes, 64 << 20);
    }

    #[test]
    fn query_parameters_round_trip() {
        let url = "ws://h:1/p?room=a%20b&x=1#frag";
        let params = query_params(url).expect("parses");
        assert_eq!(
            params,
            vec![("room".into(), "a b".into()), ("x".into(), "1".into())]
        );
        let mut edited = params.clone();
        edited[1].1 = "2&3".into();
        assert_eq!(
            with_query_params(url, &edited).as_deref(),
            Some("ws://h:1/p?room=a+b&x=2%263#frag")
        );
        assert_eq!(
            with_query_params(url, &[]).as_deref(),
            Some("ws://h:1/p#frag")
        );
        assert_eq!(query_params("not a url"), None);
    }
}
