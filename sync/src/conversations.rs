//! Conversations: search by `updated_at` (150 per page, the cursor in the body), then retrieve each conversation
//! whose `updated_at` differs from the stored one, for its parts.
//!
//! Search pages are fetched one after another (each needs the previous cursor) while the retrieves of two pages
//! run at once; conversion to records and statement building happen on a blocking thread; the writer commits
//! pages in order with their checkpoint (see [`super::pipeline`]).

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use super::pipeline::{self, FetchedPage};
use super::{CONVERSATION_OVERLAP, CONVERSATIONS, Context, InResource as _, ResourceReport, SyncError, off_runtime};
use crate::intercom::models::Conversation;
use crate::intercom::{IntercomClient, IntercomError};
use crate::store::model::ConversationRecord;
use crate::store::{PreparedWrite, RunCheckpoint, Store, StoreError, WriteTx, prepare_conversations};
use futures_util::{StreamExt as _, TryStreamExt as _, stream};
use tokio::task::JoinHandle;

/// Search pages whose retrieves run at the same time.
const PAGES_IN_FLIGHT: usize = 2;

pub(super) async fn sync_conversations(context: &Context<'_>) -> Result<ResourceReport, SyncError> {
    let Context { client, store, options, progress } = *context;
    let state = store.sync_state(CONVERSATIONS).await.during(CONVERSATIONS)?;
    let run = state.run.unwrap_or_else(|| {
        let since = match state.watermark {
            Some(watermark) if !options.full => watermark - CONVERSATION_OVERLAP,
            _ => 0,
        };
        RunCheckpoint { since, started_at: client.server_now(), cursor: None }
    });
    let created_since = options.history.map(|history| run.started_at - history.as_secs() as i64);
    let per_page = (options.concurrency / PAGES_IN_FLIGHT).max(1);
    let refetch_all = options.full;

    let run = &run;
    let totals = pipeline::run(store, CONVERSATIONS, run, options.write_batch, progress, |sender| async move {
        // Each page's retrieves run as their own task, so two pages' retrieves (and their JSON decoding) proceed
        // on both cores while the next search page is fetched; pages still reach the writer in order.
        let mut fetching: VecDeque<PageTask> = VecDeque::with_capacity(PAGES_IN_FLIGHT);
        let mut cursor = run.cursor.clone();
        let mut first = true;
        let mut restarted = false;
        loop {
            let page = match client.search_conversations(run.since, created_since, cursor.as_deref()).await {
                // A saved cursor Intercom no longer accepts: start the run's search over (unchanged items are not
                // fetched or written again) rather than failing every run from now on.
                Err(IntercomError::Rejected { .. }) if cursor.is_some() && !restarted => {
                    tracing::warn!("Intercom rejected the saved conversation cursor; restarting the search");
                    (cursor, restarted) = (None, true);
                    continue;
                }
                result => result.during(CONVERSATIONS)?,
            };
            if first {
                progress.start(CONVERSATIONS, page.total_count.map(|n| n.max(0) as u64));
                first = false;
            }
            let next = page.pages.as_ref().and_then(|p| p.next_cursor()).map(str::to_owned);
            fetching.push_back(PageTask(tokio::spawn(fetch_page(
                Arc::clone(client),
                store.clone(),
                page.conversations,
                next.clone(),
                per_page,
                refetch_all,
            ))));
            while fetching.len() >= PAGES_IN_FLIGHT || (next.is_none() && !fetching.is_empty()) {
                let task = fetching.pop_front().expect("not empty");
                pipeline::send(&sender, CONVERSATIONS, task.finish().await?).await?;
            }
            match next {
                Some(next) => cursor = Some(next),
                None => return Ok(()),
            }
        }
    })
    .await?;
    progress.finish(CONVERSATIONS);
    Ok(ResourceReport { resource: CONVERSATIONS, listed: totals.listed, written: totals.written, deleted: 0 })
}

/// The retrieves of one page, running; aborted if the run stops before it is awaited.
struct PageTask(JoinHandle<Result<ConversationPage, SyncError>>);

impl PageTask {
    async fn finish(mut self) -> Result<ConversationPage, SyncError> {
        match (&mut self.0).await {
            Ok(page) => page,
            Err(error) => Err(SyncError::Internal {
                resource: CONVERSATIONS,
                message: format!("fetching a page of conversations failed: {error}"),
            }),
        }
    }
}

impl Drop for PageTask {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A page of conversations with all their parts, as statements ready for the writer.
struct ConversationPage {
    write: PreparedWrite,
    listed: u64,
    written: u64,
    cursor_after: Option<String>,
}

impl FetchedPage for ConversationPage {
    fn listed(&self) -> u64 {
        self.listed
    }

    fn written(&self) -> u64 {
        self.written
    }

    fn cursor_after(&self) -> Option<&str> {
        self.cursor_after.as_deref()
    }

    async fn write(self, tx: &mut WriteTx) -> Result<(), StoreError> {
        tx.apply(self.write).await
    }
}

/// Retrieves the conversations of one search page that changed, and prepares their rows.
async fn fetch_page(
    client: Arc<IntercomClient>,
    store: Store,
    listed: Vec<Conversation>,
    cursor_after: Option<String>,
    concurrency: usize,
    refetch_all: bool,
) -> Result<ConversationPage, SyncError> {
    let changed = changed_ids(&store, &listed, refetch_all).await?;
    let fetched: Vec<Conversation> = stream::iter(changed)
        .map(|id| {
            let client = Arc::clone(&client);
            async move { client.conversation(&id).await }
        })
        .buffer_unordered(concurrency)
        // A conversation deleted between the search and the retrieve answers 404: the deletion sync handles it.
        .try_filter_map(|conversation| async move { Ok(conversation) })
        .try_collect()
        .await
        .during(CONVERSATIONS)?;
    let written = fetched.len() as u64;
    let backend = store.backend();
    let write = off_runtime(CONVERSATIONS, move || {
        let records: Vec<ConversationRecord> = fetched.into_iter().map(Conversation::into_record).collect();
        prepare_conversations(backend, &records)
    })
    .await?
    .during(CONVERSATIONS)?;
    Ok(ConversationPage { write, listed: listed.len() as u64, written, cursor_after })
}

/// The ids of the listed conversations whose `updated_at` differs from the stored one (all of them on a full run).
async fn changed_ids(store: &Store, listed: &[Conversation], refetch_all: bool) -> Result<Vec<String>, SyncError> {
    let ids: Vec<String> = listed.iter().map(|c| c.id.clone()).collect();
    if refetch_all {
        return Ok(ids);
    }
    let stored: HashMap<String, i64> = store.conversation_versions(&ids).await.during(CONVERSATIONS)?;
    Ok(listed.iter().filter(|c| stored.get(&c.id) != Some(&c.updated_at)).map(|c| c.id.clone()).collect())
}

/// Fetches conversation `id` again and stores it, or deletes it when Intercom no longer has it.
pub(super) async fn refresh_one(client: &IntercomClient, store: &Store, id: &str) -> Result<(), SyncError> {
    let conversation = client.conversation(id).await.during(CONVERSATIONS)?;
    let mut tx = store.begin_write().await.during(CONVERSATIONS)?;
    match conversation {
        Some(conversation) => {
            let backend = store.backend();
            let write =
                off_runtime(CONVERSATIONS, move || prepare_conversations(backend, &[conversation.into_record()]))
                    .await?
                    .during(CONVERSATIONS)?;
            tx.apply(write).await.during(CONVERSATIONS)?;
        }
        None => {
            tx.delete_conversations(&[id.to_owned()]).await.during(CONVERSATIONS)?;
        }
    }
    tx.commit().await.during(CONVERSATIONS)
}
