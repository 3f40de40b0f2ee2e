//! Sessions: an endpoint, a collection of messages with expectations, and variables — stored as pretty RON
//! with a format version. Every field has a default, so files written before a field existed still load.
//! Secret values (variables and headers marked secret) are never written.

pub mod expect;
pub mod har;
pub mod junit;
pub mod k6;
pub mod k6_protocol;
pub mod k6_summary;
pub mod template;

use crate::model::endpoint::Endpoint;
use crate::model::{ConnectRequest, PayloadFormat, PayloadParseError, parse_payload};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use template::{Context, TemplateError};

/// The session file format this build writes.
pub const FORMAT_VERSION: u32 = 1;

/// A saved session.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Session {
    /// The format the file was written in.
    pub format_version: u32,
    /// A name for people.
    pub name: String,
    /// Free notes.
    pub notes: String,
    /// Where and how to connect.
    pub endpoint: Endpoint,
    /// Session variables, usable as `{{name}}` in the URL, headers and messages.
    pub variables: Vec<Variable>,
    /// The messages, in folders.
    pub collection: Vec<Item>,
}

impl Default for Session {
    fn default() -> Self {
        Self {
            format_version: FORMAT_VERSION,
            name: "Untitled".into(),
            notes: String::new(),
            endpoint: Endpoint::default(),
            variables: Vec::new(),
            collection: Vec::new(),
        }
    }
}

/// A session variable.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Variable {
    /// Its name, as used in `{{name}}`.
    pub name: String,
    /// Its value (not written when secret).
    pub value: String,
    /// Keep the value out of the file.
    pub secret: bool,
}

/// A collection entry: a folder or a message step.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Item {
    /// A named group of items.
    Folder(Folder),
    /// One message to send (or a wait for one), with expectations.
    Step(Step),
}

/// A named group of items.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Folder {
    /// Folder name.
    pub name: String,
    /// Notes.
    pub notes: String,
    /// What it holds.
    pub items: Vec<Item>,
}

/// What a step sends.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Payload {
    /// Nothing: the step only waits for its expectations.
    #[default]
    None,
    /// A text message (templates expanded).
    Text(String),
    /// A JSON text message (templates expanded, then checked to be valid JSON).
    Json(String),
    /// Binary, as hex.
    Hex(String),
    /// Binary, as base64.
    Base64(String),
    /// Binary, read from a file (relative paths are relative to the session file).
    File(PathBuf),
    /// A protocol message, as `connect --emit` takes it (templates expanded, then read as JSON): a Socket.IO
    /// event, a GraphQL operation.
    Emit(String),
    /// JSON (templates expanded) sent as a binary message encoded with the session's codec (MessagePack, CBOR
    /// or Protobuf: `endpoint.codec`).
    Encoded(String),
}

/// One step of a collection.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Step {
    /// Step name.
    pub name: String,
    /// Notes.
    pub notes: String,
    /// Skipped when off.
    pub enabled: bool,
    /// Wait this long before sending (milliseconds).
    pub delay_ms: u64,
    /// What to send.
    pub payload: Payload,
    /// What must arrive after sending.
    pub expect: Vec<Expectation>,
}

impl Default for Step {
    fn default() -> Self {
        Self {
            name: "Message".into(),
            notes: String::new(),
            enabled: true,
            delay_ms: 0,
            payload: Payload::Text(String::new()),
            expect: Vec::new(),
        }
    }
}

/// Something that must happen after a step is sent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Expectation {
    /// What to look for.
    pub matcher: Matcher,
    /// How long to wait, milliseconds.
    pub timeout_ms: u64,
    /// Checked only when on (HAR imports add expectations switched on; users may switch them off).
    pub enabled: bool,
}

impl Default for Expectation {
    fn default() -> Self {
        Self {
            matcher: Matcher::Contains(String::new()),
            timeout_ms: 5_000,
            enabled: true,
        }
    }
}

/// How a received message is matched.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Matcher {
    /// The text equals this exactly (templates expanded).
    Equals(String),
    /// The text contains this (templates expanded).
    Contains(String),
    /// The text matches this regular expression.
    Regex(String),
    /// The message is JSON containing this JSON (objects: every key present and matching; arrays: equal).
    JsonSubset(String),
    /// The value at a path (`$.a.b[0]` or `a.b.0`) equals this JSON value.
    JsonPath {
        /// Path into the message.
        path: String,
        /// Expected JSON value.
        equals: String,
    },
    /// A binary (or text) message whose bytes equal these, given as hex.
    Bytes(String),
    /// The server closes the connection, with this code if given.
    Close(Option<u16>),
    /// A protocol message whose decoded form has this value at a path (`$.event` equals `"echo"`,
    /// `$.args[0]`, `$.payload.data.countdown`).
    Decoded {
        /// Path into the decoded message (its NDJSON `protocol` object).
        path: String,
        /// Expected JSON value.
        equals: String,
    },
    /// A protocol message of this type answering this step's own message: Socket.IO `ack` (the step asked for
    /// one), GraphQL `next`, `error` or `complete` for the step's operation id.
    Reply(String),
}

impl Default for Matcher {
    fn default() -> Self {
        Self::Contains(String::new())
    }
}

/// Why a session file could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read.
    #[error("could not read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not a valid session.
    #[error("{path}:{line}:{column}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// Line, from 1.
        line: usize,
        /// Column, from 1.
        column: usize,
        /// What was expected.
        message: String,
    },
    /// The file was written by a newer sockscope.
    #[error(
        "{path} uses session format {found}; this sockscope reads up to {FORMAT_VERSION}: update sockscope"
    )]
    TooNew {
        /// The file.
        path: PathBuf,
        /// Its version.
        found: u32,
    },
}

/// Where a file in format `version` is kept before it is rewritten in the current format.
pub fn backup_path(path: &Path, version: u32) -> std::path::PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".v{version}.bak"));
    path.with_file_name(name)
}

impl Session {
    /// Parses session text; `path` only names the file in errors.
    pub fn from_ron(text: &str, path: &Path) -> Result<Self, LoadError> {
        let session: Session = ron::from_str(text).map_err(|e| LoadError::Parse {
            path: path.to_owned(),
            line: e.span.start.line,
            column: e.span.start.col,
            message: e.code.to_string(),
        })?;
        if session.format_version > FORMAT_VERSION {
            return Err(LoadError::TooNew {
                path: path.to_owned(),
                found: session.format_version,
            });
        }
        Ok(session)
    }

    /// Reads a session file.
    pub fn load(path: &Path) -> Result<Self, LoadError> {
        let text = std::fs::read_to_string(path).map_err(|source| LoadError::Io {
            path: path.to_owned(),
            source,
        })?;
        Self::from_ron(&text, path)
    }

    /// The pretty RON text of this session, with secret values left out ("" in the impossible case that
    /// serialising fails; [`Session::save`] reports that case instead of writing).
    pub fn to_ron(&self) -> String {
        self.try_to_ron().unwrap_or_default()
    }

    /// The pretty RON text of this session, with secret values left out.
    pub fn try_to_ron(&self) -> Result<String, ron::Error> {
        let mut copy = self.clone();
        copy.format_version = FORMAT_VERSION;
        // Saved as sent: " chat" typed after a comma is "chat".
        copy.endpoint.subprotocols = copy
            .endpoint
            .subprotocols
            .iter()
            .map(|p| p.trim().to_owned())
            .filter(|p| !p.is_empty())
            .collect();
        for v in &mut copy.variables {
            if v.secret {
                v.value.clear();
            }
        }
        for h in &mut copy.endpoint.headers {
            if h.secret {
                h.value.clear();
            }
        }
        if let crate::model::endpoint::Auth::Bearer { token } = &mut copy.endpoint.auth
            && !token.contains("{{")
        {
            token.clear();
        }
        if let crate::model::endpoint::Auth::Basic { password, .. } = &mut copy.endpoint.auth
            && !password.contains("{{")
        {
            password.clear();
        }
        let config = ron::ser::PrettyConfig::new()
            .struct_names(true)
            .indentor("  ".to_owned());
        ron::ser::to_string_pretty(&copy, config)
    }

    /// Writes the session atomically (temporary file, then rename); never writes an empty or partial file.
    ///
    /// When `path` holds a session in an older format, that file is first copied to `NAME.vN.bak` (N its format
    /// version; an existing backup is kept), so a format migration can always be undone by hand.
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        let text = self
            .try_to_ron()
            .map_err(|e| std::io::Error::other(format!("could not serialise: {e}")))?;
        if let Ok(old) = Self::load(path)
            && old.format_version < FORMAT_VERSION
        {
            let backup = backup_path(path, old.format_version);
            if !backup.exists() {
                std::fs::copy(path, &backup).map_err(|e| {
                    std::io::Error::new(
                        e.kind(),
                        format!(
                            "could not back up the older-format file to {}: {e}",
                            backup.display()
                        ),
                    )
                })?;
            }
        }
        crate::model::fsutil::write_atomic(path, text.as_bytes())
    }

    /// The steps in order, folders flattened, with their folder path ("Folder / Sub").
    pub fn steps(&self) -> Vec<(String, &Step)> {
        fn walk<'a>(items: &'a [Item], prefix: &str, out: &mut Vec<(String, &'a Step)>) {
            for item in items {
                match item {
                    Item::Step(s) => out.push((prefix.to_owned(), s)),
                    Item::Folder(f) => {
                        let p = if prefix.is_empty() {
                            f.name.clone()
                        } else {
                            format!("{prefix} / {}", f.name)
                        };
                        walk(&f.items, &p, out);
                    }
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.collection, "", &mut out);
        out
    }

    /// The template context: session variables overridden by `overrides`.
    pub fn context(&self, overrides: &HashMap<String, String>) -> Context {
        let mut variables: HashMap<String, String> = self
            .variables
            .iter()
            .map(|v| (v.name.clone(), v.value.clone()))
            .collect();
        variables.extend(overrides.iter().map(|(k, v)| (k.clone(), v.clone())));
        Context {
            counter: 0,
            variables,
        }
    }

    /// The request to connect with: URL, header values and auth expanded with `ctx`.
    pub fn request(&self, ctx: &Context) -> Result<ConnectRequest, TemplateError> {
        let env = |name: &str| std::env::var(name).ok();
        let mut endpoint = self.endpoint.clone();
        endpoint.url = template::expand(&endpoint.url, ctx, env)?;
        for h in &mut endpoint.headers {
            if h.enabled {
                h.value = template::expand(&h.value, ctx, env)?;
            }
        }
        endpoint.origin = template::expand(&endpoint.origin, ctx, env)?;
        match &mut endpoint.auth {
            crate::model::endpoint::Auth::Bearer { token } => {
                *token = template::expand(token, ctx, env)?
            }
            crate::model::endpoint::Auth::Basic { user, password } => {
                *user = template::expand(user, ctx, env)?;
                *password = template::expand(password, ctx, env)?;
            }
            crate::model::endpoint::Auth::None => {}
        }
        // Protocol options (`auth=`, `init=`) take variables and {{env.NAME}} too, so tokens need not be saved.
        for value in endpoint.protocol.options.values_mut() {
            *value = template::expand(value, ctx, env)?;
        }
        Ok(endpoint.to_request())
    }
}

/// Why a step's payload could not be prepared.
#[derive(Debug, thiserror::Error)]
pub enum PayloadError {
    /// A template failed.
    #[error(transparent)]
    Template(#[from] TemplateError),
    /// Hex or base64 input is malformed.
    #[error(transparent)]
    Bytes(#[from] PayloadParseError),
    /// JSON payload is not valid JSON after expansion.
    #[error("the JSON payload is not valid JSON: {0}")]
    Json(String),
    /// The payload file could not be read.
    #[error("could not read the payload file {path}: {source}")]
    File {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// A prepared message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Prepared {
    /// Nothing to send.
    Nothing,
    /// A text message.
    Text(String),
    /// A binary message.
    Binary(Vec<u8>),
    /// A protocol message (`Command::Emit`).
    Emit(serde_json::Value),
    /// JSON to send encoded with the session's codec ([`Prepared::encoded_with`] makes it binary).
    Encode(serde_json::Value),
}

impl Prepared {
    /// A JSON value to encode, encoded with `codec` (a binary message); the rest as it is. Errors say why in
    /// words: no codec, or a value the codec cannot encode.
    pub fn encoded_with(self, codec: Option<&crate::model::codec::Codec>) -> Result<Self, String> {
        match self {
            Self::Encode(value) => {
                let codec = codec.ok_or(
                    "the step's JSON is to be encoded, but the session has no codec (Options → Codec)",
                )?;
                codec
                    .encode(&value)
                    .map(Self::Binary)
                    .map_err(|e| format!("cannot be encoded as {}: {e}", codec.describe()))
            }
            other => Ok(other),
        }
    }
}

impl Payload {
    /// Expands templates and decodes the payload. `base_dir` resolves relative file paths.
    pub fn prepare(
        &self,
        ctx: &Context,
        base_dir: Option<&Path>,
    ) -> Result<Prepared, PayloadError> {
        let env = |name: &str| std::env::var(name).ok();
        Ok(match self {
            Payload::None => Prepared::Nothing,
            Payload::Text(t) => Prepared::Text(template::expand(t, ctx, env)?),
            Payload::Json(t) => {
                let text = template::expand(t, ctx, env)?;
                serde_json::from_str::<serde_json::Value>(&text)
                    .map_err(|e| PayloadError::Json(e.to_string()))?;
                Prepared::Text(text)
            }
            Payload::Emit(t) => {
                let text = template::expand(t, ctx, env)?;
                Prepared::Emit(
                    serde_json::from_str(&text).map_err(|e| PayloadError::Json(e.to_string()))?,
                )
            }
            Payload::Encoded(t) => {
                let text = template::expand(t, ctx, env)?;
                Prepared::Encode(
                    serde_json::from_str(&text).map_err(|e| PayloadError::Json(e.to_string()))?,
                )
            }
            Payload::Hex(h) => Prepared::Binary(parse_payload(h, PayloadFormat::Hex)?),
            Payload::Base64(b) => Prepared::Binary(parse_payload(b, PayloadFormat::Base64)?),
            Payload::File(p) => {
                let path = match base_dir {
                    Some(dir) if p.is_relative() => dir.join(p),
                    _ => p.clone(),
                };
                Prepared::Binary(
                    std::fs::read(&path).map_err(|source| PayloadError::File { path, source })?,
                )
            }
        })
    }
}

#[cfg(test)]
mod tests;
