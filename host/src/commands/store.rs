//! `fastintercom store copy --to postgres://...`: moves the data directory's SQLite store into an empty
//! PostgreSQL database (see `store/copy.rs`), for a team that outgrew one machine.

use std::time::Instant;

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand};

use crate::config::Config;
use crate::config::DatabaseUrl;
use crate::store::{PostgresOptions, Store, StoreOptions, is_postgres_url};
use crate::sync::SyncLock;
use crate::sync::lock::SYNC_ROLE;

#[derive(Debug, Args)]
pub struct StoreArgs {
    #[command(subcommand)]
    pub command: StoreCommand,
}

#[derive(Debug, Subcommand)]
pub enum StoreCommand {
    /// Copy the data directory's SQLite store (workspace, sync checkpoints, API keys, pending webhook deliveries)
    /// into an empty PostgreSQL database. All or nothing: a copy that fails leaves the target empty, so it can be
    /// run again.
    Copy {
        /// The PostgreSQL database to copy into (postgres://user:password@host:port/database); it must be empty
        #[arg(long, env = "FASTINTERCOM_COPY_TO", value_name = "URL", hide_env_values = true)]
        to: DatabaseUrl,
    },
}

pub async fn run(config: &Config, args: StoreArgs) -> anyhow::Result<()> {
    match args.command {
        StoreCommand::Copy { to } => copy(config, &to).await,
    }
}

async fn copy(config: &Config, to: &DatabaseUrl) -> anyhow::Result<()> {
    if !is_postgres_url(to.expose()) {
        bail!("store copy copies into PostgreSQL: --to must be a postgres:// or postgresql:// URL");
    }
    let path = config.database_path();
    if !path.exists() {
        bail!("there is no SQLite store to copy in {}", config.data_dir.display());
    }
    // Nothing may sync into the source meanwhile: the copy reads one snapshot, and later writes would be lost.
    let Some(_lock) = SyncLock::try_acquire(&config.data_dir).context("cannot take the sync lock")? else {
        bail!(
            "a fastintercom process syncs {}; stop it first (what it wrote during the copy would be missing)",
            config.data_dir.display()
        );
    };
    let source = Store::open(&path, StoreOptions::default())
        .await
        .with_context(|| format!("cannot open the SQLite store in {}", config.data_dir.display()))?;
    // The error names the server and the database, never the URL (which may hold a password).
    let target = Store::open_postgres(to.expose(), &PostgresOptions::default()).await?;
    let started = Instant::now();
    let copied = source.copy_into(&target, SYNC_ROLE, |step| eprintln!("copying {step}...")).await;
    source.close().await;
    target.close().await;
    let report = copied.context("the copy failed; the target is unchanged, and the copy can be run again")?;
    let rows: u64 = report.tables.iter().map(|(_, rows)| rows).sum();
    for (table, rows) in &report.tables {
        println!("{table:<22} {rows:>10}");
    }
    println!("copied {rows} rows in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}
