//! Building a new store file in one go: a data directory's first demo workspace.
//!
//! A store filled from nothing needs none of what protects a store in use: nobody reads it yet, and if the
//! process dies half way the file is simply thrown away. So it is written under another name with no rollback
//! journal, no syncs and an exclusive lock: 100,000 demo conversations in 4.15–4.38 s, against 4.92–5.35 s for
//! the same writes in WAL mode, where every page goes to the log first and is copied back later (three
//! interleaved runs of `fastintercom demo --conversations 100000` each, 2026-12-05). Only once it is complete is it switched to WAL,
//! synced to disk and linked to its real path, so that path never holds half a store.
//!
//! MCP clients may start several servers on one new data directory at once, and each would build the demo
//! workspace. So builders of one path take turns on a lock file: the first builds, the others wait for it and
//! then find the store there ([`StoreError::Exists`]), which is an answer, not a failure: open it.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sqlx::sqlite::{SqliteJournalMode, SqliteLockingMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{ConnectOptions as _, Connection as _};

use super::connect::{connect_options, migrate};
use super::readers::Readers;
use super::{Engine, Result, Store, StoreError};

/// A store being built for a path that does not exist yet.
#[derive(Debug)]
pub struct StoreBuilder {
    store: Store,
    building: PathBuf,
    target: PathBuf,
    /// Held (locked) from start to finish: other builders of `target` wait on it.
    turn: BuildTurn,
}

impl StoreBuilder {
    /// Starts building the store that [`StoreBuilder::finish`] puts at `target`, once no other process is
    /// building it. [`StoreError::Exists`] when `target` exists (also when another builder just made it). A file
    /// left by an earlier attempt that did not finish is discarded.
    pub async fn start(target: &Path) -> Result<Self> {
        let Some(turn) = BuildTurn::take(target.to_owned()).await? else {
            return Err(StoreError::Exists(target.to_owned()));
        };
        let building = sibling(target, ".building");
        remove_with_journals(&building)?;
        // A log left beside a store that was deleted without it would be replayed onto the new one.
        remove_journals(target)?;
        let options = connect_options(&building)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Off)
            .locking_mode(SqliteLockingMode::Exclusive)
            .synchronous(SqliteSynchronous::Off);
        let writer = SqlitePoolOptions::new().max_connections(1).connect_with(options).await?;
        let cursor_key = migrate(&writer).await?;
        let engine = Engine::Sqlite { writer, readers: Arc::new(Readers::none()) };
        Ok(Self { store: Store::with(engine, cursor_key), building, target: target.to_owned(), turn })
    }

    /// The store being built. It takes writes only: reading it fails until it is finished.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Makes the store an ordinary one (WAL) and moves it to its path, durably. [`StoreError::Exists`] when a
    /// store appeared at the path meanwhile (opened by a process that does not build, e.g. `keys create`): it is
    /// left as it is and the new one discarded.
    pub async fn finish(self) -> Result<()> {
        let Self { store, building, target, turn } = self;
        store.close().await;
        let connection = connect_options(&building).journal_mode(SqliteJournalMode::Wal).connect().await?;
        connection.close().await?;
        tokio::task::spawn_blocking(move || {
            let published = publish(&building, &target);
            if matches!(published, Ok(()) | Err(StoreError::Exists(_))) {
                turn.end_with_a_store_in_place();
            }
            published
        })
        .await
        .map_err(|e| StoreError::Build(format!("moving the new store into place failed: {e}")))?
    }
}

/// A builder's turn: an exclusive lock on a file beside the target (released by the OS if the process dies).
#[derive(Debug)]
struct BuildTurn {
    file: File,
    path: PathBuf,
}

impl BuildTurn {
    /// Waits, off the async runtime, until no other builder of `target` holds the lock; `None` when a store is
    /// at `target` by then (or already was: then no lock file is made).
    async fn take(target: PathBuf) -> Result<Option<Self>> {
        tokio::task::spawn_blocking(move || {
            if target.exists() {
                return Ok(None);
            }
            let path = sibling(&target, ".build-lock");
            let failed = |e: std::io::Error| StoreError::Build(format!("cannot lock {}: {e}", path.display()));
            let file = OpenOptions::new().create(true).truncate(false).write(true).open(&path).map_err(failed)?;
            file.lock().map_err(failed)?;
            let turn = Self { file, path };
            if target.exists() {
                turn.end_with_a_store_in_place();
                return Ok(None);
            }
            Ok(Some(turn))
        })
        .await
        .map_err(|e| StoreError::Build(format!("waiting for another build failed: {e}")))?
    }

    /// Removes the lock file once a store is at the target, then releases the lock. A builder still waiting on
    /// the removed file, or one that creates it anew, finds the store and stops. Without a store there the file
    /// must stay (the lock is released when this is dropped), or two later builders could lock two different
    /// files and build at once.
    fn end_with_a_store_in_place(self) {
        let _ = std::fs::remove_file(&self.path);
        drop(self.file);
    }
}

/// Syncs `building` to disk and links it at `target` (failing rather than replacing a store that appeared there
/// meanwhile; see below for file systems without links), then syncs the directory so the new name survives a
/// crash too.
fn publish(building: &Path, target: &Path) -> Result<()> {
    let io = |what: &str, e: std::io::Error| StoreError::Build(format!("{what}: {e}"));
    std::fs::File::open(building).and_then(|file| file.sync_all()).map_err(|e| io("syncing the new store", e))?;
    match std::fs::hard_link(building, target) {
        Ok(()) => std::fs::remove_file(building).map_err(|e| io("removing the build file", e))?,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists || target.exists() => {
            remove_with_journals(building)?;
            return Err(StoreError::Exists(target.to_owned()));
        }
        // A file system without hard links: a rename, which would replace a store that appeared in the
        // instant since the check above.
        Err(_) => std::fs::rename(building, target).map_err(|e| io(&format!("creating {}", target.display()), e))?,
    }
    if let Some(directory) = target.parent() {
        std::fs::File::open(directory).and_then(|dir| dir.sync_all()).map_err(|e| io("syncing the directory", e))?;
    }
    Ok(())
}

/// `path` with `suffix` appended to its file name.
fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_owned();
    name.push(suffix);
    path.with_file_name(name)
}

/// Removes a database file and the journals SQLite may have left beside it.
fn remove_with_journals(path: &Path) -> Result<()> {
    remove_if_present(path)?;
    remove_journals(path)
}

/// Removes the journals SQLite may have left beside a database file.
fn remove_journals(path: &Path) -> Result<()> {
    ["-journal", "-wal", "-shm"].into_iter().try_for_each(|suffix| remove_if_present(&sibling(path, suffix)))
}

fn remove_if_present(file: &Path) -> Result<()> {
    match std::fs::remove_file(file) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(StoreError::Build(format!("cannot remove {}: {e}", file.display()))),
    }
}
