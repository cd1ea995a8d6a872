//! One leader among the replicas sharing a PostgreSQL store: a session-level advisory lock held on a connection
//! of its own (outside the pool, so no other work ever runs on it or returns it).
//!
//! PostgreSQL releases the lock when the session ends: at once when the leader's process dies (its socket
//! closes), and after the TCP keepalives below when its host or network goes away (idle 5 s, then 3 probes 2 s
//! apart: about 11 s). The leader pings its connection every [`PING_EVERY`] and steps down when a ping fails, so
//! a leader cut off from the database stops before another replica's takeover can overlap it for long.
//! A replica that does not lead keeps its connection and asks again on it, rather than connecting anew each time.

use std::time::Duration;

use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions as _, Connection as _, PgConnection};

use crate::{Result, StoreError};

/// How often the leader checks that it still holds its lock.
const PING_EVERY: Duration = Duration::from_secs(2);

/// How long a ping may take before the leader counts its connection as lost.
const PING_TIMEOUT: Duration = Duration::from_secs(3);

/// How long connecting and asking for the lock may take: a half-open connection (the database failed over, a NAT
/// forgot it) would otherwise hold a follower for minutes of TCP retries, unable to take over.
const TRY_TIMEOUT: Duration = Duration::from_secs(5);

/// A replica's place in the contest for leading `role`: it leads once [`Contender::try_lead`] said so, until
/// [`Contender::lost`] returns or this is dropped (which ends the session, and so the lead).
#[derive(Debug)]
pub struct Contender {
    options: PgConnectOptions,
    role: String,
    connection: Option<PgConnection>,
    leading: bool,
}

/// The name whose hash (with the schema's name, see [`Contender::try_lead`]) is the advisory lock of `role`.
pub(crate) fn lock_name(role: &str) -> String {
    format!("fastintercom leader: {role}: ")
}

impl Contender {
    pub(crate) fn new(options: &PgConnectOptions, role: &str) -> Self {
        let options = options.clone().options([
            ("tcp_keepalives_idle", "5"),
            ("tcp_keepalives_interval", "2"),
            ("tcp_keepalives_count", "3"),
        ]);
        Self { options, role: role.to_owned(), connection: None, leading: false }
    }

    /// Tries to take the lead (true once it is this replica's). A connection that fails is dropped, and made
    /// again on the next try.
    pub async fn try_lead(&mut self) -> Result<bool> {
        if self.leading {
            return Ok(true);
        }
        match tokio::time::timeout(TRY_TIMEOUT, self.try_lead_now()).await {
            Ok(result) => result,
            Err(_) => {
                self.connection = None;
                Err(StoreError::Unsupported("the database did not answer the sync lead's request in time"))
            }
        }
    }

    async fn try_lead_now(&mut self) -> Result<bool> {
        let connection = match &mut self.connection {
            Some(connection) => connection,
            None => self.connection.insert(self.options.connect().await?),
        };
        // One lock per role and per schema: two deployments in one database (each in its schema) lead apart.
        let taken = sqlx::query_scalar("SELECT pg_try_advisory_lock(hashtextextended($1 || current_schema(), 0))")
            .bind(lock_name(&self.role))
            .fetch_one(&mut *connection)
            .await;
        match taken {
            Ok(taken) => {
                self.leading = taken;
                Ok(taken)
            }
            Err(error) => {
                self.connection = None;
                Err(error.into())
            }
        }
    }

    /// Returns when the lead is lost: the lock's connection stopped answering (the database restarted, the
    /// network went away); the lead is given up then. Never returns while the connection answers, nor when this
    /// replica does not lead.
    pub async fn lost(&mut self) -> StoreError {
        let Some(connection) = self.connection.as_mut().filter(|_| self.leading) else {
            return std::future::pending().await;
        };
        let reason = loop {
            tokio::time::sleep(PING_EVERY).await;
            match tokio::time::timeout(PING_TIMEOUT, connection.ping()).await {
                Ok(Ok(())) => {}
                Ok(Err(error)) => break StoreError::Database(error),
                Err(_) => break StoreError::Unsupported("the leader's database connection stopped answering"),
            }
        };
        self.connection = None; // ends the session, and with it the lock, should the server still hold it
        self.leading = false;
        reason
    }

    /// What this replica contends for.
    pub fn role(&self) -> &str {
        &self.role
    }
}
