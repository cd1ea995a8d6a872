//! The read-only connections tool calls read through: a fixed set, one per read at a time.
//!
//! Why not sqlx's `Pool`: it pings a connection when it is taken and again when it is given back. sqlx runs each
//! SQLite connection on a thread of its own, so each ping is a round trip between threads, and with one statement
//! per read (see `conversations.rs`) the two pings were two of a read's three round trips. A read-only connection
//! to a local file has nothing to check after a read that finished: it cannot time out or lose a server.
//!
//! After a read that did not finish, it has. A read whose future was dropped (a plugin call past its deadline)
//! leaves its statement running on the connection's thread until SQLite is done with it, and a read that failed
//! may have failed because the connection did (its thread gone). So a reader says when its read finished
//! ([`Reader::done`]); any other reader goes back only after a ping has waited for the connection's thread to
//! be free and shown it alive, and a connection that does not answer is replaced by a new one.
//!
//! A read may have a deadline (a plugin call's): SQLite then stops the statement once it passes (a progress
//! handler checks the clock every few thousand steps of SQLite's virtual machine), so a costly query holds a
//! connection, and a core, no longer than the call that asked for it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions as _, Connection as _, SqliteConnection};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::{Result, StoreError};

/// How long a read waits for a connection before it fails as "unavailable" (sqlx's pool default).
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);

/// Steps of SQLite's virtual machine between two looks at a read's deadline (a few microseconds of work).
const PROGRESS_STEPS: i32 = 4000;

/// No deadline, as a [`Connection::deadline`] value.
const NO_DEADLINE: u64 = u64::MAX;

/// Nanoseconds since the first call, as a deadline an atomic can hold.
fn clock(at: Instant) -> u64 {
    static START: OnceLock<Instant> = OnceLock::new();
    let start = *START.get_or_init(Instant::now);
    u64::try_from(at.saturating_duration_since(start).as_nanos()).unwrap_or(NO_DEADLINE - 1)
}

/// A read-only connection and the deadline its progress handler enforces.
#[derive(Debug)]
struct Connection {
    sqlite: SqliteConnection,
    /// [`clock`] value past which the running statement is interrupted; [`NO_DEADLINE`] between reads.
    deadline: Arc<AtomicU64>,
}

impl Connection {
    async fn open(options: &SqliteConnectOptions) -> sqlx::Result<Self> {
        let mut sqlite = options.connect().await?;
        let deadline = Arc::new(AtomicU64::new(NO_DEADLINE));
        let watched = Arc::clone(&deadline);
        // Returning false interrupts the statement (SQLITE_INTERRUPT).
        sqlite
            .lock_handle()
            .await?
            .set_progress_handler(PROGRESS_STEPS, move || clock(Instant::now()) < watched.load(Ordering::Relaxed));
        Ok(Self { sqlite, deadline })
    }
}

/// Whether `error` is SQLite's answer to an interrupted statement.
pub(super) fn is_interrupted(error: &sqlx::Error) -> bool {
    const SQLITE_INTERRUPT: &str = "9";
    error.as_database_error().and_then(|e| e.code()).is_some_and(|code| code == SQLITE_INTERRUPT)
}

/// A fixed set of read-only connections.
#[derive(Debug)]
pub(super) struct Readers {
    /// How many of the connections third-party plugins' reads may hold at once (half): a plugin looping costly
    /// queries must leave connections for the built-in tools, `/ready` and the sync.
    third_party: Arc<Semaphore>,
    idle: Mutex<Vec<Connection>>,
    /// One permit per connection in `idle`, so a reader waits for a connection rather than spinning.
    available: Arc<Semaphore>,
    size: u32,
    /// How the connections were opened, to replace one that stopped answering.
    options: SqliteConnectOptions,
}

impl Readers {
    /// Opens `size` (at least one) connections with `options`.
    pub(super) async fn open(options: &SqliteConnectOptions, size: u32) -> Result<Self> {
        let size = size.max(1);
        let mut idle = Vec::with_capacity(size as usize);
        for _ in 0..size {
            idle.push(Connection::open(options).await?);
        }
        Ok(Self {
            third_party: Arc::new(Semaphore::new((size as usize / 2).max(1))),
            idle: Mutex::new(idle),
            available: Arc::new(Semaphore::new(size as usize)),
            size,
            options: options.clone(),
        })
    }

    /// A set without connections, for a store that cannot be read (one being built): every read fails at once.
    pub(super) fn none() -> Self {
        let available = Semaphore::new(0);
        available.close();
        let third_party = Semaphore::new(0);
        third_party.close();
        Self {
            third_party: Arc::new(third_party),
            idle: Mutex::new(Vec::new()),
            available: Arc::new(available),
            size: 0,
            options: SqliteConnectOptions::new(),
        }
    }

    /// Waits for an idle connection, whose statements stop at `deadline` if there is one (and, for a
    /// `third_party` read, for one of the connections such reads may share): fails once the set is closed, after
    /// [`ACQUIRE_TIMEOUT`], or at the deadline.
    pub(super) async fn acquire(self: &Arc<Self>, deadline: Option<Instant>, third_party: bool) -> Result<Reader> {
        let waited = Instant::now() + ACQUIRE_TIMEOUT;
        let until = deadline.map_or(waited, |deadline| deadline.min(waited));
        let wait = async |semaphore: &Arc<Semaphore>| -> Result<OwnedSemaphorePermit> {
            match tokio::time::timeout_at(until.into(), Arc::clone(semaphore).acquire_owned()).await {
                Ok(Ok(permit)) => Ok(permit),
                Ok(Err(_closed)) => Err(sqlx::Error::PoolClosed.into()),
                Err(_elapsed) if deadline.is_some_and(|deadline| deadline <= waited) => {
                    Err(StoreError::DeadlineExceeded)
                }
                Err(_elapsed) => Err(sqlx::Error::PoolTimedOut.into()),
            }
        };
        let share = match third_party {
            true => Some(wait(&self.third_party).await?),
            false => None,
        };
        let permit = wait(&self.available).await?;
        let connection = self.idle.lock().expect("readers lock").pop().expect("a permit means an idle connection");
        connection.deadline.store(deadline.map_or(NO_DEADLINE, clock), Ordering::Relaxed);
        Ok(Reader { connection: Some(connection), permit: Some(permit), readers: Arc::clone(self), done: false, share })
    }

    /// Waits for every connection to come back, then closes them; later reads fail.
    pub(super) async fn close(&self) {
        self.third_party.close();
        let Ok(all) = self.available.acquire_many(self.size).await else { return };
        self.available.close();
        all.forget();
        let connections = std::mem::take(&mut *self.idle.lock().expect("readers lock"));
        for connection in connections {
            connection.sqlite.close().await.ok();
        }
    }

    /// Puts a connection back, without a deadline; the permit, released after, lets the next reader take it.
    fn give_back(&self, connection: Connection, permit: OwnedSemaphorePermit) {
        connection.deadline.store(NO_DEADLINE, Ordering::Relaxed);
        self.idle.lock().expect("readers lock").push(connection);
        drop(permit);
    }

    /// Puts back a connection whose read did not finish, once it is free and alive (or a new one instead).
    ///
    /// The check runs on whichever runtime the read was dropped on, which may shut down first (the threads that
    /// run plugins, say): a check cut short still puts the connection back, unchecked, rather than losing it
    /// while its permit returns (which would let a reader find no connection).
    /// A third-party read's `share` is released only after the connection is back.
    async fn check_and_give_back(
        self: Arc<Self>,
        connection: Connection,
        permit: OwnedSemaphorePermit,
        share: Option<OwnedSemaphorePermit>,
    ) {
        let _share = share;
        let mut pending = GiveBackOnDrop { readers: &self, connection: Some((connection, permit)) };
        let (connection, _) = pending.connection.as_mut().expect("present until given back");
        if let Err(error) = connection.sqlite.ping().await {
            tracing::warn!(%error, "a read-only store connection stopped answering; opening a new one");
            match Connection::open(&self.options).await {
                Ok(fresh) => *connection = fresh,
                // Kept: the next read fails with the store's error and, not done, brings it here again.
                Err(error) => tracing::error!(%error, "cannot open a read-only store connection"),
            }
        }
    }
}

/// Gives a connection back to its set when dropped, however the code holding it ends.
struct GiveBackOnDrop<'a> {
    readers: &'a Readers,
    connection: Option<(Connection, OwnedSemaphorePermit)>,
}

impl Drop for GiveBackOnDrop<'_> {
    fn drop(&mut self) {
        if let Some((connection, permit)) = self.connection.take() {
            self.readers.give_back(connection, permit);
        }
    }
}

/// One connection, for one read; back to the set when dropped.
pub(super) struct Reader {
    connection: Option<Connection>,
    permit: Option<OwnedSemaphorePermit>,
    /// A third-party read's share of the connections, released when its connection is back.
    share: Option<OwnedSemaphorePermit>,
    readers: Arc<Readers>,
    done: bool,
}

impl Reader {
    /// The connection to read with.
    pub(super) fn connection(&mut self) -> &mut SqliteConnection {
        &mut self.connection.as_mut().expect("present until dropped").sqlite
    }

    /// Says the read finished (successfully), so the connection goes back as it is. A reader dropped without it
    /// has its connection checked first (see the module's documentation).
    pub(super) fn done(mut self) {
        self.done = true;
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        let (Some(connection), Some(permit)) = (self.connection.take(), self.permit.take()) else { return };
        if self.done {
            return self.readers.give_back(connection, permit);
        }
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                let share = self.share.take();
                runtime.spawn(Arc::clone(&self.readers).check_and_give_back(connection, permit, share));
            }
            // Outside a runtime nothing can wait for the check: put it back as it is.
            Err(_) => self.readers.give_back(connection, permit),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;

    /// A statement that keeps SQLite busy for a while (bounded: it ends on its own).
    const SLOW_READ: &str =
        "WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r WHERE i < 5000000) SELECT count(*) FROM r";

    async fn idle(readers: &Readers) -> usize {
        readers.idle.lock().unwrap().len()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_cancelled_read_returns_its_connection_only_once_it_is_free_and_others_are_served_meanwhile() {
        let dir = tempfile::tempdir().unwrap();
        let options = SqliteConnectOptions::new().filename(dir.path().join("db")).create_if_missing(true);
        let readers = Arc::new(Readers::open(&options, 2).await.unwrap());

        let slow = async {
            let mut reader = readers.acquire(None, false).await.unwrap();
            sqlx::query_scalar::<_, i64>(SLOW_READ).fetch_one(reader.connection()).await.unwrap();
            reader.done();
        };
        assert!(tokio::time::timeout(Duration::from_millis(50), slow).await.is_err(), "the read was cancelled");
        assert_eq!(idle(&readers).await, 1, "the cancelled read's connection is not handed out while it is busy");

        let mut reader = readers.acquire(None, false).await.unwrap();
        let one: i64 = sqlx::query_scalar("SELECT 1").fetch_one(reader.connection()).await.unwrap();
        assert_eq!(one, 1);
        reader.done();

        let started = Instant::now();
        while idle(&readers).await < 2 {
            assert!(started.elapsed() < Duration::from_secs(120), "the checked connection never came back");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let (mut first, mut second) =
            (readers.acquire(None, false).await.unwrap(), readers.acquire(None, false).await.unwrap());
        for reader in [&mut first, &mut second] {
            let one: i64 = sqlx::query_scalar("SELECT 1").fetch_one(reader.connection()).await.unwrap();
            assert_eq!(one, 1);
        }
        first.done();
        second.done();
        readers.close().await;
        assert!(matches!(
            readers.acquire(None, false).await.err(),
            Some(crate::StoreError::Database(sqlx::Error::PoolClosed))
        ));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_read_past_its_deadline_is_interrupted_by_sqlite_and_its_connection_serves_the_next_read() {
        let dir = tempfile::tempdir().unwrap();
        let options = SqliteConnectOptions::new().filename(dir.path().join("db")).create_if_missing(true);
        let readers = Arc::new(Readers::open(&options, 1).await.unwrap());
        let endless = "WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r) SELECT count(*) FROM r";
        let mut reader = readers.acquire(Some(Instant::now() + Duration::from_millis(100)), false).await.unwrap();
        let error = sqlx::query_scalar::<_, i64>(endless).fetch_one(reader.connection()).await.unwrap_err();
        assert!(is_interrupted(&error), "{error}");
        drop(reader);
        // The one connection comes back (after its check) and reads without a deadline again.
        let mut reader = readers.acquire(None, false).await.unwrap();
        let one: i64 = sqlx::query_scalar("SELECT 1").fetch_one(reader.connection()).await.unwrap();
        assert_eq!(one, 1);
        reader.done();
        let past = readers.acquire(Some(Instant::now()), false).await.unwrap();
        drop(past);
        let busy = readers.acquire(None, false).await.unwrap();
        assert!(matches!(
            readers.acquire(Some(Instant::now() + Duration::from_millis(50)), false).await.err(),
            Some(StoreError::DeadlineExceeded)
        ));
        drop(busy);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn third_party_reads_hold_at_most_half_the_connections() {
        let dir = tempfile::tempdir().unwrap();
        let options = SqliteConnectOptions::new().filename(dir.path().join("db")).create_if_missing(true);
        let readers = Arc::new(Readers::open(&options, 4).await.unwrap());
        let soon = || Some(Instant::now() + Duration::from_millis(100));
        let (first, second) = (readers.acquire(None, true).await.unwrap(), readers.acquire(None, true).await.unwrap());
        assert!(matches!(readers.acquire(soon(), true).await.err(), Some(StoreError::DeadlineExceeded)));
        let (mut own, mut other) =
            (readers.acquire(soon(), false).await.unwrap(), readers.acquire(soon(), false).await.unwrap());
        for reader in [&mut own, &mut other] {
            let one: i64 = sqlx::query_scalar("SELECT 1").fetch_one(reader.connection()).await.unwrap();
            assert_eq!(one, 1);
        }
        for reader in [first, second, own, other] {
            reader.done();
        }
        readers.acquire(None, true).await.unwrap().done();
    }
}
