//! Pacing by Intercom's rate-limit headers.
//!
//! Intercom enforces its per-minute limit over short windows (10 s): each response says how many requests the
//! current window allows (`X-RateLimit-Limit`), how many are left (`X-RateLimit-Remaining`) and when the window
//! ends (`X-RateLimit-Reset`, unix seconds). The pacer keeps its own count of what is left, lowered by what the
//! server reports (other apps of the workspace share the budget), lets requests go while some is left and holds
//! them until the reset when none is. A full sync so spends each window's whole budget and then waits, which uses
//! the limit almost entirely without drawing 429s; a 429 anyway (clock skew, a neighbour's burst) empties the
//! budget until the reset it names.

use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::header::HeaderMap;

/// Slack after a window's reset instant before sending again: the reset is given in whole seconds.
const RESET_MARGIN: Duration = Duration::from_millis(30);
/// How long to hold requests after a 429 that carried no usable reset.
const DEFAULT_PENALTY: Duration = Duration::from_secs(2);

/// Shared by every request of one client.
#[derive(Debug, Default)]
pub struct Pacer {
    state: Mutex<Window>,
}

#[derive(Debug, Default)]
struct Window {
    /// Requests the window allows; unknown until the first response.
    limit: Option<u64>,
    /// Requests we may still send in the current window.
    remaining: Option<u64>,
    /// When the current window ends.
    reset_at: Option<SystemTime>,
    /// Sent and not yet answered.
    in_flight: u64,
}

/// The rate-limit headers of one response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitHeaders {
    pub limit: u64,
    pub remaining: u64,
    /// Unix seconds.
    pub reset: u64,
}

impl RateLimitHeaders {
    /// Reads the three headers; `None` unless all are present and numeric.
    pub fn parse(headers: &HeaderMap) -> Option<Self> {
        let number = |name: &str| headers.get(name)?.to_str().ok()?.trim().parse::<u64>().ok();
        Some(Self {
            limit: number("x-ratelimit-limit")?,
            remaining: number("x-ratelimit-remaining")?,
            reset: number("x-ratelimit-reset")?,
        })
    }

    fn reset_at(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(self.reset)
    }
}

impl Pacer {
    /// Waits until a request may be sent, and counts it as sent.
    pub async fn acquire(&self) {
        loop {
            let wait = {
                let mut window = self.state.lock().expect("pacer lock");
                window.roll_over(SystemTime::now());
                match (window.remaining, window.reset_at) {
                    (Some(0), Some(reset_at)) => {
                        reset_at.duration_since(SystemTime::now()).unwrap_or_default() + RESET_MARGIN
                    }
                    (remaining, _) => {
                        window.remaining = remaining.map(|n| n.saturating_sub(1));
                        window.in_flight += 1;
                        return;
                    }
                }
            };
            tokio::time::sleep(wait).await;
        }
    }

    /// Learns from a response's headers (call once per [`Pacer::acquire`], even when the request failed).
    pub fn observe(&self, headers: Option<RateLimitHeaders>, status_429: bool) {
        let mut window = self.state.lock().expect("pacer lock");
        window.in_flight = window.in_flight.saturating_sub(1);
        let Some(headers) = headers else {
            if status_429 {
                window.remaining = Some(0);
                window.reset_at = Some(SystemTime::now() + DEFAULT_PENALTY);
            }
            return;
        };
        let reset_at = headers.reset_at();
        let newer_window = window.reset_at.is_none_or(|known| reset_at > known);
        window.limit = Some(headers.limit);
        if status_429 {
            window.remaining = Some(0);
            window.reset_at = Some(reset_at.max(window.reset_at.unwrap_or(reset_at)));
        } else if newer_window {
            // Requests still in flight were probably counted in this new window too.
            window.remaining = Some(headers.remaining.saturating_sub(window.in_flight));
            window.reset_at = Some(reset_at);
        } else if reset_at == window.reset_at.unwrap_or(reset_at) {
            window.remaining = Some(window.remaining.unwrap_or(headers.remaining).min(headers.remaining));
        }
    }

    /// The window's budget as last known: (limit, remaining).
    pub fn budget(&self) -> (Option<u64>, Option<u64>) {
        let window = self.state.lock().expect("pacer lock");
        (window.limit, window.remaining)
    }
}

impl Window {
    /// Once the known window has ended, the next one starts with the whole limit (minus what is in flight).
    fn roll_over(&mut self, now: SystemTime) {
        if let (Some(reset_at), Some(limit)) = (self.reset_at, self.limit)
            && now >= reset_at + RESET_MARGIN
        {
            self.remaining = Some(limit.saturating_sub(self.in_flight));
            self.reset_at = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(limit: u64, remaining: u64, reset: u64) -> Option<RateLimitHeaders> {
        Some(RateLimitHeaders { limit, remaining, reset })
    }

    fn unix_now() -> u64 {
        SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_secs()
    }

    #[tokio::test]
    async fn spends_the_reported_budget_then_holds_until_the_reset() {
        let pacer = Pacer::default();
        pacer.acquire().await;
        let reset = unix_now() + 1;
        pacer.observe(headers(10, 2, reset), false);
        assert_eq!(pacer.budget(), (Some(10), Some(2)));
        pacer.acquire().await;
        pacer.acquire().await;
        assert_eq!(pacer.budget().1, Some(0));
        let started = std::time::Instant::now();
        pacer.acquire().await;
        let waited = started.elapsed();
        let until_reset = (UNIX_EPOCH + Duration::from_secs(reset)).duration_since(SystemTime::now());
        assert!(until_reset.is_err(), "the third request went out before the reset (waited {waited:?})");
    }

    #[tokio::test]
    async fn a_429_empties_the_budget_until_its_reset() {
        let pacer = Pacer::default();
        pacer.acquire().await;
        pacer.observe(headers(100, 50, unix_now() + 30), false);
        pacer.acquire().await;
        pacer.observe(headers(100, 0, unix_now() + 30), true);
        assert_eq!(pacer.budget().1, Some(0));
    }

    #[test]
    fn a_lower_remaining_from_the_server_wins() {
        let pacer = Pacer::default();
        let reset = unix_now() + 60;
        pacer.state.lock().unwrap().in_flight = 2;
        pacer.observe(headers(100, 90, reset), false);
        assert_eq!(pacer.budget().1, Some(89), "in-flight requests count against a new window");
        pacer.observe(headers(100, 40, reset), false);
        assert_eq!(pacer.budget().1, Some(40));
        pacer.observe(headers(100, 60, reset), false);
        assert_eq!(pacer.budget().1, Some(40), "a stale, higher figure does not raise the budget");
    }

    #[test]
    fn reads_the_headers() {
        let mut map = HeaderMap::new();
        map.insert("X-RateLimit-Limit", "1667".parse().unwrap());
        map.insert("X-RateLimit-Remaining", "12".parse().unwrap());
        map.insert("X-RateLimit-Reset", "1790000010".parse().unwrap());
        assert_eq!(
            RateLimitHeaders::parse(&map),
            Some(RateLimitHeaders { limit: 1667, remaining: 12, reset: 1_790_000_010 })
        );
        map.remove("X-RateLimit-Reset");
        assert_eq!(RateLimitHeaders::parse(&map), None);
    }
}
