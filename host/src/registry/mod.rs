//! The tools clients see: every loaded plugin's tools, by name, with their compiled argument validators.
//!
//! The whole set is one immutable [`ToolSet`] behind an `ArcSwap`: a call takes a snapshot and keeps the plugin
//! it resolved alive until it finishes, so the set can be replaced while calls are in flight.

mod sources;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use serde_json::{Map, Value};
use tokio::sync::watch;

use crate::observability::{self, CallOutcome};
use crate::runtime::{CallError, LoadError, LoadedPlugin, Runtime, ToolOutput, ToolSpec};

pub use sources::{BUILTIN_PLUGINS, PluginSource, builtin_sources, directory_sources};

/// One tool as clients see it, with what it takes to call it.
pub struct RegisteredTool {
    pub spec: ToolSpec,
    pub plugin: Arc<LoadedPlugin>,
    validator: jsonschema::Validator,
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
    /// Builds a set from loaded plugins; a tool name declared by two plugins is refused.
    pub fn build(plugins: Vec<Arc<LoadedPlugin>>) -> Result<Self, RegistryError> {
        let mut tools = BTreeMap::new();
        for plugin in plugins {
            for spec in &plugin.tools {
                if let Some(existing) =
                    tools.get(&spec.name).map(|tool: &Arc<RegisteredTool>| tool.plugin.manifest.name.clone())
                {
                    return Err(RegistryError::NameCollision {
                        tool: spec.name.clone(),
                        first: existing,
                        second: plugin.manifest.name.clone(),
                    });
                }
                let validator = jsonschema::validator_for(&Value::Object(spec.input_schema.clone()))
                    .map_err(|e| RegistryError::Schema { tool: spec.name.clone(), reason: e.to_string() })?;
                tools.insert(
                    spec.name.clone(),
                    Arc::new(RegisteredTool { spec: spec.clone(), plugin: plugin.clone(), validator }),
                );
            }
        }
        Ok(Self { tools })
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
    #[error("tool {tool:?} has an input schema that cannot be compiled: {reason}")]
    Schema { tool: String, reason: String },
    #[error("cannot read plugin {path}: {reason}")]
    Source { path: String, reason: String },
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
    generation: watch::Sender<u64>,
    /// Calls running now, so a shutdown can let them finish.
    in_flight: AtomicUsize,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry").field("tools", &self.current.load().tools.keys().collect::<Vec<_>>()).finish()
    }
}

/// What [`Registry::load`] served and what it had to skip.
#[derive(Debug)]
pub struct LoadOutcome {
    pub tools: Arc<ToolSet>,
    /// One message per third-party plugin that was skipped.
    pub rejected: Vec<String>,
}

/// Longest error list reported for one call; a model needs the first few to correct its arguments.
const MAX_REPORTED_PROBLEMS: usize = 8;

impl Registry {
    pub fn new(runtime: Runtime) -> Self {
        Self {
            runtime,
            current: ArcSwap::from_pointee(ToolSet::default()),
            generation: watch::Sender::new(0),
            in_flight: AtomicUsize::new(0),
        }
    }

    /// A receiver that sees a new value each time the served tool set changes.
    pub fn changes(&self) -> watch::Receiver<u64> {
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

    /// Loads the built-in plugins (each must load) and the third-party ones (each that fails to load, or
    /// declares a tool name already taken, is skipped and reported), then serves them all at once.
    /// On error the previous set stays in place.
    pub async fn load(
        &self,
        builtins: Vec<PluginSource>,
        third_party: Vec<Result<PluginSource, RegistryError>>,
    ) -> Result<LoadOutcome, RegistryError> {
        let mut plugins = Vec::with_capacity(builtins.len() + third_party.len());
        for source in builtins {
            plugins.push(Arc::new(self.runtime.load(source.wasm, source.manifest).await?));
        }
        let mut taken: HashMap<String, String> = plugins
            .iter()
            .flat_map(|plugin| plugin.tools.iter().map(|tool| (tool.name.clone(), plugin.manifest.name.clone())))
            .collect();
        let mut rejected = Vec::new();
        for source in third_party {
            let attempt = async {
                let source = source?;
                let plugin = self.runtime.load(source.wasm, source.manifest).await?;
                if let Some((tool, first)) =
                    plugin.tools.iter().find_map(|tool| taken.get(&tool.name).map(|owner| (&tool.name, owner)))
                {
                    return Err(RegistryError::NameCollision {
                        tool: tool.clone(),
                        first: first.clone(),
                        second: plugin.manifest.name.clone(),
                    });
                }
                Ok(plugin)
            };
            match attempt.await {
                Ok(plugin) => {
                    taken.extend(plugin.tools.iter().map(|tool| (tool.name.clone(), plugin.manifest.name.clone())));
                    plugins.push(Arc::new(plugin));
                }
                Err(error) => {
                    tracing::error!(%error, "skipping a plugin that cannot be served");
                    rejected.push(error.to_string());
                }
            }
        }
        let tools = Arc::new(ToolSet::build(plugins)?);
        let previous = self.current.swap(tools.clone());
        if tool_list_differs(&previous, &tools) {
            self.generation.send_modify(|generation| *generation += 1);
        }
        Ok(LoadOutcome { tools, rejected })
    }

    /// A snapshot of the served tools.
    pub fn tools(&self) -> Arc<ToolSet> {
        self.current.load_full()
    }

    /// Validates `arguments` against the tool's schema and, if they pass, runs the tool in a fresh sandbox.
    /// Every call of a served tool is counted and timed (see [`observability::record_tool_call`]).
    pub async fn call(&self, name: &str, arguments: Map<String, Value>) -> Result<ToolOutput, ToolCallError> {
        let Some(tool) = self.tools().get(name).cloned() else {
            observability::record_unknown_tool();
            return Err(ToolCallError::UnknownTool(name.to_owned()));
        };
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        let _running = InFlight(&self.in_flight);
        let started = Instant::now();
        let result = self.validate_and_run(&tool, name, arguments).await;
        let outcome = match &result {
            Ok(_) => CallOutcome::Ok,
            Err(error) => error.outcome(),
        };
        observability::record_tool_call(name, &tool.plugin.manifest.name, outcome, started.elapsed());
        result
    }

    async fn validate_and_run(
        &self,
        tool: &RegisteredTool,
        name: &str,
        arguments: Map<String, Value>,
    ) -> Result<ToolOutput, ToolCallError> {
        let arguments = Value::Object(arguments);
        let problems: Vec<String> = tool
            .validator
            .iter_errors(&arguments)
            .take(MAX_REPORTED_PROBLEMS)
            .map(|error| {
                let path = error.instance_path().to_string();
                let at = if path.is_empty() { "arguments".to_owned() } else { format!("argument {path}") };
                format!("{at}: {}", error.masked())
            })
            .collect();
        if !problems.is_empty() {
            return Err(ToolCallError::InvalidArguments { tool: name.to_owned(), problems });
        }
        let text = arguments.to_string();
        Ok(self.runtime.call_tool(&tool.plugin, name, &text).await?)
    }
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
                CallError::InvalidArguments(_) => CallOutcome::InvalidArguments,
                CallError::NotFound(_) | CallError::Unavailable(_) | CallError::ToolFailed(_) => CallOutcome::ToolError,
                CallError::DeadlineExceeded(_) => CallOutcome::Timeout,
                CallError::MemoryExceeded(_) | CallError::StackOverflow | CallError::Crashed(_) => CallOutcome::Trap,
                CallError::Busy { .. } => CallOutcome::Busy,
                CallError::OutputTooLarge { .. } | CallError::InvalidOutput(_) => CallOutcome::BadOutput,
            },
        }
    }
}
