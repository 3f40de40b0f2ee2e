//! What the user chooses for Socket.IO: the `--protocol-option`s, the URL built from what was typed, and the
//! `--emit` forms.

use super::super::engineio::EioVersion;
use super::super::lens::{Options, json_option, millis_option};
use serde_json::Value;
use std::time::Duration;

/// The `--protocol-option` keys Socket.IO reads.
pub const OPTION_KEYS: &[&str] = &["eio", "path", "auth", "open_timeout_ms"];

/// How long the client waits for the open packet, and for a namespace's answer to CONNECT.
pub const DEFAULT_OPEN_TIMEOUT: Duration = Duration::from_secs(10);

/// What the user chose for Socket.IO.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// The Engine.IO version (`eio=3|4`); `EIO=` in the URL wins.
    pub eio: EioVersion,
    /// The server's Socket.IO path (`/socket.io/` by default).
    pub path: String,
    /// The default namespace's auth payload (v3/v4: in CONNECT; v2: as query parameters).
    pub auth: Option<Value>,
    /// How long to wait for the open packet and for CONNECT's answer.
    pub open_timeout: Duration,
    /// The namespace connected at start (a path typed in the URL, as the official client reads it).
    pub namespace: String,
}

impl Settings {
    /// The settings named by `--protocol-option`s.
    pub fn from_options(options: &Options) -> Result<Self, String> {
        let eio = match options.get("eio").map(|v| v.trim()) {
            None => EioVersion::V4,
            Some(v) => EioVersion::from_query_value(v).ok_or_else(|| {
                format!(
                    "protocol option eio must be 3 (Socket.IO 2) or 4 (Socket.IO 3/4), not '{v}'"
                )
            })?,
        };
        let path = match options.get("path").map(|p| p.trim()) {
            None | Some("") => "/socket.io/".to_owned(),
            Some(p) => {
                let mut p = if p.starts_with('/') {
                    p.to_owned()
                } else {
                    format!("/{p}")
                };
                if !p.ends_with('/') {
                    p.push('/');
                }
                p
            }
        };
        let auth = json_option(options, "auth")?;
        if auth.as_ref().is_some_and(|a| !a.is_object()) {
            return Err(
                "protocol option auth must be a JSON object, e.g. auth={\"token\":\"…\"}".into(),
            );
        }
        let open_timeout = millis_option(options, "open_timeout_ms")?
            .map_or(DEFAULT_OPEN_TIMEOUT, Duration::from_millis);
        Ok(Self {
            eio,
            path,
            auth,
            open_timeout,
            namespace: "/".into(),
        })
    }

    /// The settings for a connection to `url`: its `EIO=` wins over the option, a path that is not the
    /// Socket.IO path names the namespace.
    pub fn for_url(mut self, url: &str) -> Self {
        let parts = UrlParts::split(url);
        if let Some(v) = parts
            .query_value("EIO")
            .and_then(EioVersion::from_query_value)
        {
            self.eio = v;
        }
        if let Some(ns) = parts.namespace(&self.path).filter(|ns| !ns.contains(',')) {
            self.namespace = ns;
        }
        self
    }
}

/// A URL cut into the pieces [`build_url`] changes.
struct UrlParts<'a> {
    scheme: &'a str,
    authority: &'a str,
    path: &'a str,
    query: &'a str,
}

impl<'a> UrlParts<'a> {
    fn split(url: &'a str) -> Self {
        let url = url.trim();
        let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
        let rest = rest.split('#').next().unwrap_or("");
        let (before_query, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (authority, path) = match before_query.find('/') {
            Some(i) => before_query.split_at(i),
            None => (before_query, ""),
        };
        Self {
            scheme,
            authority,
            path,
            query,
        }
    }

    fn query_value(&self, name: &str) -> Option<&'a str> {
        self.query
            .split('&')
            .filter_map(|pair| pair.split_once('=').or(Some((pair, ""))))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v)
    }

    /// Whether the path is the Socket.IO path (given or the default one).
    fn is_socketio_path(&self, sio_path: &str) -> bool {
        let trimmed = |p: &str| p.trim_end_matches('/').to_ascii_lowercase();
        let path = trimmed(self.path);
        path == trimmed(sio_path) || path.ends_with("/socket.io")
    }

    /// The namespace a typed path names (`http://h/admin` → `/admin`), unless it is the Socket.IO path or `/`.
    fn namespace(&self, sio_path: &str) -> Option<String> {
        let path = self.path.trim_end_matches('/');
        (!path.is_empty() && !self.is_socketio_path(sio_path)).then(|| path.to_owned())
    }
}

/// The WebSocket URL for a Socket.IO server typed as `http(s)://host/`, `ws(s)://host/`, `host:port` or a full
/// Socket.IO URL: the Socket.IO path, `EIO=` and `transport=websocket` added where missing, the rest kept. For
/// Engine.IO 3 the default namespace's auth goes in the query, as Socket.IO 2 clients send it.
pub fn build_url(url: &str, settings: &Settings) -> String {
    let parts = UrlParts::split(url);
    let scheme = match parts.scheme.to_ascii_lowercase().as_str() {
        "https" | "wss" => "wss",
        _ => "ws",
    };
    let path = if parts.is_socketio_path(&settings.path) {
        let mut p = parts.path.to_owned();
        if !p.ends_with('/') {
            p.push('/');
        }
        p
    } else {
        settings.path.clone()
    };
    let mut query: Vec<String> = parts
        .query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            if pair.starts_with("transport=") {
                "transport=websocket".to_owned()
            } else {
                pair.to_owned()
            }
        })
        .collect();
    let eio = parts
        .query_value("EIO")
        .and_then(EioVersion::from_query_value)
        .unwrap_or(settings.eio);
    if parts.query_value("EIO").is_none() {
        query.push(format!("EIO={}", eio.query_value()));
    }
    if parts.query_value("transport").is_none() {
        query.push("transport=websocket".into());
    }
    if eio == EioVersion::V3
        && let Some(auth) = settings.auth.as_ref().and_then(Value::as_object)
    {
        query.extend(auth.iter().map(|(k, v)| query_pair(k, v)));
    }
    format!("{scheme}://{}{path}?{}", parts.authority, query.join("&"))
}

/// `key=value`, percent-encoded, a JSON string without its quotes.
pub(super) fn query_pair(key: &str, value: &Value) -> String {
    let value = match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    format!("{}={}", percent(key), percent(&value))
}

fn percent(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// One `--emit` for Socket.IO.
#[derive(Debug, Clone, PartialEq)]
pub enum Emit {
    /// `{"event":"NAME","args":[…],"namespace":"/admin","ack":true,"auth":{…}}`.
    Event {
        namespace: String,
        event: String,
        args: Vec<Value>,
        ack: bool,
        auth: Option<Value>,
    },
    /// `{"ack_id":N,"args":[…],"namespace":…}`: answers an event the server sent with an ack id.
    Ack {
        namespace: String,
        id: u64,
        args: Vec<Value>,
    },
    /// `{"connect":"/admin","auth":{…}}`: connects a namespace without an event.
    Connect {
        namespace: String,
        auth: Option<Value>,
    },
    /// `{"disconnect":"/admin"}`.
    Disconnect { namespace: String },
}

impl Emit {
    /// Reads an `--emit` JSON, or says what is wrong with it.
    pub fn parse(value: &Value) -> Result<Self, String> {
        let Some(object) = value.as_object() else {
            return Err(
                "a Socket.IO emit is a JSON object like {\"event\":\"NAME\",\"args\":[…]}".into(),
            );
        };
        const KEYS: [&str; 7] = [
            "event",
            "args",
            "namespace",
            "ack",
            "auth",
            "ack_id",
            "connect",
        ];
        if let Some(key) = object
            .keys()
            .find(|k| !KEYS.contains(&k.as_str()) && *k != "disconnect")
        {
            return Err(format!(
                "a Socket.IO emit has no field '{key}' (fields: event, args, namespace, ack, auth; or ack_id, connect, disconnect)"
            ));
        }
        let text = |key: &str| -> Result<Option<String>, String> {
            match object.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(format!("a Socket.IO emit's '{key}' must be a string")),
            }
        };
        let namespace = || {
            text("namespace")
                .and_then(|ns| checked_namespace(&normalize(ns.as_deref().unwrap_or("/"))))
        };
        let args = match object.get("args") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items.clone(),
            Some(_) => return Err("a Socket.IO emit's 'args' must be a JSON list".into()),
        };
        let auth = match object.get("auth") {
            None | Some(Value::Null) => None,
            Some(a @ Value::Object(_)) => Some(a.clone()),
            Some(_) => return Err("a Socket.IO emit's 'auth' must be a JSON object".into()),
        };
        if let Some(ns) = text("disconnect")? {
            return Ok(Emit::Disconnect {
                namespace: checked_namespace(&normalize(&ns))?,
            });
        }
        if let Some(ns) = text("connect")? {
            return Ok(Emit::Connect {
                namespace: checked_namespace(&normalize(&ns))?,
                auth,
            });
        }
        if let Some(id) = object.get("ack_id") {
            let id = id
                .as_u64()
                .ok_or("a Socket.IO emit's 'ack_id' must be a whole number")?;
            return Ok(Emit::Ack {
                namespace: namespace()?,
                id,
                args,
            });
        }
        let event = text("event")?.ok_or(
            "a Socket.IO emit needs an \"event\" name, e.g. {\"event\":\"chat\",\"args\":[\"hi\"]}",
        )?;
        let ack = match object.get("ack") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err("a Socket.IO emit's 'ack' must be true or false".into()),
        };
        Ok(Emit::Event {
            namespace: namespace()?,
            event,
            args,
            ack,
            auth,
        })
    }
}

/// A namespace that can be written in a packet: a `,` would end it early.
fn checked_namespace(namespace: &str) -> Result<String, String> {
    if namespace.contains(',') {
        return Err(format!(
            "the Socket.IO namespace '{namespace}' cannot be sent: a ',' ends a namespace in a packet"
        ));
    }
    Ok(namespace.to_owned())
}

pub(super) fn normalize(namespace: &str) -> String {
    let ns = namespace.trim();
    if ns.is_empty() {
        "/".into()
    } else if ns.starts_with('/') {
        ns.to_owned()
    } else {
        format!("/{ns}")
    }
}
