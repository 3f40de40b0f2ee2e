//! The mock server: the rules of `model::mock` on real sockets. One listener serves both the WebSocket
//! upgrades and the management API (API Gateway's `@connections` paths). The upgrade is answered by hand, so
//! that it can be refused with any status and body, held, or answered wrongly on purpose; the WebSocket then
//! runs on tokio-tungstenite, with raw frames for the frame faults.
//!
//! Each client has one task (its socket: reading, writing, faults, streams), fed by a bounded command queue,
//! and one runner that carries out the effects of its rules in order (so a `Delay` holds that client's rules,
//! not its reading). Events for the log go out on a bounded channel; when it is full they are counted as
//! dropped, never queued without end.

use crate::model::mock::core::{Effect, MockCore, Outgoing, Request, Upgrade, new_connection_id};
use crate::model::mock::{Fault, MockRules};
use futures_util::{SinkExt, StreamExt};
use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::frame::coding::OpCode;
use tokio_tungstenite::tungstenite::protocol::frame::{Frame, coding::CloseCode};
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role};
use tokio_tungstenite::tungstenite::{Message, handshake::derive_accept_key};

/// How the server speaks TLS (wss, and HTTPS for the management API).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MockTls {
    /// A certificate made on the spot for 127.0.0.1 and localhost.
    SelfSigned,
    /// The user's certificate chain and key (PEM files).
    Files {
        /// The chain.
        cert: std::path::PathBuf,
        /// The key.
        key: std::path::PathBuf,
    },
}

/// A TLS acceptor and the SHA-256 of its certificate (`AB:CD:…`, as browsers and node show it).
#[derive(Clone)]
pub struct TlsSetup {
    acceptor: tokio_rustls::TlsAcceptor,
    /// The leaf certificate's SHA-256 fingerprint.
    pub sha256: String,
}

impl std::fmt::Debug for TlsSetup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsSetup")
            .field("sha256", &self.sha256)
            .finish()
    }
}

impl MockTls {
    /// The acceptor: the certificate made or read (file reads: call it off the UI thread).
    pub fn setup(&self) -> Result<TlsSetup, String> {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let (chain, key): (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>) = match self {
            MockTls::SelfSigned => {
                let key = rcgen::KeyPair::generate().map_err(|e| format!("a key: {e}"))?;
                let mut params = rcgen::CertificateParams::new(vec![
                    "localhost".to_owned(),
                    "127.0.0.1".to_owned(),
                ])
                .map_err(|e| format!("a certificate: {e}"))?;
                params
                    .distinguished_name
                    .push(rcgen::DnType::CommonName, "sockscope mock server");
                let cert = params
                    .self_signed(&key)
                    .map_err(|e| format!("a certificate: {e}"))?;
                let key = PrivateKeyDer::try_from(key.serialize_der())
                    .map_err(|e| format!("the key: {e}"))?;
                (vec![cert.der().clone()], key)
            }
            MockTls::Files { cert, key } => {
                let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
                    .map_err(|e| format!("could not read {}: {e}", cert.display()))?
                    .collect::<Result<_, _>>()
                    .map_err(|e| format!("{} is not valid PEM: {e}", cert.display()))?;
                if chain.is_empty() {
                    return Err(format!("{} holds no certificate", cert.display()));
                }
                let key = PrivateKeyDer::from_pem_file(key).map_err(|e| {
                    format!("could not read a private key from {}: {e}", key.display())
                })?;
                (chain, key)
            }
        };
        let sha256 = {
            use sha2::Digest;
            let digest = sha2::Sha256::digest(chain[0].as_ref());
            digest
                .iter()
                .map(|b| format!("{b:02X}"))
                .collect::<Vec<_>>()
                .join(":")
        };
        let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| format!("the certificate and key do not go together: {e}"))?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(TlsSetup {
            acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(config)),
            sha256,
        })
    }
}

/// The longest upgrade or API request head read.
const MAX_HEAD_BYTES: usize = 16 * 1024;
/// The largest management API body.
pub const MAX_API_BODY: usize = 1 << 20;
/// How long a client has to send its request head.
const HEAD_TIMEOUT: Duration = Duration::from_secs(10);
/// Commands queued for one client at most (a client that reads nothing fills it; later messages to it are
/// dropped and said).
const CLIENT_QUEUE: usize = 1_024;
/// Rule effects queued for one client's runner.
const RUNNER_QUEUE: usize = 256;
/// Events queued for the log.
const EVENT_QUEUE: usize = 16_384;
/// Bytes each client's reader buffers (tungstenite's default is 128 KiB).
const READ_BUFFER: usize = 8 * 1024;
/// The largest message a client may send the mock server.
const MAX_MESSAGE_BYTES: usize = 16 << 20;

/// Who ended a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClosedBy {
    /// The client sent a close.
    Client,
    /// The server (a rule, the API or the user) sent a close.
    Server,
    /// The TCP connection ended without a close handshake.
    Dropped,
}

impl ClosedBy {
    /// `client`, `server` or `dropped`.
    pub fn as_str(self) -> &'static str {
        match self {
            ClosedBy::Client => "client",
            ClosedBy::Server => "server",
            ClosedBy::Dropped => "dropped",
        }
    }
}

/// What happened on the server, for the log and `serve --json`. Directions are the server's: `sent` is server
/// → client.
#[derive(Clone, Debug)]
pub enum ServerEvent {
    /// A client connected (the 101 went out).
    Connected {
        /// Its connection id.
        id: String,
        /// Its address.
        peer: String,
        /// Its upgrade request.
        request: Request,
        /// The subprotocol selected.
        subprotocol: Option<String>,
    },
    /// An upgrade was refused.
    Refused {
        /// The client's address.
        peer: String,
        /// The status sent.
        status: u16,
        /// Why.
        why: String,
    },
    /// A data message, either way.
    Message {
        /// The connection.
        id: String,
        /// True: server → client.
        sent: bool,
        /// Text or binary.
        text: bool,
        /// The payload.
        payload: Arc<[u8]>,
    },
    /// A connection ended.
    Closed {
        /// The connection.
        id: String,
        /// The close code, if any.
        code: Option<u16>,
        /// The reason.
        reason: String,
        /// Who ended it.
        by: ClosedBy,
    },
    /// A rule fired for a connection.
    Rule {
        /// The connection.
        id: String,
        /// The rule's name.
        rule: String,
    },
    /// A rule stopped short.
    RuleFailed {
        /// The connection.
        id: String,
        /// The rule.
        rule: String,
        /// Why.
        why: String,
    },
    /// A deliberate fault.
    Fault {
        /// The connection (empty for an upgrade that never got one).
        id: String,
        /// What, in words.
        fault: String,
    },
    /// A management API request was answered.
    Api {
        /// Method.
        method: String,
        /// Path.
        path: String,
        /// Status sent.
        status: u16,
    },
    /// Something went wrong that is the server's to say (a message for a client whose queue is full).
    Warning {
        /// The connection, if one.
        id: String,
        /// What.
        message: String,
    },
}

/// Commands to one client's task.
#[derive(Debug)]
enum ClientCommand {
    Send(Outgoing),
    Close {
        code: u16,
        reason: String,
    },
    Fault(Fault),
    Stream {
        messages: Vec<String>,
        interval_ms: u64,
    },
}

/// What the server keeps of a connected client for the API and the GUI.
#[derive(Clone, Debug)]
pub struct ClientInfo {
    /// Its address.
    pub peer: String,
    /// When it connected.
    pub connected_at: SystemTime,
    /// Its request.
    pub request: Request,
    last_active: Arc<AtomicU64>,
    /// Messages in and out.
    pub counts: Arc<(AtomicU64, AtomicU64)>,
    commands: mpsc::Sender<ClientCommand>,
}

impl ClientInfo {
    /// When it last sent or received a message.
    pub fn last_active(&self) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_millis(self.last_active.load(Ordering::Relaxed))
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// What every task of the server shares.
struct Shared {
    core: Mutex<MockCore>,
    clients: Mutex<HashMap<String, ClientInfo>>,
    events: mpsc::Sender<ServerEvent>,
    dropped_events: AtomicU64,
}

impl Shared {
    fn event(&self, event: ServerEvent) {
        if self.events.try_send(event).is_err() {
            self.dropped_events.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn client(&self, id: &str) -> Option<ClientInfo> {
        self.clients.lock().ok()?.get(id).cloned()
    }

    fn command(&self, id: &str, command: ClientCommand) -> bool {
        // Only the sender is taken (a broadcast to a thousand clients copies no requests).
        let Some(commands) = self
            .clients
            .lock()
            .ok()
            .and_then(|c| c.get(id).map(|c| c.commands.clone()))
        else {
            return false;
        };
        match commands.try_send(command) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.event(ServerEvent::Warning {
                    id: id.to_owned(),
                    message: format!(
                        "the client reads too slowly: {CLIENT_QUEUE} commands queued, this one dropped"
                    ),
                });
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }
}

/// A running mock server.
pub struct MockServer {
    /// Where it listens.
    pub local_addr: SocketAddr,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
    sha256: Option<String>,
}

impl MockServer {
    /// Serves `core` on `listener` (ws); events go to the returned receiver (bounded: when it is not read they
    /// are counted as dropped).
    pub fn start(
        listener: TcpListener,
        core: MockCore,
    ) -> io::Result<(Self, mpsc::Receiver<ServerEvent>)> {
        Self::start_with(listener, core, None)
    }

    /// As [`MockServer::start`], over TLS when `tls` is given (wss, and HTTPS for the management API).
    pub fn start_with(
        listener: TcpListener,
        core: MockCore,
        tls: Option<TlsSetup>,
    ) -> io::Result<(Self, mpsc::Receiver<ServerEvent>)> {
        let local_addr = listener.local_addr()?;
        let (events, rx) = mpsc::channel(EVENT_QUEUE);
        let shared = Arc::new(Shared {
            core: Mutex::new(core),
            clients: Mutex::new(HashMap::new()),
            events,
            dropped_events: AtomicU64::new(0),
        });
        let sha256 = tls.as_ref().map(|t| t.sha256.clone());
        let task = tokio::spawn(accept_loop(listener, shared.clone(), tls));
        Ok((
            Self {
                local_addr,
                shared,
                task,
                sha256,
            },
            rx,
        ))
    }

    /// Binds `addr` and serves `rules` there, over TLS when `tls` says so (the certificate is made or read
    /// here).
    pub async fn bind(
        addr: SocketAddr,
        rules: MockRules,
        tls: Option<MockTls>,
    ) -> Result<(Self, mpsc::Receiver<ServerEvent>), String> {
        let core = MockCore::new(rules)?;
        let tls = match tls {
            Some(t) => Some(
                tokio::task::spawn_blocking(move || t.setup())
                    .await
                    .map_err(|e| e.to_string())??,
            ),
            None => None,
        };
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|e| format!("could not listen on {addr}: {e}"))?;
        Self::start_with(listener, core, tls).map_err(|e| e.to_string())
    }

    /// The `ws://` (or `wss://`) URL.
    pub fn url(&self) -> String {
        let scheme = if self.sha256.is_some() { "wss" } else { "ws" };
        format!("{scheme}://{}", self.local_addr)
    }

    /// Over TLS: the certificate's SHA-256 fingerprint.
    pub fn sha256(&self) -> Option<&str> {
        self.sha256.as_deref()
    }

    /// Events dropped because nobody read them fast enough.
    pub fn dropped_events(&self) -> u64 {
        self.shared.dropped_events.load(Ordering::Relaxed)
    }

    /// The connected clients, by id.
    pub fn clients(&self) -> Vec<(String, ClientInfo)> {
        let mut all: Vec<_> = self
            .shared
            .clients
            .lock()
            .map(|c| c.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        all.sort_by_key(|(_, c)| c.connected_at);
        all
    }

    /// How many clients are connected.
    pub fn client_count(&self) -> usize {
        self.shared.clients.lock().map(|c| c.len()).unwrap_or(0)
    }

    /// Sends a message to a client; false when it is gone.
    pub fn send(&self, id: &str, message: Outgoing) -> bool {
        self.shared.command(id, ClientCommand::Send(message))
    }

    /// Closes a client with a code and reason.
    pub fn close(&self, id: &str, code: u16, reason: &str) -> bool {
        self.shared.command(
            id,
            ClientCommand::Close {
                code,
                reason: reason.to_owned(),
            },
        )
    }

    /// Injects a fault on a client.
    pub fn fault(&self, id: &str, fault: Fault) -> bool {
        self.shared.command(id, ClientCommand::Fault(fault))
    }

    /// Stops accepting and closes every client with 1001 "the mock server stopped".
    pub fn stop(&self) {
        self.task.abort();
        let ids: Vec<String> = self
            .shared
            .clients
            .lock()
            .map(|c| c.keys().cloned().collect())
            .unwrap_or_default();
        for id in ids {
            self.shared.command(
                &id,
                ClientCommand::Close {
                    code: 1001,
                    reason: "the mock server stopped".into(),
                },
            );
        }
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, tls: Option<TlsSetup>) {
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                let _ = stream.set_nodelay(true);
                let shared = shared.clone();
                let tls = tls.clone();
                tokio::spawn(async move {
                    let socket = match tls {
                        None => Socket::Plain(stream),
                        Some(tls) => {
                            match tokio::time::timeout(HEAD_TIMEOUT, tls.acceptor.accept(stream))
                                .await
                            {
                                Ok(Ok(s)) => Socket::Tls(Box::new(s)),
                                Ok(Err(e)) => {
                                    shared.event(ServerEvent::Refused {
                                        peer: peer.to_string(),
                                        status: 0,
                                        why: format!("TLS handshake failed: {e}"),
                                    });
                                    return;
                                }
                                Err(_) => return,
                            }
                        }
                    };
                    serve_socket(socket, peer, shared).await;
                });
            }
            Err(e) => {
                tracing::warn!("mock server: accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// A request head, parsed.
struct Head {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    /// Bytes read past the head.
    rest: Vec<u8>,
}

impl Head {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

async fn read_head(stream: &mut Socket) -> Result<Head, String> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 2048];
    loop {
        let n = stream
            .read(&mut chunk)
            .await
            .map_err(|e| format!("reading the request: {e}"))?;
        if n == 0 {
            return Err("the client closed before sending a request".into());
        }
        buf.extend_from_slice(&chunk[..n]);
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut request = httparse::Request::new(&mut headers);
        match request.parse(&buf) {
            Ok(httparse::Status::Complete(len)) => {
                return Ok(Head {
                    method: request.method.unwrap_or("").to_owned(),
                    target: request.path.unwrap_or("/").to_owned(),
                    headers: request
                        .headers
                        .iter()
                        .map(|h| {
                            (
                                h.name.to_owned(),
                                String::from_utf8_lossy(h.value).into_owned(),
                            )
                        })
                        .collect(),
                    rest: buf[len..].to_vec(),
                });
            }
            Ok(httparse::Status::Partial) if buf.len() < MAX_HEAD_BYTES => {}
            Ok(httparse::Status::Partial) => return Err("the request head is too long".into()),
            Err(e) => return Err(format!("not an HTTP request: {e}")),
        }
    }
}

async fn respond(stream: &mut Socket, status: u16, content_type: &str, body: &[u8]) {
    let reason = http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("");
    let mut head = format!("HTTP/1.1 {status} {reason}\r\nConnection: close\r\n");
    if status != 204 {
        head.push_str(&format!(
            "Content-Type: {content_type}\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    head.push_str("\r\n");
    let _ = stream.write_all(head.as_bytes()).await;
    if status != 204 {
        let _ = stream.write_all(body).await;
    }
    let _ = stream.flush().await;
    let _ = stream.shutdown().await;
}

async fn serve_socket(mut stream: Socket, peer: SocketAddr, shared: Arc<Shared>) {
    let head = match tokio::time::timeout(HEAD_TIMEOUT, read_head(&mut stream)).await {
        Ok(Ok(head)) => head,
        Ok(Err(why)) => {
            respond(&mut stream, 400, "text/plain", why.as_bytes()).await;
            return;
        }
        Err(_) => return,
    };
    let path = head.target.split('?').next().unwrap_or("/").to_owned();
    if path.contains("/@connections/") {
        api(stream, head, &path, &shared).await;
        return;
    }
    let upgrade = head
        .header("upgrade")
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    let key = head.header("sec-websocket-key").map(str::to_owned);
    let (Some(key), true, true) = (
        key,
        upgrade,
        head.header("sec-websocket-version") == Some("13"),
    ) else {
        let why = "this is a WebSocket server: send an upgrade (Upgrade: websocket, Sec-WebSocket-Version: 13)";
        respond(&mut stream, 426, "text/plain", why.as_bytes()).await;
        shared.event(ServerEvent::Refused {
            peer: peer.to_string(),
            status: 426,
            why: "not a WebSocket upgrade".into(),
        });
        return;
    };
    let request = Request {
        path,
        query: url::form_urlencoded::parse(
            head.target
                .split_once('?')
                .map(|(_, q)| q)
                .unwrap_or("")
                .as_bytes(),
        )
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect(),
        headers: head.headers.clone(),
        subprotocols: head
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("sec-websocket-protocol"))
            .flat_map(|(_, v)| v.split(',').map(|p| p.trim().to_owned()))
            .filter(|p| !p.is_empty())
            .collect(),
        peer: peer.to_string(),
    };
    let id = new_connection_id();
    let (answer, effects) = match shared.core.lock() {
        Ok(mut core) => core.connect(&id, request.clone()),
        Err(_) => return,
    };
    let (subprotocol, faults) = match answer {
        Upgrade::Refuse { status, body, why } => {
            respond(&mut stream, status, "application/json", body.as_bytes()).await;
            for e in &effects {
                if let Effect::Fired { rule } = e {
                    shared.event(ServerEvent::Rule {
                        id: String::new(),
                        rule: rule.clone(),
                    });
                }
            }
            shared.event(ServerEvent::Refused {
                peer: peer.to_string(),
                status,
                why,
            });
            return;
        }
        Upgrade::Accept {
            subprotocol,
            faults,
        } => (subprotocol, faults),
    };
    // The upgrade's faults.
    let mut accept = derive_accept_key(key.as_bytes());
    let mut selected = subprotocol.clone();
    for fault in &faults {
        shared.event(ServerEvent::Fault {
            id: id.clone(),
            fault: fault.describe(),
        });
        match fault {
            Fault::DelayUpgrade(ms) => tokio::time::sleep(Duration::from_millis(*ms)).await,
            Fault::WrongAccept => accept = derive_accept_key(b"not the client's key"),
            Fault::UnofferedSubprotocol(p) => selected = Some(p.clone()),
            _ => {}
        }
    }
    let mut response = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n"
    );
    if let Some(p) = &selected {
        response.push_str(&format!("Sec-WebSocket-Protocol: {p}\r\n"));
    }
    response.push_str("\r\n");
    if stream.write_all(response.as_bytes()).await.is_err() {
        if let Ok(mut core) = shared.core.lock() {
            core.closed(&id);
        }
        return;
    }
    let (commands, commands_rx) = mpsc::channel(CLIENT_QUEUE);
    let info = ClientInfo {
        peer: peer.to_string(),
        connected_at: SystemTime::now(),
        request: request.clone(),
        last_active: Arc::new(AtomicU64::new(now_ms())),
        counts: Arc::new((AtomicU64::new(0), AtomicU64::new(0))),
        commands,
    };
    if let Ok(mut clients) = shared.clients.lock() {
        clients.insert(id.clone(), info.clone());
    }
    if let Ok(mut core) = shared.core.lock() {
        core.opened(&id);
    }
    shared.event(ServerEvent::Connected {
        id: id.clone(),
        peer: peer.to_string(),
        request,
        subprotocol: selected,
    });
    let (runner, runner_rx) = mpsc::channel(RUNNER_QUEUE);
    let runner_task = tokio::spawn(run_effects(id.clone(), shared.clone(), runner_rx));
    let _ = runner.send(effects).await;
    let throttle = Arc::new(Mutex::new(None));
    let io = Wire {
        inner: stream,
        prefix: head.rest,
        drip: throttle.clone(),
        sleep: None,
    };
    // A small read buffer: a thousand idle clients should not hold 128 KiB each.
    let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER)
        .max_message_size(Some(MAX_MESSAGE_BYTES))
        .max_frame_size(Some(MAX_MESSAGE_BYTES));
    let ws = WebSocketStream::from_raw_socket(io, Role::Server, Some(config)).await;
    let (code, reason, by) =
        client_loop(ws, &id, &info, &shared, commands_rx, &runner, &throttle).await;
    if let Ok(mut clients) = shared.clients.lock() {
        clients.remove(&id);
    }
    shared.event(ServerEvent::Closed {
        id: id.clone(),
        code,
        reason,
        by,
    });
    let effects = match shared.core.lock() {
        Ok(mut core) => core.closed(&id),
        Err(_) => Vec::new(),
    };
    let _ = runner.send(effects).await;
    drop(runner);
    let _ = runner_task.await;
}

/// Carries out the effects of one client's rules, in order.
async fn run_effects(id: String, shared: Arc<Shared>, mut rx: mpsc::Receiver<Vec<Effect>>) {
    while let Some(effects) = rx.recv().await {
        for effect in effects {
            match effect {
                Effect::Fired { rule } => shared.event(ServerEvent::Rule {
                    id: id.clone(),
                    rule,
                }),
                Effect::Failed { rule, why } => shared.event(ServerEvent::RuleFailed {
                    id: id.clone(),
                    rule,
                    why,
                }),
                Effect::Delay(ms) => tokio::time::sleep(Duration::from_millis(ms)).await,
                Effect::Send { to, message } => {
                    for target in to {
                        shared.command(&target, ClientCommand::Send(message.clone()));
                    }
                }
                Effect::Close {
                    id: who,
                    code,
                    reason,
                } => {
                    shared.command(&who, ClientCommand::Close { code, reason });
                }
                Effect::Stream {
                    id: who,
                    messages,
                    interval_ms,
                } => {
                    shared.command(
                        &who,
                        ClientCommand::Stream {
                            messages,
                            interval_ms,
                        },
                    );
                }
                Effect::Fault { id: who, fault } => {
                    shared.command(&who, ClientCommand::Fault(fault));
                }
            }
        }
    }
}

/// One client's socket: reads its messages into the rules, writes what the rules and the API send, and the
/// faults. Returns how it ended.
async fn client_loop(
    mut ws: WebSocketStream<Wire>,
    id: &str,
    info: &ClientInfo,
    shared: &Arc<Shared>,
    mut commands: mpsc::Receiver<ClientCommand>,
    runner: &mpsc::Sender<Vec<Effect>>,
    throttle: &Arc<Mutex<Option<(usize, Duration)>>>,
) -> (Option<u16>, String, ClosedBy) {
    let mut reading = true;
    let mut fragment: Option<usize> = None;
    let mut stream: std::collections::VecDeque<String> = Default::default();
    let mut stream_every = Duration::ZERO;
    let mut next_streamed = tokio::time::Instant::now();
    let mut closing: Option<(u16, String)> = None;
    // How long a client has to answer our close.
    let mut close_deadline = tokio::time::Instant::now();
    let touch = || info.last_active.store(now_ms(), Ordering::Relaxed);
    loop {
        let stream_due = !stream.is_empty();
        tokio::select! {
            incoming = ws.next(), if reading => match incoming {
                Some(Ok(message @ (Message::Text(_) | Message::Binary(_)))) => {
                    touch();
                    info.counts.0.fetch_add(1, Ordering::Relaxed);
                    let text = message.is_text();
                    let payload: Arc<[u8]> = message.into_data().as_ref().into();
                    shared.event(ServerEvent::Message { id: id.to_owned(), sent: false, text, payload: payload.clone() });
                    let effects = shared.core.lock().map(|mut c| c.message(id, text, &payload)).unwrap_or_default();
                    if runner.send(effects).await.is_err() { break (None, String::new(), ClosedBy::Dropped) }
                }
                Some(Ok(Message::Close(frame))) => {
                    let (code, reason) = frame.map(|f| (Some(u16::from(f.code)), f.reason.to_string())).unwrap_or((None, String::new()));
                    // Our reply goes out with the next flush; then the stream ends.
                    let _ = ws.flush().await;
                    return ended(closing, (code, reason, ClosedBy::Client));
                }
                Some(Ok(_)) => touch(),
                Some(Err(e)) => {
                    return ended(closing, (None, format!("{e}"), ClosedBy::Dropped));
                }
                None => {
                    return ended(closing, (None, String::new(), ClosedBy::Dropped));
                }
            },
            command = commands.recv() => {
                // The sender lives in the client map until this loop ends: gone means the server is going.
                let Some(command) = command else {
                    return (None, "the server stopped".into(), ClosedBy::Server);
                };
                match command {
                    ClientCommand::Send(message) => {
                        if send_message(&mut ws, id, info, shared, message, fragment).await.is_err() {
                            return (None, String::new(), ClosedBy::Dropped);
                        }
                    }
                    ClientCommand::Close { code, reason } => {
                        let frame = CloseFrame { code: CloseCode::from(code), reason: reason.clone().into() };
                        if ws.send(Message::Close(Some(frame))).await.is_err() {
                            return (Some(code), reason, ClosedBy::Server);
                        }
                        // Not reading any more (a stop-reading fault): nothing will bring the reply.
                        if !reading {
                            return (Some(code), reason, ClosedBy::Server);
                        }
                        closing = Some((code, reason));
                        close_deadline = tokio::time::Instant::now() + Duration::from_secs(5);
                    }
                    ClientCommand::Stream { messages, interval_ms } => {
                        stream.extend(messages);
                        stream_every = Duration::from_millis(interval_ms);
                        next_streamed = tokio::time::Instant::now();
                    }
                    ClientCommand::Fault(fault) => {
                        shared.event(ServerEvent::Fault { id: id.to_owned(), fault: fault.describe() });
                        match fault {
                            Fault::Drop => {
                                // A reset, not a FIN: no close frame, no orderly end.
                                let _ = ws.get_ref().inner.tcp().set_zero_linger();
                                return (None, "dropped by a fault".into(), ClosedBy::Dropped);
                            }
                            Fault::StopReading => reading = false,
                            Fault::PingThenDeaf => {
                                let _ = ws.send(Message::Ping(b"sockscope".to_vec().into())).await;
                                // Reading stops, so no ping of the client's is answered (and no pong of its read).
                                reading = false;
                            }
                            Fault::Fragment(n) => fragment = Some(n.max(1)),
                            Fault::Drip { bytes, interval_ms } => {
                                if let Ok(mut t) = throttle.lock() {
                                    *t = Some((bytes.max(1), Duration::from_millis(interval_ms)));
                                }
                            }
                            other => {
                                // Written past the library, which would refuse to send some of them: what it
                                // queued goes first.
                                let bytes = fault_frame(&other);
                                let written = match ws.flush().await {
                                    Ok(()) => ws.get_mut().write_all(&bytes).await.map_err(|_| ()),
                                    Err(_) => Err(()),
                                };
                                if written.is_err() {
                                    return (None, String::new(), ClosedBy::Dropped);
                                }
                            }
                        }
                    }
                }
            },
            _ = tokio::time::sleep_until(close_deadline), if closing.is_some() => {
                let (code, reason) = closing.unwrap_or_default();
                return (Some(code), format!("{reason} (the client did not answer the close within 5 s)"), ClosedBy::Server);
            }
            _ = tokio::time::sleep_until(next_streamed), if stream_due => {
                if let Some(text) = stream.pop_front() {
                    next_streamed = tokio::time::Instant::now() + stream_every;
                    if send_message(&mut ws, id, info, shared, Outgoing::Text(text), fragment).await.is_err() {
                        return (None, String::new(), ClosedBy::Dropped);
                    }
                }
            }
        }
    }
}

/// How a connection ended: as the server's close said when it sent one (the client's reply, its error or its
/// end only finish that), else `otherwise`.
fn ended(
    closing: Option<(u16, String)>,
    otherwise: (Option<u16>, String, ClosedBy),
) -> (Option<u16>, String, ClosedBy) {
    match closing {
        Some((code, reason)) => (Some(code), reason, ClosedBy::Server),
        None => otherwise,
    }
}

/// The bytes of a frame fault: a frame no WebSocket library would send, built as the raw frames of the client
/// side are (`RawFrame`), masked when the fault asks for it.
fn fault_frame(fault: &Fault) -> Vec<u8> {
    let raw = |opcode: u8, rsv1: bool, payload: &[u8]| crate::model::RawFrame {
        opcode,
        fin: true,
        rsv1,
        payload: payload.to_vec(),
        ..Default::default()
    };
    let (raw, mask) = match fault {
        // Text: "ok" and two bytes that are not UTF-8.
        Fault::BadUtf8 => (raw(1, false, &[b'o', b'k', 0xff, 0xfe]), None),
        Fault::Rsv1 => (raw(1, true, b"rsv1 set"), None),
        Fault::MaskedFrame => (raw(1, false, b"masked"), Some([1, 2, 3, 4])),
        // A ping of 200 bytes.
        _ => (raw(9, false, &[b'p'; 200]), None),
    };
    let mut frame = crate::engine::connection::to_frame(&raw);
    frame.header_mut().mask = mask;
    let mut out = Vec::with_capacity(frame.len());
    // Writing into a Vec does not fail.
    let _ = frame.format(&mut out);
    out
}

async fn send_message(
    ws: &mut WebSocketStream<Wire>,
    id: &str,
    info: &ClientInfo,
    shared: &Arc<Shared>,
    message: Outgoing,
    fragment: Option<usize>,
) -> Result<(), ()> {
    let (text, payload): (bool, Arc<[u8]>) = match &message {
        Outgoing::Text(t) => (true, t.as_bytes().into()),
        Outgoing::Binary(b) => (false, b.as_slice().into()),
    };
    let sent = match fragment {
        Some(size) if payload.len() > size => {
            let mut result = Ok(());
            for raw in crate::model::fragment(&payload, text, size) {
                let mut frame = Frame::message(raw.payload, OpCode::from(raw.opcode), raw.fin);
                frame.header_mut().rsv1 = false;
                if let Err(e) = ws.feed(Message::Frame(frame)).await {
                    result = Err(e);
                    break;
                }
            }
            match result {
                Ok(()) => ws.flush().await,
                Err(e) => Err(e),
            }
        }
        _ => {
            let m = match message {
                Outgoing::Text(t) => Message::text(t),
                Outgoing::Binary(b) => Message::binary(b),
            };
            ws.send(m).await
        }
    };
    if sent.is_err() {
        return Err(());
    }
    info.last_active.store(now_ms(), Ordering::Relaxed);
    info.counts.1.fetch_add(1, Ordering::Relaxed);
    shared.event(ServerEvent::Message {
        id: id.to_owned(),
        sent: true,
        text,
        payload,
    });
    Ok(())
}

/// The management API: `POST`, `GET` and `DELETE` on `/@connections/{id}` and `/{stage}/@connections/{id}`.
async fn api(mut stream: Socket, head: Head, path: &str, shared: &Arc<Shared>) {
    let status = api_answer(&mut stream, &head, path, shared).await;
    shared.event(ServerEvent::Api {
        method: head.method.clone(),
        path: path.to_owned(),
        status,
    });
}

async fn api_answer(stream: &mut Socket, head: &Head, path: &str, shared: &Arc<Shared>) -> u16 {
    let json = "application/json";
    let tail = path.rsplit_once("/@connections/");
    let Some((stage, raw_id)) = tail else {
        respond(stream, 404, json, br#"{"message":"Not Found"}"#).await;
        return 404;
    };
    // `/@connections/{id}` or `/{stage}/@connections/{id}`: one segment before at most.
    if stage.trim_start_matches('/').contains('/') || raw_id.is_empty() || raw_id.contains('/') {
        respond(stream, 404, json, br#"{"message":"Not Found"}"#).await;
        return 404;
    }
    let id: String =
        url::form_urlencoded::parse(format!("id={}", raw_id.replace('+', "%2B")).as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default();
    let gone = |id: &str| {
        format!("{{\"message\":\"GoneException: connection {id} is gone or not yet connected\"}}")
    };
    let client = shared.client(&id);
    match head.method.as_str() {
        "POST" => {
            let length: usize = head
                .header("content-length")
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            if length > MAX_API_BODY {
                respond(
                    stream,
                    413,
                    json,
                    br#"{"message":"the body is over 1 MiB"}"#,
                )
                .await;
                return 413;
            }
            let mut body = head.rest.clone();
            body.truncate(length);
            while body.len() < length {
                let mut chunk = vec![0u8; (length - body.len()).min(64 * 1024)];
                match tokio::time::timeout(HEAD_TIMEOUT, stream.read(&mut chunk)).await {
                    Ok(Ok(n)) if n > 0 => body.extend_from_slice(&chunk[..n]),
                    _ => {
                        respond(stream, 400, json, br#"{"message":"the body ended early"}"#).await;
                        return 400;
                    }
                }
            }
            if client.is_none() {
                respond(stream, 410, json, gone(&id).as_bytes()).await;
                return 410;
            }
            let binary = head
                .header("content-type")
                .is_some_and(|t| t.trim().starts_with("application/octet-stream"));
            let message = if binary {
                Outgoing::Binary(body)
            } else {
                Outgoing::Text(String::from_utf8_lossy(&body).into_owned())
            };
            if shared.command(&id, ClientCommand::Send(message)) {
                respond(stream, 200, json, b"").await;
                200
            } else {
                respond(stream, 410, json, gone(&id).as_bytes()).await;
                410
            }
        }
        "GET" => match client {
            Some(c) => {
                let iso = |t: SystemTime| {
                    chrono::DateTime::<chrono::Utc>::from(t)
                        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
                        .to_string()
                };
                let ip = c
                    .peer
                    .parse::<SocketAddr>()
                    .map(|a| a.ip().to_string())
                    .unwrap_or(c.peer.clone());
                let body = serde_json::json!({
                    "connectedAt": iso(c.connected_at),
                    "lastActiveAt": iso(c.last_active()),
                    "identity": {
                        "sourceIp": ip,
                        "userAgent": c.request.header("user-agent").unwrap_or(""),
                    },
                });
                respond(stream, 200, json, body.to_string().as_bytes()).await;
                200
            }
            None => {
                respond(stream, 410, json, gone(&id).as_bytes()).await;
                410
            }
        },
        "DELETE" => {
            if client.is_some()
                && shared.command(
                    &id,
                    ClientCommand::Close {
                        code: 1000,
                        reason: String::new(),
                    },
                )
            {
                respond(stream, 204, json, b"").await;
                204
            } else {
                respond(stream, 410, json, gone(&id).as_bytes()).await;
                410
            }
        }
        _ => {
            respond(
                stream,
                405,
                json,
                br#"{"message":"use POST, GET or DELETE"}"#,
            )
            .await;
            405
        }
    }
}

/// A client's socket: TCP, or TLS over TCP.
enum Socket {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::server::TlsStream<TcpStream>>),
}

impl Socket {
    fn tcp(&self) -> &TcpStream {
        match self {
            Socket::Plain(s) => s,
            Socket::Tls(s) => s.get_ref().0,
        }
    }
}

impl AsyncRead for Socket {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Socket::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Socket::Tls(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Socket {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Socket::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Socket::Tls(s) => Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Socket::Plain(s) => Pin::new(s).poll_flush(cx),
            Socket::Tls(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Socket::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Socket::Tls(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}

/// The socket under a client's WebSocket: bytes read past the upgrade head first, and writes dripped when a
/// fault asks for it.
struct Wire {
    inner: Socket,
    prefix: Vec<u8>,
    drip: Arc<Mutex<Option<(usize, Duration)>>>,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl AsyncRead for Wire {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if !self.prefix.is_empty() {
            let n = self.prefix.len().min(buf.remaining());
            buf.put_slice(&self.prefix[..n]);
            self.prefix.drain(..n);
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for Wire {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let drip = self.drip.lock().ok().and_then(|d| *d);
        let Some((bytes, every)) = drip else {
            return Pin::new(&mut self.inner).poll_write(cx, buf);
        };
        if let Some(sleep) = self.sleep.as_mut() {
            if sleep.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            self.sleep = None;
        }
        let n = bytes.min(buf.len());
        match Pin::new(&mut self.inner).poll_write(cx, &buf[..n]) {
            Poll::Ready(Ok(written)) => {
                self.sleep = Some(Box::pin(tokio::time::sleep(every)));
                Poll::Ready(Ok(written))
            }
            other => other,
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

impl ServerEvent {
    /// The event as one NDJSON object (`serve --rules --json`). Directions are the server's.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::json;
        match self {
            ServerEvent::Connected {
                id,
                peer,
                request,
                subprotocol,
            } => {
                let mut headers = serde_json::Map::new();
                for (k, v) in &request.headers {
                    headers
                        .entry(k.to_ascii_lowercase())
                        .or_insert_with(|| serde_json::Value::String(v.clone()));
                }
                let query: serde_json::Map<String, serde_json::Value> = request
                    .query
                    .iter()
                    .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
                    .collect();
                json!({"event": "client_connected", "connection_id": id, "peer": peer,
                    "request": {"path": request.path, "query": query, "headers": headers,
                        "subprotocols": request.subprotocols},
                    "subprotocol": subprotocol})
            }
            ServerEvent::Refused { peer, status, why } => {
                json!({"event": "refused", "peer": peer, "status": status, "reason": why})
            }
            ServerEvent::Message {
                id,
                sent,
                text,
                payload,
            } => {
                let mut event = json!({"event": "message", "connection_id": id,
                    "direction": if *sent { "sent" } else { "received" },
                    "kind": if *text { "text" } else { "binary" }, "size": payload.len()});
                match std::str::from_utf8(payload) {
                    Ok(t) if *text => event["text"] = json!(t),
                    _ => {
                        event["base64"] = json!(base64::Engine::encode(
                            &base64::engine::general_purpose::STANDARD,
                            payload
                        ))
                    }
                }
                event
            }
            ServerEvent::Closed {
                id,
                code,
                reason,
                by,
            } => json!({"event": "client_closed", "connection_id": id, "code": code,
                "reason": reason, "by": by.as_str()}),
            ServerEvent::Rule { id, rule } => {
                json!({"event": "rule", "connection_id": id, "rule": rule})
            }
            ServerEvent::RuleFailed { id, rule, why } => {
                json!({"event": "rule", "connection_id": id, "rule": rule, "error": why})
            }
            ServerEvent::Fault { id, fault } => {
                json!({"event": "fault", "connection_id": id, "fault": fault})
            }
            ServerEvent::Api {
                method,
                path,
                status,
            } => json!({"event": "api", "method": method, "path": path, "status": status}),
            ServerEvent::Warning { id, message } => {
                json!({"event": "warning", "connection_id": id, "message": message})
            }
        }
    }

    /// The connection the event is about (empty for one that has none: a refusal, an API call).
    pub fn connection_id(&self) -> &str {
        match self {
            ServerEvent::Connected { id, .. }
            | ServerEvent::Message { id, .. }
            | ServerEvent::Closed { id, .. }
            | ServerEvent::Rule { id, .. }
            | ServerEvent::RuleFailed { id, .. }
            | ServerEvent::Fault { id, .. }
            | ServerEvent::Warning { id, .. } => id,
            ServerEvent::Refused { .. } | ServerEvent::Api { .. } => "",
        }
    }

    /// The event in one line for people.
    pub fn to_line(&self) -> String {
        match self {
            ServerEvent::Connected {
                id, peer, request, ..
            } => format!("{id}: connected from {peer} to {}", request.path),
            ServerEvent::Refused { peer, status, why } => {
                format!("{peer}: refused with {status}: {why}")
            }
            ServerEvent::Message {
                id,
                sent,
                text,
                payload,
            } => {
                let arrow = if *sent { "↑" } else { "↓" };
                format!(
                    "{id}: {arrow} {}",
                    crate::model::preview(payload, *text, 200)
                )
            }
            ServerEvent::Closed {
                id,
                code,
                reason,
                by,
            } => format!(
                "{id}: closed by {} ({}{})",
                by.as_str(),
                code.map(|c| c.to_string())
                    .unwrap_or_else(|| "no code".into()),
                if reason.is_empty() {
                    String::new()
                } else {
                    format!(" \"{reason}\"")
                }
            ),
            ServerEvent::Rule { id, rule } => format!("{id}: rule '{rule}'"),
            ServerEvent::RuleFailed { id, rule, why } => {
                format!("{id}: rule '{rule}' stopped: {why}")
            }
            ServerEvent::Fault { id, fault } => format!("{id}: fault: {fault}"),
            ServerEvent::Api {
                method,
                path,
                status,
            } => format!("API {method} {path}: {status}"),
            ServerEvent::Warning { id, message } => format!("{id}: warning: {message}"),
        }
    }
}
