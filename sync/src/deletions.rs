//! Conversation deletions: `GET /conversations/deleted` (API 2.16), newest first, 60 per page, read back to the
//! watermark.
//!
//! A first sync only stores conversations that exist, so its deletion watermark starts where its conversation
//! run started; after that each run reads the deletions since the previous one (with an overlap: deleting twice is
//! harmless).

use super::{
    CONVERSATION_OVERLAP, CONVERSATIONS, Context, DELETED_CONVERSATIONS, InResource as _, ResourceReport, SyncError,
};
use crate::intercom::models::DeletedConversationPage;

const RESOURCE: &str = DELETED_CONVERSATIONS;

pub(super) async fn sync_deletions(context: &Context<'_>) -> Result<ResourceReport, SyncError> {
    let Context { client, store, progress, .. } = *context;
    let started_at = client.server_now();
    let state = store.sync_state(RESOURCE).await.during(RESOURCE)?;
    let since = match state.watermark {
        Some(watermark) => Some(watermark),
        None => store.sync_state(CONVERSATIONS).await.during(RESOURCE)?.watermark,
    };
    progress.start(RESOURCE, None);
    let mut report = ResourceReport { resource: RESOURCE, ..ResourceReport::default() };
    if let Some(since) = since.map(|since| since - CONVERSATION_OVERLAP) {
        let mut page_number = 1;
        loop {
            let page: DeletedConversationPage = client.deleted_conversations(page_number).await.during(RESOURCE)?;
            let reached_watermark = page.data.iter().any(|d| d.deleted_at.is_some_and(|at| at < since));
            let ids: Vec<String> =
                page.data.iter().filter(|d| d.deleted_at.is_none_or(|at| at >= since)).map(|d| d.id.clone()).collect();
            report.listed += ids.len() as u64;
            if !ids.is_empty() {
                let mut tx = store.begin_write().await.during(RESOURCE)?;
                report.deleted += tx.delete_conversations(&ids).await.during(RESOURCE)?;
                tx.commit().await.during(RESOURCE)?;
            }
            progress.advance(RESOURCE, ids.len() as u64);
            let more = page.pages.as_ref().is_some_and(|p| p.next.as_deref().is_some_and(|next| !next.is_empty()));
            if reached_watermark || !more || page.data.is_empty() {
                break;
            }
            page_number += 1;
        }
    }
    let mut tx = store.begin_write().await.during(RESOURCE)?;
    tx.finish_run(RESOURCE, started_at, super::pipeline::unix_now(), report.deleted as i64).await.during(RESOURCE)?;
    tx.commit().await.during(RESOURCE)?;
    progress.finish(RESOURCE);
    Ok(report)
}
