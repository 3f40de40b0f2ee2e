//! Batched reads during a flood: fewer wake-ups when a peer sends many small messages at its own pace.
//!
//! A sender that writes one message at a time (node `ws`, most applications) puts one TCP segment on the wire
//! per message, and epoll wakes the reader for each: tens of thousands of wake-ups a second, each bringing a few
//! hundred bytes. Sleeping between reads does not help, because edge-triggered epoll still wakes the process at
//! every arriving segment. What helps is the socket's receive low-water mark (`SO_RCVLOWAT`): the kernel then
//! wakes the reader only once that many bytes are queued.
//!
//! [`Pacer`] decides when (sans-IO: read sizes and instants in, low-water marks out). It stays out of the way
//! until reads come faster than [`BUSY_READS`] in [`BUSY_WINDOW`] — nobody typing into a tester does that — then
//! asks for a mark of [`LOW_WATER`] bytes, and for a fallback timer [`FALLBACK`] after each read: a message that
//! arrives after the flood would otherwise wait below the mark. When the timer fires the mark drops to one byte
//! (the kernel signals data already queued at once), and if little came since, the pacer stands down. So during
//! a flood a message's time can be late by the fallback (one to two milliseconds: tokio's timer ticks in
//! milliseconds); outside a flood nothing changes.

use std::time::{Duration, Instant};

/// Reads within [`BUSY_WINDOW`] that mark a flood: 8 reads a millisecond.
pub const BUSY_READS: u32 = 16;
/// The window in which [`BUSY_READS`] reads mark a flood.
pub const BUSY_WINDOW: Duration = Duration::from_millis(2);
/// The low-water mark during a flood: the kernel wakes the reader once this much is queued.
pub const LOW_WATER: usize = 4096;
/// How long after a read the mark is lifted anyway, so that the tail of a flood is never held back.
pub const FALLBACK: Duration = Duration::from_millis(1);

/// What the socket should be told after a read or a fallback timer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Set the low-water mark to this many bytes (1 is the kernel's default: wake on any byte).
    LowWater(usize),
}

/// The pacing state of one socket. See the module documentation.
#[derive(Debug)]
pub struct Pacer {
    enabled: bool,
    window_start: Option<Instant>,
    window_reads: u32,
    /// The mark the socket has now (1 when eager).
    low_water: usize,
    /// Bytes read since the mark was last lifted by the fallback timer.
    since_fallback: usize,
}

impl Default for Pacer {
    fn default() -> Self {
        Self {
            enabled: true,
            window_start: None,
            window_reads: 0,
            low_water: 1,
            since_fallback: 0,
        }
    }
}

impl Pacer {
    /// A pacer that never raises the mark (for a socket that refused it).
    pub fn disabled() -> Self {
        Self {
            enabled: false,
            ..Self::default()
        }
    }

    /// Whether this pacer may raise the mark at all.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// Whether the mark is raised, so a fallback timer must run.
    pub fn batching(&self) -> bool {
        self.low_water > 1
    }

    /// A read of `bytes` (more than zero) completed at `now`.
    pub fn on_read(&mut self, now: Instant, bytes: usize) -> Option<Change> {
        self.since_fallback = self.since_fallback.saturating_add(bytes);
        if self.batching() || !self.enabled {
            return None;
        }
        match self.window_start {
            Some(start) if now.saturating_duration_since(start) <= BUSY_WINDOW => {
                self.window_reads += 1;
            }
            _ => {
                self.window_start = Some(now);
                self.window_reads = 1;
            }
        }
        if self.window_reads >= BUSY_READS {
            self.window_start = None;
            self.window_reads = 0;
            self.since_fallback = 0;
            self.low_water = LOW_WATER;
            return Some(Change::LowWater(LOW_WATER));
        }
        None
    }

    /// The fallback timer fired: lift the mark so that whatever is queued is read now. When the flood goes on
    /// (at least a mark's worth came in since the last time), [`Pacer::resume`] raises it again after the read.
    pub fn on_fallback(&mut self) -> Option<Change> {
        if !self.batching() {
            return None;
        }
        self.low_water = 1;
        Some(Change::LowWater(1))
    }

    /// After the read that followed a fallback: raise the mark again if the flood goes on.
    pub fn resume(&mut self) -> Option<Change> {
        if self.batching() {
            return None;
        }
        let flowing = self.since_fallback >= LOW_WATER;
        self.since_fallback = 0;
        if flowing {
            self.low_water = LOW_WATER;
            Some(Change::LowWater(LOW_WATER))
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flood(pacer: &mut Pacer, start: Instant, reads: u32, gap: Duration) -> Vec<Option<Change>> {
        (0..reads)
            .map(|i| pacer.on_read(start + gap * i, 300))
            .collect()
    }

    #[test]
    fn interactive_reads_never_raise_the_mark() {
        let mut pacer = Pacer::default();
        let start = Instant::now();
        // A read every 10 ms (100 messages a second) for a second.
        let changes = flood(&mut pacer, start, 100, Duration::from_millis(10));
        assert!(changes.iter().all(Option::is_none));
        assert!(!pacer.batching());
    }

    #[test]
    fn a_flood_raises_the_mark_once_and_the_fallback_lifts_it() {
        let mut pacer = Pacer::default();
        let start = Instant::now();
        let changes = flood(&mut pacer, start, 40, Duration::from_micros(80));
        let raised: Vec<usize> = changes
            .iter()
            .enumerate()
            .filter(|(_, c)| c.is_some())
            .map(|(i, _)| i)
            .collect();
        assert_eq!(
            raised,
            vec![BUSY_READS as usize - 1],
            "raised once, at the 16th read"
        );
        assert_eq!(
            changes[BUSY_READS as usize - 1],
            Some(Change::LowWater(LOW_WATER))
        );
        assert!(pacer.batching());
        assert_eq!(pacer.on_fallback(), Some(Change::LowWater(1)));
        assert_eq!(pacer.on_fallback(), None, "already lifted");
    }

    #[test]
    fn the_mark_comes_back_while_the_flood_goes_on_and_not_after_it() {
        let mut pacer = Pacer::default();
        let start = Instant::now();
        flood(&mut pacer, start, 16, Duration::from_micros(80));
        assert!(pacer.batching());
        // A mark's worth arrives, then the timer fires: lifted, read, raised again.
        pacer.on_read(start + Duration::from_millis(3), LOW_WATER);
        assert_eq!(pacer.on_fallback(), Some(Change::LowWater(1)));
        pacer.on_read(start + Duration::from_millis(4), 100);
        assert_eq!(pacer.resume(), Some(Change::LowWater(LOW_WATER)));
        // Only a little since: the flood is over, the mark stays down.
        pacer.on_read(start + Duration::from_millis(5), 100);
        assert_eq!(pacer.on_fallback(), Some(Change::LowWater(1)));
        assert_eq!(pacer.resume(), None);
        assert!(!pacer.batching());
    }

    #[test]
    fn slow_reads_after_a_pause_start_a_new_window() {
        let mut pacer = Pacer::default();
        let start = Instant::now();
        flood(&mut pacer, start, 15, Duration::from_micros(80));
        // The 16th read comes after the window: no flood.
        assert_eq!(pacer.on_read(start + Duration::from_millis(50), 300), None);
        assert!(!pacer.batching());
    }
}
