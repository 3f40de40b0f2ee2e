//! Filtering the log: by direction, by kind, protocol keep-alives (hidden by default), and by a plain-text or
//! regex search over payloads. Matches are
//! kept as sequence numbers and brought up to date incrementally, a bounded number of entries per frame, so a
//! million-entry log never stalls the UI.

use super::log_store::LogStore;
use crate::model::{Direction, LogEntry, MessageKind};

/// Entries examined per frame at most; the rest continue next frame.
const SCAN_BUDGET: usize = 200_000;
/// Payload bytes searched per frame at most (the entry that crosses it is finished); the rest continue next frame.
pub const SCAN_BUDGET_BYTES: usize = 16 << 20;

/// The kinds, in toggle order.
pub const KINDS: [MessageKind; 5] = [
    MessageKind::Text,
    MessageKind::Binary,
    MessageKind::Ping,
    MessageKind::Pong,
    MessageKind::Close,
];

/// What the matches were computed for: direction, kinds, query, regex, keep-alives hidden, codec build.
type FilterKey = (Option<Direction>, [bool; 5], String, bool, bool, u64);

/// A binary message searched through its codec counts this many times its size against the frame's byte budget
/// (decoding and writing out the JSON cost more than a regex over bytes).
const DECODE_COST: usize = 16;
/// Bytes of decoded JSON a search looks at per message.
const DECODED_SEARCH_BYTES: usize = 1 << 20;

/// The filter settings and its matches.
#[derive(Debug)]
pub struct LogFilter {
    /// Only this direction (`None`: both).
    pub direction: Option<Direction>,
    /// Which kinds are shown, in [`KINDS`] order.
    pub kinds: [bool; 5],
    /// Search text over payloads (case-insensitive).
    pub query: String,
    /// Treat `query` as a regular expression.
    pub regex: bool,
    /// Why the regex is invalid.
    pub error: Option<String>,
    /// Show protocol keep-alive traffic (Engine.IO ping / pong, GraphQL ping / pong / ka) and the parts of
    /// multi-message packets; hidden by default.
    pub keepalives: bool,
    /// The log holds messages of a protocol (set by the tab), so hiding keep-alives filters something.
    pub protocol_rows: bool,
    /// The tab's codec and its build: the search also reads binary messages as their decoded JSON.
    pub codec: Option<(u64, std::sync::Arc<crate::model::codec::Codec>)>,
    matches: Vec<u64>,
    next_seq: u64,
    key: Option<FilterKey>,
    /// The search, compiled once per query: the regex, or the plain text escaped and case-insensitive, run on
    /// the payload bytes (no copy, no lowercasing per entry).
    compiled: Option<regex::bytes::Regex>,
}

impl Default for LogFilter {
    fn default() -> Self {
        Self {
            direction: None,
            kinds: [true; 5],
            query: String::new(),
            regex: false,
            error: None,
            keepalives: false,
            protocol_rows: false,
            codec: None,
            matches: Vec::new(),
            next_seq: 0,
            key: None,
            compiled: None,
        }
    }
}

impl LogFilter {
    /// True when anything is filtered out.
    pub fn is_active(&self) -> bool {
        self.direction.is_some()
            || self.kinds.iter().any(|k| !k)
            || !self.query.trim().is_empty()
            || self.hides_keepalives()
    }

    /// Protocol keep-alives are being hidden.
    fn hides_keepalives(&self) -> bool {
        self.protocol_rows && !self.keepalives
    }

    /// Shows everything again: no search, both directions, every kind (keep-alives keep their own toggle).
    pub fn clear(&mut self) {
        self.direction = None;
        self.kinds = [true; 5];
        self.query.clear();
        self.regex = false;
    }

    /// True when the scan has not reached the end of the log yet.
    pub fn is_scanning(&self, log: &LogStore) -> bool {
        self.is_active() && self.next_seq < log.seq_of(log.len())
    }

    fn accepts(&self, entry: &LogEntry) -> bool {
        if self.direction.is_some_and(|d| d != entry.direction) {
            return false;
        }
        let kind_index = KINDS.iter().position(|k| *k == entry.kind).unwrap_or(0);
        if !self.kinds[kind_index] {
            return false;
        }
        if !self.keepalives
            && entry.decoded().is_some_and(|d| {
                d.parts().all(|p| {
                    matches!(
                        p.class,
                        crate::model::protocol::Class::KeepAlive
                            | crate::model::protocol::Class::Part
                    )
                })
            })
        {
            return false;
        }
        let query = self.query.trim();
        if query.is_empty() {
            return true;
        }
        let Some(re) = self.compiled.as_ref() else {
            return false;
        };
        if re.is_match(&entry.payload) {
            return true;
        }
        // A binary message also matches by what its codec reads in it.
        self.codec.as_ref().is_some_and(|(_, codec)| {
            crate::app::tab::codec::decode_entry(codec, entry).is_some_and(|decoded| {
                decoded.is_ok_and(|value| {
                    let text = crate::app::tab::codec::json_head(&value, DECODED_SEARCH_BYTES);
                    re.is_match(text.as_bytes())
                })
            })
        })
    }

    /// What searching `entry` costs against the frame's byte budget.
    fn cost(&self, entry: &LogEntry) -> usize {
        let searched_decoded = self.codec.is_some()
            && self.compiled.is_some()
            && entry.kind == MessageKind::Binary
            && entry.decoded().is_none();
        if searched_decoded {
            entry.payload.len().saturating_mul(DECODE_COST)
        } else {
            entry.payload.len()
        }
    }

    /// Brings the matches up to date with `log` (a bounded amount of work per call).
    pub fn refresh(&mut self, log: &LogStore) {
        let hide = self.hides_keepalives();
        let key = (
            self.direction,
            self.kinds,
            self.query.clone(),
            self.regex,
            hide,
            self.codec.as_ref().map_or(0, |(generation, _)| *generation),
        );
        if self.key.as_ref() != Some(&key) {
            self.key = Some(key);
            self.matches.clear();
            self.next_seq = log.seq_of(0);
            self.error = None;
            self.compiled = None;
            let query = self.query.trim();
            if !query.is_empty() {
                let pattern = if self.regex {
                    query.to_owned()
                } else {
                    regex::escape(query)
                };
                match regex::bytes::RegexBuilder::new(&pattern)
                    .case_insensitive(true)
                    .build()
                {
                    Ok(re) => self.compiled = Some(re),
                    Err(e) if self.regex => self.error = Some(format!("invalid regex: {e}")),
                    Err(e) => self.error = Some(format!("cannot search for this: {e}")),
                }
            }
        }
        if !self.is_active() {
            return;
        }
        // Forget matches that the log dropped (cap reached or cleared).
        let first = log.seq_of(0);
        let stale = self.matches.partition_point(|&s| s < first);
        self.matches.drain(..stale);
        self.next_seq = self.next_seq.max(first);
        let end = log.seq_of(log.len());
        let mut budget = SCAN_BUDGET;
        let mut bytes_left = SCAN_BUDGET_BYTES;
        while self.next_seq < end && budget > 0 && bytes_left > 0 {
            let index = (self.next_seq - first) as usize;
            if let Some(entry) = log.get(index) {
                if self.accepts(entry) {
                    self.matches.push(self.next_seq);
                }
                bytes_left = bytes_left.saturating_sub(self.cost(entry));
            }
            self.next_seq += 1;
            budget -= 1;
        }
    }

    /// Number of rows to show.
    pub fn len(&self, log: &LogStore) -> usize {
        if self.is_active() {
            self.matches.len()
        } else {
            log.len()
        }
    }

    /// True when no row is shown.
    pub fn is_empty(&self, log: &LogStore) -> bool {
        self.len(log) == 0
    }

    /// How many shown rows come before the entry with sequence number `seq` (held or not).
    pub fn rank(&self, seq: u64, log: &LogStore) -> usize {
        if !self.is_active() {
            return (seq.saturating_sub(log.seq_of(0)) as usize).min(log.len());
        }
        self.matches.partition_point(|&s| s < seq)
    }

    /// The log index of visible row `row`.
    pub fn index(&self, row: usize, log: &LogStore) -> Option<usize> {
        if !self.is_active() {
            return (row < log.len()).then_some(row);
        }
        let seq = *self.matches.get(row)?;
        seq.checked_sub(log.seq_of(0)).map(|i| i as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, SystemTime};

    fn entry(direction: Direction, kind: MessageKind, text: &str) -> LogEntry {
        LogEntry::new(
            1,
            direction,
            kind,
            SystemTime::now(),
            Duration::ZERO,
            text.as_bytes().to_vec(),
        )
    }

    #[test]
    fn filters_by_direction_kind_text_and_regex_incrementally() {
        let mut log = LogStore::new(100);
        log.push(entry(Direction::Sent, MessageKind::Text, "hello world"));
        log.push(entry(Direction::Received, MessageKind::Text, "Hello again"));
        log.push(entry(Direction::Received, MessageKind::Ping, "hello ping"));
        log.push(entry(Direction::Received, MessageKind::Text, "order-42"));
        let mut f = LogFilter::default();
        f.refresh(&log);
        assert_eq!(f.len(&log), 4);
        f.query = "HELLO".into();
        f.refresh(&log);
        assert_eq!(f.len(&log), 3);
        f.direction = Some(Direction::Received);
        f.kinds[2] = false;
        f.refresh(&log);
        assert_eq!(f.len(&log), 1);
        assert_eq!(f.index(0, &log), Some(1));
        f.direction = None;
        f.kinds = [true; 5];
        f.query = r"order-\d+".into();
        f.regex = true;
        f.refresh(&log);
        assert_eq!(f.len(&log), 1);
        log.push(entry(Direction::Sent, MessageKind::Text, "order-7"));
        f.refresh(&log);
        assert_eq!(f.len(&log), 2, "new entries are scanned as they come");
        f.query = "(".into();
        f.refresh(&log);
        assert!(f.error.is_some());
        f.query = "ü".into();
        f.regex = false;
        log.push(entry(Direction::Sent, MessageKind::Text, "GRÜN"));
        f.refresh(&log);
        assert_eq!(f.len(&log), 1, "plain search ignores case beyond ASCII");
        f.query = "a.c".into();
        log.push(entry(Direction::Sent, MessageKind::Text, "abc"));
        f.refresh(&log);
        assert_eq!(f.len(&log), 0, "plain search is not a regex");
        log.clear();
        f.query = "x".into();
        f.regex = false;
        f.refresh(&log);
        assert_eq!(f.len(&log), 0);
    }

    #[test]
    fn the_search_budget_counts_payload_bytes_not_only_entries() {
        let mut log = LogStore::new(100);
        let big = "needle ".repeat((SCAN_BUDGET_BYTES / 2) / 7 + 1);
        for _ in 0..8 {
            log.push(entry(Direction::Received, MessageKind::Text, &big));
        }
        let mut f = LogFilter {
            query: "NEEDLE".into(),
            ..LogFilter::default()
        };
        f.refresh(&log);
        // 8 entries of just over half the budget: two per frame.
        assert_eq!(f.len(&log), 2);
        assert!(f.is_scanning(&log));
        for _ in 0..3 {
            f.refresh(&log);
        }
        assert_eq!(f.len(&log), 8);
        assert!(!f.is_scanning(&log));
    }

    #[test]
    fn the_search_reads_binary_messages_through_the_codec() {
        let mut log = LogStore::new(100);
        // MessagePack {"user":"ada"}
        let mut ada = entry(Direction::Received, MessageKind::Binary, "");
        ada.payload = vec![0x81, 0xa4, b'u', b's', b'e', b'r', 0xa3, b'a', b'd', b'a'].into();
        log.push(ada);
        log.push(entry(Direction::Received, MessageKind::Text, "plain"));
        let mut f = LogFilter {
            query: r#""user":"ada""#.into(),
            ..LogFilter::default()
        };
        f.refresh(&log);
        assert_eq!(f.len(&log), 0, "the bytes alone do not hold the JSON text");
        f.codec = Some((
            1,
            std::sync::Arc::new(crate::model::codec::Codec::MessagePack),
        ));
        f.refresh(&log);
        assert_eq!(f.len(&log), 1, "a new codec build searches again");
        assert_eq!(f.index(0, &log), Some(0));
    }
}
