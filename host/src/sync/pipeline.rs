//! Fetching and writing overlap: a producer fetches pages from Intercom while a consumer writes the pages already
//! fetched, each page with the checkpoint that says it is stored.
//!
//! Pages reach the writer in the order they were fetched, and pages that are ready together are written in one
//! transaction (up to a batch size) with the checkpoint of the last one: fewer commits when the writer falls
//! behind, and still never a checkpoint ahead of the data it covers.

use std::future::Future;

use tokio::sync::mpsc;

use super::{InResource as _, Progress, SyncError};
use crate::store::{RunCheckpoint, Store, StoreError, WriteTx};

/// Pages fetched ahead of the writer.
const DEPTH: usize = 4;

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
    let mut totals = Totals::default();
    while let Some(first) = receiver.recv().await {
        let mut pages = vec![first];
        let mut size = pages[0].written();
        while size < batch as u64 && pages.last().is_some_and(|p| p.cursor_after().is_some()) {
            match receiver.try_recv() {
                Ok(page) => {
                    size += page.written();
                    pages.push(page);
                }
                Err(_) => break,
            }
        }
        let cursor_after = pages.last().and_then(|p| p.cursor_after()).map(str::to_owned);
        let (listed, written) =
            pages.iter().fold((0, 0), |(listed, written), page| (listed + page.listed(), written + page.written()));
        let mut tx = store.begin_write().await.during(resource)?;
        for page in pages {
            page.write(&mut tx).await.during(resource)?;
        }
        totals.listed += listed;
        totals.written += written;
        match cursor_after {
            Some(cursor) => {
                let checkpoint = RunCheckpoint { cursor: Some(cursor), ..run.clone() };
                tx.save_run_progress(resource, &checkpoint).await.during(resource)?;
            }
            None => {
                let finished_at = unix_now();
                tx.finish_run(resource, run.started_at, finished_at, totals.written as i64).await.during(resource)?;
            }
        }
        tx.commit().await.during(resource)?;
        crate::observability::record_sync_items(resource, written);
        progress.advance(resource, listed);
    }
    Ok(totals)
}

/// This machine's clock, unix seconds.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}
