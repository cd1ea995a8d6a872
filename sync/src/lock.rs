//! One syncing process per store.
//!
//! Two processes syncing one store would overwrite each other's checkpoints and share no rate-limit budget, so
//! exactly one syncs at a time:
//!
//! - SQLite: MCP clients start their own `fastintercom serve` each, and a user may run `fastintercom sync` beside
//!   them. The sync takes an exclusive lock on `<data-dir>/sync.lock` (released by the OS when the process ends,
//!   even on `kill -9`); whoever does not get it serves without syncing.
//! - PostgreSQL: the replicas of a deployment contend for the database's advisory lock
//!   ([`crate::store::Contender`]); the one holding it syncs, the others try again every [`CONTEND_EVERY`], so
//!   when the leader dies another takes over within seconds and resumes from the checkpoints in the store.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::store::{Contender, Store};

/// How often a replica that does not lead the sync tries to take the lead.
pub const CONTEND_EVERY: Duration = Duration::from_secs(2);

/// What replicas contend for the lead of (see [`Store::contender`]).
pub const SYNC_ROLE: &str = "sync";

/// Held while this process may sync the store.
#[derive(Debug)]
pub struct SyncLock(Held);

#[derive(Debug)]
enum Held {
    /// Held open (never read): the lock lasts as long as the file does.
    File(#[allow(dead_code)] File),
    Database(Box<Contender>),
}

impl SyncLock {
    /// The lock file of `data_dir`.
    fn path(data_dir: &Path) -> PathBuf {
        data_dir.join("sync.lock")
    }

    /// Takes the data directory's lock, or `None` when another process holds it.
    pub fn try_acquire(data_dir: &Path) -> std::io::Result<Option<Self>> {
        let file = OpenOptions::new().create(true).truncate(false).write(true).open(Self::path(data_dir))?;
        match file.try_lock() {
            Ok(()) => Ok(Some(Self(Held::File(file)))),
            Err(TryLockError::WouldBlock) => Ok(None),
            Err(TryLockError::Error(error)) => Err(error),
        }
    }

    /// Takes the lock of `store`'s sync: the database's lead for PostgreSQL, `data_dir`'s lock file for SQLite.
    /// `None` when another process holds it.
    pub async fn try_acquire_for(store: &Store, data_dir: &Path) -> anyhow::Result<Option<Self>> {
        Ok(match store.contender(SYNC_ROLE) {
            None => Self::try_acquire(data_dir)?,
            Some(mut contender) => contender.try_lead().await?.then(|| Self(Held::Database(Box::new(contender)))),
        })
    }

    /// Returns (why) when the lock is lost: the database lead's connection stopped answering. A file lock is
    /// never lost: this never returns for one.
    pub async fn lost(&mut self) -> String {
        match &mut self.0 {
            Held::File(_) => std::future::pending().await,
            Held::Database(contender) => contender.lost().await.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_one_holder_at_a_time() {
        let dir = tempfile::TempDir::new().unwrap();
        let first = SyncLock::try_acquire(dir.path()).unwrap();
        assert!(first.is_some());
        assert!(SyncLock::try_acquire(dir.path()).unwrap().is_none());
        drop(first);
        assert!(SyncLock::try_acquire(dir.path()).unwrap().is_some());
    }
}
