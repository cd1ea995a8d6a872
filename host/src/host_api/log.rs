//! `log`: plugin messages into the host's log, attributed and bounded: each message, each call's total, and each
//! third-party plugin's rate across all its calls (four callers each within their per-call budget wrote 697 MB
//! in 5 s before the rate existed). Line breaks and control characters in messages cannot forge log lines:
//! the log writer escapes them (see [`crate::observability`]).

use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

use super::{HostApi, LOG_BUDGET_PER_CALL};
use crate::bindings::log::{Host, Level};

/// Longest single message kept; longer ones are cut.
pub const MAX_MESSAGE_BYTES: usize = 4096;

/// Seconds' worth of a plugin's rate it may write at once.
const BURST_SECONDS: u32 = 4;

/// How often, at most, the host notes that a plugin's log output is being dropped.
const DROP_NOTICE_EVERY: Duration = Duration::from_secs(10);

/// A plugin's log rate: bytes per second across all its calls (its `log` calls and what it prints).
pub struct LogRate {
    bytes: DefaultDirectRateLimiter,
    burst: u32,
    /// When dropping was last noted, and what was dropped since.
    dropped: Mutex<(Option<Instant>, u64)>,
}

impl std::fmt::Debug for LogRate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogRate").field("burst", &self.burst).finish_non_exhaustive()
    }
}

impl LogRate {
    pub fn new(bytes_per_second: u32) -> Self {
        let per_second = NonZeroU32::new(bytes_per_second).unwrap_or(NonZeroU32::MIN);
        let burst = per_second.saturating_mul(NonZeroU32::new(BURST_SECONDS).expect("nonzero"));
        Self {
            bytes: RateLimiter::direct(Quota::per_second(per_second).allow_burst(burst)),
            burst: burst.get(),
            dropped: Mutex::new((None, 0)),
        }
    }

    /// Whether `plugin` may write `bytes` now; if not, they are counted as dropped and the drop is noted in the
    /// log (at most every [`DROP_NOTICE_EVERY`]).
    pub fn admit(&self, plugin: &str, bytes: usize) -> bool {
        let Some(cells) = NonZeroU32::new(u32::try_from(bytes.min(self.burst as usize)).unwrap_or(self.burst)) else {
            return true;
        };
        if matches!(self.bytes.check_n(cells), Ok(Ok(()))) {
            return true;
        }
        let mut dropped = self.dropped.lock().expect("log rate lock");
        dropped.1 += bytes as u64;
        if dropped.0.is_none_or(|noted| noted.elapsed() >= DROP_NOTICE_EVERY) {
            tracing::warn!(
                plugin,
                dropped_bytes = dropped.1,
                "plugin writes to the log faster than its rate allows; its messages are dropped"
            );
            *dropped = (Some(Instant::now()), 0);
        }
        false
    }
}

impl Host for HostApi {
    async fn log(&mut self, level: Level, message: String) {
        if self.log_budget == 0 {
            return;
        }
        let mut message = message;
        truncate_at_char_boundary(&mut message, MAX_MESSAGE_BYTES.min(self.log_budget));
        self.log_budget -= message.len();
        let plugin = &*self.plugin;
        if let Some(rate) = &self.log_rate
            && !rate.admit(plugin, message.len())
        {
            return;
        }
        match level {
            Level::Trace => tracing::trace!(plugin, "{message}"),
            Level::Debug => tracing::debug!(plugin, "{message}"),
            Level::Info => tracing::info!(plugin, "{message}"),
            Level::Warn => tracing::warn!(plugin, "{message}"),
            Level::Error => tracing::error!(plugin, "{message}"),
        }
        if self.log_budget == 0 {
            tracing::warn!(
                plugin,
                "plugin used its log budget of {LOG_BUDGET_PER_CALL} bytes for this call; further messages dropped"
            );
        }
    }
}

pub(crate) fn truncate_at_char_boundary(text: &mut String, max_bytes: usize) {
    if text.len() > max_bytes {
        let mut end = max_bytes;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plugin_gets_its_burst_then_its_rate() {
        let rate = LogRate::new(1000);
        assert!(rate.admit("p", 3000));
        assert!(rate.admit("p", 1000), "the burst is four seconds' worth");
        assert!(!rate.admit("p", 1000), "then it must wait");
        assert!(rate.admit("p", 0), "nothing to write is always allowed");
        assert_eq!(rate.dropped.lock().unwrap().1, 0, "the notice reset the count");
    }
}
