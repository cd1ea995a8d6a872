//! The tools clients see: every loaded plugin's tools, by name, with their compiled argument validators.
//!
//! The whole set is one immutable [`ToolSet`] behind an `ArcSwap`: a call takes a snapshot and keeps the plugin
//! it resolved alive until it finishes, so the set can be replaced while calls are in flight.

mod sources;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use arc_swap::ArcSwap;
use serde_json::{Map, Value};

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
        Self { runtime, current: ArcSwap::from_pointee(ToolSet::default()) }
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
        self.current.store(tools.clone());
        Ok(LoadOutcome { tools, rejected })
    }

    /// A snapshot of the served tools.
    pub fn tools(&self) -> Arc<ToolSet> {
        self.current.load_full()
    }

    /// Validates `arguments` against the tool's schema and, if they pass, runs the tool in a fresh sandbox.
    pub async fn call(&self, name: &str, arguments: Map<String, Value>) -> Result<ToolOutput, ToolCallError> {
        let tool = self.tools().get(name).cloned().ok_or_else(|| ToolCallError::UnknownTool(name.to_owned()))?;
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
