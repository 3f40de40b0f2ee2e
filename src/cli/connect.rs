//! `sockscope connect`: one connection driven by flags, reported as plain lines or NDJSON.

use crate::cli::args::{ConnectPlan, Outgoing};
use crate::engine::events::Item;
use crate::engine::task::sleep_until;
use crate::engine::{self, Command, Event, EventKind, Overflow, events};
use crate::model::{
    CloseInfo, ConnState, Direction, HandshakeInfo, Initiator, LogEntry, MessageKind, ndjson,
};
use crate::model::{close_code_name, hex_string};
use std::io::{IsTerminal, Write};
use tokio::io::AsyncBufReadExt;

/// Exit status: the connection opened and ended with a close handshake.
pub const EXIT_OK: i32 = 0;
/// Exit status: the connection opened but broke (no clean close, read/write error, close not answered).
pub const EXIT_BROKEN: i32 = 1;
/// Exit status: bad arguments (including a URL that cannot be used).
pub const EXIT_USAGE: i32 = 2;
/// Exit status: the connection could not be opened (DNS, TCP, TLS, handshake, timeout).
pub const EXIT_CONNECT_FAILED: i32 = 3;

/// How long printed output may wait in the buffer for more to arrive.
const FLUSH_DELAY: std::time::Duration = std::time::Duration::from_millis(2);

/// Memory the command line lets queued events hold before the connection waits for stdout.
const CLI_EVENT_BUDGET_BYTES: usize = 64 << 20;

/// The same for `--echo` and `--stdin`, which also queue what they send (at most
/// [`engine::COMMAND_BUDGET_BYTES`]).
const CLI_SENDING_EVENT_BUDGET_BYTES: usize = 16 << 20;

struct Printer {
    json: bool,
    out: std::io::BufWriter<std::io::StdoutLock<'static>>,
    broken_pipe: bool,
}

impl Printer {
    fn line(&mut self, text: &str) {
        self.line_bytes(text.as_bytes());
    }

    /// A line of raw bytes (a text message's payload, which the library has already checked is UTF-8).
    fn line_bytes(&mut self, bytes: &[u8]) {
        if self.broken_pipe {
            return;
        }
        let result = self
            .out
            .write_all(bytes)
            .and_then(|()| self.out.write_all(b"\n"));
        if result.is_err() {
            self.broken_pipe = true;
        }
    }

    fn json(&mut self, value: &serde_json::Value) {
        if self.broken_pipe {
            return;
        }
        let result = serde_json::to_writer(&mut self.out, value)
            .map_err(std::io::Error::from)
            .and_then(|()| self.out.write_all(b"\n"));
        if result.is_err() {
            self.broken_pipe = true;
        }
    }

    fn flush(&mut self) {
        if !self.broken_pipe && self.out.flush().is_err() {
            self.broken_pipe = true;
        }
    }
}

/// Runs `connect` to its end and returns the exit status.
pub async fn run(plan: ConnectPlan) -> i32 {
    if let Some(tool) = plan.print {
        return print_command(tool, &plan);
    }
    // Echo and --stdin send what they read, so their queue is kept smaller: with the command budget it bounds
    // what a peer that floods and never reads can make us hold.
    let budget = if plan.echo || plan.stdin {
        CLI_SENDING_EVENT_BUDGET_BYTES
    } else {
        CLI_EVENT_BUDGET_BYTES
    };
    let (sink, mut events) = events::channel(budget, Overflow::Wait, None);
    let (handle, task) = engine::spawn_connection(plan.request.clone(), sink);
    let read_stdin = plan.stdin
        || (std::io::stdin().is_terminal()
            && plan.sends.is_empty()
            && !plan.echo
            && plan.count.is_none());
    let mut stdin_lines = read_stdin.then(|| tokio::io::BufReader::new(tokio::io::stdin()).lines());
    let mut run = ConnectRun::new(plan, handle);
    // Output is flushed once the queue has stayed empty for FLUSH_DELAY, not after every message: under a flood
    // that saves a write per message, and a person watching sees no difference.
    let flush_timer = tokio::time::sleep(FLUSH_DELAY);
    tokio::pin!(flush_timer);
    let mut flush_armed = false;
    // Items taken straight off the queue since the last wait; every so often the other branches get a look.
    let mut drained = 0u32;

    loop {
        let queued = (drained < 1024).then(|| events.try_recv_item()).flatten();
        let item = match queued {
            Some(item) => {
                drained += 1;
                Some(item)
            }
            None => {
                drained = 0;
                tokio::select! {
                    item = events.recv_item() => item,
                    () = &mut flush_timer, if flush_armed => {
                        flush_armed = false;
                        run.printer.flush();
                        continue;
                    }
                    _ = sleep_until(run.wait_deadline) => {
                        run.wait_deadline = None;
                        run.close_once();
                        continue;
                    }
                    line = next_line(&mut stdin_lines), if run.opened && stdin_lines.is_some() => {
                        match line {
                            Some(text) => {
                                if let Some(cmd) = run.stdin_command(text) {
                                    run.handle.send_within_budget(cmd).await;
                                }
                            }
                            None => {
                                stdin_lines = None;
                                // With --wait, its deadline closes (it starts once everything was sent).
                                if run.plan.wait.is_none() {
                                    run.close_when_sent();
                                }
                            }
                        }
                        continue;
                    }
                }
            }
        };
        let Some(item) = item else { break };
        let event = match item {
            // The common case under a flood, printed straight from the read buffer.
            Item::Data(_, first) if !run.printer.json && !run.plan.echo => {
                run.print_burst(&mut events, first);
                None
            }
            Item::Data(conn_id, message) => Some(Event {
                conn_id,
                kind: EventKind::Message(message.into_entry(conn_id)),
            }),
            Item::Event(event) => Some(event),
        };
        if let Some(event) = event
            && run.on_event(event).await == Flow::Skip
        {
            continue;
        }
        if events.is_empty() && !flush_armed {
            flush_armed = true;
            flush_timer
                .as_mut()
                .reset(tokio::time::Instant::now() + FLUSH_DELAY);
        }
        if run.closed.is_some() && !run.plan.request.reconnect.enabled {
            break;
        }
    }
    run.printer.flush();
    let _ = task.await;
    run.exit_status()
}

/// `--print`: the command that makes the same request in another tool.
fn print_command(tool: crate::model::copy_as::Tool, plan: &ConnectPlan) -> i32 {
    match crate::engine::handshake::extra_headers(&plan.request) {
        Ok(headers) => {
            println!(
                "{}",
                crate::model::copy_as::command(tool, &plan.request, &headers)
            );
            EXIT_OK
        }
        Err(e) => {
            eprintln!("error: {e}");
            EXIT_USAGE
        }
    }
}

/// Whether the rest of the loop (flush timer, end check) runs after an event.
#[derive(PartialEq, Eq)]
enum Flow {
    Go,
    /// A message past `--count`: nothing was printed.
    Skip,
}

/// One `connect` run: what it was asked, where it prints, and what has happened so far.
struct ConnectRun {
    plan: ConnectPlan,
    handle: engine::ConnectionHandle,
    printer: Printer,
    close: Command,
    opened: bool,
    ever_opened: bool,
    gave_up: bool,
    close_requested: bool,
    received_data: u64,
    wait_deadline: Option<tokio::time::Instant>,
    closed: Option<CloseInfo>,
    /// The connection has a protocol whose handshake runs: `--wait` counts from its completion.
    protocol_automatic: bool,
    /// The protocol's handshake completed on some attempt.
    protocol_ready: bool,
    /// A protocol failure was reported; `Some(true)` when its own handshake never completed.
    protocol_failed: Option<bool>,
    /// Close once the protocol's handshake completed (what was sent waits for it; a close would not).
    close_on_ready: bool,
}

impl ConnectRun {
    fn new(plan: ConnectPlan, handle: engine::ConnectionHandle) -> Self {
        let close = Command::Close {
            code: plan.close_code,
            reason: plan.close_reason.clone(),
        };
        Self {
            printer: Printer {
                json: plan.json,
                out: std::io::BufWriter::with_capacity(64 * 1024, std::io::stdout().lock()),
                broken_pipe: false,
            },
            plan,
            handle,
            close,
            opened: false,
            ever_opened: false,
            gave_up: false,
            close_requested: false,
            received_data: 0,
            wait_deadline: None,
            closed: None,
            protocol_automatic: false,
            protocol_ready: false,
            protocol_failed: None,
            close_on_ready: false,
        }
    }

    /// Closes after what was sent went out: at once, or with a protocol once its handshake completed.
    fn close_when_sent(&mut self) {
        if self.protocol_automatic && !self.protocol_ready {
            self.close_on_ready = true;
        } else {
            self.close_once();
        }
    }

    /// A line of `--stdin`: a text message, or with a protocol one `--emit` JSON.
    fn stdin_command(&mut self, line: String) -> Option<Command> {
        use crate::model::protocol::Protocol;
        let protocol = self.plan.request.protocol.protocol;
        if protocol == Protocol::Raw {
            return Some(Command::Text(line));
        }
        if line.trim().is_empty() {
            return None;
        }
        let checked = serde_json::from_str::<serde_json::Value>(&line)
            .map_err(|e| format!("not valid JSON: {e}"))
            .and_then(|v| crate::model::protocol::lens::check_emit(protocol, &v).map(|()| v));
        match checked {
            Ok(value) => Some(Command::Emit(value)),
            Err(why) => {
                self.printer.flush();
                eprintln!("error: stdin line not sent ({why}): {line}");
                None
            }
        }
    }

    /// Asks for our close once (`--count` reached, `--wait` over, stdin ended).
    fn close_once(&mut self) {
        if !self.close_requested {
            self.close_requested = true;
            self.handle.send(self.close.clone());
        }
    }

    /// Prints a burst of received data messages in a tight loop; past `--count` the rest is not printed.
    fn print_burst(&mut self, events: &mut events::EventStream, first: events::Incoming) {
        let mut next = Some(first);
        while let Some(message) = next {
            let counted = message.protocol.as_deref().is_none_or(counts);
            if counted && !count_done(self.received_data, self.plan.count) {
                match message.protocol.as_deref() {
                    Some(decoded) => {
                        for part in decoded
                            .parts()
                            .filter(|p| p.class == crate::model::protocol::Class::Application)
                        {
                            if count_done(self.received_data, self.plan.count) {
                                break;
                            }
                            print_decoded(&mut self.printer, part);
                            if count_reached(&mut self.received_data, self.plan.count) {
                                self.close_once();
                            }
                        }
                    }
                    None => {
                        print_received(
                            &mut self.printer,
                            message.text,
                            &message.payload,
                            self.plan.decode.as_ref(),
                        );
                        if count_reached(&mut self.received_data, self.plan.count) {
                            self.close_once();
                        }
                    }
                }
            } else if !counted && message.protocol.as_deref().is_some_and(is_invalid) {
                print_received(&mut self.printer, message.text, &message.payload, None);
            }
            next = events.next_in_burst();
        }
    }

    async fn on_event(&mut self, event: Event) -> Flow {
        let json = self.printer.json;
        match event.kind {
            EventKind::State(ConnState::Open) => self.on_open(),
            EventKind::State(ConnState::Closed) => self.opened = false,
            EventKind::State(_) => {}
            EventKind::Handshake(h) => {
                if json && h.status == 0 {
                    // A proxy failure before any HTTP response: the error event says what happened.
                } else if json {
                    self.printer.json(&ndjson::handshake(&h));
                } else {
                    report_handshake(&h);
                }
            }
            EventKind::Message(m) => return self.on_message(m).await,
            EventKind::Error(e) => {
                if json {
                    self.printer.json(&ndjson::error(&e));
                } else {
                    self.printer.flush();
                    eprintln!("error: {e}");
                }
            }
            EventKind::Closed(c) => {
                if json {
                    self.printer.json(&ndjson::closed(&c));
                } else if self.ever_opened {
                    self.printer.flush();
                    report_close(&c);
                }
                self.closed = Some(c);
            }
            EventKind::Frames(frames) => {
                if json {
                    for f in &frames {
                        self.printer.json(&ndjson::frame(f));
                    }
                }
            }
            EventKind::Reconnecting { attempt, delay } => {
                if json {
                    self.printer.json(&ndjson::reconnecting(attempt, delay));
                } else {
                    self.printer.flush();
                    eprintln!(
                        "reconnecting in {:.1} s (attempt {attempt})",
                        delay.as_secs_f64()
                    );
                }
            }
            EventKind::Protocol(p) => self.on_protocol(p),
            EventKind::GaveUp { attempts } => {
                self.gave_up = true;
                if json {
                    self.printer.json(&ndjson::gave_up(attempts));
                } else {
                    self.printer.flush();
                    eprintln!("gave up after {attempts} reconnection attempts");
                }
            }
        }
        Flow::Go
    }

    /// Open: the `--send` messages are the on-connect messages, sent again after every reconnect.
    fn on_open(&mut self) {
        self.opened = true;
        let first = !self.ever_opened;
        self.ever_opened = true;
        for s in &self.plan.sends {
            self.handle.send(match s {
                Outgoing::Emit(v) => Command::Emit(v.clone()),
                Outgoing::Text(t) => Command::Text(t.clone()),
                Outgoing::Binary(b) => Command::Binary(b.clone()),
                Outgoing::Fragmented(t, size) => Command::Fragmented {
                    payload: t.clone().into_bytes(),
                    text: true,
                    fragment_size: *size,
                },
                Outgoing::Uncompressed(t) => Command::Uncompressed {
                    payload: t.clone().into_bytes(),
                    text: true,
                },
            });
        }
        if first && !self.protocol_automatic {
            self.sent_all();
        }
    }

    /// Everything was sent (after the protocol's handshake, with one): `--wait` starts.
    fn sent_all(&mut self) {
        if let Some(w) = self.plan.wait {
            self.wait_deadline = Some(tokio::time::Instant::now() + w);
        }
        if self.plan.count == Some(0) {
            self.close_once();
        }
    }

    fn on_protocol(&mut self, event: events::ProtocolEvent) {
        use events::ProtocolEvent as P;
        let json = self.printer.json;
        match event {
            P::Chosen {
                name,
                version,
                reason,
                automatic,
            } => {
                self.protocol_automatic = automatic && name != "raw";
                if json {
                    self.printer
                        .json(&ndjson::protocol(&name, &version, &reason));
                } else {
                    self.printer.flush();
                    let version = if version.is_empty() {
                        String::new()
                    } else {
                        format!(" {version}")
                    };
                    eprintln!("protocol: {name}{version} ({reason})");
                }
            }
            P::Ready => {
                let first = !self.protocol_ready;
                self.protocol_ready = true;
                if first {
                    self.sent_all();
                }
                if self.close_on_ready {
                    self.close_once();
                }
            }
            P::Failed { message, handshake } => {
                let handshake = handshake && !self.protocol_ready;
                self.protocol_failed = Some(self.protocol_failed.unwrap_or(false) || handshake);
                let err = crate::model::StageError::new(crate::model::Stage::Protocol, message);
                if json {
                    self.printer.json(&ndjson::error(&err));
                } else {
                    self.printer.flush();
                    eprintln!("error: {err}");
                }
            }
            P::Open(_) => {}
        }
    }

    async fn on_message(&mut self, m: LogEntry) -> Flow {
        let data_in = m.direction == Direction::Received
            && m.kind.is_data()
            && m.decoded().is_none_or(counts);
        if data_in && count_done(self.received_data, self.plan.count) {
            // --count reached: what is still on its way is neither printed nor echoed.
            return Flow::Skip;
        }
        // Application messages still to print and count (several may come in one WebSocket message).
        let allowed = match self.plan.count {
            Some(n) if data_in => n.saturating_sub(self.received_data),
            _ => u64::MAX,
        };
        let mut apps = 0u64;
        if self.printer.json {
            for (mut part, app) in ndjson::message_parts(&m) {
                let app = app && data_in;
                if app && apps >= allowed {
                    continue;
                }
                apps += u64::from(app);
                if let Some(codec) = &self.plan.decode {
                    add_decoded(codec, &m, &mut part);
                }
                self.printer.json(&part);
            }
        } else {
            apps = print_plain(&mut self.printer, &m, allowed, self.plan.decode.as_ref());
            if !self.plan.request.auto_pong
                && m.direction == Direction::Received
                && m.kind == MessageKind::Ping
            {
                self.printer.flush();
                eprintln!(
                    "ping received ({} bytes), not answered (--no-auto-pong)",
                    m.payload.len()
                );
            }
        }
        if data_in {
            for _ in 0..apps.max(1) {
                if count_reached(&mut self.received_data, self.plan.count) {
                    self.close_once();
                    break;
                }
            }
            if self.plan.echo && !self.close_requested {
                // Within the handle's budget: while the server does not read our echoes, this waits, the event
                // queue fills, and the reader stops taking data off the socket.
                let echo = if m.kind == MessageKind::Text {
                    Command::Text(match std::str::from_utf8(&m.payload) {
                        Ok(text) => text.to_owned(),
                        Err(_) => String::from_utf8_lossy(&m.payload).into_owned(),
                    })
                } else {
                    Command::Binary(m.payload.into_vec())
                };
                self.handle.send_within_budget(echo).await;
            }
        }
        Flow::Go
    }

    fn exit_status(&self) -> i32 {
        match &self.closed {
            _ if !self.ever_opened => EXIT_CONNECT_FAILED,
            // The protocol's own handshake never completed: the endpoint could not be used.
            _ if self.protocol_failed == Some(true) && !self.protocol_ready => EXIT_CONNECT_FAILED,
            _ if self.protocol_failed.is_some() => EXIT_BROKEN,
            _ if self.gave_up => EXIT_BROKEN,
            Some(c) if c.clean => EXIT_OK,
            _ => EXIT_BROKEN,
        }
    }
}

async fn next_line(
    lines: &mut Option<tokio::io::Lines<tokio::io::BufReader<tokio::io::Stdin>>>,
) -> Option<String> {
    match lines {
        Some(l) => l.next_line().await.ok().flatten(),
        None => std::future::pending().await,
    }
}

/// Prints a received data message (at most `allowed` of its application messages) and says how many of those
/// it printed.
fn print_plain(
    printer: &mut Printer,
    m: &LogEntry,
    allowed: u64,
    codec: Option<&crate::model::codec::Codec>,
) -> u64 {
    if !(m.direction == Direction::Received && m.kind.is_data()) {
        return 0;
    }
    match m.decoded() {
        Some(d) if counts(d) => {
            let mut printed = 0;
            for part in d
                .parts()
                .filter(|p| p.class == crate::model::protocol::Class::Application)
            {
                if printed >= allowed {
                    break;
                }
                print_decoded(printer, part);
                printed += 1;
            }
            printed
        }
        Some(d) if is_invalid(d) => {
            print_received(printer, m.kind == MessageKind::Text, &m.payload, None);
            0
        }
        Some(_) => 0,
        None => {
            print_received(printer, m.kind == MessageKind::Text, &m.payload, codec);
            1
        }
    }
}

/// A protocol message that carries an application message (in any of its parts): what `--count` counts and
/// text output prints.
fn counts(d: &crate::model::protocol::Decoded) -> bool {
    d.has_application()
}

/// A message the protocol could not read: printed as it came.
fn is_invalid(d: &crate::model::protocol::Decoded) -> bool {
    d.class == crate::model::protocol::Class::Invalid
}

/// An application message as one line in protocol terms (`event echo ["hi"]`, `next 1 {…}`).
fn print_decoded(printer: &mut Printer, d: &crate::model::protocol::Decoded) {
    printer.line(&d.summary());
}

/// A received data message as a line: text as is (the library has checked it is UTF-8), binary as hex, or with
/// `--decode` as its decoded JSON in one line (as hex when it does not decode, the reason on stderr).
fn print_received(
    printer: &mut Printer,
    text: bool,
    payload: &[u8],
    codec: Option<&crate::model::codec::Codec>,
) {
    if text {
        printer.line_bytes(payload);
        return;
    }
    match codec.map(|c| c.decode_received(payload)) {
        Some(Ok(value)) => printer.line(&value.to_string()),
        Some(Err(e)) => {
            printer.line(&hex_string(payload));
            printer.flush();
            eprintln!(
                "decode error ({}): {e}",
                codec.map_or("", |c| c.kind().label())
            );
        }
        None => printer.line(&hex_string(payload)),
    }
}

/// `--decode` on one message event: `"decoded"` (or `"decode_error"`) for a binary message, or inside its
/// `"protocol"` object for the protocol's binary payload (MQTT's `payload`, STOMP's `body`).
pub(crate) fn add_decoded(
    codec: &crate::model::codec::Codec,
    m: &LogEntry,
    event: &mut serde_json::Value,
) {
    use serde_json::Value;
    let decode = |bytes: &[u8]| {
        if m.direction == Direction::Received {
            codec.decode_received(bytes)
        } else {
            codec.decode_sent(bytes)
        }
    };
    let put = |target: &mut serde_json::Map<String, Value>, result: Result<Value, _>| match result {
        Ok(value) => {
            target.insert("decoded".into(), value);
        }
        Err(e) => {
            target.insert("decode_error".into(), Value::String(format!("{e}")));
        }
    };
    let Some(object) = event.as_object_mut() else {
        return;
    };
    if let Some(protocol) = object.get_mut("protocol").and_then(Value::as_object_mut) {
        let bytes = ["payload", "body"].iter().find_map(|k| {
            protocol
                .get(*k)
                .and_then(crate::model::protocol::lens::value_bytes)
        });
        if let Some(bytes) = bytes {
            put(protocol, decode(&bytes));
        }
        return;
    }
    if m.kind == MessageKind::Binary {
        put(object, decode(&m.payload));
    }
}

/// True once `--count` data messages have been received (and printed): later ones are not.
fn count_done(received: u64, count: Option<u64>) -> bool {
    count.is_some_and(|n| received >= n)
}

/// Counts a received data message; true once `--count` messages have arrived.
fn count_reached(received: &mut u64, count: Option<u64>) -> bool {
    *received += 1;
    count.is_some_and(|n| *received >= n)
}

fn report_handshake(h: &HandshakeInfo) {
    if h.accepted() {
        let proto = h
            .subprotocol
            .as_deref()
            .map(|p| format!(", subprotocol '{p}'"))
            .unwrap_or_default();
        let deflate = h
            .deflate
            .as_ref()
            .map(|d| format!(", permessage-deflate: {}", d.describe()))
            .unwrap_or_default();
        let proto = format!("{proto}{deflate}");
        let status = match &h.h2 {
            // As the contract writes it: `(HTTP/2 200)`; the stream is in the NDJSON.
            Some(_) => format!("HTTP/2 {}", h.status),
            None => format!("{} {}", h.status, h.reason),
        };
        eprintln!(
            "connected to {} ({status}{proto}) in {:.1} ms",
            h.peer_addr.as_deref().unwrap_or("?"),
            h.timings.total_ms
        );
    }
    for w in &h.warnings {
        eprintln!("warning: {w}");
    }
}

fn report_close(c: &CloseInfo) {
    let who = match c.initiated_by {
        Initiator::Client => "closed by us",
        Initiator::Server => "closed by the server",
        Initiator::None => "connection lost",
    };
    let code = match c.code {
        Some(code) => format!(": {code} {}", close_code_name(code)),
        None if c.clean => ": no status code".to_owned(),
        None => String::new(),
    };
    let reason = if c.reason.is_empty() {
        String::new()
    } else {
        format!(" '{}'", c.reason)
    };
    let clean = if c.clean { "clean" } else { "not clean" };
    eprintln!("{who}{code}{reason} ({clean})");
}
