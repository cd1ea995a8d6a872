//! `fastintercom demo`: fill the store with the deterministic synthetic workspace.

use anyhow::bail;
use clap::Args;

use crate::config::Config;
use crate::demo::{self, DemoOptions};

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Number of conversations to generate
    #[arg(long, default_value_t = DemoOptions::default().conversations)]
    pub conversations: usize,
    /// Seed of the generator; the same seed and size give the same workspace
    #[arg(long, default_value_t = DemoOptions::default().seed)]
    pub seed: u64,
}

pub async fn run(config: &Config, args: DemoArgs) -> anyhow::Result<()> {
    let options = DemoOptions { conversations: args.conversations, seed: args.seed, ..DemoOptions::default() };
    // No store is built when there is one (perhaps made meanwhile by another process): that one is seeded.
    let report = match config.build_demo_store(&options).await? {
        Some(report) => report,
        None => {
            let store = config.open_store().await?;
            if store.freshness().await?.source == "intercom" {
                match config.database_url {
                    None => bail!(
                        "the store in {} holds a synced Intercom workspace; use another --data-dir for the demo",
                        config.data_dir.display()
                    ),
                    Some(_) => {
                        bail!("the database holds a synced Intercom workspace; use another database for the demo")
                    }
                }
            }
            let report = demo::seed(&store, &options).await?;
            store.close().await;
            report
        }
    };
    eprintln!(
        "seeded {} conversations ({} parts), {} contacts, {} companies in {:.2} s: {:.0} conversations/s",
        report.conversations,
        report.parts,
        report.contacts,
        report.companies,
        report.elapsed.as_secs_f64(),
        report.conversations_per_second()
    );
    Ok(())
}
