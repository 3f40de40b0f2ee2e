//! Traffic over time: messages per second and bytes per second in each direction, one bin per second (the plots
//! are `panels/traffic.rs`).

use super::log_store::LogStore;
use crate::model::Direction;

/// Per-second bins: (second, sent msgs, received msgs, sent bytes, received bytes).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct TrafficBins {
    /// Bins from the first entry on; index = whole seconds since it.
    pub bins: Vec<[f64; 4]>,
    /// The same seconds' bytes on the wire (sent, received): less than the bytes when messages go compressed.
    pub wire: Vec<[f64; 2]>,
    /// Some message was compressed (the wire series then differ from the byte series).
    pub compressed: bool,
    key: (u64, usize),
}

impl TrafficBins {
    /// Brings the bins up to date: only new entries are added while the log just grows; a log that dropped or
    /// cleared entries is binned again (cheap to call every frame).
    pub fn update(&mut self, log: &LogStore) {
        let key = (log.seq_of(0), log.len());
        if key == self.key {
            return;
        }
        let from = if key.0 == self.key.0 && key.1 > self.key.1 {
            self.key.1
        } else {
            self.bins.clear();
            self.wire.clear();
            self.compressed = false;
            0
        };
        self.key = key;
        let Some(first) = log.get(0).map(|e| e.at()) else {
            return;
        };
        for e in log.iter().skip(from) {
            let second = e.at().duration_since(first).unwrap_or_default().as_secs() as usize;
            if second >= self.bins.len() {
                self.bins.resize(second + 1, [0.0; 4]);
                self.wire.resize(second + 1, [0.0; 2]);
            }
            self.compressed |= e.compressed();
            let (bin, wire) = (&mut self.bins[second], &mut self.wire[second]);
            match e.direction {
                Direction::Sent => {
                    bin[0] += 1.0;
                    bin[2] += e.size() as f64;
                    wire[0] += e.wire_size() as f64;
                }
                Direction::Received => {
                    bin[1] += 1.0;
                    bin[3] += e.size() as f64;
                    wire[1] += e.wire_size() as f64;
                }
            }
        }
    }

    /// The wire series `column` (0 sent, 1 received).
    pub fn wire_series(&self, column: usize) -> Vec<[f64; 2]> {
        self.wire
            .iter()
            .enumerate()
            .map(|(s, b)| [s as f64, b[column]])
            .collect()
    }

    /// The plot series `column` (0 sent msgs, 1 received msgs, 2 sent bytes, 3 received bytes).
    pub fn series(&self, column: usize) -> Vec<[f64; 2]> {
        self.bins
            .iter()
            .enumerate()
            .map(|(s, b)| [s as f64, b[column]])
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{LogEntry, MessageKind};
    use std::time::{Duration, SystemTime};

    #[test]
    fn bins_count_messages_and_bytes_per_second_and_direction() {
        let t0 = SystemTime::now();
        let mut log = LogStore::new(100);
        for (ms, dir, size) in [
            (0, Direction::Sent, 10),
            (500, Direction::Received, 10),
            (1200, Direction::Received, 5),
        ] {
            log.push(LogEntry::new(
                1,
                dir,
                MessageKind::Text,
                t0 + Duration::from_millis(ms),
                Duration::from_millis(ms),
                vec![0; size],
            ));
        }
        let mut bins = TrafficBins::default();
        bins.update(&log);
        assert_eq!(
            bins.bins,
            vec![[1.0, 1.0, 10.0, 10.0], [0.0, 1.0, 0.0, 5.0]]
        );
        assert_eq!(bins.series(3), vec![[0.0, 10.0], [1.0, 5.0]]);
    }

    #[test]
    fn compressed_messages_have_fewer_bytes_on_the_wire() {
        let t0 = SystemTime::now();
        let mut log = LogStore::new(100);
        let entry = |compressed: Option<u64>| {
            LogEntry::new(
                1,
                Direction::Received,
                MessageKind::Text,
                t0,
                Duration::ZERO,
                vec![b'a'; 1000],
            )
            .with_compressed_size(compressed)
        };
        log.push(entry(Some(40)));
        log.push(entry(None));
        let mut bins = TrafficBins::default();
        bins.update(&log);
        assert!(bins.compressed);
        assert_eq!(bins.series(3), vec![[0.0, 2000.0]]);
        assert_eq!(bins.wire_series(1), vec![[0.0, 1040.0]]);
    }

    #[test]
    fn a_growing_log_is_binned_incrementally_and_a_trimmed_one_from_scratch() {
        let t0 = SystemTime::now();
        let entry = |ms: u64| {
            LogEntry::new(
                1,
                Direction::Received,
                MessageKind::Text,
                t0 + Duration::from_millis(ms),
                Duration::from_millis(ms),
                vec![0; 4],
            )
        };
        let mut log = LogStore::new(3);
        let mut bins = TrafficBins::default();
        log.push(entry(0));
        bins.update(&log);
        log.push(entry(100));
        log.push(entry(1500));
        bins.update(&log);
        assert_eq!(bins.bins, vec![[0.0, 2.0, 0.0, 8.0], [0.0, 1.0, 0.0, 4.0]]);
        // The cap drops the first entry: seconds now count from the second one.
        log.push(entry(2100));
        bins.update(&log);
        assert_eq!(
            bins.bins,
            vec![
                [0.0, 1.0, 0.0, 4.0],
                [0.0, 1.0, 0.0, 4.0],
                [0.0, 1.0, 0.0, 4.0]
            ]
        );
    }
}
