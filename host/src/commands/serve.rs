//! `fastintercom serve`: MCP over stdio.

use clap::Args;

use crate::config::Config;
use crate::demo::{self, DemoOptions};
use crate::protocol::McpServer;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Size of the demo workspace seeded when the store is empty and INTERCOM_ACCESS_TOKEN is not set
    #[arg(long, default_value_t = DemoOptions::default().conversations)]
    pub demo_conversations: usize,
}

impl Default for ServeArgs {
    fn default() -> Self {
        Self { demo_conversations: DemoOptions::default().conversations }
    }
}

pub async fn run(config: &Config, args: ServeArgs) -> anyhow::Result<()> {
    let store = config.open_store().await?;
    let has_token = std::env::var_os("INTERCOM_ACCESS_TOKEN").is_some();
    if has_token {
        tracing::warn!(
            "INTERCOM_ACCESS_TOKEN is set, but this version cannot sync from Intercom yet; serving the local store as it is"
        );
    }
    if store.conversation_count().await? == 0 && !has_token {
        tracing::info!(
            conversations = args.demo_conversations,
            "the store is empty and no Intercom token is set: seeding a demo workspace"
        );
        let options = DemoOptions { conversations: args.demo_conversations, ..DemoOptions::default() };
        let report = demo::seed(&store, &options).await?;
        tracing::info!(?report, "demo workspace ready");
    }
    let registry = config.open_registry(store.clone()).await?;
    tokio::select! {
        served = McpServer::new(registry).serve_stdio() => served?,
        _ = tokio::signal::ctrl_c() => tracing::info!("interrupted; shutting down"),
    }
    store.close().await;
    Ok(())
}
