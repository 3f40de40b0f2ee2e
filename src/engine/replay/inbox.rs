//! What a replay received since its last send: the messages (bounded), each checked against the step's
//! expectations as it arrives, with the protocol's reading and the step's own protocol id.

use crate::model::expect::{self, Received};
use crate::model::preview;

/// Data messages kept since the last send for expectations that start watching later (a step that only waits):
/// at most this many, oldest forgotten first.
pub const INBOX_MAX_MESSAGES: usize = 1_024;
/// ... and at most this many payload bytes.
pub const INBOX_MAX_BYTES: usize = 16 << 20;
/// Bytes of the last unmatched message kept for the report.
pub(super) const LAST_KEPT_BYTES: usize = 1024;

/// What the runner has seen since the current step was sent. Each arriving message is checked once against each
/// expectation still waiting (no rescans); only a bounded tail of recent messages is kept.
#[derive(Default)]
pub(super) struct Inbox {
    /// Recent data messages with their protocol's reading (bounded by [`INBOX_MAX_MESSAGES`] and
    /// [`INBOX_MAX_BYTES`]).
    pub(super) recent: std::collections::VecDeque<(Box<[u8]>, Reading)>,
    pub(super) recent_bytes: usize,
    /// Data messages received since the last send, counted.
    pub(super) received: usize,
    /// The last one, cut to [`LAST_KEPT_BYTES`], and whether it is text (valid UTF-8 whole, or a codec's JSON).
    pub(super) last: Option<(Box<[u8]>, bool)>,
    pub(super) closed: Option<Option<u16>>,
    /// The current step's expectations (`None`: did not compile) and whether a message matched each yet.
    pub(super) watching: Vec<(Option<expect::Compiled>, bool)>,
    /// Matcher runs so far (for tests: one per message and waiting expectation).
    pub(super) evaluations: u64,
    /// The step sent a protocol message: the id it went out with (ack id, operation id) is still to be seen.
    pub(super) awaiting_id: bool,
    /// That id, which `Reply` expectations match.
    pub(super) step_id: Option<String>,
}

/// How a received message is read besides its bytes.
#[derive(Clone, Debug, Default)]
pub(super) enum Reading {
    /// Only as bytes (or text).
    #[default]
    Raw,
    /// By its protocol (the NDJSON `protocol` object).
    Protocol(serde_json::Value),
    /// By the session's codec (a binary message as JSON).
    Codec(serde_json::Value),
}

/// A message as the matchers read it: with its protocol's or codec's reading when it has one.
fn received<'a>(payload: &'a [u8], reading: &'a Reading, step_id: Option<&'a str>) -> Received<'a> {
    match reading {
        Reading::Protocol(decoded) => Received::Decoded {
            bytes: payload,
            decoded,
            step_id,
        },
        Reading::Codec(value) => Received::Encoded {
            bytes: payload,
            value,
        },
        Reading::Raw => Received::Data(payload),
    }
}

impl Inbox {
    /// A message was sent: what came before no longer counts.
    pub(super) fn sent(&mut self) {
        self.recent.clear();
        self.recent_bytes = 0;
        self.received = 0;
        self.last = None;
        self.watching.clear();
        self.awaiting_id = false;
        self.step_id = None;
    }

    /// Starts watching for `matchers`, checking the recent messages once.
    pub(super) fn watch(&mut self, matchers: Vec<Option<expect::Compiled>>) {
        self.watching = matchers.into_iter().map(|m| (m, false)).collect();
        let step_id = self.step_id.as_deref();
        for (message, reading) in &self.recent {
            for (matcher, matched) in &mut self.watching {
                if let Some(m) = matcher
                    && !*matched
                {
                    self.evaluations += 1;
                    *matched = m.matches(received(message, reading, step_id));
                }
            }
        }
    }

    /// A data message arrived.
    pub(super) fn file(&mut self, payload: &[u8], reading: Reading) {
        self.received += 1;
        let step_id = self.step_id.as_deref();
        for (matcher, matched) in &mut self.watching {
            if let Some(m) = matcher
                && !*matched
            {
                self.evaluations += 1;
                *matched = m.matches(received(payload, &reading, step_id));
            }
        }
        // A codec's reading is what the report shows of a binary message.
        self.last = Some(match &reading {
            Reading::Codec(value) => {
                let mut text = value.to_string().into_bytes();
                text.truncate(LAST_KEPT_BYTES);
                (text.into(), true)
            }
            _ => {
                let cut = &payload[..payload.len().min(LAST_KEPT_BYTES)];
                (cut.into(), std::str::from_utf8(payload).is_ok())
            }
        });
        if payload.len() <= INBOX_MAX_BYTES {
            self.recent.push_back((payload.into(), reading));
            self.recent_bytes += payload.len();
        }
        while self.recent.len() > INBOX_MAX_MESSAGES || self.recent_bytes > INBOX_MAX_BYTES {
            let Some((old, _)) = self.recent.pop_front() else {
                break;
            };
            self.recent_bytes -= old.len();
        }
    }

    /// True when expectation `i` of the current step was matched by a message.
    pub(super) fn matched(&self, i: usize) -> bool {
        self.watching.get(i).is_some_and(|(_, m)| *m)
    }

    /// True when expectation `i` waits for a close with this code.
    pub(super) fn close_matches(&self, i: usize, code: Option<u16>) -> bool {
        self.watching
            .get(i)
            .and_then(|(m, _)| m.as_ref())
            .is_some_and(|m| m.matches(Received::Close(code)))
    }

    /// Expectation `i` in words.
    pub(super) fn describe(&self, i: usize) -> String {
        self.watching
            .get(i)
            .and_then(|(m, _)| m.as_ref())
            .map(|m| m.describe())
            .unwrap_or_default()
    }
}

pub(super) fn describe_got(inbox: &Inbox, timeout_ms: u64) -> String {
    let mut got = match &inbox.last {
        None => format!("no message within {timeout_ms} ms"),
        Some((last, is_text)) => format!(
            "{} message(s) that did not match; the last: {}",
            inbox.received,
            preview(last, *is_text, 200)
        ),
    };
    if let Some(code) = inbox.closed {
        let code = code
            .map(|c| c.to_string())
            .unwrap_or_else(|| "no code".into());
        got.push_str(&format!("; the connection closed ({code})"));
    }
    got
}
