//! Loading a plugin: compile, check its imports against its grants, pre-instantiate, and ask it for its tools.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use wasmtime::component::{Component, Linker};

use super::schema_cost::{self, SchemaCost};
use super::warm::WarmPool;
use super::{Capability, DescriptionLimits, Manifest, PluginLimits, PluginOrigin, Runtime};
use crate::bindings::PluginPre;
use crate::host_api::{self, CallState, LogRate};

/// The versions of our WIT package this host links. A released version stays here forever (`wit/README.md`).
const SUPPORTED_CONTRACT_VERSIONS: &[&str] = &["0.1.0", "0.2.0", "0.3.0", "0.4.0", "0.5.0"];
const CONTRACT_PACKAGE: &str = "fastintercom:plugin/";
/// The interface every host interface shares types from; it has no functions and needs no grant.
const SHARED_TYPES: (&str, &str) = ("types", "0.1.0");

/// MCP tool annotations (hints to clients).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ToolAnnotations {
    pub read_only: bool,
    pub destructive: bool,
    pub idempotent: bool,
    pub open_world: bool,
}

/// One tool a plugin provides, checked at load.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolSpec {
    pub name: String,
    pub title: Option<String>,
    pub description: String,
    /// A JSON Schema object. Shared: MCP's description of the tool is rebuilt from it on every call (rmcp checks
    /// request headers against the schema), and a copy of a large schema per call is measurable.
    pub input_schema: Arc<Map<String, Value>>,
    pub output_schema: Option<Arc<Map<String, Value>>>,
    pub annotations: ToolAnnotations,
}

/// A compiled, checked, pre-instantiated plugin. Every call gets an instance from it: a fresh one, or a warm one
/// when the operator chose [`super::InstancePolicy::Warm`] for it.
pub struct LoadedPlugin {
    pub manifest: Manifest,
    /// Built-in (the product's own code, run on the server's threads) or third-party (run under the operator's
    /// policy, on threads, slots and memory of its own).
    pub origin: PluginOrigin,
    pub tools: Vec<ToolSpec>,
    /// How each entry of `tools` checks its arguments, built once at load.
    pub(super) checks: Vec<ArgumentCheck>,
    /// sha256 of the component, hex.
    pub digest: String,
    /// The limits its calls run under: the manifest's, capped by the operator's policy.
    pub limits: PluginLimits,
    /// What the operator's policy lowered, for humans.
    pub notes: Vec<String>,
    /// Whether its signature was verified against a trusted key (set by whoever checked it).
    pub signed: bool,
    /// That key, base64.
    pub signer: Option<String>,
    /// Unix seconds of the load.
    pub loaded_at: i64,
    pub counters: PluginCounters,
    pub(super) pre: PluginPre<CallState>,
    pub(super) name: Arc<str>,
    /// `limits.max_concurrent_calls` as permits.
    pub(super) concurrency: Option<tokio::sync::Semaphore>,
    /// `limits.calls_per_second` as a token bucket.
    pub(super) rate: Option<governor::DefaultDirectRateLimiter>,
    /// Bytes per second this plugin may write to the host log, across its calls (third-party plugins only).
    pub(super) log_rate: Option<Arc<LogRate>>,
    pub(super) warm: WarmPool,
}

/// A tool's input schema, compiled, with what validating against it may cost.
pub(super) struct ArgumentCheck {
    pub(super) validator: jsonschema::Validator,
    pub(super) cost: SchemaCost,
}

/// What happened to one loaded version's calls; read by `list_plugins` and the `plugins` host interface (the
/// Prometheus metrics keep their own, labelled, series).
#[derive(Debug, Default)]
pub struct PluginCounters {
    pub calls: AtomicU64,
    pub errors: AtomicU64,
    pub traps: AtomicU64,
    pub timeouts: AtomicU64,
    pub throttled: AtomicU64,
}

impl LoadedPlugin {
    /// Marks this version as no longer served: it keeps no warm instances (calls still running finish normally).
    pub fn retire(&self) {
        self.warm.retire();
    }

    pub fn is_third_party(&self) -> bool {
        self.origin == PluginOrigin::Directory
    }

    /// The position of tool `name` in `tools`.
    pub(super) fn tool_index(&self, name: &str) -> Option<usize> {
        self.tools.iter().position(|tool| tool.name == name)
    }
}

impl PluginCounters {
    pub fn read(&self) -> [u64; 5] {
        [&self.calls, &self.errors, &self.traps, &self.timeouts, &self.throttled].map(|c| c.load(Ordering::Relaxed))
    }
}

impl std::fmt::Debug for LoadedPlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedPlugin")
            .field("manifest", &self.manifest)
            .field("tools", &self.tools.iter().map(|t| &t.name).collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// Why a plugin was refused at load.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("plugin {plugin:?} cannot be compiled: {reason}")]
    Compile { plugin: String, reason: super::CompileError },
    #[error(
        "plugin {plugin:?} asks for the \"{capability}\" grant, which only the operator can give: add it under \
         [plugins.sensitive_grants] in the server's config.toml ({plugin} = [\"{capability}\"]) if it should have it"
    )]
    SensitiveGrant { plugin: String, capability: Capability },
    #[error(
        "plugin {plugin:?} imports {import} but its manifest does not grant \"{capability}\"; add \"{capability}\" to \
         `grants` in its manifest if it should have that access"
    )]
    MissingGrant { plugin: String, import: String, capability: Capability },
    #[error(
        "plugin {plugin:?} imports {import}, which this host does not provide (supported contract versions: {supported})"
    )]
    UnknownImport { plugin: String, import: String, supported: String },
    #[error("plugin {plugin:?} could not be linked: {reason}")]
    Link { plugin: String, reason: String },
    #[error("plugin {plugin:?} failed while describing its tools: {reason}")]
    Describe { plugin: String, reason: String },
    #[error("plugin {plugin:?} describes an invalid tool: {reason}")]
    InvalidTool { plugin: String, reason: String },
}

impl Runtime {
    /// Loads a third-party plugin (see [`Self::load_as`]).
    pub async fn load(&self, wasm: Arc<[u8]>, manifest: Manifest) -> Result<LoadedPlugin, LoadError> {
        self.load_as(wasm, manifest, PluginOrigin::Directory).await
    }

    /// Loads a plugin from its component bytes and manifest: checks its grants (a third-party plugin gets a
    /// sensitive one only from the operator), compiles it (off the async runtime; a third-party component in a
    /// bounded child process), checks its imports against its grants, asks it for its tools and checks those
    /// (names, sizes, schemas and what validating against them may cost). Nothing is served here; the registry
    /// decides that.
    pub async fn load_as(
        &self,
        wasm: Arc<[u8]>,
        manifest: Manifest,
        origin: PluginOrigin,
    ) -> Result<LoadedPlugin, LoadError> {
        let plugin = manifest.name.clone();
        let third_party = origin == PluginOrigin::Directory;
        let policy = &self.inner.limits.policy;
        if third_party
            && let Some(&capability) =
                manifest.grants.iter().find(|grant| grant.is_sensitive() && !policy.allows_sensitive(&plugin, **grant))
        {
            return Err(LoadError::SensitiveGrant { plugin, capability });
        }
        let digest = hex::encode(Sha256::digest(&wasm));
        let component = self
            .compile(wasm, third_party)
            .await
            .map_err(|reason| LoadError::Compile { plugin: plugin.clone(), reason })?;
        self.check_imports(&component, &manifest)?;

        let link_error = |e: wasmtime::Error| LoadError::Link { plugin: plugin.clone(), reason: format!("{e:#}") };
        let mut linker = Linker::<CallState>::new(&self.inner.engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(link_error)?;
        host_api::link_granted(&mut linker, &manifest.grants).map_err(link_error)?;
        let pre = PluginPre::new(linker.instantiate_pre(&component).map_err(link_error)?).map_err(link_error)?;

        let (limits, notes) = if third_party {
            PluginLimits::resolve(&manifest, &self.inner.limits)
        } else {
            (PluginLimits::builtin(&manifest, &self.inner.limits), Vec::new())
        };
        let log_rate = third_party.then(|| Arc::new(LogRate::new(policy.shared.log_bytes_per_second)));
        let concurrency = limits.max_concurrent_calls.map(|calls| tokio::sync::Semaphore::new(calls as usize));
        let rate = limits.calls_per_second.map(|per_second| {
            let per_second = std::num::NonZeroU32::new(per_second).unwrap_or(std::num::NonZeroU32::MIN);
            governor::RateLimiter::direct(governor::Quota::per_second(per_second))
        });
        let mut loaded = LoadedPlugin {
            name: Arc::from(plugin.as_str()),
            warm: WarmPool::new(limits.instances),
            manifest,
            origin,
            tools: Vec::new(),
            checks: Vec::new(),
            digest,
            limits,
            notes,
            signed: false,
            signer: None,
            loaded_at: crate::sync::unix_now(),
            counters: PluginCounters::default(),
            pre,
            concurrency,
            rate,
            log_rate,
        };
        let descriptors = self
            .describe(loaded.guest(), loaded.limits.deadline)
            .await
            .map_err(|e| LoadError::Describe { plugin: plugin.clone(), reason: e.to_string() })?;
        let limits = third_party.then_some(&policy.descriptions);
        if let Some(limits) = limits
            && descriptors.len() > limits.max_tools
        {
            let reason = format!(
                "it describes {} tools, more than the {} this host serves",
                descriptors.len(),
                limits.max_tools
            );
            return Err(LoadError::InvalidTool { plugin, reason });
        }
        let limits = limits.cloned();
        (loaded.tools, loaded.checks) = check_descriptors(descriptors, limits)
            .await
            .map_err(|reason| LoadError::InvalidTool { plugin: plugin.clone(), reason })?;
        let mut names: Vec<&str> = loaded.tools.iter().map(|tool| tool.name.as_str()).collect();
        names.sort_unstable();
        if let Some(pair) = names.windows(2).find(|pair| pair[0] == pair[1]) {
            return Err(LoadError::InvalidTool {
                plugin,
                reason: format!("tool name {:?} is declared twice", pair[0]),
            });
        }
        Ok(loaded)
    }

    /// Refuses imports outside the grants: WASI (served with an empty context) and granted interfaces of a
    /// supported contract version only.
    fn check_imports(&self, component: &Component, manifest: &Manifest) -> Result<(), LoadError> {
        let plugin = &manifest.name;
        for (import, _) in component.component_type().imports(&self.inner.engine) {
            if import.starts_with("wasi:") {
                continue;
            }
            let unknown = || LoadError::UnknownImport {
                plugin: plugin.clone(),
                import: import.to_owned(),
                supported: SUPPORTED_CONTRACT_VERSIONS.join(", "),
            };
            let (interface, version) =
                import.strip_prefix(CONTRACT_PACKAGE).and_then(|rest| rest.split_once('@')).ok_or_else(unknown)?;
            if (interface, version) == SHARED_TYPES {
                continue;
            }
            // Interfaces keep the version that introduced them until they change: `conversations@0.2.0` does not
            // exist, `conversations@0.1.0` and `@0.3.0` do.
            let capability = Capability::from_interface(interface)
                .filter(|capability| capability.contract_versions().contains(&version))
                .ok_or_else(unknown)?;
            if !manifest.grants(capability) {
                return Err(LoadError::MissingGrant { plugin: plugin.clone(), import: import.to_owned(), capability });
            }
        }
        Ok(())
    }
}

/// Stack of the thread that checks a plugin's tools: JSON Schemas are walked recursively (by the cost analysis and
/// by the validator's compiler), to [`schema_cost::MAX_SCHEMA_DEPTH`] levels.
const CHECK_STACK_BYTES: usize = 64 * 1024 * 1024;

/// Checks every descriptor with [`tool_spec`] on a thread of its own: off the async runtime (a plugin's 64 tools
/// with 64 KiB schemas take seconds to judge) and with a stack deep enough for any schema the analysis accepts.
async fn check_descriptors(
    descriptors: Vec<crate::bindings::tool::ToolDescriptor>,
    limits: Option<DescriptionLimits>,
) -> Result<(Vec<ToolSpec>, Vec<ArgumentCheck>), String> {
    let (sender, receiver) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("plugin-schemas".to_owned())
        .stack_size(CHECK_STACK_BYTES)
        .spawn(move || {
            let checked = descriptors
                .into_iter()
                .map(|descriptor| tool_spec(descriptor, limits.as_ref()))
                .collect::<Result<Vec<_>, String>>()
                .map(|specs| specs.into_iter().unzip());
            let _ = sender.send(checked);
        })
        .map_err(|e| format!("cannot start checking its tools: {e}"))?;
    receiver.await.map_err(|_| "checking its tools failed".to_owned())?
}

/// Checks one descriptor (a third-party one also against the size `limits`), turns its schema texts into JSON
/// objects and compiles its argument check.
fn tool_spec(
    descriptor: crate::bindings::tool::ToolDescriptor,
    limits: Option<&DescriptionLimits>,
) -> Result<(ToolSpec, ArgumentCheck), String> {
    let name = descriptor.name;
    let name_ok =
        (1..=64).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if !name_ok {
        let shown: String = name.chars().take(80).collect();
        return Err(format!("tool name {shown:?} must be 1-64 characters of a-z, A-Z, 0-9, '_' and '-'"));
    }
    if let Some(limits) = limits {
        let sizes = [
            ("title", descriptor.title.as_ref().map_or(0, String::len), limits.max_title_bytes),
            ("description", descriptor.description.len(), limits.max_description_bytes),
            ("input schema", descriptor.input_schema.len(), limits.max_schema_bytes),
            ("output schema", descriptor.output_schema.as_ref().map_or(0, String::len), limits.max_schema_bytes),
        ];
        if let Some((what, size, limit)) = sizes.into_iter().find(|(_, size, limit)| size > limit) {
            return Err(format!("tool {name:?}: its {what} is {size} bytes, more than the {limit} this host serves"));
        }
    }
    let parse_schema = |text: &str, which: &str| -> Result<(Map<String, Value>, ArgumentCheck), String> {
        let schema: Value =
            serde_json::from_str(text).map_err(|e| format!("tool {name:?}: {which} schema is not JSON: {e}"))?;
        if schema.get("type") != Some(&Value::String("object".to_owned())) {
            return Err(format!("tool {name:?}: {which} schema must be a JSON object with \"type\": \"object\""));
        }
        let cost =
            schema_cost::analyze(&schema).map_err(|e| format!("tool {name:?}: {which} schema is refused: {e}"))?;
        let validator = validator_options()
            .build(&schema)
            .map_err(|e| format!("tool {name:?}: {which} schema is not a valid JSON Schema: {}", e.masked()))?;
        let Value::Object(schema) = schema else { unreachable!("it has a \"type\" member") };
        Ok((schema, ArgumentCheck { validator, cost }))
    };
    let (input_schema, check) = parse_schema(&descriptor.input_schema, "input")?;
    let output_schema = descriptor
        .output_schema
        .as_deref()
        .map(|text| parse_schema(text, "output"))
        .transpose()?
        .map(|(schema, _)| Arc::new(schema));
    let annotations = descriptor.annotations;
    let spec = ToolSpec {
        title: descriptor.title,
        description: descriptor.description,
        input_schema: Arc::new(input_schema),
        output_schema,
        annotations: ToolAnnotations {
            read_only: annotations.read_only,
            destructive: annotations.destructive,
            idempotent: annotations.idempotent,
            open_world: annotations.open_world,
        },
        name,
    };
    Ok((spec, check))
}

/// How argument validators are built: `pattern`s run on a regular-expression engine that works in linear time
/// (backtracking engines can take exponential time on a crafted string), with bounded compiled sizes, and
/// `format` is an annotation only (as JSON Schema 2020-12 has it), so no format check parses hostile text.
fn validator_options() -> jsonschema::ValidationOptions<'static> {
    const REGEX_BYTES: usize = 1024 * 1024;
    jsonschema::options()
        .with_pattern_options(jsonschema::PatternOptions::regex().size_limit(REGEX_BYTES).dfa_size_limit(REGEX_BYTES))
        .should_validate_formats(false)
}
