//! The message log of one connection tab: a bounded ring with stable sequence numbers.

use crate::model::LogEntry;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// Default cap on logged messages; older ones are dropped (and counted) beyond it.
pub const DEFAULT_LOG_CAP: usize = 1_000_000;

/// How much a log keeps before it drops its oldest entries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LogLimits {
    /// Most entries kept.
    pub max_entries: usize,
    /// Most payload bytes kept, in MiB.
    pub max_mib: usize,
}

impl Default for LogLimits {
    fn default() -> Self {
        Self {
            max_entries: DEFAULT_LOG_CAP,
            max_mib: 512,
        }
    }
}

impl LogLimits {
    fn max_bytes(self) -> usize {
        self.max_mib.max(1).saturating_mul(1 << 20)
    }
}

/// Most dividers a log keeps (a reconnect loop adds two per attempt); the oldest go first.
const MAX_MARKERS: usize = 4_096;

/// What a divider row says happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tone {
    /// A connection opened.
    Opened,
    /// A connection closed after it had opened.
    Closed,
    /// A connection attempt failed.
    Failed,
}

/// A divider row between messages: a connection opened, closed or failed here.
#[derive(Clone, Debug, PartialEq)]
pub struct Marker {
    /// It sits just before the entry with this sequence number (the next one logged after it).
    pub before_seq: u64,
    pub tone: Tone,
    pub text: String,
}

/// The message log: a bounded queue of entries with stable sequence numbers.
pub struct LogStore {
    entries: VecDeque<LogEntry>,
    first_seq: u64,
    limits: LogLimits,
    payload_bytes: usize,
    dropped: u64,
    /// The sequence number shown as #1 (the first after the last Clear).
    numbered_from: u64,
    /// Dividers, oldest first (their `before_seq` never decreases).
    markers: VecDeque<Marker>,
}

impl LogStore {
    /// An empty log holding at most `cap` entries (and the default payload limit).
    pub fn new(cap: usize) -> Self {
        Self::with_limits(LogLimits {
            max_entries: cap,
            ..LogLimits::default()
        })
    }

    /// An empty log with these limits.
    pub fn with_limits(limits: LogLimits) -> Self {
        let mut log = Self {
            entries: VecDeque::new(),
            first_seq: 0,
            limits,
            payload_bytes: 0,
            dropped: 0,
            numbered_from: 0,
            markers: VecDeque::new(),
        };
        log.set_limits(limits);
        log
    }

    /// The limits in force.
    pub fn limits(&self) -> LogLimits {
        self.limits
    }

    /// Changes the limits, dropping (and counting) the oldest entries beyond the new ones at once.
    pub fn set_limits(&mut self, limits: LogLimits) {
        self.limits = LogLimits {
            max_entries: limits.max_entries.max(1),
            max_mib: limits.max_mib.max(1),
        };
        while self.entries.len() > self.limits.max_entries
            || self.payload_bytes > self.limits.max_bytes()
        {
            self.drop_oldest();
        }
    }

    fn drop_oldest(&mut self) {
        if let Some(old) = self.entries.pop_front() {
            self.payload_bytes -= old.payload.len();
            self.first_seq += 1;
            self.dropped += 1;
            // A divider before a dropped entry goes with it.
            while self
                .markers
                .front()
                .is_some_and(|m| m.before_seq < self.first_seq)
            {
                self.markers.pop_front();
            }
        }
    }

    /// Appends an entry, dropping the oldest while the log is full. The newest entry is always kept, even when
    /// its payload alone is over the byte limit.
    pub fn push(&mut self, entry: LogEntry) {
        let max_bytes = self.limits.max_bytes();
        while !self.entries.is_empty()
            && (self.entries.len() >= self.limits.max_entries
                || self.payload_bytes + entry.payload.len() > max_bytes)
        {
            self.drop_oldest();
        }
        self.payload_bytes += entry.payload.len();
        self.entries.push_back(entry);
    }

    /// Payload bytes held.
    pub fn payload_bytes(&self) -> usize {
        self.payload_bytes
    }

    /// Number of entries held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entries held, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &LogEntry> {
        self.entries.iter()
    }

    /// The entry at position `index` (0 = oldest held).
    pub fn get(&self, index: usize) -> Option<&LogEntry> {
        self.entries.get(index)
    }

    /// Sequence number of the entry at `index`.
    pub fn seq_of(&self, index: usize) -> u64 {
        self.first_seq + index as u64
    }

    /// The entry with sequence number `seq`, if still held.
    pub fn by_seq(&self, seq: u64) -> Option<&LogEntry> {
        let index = seq.checked_sub(self.first_seq)?;
        self.entries.get(usize::try_from(index).ok()?)
    }

    /// Entries dropped because the log was full.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Removes every entry.
    pub fn clear(&mut self) {
        self.first_seq += self.entries.len() as u64;
        self.entries.clear();
        self.payload_bytes = 0;
        self.numbered_from = self.first_seq;
        self.dropped = 0;
        self.markers.clear();
    }

    /// Adds a divider after the newest entry.
    pub fn mark(&mut self, tone: Tone, text: impl Into<String>) {
        if self.markers.len() >= MAX_MARKERS {
            self.markers.pop_front();
        }
        self.markers.push_back(Marker {
            before_seq: self.seq_of(self.len()),
            tone,
            text: text.into(),
        });
    }

    /// The dividers, oldest first.
    pub fn markers(&self) -> &VecDeque<Marker> {
        &self.markers
    }

    /// The row number people see for `seq`: from 1, counted again after Clear (entries dropped for the limits
    /// keep their numbers).
    pub fn number(&self, seq: u64) -> u64 {
        seq.saturating_sub(self.numbered_from) + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Direction, MessageKind};
    use std::time::{Duration, SystemTime};

    fn entry(size: usize) -> LogEntry {
        LogEntry::new(
            1,
            Direction::Received,
            MessageKind::Binary,
            SystemTime::now(),
            Duration::ZERO,
            vec![7; size],
        )
    }

    #[test]
    fn entry_and_byte_limits_drop_the_oldest_and_count_them() {
        let mut log = LogStore::with_limits(LogLimits {
            max_entries: 3,
            max_mib: 1,
        });
        for _ in 0..5 {
            log.push(entry(10));
        }
        assert_eq!((log.len(), log.dropped(), log.seq_of(0)), (3, 2, 2));
        assert_eq!(log.payload_bytes(), 30);
        // Two 600 KiB payloads do not fit in 1 MiB together: the first goes.
        log.push(entry(600 << 10));
        log.push(entry(600 << 10));
        assert_eq!(log.len(), 1);
        assert_eq!(log.payload_bytes(), 600 << 10);
        assert_eq!(log.dropped(), 6);
        // A single payload over the limit is still kept.
        log.push(entry(3 << 20));
        assert_eq!((log.len(), log.payload_bytes()), (1, 3 << 20));
        // Lowering the entry limit trims at once.
        let mut log = LogStore::new(10);
        for _ in 0..10 {
            log.push(entry(1));
        }
        log.set_limits(LogLimits {
            max_entries: 4,
            max_mib: 512,
        });
        assert_eq!(
            (log.len(), log.dropped(), log.by_seq(5).is_none()),
            (4, 6, true)
        );
        assert!(log.by_seq(6).is_some());
    }

    #[test]
    fn numbers_start_again_after_clear_but_not_after_drops() {
        let mut log = LogStore::new(1_000);
        for _ in 0..3 {
            log.push(entry(1));
        }
        assert_eq!(log.number(log.seq_of(2)), 3);
        log.clear();
        log.push(entry(1));
        assert_eq!(log.number(log.seq_of(0)), 1);
        assert_eq!(log.dropped(), 0);
    }

    #[test]
    fn dividers_sit_between_entries_and_leave_with_them() {
        let mut log = LogStore::new(3);
        log.mark(Tone::Opened, "connected");
        log.push(entry(1));
        log.push(entry(1));
        log.mark(Tone::Closed, "closed");
        log.mark(Tone::Opened, "connected again");
        log.push(entry(1));
        let at: Vec<u64> = log.markers().iter().map(|m| m.before_seq).collect();
        assert_eq!(at, [0, 2, 2]);
        // The first entry is dropped: its divider goes too.
        log.push(entry(1));
        assert_eq!(log.markers().len(), 2);
        log.clear();
        assert!(log.markers().is_empty());
        for i in 0..MAX_MARKERS + 5 {
            log.mark(Tone::Failed, format!("attempt {i}"));
        }
        assert_eq!(log.markers().len(), MAX_MARKERS, "bounded");
    }
}
