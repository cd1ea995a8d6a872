//! Rate-limit buckets kept in Redis, so that every replica takes from the same one: one script per request
//! (`gcra.lua`), which reads and advances the bucket atomically on Redis's clock.

use std::sync::LazyLock;
use std::time::Duration;

use redis::Script;

use super::SharedRedis;
use crate::config::RateLimit;

static TAKE_ONE: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("gcra.lua")));

impl SharedRedis {
    /// Takes one request from the shared bucket `bucket` under `limit`: `Some(Ok(()))` admitted, `Some(Err(wait))`
    /// refused for `wait`, `None` when Redis cannot say (the caller falls back to a bucket of its own). Replicas
    /// must agree on `limit`, as they do when they share one configuration.
    pub async fn take(&self, bucket: &str, limit: &RateLimit) -> Option<Result<(), Duration>> {
        // Text with the fraction (Redis passes arguments as strings): a whole number of microseconds would turn
        // 600,000 requests a second into a million.
        let interval_micros = format!("{:.6}", 1e6 / f64::from(limit.per_second.get()));
        let key = self.key(bucket);
        let burst = limit.burst.get();
        // EVALSHA, and EVAL once when Redis does not know the script yet (after a restart, say).
        let wait_micros: u64 =
            self.run(async |c| TAKE_ONE.key(&key).arg(&interval_micros).arg(burst).invoke_async(c).await).await?;
        Some(match wait_micros {
            0 => Ok(()),
            wait => Err(Duration::from_micros(wait)),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroU32;

    use super::*;
    use crate::shared::{COMMAND_TIMEOUT, RETRY_AFTER};

    /// A key prefix no other test (or run) uses.
    fn unique_prefix(test: &str) -> String {
        format!("fastintercom-test:{test}:{}:{}:", std::process::id(), rand::random::<u64>())
    }

    fn limit(per_second: u32, burst: u32) -> RateLimit {
        RateLimit { per_second: NonZeroU32::new(per_second).unwrap(), burst: NonZeroU32::new(burst).unwrap() }
    }

    /// The Redis this machine runs (see the README: the tests need it).
    const REDIS: &str = "redis://127.0.0.1:6379";

    #[tokio::test]
    async fn two_replicas_take_from_one_bucket() {
        let prefix = unique_prefix("one-bucket");
        let first = SharedRedis::connect(REDIS, &prefix).await.unwrap();
        let second = SharedRedis::connect(REDIS, &prefix).await.unwrap();
        let limit = limit(1, 4);
        let mut admitted = 0;
        for i in 0..8 {
            let replica = if i % 2 == 0 { &first } else { &second };
            match replica.take("key:bot", &limit).await.expect("Redis answers") {
                Ok(()) => admitted += 1,
                Err(wait) => assert!(wait > Duration::ZERO && wait <= Duration::from_secs(1), "{wait:?}"),
            }
        }
        assert_eq!(admitted, 4, "a burst of 4 in all, not 4 per replica");
        assert!(first.take("key:other", &limit).await.unwrap().is_ok(), "another bucket is its own");
        tokio::time::sleep(Duration::from_millis(1_050)).await;
        assert!(second.take("key:bot", &limit).await.unwrap().is_ok(), "one request a second comes back");
        assert!(first.take("key:bot", &limit).await.unwrap().is_err(), "and only one");
    }

    #[tokio::test]
    async fn buckets_leave_nothing_behind_once_full_again() {
        let prefix = unique_prefix("expiry");
        let shared = SharedRedis::connect(REDIS, &prefix).await.unwrap();
        shared.take("key:bot", &limit(1, 2)).await.unwrap().unwrap();
        let mut connection = (**shared.connection.load()).clone();
        let ttl: i64 = redis::cmd("PTTL").arg(shared.key("key:bot")).query_async(&mut connection).await.unwrap();
        assert!((1..=1000).contains(&ttl), "the key lives until the bucket is full again: {ttl} ms");
    }

    #[tokio::test]
    async fn an_unreachable_redis_answers_none_quickly_and_is_left_alone() {
        // Nothing listens on port 1.
        let shared = SharedRedis::connect("redis://127.0.0.1:1", "x:").await.unwrap();
        let started = std::time::Instant::now();
        assert_eq!(shared.take("key:bot", &limit(1, 1)).await, None);
        assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
        let started = std::time::Instant::now();
        for _ in 0..100 {
            assert_eq!(shared.take("key:bot", &limit(1, 1)).await, None);
        }
        assert!(started.elapsed() < Duration::from_millis(100), "skipped while it is down: {:?}", started.elapsed());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_redis_that_never_answers_costs_one_bounded_wait_at_a_time() {
        // Accepts connections and never says a word.
        let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("redis://{}", silent.local_addr().unwrap());
        let held = tokio::spawn(async move {
            let mut sockets = Vec::new();
            while let Ok((socket, _)) = silent.accept().await {
                sockets.push(socket);
            }
        });
        let started = std::time::Instant::now();
        let shared = std::sync::Arc::new(SharedRedis::connect(&url, "x:").await.unwrap());
        assert!(started.elapsed() < Duration::from_secs(2), "the first PING gave up: {:?}", started.elapsed());
        assert!(!shared.health.up.load(std::sync::atomic::Ordering::Acquire));

        // Once the pause is over, one call finds out (and waits); the others meanwhile go on at once.
        tokio::time::sleep(RETRY_AFTER + Duration::from_millis(50)).await;
        let calls: Vec<_> = (0..10)
            .map(|_| {
                let shared = std::sync::Arc::clone(&shared);
                tokio::spawn(async move {
                    let started = std::time::Instant::now();
                    let answer = shared.take("key:bot", &limit(1, 1)).await;
                    (answer, started.elapsed())
                })
            })
            .collect();
        let mut waited = 0;
        for call in calls {
            let (answer, took) = call.await.unwrap();
            assert_eq!(answer, None);
            assert!(took < COMMAND_TIMEOUT * 4, "{took:?}");
            if took >= COMMAND_TIMEOUT / 2 {
                waited += 1;
            }
        }
        assert!(waited <= 1, "{waited} calls waited for the silent Redis");
        held.abort();
    }

    #[tokio::test]
    async fn a_killed_connection_is_made_again() {
        let shared = SharedRedis::connect(REDIS, &unique_prefix("killed")).await.unwrap();
        let mut ours = (**shared.connection.load()).clone();
        let id: i64 = redis::cmd("CLIENT").arg("ID").query_async(&mut ours).await.unwrap();
        let mut other = redis::Client::open(REDIS).unwrap().get_multiplexed_async_connection().await.unwrap();
        let killed: i64 = redis::cmd("CLIENT").arg("KILL").arg("ID").arg(id).query_async(&mut other).await.unwrap();
        assert_eq!(killed, 1);
        let started = std::time::Instant::now();
        let mut answered = false;
        while !answered && started.elapsed() < Duration::from_secs(5) {
            answered = shared.take("key:bot", &limit(1000, 1000)).await.is_some();
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(answered, "Redis is used again after the connection was killed");
    }

    #[tokio::test]
    async fn a_bad_url_is_refused_without_repeating_it() {
        let error = SharedRedis::connect("http://user:hunter2@redis", "x:").await.unwrap_err().to_string();
        assert!(error.contains("not valid") && !error.contains("hunter2"), "{error}");
    }
}
