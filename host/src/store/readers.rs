//! The read-only connections tool calls read through: a fixed set, one per read at a time.
//!
//! Why not sqlx's `Pool`: it pings a connection when it is taken and again when it is given back. sqlx runs each
//! SQLite connection on a thread of its own, so each ping is a round trip between threads, and with one statement
//! per read (see `conversations.rs`) the two pings were two of a read's three round trips. A read-only connection
//! to a local file has nothing to check: it cannot time out or lose a server. A read cancelled half way leaves the
//! connection clean (sqlx resets the statement when its iteration stops), so it goes back to the set as it is.

use std::ops::{Deref, DerefMut};
use std::sync::Mutex;

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions as _, Connection as _, SqliteConnection};
use tokio::sync::{Semaphore, SemaphorePermit};

use super::Result;

/// A fixed set of read-only connections.
#[derive(Debug)]
pub(super) struct Readers {
    idle: Mutex<Vec<SqliteConnection>>,
    /// One permit per connection in `idle`, so a reader waits for a connection rather than spinning.
    available: Semaphore,
    size: u32,
}

impl Readers {
    /// Opens `size` (at least one) connections with `options`.
    pub(super) async fn open(options: &SqliteConnectOptions, size: u32) -> Result<Self> {
        let size = size.max(1);
        let mut idle = Vec::with_capacity(size as usize);
        for _ in 0..size {
            idle.push(options.connect().await?);
        }
        Ok(Self { idle: Mutex::new(idle), available: Semaphore::new(size as usize), size })
    }

    /// A set without connections, for a store that cannot be read (one being built): every read fails at once.
    pub(super) fn none() -> Self {
        let available = Semaphore::new(0);
        available.close();
        Self { idle: Mutex::new(Vec::new()), available, size: 0 }
    }

    /// Waits for an idle connection; fails once the set is closed.
    pub(super) async fn acquire(&self) -> Result<Reader<'_>> {
        let permit = self.available.acquire().await.map_err(|_| sqlx::Error::PoolClosed)?;
        let connection = self.idle.lock().expect("readers lock").pop().expect("a permit means an idle connection");
        Ok(Reader { connection: Some(connection), readers: self, _permit: permit })
    }

    /// Waits for every connection to come back, then closes them; later reads fail.
    pub(super) async fn close(&self) {
        let Ok(all) = self.available.acquire_many(self.size).await else { return };
        self.available.close();
        all.forget();
        let connections = std::mem::take(&mut *self.idle.lock().expect("readers lock"));
        for connection in connections {
            connection.close().await.ok();
        }
    }
}

/// One connection, for one read; back to the set when dropped.
pub(super) struct Reader<'a> {
    connection: Option<SqliteConnection>,
    readers: &'a Readers,
    // Dropped after `drop` has put the connection back, so the next reader finds it.
    _permit: SemaphorePermit<'a>,
}

impl Deref for Reader<'_> {
    type Target = SqliteConnection;

    fn deref(&self) -> &SqliteConnection {
        self.connection.as_ref().expect("present until dropped")
    }
}

impl DerefMut for Reader<'_> {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        self.connection.as_mut().expect("present until dropped")
    }
}

impl Drop for Reader<'_> {
    fn drop(&mut self) {
        if let Some(connection) = self.connection.take() {
            self.readers.idle.lock().expect("readers lock").push(connection);
        }
    }
}
