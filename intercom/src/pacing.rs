//! Pacing by Intercom's rate-limit headers.
//!
//! Intercom enforces its per-minute limit over short windows (10 s): each response says how many requests the
//! current window allows (`X-RateLimit-Limit`), how many are left (`X-RateLimit-Remaining`) and when the window
//! ends (`X-RateLimit-Reset`, unix seconds). The pacer keeps its own count of what is left, lowered by what the
//! server reports (other apps of the workspace share the budget), lets requests go while some is left and holds
//! them until the reset when none is. A full sync so spends each window's whole budget and then waits, which uses
//! the limit almost entirely without drawing 429s; a 429 anyway (a neighbour's burst) empties the budget until the
//! reset it names.
//!
//! The reset is Intercom's clock; it is turned into this machine's time with the same response's `Date` header, so
//! a skewed local clock neither stalls windows nor sends early.

use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::header::HeaderMap;

/// Slack after a window's reset instant before sending again: the reset is given in whole seconds.
const RESET_MARGIN: Duration = Duration::from_millis(30);
/// Seconds by which this machine's clock may differ from Intercom's `Date` and still be trusted for the reset.
const MAX_CLOCK_DISAGREEMENT: u64 = 2;
/// The longest a rate-limit window can last (Intercom's are 10 s; per-minute at most).
const MAX_WINDOW: Duration = Duration::from_secs(60);
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
    /// Unix seconds, Intercom's clock.
    pub reset: u64,
    /// The response's `Date` (Intercom's clock, unix seconds), when it had one.
    pub server_now: Option<u64>,
}

/// A response's `Date` header (Intercom's clock), unix seconds.
pub fn server_date(headers: &HeaderMap) -> Option<u64> {
    let date = httpdate::parse_http_date(headers.get(reqwest::header::DATE)?.to_str().ok()?).ok()?;
    Some(date.duration_since(UNIX_EPOCH).ok()?.as_secs())
}

impl RateLimitHeaders {
    /// Reads the three headers; `None` unless all are present and numeric.
    pub fn parse(headers: &HeaderMap) -> Option<Self> {
        let number = |name: &str| headers.get(name)?.to_str().ok()?.trim().parse::<u64>().ok();
        let server_now = server_date(headers);
        Some(Self {
            limit: number("x-ratelimit-limit")?,
            remaining: number("x-ratelimit-remaining")?,
            reset: number("x-ratelimit-reset")?,
            server_now,
        })
    }

    /// When the window ends, in this machine's time. When this machine's clock agrees with Intercom's (within
    /// the headers' one-second precision) the reset is used as it is; when it does not, the time left by Intercom's
    /// clock (reset − `Date`) is counted from now, so a skewed clock neither stalls windows nor sends early. A
    /// reset that is not within an hour of `Date` cannot be a window on the same clock and is used as it is.
    fn reset_at(&self) -> SystemTime {
        let absolute = UNIX_EPOCH + Duration::from_secs(self.reset);
        let Some(server_now) = self.server_now else { return absolute };
        let now = SystemTime::now();
        let local = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let time_left = self.reset.checked_sub(server_now).filter(|left| *left <= 3_600);
        match time_left {
            Some(left) if local.abs_diff(server_now) > MAX_CLOCK_DISAGREEMENT => now + Duration::from_secs(left),
            _ => absolute,
        }
    }
}

/// A request counted as in flight; give it back with [`Permit::observe`]. Dropped unobserved (the request's future
/// was cancelled), it is simply no longer in flight.
#[derive(Debug)]
pub struct Permit<'a> {
    pacer: &'a Pacer,
    observed: bool,
}

impl Permit<'_> {
    /// Learns from the response's headers (`None` when the request failed before any response).
    pub fn observe(mut self, headers: Option<RateLimitHeaders>, status_429: bool) {
        self.observed = true;
        self.pacer.observe(headers, status_429);
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        if !self.observed {
            let mut window = self.pacer.state.lock().expect("pacer lock");
            window.in_flight = window.in_flight.saturating_sub(1);
        }
    }
}

impl Pacer {
    /// Waits until a request may be sent, and counts it as in flight until the permit is observed or dropped.
    pub async fn acquire(&self) -> Permit<'_> {
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
                        return Permit { pacer: self, observed: false };
                    }
                }
            };
            tokio::time::sleep(wait).await;
        }
    }

    fn observe(&self, headers: Option<RateLimitHeaders>, status_429: bool) {
        let mut window = self.state.lock().expect("pacer lock");
        window.in_flight = window.in_flight.saturating_sub(1);
        let Some(headers) = headers else {
            if status_429 {
                window.remaining = Some(0);
                window.reset_at = Some(SystemTime::now() + DEFAULT_PENALTY);
            }
            return;
        };
        // A window never lasts more than a minute: a reset further away is a bogus header, not a reason to stall.
        let reset_at = headers.reset_at().min(SystemTime::now() + MAX_WINDOW);
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
    #[cfg(test)]
    fn budget(&self) -> (Option<u64>, Option<u64>) {
        let window = self.state.lock().expect("pacer lock");
        (window.limit, window.remaining)
    }
}

impl Window {
    /// Once the known window has ended, the next one starts with the whole limit (minus what is in flight), or,
    /// when no response has told the limit yet (a 429 without headers), with no known budget.
    fn roll_over(&mut self, now: SystemTime) {
        if let Some(reset_at) = self.reset_at
            && now >= reset_at + RESET_MARGIN
        {
            self.remaining = self.limit.map(|limit| limit.saturating_sub(self.in_flight));
            self.reset_at = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(limit: u64, remaining: u64, reset: u64) -> Option<RateLimitHeaders> {
        Some(RateLimitHeaders { limit, remaining, reset, server_now: None })
    }

    fn unix_now() -> u64 {
        SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_secs()
    }

    #[tokio::test]
    async fn spends_the_reported_budget_then_holds_until_the_reset() {
        let pacer = Pacer::default();
        let reset = unix_now() + 1;
        pacer.acquire().await.observe(headers(10, 2, reset), false);
        assert_eq!(pacer.budget(), (Some(10), Some(2)));
        let _first = pacer.acquire().await;
        let _second = pacer.acquire().await;
        assert_eq!(pacer.budget().1, Some(0));
        let started = std::time::Instant::now();
        let _third = pacer.acquire().await;
        let waited = started.elapsed();
        let until_reset = (UNIX_EPOCH + Duration::from_secs(reset)).duration_since(SystemTime::now());
        assert!(until_reset.is_err(), "the third request went out before the reset (waited {waited:?})");
    }

    #[tokio::test]
    async fn a_429_empties_the_budget_until_its_reset() {
        let pacer = Pacer::default();
        pacer.acquire().await.observe(headers(100, 50, unix_now() + 30), false);
        pacer.acquire().await.observe(headers(100, 0, unix_now() + 30), true);
        assert_eq!(pacer.budget().1, Some(0));
    }

    #[tokio::test]
    async fn a_429_without_headers_holds_requests_briefly_and_never_for_good() {
        let pacer = Pacer::default();
        pacer.acquire().await.observe(None, true);
        assert_eq!(pacer.budget(), (None, Some(0)));
        let started = std::time::Instant::now();
        let _next = pacer.acquire().await;
        assert!(started.elapsed() >= DEFAULT_PENALTY, "sent before the penalty ended");
    }

    #[tokio::test]
    async fn cancelled_requests_do_not_stay_in_flight() {
        let pacer = Pacer::default();
        drop(pacer.acquire().await);
        drop(pacer.acquire().await);
        assert_eq!(pacer.state.lock().unwrap().in_flight, 0);
        pacer.acquire().await.observe(headers(100, 90, unix_now() + 60), false);
        assert_eq!(pacer.budget().1, Some(90), "no leaked in-flight request is charged to the new window");
    }

    #[test]
    fn with_a_skewed_clock_the_reset_is_read_on_intercoms_clock() {
        // Intercom's clock is far behind this machine's: the window still ends 7 s from now.
        let skewed = RateLimitHeaders { limit: 10, remaining: 0, reset: 1_000_007, server_now: Some(1_000_000) };
        let until = skewed.reset_at().duration_since(SystemTime::now()).expect("in the future");
        assert!(until > Duration::from_secs(6) && until <= Duration::from_secs(7), "{until:?}");
    }

    #[test]
    fn with_agreeing_clocks_or_an_implausible_reset_the_reset_is_used_as_is() {
        let now = unix_now();
        let agreeing = RateLimitHeaders { limit: 10, remaining: 0, reset: now + 5, server_now: Some(now) };
        assert_eq!(agreeing.reset_at(), UNIX_EPOCH + Duration::from_secs(now + 5));
        // A Date on another clock than the reset (months apart): the reset is taken as it is.
        let apart = RateLimitHeaders { limit: 10, remaining: 0, reset: now + 5, server_now: Some(now - 5_000_000) };
        assert_eq!(apart.reset_at(), UNIX_EPOCH + Duration::from_secs(now + 5));
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
        map.insert("Date", "Mon, 21 Sep 2026 14:13:20 GMT".parse().unwrap());
        assert_eq!(
            RateLimitHeaders::parse(&map),
            Some(RateLimitHeaders {
                limit: 1667,
                remaining: 12,
                reset: 1_790_000_010,
                server_now: Some(1_790_000_000)
            })
        );
        map.remove("X-RateLimit-Reset");
        assert_eq!(RateLimitHeaders::parse(&map), None);
    }
}
