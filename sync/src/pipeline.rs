//! Fetching and writing overlap: a producer fetches pages from Intercom while a consumer writes the pages already
//! fetched, each page with the checkpoint that says it is stored.
//!
//! Pages reach the writer in the order they were fetched, and pages that are ready together are written in one
//! transaction (up to a batch size) with the checkpoint of the last one: fewer commits when the writer falls
//! behind, and still never a checkpoint ahead of the data it covers.
//!
//! On PostgreSQL, which takes writers side by side, up to [`POSTGRES_WRITERS`] batches are written at once, each
//! in a transaction of its own on a connection of its own (the database's work on one batch is what a sync waits
//! for, and it runs on one core per connection). A batch's checkpoint is then written in a small transaction of
//! its own once it and every batch before it have committed: data may briefly be ahead of its checkpoint (a
//! resumed run writes it again, the same), never the other way round.

use std::collections::VecDeque;
use std::future::Future;

use tokio::sync::mpsc;

use super::{InResource as _, Progress, SyncError};
use crate::store::{Backend, RunCheckpoint, Store, StoreError, WriteTx};

/// Pages fetched ahead of the writer.
const DEPTH: usize = 4;

/// Batches written at once on PostgreSQL (SQLite has one writer). With two, a full sync of 100,000 conversations
/// still found the writers always busy and a fifth of this 2-core machine idle; with three the fetching side is
/// what they wait for at times (`bench-sync --database-url`).
const POSTGRES_WRITERS: usize = 3;

/// One fetched page, ready to be written.
pub(super) trait FetchedPage: Send + 'static {
    /// Items Intercom listed on this page.
    fn listed(&self) -> u64;
    /// Items this page writes.
    fn written(&self) -> u64;
    /// The cursor of the page after this one; `None` on the last page.
    fn cursor_after(&self) -> Option<&str>;
    /// Writes the page's data.
    fn write(self, tx: &mut WriteTx) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// What [`run`] did.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Totals {
    pub listed: u64,
    pub written: u64,
}

/// Runs `produce` (which sends pages) and the writer concurrently until the producer is done and every page it
/// sent is committed. The last page's transaction also completes the run: the watermark becomes
/// `run.started_at`.
pub(super) async fn run<P, F>(
    store: &Store,
    resource: &'static str,
    run: &RunCheckpoint,
    batch: usize,
    progress: &dyn Progress,
    produce: impl FnOnce(mpsc::Sender<P>) -> F,
) -> Result<Totals, SyncError>
where
    P: FetchedPage,
    F: Future<Output = Result<(), SyncError>>,
{
    let (sender, receiver) = mpsc::channel(DEPTH);
    let (produced, written) =
        tokio::join!(produce(sender), write_pages(store, resource, run, batch, progress, receiver));
    let totals = written?;
    produced?;
    Ok(totals)
}

/// Sends `page` to the writer; fails when the writer stopped (its own error is reported instead).
pub(super) async fn send<P>(sender: &mpsc::Sender<P>, resource: &'static str, page: P) -> Result<(), SyncError> {
    sender
        .send(page)
        .await
        .map_err(|_| SyncError::Internal { resource, message: "the store writer stopped".to_owned() })
}

async fn write_pages<P: FetchedPage>(
    store: &Store,
    resource: &'static str,
    run: &RunCheckpoint,
    batch: usize,
    progress: &dyn Progress,
    mut receiver: mpsc::Receiver<P>,
) -> Result<Totals, SyncError> {
    if store.backend() == Backend::Postgres {
        return write_pages_side_by_side(store, resource, run, batch, progress, receiver).await;
    }
    let mut totals = Totals::default();
    while let Some(first) = receiver.recv().await {
        let pages = ready_pages(first, &mut receiver, batch);
        let summary = Summary::of(&pages);
        let mut tx = write_all(store, resource, pages).await?;
        totals.add(&summary);
        save_checkpoint(&mut tx, resource, run, summary.cursor_after.clone(), totals).await?;
        tx.commit().await.during(resource)?;
        summary.report(resource, progress);
    }
    Ok(totals)
}

/// [`write_pages`] with up to [`POSTGRES_WRITERS`] batches in flight, each checkpointed in order once it and
/// those before it committed.
async fn write_pages_side_by_side<P: FetchedPage>(
    store: &Store,
    resource: &'static str,
    run: &RunCheckpoint,
    batch: usize,
    progress: &dyn Progress,
    mut receiver: mpsc::Receiver<P>,
) -> Result<Totals, SyncError> {
    let mut totals = Totals::default();
    let mut in_flight: VecDeque<tokio::task::JoinHandle<Result<Summary, SyncError>>> = VecDeque::new();
    let mut receiving = true;
    loop {
        if receiving && in_flight.len() < POSTGRES_WRITERS {
            match receiver.recv().await {
                Some(first) => {
                    let pages = ready_pages(first, &mut receiver, batch);
                    let store = store.clone();
                    in_flight.push_back(tokio::spawn(async move {
                        let summary = Summary::of(&pages);
                        write_all(&store, resource, pages).await?.commit().await.during(resource)?;
                        Ok(summary)
                    }));
                    continue;
                }
                None => receiving = false,
            }
        }
        let Some(oldest) = in_flight.pop_front() else { break };
        let summary = oldest
            .await
            .map_err(|error| SyncError::Internal { resource, message: format!("a store writer failed: {error}") })??;
        totals.add(&summary);
        let mut tx = store.begin_write().await.during(resource)?;
        save_checkpoint(&mut tx, resource, run, summary.cursor_after.clone(), totals).await?;
        tx.commit().await.during(resource)?;
        summary.report(resource, progress);
    }
    Ok(totals)
}

/// Records items a sync committed for `resource` (`/metrics`: `fastintercom_sync_items_written_total`); `rate()`
/// of this counter is the sync throughput.
fn record_items_written(resource: &'static str, items: u64) {
    metrics::counter!("fastintercom_sync_items_written_total", "resource" => resource).increment(items);
}

/// Begins a write transaction and writes `pages` in it, uncommitted.
async fn write_all<P: FetchedPage>(store: &Store, resource: &'static str, pages: Vec<P>) -> Result<WriteTx, SyncError> {
    let mut tx = store.begin_write().await.during(resource)?;
    for page in pages {
        page.write(&mut tx).await.during(resource)?;
    }
    Ok(tx)
}

/// `first` and the pages already waiting behind it, up to `batch` items, stopping after the run's last page.
fn ready_pages<P: FetchedPage>(first: P, receiver: &mut mpsc::Receiver<P>, batch: usize) -> Vec<P> {
    let mut size = first.written();
    let mut pages = vec![first];
    while size < batch as u64 && pages.last().is_some_and(|p| p.cursor_after().is_some()) {
        match receiver.try_recv() {
            Ok(page) => {
                size += page.written();
                pages.push(page);
            }
            Err(_) => break,
        }
    }
    pages
}

/// What a batch of pages holds.
struct Summary {
    listed: u64,
    written: u64,
    /// The cursor after its last page; `None` when that was the run's last.
    cursor_after: Option<String>,
}

impl Totals {
    fn add(&mut self, batch: &Summary) {
        self.listed += batch.listed;
        self.written += batch.written;
    }
}

impl Summary {
    /// Tells the metrics and the progress display of a committed batch.
    fn report(&self, resource: &'static str, progress: &dyn Progress) {
        record_items_written(resource, self.written);
        progress.advance(resource, self.listed);
    }

    fn of<P: FetchedPage>(pages: &[P]) -> Self {
        let (listed, written) =
            pages.iter().fold((0, 0), |(listed, written), page| (listed + page.listed(), written + page.written()));
        Self { listed, written, cursor_after: pages.last().and_then(|p| p.cursor_after()).map(str::to_owned) }
    }
}

/// The checkpoint after a batch: the next page's cursor, or the run's end (its watermark and item count).
async fn save_checkpoint(
    tx: &mut WriteTx,
    resource: &'static str,
    run: &RunCheckpoint,
    cursor_after: Option<String>,
    totals: Totals,
) -> Result<(), SyncError> {
    match cursor_after {
        Some(cursor) => {
            let checkpoint = RunCheckpoint { cursor: Some(cursor), ..run.clone() };
            tx.save_run_progress(resource, &checkpoint).await.during(resource)
        }
        None => {
            let finished_at = unix_now();
            tx.finish_run(resource, run.started_at, finished_at, totals.written as i64).await.during(resource)
        }
    }
}

/// This machine's clock, unix seconds.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}
