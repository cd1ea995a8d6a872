//! What the replicas of one deployment share through Redis (`--redis-url`, `[redis]` in `config.toml`): today the
//! per-key rate limits of the HTTP server ([`rate_limit`]), so that a key limited to 50 requests a second gets 50
//! in all, not 50 from each replica.
//!
//! Redis is optional and never in the way: a replica that cannot reach it serves on with what it has of its own
//! (per-replica rate limits), says so once, and uses Redis again once it answers. Every command is bounded by
//! [`COMMAND_TIMEOUT`], and after a failure the replica leaves Redis alone for [`RETRY_AFTER`], so a dead or
//! stalled Redis costs at most one bounded wait per second rather than one per request.

pub mod rate_limit;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

/// Longest one command may take before the replica goes on without Redis. Loopback answers take tens of
/// microseconds; this is for a Redis that stopped answering.
pub const COMMAND_TIMEOUT: Duration = Duration::from_millis(250);

/// How long a replica leaves Redis alone after a command failed.
pub const RETRY_AFTER: Duration = Duration::from_secs(1);

/// Longest a connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);

/// A connection to the Redis that replicas share, and whether it currently answers.
pub struct SharedRedis {
    connection: ConnectionManager,
    key_prefix: String,
    /// `host:port` (never the URL, which may hold a password), for log lines.
    address: String,
    health: Health,
}

impl std::fmt::Debug for SharedRedis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedRedis").field("address", &self.address).field("key_prefix", &self.key_prefix).finish()
    }
}

/// Whether Redis answered the last command, and until when commands skip it after one failed.
struct Health {
    up: AtomicBool,
    /// Milliseconds since `since` before which commands are not sent (0: send).
    skip_until_ms: AtomicU64,
    since: Instant,
}

impl SharedRedis {
    /// A connection to the Redis at `url`, made lazily: a Redis that is down at start is logged, not fatal. Only
    /// a URL that is not a Redis URL fails, and its message never repeats the URL (it may hold a password).
    pub async fn connect(url: &str, key_prefix: &str) -> anyhow::Result<Self> {
        let client = redis::Client::open(url).map_err(|error| {
            anyhow::anyhow!(
                "the Redis URL (--redis-url, FASTINTERCOM_REDIS_URL or [redis] url) is not valid ({:?}); expected \
                 redis://[user:password@]host[:port][/db]",
                error.kind()
            )
        })?;
        let address = client.get_connection_info().addr().to_string();
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(Some(COMMAND_TIMEOUT))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(100));
        let connection = ConnectionManager::new_lazy_with_config(client, config)
            .with_context(|| format!("cannot set up the connection to Redis at {address}"))?;
        let shared = Self {
            connection,
            key_prefix: key_prefix.to_owned(),
            address,
            health: Health { up: AtomicBool::new(true), skip_until_ms: AtomicU64::new(0), since: Instant::now() },
        };
        let pong: Option<String> = shared.run(async |c| redis::cmd("PING").query_async(c).await).await;
        if pong.is_some() {
            tracing::info!(redis = %shared.address, prefix = %shared.key_prefix, "sharing rate limits through Redis");
        }
        Ok(shared)
    }

    /// `name` under this deployment's key prefix.
    fn key(&self, name: &str) -> String {
        format!("{}{name}", self.key_prefix)
    }

    /// Runs `command` on Redis, or returns `None` at once when Redis failed less than [`RETRY_AFTER`] ago, or
    /// `None` when it fails now (logged once per outage) or takes longer than [`COMMAND_TIMEOUT`].
    async fn run<T>(&self, command: impl AsyncFnOnce(&mut ConnectionManager) -> redis::RedisResult<T>) -> Option<T> {
        let now_ms = self.health.since.elapsed().as_millis() as u64;
        if now_ms < self.health.skip_until_ms.load(Ordering::Relaxed) {
            return None;
        }
        let mut connection = self.connection.clone();
        let outcome = tokio::time::timeout(COMMAND_TIMEOUT, command(&mut connection)).await;
        match outcome {
            Ok(Ok(value)) => {
                if !self.health.up.swap(true, Ordering::Relaxed) {
                    tracing::info!(redis = %self.address, "Redis answers again: rate limits are shared again");
                }
                Some(value)
            }
            failed => {
                let reason = match failed {
                    Ok(Err(error)) => error.to_string(),
                    _ => format!("no answer within {} ms", COMMAND_TIMEOUT.as_millis()),
                };
                let skip_until = self.health.since.elapsed() + RETRY_AFTER;
                self.health.skip_until_ms.store(skip_until.as_millis() as u64, Ordering::Relaxed);
                metrics::counter!("fastintercom_redis_failures_total").increment(1);
                if self.health.up.swap(false, Ordering::Relaxed) {
                    tracing::warn!(
                        redis = %self.address,
                        %reason,
                        "Redis does not answer: rate limits are per replica until it does"
                    );
                }
                None
            }
        }
    }
}
