//! Exponential backoff, the one schedule behind every retry loop: the proxy's upstream
//! retries, the webhook outbox and concurrent integration updates. Each caller keeps its own
//! base and cap; this module owns the arithmetic (no overflow, whatever the attempt) and the
//! randomness (the operating system's, not an id's bytes).

use std::time::Duration;

/// Waits of `base × 2^n` before the `n`-th retry, never more than `cap`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    base: Duration,
    cap: Duration,
}

impl Backoff {
    /// A schedule that starts at `base` and doubles up to `cap`.
    pub const fn new(base: Duration, cap: Duration) -> Self {
        Self { base, cap }
    }

    /// The wait for step `n`: `base × 2^n`, capped. Deterministic, for callers whose retries
    /// are spread out already (the webhook outbox: one row per delivery, polled).
    pub fn delay(self, n: u32) -> Duration {
        let factor = 1u32.checked_shl(n).unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.cap)
    }

    /// A uniformly random wait in `[0, delay(n)]` ("full jitter"), so callers that failed
    /// together do not retry together. If the random source fails, the full delay is used:
    /// the spread is lost, never the bound.
    pub fn jittered(self, n: u32) -> Duration {
        let ceiling = self.delay(n);
        let mut bytes = [0u8; 4];
        if getrandom::fill(&mut bytes).is_err() {
            return ceiling;
        }
        ceiling.mul_f64(f64::from(u32::from_le_bytes(bytes)) / f64::from(u32::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn delays_double_from_the_base_and_stop_at_the_cap() {
        let b = Backoff::new(3000 * MS, Duration::from_secs(600));
        let waits: Vec<u64> = (0..10).map(|n| b.delay(n).as_secs()).collect();
        assert_eq!(waits, [3, 6, 12, 24, 48, 96, 192, 384, 600, 600]);
        assert_eq!(b.delay(u32::MAX), Duration::from_secs(600), "no overflow, however many attempts");
        assert_eq!(Backoff::new(Duration::MAX, MS).delay(40), MS);
        assert_eq!(Backoff::new(Duration::ZERO, MS).jittered(5), Duration::ZERO);
    }

    #[test]
    fn jittered_waits_spread_over_the_whole_range_and_never_exceed_the_delay() {
        let b = Backoff::new(250 * MS, Duration::from_secs(10));
        let waits: Vec<Duration> = (0..200).map(|_| b.jittered(3)).collect();
        assert!(waits.iter().all(|w| *w <= 2000 * MS), "{waits:?}");
        // Each bound below fails by chance with probability 2^-200 or less.
        assert!(waits.iter().any(|w| *w < 1000 * MS) && waits.iter().any(|w| *w > 1000 * MS), "{waits:?}");
        assert!(waits.windows(2).any(|w| w[0] != w[1]), "random, not constant");
        assert!((0..200).all(|_| b.jittered(40) <= Duration::from_secs(10)), "capped");
    }
}
