//! Nango's API rate limit: a fixed 60-second window per environment, opened by the window's
//! first request, one point per authenticated request. Kept in memory per replica (like
//! Nango without Redis): with N replicas an environment gets up to N times the limit; see
//! docs/operations.md.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

const WINDOW: Duration = Duration::from_secs(60);

/// The limiter's answer for one request: what the `X-RateLimit-*` headers say, and whether
/// (and for how long) the request is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// Points per window (`X-RateLimit-Limit`).
    pub limit: u32,
    /// Points left in this window (`X-RateLimit-Remaining`).
    pub remaining: u32,
    /// When the window ends, in Unix seconds (`X-RateLimit-Reset`).
    pub reset: u64,
    /// `Some(seconds)` when the request is refused (`Retry-After`).
    pub retry_after: Option<u64>,
}

#[derive(Debug)]
struct Window {
    started: Instant,
    ends_unix: u64,
    used: u32,
}

/// Per-environment windows of one replica.
#[derive(Debug)]
pub struct Limiter {
    limit: u32,
    windows: Mutex<HashMap<i64, Window>>,
}

impl Limiter {
    /// A limiter of `per_minute` points per environment; `None` turns it off.
    pub fn new(per_minute: Option<u32>) -> Self {
        Self { limit: per_minute.unwrap_or(0), windows: Mutex::new(HashMap::new()) }
    }

    /// Spends one point of `environment`; `None` when limiting is off.
    pub fn check(&self, environment: i64) -> Option<Decision> {
        if self.limit == 0 {
            return None;
        }
        let now = Instant::now();
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        let window = windows.entry(environment).or_insert_with(|| new_window(now));
        if now.duration_since(window.started) >= WINDOW {
            *window = new_window(now);
        }
        let left = WINDOW.saturating_sub(now.duration_since(window.started));
        if window.used >= self.limit {
            let retry_after = left.as_secs() + u64::from(left.subsec_nanos() > 0);
            return Some(Decision {
                limit: self.limit,
                remaining: 0,
                reset: window.ends_unix,
                retry_after: Some(retry_after.max(1)),
            });
        }
        window.used += 1;
        Some(Decision {
            limit: self.limit,
            remaining: self.limit - window.used,
            reset: window.ends_unix,
            retry_after: None,
        })
    }
}

fn new_window(now: Instant) -> Window {
    let unix = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    let end = unix + WINDOW;
    Window { started: now, ends_unix: end.as_secs() + u64::from(end.subsec_nanos() > 0), used: 0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_down_then_refuses_per_environment() {
        let limiter = Limiter::new(Some(2));
        let first = limiter.check(1).unwrap();
        assert_eq!((first.limit, first.remaining, first.retry_after), (2, 1, None));
        assert_eq!(limiter.check(1).unwrap().remaining, 0);
        let refused = limiter.check(1).unwrap();
        assert!(refused.retry_after.is_some_and(|s| (1..=60).contains(&s)));
        assert_eq!(refused.reset, first.reset);
        assert_eq!(limiter.check(2).unwrap().remaining, 1, "environments have their own window");
        assert!(Limiter::new(None).check(1).is_none());
    }
}
