//! Reference data: admins, teams and tags (small, unpaginated, fetched whole on every run) and companies (the
//! scroll API on a first or full run; afterwards only the companies that contacts point to and that are missing).

use futures_util::{StreamExt as _, TryStreamExt as _, stream};

use super::{ADMINS, COMPANIES, Context, InResource as _, ResourceReport, SyncError, TAGS, TEAMS, pipeline::unix_now};
use crate::intercom::IntercomError;
use crate::intercom::models::{Admin, Company, Tag, Team};
use crate::store::ReferenceTable;
use crate::store::model::CompanyRecord;

/// Times a company scroll is started over after Intercom asks for it (a 500 mid-scroll).
const SCROLL_RESTARTS: usize = 3;
/// Missing companies fetched at the same time.
const COMPANY_CONCURRENCY: usize = 4;

/// Fetches admins, teams and tags, then replaces them in one transaction. The first real sync into a store that
/// holds the demo workspace clears it in that same transaction, so a failed first sync leaves the demo intact.
pub(super) async fn sync_reference(context: &Context<'_>) -> Result<Vec<ResourceReport>, SyncError> {
    let Context { client, store, .. } = *context;
    let admins = client.admins().await.during(ADMINS)?.admins;
    let teams = client.teams().await.during(TEAMS)?.teams;
    let tags = client.tags().await.during(TAGS)?.data;
    let watermark = client.server_now();

    let replacing_demo = store.freshness().await.during(ADMINS)?.source == "demo";
    let mut tx = store.begin_write().await.during(ADMINS)?;
    if replacing_demo {
        tracing::info!("replacing the demo workspace with the Intercom workspace");
        tx.clear_workspace().await.during(ADMINS)?;
    }
    let admins: Vec<_> = admins.into_iter().map(Admin::into_record).collect();
    let teams: Vec<_> = teams.into_iter().map(Team::into_record).collect();
    let tags: Vec<_> = tags.into_iter().map(Tag::into_record).collect();
    tx.upsert_admins(&admins).await.during(ADMINS)?;
    tx.upsert_teams(&teams).await.during(TEAMS)?;
    tx.upsert_tags(&tags).await.during(TAGS)?;
    let mut reports = Vec::new();
    for (resource, table, ids) in [
        (ADMINS, ReferenceTable::Admins, admins.iter().map(|a| a.id.clone()).collect::<Vec<_>>()),
        (TEAMS, ReferenceTable::Teams, teams.iter().map(|t| t.id.clone()).collect()),
        (TAGS, ReferenceTable::Tags, tags.iter().map(|t| t.id.clone()).collect()),
    ] {
        let deleted = tx.retain_only(table, &ids).await.during(resource)?;
        tx.finish_run(resource, watermark, unix_now(), ids.len() as i64).await.during(resource)?;
        let count = ids.len() as u64;
        reports.push(ResourceReport { resource, listed: count, written: count, deleted });
    }
    tx.commit().await.during(ADMINS)?;
    Ok(reports)
}

/// Companies: every company through the scroll API on a first or full run; on later runs only the companies
/// that stored contacts belong to and that are not stored yet.
pub(super) async fn sync_companies(context: &Context<'_>) -> Result<ResourceReport, SyncError> {
    let Context { client, store, options, progress } = *context;
    let started_at = client.server_now();
    let state = store.sync_state(COMPANIES).await.during(COMPANIES)?;
    progress.start(COMPANIES, None);
    let mut report = ResourceReport { resource: COMPANIES, ..ResourceReport::default() };
    if options.full || state.watermark.is_none() {
        scroll_all(context, &mut report).await?;
    }
    let missing = store.dangling_company_ids().await.during(COMPANIES)?;
    if !missing.is_empty() {
        let found: Vec<Company> = stream::iter(missing)
            .map(|id| {
                let client = std::sync::Arc::clone(client);
                async move { client.company(&id).await }
            })
            .buffer_unordered(COMPANY_CONCURRENCY)
            .try_filter_map(|company| async move { Ok(company) })
            .try_collect()
            .await
            .during(COMPANIES)?;
        report.listed += found.len() as u64;
        write_companies(context, found.into_iter().map(Company::into_record).collect(), &mut report).await?;
    }
    let mut tx = store.begin_write().await.during(COMPANIES)?;
    tx.finish_run(COMPANIES, started_at, unix_now(), report.written as i64).await.during(COMPANIES)?;
    tx.commit().await.during(COMPANIES)?;
    progress.finish(COMPANIES);
    Ok(report)
}

/// Walks the company scroll to its end, writing each page. A scroll cannot be resumed (its parameter expires
/// after a minute), so an interrupted one starts over; upserts make that harmless.
async fn scroll_all(context: &Context<'_>, report: &mut ResourceReport) -> Result<(), SyncError> {
    let mut restarts = 0;
    'scroll: loop {
        let mut param: Option<String> = None;
        loop {
            let page = match context.client.scroll_companies(param.as_deref()).await {
                Ok(page) => page,
                Err(IntercomError::Server { .. }) if restarts < SCROLL_RESTARTS => {
                    restarts += 1;
                    tracing::warn!(restarts, "Intercom asked to restart the company scroll");
                    continue 'scroll;
                }
                Err(error) => return Err(error).during(COMPANIES),
            };
            if page.data.is_empty() {
                return Ok(());
            }
            report.listed += page.data.len() as u64;
            context.progress.advance(COMPANIES, page.data.len() as u64);
            write_companies(context, page.data.into_iter().map(Company::into_record).collect(), report).await?;
            match page.scroll_param {
                Some(next) if !next.is_empty() => param = Some(next),
                _ => return Ok(()),
            }
        }
    }
}

async fn write_companies(
    context: &Context<'_>,
    companies: Vec<CompanyRecord>,
    report: &mut ResourceReport,
) -> Result<(), SyncError> {
    let mut tx = context.store.begin_write().await.during(COMPANIES)?;
    tx.upsert_companies(&companies).await.during(COMPANIES)?;
    tx.commit().await.during(COMPANIES)?;
    report.written += companies.len() as u64;
    Ok(())
}
