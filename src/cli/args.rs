//! Command-line flags, parsed once into validated types.

use crate::model::{ConnectRequest, PayloadFormat, StageError, parse_payload};
use clap::{ArgMatches, Args, Parser, Subcommand};
use std::time::Duration;

/// A native WebSocket tester: a GUI, plus `connect` and `serve` for scripts and CI.
#[derive(Debug, Parser)]
#[command(name = "sockscope", version, args_conflicts_with_subcommands = true)]
pub struct Cli {
    /// What to do; without one, the GUI opens.
    #[command(subcommand)]
    pub command: Option<CliCommand>,
    /// Open the GUI and connect to this URL at once.
    pub url: Option<String>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum CliCommand {
    /// Connect to a WebSocket server, send what you are told, print what happens, exit.
    Connect(Box<ConnectArgs>),
    /// Run the echo server alone on 127.0.0.1 (text as text, binary as binary, pings answered).
    Serve(ServeArgs),
    /// Replay a session's collection with its expectations; exit 0 when all hold, 1 when one fails, 2 when
    /// the session cannot be loaded or the connection cannot be made.
    Run(RunArgs),
    /// Turn a browser HAR capture with WebSocket messages into a session file.
    ImportHar(ImportHarArgs),
    /// Export a session's collection as a k6 load-test script.
    ExportK6(ExportK6Args),
    /// Load-test with a session's collection through k6: live progress, then the result; exit 0 when k6's
    /// thresholds held, k6's own status when they did not, 2 when no k6 was found.
    Load(LoadArgs),
}

/// The load shape flags, in k6's own terms (shared by `export-k6` and `load`).
#[derive(Debug, Args, Clone)]
pub struct ShapeArgs {
    /// Virtual users (default 1).
    #[arg(long, value_name = "N")]
    pub vus: Option<u32>,
    /// How long, in k6's syntax: 30s, 1m30s, 500ms.
    #[arg(long, value_name = "DURATION")]
    pub duration: Option<String>,
    /// A ramping stage DURATION:TARGET (repeatable, in order), instead of --vus / --duration.
    #[arg(long = "stage", value_name = "DURATION:TARGET", conflicts_with_all = ["vus", "duration"])]
    pub stages: Vec<String>,
}

impl ShapeArgs {
    /// The flags checked, as k6 options.
    pub fn shape(&self) -> Result<crate::model::k6::LoadShape, String> {
        use crate::model::k6::{LoadShape, check_duration};
        if let Some(d) = &self.duration {
            check_duration(d).map_err(|e| format!("--duration: {e}"))?;
        }
        if self.vus == Some(0) {
            return Err("--vus must be at least 1".into());
        }
        let stages = self
            .stages
            .iter()
            .map(|s| LoadShape::parse_stage(s))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(LoadShape {
            vus: self.vus,
            duration: self.duration.clone(),
            stages,
        })
    }
}

/// Flags of `sockscope load`.
#[derive(Debug, Args)]
pub struct LoadArgs {
    /// The session file (.ron).
    pub session: std::path::PathBuf,
    /// The load shape.
    #[command(flatten)]
    pub shape: ShapeArgs,
    /// Connect here instead of the session's URL.
    #[arg(long)]
    pub url: Option<String>,
    /// Set a variable, overriding the session's (repeatable); secrets go this way, never into the script.
    #[arg(long = "var", value_name = "NAME=VALUE")]
    pub vars: Vec<String>,
    /// The k6 binary (default: $K6, else k6 on the PATH).
    #[arg(long, value_name = "PATH")]
    pub k6: Option<std::path::PathBuf>,
    /// Print the result as one JSON object on stdout (progress still goes to stderr).
    #[arg(long)]
    pub json: bool,
}

/// Flags of `sockscope run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The session file (.ron).
    pub session: std::path::PathBuf,
    /// Connect here instead of the session's URL.
    #[arg(long)]
    pub url: Option<String>,
    /// Write a JUnit XML report (one test case per step).
    #[arg(long, value_name = "FILE")]
    pub junit: Option<std::path::PathBuf>,
    /// Print NDJSON events (as `connect --json`, plus step and summary events).
    #[arg(long)]
    pub json: bool,
    /// Set a variable, overriding the session's (repeatable).
    #[arg(long = "var", value_name = "NAME=VALUE")]
    pub vars: Vec<String>,
}

/// Flags of `sockscope import-har`.
#[derive(Debug, Args)]
pub struct ImportHarArgs {
    /// The HAR file exported from the browser's Network panel.
    pub har: std::path::PathBuf,
    /// Where to write the session.
    #[arg(short = 'o', long = "output", value_name = "SESSION.ron")]
    pub output: std::path::PathBuf,
}

/// Flags of `sockscope export-k6`.
#[derive(Debug, Args)]
pub struct ExportK6Args {
    /// The session file (.ron).
    pub session: std::path::PathBuf,
    /// Where to write the script.
    #[arg(short = 'o', long = "output", value_name = "SCRIPT.js")]
    pub output: std::path::PathBuf,
    /// The load shape written as the script's k6 options (default: 1 VU, 1 iteration).
    #[command(flatten)]
    pub shape: ShapeArgs,
}

/// Flags of `sockscope serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The port to listen on (0 picks a free one; the URL is printed on stdout).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Instead of echoing, send each client this many text messages as fast as it reads them, then close (1000).
    #[arg(long, value_name = "COUNT")]
    pub flood: Option<u64>,
    /// Bytes per flood message (each starts with its number; the rest is `x`).
    #[arg(long, value_name = "BYTES", default_value_t = 64, requires = "flood")]
    pub size: usize,
    /// Run the mock server with the rules of this file (RON; see assets/mock/chat.ron) instead of echoing.
    #[arg(long, value_name = "FILE.ron", conflicts_with = "flood")]
    pub rules: Option<std::path::PathBuf>,
    /// The address to listen on (default 127.0.0.1; another one is reachable from other machines).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1")]
    pub bind: std::net::IpAddr,
    /// With --rules: NDJSON on stdout, `{"event":"listening","url":…}` first, then the server's events.
    #[arg(long, requires = "rules")]
    pub json: bool,
    /// With --rules: wss (and HTTPS for the management API) with a certificate made on the spot for 127.0.0.1
    /// and localhost; its SHA-256 is printed.
    #[arg(long, requires = "rules", conflicts_with_all = ["tls_cert", "tls_key"])]
    pub tls_self_signed: bool,
    /// With --rules: wss with this certificate chain (PEM); needs --tls-key.
    #[arg(long, value_name = "FILE", requires_all = ["rules", "tls_key"])]
    pub tls_cert: Option<std::path::PathBuf>,
    /// The private key (PEM) of --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<std::path::PathBuf>,
}

/// Flags of `sockscope connect`.
#[derive(Debug, Args)]
pub struct ConnectArgs {
    /// ws:// or wss:// URL.
    pub url: String,
    /// Send this text message after the handshake (repeatable; sent in the order given).
    #[arg(long = "send", value_name = "TEXT")]
    pub send: Vec<String>,
    /// Send this binary message, given as hex (repeatable; sent in the order given among the --send flags).
    #[arg(long = "send-binary", value_name = "HEX")]
    pub send_binary: Vec<String>,
    /// After the sends, keep reading this many seconds, then close (default: read until the server closes).
    #[arg(long, value_name = "SECONDS")]
    pub wait: Option<f64>,
    /// Close after this many received data messages.
    #[arg(long, value_name = "N")]
    pub count: Option<u64>,
    /// The close frame we send: CODE or CODE:REASON (default 1000).
    #[arg(long, value_name = "CODE[:REASON]", default_value = "1000")]
    pub close: String,
    /// Send every received text or binary message straight back until the server closes.
    #[arg(long)]
    pub echo: bool,
    /// Extra request header 'Name: value' (repeatable).
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE")]
    pub header: Vec<String>,
    /// Offer this subprotocol (repeatable, in order of preference).
    #[arg(short = 's', long = "subprotocol", value_name = "NAME")]
    pub subprotocol: Vec<String>,
    /// The Origin header.
    #[arg(long)]
    pub origin: Option<String>,
    /// Print NDJSON events on stdout instead of plain lines.
    #[arg(long)]
    pub json: bool,
    /// Send each line of standard input as a text message; close at end of input (the default in a terminal
    /// when nothing else is to be sent).
    #[arg(long)]
    pub stdin: bool,
    /// Trust the CA certificates in this PEM file (besides the web PKI and system roots).
    #[arg(long, value_name = "FILE")]
    pub ca: Option<std::path::PathBuf>,
    /// Skip TLS certificate verification (the server's identity is not checked).
    #[arg(short = 'k', long)]
    pub insecure: bool,
    /// Client certificate chain (PEM) for servers that ask for one (mTLS); needs --key.
    #[arg(long, value_name = "FILE", requires = "key")]
    pub cert: Option<std::path::PathBuf>,
    /// Private key (PEM) for --cert.
    #[arg(long, value_name = "FILE", requires = "cert")]
    pub key: Option<std::path::PathBuf>,
    /// Server name for TLS (SNI and certificate check) instead of the URL's host.
    #[arg(long, value_name = "NAME")]
    pub sni: Option<String>,
    /// Proxy: http://[user:pass@]host:port (HTTP CONNECT) or socks5://[user:pass@]host:port. Without it,
    /// HTTPS_PROXY / HTTP_PROXY / ALL_PROXY apply unless NO_PROXY excludes the host.
    #[arg(long, value_name = "URL")]
    pub proxy: Option<String>,
    /// Ignore the proxy environment variables.
    #[arg(long, conflicts_with = "proxy")]
    pub no_proxy: bool,
    /// Largest message accepted from the server, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 64 << 20)]
    pub max_message_size: usize,
    /// Largest frame accepted from the server, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 16 << 20)]
    pub max_frame_size: usize,
    /// Send this text split into frames of --fragment-size bytes (repeatable; in order among the sends).
    #[arg(long = "send-fragmented", value_name = "TEXT")]
    pub send_fragmented: Vec<String>,
    /// Frame size for --send-fragmented, in bytes.
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub fragment_size: usize,
    /// Send a ping this often (seconds); pongs that answer carry rtt_ms.
    #[arg(long, value_name = "SECONDS")]
    pub ping_interval: Option<f64>,
    /// A ping unanswered this long (seconds) marks the connection dead and drops it.
    #[arg(long, value_name = "SECONDS")]
    pub pong_timeout: Option<f64>,
    /// Reconnect with exponential backoff and jitter when the connection ends without us closing it;
    /// the --send messages are sent again after each reconnect.
    #[arg(long)]
    pub reconnect: bool,
    /// Give up after this many reconnections (default 10).
    #[arg(long, value_name = "N", requires = "reconnect")]
    pub max_reconnects: Option<u32>,
    /// Also print every frame header seen on the wire (with --json: `{"event":"frame",…}`).
    #[arg(long)]
    pub frames: bool,
    /// Print the equivalent curl, wscat or websocat command and exit.
    #[arg(long, value_name = "TOOL", value_parser = ["curl", "wscat", "websocat"])]
    pub print: Option<String>,
    /// Bound each connection stage (DNS, TCP, TLS, upgrade), in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 10.0)]
    pub connect_timeout: f64,
    /// The protocol on top of WebSocket: raw (plain messages, the default), auto (picked from the server's
    /// subprotocol or the URL), socket.io, graphql-transport-ws or graphql-ws (the legacy
    /// subscriptions-transport-ws protocol). With a protocol, its handshake and keep-alive run by themselves
    /// and every --send and --emit goes out once its handshake completed.
    #[arg(long, value_name = "NAME", default_value = "raw")]
    pub protocol: String,
    /// A protocol option, repeatable. Socket.IO: eio=3|4, path=/socket.io/, auth=JSON, open_timeout_ms=N;
    /// GraphQL: init=JSON (the connection_init payload), ack_timeout_ms=N, keepalive_timeout_ms=N.
    #[arg(long = "protocol-option", value_name = "KEY=VALUE")]
    pub protocol_option: Vec<String>,
    /// Do not offer permessage-deflate (offered by default, as browsers do).
    #[arg(long, conflicts_with = "deflate_offer")]
    pub no_deflate: bool,
    /// The exact permessage-deflate offer, e.g. 'permessage-deflate; server_no_context_takeover;
    /// client_max_window_bits=10' (several offers comma-separated, in order of preference).
    #[arg(long, value_name = "OFFER")]
    pub deflate_offer: Option<String>,
    /// Send this text message uncompressed, also when permessage-deflate was agreed (repeatable; in order among
    /// the sends).
    #[arg(long = "send-uncompressed", value_name = "TEXT")]
    pub send_uncompressed: Vec<String>,
    /// Do not answer the server's pings (to test its ping timeout); each ping is still printed.
    #[arg(long)]
    pub no_auto_pong: bool,
    /// The HTTP under the WebSocket: 1.1 (Upgrade, the default), 2 (an extended CONNECT, RFC 8441: ALPN h2 for
    /// wss, h2c with prior knowledge for ws) or auto (wss: HTTP/2 when the server offers it, else HTTP/1.1).
    #[arg(long = "http", value_name = "VERSION", default_value = "1.1", value_parser = ["1.1", "2", "auto"])]
    pub http: String,
    /// Over HTTP/2: our stream window (SETTINGS_INITIAL_WINDOW_SIZE) in bytes, 1..=2147483647.
    #[arg(long = "h2-window", value_name = "BYTES")]
    pub h2_window: Option<u32>,
    /// Send one protocol message, repeatable, in order with --send. Socket.IO:
    /// '{"event":"NAME","args":[…],"namespace":"/admin","ack":true,"auth":{…}}'; GraphQL:
    /// '{"subscribe":"subscription { … }","variables":{…},"operationName":"…","id":"1"}' or '{"complete":"1"}'.
    #[arg(long = "emit", value_name = "JSON")]
    pub emit: Vec<String>,
    /// Decode every binary message (received and sent) with this codec: its events carry "decoded" (or
    /// "decode_error"); plain output prints the decoded JSON. With a protocol, the protocol's binary payload
    /// (an MQTT PUBLISH payload, a STOMP body) is decoded.
    #[arg(long, value_name = "CODEC", value_parser = ["msgpack", "cbor", "protobuf"])]
    pub decode: Option<String>,
    /// Every --send TEXT is JSON, sent encoded with this codec as a binary message.
    #[arg(long, value_name = "CODEC", value_parser = ["msgpack", "cbor", "protobuf"])]
    pub encode: Option<String>,
    /// A .proto file for Protobuf (repeatable); compiled here, no protoc needed.
    #[arg(long = "proto-file", value_name = "FILE.proto")]
    pub proto_file: Vec<std::path::PathBuf>,
    /// Where imports of the .proto files are found (repeatable; default: each file's folder).
    #[arg(long = "proto-path", value_name = "DIR")]
    pub proto_path: Vec<std::path::PathBuf>,
    /// The Protobuf message type of received (and, unless --proto-send-message, sent) messages: pkg.Type.
    #[arg(long = "proto-message", value_name = "pkg.Type")]
    pub proto_message: Option<String>,
    /// The Protobuf message type of sent messages, when it differs from --proto-message.
    #[arg(long = "proto-send-message", value_name = "pkg.Type")]
    pub proto_send_message: Option<String>,
}

/// One message to send after the handshake.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outgoing {
    /// A text message.
    Text(String),
    /// A binary message.
    Binary(Vec<u8>),
    /// A text message split into frames of this many bytes.
    Fragmented(String, usize),
    /// A text message sent uncompressed.
    Uncompressed(String),
    /// A protocol message (`--emit`).
    Emit(serde_json::Value),
}

/// `connect`'s flags, validated.
#[derive(Clone, Debug)]
pub struct ConnectPlan {
    /// What to connect to.
    pub request: ConnectRequest,
    /// What to send after the handshake, in order.
    pub sends: Vec<Outgoing>,
    /// How long to read after the sends.
    pub wait: Option<Duration>,
    /// Close after this many received data messages.
    pub count: Option<u64>,
    /// Our close frame.
    pub close_code: u16,
    /// Our close reason.
    pub close_reason: String,
    /// Echo mode.
    pub echo: bool,
    /// NDJSON output.
    pub json: bool,
    /// Read lines from stdin.
    pub stdin: bool,
    /// Print the equivalent command for this tool instead of connecting.
    pub print: Option<crate::model::copy_as::Tool>,
    /// `--decode`: the codec binary messages are shown with.
    pub decode: Option<crate::model::codec::Codec>,
}

/// A flag that does not make sense, in plain words.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

impl From<StageError> for UsageError {
    fn from(e: StageError) -> Self {
        Self(e.to_string())
    }
}

impl ConnectArgs {
    /// Validates the flags. `matches` are the subcommand's matches, used to keep `--send`/`--send-binary` order.
    pub fn plan(&self, matches: Option<&ArgMatches>) -> Result<ConnectPlan, UsageError> {
        let mut request = self.request()?;
        request.protocol = self.protocol_choice()?;
        let encode = self.codec(self.encode.as_deref(), "--encode")?;
        use crate::model::protocol::Protocol;
        let protocol = request.protocol.protocol;
        // With a protocol the codec applies to the application payload: an MQTT PUBLISH payload, a STOMP body.
        if encode.is_some() && !matches!(protocol, Protocol::Raw | Protocol::Mqtt | Protocol::Stomp)
        {
            let why = if protocol == Protocol::Auto {
                "with --protocol auto the protocol is not known before connecting: name it"
                    .to_owned()
            } else {
                format!("{} carries JSON already", protocol.name())
            };
            return Err(UsageError(format!(
                "--encode applies to whole WebSocket messages (--protocol raw) or to the payload of an MQTT or \
                 STOMP --emit (--protocol mqtt or stomp); {why}"
            )));
        }
        let (whole, payloads) = if protocol == Protocol::Raw {
            (encode.as_ref(), None)
        } else {
            (None, encode.as_ref())
        };
        let sends = self.sends(matches, protocol, whole, payloads)?;
        let decode = self.codec(self.decode.as_deref(), "--decode")?;
        let seconds = |flag: &str, v: Option<f64>| -> Result<Option<u64>, UsageError> {
            v.map(|s| seconds_millis(flag, s, false)).transpose()
        };
        request.keepalive.ping_interval_millis = seconds("--ping-interval", self.ping_interval)?;
        request.keepalive.pong_timeout_millis = seconds("--pong-timeout", self.pong_timeout)?;
        request.keepalive.close_when_dead = true;
        request.reconnect.enabled = self.reconnect;
        request.observe_frames = self.frames;
        if let Some(max) = self.max_reconnects {
            request.reconnect.max_attempts = Some(max);
        }

        let wait = self
            .wait
            .map(|w| seconds_millis("--wait", w, true).map(Duration::from_millis))
            .transpose()?;
        let (close_code, close_reason) = parse_close(&self.close)?;
        Ok(ConnectPlan {
            request,
            sends,
            wait,
            count: self.count,
            close_code,
            close_reason,
            echo: self.echo,
            json: self.json,
            stdin: self.stdin,
            print: self
                .print
                .as_deref()
                .and_then(crate::model::copy_as::Tool::from_name),
            decode,
        })
    }

    /// The codec `name` names (with its .proto files compiled for Protobuf), for `flag`.
    fn codec(
        &self,
        name: Option<&str>,
        flag: &str,
    ) -> Result<Option<crate::model::codec::Codec>, UsageError> {
        use crate::model::codec::{Codec, CodecKind, protobuf};
        let Some(name) = name else {
            return Ok(None);
        };
        let kind = CodecKind::parse(name).map_err(|e| UsageError(format!("{flag}: {e}")))?;
        Ok(Some(match kind {
            CodecKind::None => return Ok(None),
            CodecKind::MessagePack => Codec::MessagePack,
            CodecKind::Cbor => Codec::Cbor,
            CodecKind::Protobuf => {
                if self.proto_file.is_empty() {
                    return Err(UsageError(format!(
                        "{flag} protobuf needs --proto-file FILE.proto (repeatable)"
                    )));
                }
                let set = protobuf::compile(&self.proto_file, &self.proto_path)
                    .map_err(|e| UsageError(format!("{flag} protobuf: {e}")))?;
                let Some(receive) = self.proto_message.as_deref() else {
                    return Err(UsageError(format!(
                        "{flag} protobuf needs --proto-message pkg.Type (the files define: {})",
                        set.message_names().join(", ")
                    )));
                };
                let receive = set
                    .message(receive)
                    .map_err(|e| UsageError(format!("--proto-message: {e}")))?;
                let send = match self.proto_send_message.as_deref() {
                    Some(name) => set
                        .message(name)
                        .map_err(|e| UsageError(format!("--proto-send-message: {e}")))?,
                    None => receive.clone(),
                };
                Codec::Protobuf { receive, send }
            }
        }))
    }

    /// The request the connection flags describe: URL, headers, subprotocols, TLS, proxy, size limits, Origin and
    /// the connect timeout (keepalive and reconnecting are set by [`Self::plan`]).
    fn request(&self) -> Result<ConnectRequest, UsageError> {
        crate::engine::target::parse_target(&self.url)?;
        let mut request = ConnectRequest::new(self.url.clone());
        for h in &self.header {
            let Some((name, value)) = h.split_once(':') else {
                return Err(UsageError(format!(
                    "header '{h}' must look like 'Name: value'"
                )));
            };
            if name.trim().is_empty() {
                return Err(UsageError(format!("header '{h}' has no name")));
            }
            request
                .headers
                .push((name.trim().to_owned(), value.trim().to_owned()));
        }
        request.subprotocols = self.subprotocol.clone();
        request.tls.ca_file = self.ca.clone();
        request.tls.insecure = self.insecure;
        request.tls.client_cert_file = self.cert.clone();
        request.tls.client_key_file = self.key.clone();
        request.tls.sni = self.sni.clone();
        if let Some(proxy) = &self.proxy {
            crate::engine::proxy::parse_proxy(proxy, "--proxy")?;
            request.proxy = Some(proxy.clone());
        }
        request.proxy_from_env = !self.no_proxy;
        if self.max_message_size == 0 || self.max_frame_size == 0 {
            return Err(UsageError(
                "--max-message-size and --max-frame-size must be at least 1".into(),
            ));
        }
        request.max_message_size_bytes = self.max_message_size;
        request.max_frame_size_bytes = self.max_frame_size;
        request.origin = self.origin.clone();
        request.connect_timeout_millis =
            seconds_millis("--connect-timeout", self.connect_timeout, false)?;
        request.deflate.enabled = !self.no_deflate;
        if let Some(offer) = &self.deflate_offer {
            crate::model::deflate::parse_offers(offer)
                .map_err(|e| UsageError(format!("--deflate-offer: {e}")))?;
            request.deflate.offer = offer.clone();
        }
        request.auto_pong = !self.no_auto_pong;
        request.http_version =
            crate::model::h2::HttpVersion::parse(&self.http).map_err(UsageError)?;
        if let Some(window) = self.h2_window {
            if !(1..=0x7fff_ffff).contains(&window) {
                return Err(UsageError(
                    "--h2-window: a window is 1 to 2147483647 bytes (RFC 9113 §6.9.2)".into(),
                ));
            }
            request.h2_window_bytes = window;
        }
        Ok(request)
    }

    /// `--protocol` and its `--protocol-option`s, checked.
    fn protocol_choice(&self) -> Result<crate::model::ProtocolChoice, UsageError> {
        use crate::model::protocol::{Protocol, lens};
        let protocol: Protocol =
            self.protocol
                .parse()
                .map_err(|e: crate::model::protocol::UnknownProtocol| {
                    UsageError(format!("--protocol: {e}"))
                })?;
        let mut options = lens::Options::new();
        for option in &self.protocol_option {
            let Some((key, value)) = option.split_once('=') else {
                return Err(UsageError(format!(
                    "--protocol-option '{option}' must look like KEY=VALUE"
                )));
            };
            options.insert(key.trim().to_owned(), value.to_owned());
        }
        if protocol == Protocol::Raw && !options.is_empty() {
            return Err(UsageError(
                "--protocol-option needs a protocol (--protocol socket.io, graphql-transport-ws, …)".into(),
            ));
        }
        lens::check_options(protocol, &options)
            .map_err(|e| UsageError(format!("--protocol-option: {e}")))?;
        Ok(crate::model::ProtocolChoice {
            protocol,
            automatic: true,
            options,
        })
    }

    /// The messages to send, `--send`, `--send-binary`, `--send-fragmented` and `--emit` in the order they were
    /// given.
    fn sends(
        &self,
        matches: Option<&ArgMatches>,
        protocol: crate::model::protocol::Protocol,
        encode: Option<&crate::model::codec::Codec>,
        encode_payloads: Option<&crate::model::codec::Codec>,
    ) -> Result<Vec<Outgoing>, UsageError> {
        let mut indexed: Vec<(usize, Outgoing)> = Vec::new();
        let indices = |id: &str| -> Vec<usize> {
            matches
                .and_then(|m| m.indices_of(id))
                .map(|i| i.collect())
                .unwrap_or_default()
        };
        let text_idx = indices("send");
        for (n, t) in self.send.iter().enumerate() {
            let outgoing = match encode {
                // Checked and encoded before anything is sent: a value that cannot be encoded stops here.
                Some(codec) => {
                    let value: serde_json::Value = serde_json::from_str(t).map_err(|e| {
                        UsageError(format!(
                            "--send '{t}' is not valid JSON (with --encode): {e}"
                        ))
                    })?;
                    let bytes = codec.encode(&value).map_err(|e| {
                        UsageError(format!(
                            "--send '{t}' cannot be encoded as {}: {e}",
                            codec.kind().label()
                        ))
                    })?;
                    Outgoing::Binary(bytes)
                }
                None => Outgoing::Text(t.clone()),
            };
            indexed.push((text_idx.get(n).copied().unwrap_or(n), outgoing));
        }
        let bin_idx = indices("send_binary");
        for (n, hex) in self.send_binary.iter().enumerate() {
            let bytes = parse_payload(hex, PayloadFormat::Hex)
                .map_err(|e| UsageError(format!("--send-binary '{hex}': {e}")))?;
            indexed.push((
                bin_idx.get(n).copied().unwrap_or(usize::MAX / 2 + n),
                Outgoing::Binary(bytes),
            ));
        }
        let frag_idx = indices("send_fragmented");
        if self.fragment_size == 0 {
            return Err(UsageError("--fragment-size must be at least 1".into()));
        }
        for (n, t) in self.send_fragmented.iter().enumerate() {
            let at = frag_idx.get(n).copied().unwrap_or(usize::MAX / 2 + n);
            indexed.push((at, Outgoing::Fragmented(t.clone(), self.fragment_size)));
        }
        let plain_idx = indices("send_uncompressed");
        for (n, t) in self.send_uncompressed.iter().enumerate() {
            let at = plain_idx.get(n).copied().unwrap_or(usize::MAX / 2 + n);
            indexed.push((at, Outgoing::Uncompressed(t.clone())));
        }
        let emit_idx = indices("emit");
        for (n, text) in self.emit.iter().enumerate() {
            let mut value: serde_json::Value = serde_json::from_str(text)
                .map_err(|e| UsageError(format!("--emit '{text}' is not valid JSON: {e}")))?;
            if let Some(codec) = encode_payloads {
                encode_emit_payload(codec, protocol, &mut value)
                    .map_err(|e| UsageError(format!("--emit '{text}': {e}")))?;
            }
            crate::model::protocol::lens::check_emit(protocol, &value)
                .map_err(|e| UsageError(format!("--emit '{text}': {e}")))?;
            let at = emit_idx.get(n).copied().unwrap_or(usize::MAX / 2 + n);
            indexed.push((at, Outgoing::Emit(value)));
        }
        indexed.sort_by_key(|(i, _)| *i);
        Ok(indexed.into_iter().map(|(_, o)| o).collect())
    }
}

/// `--encode` with MQTT or STOMP: the `payload` (MQTT PUBLISH) or `body` (STOMP SEND) of an `--emit`, a JSON
/// value, encoded with `codec` and put back as `{"base64":…}` bytes. An emit without one is left as it is.
fn encode_emit_payload(
    codec: &crate::model::codec::Codec,
    protocol: crate::model::protocol::Protocol,
    emit: &mut serde_json::Value,
) -> Result<(), String> {
    let key = match protocol {
        crate::model::protocol::Protocol::Mqtt => "payload",
        _ => "body",
    };
    let Some(field) = emit.as_object_mut().and_then(|o| o.get_mut(key)) else {
        return Ok(());
    };
    let bytes = codec
        .encode(field)
        .map_err(|e| format!("its {key} cannot be encoded as {}: {e}", codec.describe()))?;
    *field = crate::model::protocol::lens::bytes_value(&bytes);
    Ok(())
}

/// The longest time a flag may give: a hundred years, far beyond any test, and far from the clock's limits.
pub const MAX_FLAG_SECONDS: f64 = 100.0 * 365.0 * 86_400.0;

/// A number of seconds given to `flag` as whole milliseconds (at least 1, unless zero is allowed and given);
/// a value that is not a number, negative, zero where it may not be, or over [`MAX_FLAG_SECONDS`] is an error.
fn seconds_millis(flag: &str, seconds: f64, zero_allowed: bool) -> Result<u64, UsageError> {
    let least = if zero_allowed { 0.0 } else { f64::MIN_POSITIVE };
    if !(seconds.is_finite() && seconds >= least) {
        let what = if zero_allowed {
            "zero or a positive number of seconds"
        } else {
            "a positive number of seconds"
        };
        return Err(UsageError(format!("{flag} must be {what} (got {seconds})")));
    }
    if seconds > MAX_FLAG_SECONDS {
        return Err(UsageError(format!(
            "{flag} {seconds} is too long: at most {MAX_FLAG_SECONDS} seconds (a hundred years)"
        )));
    }
    let millis = (seconds * 1000.0).round() as u64;
    Ok(if zero_allowed && seconds == 0.0 {
        0
    } else {
        millis.max(1)
    })
}

/// Parses `CODE` or `CODE:REASON`.
pub fn parse_close(spec: &str) -> Result<(u16, String), UsageError> {
    let (code, reason) = spec.split_once(':').unwrap_or((spec, ""));
    let code: u16 = code.trim().parse().map_err(|_| {
        UsageError(format!(
            "--close '{spec}': the code must be a number from 0 to 65535"
        ))
    })?;
    if reason.len() > crate::model::MAX_CLOSE_REASON {
        return Err(UsageError(format!(
            "--close: the reason is {} bytes; a close reason may be at most {}",
            reason.len(),
            crate::model::MAX_CLOSE_REASON
        )));
    }
    Ok((code, reason.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{CommandFactory, FromArgMatches};

    fn plan(args: &[&str]) -> Result<ConnectPlan, UsageError> {
        let matches = Cli::command()
            .try_get_matches_from(args)
            .map_err(|e| UsageError(e.to_string()))?;
        let cli = Cli::from_arg_matches(&matches).map_err(|e| UsageError(e.to_string()))?;
        let Some(CliCommand::Connect(c)) = cli.command else {
            return Err(UsageError("not connect".into()));
        };
        c.plan(matches.subcommand_matches("connect"))
    }

    #[test]
    fn sends_keep_their_order_across_flags() {
        let p = plan(&[
            "sockscope",
            "connect",
            "ws://h/",
            "--send",
            "a",
            "--send-binary",
            "0102",
            "--send",
            "b",
        ])
        .expect("valid");
        assert_eq!(
            p.sends,
            vec![
                Outgoing::Text("a".into()),
                Outgoing::Binary(vec![1, 2]),
                Outgoing::Text("b".into())
            ]
        );
    }

    #[test]
    fn flags_are_validated() {
        let p = plan(&[
            "sockscope",
            "connect",
            "ws://h/",
            "-H",
            "X-A: 1",
            "--close",
            "4000:bye",
            "-s",
            "chat",
        ])
        .expect("valid");
        assert_eq!(p.request.headers, vec![("X-A".to_owned(), "1".to_owned())]);
        assert_eq!((p.close_code, p.close_reason.as_str()), (4000, "bye"));
        assert_eq!(p.request.subprotocols, vec!["chat".to_owned()]);
        for bad in [
            vec!["sockscope", "connect", "ftp://h/"],
            vec!["sockscope", "connect", "ws://h/", "--send-binary", "xyz"],
            vec!["sockscope", "connect", "ws://h/", "--close", "abc"],
            vec!["sockscope", "connect", "ws://h/", "-H", "novalue"],
            vec!["sockscope", "connect", "ws://h/", "--wait", "-1"],
            vec!["sockscope", "connect", "ws://h/", "--wait", "1e20"],
            vec!["sockscope", "connect", "ws://h/", "--wait", "inf"],
            vec![
                "sockscope",
                "connect",
                "ws://h/",
                "--ping-interval",
                "1e300",
            ],
            vec!["sockscope", "connect", "ws://h/", "--pong-timeout", "NaN"],
            vec![
                "sockscope",
                "connect",
                "ws://h/",
                "--connect-timeout",
                "1e20",
            ],
            vec!["sockscope", "connect", "ws://h/", "--connect-timeout", "0"],
        ] {
            assert!(plan(&bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn bare_url_opens_the_gui() {
        let cli = Cli::try_parse_from(["sockscope", "ws://h/"]).expect("valid");
        assert!(cli.command.is_none());
        assert_eq!(cli.url.as_deref(), Some("ws://h/"));
    }
}
