//! `fastintercom bench-sync`: sync throughput, rate-limit utilisation and the cost of an incremental sync, against
//! the in-process fake Intercom (loopback HTTP, real shapes), into a fresh SQLite store, or with `--database-url`
//! into a PostgreSQL database that must be empty (it is emptied again between the measurements).
//!
//! The fake and the sync share this machine's cores, as they would share nothing in production: the figures are a
//! floor. The README's sync figures come from this command.

use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;

use crate::config::Config;
use crate::fake_intercom::{FakeIntercom, FakeOptions};
use crate::intercom::{AccessToken, ClientOptions, IntercomClient};
use crate::store::{Store, StoreOptions};
use crate::sync::{self, NoProgress, SyncEngine, SyncOptions, SyncReport};

#[derive(Debug, Args)]
pub struct BenchSyncArgs {
    /// Conversations in the fake workspace for the throughput and incremental measurements
    #[arg(long, default_value_t = 100_000)]
    pub conversations: usize,
    /// Share of conversations changed before the incremental sync, in percent
    #[arg(long, default_value_t = 1.0)]
    pub changed_percent: f64,
    /// Rate limit of the fake for the utilisation measurement, requests per minute (0 skips it)
    #[arg(long, default_value_t = 10_000)]
    pub rate_limit: u32,
    /// How long the rate-limited sync should last, roughly: its workspace is sized from the limit
    #[arg(long, default_value = "60s", value_parser = humantime::parse_duration)]
    pub rate_limited_for: Duration,
    /// Conversations retrieved at the same time
    #[arg(long, default_value_t = SyncOptions::default().concurrency)]
    pub concurrency: usize,
}

pub async fn run(config: &Config, args: BenchSyncArgs) -> anyhow::Result<()> {
    std::fs::create_dir_all(&config.data_dir)?;
    let options = SyncOptions { concurrency: args.concurrency.max(1), ..SyncOptions::default() };

    // 1. Full sync, no rate limit.
    let fake = FakeIntercom::start(FakeOptions::new(args.conversations)).await?;
    let (dir, engine) = fresh_engine(config, &fake, Fresh::Required).await?;
    let full = engine.run(&options, &NoProgress).await?;
    let counts = engine.store().counts().await?;
    println!(
        "full sync, no rate limit: {} conversations ({} parts), {} contacts in {:.2} s: {:.0} conversations/s, {} requests",
        counts.conversations,
        counts.parts,
        counts.contacts,
        full.elapsed.as_secs_f64(),
        counts.conversations as f64 / full.elapsed.as_secs_f64(),
        full.requests
    );

    // 2. Incremental sync after changing a share of the conversations.
    let changed = ((args.conversations as f64 * args.changed_percent / 100.0).round() as usize).max(1);
    let ids: Vec<String> = fake.conversation_ids();
    fake.advance(3_600);
    let step = (ids.len() / changed).max(1);
    for id in ids.iter().step_by(step).take(changed) {
        fake.add_part(id, "<p>Following up on this one.</p>");
    }
    fake.advance(60);
    fake.reset_stats();
    let incremental = engine.run(&options, &NoProgress).await?;
    println!(
        "incremental sync, {changed} of {} conversations changed ({}%): {} requests in {:.2} s ({} conversations written)",
        args.conversations,
        args.changed_percent,
        incremental.requests,
        incremental.elapsed.as_secs_f64(),
        written(&incremental, sync::CONVERSATIONS)
    );
    let routes: Vec<String> = fake.stats().routes.iter().map(|(route, n)| format!("{route}: {n}")).collect();
    println!("  requests by endpoint: {}", routes.join(", "));
    engine.store().close().await;
    fake.shutdown().await;
    drop(dir);

    // 3. Rate-limit utilisation: a full sync sized to last about `rate_limited_for` at the limit.
    if args.rate_limit > 0 {
        let per_second = f64::from(args.rate_limit) / 60.0;
        // About one request per conversation, plus a few listings.
        let conversations = (per_second * args.rate_limited_for.as_secs_f64()) as usize;
        let mut fake_options = FakeOptions::new(conversations.max(100));
        fake_options.rate_limit_per_minute = Some(args.rate_limit);
        let fake = FakeIntercom::start(fake_options).await?;
        let (dir, engine) = fresh_engine(config, &fake, Fresh::Emptied).await?;
        let started = Instant::now();
        let report = engine.run(&options, &NoProgress).await?;
        let elapsed = started.elapsed().as_secs_f64();
        let stats = fake.stats();
        let utilisation = report.requests as f64 / (elapsed * per_second);
        // The first window (joined part-way, with its whole budget) and the last (left part-way) say little;
        // the windows between them show the steady state.
        let windows = fake.window_counts();
        let budget = fake.window_budget().unwrap_or(1);
        let inner = windows.get(1..windows.len().saturating_sub(1)).unwrap_or_default();
        let steady = inner.iter().map(|(_, n)| *n).sum::<u64>() as f64 / (inner.len().max(1) as u64 * budget) as f64;
        let per_window: Vec<String> = windows.iter().map(|(_, n)| n.to_string()).collect();
        println!(
            "rate limited to {}/min: {} requests in {:.1} s = {:.1}% of the ceiling over the run; steady state {:.1}% \
             ({} full windows of {budget}); {} answered 429; per window: {}",
            args.rate_limit,
            report.requests,
            elapsed,
            utilisation * 100.0,
            steady * 100.0,
            inner.len(),
            stats.rate_limited,
            per_window.join(" ")
        );
        engine.store().close().await;
        fake.shutdown().await;
        drop(dir);
    }
    Ok(())
}

fn written(report: &SyncReport, resource: &str) -> u64 {
    report.resource(resource).map_or(0, |r| r.written)
}

/// How an engine's store starts out empty: a new SQLite file each time; the PostgreSQL database empty at the start
/// of the benchmark (refused otherwise: it is not this command's to empty), and emptied by it for later runs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Fresh {
    Required,
    Emptied,
}

async fn fresh_engine(
    config: &Config,
    fake: &FakeIntercom,
    fresh: Fresh,
) -> anyhow::Result<(tempfile::TempDir, SyncEngine)> {
    let dir = tempfile::TempDir::new_in(&config.data_dir)?;
    let store = match config.database_url {
        None => Store::open(&dir.path().join("workspace.sqlite3"), StoreOptions::default()).await?,
        Some(_) => {
            let store = config.open_store().await?;
            if fresh == Fresh::Emptied {
                let mut tx = store.begin_write().await?;
                tx.clear_workspace().await?;
                tx.commit().await?;
            }
            let empty = store.counts().await? == Default::default() && store.sync_states().await?.is_empty();
            anyhow::ensure!(empty, "bench-sync writes a fake workspace: give it an empty database of its own");
            store
        }
    };
    let client = IntercomClient::new(ClientOptions::new(fake.base_url(), AccessToken::new(fake.token())))?;
    Ok((dir, SyncEngine::new(Arc::new(client), store)))
}
