//! Set-up for the plugin-platform tests: versions of the swap probe made by patching its bytes, and an in-process
//! registry over a plugins directory, reloaded the way a server reloads it.

use std::path::Path;
use std::sync::Arc;

use fastintercom::registry::trust::TrustPolicy;
use fastintercom::registry::{self, LoadOutcome, Registry, ToolCallError};
use fastintercom::runtime::{PluginStatus, Runtime, RuntimeLimits, ToolOutput};
use fastintercom_tests::{SWAP_MANIFEST, SWAP_WASM};
use serde_json::{Map, Value};
use tempfile::TempDir;

use crate::http_support::shared_cache_dir;
use crate::support::empty_store;

/// The swap probe's patchable tool name.
pub const SWAP_TOOL: &str = "swap_probe_hello";

/// Replaces the only occurrence of `from` in `bytes` by `to` (same length).
fn patch(bytes: &mut [u8], from: &str, to: &str) {
    assert_eq!(from.len(), to.len(), "a patch keeps the length");
    let at: Vec<usize> =
        bytes.windows(from.len()).enumerate().filter(|(_, w)| *w == from.as_bytes()).map(|(i, _)| i).collect();
    assert_eq!(at.len(), 1, "{from:?} occurs {} times in the swap probe", at.len());
    bytes[at[0]..at[0] + to.len()].copy_from_slice(to.as_bytes());
}

/// The swap probe answering with `version` (four letters).
pub fn swap_version(version: &str) -> Vec<u8> {
    assert_eq!(version.len(), 4);
    let mut bytes = SWAP_WASM.to_vec();
    if version != "aaaa" {
        patch(&mut bytes, "swap-version:aaaa", &format!("swap-version:{version}"));
    }
    bytes
}

/// The swap probe whose tool is called `name` (sixteen characters), e.g. `get_conversation`.
pub fn swap_named(version: &str, name: &str) -> Vec<u8> {
    let mut bytes = swap_version(version);
    patch(&mut bytes, SWAP_TOOL, name);
    bytes
}

/// The swap probe with an input schema that is not valid JSON Schema (`"type": "strung"`).
pub fn swap_with_bad_schema(version: &str) -> Vec<u8> {
    let mut bytes = swap_version(version);
    patch(&mut bytes, r#"{"type":"string"}"#, r#"{"type":"strung"}"#);
    bytes
}

/// The swap probe's manifest with another version string.
pub fn swap_manifest(version: &str) -> String {
    SWAP_MANIFEST.replace("version = \"1.0.0\"", &format!("version = \"{version}\""))
}

/// Writes `name.wasm` + `name.toml` (and `name.sig` when given) so that each file appears whole: written under
/// a temporary name, then renamed. The component lands last.
pub fn land(dir: &Path, name: &str, wasm: &[u8], manifest: &str, signature: Option<&str>) {
    let mut files: Vec<(&str, &[u8])> = vec![("toml", manifest.as_bytes())];
    if let Some(signature) = signature {
        files.push(("sig", signature.as_bytes()));
    }
    files.push(("wasm", wasm));
    for (extension, bytes) in files {
        let temporary = dir.join(format!(".{name}.{extension}.tmp"));
        std::fs::write(&temporary, bytes).unwrap();
        std::fs::rename(&temporary, dir.join(format!("{name}.{extension}"))).unwrap();
    }
}

/// A registry with the built-ins over an empty store and a plugins directory of its own.
pub struct Harness {
    pub plugins: TempDir,
    pub registry: Arc<Registry>,
    pub trust: TrustPolicy,
    _data: TempDir,
}

impl Harness {
    pub async fn new() -> Self {
        Self::with(RuntimeLimits::default(), TrustPolicy::default()).await
    }

    pub async fn with(limits: RuntimeLimits, trust: TrustPolicy) -> Self {
        let (data, store) = empty_store().await;
        let runtime = Runtime::new(limits, Some(shared_cache_dir().to_owned()), store).expect("runtime");
        let harness =
            Self { plugins: TempDir::new().unwrap(), registry: Arc::new(Registry::new(runtime)), trust, _data: data };
        harness.reload().await;
        harness
    }

    pub fn land(&self, name: &str, wasm: &[u8], manifest: &str) {
        land(self.plugins.path(), name, wasm, manifest, None);
    }

    /// What a server does when the directory changed.
    pub async fn reload(&self) -> LoadOutcome {
        let entries = registry::directory_sources(self.plugins.path(), &self.trust).expect("plugins directory");
        self.registry.reconcile(registry::builtin_sources, entries).await.expect("the built-ins load")
    }

    pub fn status(&self, name: &str) -> PluginStatus {
        let board = self.registry.runtime().board().snapshot();
        board.iter().find(|status| status.name == name).cloned().unwrap_or_else(|| panic!("no plugin {name}"))
    }

    pub fn served_version(&self, name: &str) -> Option<String> {
        self.status(name).served.map(|plugin| plugin.manifest.version.clone())
    }

    pub async fn call(&self, tool: &str, arguments: Value) -> Result<ToolOutput, ToolCallError> {
        let Value::Object(arguments) = arguments else { panic!("arguments must be an object") };
        self.registry.call(tool, arguments).await
    }

    /// The `version` a swap probe answer carries.
    pub async fn answered_version(&self) -> String {
        let output = self.call(SWAP_TOOL, Value::Object(Map::new())).await.expect("the swap probe answers");
        output.structured.expect("structured")["version"].as_str().expect("version").to_owned()
    }
}
