//! The mock server's rules, run sans-IO: an upgrade request, a message or a close in; the answer to the upgrade
//! and the effects out (messages to connections, closes, delays, faults), in the order the rule gives them. The
//! server around it (engine/server/mock.rs) owns the sockets and carries the effects out.
//!
//! It keeps what the rules need of every client: its connection id, its upgrade request, the values rules set
//! on it, its groups, and whether it is still in its `$connect` route (not yet upgraded).

use super::{Audience, Fault, MockRules, Rule, Then, When};
use crate::model::expect::{self, Compiled, Received};
use crate::model::template::{self, Context};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Messages a `Stream` may send at most.
pub const MAX_STREAM_COUNT: u32 = 100_000;
/// Bytes a `Stream` may render at most (all its messages together).
pub const MAX_STREAM_BYTES: usize = 64 << 20;
/// A message's JSON fields offered to templates (`{{request.body.FIELD}}`), at most.
const MAX_BODY_FIELDS: usize = 4_096;
/// Messages longer than this are not read as JSON for templates and route keys.
const MAX_BODY_BYTES: usize = 1 << 20;

/// An upgrade request as the rules see it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Request {
    /// The path, without the query.
    pub path: String,
    /// Query parameters, decoded, in order.
    pub query: Vec<(String, String)>,
    /// Headers, in order (names as sent).
    pub headers: Vec<(String, String)>,
    /// The subprotocols offered, in order.
    pub subprotocols: Vec<String>,
    /// The client's address.
    pub peer: String,
}

impl Request {
    /// The first value of header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The first value of query parameter `name`.
    pub fn query_value(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A message for a client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outgoing {
    /// Text.
    Text(String),
    /// Binary.
    Binary(Vec<u8>),
}

/// Something the server is to do, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// A rule fired (for the log).
    Fired {
        /// Its name.
        rule: String,
    },
    /// A message to these connections.
    Send {
        /// Connection ids.
        to: Vec<String>,
        /// The message.
        message: Outgoing,
    },
    /// Wait before what follows.
    Delay(u64),
    /// Close a connection.
    Close {
        /// Its id.
        id: String,
        /// Code.
        code: u16,
        /// Reason.
        reason: String,
    },
    /// Messages to one connection, one every `interval_ms`.
    Stream {
        /// Its id.
        id: String,
        /// The texts, in order.
        messages: Vec<String>,
        /// Milliseconds between them.
        interval_ms: u64,
    },
    /// A deliberate fault on a connection.
    Fault {
        /// Its id.
        id: String,
        /// Which.
        fault: Fault,
    },
    /// A rule could not run to its end (a template named nothing, an unknown connection): what it did before
    /// stands, the rest is left out.
    Failed {
        /// The rule.
        rule: String,
        /// Why, in words.
        why: String,
    },
}

/// The answer to an upgrade request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Upgrade {
    /// Switch protocols.
    Accept {
        /// The subprotocol selected.
        subprotocol: Option<String>,
        /// Faults on the upgrade (delay, wrong accept key, a subprotocol not offered).
        faults: Vec<Fault>,
    },
    /// Refuse with this status and body.
    Refuse {
        /// HTTP status.
        status: u16,
        /// Body.
        body: String,
        /// Why, for the log.
        why: String,
    },
}

/// What the server keeps about one client.
#[derive(Clone, Debug, Default)]
pub struct Connection {
    /// Its upgrade request.
    pub request: Request,
    /// Values rules set (`{{connection.NAME}}`).
    pub values: BTreeMap<String, String>,
    /// The groups it is in.
    pub groups: BTreeSet<String>,
    /// Messages it sent so far.
    pub messages: u64,
    /// Upgraded (out of its `$connect` route).
    pub open: bool,
}

type Env = Box<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// The rules with what they need at run time: the message matchers compiled, the connections and groups.
pub struct MockCore {
    rules: MockRules,
    matchers: Vec<Option<Compiled>>,
    connections: HashMap<String, Connection>,
    groups: BTreeMap<String, BTreeSet<String>>,
    env: Env,
}

impl std::fmt::Debug for MockCore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockCore")
            .field("rules", &self.rules.rules.len())
            .field("connections", &self.connections.len())
            .finish()
    }
}

/// A random connection id in API Gateway's shape: 16 characters of base64 (`L0SM9cOFvHcCIhw=`).
pub fn new_connection_id() -> String {
    let mut bytes = [0u8; 11];
    bytes[..8].copy_from_slice(&template::random_u64().to_le_bytes());
    bytes[8..].copy_from_slice(&template::random_u64().to_le_bytes()[..3]);
    base64::Engine::encode(&base64::engine::general_purpose::STANDARD, bytes)
}

impl MockCore {
    /// The rules ready to run, reading `{{env.NAME}}` from the process's environment. Errors name the rule
    /// whose matcher does not compile.
    pub fn new(rules: MockRules) -> Result<Self, String> {
        Self::with_env(rules, |name| std::env::var(name).ok())
    }

    /// The same, with `env` for `{{env.NAME}}`.
    pub fn with_env(
        rules: MockRules,
        env: impl Fn(&str) -> Option<String> + Send + Sync + 'static,
    ) -> Result<Self, String> {
        let mut matchers = Vec::with_capacity(rules.rules.len());
        for (i, rule) in rules.rules.iter().enumerate() {
            matchers.push(match &rule.when {
                When::Message(m) => Some(
                    expect::compile(m, &Context::default())
                        .map_err(|e| format!("rule {} ('{}'): {e}", i + 1, rule.name))?,
                ),
                _ => None,
            });
        }
        Ok(Self {
            rules,
            matchers,
            connections: HashMap::new(),
            groups: BTreeMap::new(),
            env: Box::new(env),
        })
    }

    /// The rules.
    pub fn rules(&self) -> &MockRules {
        &self.rules
    }

    /// A connection, if it is known.
    pub fn connection(&self, id: &str) -> Option<&Connection> {
        self.connections.get(id)
    }

    /// The connections, by id.
    pub fn connections(&self) -> impl Iterator<Item = (&String, &Connection)> {
        self.connections.iter()
    }

    /// The members of a group.
    pub fn group(&self, name: &str) -> Vec<String> {
        self.groups
            .get(name)
            .map(|g| g.iter().cloned().collect())
            .unwrap_or_default()
    }

    fn expand(&self, text: &str, ctx: &Context) -> Result<String, String> {
        template::expand(text, ctx, |n| (self.env)(n)).map_err(|e| e.to_string())
    }

    /// A client asks to connect as `id`: checks the path, the required headers and token, then runs the
    /// `Connect` rules. The client is known from here on, but in its `$connect` route until [`MockCore::opened`]
    /// (a management API post to it is refused meanwhile); a refused client is forgotten at once.
    pub fn connect(&mut self, id: &str, request: Request) -> (Upgrade, Vec<Effect>) {
        let settings = self.rules.server.clone();
        let base = request_context(id, &request, &BTreeMap::new(), "$connect", 0);
        if !settings.path.trim().is_empty() && request.path != settings.path.trim() {
            return refuse(
                404,
                "no WebSocket here",
                format!("path {} is not served", request.path),
            );
        }
        let unauthorized = |why: String| {
            let body = if settings.unauthorized_body.is_empty() {
                "{\"message\":\"Unauthorized\"}".to_owned()
            } else {
                settings.unauthorized_body.clone()
            };
            refuse(401, &body, why)
        };
        for required in &settings.require_headers {
            let want = match self.expand(&required.value, &base) {
                Ok(v) => v,
                Err(e) => return refuse(500, "the mock server's rules are incomplete", e),
            };
            if request.header(&required.name) != Some(want.as_str()) {
                return unauthorized(format!("header {} missing or wrong", required.name));
            }
        }
        if !settings.bearer_token.trim().is_empty() {
            let token = match self.expand(&settings.bearer_token, &base) {
                Ok(v) => v,
                Err(e) => return refuse(500, "the mock server's rules are incomplete", e),
            };
            let given = request.header("authorization").and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            });
            if given.map(str::trim) != Some(token.as_str()) {
                return unauthorized("no valid bearer token".into());
            }
        }
        let subprotocol = settings
            .subprotocols
            .iter()
            .find(|p| request.subprotocols.iter().any(|o| o == *p))
            .cloned();
        self.connections.insert(
            id.to_owned(),
            Connection {
                request: request.clone(),
                ..Connection::default()
            },
        );
        let mut faults = Vec::new();
        let mut effects = Vec::new();
        let firing = self.firing(|_, when| match when {
            When::Connect(c) => connect_holds(c, &request),
            When::Route(k) => k == "$connect",
            _ => false,
        });
        for i in firing {
            let rule = self.rules.rules[i].clone();
            effects.push(Effect::Fired {
                rule: rule.name.clone(),
            });
            // Refusals and upgrade faults act here; the rest after the upgrade.
            let mut rest = Vec::new();
            for then in &rule.then {
                match then {
                    Then::Refuse { status, body } => {
                        let ctx = self.context(id, "$connect", None);
                        let body = self.expand(body, &ctx).unwrap_or_else(|_| body.clone());
                        self.forget(id);
                        return refuse(*status, &body, format!("refused by rule '{}'", rule.name));
                    }
                    Then::Fault(f) if f.is_upgrade() => faults.push(f.clone()),
                    other => rest.push(other.clone()),
                }
            }
            effects.extend(self.run(&rule.name, id, "$connect", None, &rest));
            if !rule.and_continue {
                break;
            }
        }
        (
            Upgrade::Accept {
                subprotocol,
                faults,
            },
            effects,
        )
    }

    /// The 101 went out: the client is out of its `$connect` route.
    pub fn opened(&mut self, id: &str) {
        if let Some(c) = self.connections.get_mut(id) {
            c.open = true;
        }
    }

    /// A message from `id` (text or binary).
    pub fn message(&mut self, id: &str, text: bool, payload: &[u8]) -> Vec<Effect> {
        let Some(conn) = self.connections.get_mut(id) else {
            return Vec::new();
        };
        conn.messages += 1;
        let body = (payload.len() <= MAX_BODY_BYTES)
            .then(|| serde_json::from_slice::<serde_json::Value>(payload).ok())
            .flatten();
        let route = self.route_key(body.as_ref());
        // `$default` is for a key no route names (and for a message without one).
        let has_route = !route.starts_with('$')
            && self
                .rules
                .rules
                .iter()
                .any(|r| r.enabled && r.when == When::Route(route.clone()));
        let received = Received::Data(payload);
        let firing = self.firing(|i, when| match when {
            When::Message(_) => self.matchers[i]
                .as_ref()
                .is_some_and(|m| m.matches(received)),
            When::Route(k) if k == "$default" => !has_route,
            When::Route(k) => *k == route && !k.starts_with('$'),
            _ => false,
        });
        let message = Message {
            text,
            payload,
            body: body.as_ref(),
        };
        self.run_rules(&firing, id, &route, Some(message))
    }

    /// The enabled rules whose `when` holds, in order.
    fn firing(&self, holds: impl Fn(usize, &When) -> bool) -> Vec<usize> {
        (0..self.rules.rules.len())
            .filter(|&i| self.rules.rules[i].enabled && holds(i, &self.rules.rules[i].when))
            .collect()
    }

    /// Runs the rules `firing` names for `id`: the first, and the next ones while each says `continue`.
    fn run_rules(
        &mut self,
        firing: &[usize],
        id: &str,
        route: &str,
        message: Option<Message<'_>>,
    ) -> Vec<Effect> {
        let mut effects = Vec::new();
        for &i in firing {
            let rule: Rule = self.rules.rules[i].clone();
            effects.push(Effect::Fired {
                rule: rule.name.clone(),
            });
            effects.extend(self.run(&rule.name, id, route, message, &rule.then));
            if !rule.and_continue {
                break;
            }
        }
        effects
    }

    /// `id` left: runs the `Close` rules, then forgets it (it leaves every group).
    pub fn closed(&mut self, id: &str) -> Vec<Effect> {
        if !self.connections.contains_key(id) {
            return Vec::new();
        }
        let firing = self.firing(|_, when| match when {
            When::Close => true,
            When::Route(k) => k == "$disconnect",
            _ => false,
        });
        let mut effects = self.run_rules(&firing, id, "$disconnect", None);
        self.forget(id);
        // A client that left gets nothing more.
        for effect in &mut effects {
            if let Effect::Send { to, .. } = effect {
                to.retain(|t| t != id);
            }
        }
        effects.retain(|e| match e {
            Effect::Send { to, .. } => !to.is_empty(),
            Effect::Close { id: who, .. }
            | Effect::Stream { id: who, .. }
            | Effect::Fault { id: who, .. } => who != id,
            _ => true,
        });
        effects
    }

    fn forget(&mut self, id: &str) {
        if let Some(conn) = self.connections.remove(id) {
            for g in conn.groups {
                if let Some(members) = self.groups.get_mut(&g) {
                    members.remove(id);
                    if members.is_empty() {
                        self.groups.remove(&g);
                    }
                }
            }
        }
    }

    /// The route key of a message: the value at `route_selection` (`$request.body.action`), `$default` when
    /// there is none.
    fn route_key(&self, body: Option<&serde_json::Value>) -> String {
        let selection = self.rules.route_selection.trim();
        let Some(path) = selection.strip_prefix("$request.body") else {
            return "$default".into();
        };
        let Ok(path) = expect::parse_path(path) else {
            return "$default".into();
        };
        let value = body.and_then(|b| {
            path.iter().try_fold(b, |v, part| match part {
                expect::PathPart::Key(k) => v.get(k),
                expect::PathPart::Index(i) => v.get(*i),
            })
        });
        match value {
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(serde_json::Value::Null) | None => "$default".into(),
            Some(other) => other.to_string(),
        }
    }

    fn context(&self, id: &str, route: &str, message: Option<Message<'_>>) -> Context {
        let (request, values, messages) = match self.connections.get(id) {
            Some(c) => (c.request.clone(), c.values.clone(), c.messages),
            None => (Request::default(), BTreeMap::new(), 0),
        };
        let mut ctx = request_context(id, &request, &values, route, messages);
        if let Some(m) = message {
            let text = String::from_utf8_lossy(m.payload).into_owned();
            if let Some(body) = m.body {
                let mut count = 0;
                flatten("request.body", body, &mut ctx.variables, &mut count);
            }
            if m.text || !m.payload.is_empty() {
                ctx.variables.insert("request.body".into(), text);
            }
        }
        ctx
    }

    /// Runs `thens` for `id`: effects in order, groups and values changed as they go.
    fn run(
        &mut self,
        rule: &str,
        id: &str,
        route: &str,
        message: Option<Message<'_>>,
        thens: &[Then],
    ) -> Vec<Effect> {
        let mut ctx = self.context(id, route, message);
        let mut effects = Vec::new();
        let failed = |why: String| Effect::Failed {
            rule: rule.to_owned(),
            why,
        };
        for then in thens {
            let step: Result<(), String> = (|| {
                match then {
                    Then::Reply(text) => effects.push(Effect::Send {
                        to: vec![id.to_owned()],
                        message: Outgoing::Text(self.expand(text, &ctx)?),
                    }),
                    Then::ReplyBinary(hex) => effects.push(Effect::Send {
                        to: vec![id.to_owned()],
                        message: Outgoing::Binary(
                            crate::model::parse_payload(hex, crate::model::PayloadFormat::Hex)
                                .map_err(|e| format!("ReplyBinary: {e}"))?,
                        ),
                    }),
                    Then::Send { to, text } => {
                        let to = self.audience(id, to, &ctx)?;
                        let message = Outgoing::Text(self.expand(text, &ctx)?);
                        if !to.is_empty() {
                            effects.push(Effect::Send { to, message });
                        }
                    }
                    Then::Join(group) => {
                        let group = self.expand(group, &ctx)?;
                        if let Some(c) = self.connections.get_mut(id) {
                            c.groups.insert(group.clone());
                            self.groups.entry(group).or_default().insert(id.to_owned());
                        }
                    }
                    Then::Leave(group) => {
                        let group = self.expand(group, &ctx)?;
                        self.leave(id, &group);
                    }
                    Then::LeaveAll => {
                        let groups: Vec<String> = self
                            .connections
                            .get(id)
                            .map(|c| c.groups.iter().cloned().collect())
                            .unwrap_or_default();
                        for g in groups {
                            self.leave(id, &g);
                        }
                    }
                    Then::Set { name, value } => {
                        let value = self.expand(value, &ctx)?;
                        ctx.variables
                            .insert(format!("connection.{name}"), value.clone());
                        if let Some(c) = self.connections.get_mut(id) {
                            c.values.insert(name.clone(), value);
                        }
                    }
                    Then::Delay(ms) => effects.push(Effect::Delay(*ms)),
                    Then::Close { code, reason } => effects.push(Effect::Close {
                        id: id.to_owned(),
                        code: *code,
                        reason: self.expand(reason, &ctx)?,
                    }),
                    Then::Stream {
                        count,
                        interval_ms,
                        text,
                    } => {
                        if *count > MAX_STREAM_COUNT {
                            return Err(format!(
                                "Stream of {count} messages: at most {MAX_STREAM_COUNT}"
                            ));
                        }
                        let mut messages = Vec::with_capacity(*count as usize);
                        let mut bytes = 0usize;
                        let mut each = ctx.clone();
                        for n in 1..=u64::from(*count) {
                            each.counter = n;
                            let m = self.expand(text, &each)?;
                            bytes += m.len();
                            if bytes > MAX_STREAM_BYTES {
                                return Err(format!(
                                    "Stream renders over {} MiB: fewer or shorter messages",
                                    MAX_STREAM_BYTES >> 20
                                ));
                            }
                            messages.push(m);
                        }
                        effects.push(Effect::Stream {
                            id: id.to_owned(),
                            messages,
                            interval_ms: *interval_ms,
                        });
                    }
                    Then::Refuse { .. } => {
                        return Err("Refuse acts only in a Connect rule".into());
                    }
                    Then::Fault(f) if f.is_upgrade() => {
                        return Err(format!("{} acts only in a Connect rule", f.describe()));
                    }
                    Then::Fault(f) => effects.push(Effect::Fault {
                        id: id.to_owned(),
                        fault: f.clone(),
                    }),
                }
                Ok(())
            })();
            if let Err(why) = step {
                effects.push(failed(why));
                break;
            }
        }
        effects
    }

    fn leave(&mut self, id: &str, group: &str) {
        if let Some(c) = self.connections.get_mut(id) {
            c.groups.remove(group);
        }
        if let Some(members) = self.groups.get_mut(group) {
            members.remove(id);
            if members.is_empty() {
                self.groups.remove(group);
            }
        }
    }

    /// The open connections an audience names.
    fn audience(&self, id: &str, to: &Audience, ctx: &Context) -> Result<Vec<String>, String> {
        let open = |c: &&String| self.connections.get(*c).is_some_and(|c| c.open);
        let mut ids: Vec<String> = match to {
            Audience::Me => vec![id.to_owned()],
            Audience::All => self.connections.keys().filter(open).cloned().collect(),
            Audience::Others => self
                .connections
                .keys()
                .filter(open)
                .filter(|k| *k != id)
                .cloned()
                .collect(),
            Audience::Group(name) => {
                let name = self.expand(name, ctx)?;
                self.groups
                    .get(&name)
                    .map(|g| g.iter().filter(open).cloned().collect())
                    .unwrap_or_default()
            }
            Audience::Connection(who) => {
                let who = self.expand(who, ctx)?;
                if !self.connections.get(&who).is_some_and(|c| c.open) {
                    return Err(format!("no open connection {who}"));
                }
                vec![who]
            }
        };
        ids.sort();
        Ok(ids)
    }
}

/// A message as a rule reads it.
#[derive(Clone, Copy)]
struct Message<'a> {
    text: bool,
    payload: &'a [u8],
    body: Option<&'a serde_json::Value>,
}

fn refuse(status: u16, body: &str, why: String) -> (Upgrade, Vec<Effect>) {
    (
        Upgrade::Refuse {
            status,
            body: body.to_owned(),
            why,
        },
        Vec::new(),
    )
}

fn connect_holds(c: &super::ConnectCondition, request: &Request) -> bool {
    (c.path.is_empty() || c.path == request.path)
        && c.query.iter().all(|q| match request.query_value(&q.name) {
            Some(v) => q.value.is_empty() || v == q.value,
            None => false,
        })
        && c.headers.iter().all(|h| match request.header(&h.name) {
            Some(v) => h.value.is_empty() || v == h.value,
            None => false,
        })
        && (c.subprotocol.is_empty() || request.subprotocols.contains(&c.subprotocol))
}

/// The template variables of a connection: `connection.id`, `connection.NAME`, `route`, `request.path`,
/// `request.query.NAME`, `request.header.NAME` (lower case).
fn request_context(
    id: &str,
    request: &Request,
    values: &BTreeMap<String, String>,
    route: &str,
    counter: u64,
) -> Context {
    let mut variables = HashMap::new();
    variables.insert("connection.id".to_owned(), id.to_owned());
    variables.insert("route".to_owned(), route.to_owned());
    variables.insert("request.path".to_owned(), request.path.clone());
    variables.insert("request.peer".to_owned(), request.peer.clone());
    for (k, v) in &request.query {
        variables
            .entry(format!("request.query.{k}"))
            .or_insert_with(|| v.clone());
    }
    for (k, v) in &request.headers {
        variables
            .entry(format!("request.header.{}", k.to_ascii_lowercase()))
            .or_insert_with(|| v.clone());
    }
    for (k, v) in values {
        variables.insert(format!("connection.{k}"), v.clone());
    }
    Context { counter, variables }
}

/// `prefix.a.b` = the value at `a.b` (strings as they are, the rest as JSON text), for every field, bounded.
fn flatten(
    prefix: &str,
    value: &serde_json::Value,
    out: &mut HashMap<String, String>,
    count: &mut usize,
) {
    if *count >= MAX_BODY_FIELDS {
        return;
    }
    *count += 1;
    match value {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                flatten(&format!("{prefix}.{k}"), v, out, count);
            }
            if prefix != "request.body" {
                out.insert(prefix.to_owned(), value.to_string());
            }
        }
        serde_json::Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                flatten(&format!("{prefix}.{i}"), v, out, count);
            }
            if prefix != "request.body" {
                out.insert(prefix.to_owned(), value.to_string());
            }
        }
        serde_json::Value::String(s) => {
            out.insert(prefix.to_owned(), s.clone());
        }
        other => {
            out.insert(prefix.to_owned(), other.to_string());
        }
    }
}

#[cfg(test)]
mod tests;
