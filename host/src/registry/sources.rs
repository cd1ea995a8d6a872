//! Where plugins come from: built-ins embedded in the binary at build time, and `<name>.wasm` + `<name>.toml`
//! pairs in the plugins directory.

use std::path::Path;
use std::sync::Arc;

use super::RegistryError;
use crate::runtime::Manifest;

/// A plugin's bytes and manifest, ready to load.
#[derive(Debug, Clone)]
pub struct PluginSource {
    pub wasm: Arc<[u8]>,
    pub manifest: Manifest,
}

/// The built-in tool components (built from `guest-tools/` by `build.rs`) and their manifests.
pub const BUILTIN_PLUGINS: &[(&str, &[u8], &str)] = &[
    (
        "conversations",
        include_bytes!(concat!(env!("OUT_DIR"), "/fastintercom_tool_conversations.wasm")),
        include_str!("../../../guest-tools/conversations/plugin.toml"),
    ),
    (
        "contacts",
        include_bytes!(concat!(env!("OUT_DIR"), "/fastintercom_tool_contacts.wasm")),
        include_str!("../../../guest-tools/contacts/plugin.toml"),
    ),
    (
        "status",
        include_bytes!(concat!(env!("OUT_DIR"), "/fastintercom_tool_status.wasm")),
        include_str!("../../../guest-tools/status/plugin.toml"),
    ),
];

/// The built-in plugins as sources.
pub fn builtin_sources() -> Vec<PluginSource> {
    BUILTIN_PLUGINS
        .iter()
        .map(|(name, wasm, manifest)| PluginSource {
            wasm: Arc::from(*wasm),
            manifest: Manifest::parse(manifest)
                .unwrap_or_else(|e| panic!("built-in plugin {name} has a bad manifest: {e}")),
        })
        .collect()
}

/// Every `<name>.wasm` in `dir` with its `<name>.toml` manifest, sorted by file name. A missing directory means
/// no plugins; a component without a readable, valid manifest is an error naming the file, for that plugin only.
pub fn directory_sources(dir: &Path) -> Result<Vec<Result<PluginSource, RegistryError>>, RegistryError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(source_error(dir, error)),
    };
    let mut paths: Vec<_> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "wasm"))
        .collect();
    paths.sort();
    Ok(paths
        .into_iter()
        .map(|wasm_path| {
            let manifest_path = wasm_path.with_extension("toml");
            let manifest_text = std::fs::read_to_string(&manifest_path).map_err(|e| source_error(&manifest_path, e))?;
            let manifest = Manifest::parse(&manifest_text).map_err(|e| source_error(&manifest_path, e))?;
            let wasm = std::fs::read(&wasm_path).map_err(|e| source_error(&wasm_path, e))?;
            Ok(PluginSource { wasm: Arc::from(wasm), manifest })
        })
        .collect())
}

fn source_error(path: &Path, reason: impl std::fmt::Display) -> RegistryError {
    RegistryError::Source { path: path.display().to_string(), reason: reason.to_string() }
}
