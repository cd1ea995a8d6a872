//! `fastintercom serve`: MCP over stdio, or over Streamable HTTP with `--http ADDR`, with the workspace kept
//! fresh in the background when a token is configured (and a demo workspace seeded when there is neither a token
//! nor data). Changes to the plugins directory are served as they land (and on SIGHUP, or `fastintercom plugins
//! reload`); SIGTERM and Ctrl-C shut down gracefully.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::Args;

use super::sync::IntercomArgs;
use crate::config::{Config, HttpSettings, IntercomSettings, RedisSettings};
use crate::demo::{self, DemoOptions};
use crate::http::{HttpApp, HttpServer};
use crate::protocol::McpServer;
use crate::registry::Registry;
use crate::registry::watch::{self, WatchMode};
use crate::shared::SharedRedis;
use crate::store::Backend;
use crate::store::Store;
use crate::sync::lock::{CONTEND_EVERY, SYNC_ROLE};
use crate::sync::{SyncEngine, SyncLock, SyncOptions, schedule, webhooks};

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
    /// Serve MCP over Streamable HTTP at http://ADDR/mcp instead of stdio (e.g. 127.0.0.1:8765). A non-loopback
    /// address needs at least one API key (`fastintercom keys create`)
    #[arg(long, env = "FASTINTERCOM_HTTP", value_name = "ADDR")]
    pub http: Option<SocketAddr>,
    /// Redis shared by the replicas of one deployment, for per-key rate limits that hold across them
    /// (redis://[user:password@]host[:port][/db]; overrides [redis] url in config.toml)
    #[arg(long, env = "FASTINTERCOM_REDIS_URL", value_name = "URL", hide_env_values = true)]
    pub redis_url: Option<String>,
    /// Compute every answer, even one the same call on unchanged data already got (benchmarks of the tools
    /// themselves use this)
    #[arg(long)]
    pub no_answer_cache: bool,
}

impl Default for ServeArgs {
    fn default() -> Self {
        Self {
            demo_conversations: DemoOptions::default().conversations,
            intercom: IntercomArgs::default(),
            sync_interval: Duration::from_secs(300),
            webhook_listen: SocketAddr::from(([127, 0, 0, 1], 8787)),
            http: None,
            redis_url: None,
            no_answer_cache: false,
        }
    }
}

pub async fn run(config: &Config, args: ServeArgs) -> anyhow::Result<()> {
    let redis = RedisSettings::resolve(&config.config_file(), args.redis_url.clone())?;
    let shared = match &redis.url {
        Some(url) => Some(Arc::new(SharedRedis::connect(url, &redis.key_prefix).await?)),
        None => None,
    };
    let config = &Config { keep_answers: !args.no_answer_cache, shared: shared.clone(), ..config.clone() };
    let settings = args.intercom.settings(config)?;
    let demo = DemoOptions { conversations: args.demo_conversations, ..DemoOptions::default() };
    if settings.access_token.is_none()
        && let Some(report) = config.build_demo_store(&demo).await?
    {
        tracing::info!(?report, "no store and no Intercom token: created a demo workspace");
    }
    let store = config.open_store().await?;
    if settings.access_token.is_some() {
        start_background_sync(config, &args, &settings, store.clone()).await?;
    } else {
        seed_the_demo_if_empty(&store, &demo).await?;
    }
    let plugin_watch = PluginWatch::start(config)?;
    let registry = config.open_registry(store.clone()).await?;
    let _watch = plugin_watch.serve(config, Arc::clone(&registry));
    let server = McpServer::new(registry);
    match args.http {
        Some(address) => {
            let app = HttpApp {
                server,
                store: store.clone(),
                settings: HttpSettings::resolve(&config.config_file())?,
                sync_expected: settings.access_token.is_some(),
                shared,
            };
            let http = HttpServer::bind(address, app).await?;
            let bound = http.local_addr().context("cannot read the bound address")?;
            tracing::info!(url = %format!("http://{bound}/mcp"), "serving MCP over Streamable HTTP");
            http.serve(terminated()).await.context("the HTTP server failed")?;
        }
        None => tokio::select! {
            served = server.serve_stdio() => served?,
            () = terminated() => tracing::info!("shutting down"),
        },
    }
    store.close().await;
    Ok(())
}

/// Longest a replica waits for another to finish seeding the demo workspace into their shared store.
const DEMO_SEED_WAIT: Duration = Duration::from_secs(300);

/// Seeds the demo workspace into a store that holds no data of its own (no token: nothing would fill it). Replicas starting together on
/// one empty PostgreSQL store take turns, under a lock of the store's: one seeds, the others then find it seeded
/// (two seeding at once would each write every row, and could deadlock each other).
async fn seed_the_demo_if_empty(store: &Store, demo: &DemoOptions) -> anyhow::Result<()> {
    let mut turn = store.contender("demo seed");
    if let Some(turn) = &mut turn {
        let waiting_since = std::time::Instant::now();
        while !turn.try_lead().await.context("cannot take the demo seed's turn")? {
            if waiting_since.elapsed() > DEMO_SEED_WAIT {
                anyhow::bail!("another replica has been seeding the demo workspace for over 5 minutes");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    // Seeded means marked so: the seed's last write names the demo as the data's source. A seed killed part-way
    // leaves rows but no mark, and is completed here (its writes are upserts of the same rows); a sync writes
    // checkpoints with its first rows, and a copied store brings its source.
    if store.freshness().await?.source == "empty" && store.sync_states().await?.is_empty() {
        tracing::info!(
            conversations = demo.conversations,
            "the store is empty and no Intercom token is set: seeding a demo workspace"
        );
        let report = demo::seed(store, demo).await?;
        tracing::info!(?report, "demo workspace ready");
    }
    // Dropping the turn closes its connection, which releases the lock.
    drop(turn);
    Ok(())
}

/// Resolves on SIGTERM or Ctrl-C.
async fn terminated() {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("installing a SIGTERM handler cannot fail on unix");
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}

/// The plugins directory, watched (debounced; with `watch = false` only for `plugins reload`). Start it before
/// the first load, so files that land while the server loads are seen: the change waits in the channel.
pub struct PluginWatch {
    watch: Arc<watch::DirectoryWatch>,
    changes: tokio::sync::mpsc::Receiver<()>,
}

impl PluginWatch {
    pub fn start(config: &Config) -> anyhow::Result<Self> {
        let mode = if config.plugin_settings()?.watch { WatchMode::Everything } else { WatchMode::TriggerOnly };
        std::fs::create_dir_all(&config.plugins_dir)
            .with_context(|| format!("cannot create the plugins directory {}", config.plugins_dir.display()))?;
        let (watch, changes) = watch::watch(&config.plugins_dir, mode)
            .with_context(|| format!("cannot watch the plugins directory {}", config.plugins_dir.display()))?;
        Ok(Self { watch: Arc::new(watch), changes })
    }

    /// Reloads `registry` on each change and on SIGHUP. Clients are told when the tool list changed; a plugin that
    /// fails to load leaves its previous version serving. The returned watch must be kept alive.
    pub fn serve(self, config: &Config, registry: Arc<Registry>) -> Arc<watch::DirectoryWatch> {
        let Self { watch, mut changes } = self;
        // Weak: dropping the returned watch stops watching, which closes `changes` and ends this task.
        let requests = Arc::downgrade(&watch);
        let config = config.clone();
        tokio::spawn(async move {
            let mut hangups = hangups();
            let store = registry.runtime().store().clone();
            let mut installed = StoreInstalls::default();
            let mut polls = tokio::time::interval(STORE_PLUGINS_POLL);
            polls.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                let mut adopting = None;
                let (cause, explicit) = tokio::select! {
                    Some(()) = changes.recv() => {
                        ("the plugins directory changed", requests.upgrade().is_some_and(|watch| watch.take_request()))
                    }
                    Some(()) = next_hangup(&mut hangups) => ("SIGHUP", true),
                    _ = polls.tick() => match installed.look(&store).await {
                        Some(now) => {
                            adopting = Some(now);
                            ("the plugins installed into the store changed", false)
                        }
                        None => continue,
                    },
                    else => return,
                };
                tracing::info!(cause, "reloading plugins");
                if explicit {
                    // Asked for: also retry versions that failed to load (a describe that timed out on a busy host).
                    registry.forget_failures().await;
                }
                match config.reload_plugins(&registry).await {
                    // Adopted only once served: a reload that failed is tried again at the next look.
                    Ok(_) => installed.adopt(adopting),
                    Err(error) => {
                        tracing::error!(error = %format!("{error:#}"), "plugin reload failed; the served tools are unchanged");
                    }
                }
            }
        });
        watch
    }
}

/// How often the plugins installed into the store are checked for a change: an install through any replica (or
/// `plugins install` beside them) is served by every replica within this and a load.
const STORE_PLUGINS_POLL: Duration = Duration::from_secs(1);

/// The plugins installed into the store as last seen (names and identities); `None` before the first look, which
/// counts as a change when anything is installed (one more reconcile, which loads nothing unchanged): an install
/// between the start's load and that look would be missed otherwise.
#[derive(Default)]
struct StoreInstalls {
    seen: Option<Vec<(String, String)>>,
    said_failing: bool,
}

impl StoreInstalls {
    /// The installed plugins when they differ from those last served ([`StoreInstalls::adopt`]). A store that
    /// does not answer changes nothing (said once per outage): its plugins stay served as they were.
    async fn look(&mut self, store: &Store) -> Option<Vec<(String, String)>> {
        match store.plugin_identities().await {
            Ok(now) => {
                self.said_failing = false;
                let changed = match &self.seen {
                    None => !now.is_empty(),
                    Some(seen) => *seen != now,
                };
                changed.then_some(now)
            }
            Err(error) => {
                if !std::mem::replace(&mut self.said_failing, true) {
                    tracing::warn!(%error, "cannot read the plugins installed into the store; trying again every second");
                }
                None
            }
        }
    }

    /// Notes what a reload that succeeded served (`None`: the reload was not for a look of this).
    fn adopt(&mut self, served: Option<Vec<(String, String)>>) {
        if let Some(served) = served {
            self.seen = Some(served);
        }
    }
}

#[cfg(unix)]
type Hangups = Option<tokio::signal::unix::Signal>;
#[cfg(not(unix))]
type Hangups = Option<()>;

fn hangups() -> Hangups {
    #[cfg(unix)]
    {
        let hangups = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup());
        if hangups.is_err() {
            tracing::warn!("cannot install a SIGHUP handler; use `fastintercom plugins reload` instead");
        }
        hangups.ok()
    }
    #[cfg(not(unix))]
    None
}

/// The next SIGHUP; pending forever where there is none.
async fn next_hangup(hangups: &mut Hangups) -> Option<()> {
    #[cfg(unix)]
    if let Some(hangups) = hangups {
        return hangups.recv().await;
    }
    let _ = hangups;
    std::future::pending().await
}

/// Starts the scheduled sync and, with a client secret, the webhook endpoint, unless another process already
/// syncs this data directory (each MCP client starts its own server). Neither blocks serving, and neither failing
/// to start stops the server: it still answers from the local copy.
/// Contends for the sync's lead among the replicas sharing a PostgreSQL store, syncs while leading, and contends
/// again when the lead is lost (its connection to the database broke); returns only when the sync stopped for
/// good (the token was rejected: another replica would be rejected too).
async fn lead_the_sync_when_possible(
    engine: SyncEngine,
    inbox: webhooks::Inbox,
    store: Store,
    options: SyncOptions,
    every: Duration,
) {
    let Some(mut contender) = store.contender(SYNC_ROLE) else {
        tracing::error!("internal error: a SQLite store has no sync lead to contend for; not syncing");
        return;
    };
    let (mut said_follower, mut said_failing) = (false, false);
    loop {
        let tried = contender.try_lead().await;
        if tried.is_ok() && std::mem::take(&mut said_failing) {
            tracing::info!("the database answers the sync lead's requests again");
        }
        match tried {
            Ok(true) => {
                said_follower = false;
                tracing::info!(every = %humantime::format_duration(every), "this replica leads the sync");
                tokio::select! {
                    () = schedule::run_periodically(engine.clone(), options.clone(), every) => return,
                    () = inbox.clone().apply(engine.clone()) => return,
                    reason = contender.lost() => {
                        tracing::warn!(%reason, "this replica lost the sync lead; another one will take over");
                    }
                }
            }
            Ok(false) if !said_follower => {
                tracing::info!("another replica leads the sync; this one takes over if it stops");
                said_follower = true;
            }
            Ok(false) => {}
            // Said once per outage: every replica would say it every 2 s while the database is down.
            Err(error) if !said_failing => {
                tracing::warn!(%error, "cannot contend for the sync lead; trying again every 2 s");
                said_failing = true;
            }
            Err(_) => {}
        }
        tokio::time::sleep(CONTEND_EVERY).await;
    }
}

async fn start_background_sync(
    config: &Config,
    args: &ServeArgs,
    settings: &IntercomSettings,
    store: Store,
) -> anyhow::Result<()> {
    let options = args.intercom.sync_options(false);
    let every = args.sync_interval;
    let client = args.intercom.client(settings)?;
    let engine = SyncEngine::new(client, store.clone());
    // Every replica accepts webhooks into the store; only the one that syncs applies them.
    let inbox = webhooks::Inbox::new(store.clone());
    match store.backend() {
        Backend::Sqlite => {
            let Some(lock) = SyncLock::try_acquire(&config.data_dir).context("cannot take the sync lock")? else {
                tracing::info!("another fastintercom process syncs this data directory; serving without syncing");
                return Ok(());
            };
            tracing::info!(every = %humantime::format_duration(every), "background sync on");
            let (scheduled, applier) = (engine.clone(), inbox.clone());
            tokio::spawn(async move {
                let _lock = lock; // held for as long as this process syncs
                // Both stop when the sync stops for good (the token was rejected).
                tokio::select! {
                    () = schedule::run_periodically(scheduled.clone(), options, every) => {}
                    () = applier.apply(scheduled) => {}
                }
            });
        }
        Backend::Postgres => {
            tokio::spawn(lead_the_sync_when_possible(engine.clone(), inbox.clone(), store, options, every));
        }
    }
    if let Some(secret) = settings.client_secret.clone() {
        match tokio::net::TcpListener::bind(args.webhook_listen).await {
            Ok(listener) => {
                let address = listener.local_addr().unwrap_or(args.webhook_listen);
                tracing::info!(%address, path = webhooks::PATH, "webhook endpoint on");
                let router = inbox.router(secret);
                tokio::spawn(async move {
                    if let Err(error) = axum::serve(listener, router).await {
                        tracing::error!(%error, "the webhook endpoint stopped");
                    }
                });
            }
            Err(error) => {
                tracing::error!(address = %args.webhook_listen, %error, "cannot listen for webhooks; serving without them");
            }
        }
    }
    Ok(())
}
