//! What the replicas of one deployment share through Redis (`--redis-url`, `[redis]` in `config.toml`): the
//! per-key rate limits of the HTTP server ([`rate_limit`]), so that a key limited to 50 requests a second gets 50
//! in all, not 50 from each replica, and kept answers ([`answers`]), so that what one replica computed another
//! serves.
//!
//! Redis is optional and never in the way: a replica that cannot reach it serves on with what it has of its own
//! (per-replica rate limits and kept answers), says so once, and uses Redis again once it answers. Every command is bounded by
//! [`COMMAND_TIMEOUT`]; after a failure the replica leaves Redis alone for [`RETRY_AFTER`], then one command at a
//! time finds out whether it is back, so a dead or stalled Redis costs one bounded wait per second, not one per
//! request.

pub mod answers;
pub mod rate_limit;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use arc_swap::ArcSwap;
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
    client: redis::Client,
    /// Replaced by a new one after a failure: the manager reconnects by itself only after some errors (not after
    /// a timeout, nor after a failed AUTH), and a connection whose packets vanish would time out for minutes.
    connection: ArcSwap<ConnectionManager>,
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

/// Whether Redis answers, as far as the replica knows. Times are milliseconds since `since`.
struct Health {
    up: AtomicBool,
    /// Before this, after a failure, commands are not sent.
    skip_until_ms: AtomicU64,
    /// When the last command failed: a success of a command sent before then says nothing about now.
    failed_at_ms: AtomicU64,
    /// Whether a command is finding out if Redis is back; meanwhile the others go on without it.
    probing: AtomicBool,
    since: Instant,
}

impl Health {
    fn now_ms(&self) -> u64 {
        self.since.elapsed().as_millis() as u64
    }
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
        let connection =
            manager(&client).with_context(|| format!("cannot set up the connection to Redis at {address}"))?;
        let shared = Self {
            client,
            connection: ArcSwap::from_pointee(connection),
            key_prefix: key_prefix.to_owned(),
            address,
            health: Health {
                up: AtomicBool::new(true),
                skip_until_ms: AtomicU64::new(0),
                failed_at_ms: AtomicU64::new(0),
                probing: AtomicBool::new(false),
                since: Instant::now(),
            },
        };
        let pong: Option<String> = shared.run(async |c| redis::cmd("PING").query_async(c).await).await;
        if pong.is_some() {
            tracing::info!(redis = %shared.address, prefix = %shared.key_prefix, "sharing rate limits and kept answers through Redis");
        }
        Ok(shared)
    }

    /// `name` under this deployment's key prefix.
    fn key(&self, name: &str) -> String {
        format!("{}{name}", self.key_prefix)
    }

    /// Runs `command` on Redis. `None` when it fails now (logged once per outage) or takes longer than
    /// [`COMMAND_TIMEOUT`]; and `None` at once while Redis is down: for [`RETRY_AFTER`] after a failure, and then
    /// while one command finds out whether it is back.
    async fn run<T>(&self, command: impl AsyncFnOnce(&mut ConnectionManager) -> redis::RedisResult<T>) -> Option<T> {
        let health = &self.health;
        let sent_at = health.now_ms();
        let probe = !health.up.load(Ordering::Acquire);
        if probe
            && (sent_at < health.skip_until_ms.load(Ordering::Acquire)
                || health.probing.compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire).is_err())
        {
            return None;
        }
        let mut connection = (**self.connection.load()).clone();
        let outcome = tokio::time::timeout(COMMAND_TIMEOUT, command(&mut connection)).await;
        let answer = match outcome {
            Ok(Ok(value)) => {
                if sent_at >= health.failed_at_ms.load(Ordering::Acquire) && !health.up.swap(true, Ordering::AcqRel) {
                    tracing::info!(redis = %self.address, "Redis answers again: rate limits and kept answers are shared again");
                }
                Some(value)
            }
            failed => {
                let reason = match failed {
                    Ok(Err(error)) => error.to_string(),
                    _ => format!("no answer within {} ms", COMMAND_TIMEOUT.as_millis()),
                };
                self.failed(reason, probe);
                None
            }
        };
        if probe {
            health.probing.store(false, Ordering::Release);
        }
        answer
    }

    /// Notes a failed command: Redis is left alone for [`RETRY_AFTER`], then tried on a new connection. The
    /// connection is replaced once per failure that changes something (the first of an outage, or a probe's),
    /// not by every request that failed with it at once.
    fn failed(&self, reason: String, probe: bool) {
        let health = &self.health;
        let now = health.now_ms();
        health.failed_at_ms.store(now, Ordering::Release);
        health.skip_until_ms.store(now + RETRY_AFTER.as_millis() as u64, Ordering::Release);
        metrics::counter!("fastintercom_redis_failures_total").increment(1);
        let outage_begins = health.up.swap(false, Ordering::AcqRel);
        if (outage_begins || probe)
            && let Ok(fresh) = manager(&self.client)
        {
            self.connection.store(Arc::new(fresh));
        }
        if outage_begins {
            tracing::warn!(redis = %self.address, %reason, "Redis does not answer: rate limits and kept answers are per replica until it does");
        }
    }
}

/// A connection manager that connects on first use, each attempt and command bounded.
fn manager(client: &redis::Client) -> redis::RedisResult<ConnectionManager> {
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(CONNECT_TIMEOUT))
        .set_response_timeout(Some(COMMAND_TIMEOUT))
        .set_number_of_retries(1)
        .set_max_delay(Duration::from_millis(100));
    ConnectionManager::new_lazy_with_config(client.clone(), config)
}
