//! Memory of the message log: bytes per entry beyond the payload, and resident memory after a million 64-byte
//! messages. A counting allocator sees every allocation the log makes; resident memory (VmRSS, VmHWM) adds what
//! the allocator keeps for its own bookkeeping. Run: `cargo bench --bench log_memory` (prints a small table).

use sockscope::app::LogStore;
use sockscope::model::{Direction, LogEntry, MessageKind};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use std::alloc::System;
use std::time::{Duration, SystemTime};

#[global_allocator]
static ALLOCATOR: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

fn status_kib(field: &str) -> usize {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn main() {
    // `cargo test --all-targets` runs benches once in test mode: a smaller log keeps that quick.
    let quick = std::env::args().any(|a| a == "--test") || std::env::var_os("CI").is_some();
    // A power of two in quick mode, so the deque has no spare capacity to blur the per-entry figure.
    let rows: usize = if quick { 1 << 17 } else { 1_000_000 };
    const SIZE: usize = 64;
    let rss_before = status_kib("VmRSS:");
    let region = Region::new(ALLOCATOR);
    let mut log = LogStore::new(rows);
    let start = SystemTime::now();
    for n in 0..rows {
        let mut payload = n.to_string().into_bytes();
        payload.resize(SIZE, b'x');
        let since = Duration::from_micros(n as u64);
        log.push(LogEntry::new(
            1,
            Direction::Received,
            MessageKind::Text,
            start + since,
            since,
            payload,
        ));
    }
    let stats = region.change();
    // Reallocations are already folded into bytes_allocated and bytes_deallocated.
    let live = stats.bytes_allocated as f64 - stats.bytes_deallocated as f64;
    let rss = status_kib("VmRSS:").saturating_sub(rss_before);
    let per_entry_alloc = live / rows as f64 - SIZE as f64;
    let per_entry_rss = rss as f64 * 1024.0 / rows as f64 - SIZE as f64;
    println!("log_memory: {rows} entries x {SIZE}-byte payloads");
    println!(
        "  size_of::<LogEntry>()          {} bytes",
        std::mem::size_of::<LogEntry>()
    );
    println!("  allocated beyond payload       {per_entry_alloc:.1} bytes/entry");
    println!(
        "  resident beyond payload        {per_entry_rss:.1} bytes/entry (includes malloc's own overhead)"
    );
    println!(
        "  log resident                   {:.1} MiB",
        rss as f64 / 1024.0
    );
    println!(
        "  process peak resident (VmHWM)  {:.1} MiB",
        status_kib("VmHWM:") as f64 / 1024.0
    );
    assert_eq!(log.len(), rows);
    assert!(
        per_entry_alloc <= 64.0,
        "the log's own overhead exceeds 64 bytes per entry"
    );
}
