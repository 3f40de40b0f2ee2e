//! Round-trip times of our pings: min, median, p95 and max, and the points to plot, kept between frames
//! (the plot itself is `panels/latency.rs`).

use crate::model::MessageKind;

/// Min, median, p95 and max of `samples` (milliseconds); `None` when empty.
pub fn rtt_stats(samples: &[f64]) -> Option<[f64; 4]> {
    if samples.is_empty() {
        return None;
    }
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let at = |q: f64| sorted[((sorted.len() - 1) as f64 * q).round() as usize];
    Some([sorted[0], at(0.5), at(0.95), sorted[sorted.len() - 1]])
}

/// Log entries examined per frame at most; a longer log is caught up over the next frames.
const SCAN_BUDGET: usize = 200_000;
/// Points plotted at most (the newest); the statistics cover every pong held.
pub(crate) const MAX_PLOTTED: usize = 20_000;

/// The round-trip times found in a tab's log so far, brought up to date incrementally.
#[derive(Default)]
pub struct LatencyCache {
    /// The next sequence number to examine.
    next_seq: u64,
    /// Time of the first entry seen (the plot's zero).
    origin: Option<std::time::SystemTime>,
    /// (sequence number, [seconds since origin, rtt ms]) per pong, oldest first.
    pub(crate) points: std::collections::VecDeque<(u64, [f64; 2])>,
    /// [min, median, p95, max] of the points, in ms.
    pub(crate) stats: Option<[f64; 4]>,
    stale_stats: bool,
    /// Log entries examined so far (for tests: each entry once).
    pub examined: u64,
}

impl LatencyCache {
    /// Brings the points up to date with `log`, examining at most [`SCAN_BUDGET`] entries.
    pub fn refresh(&mut self, log: &super::log_store::LogStore) {
        let first = log.seq_of(0);
        if log.is_empty() {
            // Cleared: start over with the next entries.
            if self.origin.is_some() || !self.points.is_empty() {
                *self = Self {
                    examined: self.examined,
                    ..Self::default()
                };
            }
            self.next_seq = first;
            return;
        }
        // Forget points the log dropped.
        let stale = self.points.partition_point(|(seq, _)| *seq < first);
        if stale > 0 {
            self.points.drain(..stale);
            self.stale_stats = true;
        }
        self.next_seq = self.next_seq.max(first);
        let origin = *self
            .origin
            .get_or_insert_with(|| log.get(0).map(|e| e.at()).unwrap_or(std::time::UNIX_EPOCH));
        let end = log.seq_of(log.len());
        let mut budget = SCAN_BUDGET;
        while self.next_seq < end && budget > 0 {
            let index = (self.next_seq - first) as usize;
            if let Some(entry) = log.get(index)
                && entry.kind == MessageKind::Pong
                && let Some(rtt) = entry.rtt()
            {
                let x = entry
                    .at()
                    .duration_since(origin)
                    .unwrap_or_default()
                    .as_secs_f64();
                self.points
                    .push_back((self.next_seq, [x, rtt.as_secs_f64() * 1000.0]));
                self.stale_stats = true;
            }
            self.next_seq += 1;
            self.examined += 1;
            budget -= 1;
        }
        if self.stale_stats {
            let samples: Vec<f64> = self.points.iter().map(|(_, p)| p[1]).collect();
            self.stats = rtt_stats(&samples);
            self.stale_stats = false;
        }
    }

    /// Number of pongs found.
    pub fn len(&self) -> usize {
        self.points.len()
    }

    /// True when no pong was found.
    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::{LatencyCache, rtt_stats};
    use crate::app::LogStore;
    use crate::model::{Direction, LogEntry, MessageKind};
    use std::time::{Duration, SystemTime};

    #[test]
    fn the_latency_tab_examines_each_entry_once_not_every_frame() {
        let mut log = LogStore::new(1_000);
        let at = SystemTime::now();
        for i in 0..500u64 {
            log.push(LogEntry::new(
                1,
                Direction::Received,
                MessageKind::Text,
                at + Duration::from_millis(i),
                Duration::ZERO,
                b"x".to_vec(),
            ));
        }
        let mut cache = LatencyCache::default();
        for _frame in 0..100 {
            cache.refresh(&log);
        }
        assert_eq!(cache.examined, 500, "100 frames looked at each entry once");
        assert!(cache.is_empty());
        log.clear();
        cache.refresh(&log);
        assert_eq!(cache.examined, 500);
    }

    #[test]
    fn percentiles() {
        assert_eq!(rtt_stats(&[]), None);
        assert_eq!(rtt_stats(&[2.0]), Some([2.0, 2.0, 2.0, 2.0]));
        let samples: Vec<f64> = (1..=100).map(f64::from).rev().collect();
        assert_eq!(rtt_stats(&samples), Some([1.0, 51.0, 95.0, 100.0]));
    }
}
