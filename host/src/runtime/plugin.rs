//! Loading a plugin: compile, check its imports against its grants, pre-instantiate, and ask it for its tools.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use wasmtime::component::{Component, Linker};

use super::compile::compile_cached;
use super::warm::WarmPool;
use super::{Capability, Manifest, PluginLimits, Runtime};
use crate::bindings::PluginPre;
use crate::host_api::{self, CallState};

/// The versions of our WIT package this host links. A released version stays here forever (`wit/README.md`).
const SUPPORTED_CONTRACT_VERSIONS: &[&str] = &["0.1.0", "0.2.0"];
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
    pub tools: Vec<ToolSpec>,
    /// One compiled argument validator per entry of `tools`, built once at load.
    pub validators: Vec<jsonschema::Validator>,
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
    pub(super) warm: WarmPool,
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
    #[error("plugin {plugin:?} is not a valid WebAssembly component: {reason}")]
    Compile { plugin: String, reason: String },
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
    /// Loads a plugin from its component bytes and manifest: compiles it (on a blocking thread), checks its
    /// imports against its grants, asks it for its tools and checks those (names, schemas). Nothing is served
    /// here; the registry decides that.
    pub async fn load(&self, wasm: Arc<[u8]>, manifest: Manifest) -> Result<LoadedPlugin, LoadError> {
        let plugin = manifest.name.clone();
        let digest = hex::encode(Sha256::digest(&wasm));
        let engine = self.inner.engine.clone();
        let cache_dir = self.inner.cache_dir.clone();
        let component = tokio::task::spawn_blocking(move || compile_cached(&engine, cache_dir.as_deref(), &wasm))
            .await
            .map_err(|e| LoadError::Compile { plugin: plugin.clone(), reason: e.to_string() })?
            .map_err(|e| LoadError::Compile { plugin: plugin.clone(), reason: e.to_string() })?;
        self.check_imports(&component, &manifest)?;

        let link_error = |e: wasmtime::Error| LoadError::Link { plugin: plugin.clone(), reason: format!("{e:#}") };
        let mut linker = Linker::<CallState>::new(&self.inner.engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(link_error)?;
        host_api::link_granted(&mut linker, &manifest.grants).map_err(link_error)?;
        let pre = PluginPre::new(linker.instantiate_pre(&component).map_err(link_error)?).map_err(link_error)?;

        let (limits, notes) = PluginLimits::resolve(&manifest, &self.inner.limits);
        let concurrency = limits.max_concurrent_calls.map(|calls| tokio::sync::Semaphore::new(calls as usize));
        let rate = limits.calls_per_second.map(|per_second| {
            let per_second = std::num::NonZeroU32::new(per_second).unwrap_or(std::num::NonZeroU32::MIN);
            governor::RateLimiter::direct(governor::Quota::per_second(per_second))
        });
        let mut loaded = LoadedPlugin {
            name: Arc::from(plugin.as_str()),
            warm: WarmPool::new(limits.instances),
            manifest,
            tools: Vec::new(),
            validators: Vec::new(),
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
        };
        let descriptors = self
            .describe(&loaded)
            .await
            .map_err(|e| LoadError::Describe { plugin: plugin.clone(), reason: e.to_string() })?;
        (loaded.tools, loaded.validators) = descriptors
            .into_iter()
            .map(tool_spec)
            .collect::<Result<Vec<_>, String>>()
            .map_err(|reason| LoadError::InvalidTool { plugin: plugin.clone(), reason })?
            .into_iter()
            .unzip();
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
            // Interfaces keep the version that introduced them: `conversations@0.2.0` does not exist.
            let capability = Capability::from_interface(interface)
                .filter(|capability| capability.contract_version() == version)
                .ok_or_else(unknown)?;
            if !manifest.grants(capability) {
                return Err(LoadError::MissingGrant { plugin: plugin.clone(), import: import.to_owned(), capability });
            }
        }
        Ok(())
    }
}

/// Checks one descriptor, turns its schema texts into JSON objects and compiles its argument validator.
fn tool_spec(descriptor: crate::bindings::tool::ToolDescriptor) -> Result<(ToolSpec, jsonschema::Validator), String> {
    let name = descriptor.name;
    let name_ok =
        (1..=64).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if !name_ok {
        return Err(format!("tool name {name:?} must be 1-64 characters of a-z, A-Z, 0-9, '_' and '-'"));
    }
    let parse_schema = |text: &str, which: &str| -> Result<(Map<String, Value>, jsonschema::Validator), String> {
        let schema: Value =
            serde_json::from_str(text).map_err(|e| format!("tool {name:?}: {which} schema is not JSON: {e}"))?;
        if schema.get("type") != Some(&Value::String("object".to_owned())) {
            return Err(format!("tool {name:?}: {which} schema must be a JSON object with \"type\": \"object\""));
        }
        let validator = jsonschema::validator_for(&schema)
            .map_err(|e| format!("tool {name:?}: {which} schema is not a valid JSON Schema: {e}"))?;
        let Value::Object(schema) = schema else { unreachable!("it has a \"type\" member") };
        Ok((schema, validator))
    };
    let (input_schema, validator) = parse_schema(&descriptor.input_schema, "input")?;
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
    Ok((spec, validator))
}
