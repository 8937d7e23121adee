//! Time, injected (architecture principle 7): components ask a [`Clock`] for "now" instead
//! of the system, so timeouts can be tested by moving a [`ManualClock`] forward rather
//! than by waiting.

use std::fmt::Debug;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Where a component reads the time: Unix milliseconds.
pub trait Clock: Send + Sync + Debug {
    fn now_ms(&self) -> u64;
}

/// The system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }
}

/// A clock that only moves when told to (tests, deterministic scenarios). Clones share
/// the same time.
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<AtomicU64>);

impl ManualClock {
    /// A clock reading the system time now, frozen there.
    pub fn starting_now() -> ManualClock {
        ManualClock(Arc::new(AtomicU64::new(SystemClock.now_ms())))
    }

    /// A clock frozen at `ms` (Unix ms).
    pub fn at(ms: u64) -> ManualClock {
        ManualClock(Arc::new(AtomicU64::new(ms)))
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: std::time::Duration) {
        let ms = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
        self.0.fetch_add(ms, Ordering::SeqCst);
    }

    /// Moves the clock forward to `ms`; a time already passed leaves it where it is.
    pub fn advance_to(&self, ms: u64) {
        self.0.fetch_max(ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// The clock components use unless told otherwise.
pub fn system() -> Arc<dyn Clock> {
    Arc::new(SystemClock)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_told_and_clones_share_it() {
        let clock = ManualClock::starting_now();
        let other = clock.clone();
        let start = clock.now_ms();
        assert_eq!(other.now_ms(), start);
        other.advance(std::time::Duration::from_secs(30));
        assert_eq!(clock.now_ms(), start + 30_000);
        clock.advance_to(start + 40_000);
        clock.advance_to(start + 35_000);
        assert_eq!(other.now_ms(), start + 40_000, "never backwards");
        assert_eq!(ManualClock::at(5).now_ms(), 5);
    }
}
