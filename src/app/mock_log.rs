//! A server tab's log: every client's messages and the server's events, in arrival order, each with its
//! connection id. Bounded by rows and by payload bytes (the oldest go first, counted); filtered by client and by
//! text, the filter kept up to date as rows arrive (only the new rows are looked at).

use crate::engine::server::mock::ServerEvent;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::SystemTime;

/// Rows kept at most.
pub const MAX_ROWS: usize = 200_000;
/// Payload bytes kept at most (all rows together).
pub const MAX_BYTES: usize = 128 << 20;
/// A search looks at this much of each payload.
const SEARCH_HEAD: usize = 4096;

/// What a row is.
#[derive(Clone, Debug)]
pub enum RowKind {
    /// A data message.
    Message {
        /// True: server → client.
        sent: bool,
        /// Text or binary.
        text: bool,
        /// Its payload (shared with the event it came in).
        payload: Arc<[u8]>,
    },
    /// Anything else the server said (connected, closed, rule, fault, API, warning), in words.
    Event {
        /// How it reads: plain, a deliberate fault, or a problem.
        tone: Tone,
        /// The words.
        text: String,
    },
}

/// How an event row reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tone {
    /// Connected, closed, a rule, the API.
    Plain,
    /// A deliberate fault.
    Fault,
    /// A refusal, a rule that stopped short, a warning.
    Problem,
}

/// One row.
#[derive(Clone, Debug)]
pub struct Row {
    /// When it arrived.
    pub at: SystemTime,
    /// The connection (empty: the server as a whole).
    pub id: Arc<str>,
    /// What it is.
    pub kind: RowKind,
}

impl Row {
    /// A server-wide line.
    pub fn note(tone: Tone, text: impl Into<String>) -> Self {
        Self {
            at: SystemTime::now(),
            id: Arc::from(""),
            kind: RowKind::Event {
                tone,
                text: text.into(),
            },
        }
    }

    /// The row for a server event that happened `at`.
    pub fn from_event(at: SystemTime, event: ServerEvent) -> Self {
        let id: Arc<str> = Arc::from(event.connection_id());
        let kind = match event {
            ServerEvent::Message {
                sent,
                text,
                payload,
                ..
            } => RowKind::Message {
                sent,
                text,
                payload,
            },
            other => {
                let tone = match &other {
                    ServerEvent::Fault { .. } => Tone::Fault,
                    ServerEvent::Refused { .. }
                    | ServerEvent::RuleFailed { .. }
                    | ServerEvent::Warning { .. } => Tone::Problem,
                    _ => Tone::Plain,
                };
                // The id has a column of its own.
                let line = other.to_line();
                let text = match line.strip_prefix(&*id).and_then(|r| r.strip_prefix(": ")) {
                    Some(rest) if !id.is_empty() => rest.to_owned(),
                    _ => line,
                };
                RowKind::Event { tone, text }
            }
        };
        Self { at, id, kind }
    }

    fn bytes(&self) -> usize {
        match &self.kind {
            RowKind::Message { payload, .. } => payload.len(),
            RowKind::Event { text, .. } => text.len(),
        }
    }

    /// Whether `needle` (lower case) is in the row's text (the first 4 KiB of a payload).
    fn contains(&self, needle: &str) -> bool {
        match &self.kind {
            RowKind::Message { payload, .. } => {
                let head = &payload[..payload.len().min(SEARCH_HEAD)];
                String::from_utf8_lossy(head)
                    .to_lowercase()
                    .contains(needle)
            }
            RowKind::Event { text, .. } => text.to_lowercase().contains(needle),
        }
    }
}

/// The log.
#[derive(Debug)]
pub struct MockLog {
    rows: VecDeque<Row>,
    first_seq: u64,
    bytes: usize,
    /// Rows dropped from the front.
    pub dropped: u64,
    max_rows: usize,
    max_bytes: usize,
    /// Only this client's rows (and the server's own lines); empty: all.
    pub client: String,
    /// Only rows holding this text (any case); empty: all.
    pub search: String,
    shown: Vec<u64>,
    scanned: u64,
    shown_for: (String, String),
}

impl Default for MockLog {
    fn default() -> Self {
        Self::with_limits(MAX_ROWS, MAX_BYTES)
    }
}

impl MockLog {
    /// A log that keeps at most `max_rows` rows and `max_bytes` payload bytes.
    pub fn with_limits(max_rows: usize, max_bytes: usize) -> Self {
        Self {
            rows: VecDeque::new(),
            first_seq: 0,
            bytes: 0,
            dropped: 0,
            max_rows: max_rows.max(1),
            max_bytes,
            client: String::new(),
            search: String::new(),
            shown: Vec::new(),
            scanned: 0,
            shown_for: (String::new(), String::new()),
        }
    }

    /// Adds a row, dropping the oldest ones beyond the limits.
    pub fn push(&mut self, row: Row) {
        self.bytes += row.bytes();
        self.rows.push_back(row);
        while self.rows.len() > self.max_rows
            || (self.bytes > self.max_bytes && self.rows.len() > 1)
        {
            if let Some(old) = self.rows.pop_front() {
                self.bytes -= old.bytes();
                self.first_seq += 1;
                self.dropped += 1;
            }
        }
    }

    /// Rows kept.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// No rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Payload bytes kept.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// The row numbered `seq` (numbers count from the first row ever pushed), if still kept.
    pub fn get(&self, seq: u64) -> Option<&Row> {
        let i = seq.checked_sub(self.first_seq)?;
        self.rows.get(usize::try_from(i).ok()?)
    }

    /// The rows that pass the filters, as numbers, oldest first. Brought up to date here: only rows not yet
    /// looked at are, unless the filters changed.
    pub fn shown(&mut self) -> &[u64] {
        let key = (self.client.clone(), self.search.to_lowercase());
        if key != self.shown_for {
            self.shown.clear();
            self.scanned = self.first_seq;
            self.shown_for = key;
        }
        // Rows dropped from the front leave the list.
        let first = self.first_seq;
        let gone = self.shown.partition_point(|&s| s < first);
        if gone > 0 {
            self.shown.drain(..gone);
        }
        let end = self.first_seq + self.rows.len() as u64;
        let from = self.scanned.max(self.first_seq);
        let (client, needle) = &self.shown_for;
        for seq in from..end {
            let row = &self.rows[(seq - self.first_seq) as usize];
            let by_client = client.is_empty() || row.id.is_empty() || &*row.id == client;
            if by_client && (needle.is_empty() || row.contains(needle)) {
                self.shown.push(seq);
            }
        }
        self.scanned = end;
        &self.shown
    }

    /// Forgets every row.
    pub fn clear(&mut self) {
        self.first_seq += self.rows.len() as u64;
        self.rows.clear();
        self.bytes = 0;
        self.shown.clear();
        self.scanned = self.first_seq;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(id: &str, text: &str) -> Row {
        Row {
            at: SystemTime::now(),
            id: Arc::from(id),
            kind: RowKind::Message {
                sent: false,
                text: true,
                payload: Arc::from(text.as_bytes()),
            },
        }
    }

    #[test]
    fn the_oldest_rows_go_first_past_either_limit_and_are_counted() {
        let mut log = MockLog::with_limits(3, 1000);
        for i in 0..5 {
            log.push(message("a", &format!("m{i}")));
        }
        assert_eq!(log.len(), 3);
        assert_eq!(log.dropped, 2);
        assert!(log.get(1).is_none());
        assert!(log.get(2).is_some());
        let mut log = MockLog::with_limits(100, 10);
        log.push(message("a", "12345"));
        log.push(message("a", "12345"));
        log.push(message("a", "1"));
        assert_eq!(log.len(), 2, "11 bytes are over 10: the first row went");
        assert_eq!(log.bytes(), 6);
        // One row larger than the byte limit is still kept (it is the newest).
        let mut log = MockLog::with_limits(100, 2);
        log.push(message("a", "hello"));
        assert_eq!(log.len(), 1);
    }

    #[test]
    fn the_filter_keeps_one_clients_rows_and_the_servers_own_and_follows_new_rows() {
        let mut log = MockLog::default();
        log.push(Row::note(Tone::Plain, "listening"));
        log.push(message("a", "hello from a"));
        log.push(message("b", "hello from b"));
        assert_eq!(log.shown(), &[0, 1, 2]);
        log.client = "a".into();
        assert_eq!(log.shown(), &[0, 1]);
        log.push(message("a", "again"));
        log.push(message("b", "again"));
        assert_eq!(log.shown(), &[0, 1, 3]);
        log.search = "AGAIN".into();
        assert_eq!(log.shown(), &[3]);
        log.client.clear();
        assert_eq!(log.shown(), &[3, 4]);
    }

    #[test]
    fn rows_dropped_from_the_front_leave_the_filtered_list() {
        let mut log = MockLog::with_limits(2, 1000);
        log.push(message("a", "1"));
        log.push(message("a", "2"));
        assert_eq!(log.shown(), &[0, 1]);
        log.push(message("a", "3"));
        assert_eq!(log.shown(), &[1, 2]);
        log.clear();
        assert!(log.shown().is_empty());
        log.push(message("a", "4"));
        assert_eq!(log.shown(), &[3]);
    }

    #[test]
    fn an_event_row_carries_its_id_in_its_own_column() {
        let row = Row::from_event(
            SystemTime::now(),
            ServerEvent::Fault {
                id: "abc".into(),
                fault: "drop".into(),
            },
        );
        assert_eq!(&*row.id, "abc");
        match row.kind {
            RowKind::Event { tone, text } => {
                assert_eq!(tone, Tone::Fault);
                assert_eq!(text, "fault: drop");
            }
            other => panic!("{other:?}"),
        }
    }
}
