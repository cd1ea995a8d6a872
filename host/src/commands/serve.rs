//! `fastintercom serve`: MCP over stdio, with the workspace kept fresh in the background when a token is
//! configured (and a demo workspace seeded when there is neither a token nor data).

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context as _;
use clap::Args;

use super::sync::IntercomArgs;
use crate::config::{Config, IntercomSettings};
use crate::demo::{self, DemoOptions};
use crate::protocol::McpServer;
use crate::store::Store;
use crate::sync::{SyncEngine, schedule, webhooks};

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Size of the demo workspace seeded when the store is empty and no Intercom token is configured
    #[arg(long, default_value_t = DemoOptions::default().conversations)]
    pub demo_conversations: usize,
    #[command(flatten)]
    pub intercom: IntercomArgs,
    /// Time between background syncs (e.g. "5m", "30s")
    #[arg(long, env = "FASTINTERCOM_SYNC_INTERVAL", default_value = "5m", value_parser = humantime::parse_duration)]
    pub sync_interval: Duration,
    /// Address of the webhook endpoint (POST /webhooks/intercom); it runs only when a client secret is configured
    #[arg(long, env = "FASTINTERCOM_WEBHOOK_LISTEN", default_value = "127.0.0.1:8787")]
    pub webhook_listen: SocketAddr,
}

impl Default for ServeArgs {
    fn default() -> Self {
        Self {
            demo_conversations: DemoOptions::default().conversations,
            intercom: IntercomArgs::default(),
            sync_interval: Duration::from_secs(300),
            webhook_listen: SocketAddr::from(([127, 0, 0, 1], 8787)),
        }
    }
}

pub async fn run(config: &Config, args: ServeArgs) -> anyhow::Result<()> {
    let store = config.open_store().await?;
    let settings = args.intercom.settings(config)?;
    if settings.access_token.is_some() {
        start_background_sync(&args, &settings, store.clone()).await?;
    } else if store.conversation_count().await? == 0 {
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

/// Starts the scheduled sync and, with a client secret, the webhook endpoint. Neither blocks serving.
async fn start_background_sync(args: &ServeArgs, settings: &IntercomSettings, store: Store) -> anyhow::Result<()> {
    let client = args.intercom.client(settings)?;
    let engine = SyncEngine::new(client, store);
    tracing::info!(every = %humantime::format_duration(args.sync_interval), "background sync on");
    tokio::spawn(schedule::run_periodically(engine.clone(), args.intercom.sync_options(false), args.sync_interval));
    if let Some(secret) = settings.client_secret.clone() {
        let listener = tokio::net::TcpListener::bind(args.webhook_listen)
            .await
            .with_context(|| format!("cannot listen for webhooks on {}", args.webhook_listen))?;
        tracing::info!(address = %args.webhook_listen, path = webhooks::PATH, "webhook endpoint on");
        let router = webhooks::router(engine, secret);
        tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, router).await {
                tracing::error!(%error, "the webhook endpoint stopped");
            }
        });
    }
    Ok(())
}
