//! The message log of one connection tab: a bounded ring with stable sequence numbers.

use crate::model::LogEntry;
use std::collections::VecDeque;

/// Default cap on logged messages; older ones are dropped (and counted) beyond it.
pub const DEFAULT_LOG_CAP: usize = 1_000_000;

/// The message log: a bounded queue of entries with stable sequence numbers.
pub struct LogStore {
    entries: VecDeque<LogEntry>,
    first_seq: u64,
    cap: usize,
    dropped: u64,
}

impl LogStore {
    /// An empty log holding at most `cap` entries.
    pub fn new(cap: usize) -> Self {
        Self {
            entries: VecDeque::new(),
            first_seq: 0,
            cap: cap.max(1),
            dropped: 0,
        }
    }

    /// Appends an entry, dropping the oldest when full.
    pub fn push(&mut self, entry: LogEntry) {
        if self.entries.len() >= self.cap {
            self.entries.pop_front();
            self.first_seq += 1;
            self.dropped += 1;
        }
        self.entries.push_back(entry);
    }

    /// Number of entries held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
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
    }
}
