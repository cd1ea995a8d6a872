//! Configuration, resolved once at the edge (CLI flags, environment, `<data-dir>/config.toml`) and passed down.

mod http;
mod intercom;
mod plugins;
mod redis;
mod store;

pub use http::{HttpSettings, RateLimit};
pub use intercom::IntercomSettings;
pub use plugins::PluginSettings;
pub use redis::RedisSettings;
pub use store::{DatabaseUrl, StoreSettings};

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;

use crate::demo::{DemoOptions, SeedReport};
use crate::registry::{self, Registry};
use crate::runtime::{Runtime, RuntimeLimits};
use crate::shared::SharedRedis;
use crate::store::{PostgresOptions, Store, StoreOptions};

/// Where the server keeps its files and how it limits plugins.
#[derive(Debug, Clone)]
pub struct Config {
    /// Holds the database, the compiled-component cache and (by default) the plugins directory.
    pub data_dir: PathBuf,
    /// Third-party plugins: `<name>.wasm` with a `<name>.toml` manifest.
    pub plugins_dir: PathBuf,
    /// Compiled components, keyed by component and engine; safe to share between data directories.
    pub cache_dir: PathBuf,
    pub limits: RuntimeLimits,
    /// Whether tool answers are kept and served again while the store's data is unchanged (see
    /// `registry::answer_cache`).
    pub keep_answers: bool,
    /// `--database-url` / `FASTINTERCOM_DATABASE_URL`, which wins over the settings file's `[store] url`.
    pub database_url: Option<DatabaseUrl>,
    /// The Redis the replicas share kept answers through (`serve` connects it from `[redis]`); `None` keeps them
    /// in this process only.
    pub shared: Option<Arc<SharedRedis>>,
}

impl Config {
    /// The platform's data directory (e.g. `~/.local/share/fastintercom`), or `./fastintercom-data` without one.
    pub fn default_data_dir() -> PathBuf {
        dirs::data_dir().map_or_else(|| PathBuf::from("fastintercom-data"), |dir| dir.join("fastintercom"))
    }

    pub fn new(data_dir: PathBuf, plugins_dir: Option<PathBuf>) -> Self {
        let plugins_dir = plugins_dir.unwrap_or_else(|| data_dir.join("plugins"));
        let cache_dir = data_dir.join("cache").join("components");
        Self {
            data_dir,
            plugins_dir,
            cache_dir,
            limits: RuntimeLimits::default(),
            keep_answers: true,
            database_url: None,
            shared: None,
        }
    }

    /// Keeps compiled components in `dir` instead of `<data-dir>/cache/components`.
    pub fn with_cache_dir(mut self, dir: Option<PathBuf>) -> Self {
        if let Some(dir) = dir {
            self.cache_dir = dir;
        }
        self
    }

    pub fn with_limits(mut self, deadline: Option<Duration>, memory_mib: Option<u32>) -> Self {
        if let Some(deadline) = deadline {
            self.limits.deadline = deadline;
        }
        if let Some(mib) = memory_mib {
            self.limits.memory_bytes = mib as usize * 1024 * 1024;
        }
        self
    }

    pub fn database_path(&self) -> PathBuf {
        self.data_dir.join("workspace.sqlite3")
    }

    /// Optional settings file (`[intercom]` table: access_token, client_secret, region, base_url).
    pub fn config_file(&self) -> PathBuf {
        self.data_dir.join("config.toml")
    }

    /// Creates the store, holding the demo workspace `options` describe, when there is none; `None` when there is
    /// one, perhaps made meanwhile by another process. Much faster than seeding an open store: see
    /// [`crate::store::StoreBuilder`].
    ///
    /// A PostgreSQL store is never built this way (it is seeded once open, as any empty store is): `None`.
    pub async fn build_demo_store(&self, options: &DemoOptions) -> anyhow::Result<Option<SeedReport>> {
        if self.store_settings()?.url.is_some() {
            return Ok(None);
        }
        create_dir(&self.data_dir)?;
        crate::demo::build_store(&self.database_path(), options)
            .await
            .with_context(|| format!("cannot create the demo workspace in {}", self.data_dir.display()))
    }

    /// Where the store lives: the `[store]` table of the settings file, with `--database-url` over its URL.
    pub fn store_settings(&self) -> anyhow::Result<StoreSettings> {
        StoreSettings::resolve(&self.config_file(), self.database_url.as_ref().map(DatabaseUrl::expose))
    }

    /// Opens (migrating if needed) the store: PostgreSQL when a database URL is configured, else SQLite in the
    /// data directory (created if needed).
    pub async fn open_store(&self) -> anyhow::Result<Store> {
        let settings = self.store_settings()?;
        if let Some(url) = &settings.url {
            let defaults = PostgresOptions::default();
            let options =
                PostgresOptions { connections: settings.connections.unwrap_or(defaults.connections), ..defaults };
            // The error names the server and the database, never the URL (which may hold a password).
            return Ok(Store::open_postgres(url, &options).await?);
        }
        create_dir(&self.data_dir)?;
        Store::open(&self.database_path(), StoreOptions::default())
            .await
            .with_context(|| format!("cannot open the workspace database in {}", self.data_dir.display()))
    }

    /// The `[plugins]` table of the settings file: trust, caps and instance policies.
    pub fn plugin_settings(&self) -> anyhow::Result<PluginSettings> {
        PluginSettings::resolve(&self.config_file())
    }

    /// Builds the runtime (under the operator's plugin policy) and loads the built-in plugins and those in the
    /// plugins directory.
    pub async fn open_registry(&self, store: Store) -> anyhow::Result<Arc<Registry>> {
        let mut limits = self.limits.clone();
        limits.policy = self.plugin_settings()?.policy;
        let runtime = Runtime::new(limits, Some(self.cache_dir.clone()), store)?;
        let registry = Arc::new(
            Registry::new(runtime).keeping_answers(self.keep_answers).sharing_answers_through(self.shared.clone()),
        );
        self.reload_plugins(&registry).await?;
        Ok(registry)
    }

    /// Brings `registry` up to date with the plugins directory (see [`Registry::reconcile`]): clients are told
    /// if the tool list changed, and a plugin that fails to load leaves its previous version serving.
    pub async fn reload_plugins(&self, registry: &Registry) -> anyhow::Result<registry::LoadOutcome> {
        let trust = self.plugin_settings()?.trust;
        let plugins_dir = self.plugins_dir.clone();
        let reading_trust = trust.clone();
        let max_component_bytes = registry.runtime().limits().policy.compile.max_component_bytes;
        // Files are opened without blocking, but a hung file system could still stall a read: a reload gives up
        // after a while (the next one tries again) rather than never ending.
        let reading = tokio::task::spawn_blocking(move || {
            registry::directory_sources(&plugins_dir, &reading_trust, max_component_bytes)
        });
        let mut entries = tokio::time::timeout(READ_PLUGINS_TIMEOUT, reading)
            .await
            .context("reading the plugins directory took too long; the served tools are unchanged")?
            .context("reading the plugins directory panicked")??;
        // Plugins installed into the store, which every replica sharing it serves; a name the directory holds is
        // the directory's.
        let installed = registry
            .installed_in_store(max_component_bytes, READ_PLUGINS_TIMEOUT)
            .await
            .context("the served tools are unchanged")?;
        let stored = registry::store_sources(installed, &trust, max_component_bytes).await?;
        for name in registry::add_installed(&mut entries, stored) {
            tracing::warn!(plugin = %name, "a plugin of this name is in the plugins directory and in the store; the directory's is served");
        }
        let outcome = registry
            .reconcile(registry::builtin_sources, entries, &trust)
            .await
            .context("cannot load the built-in tools")?;
        tracing::info!(
            tools = outcome.tools.len(),
            refused = outcome.rejected.len(),
            changed = outcome.changed,
            plugins_dir = %self.plugins_dir.display(),
            "plugins loaded"
        );
        for refusal in &outcome.rejected {
            tracing::warn!(%refusal, "a plugin is not served");
        }
        Ok(outcome)
    }
}

/// Longest a reload waits for the plugins directory's files to be read.
const READ_PLUGINS_TIMEOUT: Duration = Duration::from_secs(30);

/// The text of the settings file, or `None` when there is none (each table's reader parses its own part).
fn read_settings_file(config_file: &Path) -> anyhow::Result<Option<String>> {
    match std::fs::read_to_string(config_file) {
        Ok(text) => Ok(Some(text)),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(error).with_context(|| format!("cannot read {}", config_file.display())),
    }
}

fn create_dir(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create the data directory {}", dir.display()))
}
