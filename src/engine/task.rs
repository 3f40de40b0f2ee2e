//! Small timing and task helpers shared by the connection task, replay and the command line: deadlines that cannot
//! overflow the clock, waits on a timer that may not exist, and panics turned into errors.

use std::time::Duration;

/// `now + after`, or a time decades away when that would overflow the clock (a timer set from a session file
/// or a flag may be absurdly long; it must never panic).
pub fn deadline_after(after: Duration) -> tokio::time::Instant {
    let now = tokio::time::Instant::now();
    now.checked_add(after)
        .unwrap_or_else(|| now + Duration::from_secs(30 * 365 * 86_400))
}

/// A timer period from milliseconds, capped at a hundred years so that adding it to a time cannot overflow.
pub fn timer_period(millis: u64) -> Duration {
    Duration::from_millis(millis.min(100 * 365 * 86_400_000))
}

/// Runs `run`; a panic inside it comes back as its message instead of unwinding further.
pub async fn catch_panic<T>(run: impl std::future::Future<Output = T>) -> Result<T, String> {
    use futures_util::FutureExt;
    std::panic::AssertUnwindSafe(run)
        .catch_unwind()
        .await
        .map_err(|panic| {
            panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "no message".into())
        })
}

/// Waits for the next tick of `timer`, or forever when there is none (a `select!` branch that never fires).
pub async fn tick(timer: &mut Option<tokio::time::Interval>) {
    match timer {
        Some(t) => {
            t.tick().await;
        }
        None => std::future::pending().await,
    }
}

/// Waits until `deadline`, or forever when there is none.
pub async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn absurd_timer_lengths_saturate_instead_of_panicking() {
        // Steps' delays, expectation timeouts and keepalive intervals come from session files as any u64.
        let far = deadline_after(Duration::from_millis(u64::MAX));
        assert!(far > tokio::time::Instant::now() + Duration::from_secs(86_400 * 365));
        let period = timer_period(u64::MAX);
        let mut interval = tokio::time::interval_at(deadline_after(period), period);
        tokio::select! {
            _ = interval.tick() => panic!("a hundred years did not pass"),
            () = tokio::time::sleep(Duration::from_millis(5)) => {}
        }
    }
}
