//! Per-key rate limits (governor's GCRA): each key gets its own bucket, with the default quota or the one the
//! config gives that key. A request over the limit gets 429 and `Retry-After` before any tool runs.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

use crate::config::RateLimit;

pub struct RateLimits {
    default: Quota,
    overrides: BTreeMap<String, Quota>,
    buckets: Mutex<HashMap<Arc<str>, Arc<DefaultDirectRateLimiter>>>,
    /// The one bucket of a server without keys (kept apart: no key's name can reach it).
    keyless: DefaultDirectRateLimiter,
    clock: DefaultClock,
}

impl std::fmt::Debug for RateLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimits").field("default", &self.default).field("overrides", &self.overrides).finish()
    }
}

fn quota(limit: &RateLimit) -> Quota {
    Quota::per_second(limit.per_second).allow_burst(limit.burst)
}

impl RateLimits {
    pub fn new(default: &RateLimit, overrides: &BTreeMap<String, RateLimit>, keyless: &RateLimit) -> Self {
        Self {
            default: quota(default),
            overrides: overrides.iter().map(|(key, limit)| (key.clone(), quota(limit))).collect(),
            buckets: Mutex::new(HashMap::new()),
            keyless: RateLimiter::direct(quota(keyless)),
            clock: DefaultClock::default(),
        }
    }

    /// Takes one request from the keyless bucket, or says how long until one is available.
    pub fn check_keyless(&self) -> Result<(), Duration> {
        self.keyless.check().map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }

    /// Takes one request from `key`'s bucket, or says how long until one is available.
    pub fn check(&self, key: &Arc<str>) -> Result<(), Duration> {
        let bucket = {
            let mut buckets = self.buckets.lock().expect("rate limit lock");
            Arc::clone(buckets.entry(Arc::clone(key)).or_insert_with(|| {
                let quota = self.overrides.get(&**key).copied().unwrap_or(self.default);
                Arc::new(RateLimiter::direct(quota))
            }))
        };
        bucket.check().map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroU32;

    use super::*;

    fn limit(per_second: u32, burst: u32) -> RateLimit {
        RateLimit { per_second: NonZeroU32::new(per_second).unwrap(), burst: NonZeroU32::new(burst).unwrap() }
    }

    #[test]
    fn each_key_has_its_own_bucket_and_override() {
        let limits = RateLimits::new(&limit(1, 3), &BTreeMap::from([("slow".to_owned(), limit(1, 1))]), &limit(1, 2));
        let (a, b, slow): (Arc<str>, Arc<str>, Arc<str>) = ("a".into(), "b".into(), "slow".into());
        for _ in 0..3 {
            limits.check(&a).unwrap();
        }
        let wait = limits.check(&a).unwrap_err();
        assert!(wait > Duration::ZERO && wait <= Duration::from_secs(1), "{wait:?}");
        limits.check(&b).unwrap();
        limits.check(&slow).unwrap();
        assert!(limits.check(&slow).is_err());
        limits.check_keyless().unwrap();
        limits.check_keyless().unwrap();
        assert!(limits.check_keyless().is_err(), "the keyless bucket is its own");
        limits.check(&Arc::from("anonymous")).unwrap();
    }
}
