//! `fastintercom sync`: one run of the sync engine, with progress bars on a terminal.

use std::io::IsTerminal as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use clap::Args;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::config::{Config, IntercomSettings};
use crate::intercom::{IntercomClient, Region};
use crate::store::Backend;
use crate::sync::{NoProgress, Progress, SyncEngine, SyncLock, SyncOptions, SyncReport};

/// Where the Intercom workspace is; shared by `sync` and `serve`.
#[derive(Debug, Clone, Args, Default)]
pub struct IntercomArgs {
    /// The workspace's region (the token itself comes from INTERCOM_ACCESS_TOKEN or the config file)
    #[arg(long, env = "INTERCOM_REGION", value_enum)]
    pub intercom_region: Option<Region>,
    /// Base URL of the Intercom API, overriding the region (e.g. a local fake)
    #[arg(long, env = "INTERCOM_BASE_URL")]
    pub intercom_base_url: Option<String>,
    /// Retries of a request that failed transiently (5xx, 429, timeouts, dropped connections)
    #[arg(long, env = "INTERCOM_MAX_RETRIES", default_value_t = 6)]
    pub intercom_max_retries: usize,
    /// Conversations retrieved from Intercom at the same time
    #[arg(long, default_value_t = SyncOptions::default().concurrency)]
    pub sync_concurrency: usize,
    /// Only sync conversations created in the last this-long (e.g. "365days"); default: everything
    #[arg(long, value_parser = humantime::parse_duration)]
    pub history: Option<Duration>,
}

impl IntercomArgs {
    pub fn settings(&self, config: &Config) -> anyhow::Result<IntercomSettings> {
        IntercomSettings::resolve(&config.config_file(), self.intercom_region, self.intercom_base_url.clone())
    }

    /// A client of the configured workspace.
    pub fn client(&self, settings: &IntercomSettings) -> anyhow::Result<Arc<IntercomClient>> {
        let mut options = settings.client_options()?;
        options.max_retries = self.intercom_max_retries;
        Ok(Arc::new(IntercomClient::new(options)?))
    }

    pub fn sync_options(&self, full: bool) -> SyncOptions {
        SyncOptions { full, history: self.history, concurrency: self.sync_concurrency.max(1), ..SyncOptions::default() }
    }
}

#[derive(Debug, Args)]
pub struct SyncArgs {
    #[command(flatten)]
    pub intercom: IntercomArgs,
    /// Fetch everything again instead of what changed since the last run
    #[arg(long)]
    pub full: bool,
}

pub async fn run(config: &Config, args: SyncArgs) -> anyhow::Result<()> {
    let settings = args.intercom.settings(config)?;
    let client = args.intercom.client(&settings)?;
    let store = config.open_store().await?;
    let Some(mut lock) =
        SyncLock::try_acquire_for(&store, &config.data_dir).await.context("cannot take the sync lock")?
    else {
        match store.backend() {
            Backend::Sqlite => anyhow::bail!(
                "another fastintercom process is syncing {}; try again when it is done",
                config.data_dir.display()
            ),
            Backend::Postgres => {
                anyhow::bail!("another fastintercom process is syncing this database; try again when it is done")
            }
        }
    };
    let engine = SyncEngine::new(client, store.clone());
    let options = args.intercom.sync_options(args.full);
    let run = async {
        if std::io::stderr().is_terminal() {
            engine.run(&options, &Bars::new()).await.context("sync failed")
        } else {
            engine.run(&options, &NoProgress).await.context("sync failed")
        }
    };
    // A sync that lost its lock (its connection to the database broke) stops: another process may take over.
    let result = tokio::select! {
        result = run => result,
        reason = lock.lost() => Err(anyhow::anyhow!("the sync lost its lock ({reason}); another process may take over")),
    };
    store.close().await;
    let report = result?;
    eprintln!("{}", summary(&report));
    Ok(())
}

/// One line per resource, then the totals.
pub fn summary(report: &SyncReport) -> String {
    let mut lines: Vec<String> = report
        .resources
        .iter()
        .map(|r| {
            format!("  {:<22} listed {:>8}  written {:>8}  deleted {:>6}", r.resource, r.listed, r.written, r.deleted)
        })
        .collect();
    lines.insert(
        0,
        format!(
            "synced in {:.2} s with {} requests ({} answered 429)",
            report.elapsed.as_secs_f64(),
            report.requests,
            report.rate_limited
        ),
    );
    lines.join("\n")
}

/// indicatif bars, one per resource: items, rate and ETA when Intercom gave a total.
struct Bars {
    multi: MultiProgress,
    bars: Mutex<Vec<(&'static str, ProgressBar)>>,
}

impl Bars {
    fn new() -> Self {
        Self { multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()), bars: Mutex::new(Vec::new()) }
    }

    fn with_bar(&self, resource: &'static str, action: impl FnOnce(&ProgressBar)) {
        let bars = self.bars.lock().expect("progress lock");
        if let Some((_, bar)) = bars.iter().find(|(name, _)| *name == resource) {
            action(bar);
        }
    }
}

impl Progress for Bars {
    fn start(&self, resource: &'static str, total: Option<u64>) {
        let bar = match total {
            Some(total) => ProgressBar::new(total).with_style(
                ProgressStyle::with_template("{prefix:>22} {bar:30} {pos}/{len} {per_sec} eta {eta}")
                    .expect("valid template"),
            ),
            None => ProgressBar::new_spinner().with_style(
                ProgressStyle::with_template("{prefix:>22} {spinner} {pos} {per_sec}").expect("valid template"),
            ),
        };
        let bar = self.multi.add(bar.with_prefix(resource));
        self.bars.lock().expect("progress lock").push((resource, bar));
    }

    fn advance(&self, resource: &'static str, items: u64) {
        self.with_bar(resource, |bar| bar.inc(items));
    }

    fn finish(&self, resource: &'static str) {
        self.with_bar(resource, ProgressBar::finish);
    }
}
