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
        return match crate::engine::handshake::extra_headers(&plan.request) {
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
        };
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
    let mut printer = Printer {
        json: plan.json,
        out: std::io::BufWriter::with_capacity(64 * 1024, std::io::stdout().lock()),
        broken_pipe: false,
    };
    let read_stdin = plan.stdin
        || (std::io::stdin().is_terminal()
            && plan.sends.is_empty()
            && !plan.echo
            && plan.count.is_none());
    let mut stdin_lines = read_stdin.then(|| tokio::io::BufReader::new(tokio::io::stdin()).lines());

    let close = Command::Close {
        code: plan.close_code,
        reason: plan.close_reason.clone(),
    };
    let mut opened = false;
    let mut ever_opened = false;
    let mut gave_up = false;
    let mut close_requested = false;
    let mut received_data = 0u64;
    let mut wait_deadline: Option<tokio::time::Instant> = None;
    let mut closed: Option<CloseInfo> = None;
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
                        printer.flush();
                        continue;
                    }
                    _ = sleep_until(wait_deadline) => {
                        wait_deadline = None;
                        if !close_requested {
                            close_requested = true;
                            handle.send(close.clone());
                        }
                        continue;
                    }
                    line = next_line(&mut stdin_lines), if opened && stdin_lines.is_some() => {
                        match line {
                            Some(text) => { handle.send_within_budget(Command::Text(text)).await; }
                            None => {
                                stdin_lines = None;
                                if wait_deadline.is_none() && !close_requested {
                                    close_requested = true;
                                    handle.send(close.clone());
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
            Item::Data(_, first) if !printer.json && !plan.echo => {
                // The rest of its burst follows in a tight loop; past --count the rest is not printed.
                let mut next = Some(first);
                while let Some(message) = next {
                    if !count_done(received_data, plan.count) {
                        print_received(&mut printer, message.text, &message.payload);
                        if count_reached(&mut received_data, plan.count) && !close_requested {
                            close_requested = true;
                            handle.send(close.clone());
                        }
                    }
                    next = events.next_in_burst();
                }
                None
            }
            Item::Data(conn_id, message) => Some(Event {
                conn_id,
                kind: EventKind::Message(message.into_entry(conn_id)),
            }),
            Item::Event(event) => Some(event),
        };
        if let Some(event) = event {
            match event.kind {
                EventKind::State(ConnState::Open) => {
                    opened = true;
                    let first = !ever_opened;
                    ever_opened = true;
                    // The --send messages are the on-connect messages: sent again after every reconnect.
                    for s in &plan.sends {
                        handle.send(match s {
                            Outgoing::Text(t) => Command::Text(t.clone()),
                            Outgoing::Binary(b) => Command::Binary(b.clone()),
                            Outgoing::Fragmented(t, size) => Command::Fragmented {
                                payload: t.clone().into_bytes(),
                                text: true,
                                fragment_size: *size,
                            },
                        });
                    }
                    if first && let Some(w) = plan.wait {
                        wait_deadline = Some(tokio::time::Instant::now() + w);
                    }
                    if plan.count == Some(0) && !close_requested {
                        close_requested = true;
                        handle.send(close.clone());
                    }
                }
                EventKind::State(ConnState::Closed) => opened = false,
                EventKind::State(_) => {}
                EventKind::Handshake(h) => {
                    if printer.json && h.status == 0 {
                        // A proxy failure before any HTTP response: the error event says what happened.
                    } else if printer.json {
                        printer.json(&ndjson::handshake(&h));
                    } else {
                        report_handshake(&h);
                    }
                }
                EventKind::Message(m) => {
                    let data_in = m.direction == Direction::Received && m.kind.is_data();
                    if data_in && count_done(received_data, plan.count) {
                        // --count reached: what is still on its way is neither printed nor echoed.
                        continue;
                    }
                    if printer.json {
                        printer.json(&ndjson::message(&m));
                    } else {
                        print_plain(&mut printer, &m);
                    }
                    if data_in {
                        if count_reached(&mut received_data, plan.count) && !close_requested {
                            close_requested = true;
                            handle.send(close.clone());
                        }
                        if plan.echo && !close_requested {
                            // Within the handle's budget: while the server does not read our echoes, this waits,
                            // the event queue fills, and the reader stops taking data off the socket.
                            let echo = if m.kind == MessageKind::Text {
                                Command::Text(match std::str::from_utf8(&m.payload) {
                                    Ok(text) => text.to_owned(),
                                    Err(_) => String::from_utf8_lossy(&m.payload).into_owned(),
                                })
                            } else {
                                Command::Binary(m.payload.into_vec())
                            };
                            handle.send_within_budget(echo).await;
                        }
                    }
                }
                EventKind::Error(e) => {
                    if printer.json {
                        printer.json(&ndjson::error(&e));
                    } else {
                        printer.flush();
                        eprintln!("error: {e}");
                    }
                }
                EventKind::Closed(c) => {
                    if printer.json {
                        printer.json(&ndjson::closed(&c));
                    } else if ever_opened {
                        printer.flush();
                        report_close(&c);
                    }
                    closed = Some(c);
                }
                EventKind::Frames(frames) => {
                    if printer.json {
                        for f in &frames {
                            printer.json(&ndjson::frame(f));
                        }
                    }
                }
                EventKind::Reconnecting { attempt, delay } => {
                    if printer.json {
                        printer.json(&ndjson::reconnecting(attempt, delay));
                    } else {
                        printer.flush();
                        eprintln!(
                            "reconnecting in {:.1} s (attempt {attempt})",
                            delay.as_secs_f64()
                        );
                    }
                }
                EventKind::GaveUp { attempts } => {
                    gave_up = true;
                    if printer.json {
                        printer.json(&ndjson::gave_up(attempts));
                    } else {
                        printer.flush();
                        eprintln!("gave up after {attempts} reconnection attempts");
                    }
                }
            }
        }
        if events.is_empty() && !flush_armed {
            flush_armed = true;
            flush_timer
                .as_mut()
                .reset(tokio::time::Instant::now() + FLUSH_DELAY);
        }
        if closed.is_some() && !plan.request.reconnect.enabled {
            break;
        }
    }
    printer.flush();
    let _ = task.await;
    match closed {
        _ if !ever_opened => EXIT_CONNECT_FAILED,
        _ if gave_up => EXIT_BROKEN,
        Some(c) if c.clean => EXIT_OK,
        _ => EXIT_BROKEN,
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

fn print_plain(printer: &mut Printer, m: &LogEntry) {
    if m.direction == Direction::Received && m.kind.is_data() {
        print_received(printer, m.kind == MessageKind::Text, &m.payload);
    }
}

/// A received data message as a line: text as is (the library has checked it is UTF-8), binary as hex.
fn print_received(printer: &mut Printer, text: bool, payload: &[u8]) {
    if text {
        printer.line_bytes(payload);
    } else {
        printer.line(&hex_string(payload));
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
    if h.status == 101 {
        let proto = h
            .subprotocol
            .as_deref()
            .map(|p| format!(", subprotocol '{p}'"))
            .unwrap_or_default();
        eprintln!(
            "connected to {} ({} {}{proto}) in {:.1} ms",
            h.peer_addr.as_deref().unwrap_or("?"),
            h.status,
            h.reason,
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
