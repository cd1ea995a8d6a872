//! One leader among the replicas sharing a PostgreSQL store: a session-level advisory lock held on a connection
//! of its own (outside the pool, so no other work ever runs on it or returns it).
//!
//! PostgreSQL releases the lock when the session ends: at once when the leader's process dies (its socket
//! closes), and after the TCP keepalives below when its host or network goes away (idle 5 s, then 3 probes 2 s
//! apart: about 11 s). The leader pings its connection every [`PING_EVERY`] and steps down when a ping fails, so
//! a leader cut off from the database stops before another replica's takeover can overlap it for long.

use std::time::Duration;

use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions as _, Connection as _, PgConnection};

use crate::store::{Result, StoreError};

/// How often the leader checks that it still holds its lock.
const PING_EVERY: Duration = Duration::from_secs(2);

/// How long a ping may take before the leader counts its connection as lost.
const PING_TIMEOUT: Duration = Duration::from_secs(3);

/// Held while this process leads `role` among the replicas; dropping it (or the process dying) lets another
/// take over.
#[derive(Debug)]
pub struct Leadership {
    connection: PgConnection,
    role: String,
}

/// Tries to take the lead of `role`: `None` when another session holds it.
pub(in crate::store) async fn try_lead(options: &PgConnectOptions, role: &str) -> Result<Option<Leadership>> {
    let options = options.clone().options([
        ("tcp_keepalives_idle", "5"),
        ("tcp_keepalives_interval", "2"),
        ("tcp_keepalives_count", "3"),
    ]);
    let mut connection = options.connect().await?;
    let taken: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock(hashtextextended($1, 0))")
        .bind(lock_name(role))
        .fetch_one(&mut connection)
        .await?;
    if !taken {
        connection.close().await.ok();
        return Ok(None);
    }
    Ok(Some(Leadership { connection, role: role.to_owned() }))
}

/// The advisory lock's name: one per role and per schema, so two deployments in one database (two schemas)
/// do not share a leader.
fn lock_name(role: &str) -> String {
    format!("fastintercom leader: {role}")
}

impl Leadership {
    /// Returns when the lead is lost: the lock's connection stopped answering (the database restarted, the
    /// network went away). Never returns while the connection answers.
    pub async fn lost(&mut self) -> StoreError {
        loop {
            tokio::time::sleep(PING_EVERY).await;
            match tokio::time::timeout(PING_TIMEOUT, self.connection.ping()).await {
                Ok(Ok(())) => {}
                Ok(Err(error)) => return StoreError::Database(error),
                Err(_) => return StoreError::Unsupported("the leader's database connection stopped answering"),
            }
        }
    }

    /// What this process leads.
    pub fn role(&self) -> &str {
        &self.role
    }
}
