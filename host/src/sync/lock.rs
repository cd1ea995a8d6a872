//! One syncing process per data directory.
//!
//! MCP clients start their own `fastintercom serve` each, and a user may run `fastintercom sync` beside them. Two
//! processes syncing one store would overwrite each other's checkpoints and share no rate-limit budget, so the
//! sync takes an exclusive lock on `<data-dir>/sync.lock` (released by the OS when the process ends, even on
//! `kill -9`); whoever does not get it serves without syncing.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

/// Held while this process may sync the data directory.
#[derive(Debug)]
pub struct SyncLock {
    _file: File,
}

impl SyncLock {
    /// The lock file of `data_dir`.
    fn path(data_dir: &Path) -> PathBuf {
        data_dir.join("sync.lock")
    }

    /// Takes the lock, or `None` when another process holds it.
    pub fn try_acquire(data_dir: &Path) -> std::io::Result<Option<Self>> {
        let file = OpenOptions::new().create(true).truncate(false).write(true).open(Self::path(data_dir))?;
        match file.try_lock() {
            Ok(()) => Ok(Some(Self { _file: file })),
            Err(TryLockError::WouldBlock) => Ok(None),
            Err(TryLockError::Error(error)) => Err(error),
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
