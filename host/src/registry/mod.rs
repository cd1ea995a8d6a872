//! The tools clients see: every loaded plugin's tools, by name, with their compiled argument validators.
//!
//! The whole set is one immutable [`ToolSet`] behind an `ArcSwap`: a call takes a snapshot and keeps the plugin
//! it resolved alive until it finishes, so the set can be replaced while calls are in flight (calls already
//! running finish on the old version, new calls get the new one).
//!
//! [`Registry::reconcile`] turns what the plugins directory holds now into what is served: unchanged plugins are
//! kept as they are, new and changed ones are loaded and validated off the request path, and a version that fails
//! (or collides with another plugin's tool names) leaves the previous version serving, with the reason on the
//! [`PluginBoard`](crate::runtime::PluginBoard).

mod answer_cache;
mod catalog;
mod sources;
pub mod trust;
pub mod watch;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use serde_json::{Map, Value};

use crate::observability::{self, CallOutcome};
use crate::runtime::{CallError, LoadError, LoadedPlugin, PluginOrigin, Runtime, ToolOutput, ToolSpec};

use answer_cache::{AnswerCache, AnswerKey};
use catalog::Catalog;
pub use sources::{
    BUILTIN_PLUGINS, DirectoryEntry, MAX_MANIFEST_BYTES, PluginSource, add_installed, builtin_sources,
    directory_sources, files_identity, source_from_files, store_sources,
};

/// One tool as clients see it, with the plugin that serves it.
pub struct RegisteredTool {
    pub spec: ToolSpec,
    pub plugin: Arc<LoadedPlugin>,
}

/// An immutable snapshot of all tools, sorted by name.
#[derive(Default)]
pub struct ToolSet {
    tools: BTreeMap<String, Arc<RegisteredTool>>,
}

impl std::fmt::Debug for ToolSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.tools.keys()).finish()
    }
}

impl ToolSet {
    /// Builds a set from loaded plugins, whose tool names the caller made sure are distinct.
    fn build(plugins: &[Arc<LoadedPlugin>]) -> Self {
        let tools = plugins
            .iter()
            .flat_map(|plugin| {
                plugin.tools.iter().map(|spec| {
                    (spec.name.clone(), Arc::new(RegisteredTool { spec: spec.clone(), plugin: plugin.clone() }))
                })
            })
            .collect();
        Self { tools }
    }

    /// All tools, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = &RegisteredTool> {
        self.tools.values().map(AsRef::as_ref)
    }

    pub fn get(&self, name: &str) -> Option<&Arc<RegisteredTool>> {
        self.tools.get(name)
    }

    pub fn len(&self) -> usize {
        self.tools.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tools.is_empty()
    }
}

/// Why a set of plugins could not become the served tool set.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error("tool {tool:?} is declared by both plugin {first:?} and plugin {second:?}")]
    NameCollision { tool: String, first: String, second: String },
    #[error("cannot read plugin {path}: {reason}")]
    Source { path: String, reason: String },
    #[error("plugin {plugin:?} is refused: {reason}")]
    Untrusted { plugin: String, reason: String },
}

/// Why a `tools/call` did not produce a result.
#[derive(Debug, thiserror::Error)]
pub enum ToolCallError {
    /// No tool by that name: a protocol error, the client asked for something that does not exist.
    #[error("unknown tool {0:?}")]
    UnknownTool(String),
    /// The arguments do not match the tool's input schema; the model can correct them.
    #[error("invalid arguments for tool {tool:?}: {}", problems.join("; "))]
    InvalidArguments { tool: String, problems: Vec<String> },
    /// The tool ran and failed, or the sandbox stopped it.
    #[error(transparent)]
    Call(#[from] CallError),
}

/// The served tools and the runtime that calls them.
pub struct Registry {
    runtime: Runtime,
    current: ArcSwap<ToolSet>,
    /// Bumped each time a new tool set is served, so the protocol layer can tell clients (list_changed).
    generation: tokio::sync::watch::Sender<u64>,
    /// Calls running now, so a shutdown can let them finish.
    in_flight: AtomicUsize,
    /// What was loaded from where; the lock also makes reloads take turns.
    catalog: tokio::sync::Mutex<Catalog>,
    /// Answers served again while the store's data is unchanged; `None` when answers are not kept.
    answers: Option<AnswerCache>,
    /// The plugins installed into the store as last read, served on while the store cannot be read (a reload for
    /// the plugins directory must neither fail nor withdraw them then).
    installed_last_read: std::sync::Mutex<Option<Vec<crate::store::StoredPlugin>>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry").field("tools", &self.current.load().tools.keys().collect::<Vec<_>>()).finish()
    }
}

/// What [`Registry::reconcile`] served and what it refused.
#[derive(Debug)]
pub struct LoadOutcome {
    pub tools: Arc<ToolSet>,
    /// One message per plugin whose newest version is not served.
    pub rejected: Vec<String>,
    /// Whether clients see a different tool list than before.
    pub changed: bool,
}

impl Registry {
    pub fn new(runtime: Runtime) -> Self {
        Self {
            runtime,
            current: ArcSwap::from_pointee(ToolSet::default()),
            generation: tokio::sync::watch::Sender::new(0),
            in_flight: AtomicUsize::new(0),
            catalog: tokio::sync::Mutex::default(),
            answers: Some(AnswerCache::default()),
            installed_last_read: std::sync::Mutex::new(None),
        }
    }

    /// The plugins installed into the store (components within `max_component_bytes`), read within `within`;
    /// when the store cannot be read, those read last time (said in the log), or the error if there were none.
    pub async fn installed_in_store(
        &self,
        max_component_bytes: usize,
        within: std::time::Duration,
    ) -> anyhow::Result<Vec<crate::store::StoredPlugin>> {
        let reading = self.runtime.store().stored_plugins(max_component_bytes, MAX_MANIFEST_BYTES);
        let read = match tokio::time::timeout(within, reading).await {
            Ok(Ok(installed)) => Ok(installed),
            Ok(Err(error)) => Err(anyhow::Error::from(error)),
            Err(_) => Err(anyhow::anyhow!("no answer within {} s", within.as_secs())),
        };
        let mut last = self.installed_last_read.lock().expect("installed plugins lock");
        match (read, &*last) {
            (Ok(installed), _) => {
                *last = Some(installed.clone());
                Ok(installed)
            }
            (Err(error), Some(previous)) => {
                tracing::warn!(error = %format!("{error:#}"), "cannot read the plugins installed into the store; serving those read before");
                Ok(previous.clone())
            }
            (Err(error), None) => Err(error.context("cannot read the plugins installed into the store")),
        }
    }

    /// This registry, keeping answers (see [`AnswerCache`]) or not; benchmarks of the tools themselves turn it off.
    pub fn keeping_answers(mut self, keep: bool) -> Self {
        self.answers = keep.then(AnswerCache::default);
        self
    }

    /// Forgets the answers kept in this process (those shared through Redis stay), for benchmarks of the second
    /// level of kept answers.
    #[doc(hidden)]
    pub fn forget_kept_answers(&self) {
        if let Some(answers) = &self.answers {
            answers.forget_local();
        }
    }

    /// This registry, sharing the answers it keeps with the other replicas through `redis` (when it keeps any).
    pub fn sharing_answers_through(mut self, redis: Option<Arc<crate::shared::SharedRedis>>) -> Self {
        if self.answers.is_some() {
            self.answers = Some(AnswerCache::new(redis));
        }
        self
    }

    pub fn runtime(&self) -> &Runtime {
        &self.runtime
    }

    /// A receiver that sees a new value each time the served tool set changes.
    pub fn changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.generation.subscribe()
    }

    /// Calls running right now.
    pub fn calls_in_flight(&self) -> usize {
        self.in_flight.load(Ordering::SeqCst)
    }

    /// Waits until no call has been running for `quiet` (a request accepted just before a shutdown may still
    /// be on its way here), or until `grace` has passed; true when none is left.
    pub async fn drain(&self, quiet: Duration, grace: Duration) -> bool {
        let until = Instant::now() + grace;
        let mut idle_since = None;
        loop {
            let now = Instant::now();
            if self.calls_in_flight() > 0 {
                idle_since = None;
            } else if now.duration_since(*idle_since.get_or_insert(now)) >= quiet {
                return true;
            }
            if now >= until {
                return self.calls_in_flight() == 0;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Serves the built-in plugins (loaded on the first call; each must load) and the plugins directory as
    /// `entries` describes it now. Plugins whose files did not change are kept without reloading; new and changed
    /// ones are loaded and validated before anything is swapped; one that fails, or declares a tool name another
    /// plugin serves, leaves its previous version (if any) serving. Entries missing from `entries` are removed.
    /// Connected clients are told when the tool list changed.
    pub async fn reconcile(
        &self,
        builtins: impl FnOnce() -> Vec<PluginSource>,
        entries: Vec<DirectoryEntry>,
        trust: &trust::TrustPolicy,
    ) -> Result<LoadOutcome, RegistryError> {
        let mut catalog = self.catalog.lock().await;
        if catalog.builtins.is_empty() {
            for source in builtins() {
                let loaded = self.runtime.load_as(source.wasm, source.manifest, PluginOrigin::Builtin).await?;
                catalog.builtins.push(Arc::new(loaded));
            }
        }
        catalog.update(&self.runtime, entries, trust).await;
        let (served, statuses, rejected) = catalog.assemble();
        let (runtime, digests) = (self.runtime.clone(), catalog.digests());
        // In the background: cleaning the cache is no reason to delay serving the new tools.
        tokio::task::spawn_blocking(move || runtime.prune_component_cache(&digests));
        self.runtime.board().publish(statuses);
        let tools = Arc::new(ToolSet::build(&served));
        let previous = self.current.swap(tools.clone());
        let changed = tool_list_differs(&previous, &tools);
        if changed {
            self.generation.send_modify(|generation| *generation += 1);
        }
        Ok(LoadOutcome { tools, rejected, changed })
    }

    /// Makes the next reconcile load again the plugins whose newest files failed to load, as if they had changed.
    pub async fn forget_failures(&self) {
        self.catalog.lock().await.forget_failures();
    }

    /// A snapshot of the served tools.
    pub fn tools(&self) -> Arc<ToolSet> {
        self.current.load_full()
    }

    /// Runs the tool in a sandbox if `arguments` pass its schema (the runtime checks them, within the call's
    /// deadline and, for a third-party plugin, on its threads). Every call of a served tool is counted and timed
    /// (see [`observability::record_tool_call`]).
    pub async fn call(&self, name: &str, arguments: Map<String, Value>) -> Result<ToolOutput, ToolCallError> {
        let Some(tool) = self.tools().get(name).cloned() else {
            observability::record_unknown_tool();
            return Err(ToolCallError::UnknownTool(name.to_owned()));
        };
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        let _running = InFlight(&self.in_flight);
        let started = Instant::now();
        let kept_as = self.answer_key(&tool, name, &arguments);
        if let (Some(key), Some(answers)) = (&kept_as, &self.answers)
            && let Some(answer) = answers.get(key).await
        {
            observability::record_tool_call(name, &tool.plugin.manifest.name, CallOutcome::Ok, started.elapsed());
            return Ok(answer);
        }
        let result = match self.runtime.call_tool(&tool.plugin, name, arguments).await {
            Err(CallError::ArgumentsRejected { tool, problems }) => {
                Err(ToolCallError::InvalidArguments { tool, problems })
            }
            other => other.map_err(ToolCallError::from),
        };
        let outcome = match &result {
            Ok(_) => CallOutcome::Ok,
            Err(error) => error.outcome(),
        };
        if !matches!(result, Err(ToolCallError::InvalidArguments { .. })) {
            count(&tool.plugin, outcome);
        }
        observability::record_tool_call(name, &tool.plugin.manifest.name, outcome, started.elapsed());
        if let (Some(key), Some(answers), Ok(output)) = (kept_as, &self.answers, &result) {
            answers.insert(key, output);
        }
        result
    }

    /// Where an answer of this call is kept (see [`AnswerCache`]); `None` when the tool's answers are not kept, or
    /// before the store's data generation was first read (the first calls after a start).
    fn answer_key(&self, tool: &RegisteredTool, name: &str, arguments: &Map<String, Value>) -> Option<AnswerKey> {
        let answers = self.answers.as_ref()?;
        if !AnswerCache::keeps(&tool.plugin, &tool.spec) {
            return None;
        }
        let store = self.runtime.store();
        answers.watch(store);
        Some(AnswerCache::key(&tool.plugin, name, arguments, store.version_seen()?, answers.store_name(store)))
    }
}

/// Adds a call that reached `plugin` to its own counters (what `list_plugins` shows).
fn count(plugin: &LoadedPlugin, outcome: CallOutcome) {
    let counters = &plugin.counters;
    counters.calls.fetch_add(1, Ordering::Relaxed);
    if outcome != CallOutcome::Ok {
        counters.errors.fetch_add(1, Ordering::Relaxed);
    }
    let specific = match outcome {
        CallOutcome::Trap => &counters.traps,
        CallOutcome::Timeout => &counters.timeouts,
        CallOutcome::Busy => &counters.throttled,
        _ => return,
    };
    specific.fetch_add(1, Ordering::Relaxed);
}

/// Decrements the in-flight count when a call ends, however it ends (including when its future is dropped).
struct InFlight<'a>(&'a AtomicUsize);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Whether clients would see a different `tools/list`: another set of names, or a tool described differently.
fn tool_list_differs(before: &ToolSet, after: &ToolSet) -> bool {
    before.tools.len() != after.tools.len()
        || before.tools.iter().zip(&after.tools).any(|((a, x), (b, y))| a != b || x.spec != y.spec)
}

impl ToolCallError {
    /// The metrics label of this failure.
    fn outcome(&self) -> CallOutcome {
        match self {
            Self::UnknownTool(_) | Self::InvalidArguments { .. } => CallOutcome::InvalidArguments,
            Self::Call(error) => match error {
                CallError::InvalidArguments(_) | CallError::ArgumentsRejected { .. } | CallError::NoSuchTool { .. } => {
                    CallOutcome::InvalidArguments
                }
                CallError::NotFound(_) | CallError::Unavailable(_) | CallError::ToolFailed(_) => CallOutcome::ToolError,
                CallError::DeadlineExceeded(_) => CallOutcome::Timeout,
                CallError::MemoryExceeded(_) | CallError::StackOverflow | CallError::Crashed(_) => CallOutcome::Trap,
                CallError::Busy { .. }
                | CallError::RateLimited { .. }
                | CallError::HostBusy(_)
                | CallError::HostMemoryExhausted(_) => CallOutcome::Busy,
                CallError::OutputTooLarge { .. } | CallError::InvalidOutput(_) | CallError::TooMuchData(_) => {
                    CallOutcome::BadOutput
                }
            },
        }
    }
}
