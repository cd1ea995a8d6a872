//! `plugins list` and `plugins check`: load plugins the way a server would, on a scratch store, and report.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use serde::Serialize;

use crate::config::Config;
use crate::registry::{self, Registry};
use crate::runtime::{InstancePolicy, PluginOrigin, PluginStatus};
use crate::store::{Store, StoreOptions};

/// A registry like a server's (same policy, cache and built-ins) over an empty scratch store, so judging plugins
/// neither needs nor touches the workspace data; with a PostgreSQL store, the plugins installed into it are
/// judged too, beside the plugins directory's, as every replica would.
pub(super) struct Judge {
    pub(super) registry: Arc<Registry>,
    config: Config,
    /// The plugins installed into a PostgreSQL store (none with SQLite, whose plugins are the directory's).
    installed: Vec<crate::store::StoredPlugin>,
    _scratch: tempfile::TempDir,
}

impl Judge {
    pub(super) async fn new(config: &Config) -> anyhow::Result<Self> {
        let scratch = tempfile::tempdir().context("cannot create a scratch directory")?;
        let store = Store::open(&scratch.path().join("scratch.sqlite3"), StoreOptions::default())
            .await
            .context("cannot open a scratch store")?;
        let registry = config.open_registry(store).await?;
        let installed = match config.store_settings()?.url {
            Some(_) => {
                let shared = config.open_store().await?;
                let max_component_bytes = registry.runtime().limits().policy.compile.max_component_bytes;
                let installed = shared.stored_plugins(max_component_bytes, registry::MAX_MANIFEST_BYTES).await;
                shared.close().await;
                installed.context("cannot read the plugins installed into the store")?
            }
            None => Vec::new(),
        };
        let judge = Self { registry, config: config.clone(), installed, _scratch: scratch };
        if !judge.installed.is_empty() {
            judge.reconcile(None).await?;
        }
        Ok(judge)
    }

    /// Loads the plugins directory's plugins, the store's (a name the directory holds is the directory's) and
    /// `candidate` as the newest version of its name.
    async fn reconcile(&self, candidate: Option<registry::DirectoryEntry>) -> anyhow::Result<()> {
        let trust = self.config.plugin_settings()?.trust;
        let max_component_bytes = self.registry.runtime().limits().policy.compile.max_component_bytes;
        let mut entries = registry::directory_sources(&self.config.plugins_dir, &trust, max_component_bytes)?;
        let stored = registry::store_sources(self.installed.clone(), &trust, max_component_bytes).await?;
        registry::add_installed(&mut entries, stored);
        if let Some(candidate) = candidate {
            entries.retain(|entry| entry.name != candidate.name);
            entries.push(candidate);
        }
        self.registry.reconcile(registry::builtin_sources, entries, &trust).await?;
        Ok(())
    }

    /// Judges the plugin at `wasm_path` as the newest version of its name, against what the plugins directory
    /// (and a PostgreSQL store) serves now; returns its status.
    pub(super) async fn judge(&self, wasm_path: &Path) -> anyhow::Result<PluginStatus> {
        let trust = self.config.plugin_settings()?.trust;
        let max_component_bytes = self.registry.runtime().limits().policy.compile.max_component_bytes;
        let candidate = registry::source_from_files(wasm_path, &trust, max_component_bytes);
        let name = candidate.name.clone();
        self.reconcile(Some(candidate)).await?;
        let board = self.registry.runtime().board().snapshot();
        let status = board.iter().find(|status| status.name == name && status.origin == PluginOrigin::Directory);
        status.cloned().context("the plugin was not considered (is its file name NAME.wasm?)")
    }
}

pub(super) async fn list(config: &Config, json: bool) -> anyhow::Result<()> {
    let judge = Judge::new(config).await?;
    let reports: Vec<Report> = judge.registry.runtime().board().snapshot().iter().map(Report::from).collect();
    if json {
        println!("{}", serde_json::to_string_pretty(&reports)?);
        return Ok(());
    }
    println!("plugins directory: {}", config.plugins_dir.display());
    if !judge.installed.is_empty() {
        println!("installed into the store: {}", judge.installed.len());
    }
    println!("{:<20} {:<10} {:<10} {:<8} TOOLS", "NAME", "ORIGIN", "VERSION", "STATE");
    for report in &reports {
        println!(
            "{:<20} {:<10} {:<10} {:<8} {}",
            report.name,
            report.origin,
            report.version.as_deref().unwrap_or("-"),
            report.state,
            report.tools.join(", ")
        );
        if let Some(problem) = &report.problem {
            println!("    refused: {problem}");
        }
        for note in &report.notes {
            println!("    note: {note}");
        }
    }
    Ok(())
}

/// What `check` says of a plugin's signature: a signature whose key is not trusted is not "no signature".
fn signature_verdict(trusted: bool, signature_beside: bool) -> &'static str {
    match (trusted, signature_beside) {
        (true, _) => "yes, by a trusted key",
        (false, true) => {
            "a signature is beside it, but not by a key in [plugins] trusted_keys, so it counts for nothing"
        }
        (false, false) => "no",
    }
}

pub(super) async fn check(config: &Config, file: &Path) -> anyhow::Result<()> {
    let judge = Judge::new(config).await?;
    let status = judge.judge(file).await?;
    let report = Report::from(&status);
    if let Some(problem) = &report.problem {
        anyhow::bail!("{} would be refused: {problem}", file.display());
    }
    let plugin = status.served.as_ref().context("nothing would be served")?;
    println!("ok: {} {} would be served", report.name, report.version.as_deref().unwrap_or("-"));
    // Judged against a server's configuration and plugins: say whose, since without --data-dir it is the default.
    println!(
        "  judged: under {} (its config.toml) beside the plugins of {}",
        config.data_dir.display(),
        config.plugins_dir.display()
    );
    println!("  tools:  {}", report.tools.join(", "));
    println!("  grants: {}", report.grants.join(", "));
    let limits = &plugin.limits;
    println!(
        "  limits: deadline {} ms, memory {} MiB, concurrent calls {}, calls/s {}, instances {}",
        limits.deadline.as_millis(),
        limits.memory_bytes / (1024 * 1024),
        limits.max_concurrent_calls.map_or("unlimited".to_owned(), |n| n.to_string()),
        limits.calls_per_second.map_or("unlimited".to_owned(), |n| n.to_string()),
        describe_instances(limits.instances),
    );
    println!("  signed: {}", signature_verdict(report.signed, file.with_extension("sig").exists()));
    for note in &report.notes {
        println!("  note:   {note}");
    }
    Ok(())
}

fn describe_instances(policy: InstancePolicy) -> String {
    match policy {
        InstancePolicy::Fresh => "fresh per call".to_owned(),
        InstancePolicy::Warm { pool, max_reuse } => format!("warm (pool {pool}, {max_reuse} calls each)"),
    }
}

/// One plugin as the commands print it.
#[derive(Debug, Serialize)]
struct Report {
    name: String,
    origin: &'static str,
    version: Option<String>,
    state: &'static str,
    tools: Vec<String>,
    grants: Vec<String>,
    digest: Option<String>,
    signed: bool,
    problem: Option<String>,
    notes: Vec<String>,
}

impl From<&PluginStatus> for Report {
    fn from(status: &PluginStatus) -> Self {
        let served = status.served.as_deref();
        let state = match (served, &status.problem) {
            (Some(_), None) => "serving",
            (Some(_), Some(_)) => "stale",
            (None, _) => "refused",
        };
        Self {
            name: status.name.clone(),
            origin: match status.origin {
                PluginOrigin::Builtin => "builtin",
                PluginOrigin::Directory => "directory",
            },
            version: served.map(|p| p.manifest.version.clone()),
            state,
            tools: served.map(|p| p.tools.iter().map(|t| t.name.clone()).collect()).unwrap_or_default(),
            grants: served.map(|p| p.manifest.grants.iter().map(|g| g.name().to_owned()).collect()).unwrap_or_default(),
            digest: served.map(|p| p.digest.clone()),
            signed: served.is_some_and(|p| p.signed),
            problem: status.problem.clone(),
            notes: served.map(|p| p.notes.clone()).unwrap_or_default(),
        }
    }
}
