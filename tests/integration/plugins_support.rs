//! Set-up for the plugin-platform tests: versions of the swap probe made by patching its bytes, and an in-process
//! registry over a plugins directory, reloaded the way a server reloads it.

use std::sync::Arc;

use fastintercom::registry::trust::TrustPolicy;
use fastintercom::registry::{self, LoadOutcome, Registry, ToolCallError};
use fastintercom::runtime::{PluginStatus, Runtime, RuntimeLimits, ToolOutput};
use fastintercom_tests::{SWAP_MANIFEST, SWAP_TOOL, land};
pub use fastintercom_tests::{swap_named, swap_version, swap_with_bad_schema};
use serde_json::{Map, Value};
use tempfile::TempDir;

use crate::http_support::shared_cache_dir;
use crate::support::empty_store;

/// The swap probe's manifest with another version string.
pub fn swap_manifest(version: &str) -> String {
    SWAP_MANIFEST.replace("version = \"1.0.0\"", &format!("version = \"{version}\""))
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

    /// What a server does when the directory changed. The files are read on a thread of their own, so that a
    /// read that blocks (what the hostile-file tests look for) holds neither the test's runtime nor its shutdown,
    /// and a test's timeout around this can fail it.
    pub async fn reload(&self) -> LoadOutcome {
        let max_component_bytes = self.registry.runtime().limits().policy.compile.max_component_bytes;
        let (dir, trust) = (self.plugins.path().to_owned(), self.trust.clone());
        let (sender, receiver) = tokio::sync::oneshot::channel();
        std::thread::spawn(move || sender.send(registry::directory_sources(&dir, &trust, max_component_bytes)));
        let entries = receiver.await.expect("reading the plugins directory").expect("plugins directory");
        self.registry.reconcile(registry::builtin_sources, entries, &self.trust).await.expect("the built-ins load")
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
