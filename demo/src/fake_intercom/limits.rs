//! Intercom's rate limit and the fake's request statistics.
//!
//! Intercom spreads the per-minute limit over fixed 10-second windows (aligned to unix time), so the budget of a
//! window is `ceil(per_minute * window / 60 s)` and a burst is throttled long before the minute's total is spent.
//! Every authenticated response says where the window stands (`X-RateLimit-Limit`, `-Remaining`, `-Reset`), which
//! is what a pacing client reads. Windows use the wall clock, not the fake's workspace clock.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// What the headers report when no limit is configured: a budget no test or benchmark comes near.
const UNLIMITED: u64 = 1_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub limit: u64,
    pub remaining: u64,
    /// Unix seconds at which the current window ends.
    pub reset: u64,
    /// This request fits in the window's budget.
    pub allowed: bool,
}

#[derive(Debug)]
pub struct Limiter {
    per_window: Option<u64>,
    window_ms: u64,
    /// (window number, requests admitted in it)
    state: Mutex<(u64, u64)>,
    /// Requests admitted per window that has ended: (window number, count), oldest first.
    history: Mutex<Vec<(u64, u64)>>,
}

impl Limiter {
    pub fn new(per_minute: Option<u32>, window: Duration) -> Self {
        let window_ms = u64::try_from(window.as_millis()).unwrap_or(u64::MAX).max(1);
        let per_window = per_minute.map(|n| u64::from(n).saturating_mul(window_ms).div_ceil(60_000).max(1));
        Self { per_window, window_ms, state: Mutex::new((0, 0)), history: Mutex::new(Vec::new()) }
    }

    /// Counts one request against the current window.
    pub fn admit(&self) -> Window {
        let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
        let number = now_ms / self.window_ms;
        let reset = (number + 1).saturating_mul(self.window_ms).div_ceil(1_000);
        let limit = self.per_window.unwrap_or(UNLIMITED);
        let mut state = self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if state.0 != number {
            if state.1 > 0 {
                self.history.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).push(*state);
            }
            *state = (number, 0);
        }
        let allowed = state.1 < limit || self.per_window.is_none();
        if allowed {
            state.1 += 1;
        }
        Window { limit, remaining: limit.saturating_sub(state.1), reset, allowed }
    }

    /// Requests admitted in each window that had any, oldest first, the current one last: (window number, count).
    /// Benchmarks read utilisation from the windows between the first and the last.
    pub fn window_counts(&self) -> Vec<(u64, u64)> {
        let mut counts = self.history.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone();
        let current = *self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if current.1 > 0 {
            counts.push(current);
        }
        counts
    }

    /// The budget of one window, when a limit is configured.
    pub fn per_window(&self) -> Option<u64> {
        self.per_window
    }

    /// Where the current window stands, without counting a request (for injected 429s).
    pub fn peek(&self) -> Window {
        let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
        let number = now_ms / self.window_ms;
        let reset = (number + 1).saturating_mul(self.window_ms).div_ceil(1_000);
        let limit = self.per_window.unwrap_or(UNLIMITED);
        let state = self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let used = if state.0 == number { state.1 } else { 0 };
        Window { limit, remaining: limit.saturating_sub(used), reset, allowed: false }
    }

    /// The 429 message, as Intercom words it: "Exceeded rate limit of 167 in 10_seconds".
    pub fn exceeded_message(&self, limit: u64) -> String {
        format!("Exceeded rate limit of {limit} in {}_seconds", self.window_ms.div_ceil(1_000))
    }
}

/// What the fake has seen since it started or since [`super::FakeIntercom::reset_stats`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FakeStats {
    /// Every request, whatever its answer.
    pub total: u64,
    /// Per route, e.g. "POST /conversations/search", "GET /conversations/{id}"; "unknown" for unrouted paths.
    pub routes: BTreeMap<String, u64>,
    /// Responses with status 429, from the rate limit or injected.
    pub rate_limited: u64,
    pub first_429_at: Option<Instant>,
    pub last_429_at: Option<Instant>,
    /// Faults applied (each request that got one counts once).
    pub faults_injected: u64,
    /// Requests answered 401.
    pub unauthorized: u64,
    /// Requests without `Intercom-Version: 2.16` (they are still served).
    pub missing_version: u64,
}

#[derive(Debug, Default)]
pub struct StatsCell {
    inner: Mutex<Counters>,
}

#[derive(Debug, Default)]
struct Counters {
    total: u64,
    routes: HashMap<&'static str, u64>,
    rate_limited: u64,
    first_429_at: Option<Instant>,
    last_429_at: Option<Instant>,
    faults_injected: u64,
    unauthorized: u64,
    missing_version: u64,
}

/// One event to count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    Request { route: &'static str, versioned: bool },
    Unauthorized,
    RateLimited,
    Fault,
}

impl StatsCell {
    pub fn record(&self, event: Event) {
        let mut c = self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        match event {
            Event::Request { route, versioned } => {
                c.total += 1;
                *c.routes.entry(route).or_insert(0) += 1;
                c.missing_version += u64::from(!versioned);
            }
            Event::Unauthorized => c.unauthorized += 1,
            Event::RateLimited => {
                let now = Instant::now();
                c.rate_limited += 1;
                c.first_429_at.get_or_insert(now);
                c.last_429_at = Some(now);
            }
            Event::Fault => c.faults_injected += 1,
        }
    }

    pub fn snapshot(&self) -> FakeStats {
        let c = self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        FakeStats {
            total: c.total,
            routes: c.routes.iter().map(|(route, n)| ((*route).to_owned(), *n)).collect(),
            rate_limited: c.rate_limited,
            first_429_at: c.first_429_at,
            last_429_at: c.last_429_at,
            faults_injected: c.faults_injected,
            unauthorized: c.unauthorized,
            missing_version: c.missing_version,
        }
    }

    pub fn reset(&self) {
        *self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Counters::default();
    }
}
