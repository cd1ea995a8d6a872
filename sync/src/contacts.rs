//! Contacts: search by `updated_at`, oldest first, 150 per page with the cursor in the body.
//!
//! Intercom matches contact dates by whole day, so an incremental run searches from two days before the
//! watermark and skips contacts whose `updated_at` is already stored. A contact shows at most 10 companies and
//! tags; when it has more, they are listed separately.

use std::collections::HashMap;

use super::pipeline::{self, FetchedPage};
use super::{CONTACT_OVERLAP, CONTACTS, Context, InResource as _, ResourceReport, SyncError};
use crate::intercom::models::Contact;
use crate::intercom::{IntercomClient, IntercomError};
use crate::store::model::ContactRecord;
use crate::store::{RunCheckpoint, Store, StoreError, WriteTx};

pub(super) async fn sync_contacts(context: &Context<'_>) -> Result<ResourceReport, SyncError> {
    let Context { client, store, options, progress } = *context;
    let state = store.sync_state(CONTACTS).await.during(CONTACTS)?;
    let run = state.run.unwrap_or_else(|| {
        let since = match state.watermark {
            Some(watermark) if !options.full => watermark - CONTACT_OVERLAP,
            _ => 0,
        };
        RunCheckpoint { since, started_at: client.server_now(), cursor: None }
    });
    let refetch_all = options.full;
    let run = &run;
    let totals = pipeline::run(store, CONTACTS, run, options.write_batch, progress, |sender| async move {
        let mut cursor = run.cursor.clone();
        let mut first = true;
        let mut restarted = false;
        loop {
            let page = match client.search_contacts(run.since, cursor.as_deref()).await {
                // A saved cursor Intercom no longer accepts: start the run's search over (unchanged items are not
                // fetched or written again) rather than failing every run from now on.
                Err(IntercomError::Rejected { .. }) if cursor.is_some() && !restarted => {
                    tracing::warn!("Intercom rejected the saved contact cursor; restarting the search");
                    (cursor, restarted) = (None, true);
                    continue;
                }
                result => result.during(CONTACTS)?,
            };
            if first {
                progress.start(CONTACTS, page.total_count.map(|n| n.max(0) as u64));
                first = false;
            }
            let next = page.pages.as_ref().and_then(|p| p.next_cursor()).map(str::to_owned);
            let listed = page.data.len() as u64;
            let changed = changed(store, page.data, refetch_all).await?;
            let mut records = Vec::with_capacity(changed.len());
            for contact in changed {
                records.push(complete(client, contact).await.during(CONTACTS)?);
            }
            let done = next.is_none();
            pipeline::send(&sender, CONTACTS, ContactPage { records, listed, cursor_after: next.clone() }).await?;
            if done {
                return Ok(());
            }
            cursor = next;
        }
    })
    .await?;
    progress.finish(CONTACTS);
    Ok(ResourceReport { resource: CONTACTS, listed: totals.listed, written: totals.written, deleted: 0 })
}

struct ContactPage {
    records: Vec<ContactRecord>,
    listed: u64,
    cursor_after: Option<String>,
}

impl FetchedPage for ContactPage {
    fn listed(&self) -> u64 {
        self.listed
    }

    fn written(&self) -> u64 {
        self.records.len() as u64
    }

    fn cursor_after(&self) -> Option<&str> {
        self.cursor_after.as_deref()
    }

    async fn write(self, tx: &mut WriteTx) -> Result<(), StoreError> {
        tx.upsert_contacts(&self.records).await
    }
}

/// The listed contacts whose `updated_at` differs from the stored one (all of them on a full run).
async fn changed(store: &Store, listed: Vec<Contact>, refetch_all: bool) -> Result<Vec<Contact>, SyncError> {
    if refetch_all {
        return Ok(listed);
    }
    let ids: Vec<String> = listed.iter().map(|c| c.id.clone()).collect();
    let stored: HashMap<String, i64> = store.contact_versions(&ids).await.during(CONTACTS)?;
    Ok(listed.into_iter().filter(|c| stored.get(&c.id) != Some(&c.updated_at)).collect())
}

/// The contact's record, with its companies and tags listed separately when the contact shows only some.
async fn complete(client: &IntercomClient, contact: Contact) -> Result<ContactRecord, IntercomError> {
    let more_companies = contact.companies.as_ref().is_some_and(|list| list.has_more);
    let more_tags = contact.tags.as_ref().is_some_and(|list| list.has_more);
    let id = contact.id.clone();
    let mut record = contact.into_record();
    if more_companies {
        record.company_ids = client.contact_companies(&id).await?.data.into_iter().map(|c| c.id).collect();
    }
    if more_tags {
        record.tag_ids = client.contact_tags(&id).await?.data.into_iter().map(|t| t.id).collect();
    }
    Ok(record)
}

/// Fetches contact `id` again and stores it, or deletes it when Intercom no longer has it.
pub(super) async fn refresh_one(client: &IntercomClient, store: &Store, id: &str) -> Result<(), SyncError> {
    let contact = client.contact(id).await.during(CONTACTS)?;
    let record = match contact {
        Some(contact) => Some(complete(client, contact).await.during(CONTACTS)?),
        None => None,
    };
    let mut tx = store.begin_write().await.during(CONTACTS)?;
    match record {
        Some(record) => tx.upsert_contacts(&[record]).await.during(CONTACTS)?,
        None => {
            tx.delete_contacts(&[id.to_owned()]).await.during(CONTACTS)?;
        }
    }
    tx.commit().await.during(CONTACTS)
}
