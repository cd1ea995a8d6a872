//! Per-key rate limits (GCRA): each key gets its own bucket, with the default quota or the one the config gives
//! that key. A request over the limit gets 429 and `Retry-After` before any tool runs.
//!
//! With Redis ([`SharedRedis`]) the buckets are kept there, shared by every replica; without it, or while it does
//! not answer, each replica keeps its own (governor's, in memory).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

use crate::config::RateLimit;
use crate::shared::SharedRedis;

pub struct RateLimits {
    default: RateLimit,
    overrides: BTreeMap<String, RateLimit>,
    keyless_limit: RateLimit,
    buckets: Mutex<HashMap<Arc<str>, Arc<DefaultDirectRateLimiter>>>,
    /// The one bucket of a server without keys (kept apart: no key's name can reach it).
    keyless: DefaultDirectRateLimiter,
    clock: DefaultClock,
    shared: Option<Arc<SharedRedis>>,
}

impl std::fmt::Debug for RateLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimits")
            .field("default", &self.default)
            .field("overrides", &self.overrides)
            .field("shared", &self.shared)
            .finish()
    }
}

fn quota(limit: &RateLimit) -> Quota {
    Quota::per_second(limit.per_second).allow_burst(limit.burst)
}

impl RateLimits {
    /// Limits kept in this process, or in `shared` (falling back to this process's while it does not answer).
    pub fn new(
        default: &RateLimit,
        overrides: &BTreeMap<String, RateLimit>,
        keyless: &RateLimit,
        shared: Option<Arc<SharedRedis>>,
    ) -> Self {
        Self {
            default: *default,
            overrides: overrides.clone(),
            keyless_limit: *keyless,
            buckets: Mutex::new(HashMap::new()),
            keyless: RateLimiter::direct(quota(keyless)),
            clock: DefaultClock::default(),
            shared,
        }
    }

    /// Takes one request from the keyless bucket, or says how long until one is available.
    pub async fn check_keyless(&self) -> Result<(), Duration> {
        // Key buckets are named "key:<name>", so no key's name can reach this one.
        if let Some(outcome) = self.take_shared("keyless", &self.keyless_limit).await {
            return outcome;
        }
        self.keyless.check().map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }

    /// Takes one request from `key`'s bucket, or says how long until one is available.
    pub async fn check(&self, key: &Arc<str>) -> Result<(), Duration> {
        let limit = self.overrides.get(&**key).unwrap_or(&self.default);
        if let Some(outcome) = self.take_shared(&format!("key:{key}"), limit).await {
            return outcome;
        }
        let bucket = {
            let mut buckets = self.buckets.lock().expect("rate limit lock");
            Arc::clone(buckets.entry(Arc::clone(key)).or_insert_with(|| Arc::new(RateLimiter::direct(quota(limit)))))
        };
        bucket.check().map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }

    /// The shared bucket's answer; `None` without Redis or while it does not answer.
    async fn take_shared(&self, bucket: &str, limit: &RateLimit) -> Option<Result<(), Duration>> {
        let outcome = self.shared.as_ref()?.take(&format!("rate:{bucket}"), limit).await;
        let kept = if outcome.is_some() { "redis" } else { "replica" };
        metrics::counter!("fastintercom_http_rate_limit_checks_total", "kept_in" => kept).increment(1);
        outcome
    }
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroU32;

    use super::*;

    fn limit(per_second: u32, burst: u32) -> RateLimit {
        RateLimit { per_second: NonZeroU32::new(per_second).unwrap(), burst: NonZeroU32::new(burst).unwrap() }
    }

    /// The same assertions hold for buckets kept in this process and for buckets kept in Redis.
    async fn each_key_has_its_own_bucket_and_override(shared: Option<Arc<SharedRedis>>) {
        let overrides = BTreeMap::from([("slow".to_owned(), limit(1, 1))]);
        let limits = RateLimits::new(&limit(1, 3), &overrides, &limit(1, 2), shared);
        let (a, b, slow): (Arc<str>, Arc<str>, Arc<str>) = ("a".into(), "b".into(), "slow".into());
        for _ in 0..3 {
            limits.check(&a).await.unwrap();
        }
        let wait = limits.check(&a).await.unwrap_err();
        assert!(wait > Duration::ZERO && wait <= Duration::from_secs(1), "{wait:?}");
        limits.check(&b).await.unwrap();
        limits.check(&slow).await.unwrap();
        assert!(limits.check(&slow).await.is_err());
        limits.check_keyless().await.unwrap();
        limits.check_keyless().await.unwrap();
        assert!(limits.check_keyless().await.is_err(), "the keyless bucket is its own");
        limits.check(&Arc::from("keyless")).await.unwrap();
        limits.check(&Arc::from("anonymous")).await.unwrap();
    }

    #[tokio::test]
    async fn each_key_has_its_own_bucket_in_this_process() {
        each_key_has_its_own_bucket_and_override(None).await;
    }

    #[tokio::test]
    async fn each_key_has_its_own_bucket_in_redis() {
        let prefix = format!("fastintercom-test:limits:{}:{}:", std::process::id(), rand::random::<u64>());
        let shared = Arc::new(SharedRedis::connect("redis://127.0.0.1:6379", &prefix).await.unwrap());
        each_key_has_its_own_bucket_and_override(Some(Arc::clone(&shared))).await;
        // A second replica's limits find the buckets the first one used.
        let replica = RateLimits::new(&limit(1, 3), &BTreeMap::new(), &limit(1, 2), Some(shared));
        assert!(replica.check(&Arc::from("a")).await.is_err(), "a's burst was spent on the other replica");
        assert!(replica.check_keyless().await.is_err());
    }

    #[tokio::test]
    async fn an_unreachable_redis_leaves_the_limits_to_each_replica() {
        let shared = Arc::new(SharedRedis::connect("redis://127.0.0.1:1", "x:").await.unwrap());
        each_key_has_its_own_bucket_and_override(Some(shared)).await;
    }
}
