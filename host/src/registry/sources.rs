//! Where plugins come from: built-ins embedded in the binary at build time, and `<name>.wasm` + `<name>.toml`
//! pairs in the plugins directory.

use std::path::Path;
use std::sync::Arc;

use sha2::{Digest, Sha256};

use super::RegistryError;
use super::trust::TrustPolicy;
use crate::runtime::Manifest;

/// A plugin's bytes and manifest, ready to load.
#[derive(Debug, Clone)]
pub struct PluginSource {
    pub wasm: Arc<[u8]>,
    pub manifest: Manifest,
    /// The trusted key (base64) its signature was verified with, if it was.
    pub signer: Option<String>,
    /// sha256 over the component, manifest and signature files: a plugin whose files have the same identity as
    /// the loaded version is not loaded again.
    pub identity: String,
}

/// One `<name>.wasm` of the plugins directory: its name (the file stem) and its files, or why they are unusable.
#[derive(Debug)]
pub struct DirectoryEntry {
    pub name: String,
    pub source: Result<PluginSource, RegistryError>,
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
    (
        "plugins",
        include_bytes!(concat!(env!("OUT_DIR"), "/fastintercom_tool_plugins.wasm")),
        include_str!("../../../guest-tools/plugins/plugin.toml"),
    ),
    (
        "analytics",
        include_bytes!(concat!(env!("OUT_DIR"), "/fastintercom_tool_analytics.wasm")),
        include_str!("../../../guest-tools/analytics/plugin.toml"),
    ),
    (
        "companies",
        include_bytes!(concat!(env!("OUT_DIR"), "/fastintercom_tool_companies.wasm")),
        include_str!("../../../guest-tools/companies/plugin.toml"),
    ),
    (
        "connector",
        include_bytes!(concat!(env!("OUT_DIR"), "/fastintercom_tool_connector.wasm")),
        include_str!("../../../guest-tools/connector/plugin.toml"),
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
            signer: None,
            identity: identity(wasm, manifest, None),
        })
        .collect()
}

/// Every `<name>.wasm` in `dir` with its `<name>.toml` manifest (and `<name>.sig`, if any), sorted by name. A
/// missing directory means no plugins; files that are unreadable, invalid, misnamed or untrusted are an error
/// for that plugin only.
pub fn directory_sources(
    dir: &Path,
    trust: &TrustPolicy,
    max_component_bytes: usize,
) -> Result<Vec<DirectoryEntry>, RegistryError> {
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
    Ok(paths.into_iter().map(|wasm_path| source_from_files(&wasm_path, trust, max_component_bytes)).collect())
}

/// The plugin whose component is `wasm_path` (named by its file stem), with its manifest and signature beside it.
/// A component over `max_component_bytes` (the operator's `max_component_mib`) is refused without being read.
pub fn source_from_files(wasm_path: &Path, trust: &TrustPolicy, max_component_bytes: usize) -> DirectoryEntry {
    let name = wasm_path.file_stem().map(|stem| stem.to_string_lossy().into_owned()).unwrap_or_default();
    DirectoryEntry { source: read_source(wasm_path, &name, trust, max_component_bytes as u64), name }
}

/// Largest manifest or signature file the host reads.
const MAX_TEXT_BYTES: u64 = 64 * 1024;

/// Reads a plugin file, within `limit` bytes, without following a symbolic link and without blocking: a link
/// could point at a file the plugin must not see (or one that never ends, like `/dev/zero`), and a FIFO would
/// hold a reload forever. What the file is (regular, its size) is checked on the open descriptor, so swapping the
/// path between the check and the read changes nothing. `Ok(None)` when it does not exist.
fn read_bounded(path: &Path, limit: u64) -> Result<Option<Vec<u8>>, RegistryError> {
    use rustix::fs::{Mode, OFlags};
    use std::io::Read as _;
    let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC | OFlags::NOCTTY;
    let file = match rustix::fs::open(path, flags, Mode::empty()) {
        Ok(descriptor) => std::fs::File::from(descriptor),
        Err(rustix::io::Errno::NOENT) => return Ok(None),
        Err(rustix::io::Errno::LOOP) => {
            return Err(source_error(path, "is a symbolic link; plugin files must be regular files"));
        }
        Err(error) => return Err(source_error(path, std::io::Error::from(error))),
    };
    let metadata = file.metadata().map_err(|e| source_error(path, e))?;
    if !metadata.is_file() {
        return Err(source_error(path, "not a regular file"));
    }
    if metadata.len() > limit {
        return Err(source_error(path, format!("larger than the {limit} bytes the host reads")));
    }
    let mut bytes = Vec::with_capacity(metadata.len() as usize);
    file.take(limit + 1).read_to_end(&mut bytes).map_err(|e| source_error(path, e))?;
    if bytes.len() as u64 > limit {
        return Err(source_error(path, format!("larger than the {limit} bytes the host reads")));
    }
    Ok(Some(bytes))
}

fn read_text(path: &Path) -> Result<Option<String>, RegistryError> {
    read_bounded(path, MAX_TEXT_BYTES)?
        .map(|bytes| String::from_utf8(bytes).map_err(|_| source_error(path, "not UTF-8 text")))
        .transpose()
}

fn read_source(
    wasm_path: &Path,
    name: &str,
    trust: &TrustPolicy,
    max_component_bytes: u64,
) -> Result<PluginSource, RegistryError> {
    let manifest_path = wasm_path.with_extension("toml");
    let manifest_text = read_text(&manifest_path)?
        .ok_or_else(|| source_error(&manifest_path, "missing (every NAME.wasm needs a NAME.toml)"))?;
    let manifest = parsed_manifest(&manifest_text, name).map_err(|reason| source_error(&manifest_path, reason))?;
    let wasm = read_bounded(wasm_path, max_component_bytes)?.ok_or_else(|| source_error(wasm_path, "vanished"))?;
    if !wasm.starts_with(b"\0asm") {
        // Nothing of the file's bytes goes into the message (the compiler's own would quote them).
        return Err(source_error(wasm_path, "not a WebAssembly file"));
    }
    let signature = read_text(&wasm_path.with_extension("sig"))?;
    trusted_source(name, wasm, &manifest_text, manifest, signature.as_deref(), trust)
}

/// The manifest of plugin `name`, or why it is not one.
fn parsed_manifest(text: &str, name: &str) -> Result<Manifest, String> {
    let manifest = Manifest::parse(text).map_err(|e| e.to_string())?;
    if manifest.name != name {
        return Err(format!("the manifest names another plugin; name = \"{name}\" must match the file names"));
    }
    Ok(manifest)
}

/// The source, if the trust policy accepts its signature (or needs none).
fn trusted_source(
    name: &str,
    wasm: Vec<u8>,
    manifest_text: &str,
    manifest: Manifest,
    signature: Option<&str>,
    trust: &TrustPolicy,
) -> Result<PluginSource, RegistryError> {
    let signer = trust
        .check(&wasm, manifest_text, signature)
        .map_err(|e| RegistryError::Untrusted { plugin: name.to_owned(), reason: e.to_string() })?;
    // The verdict is part of the identity: a key becoming trusted (or not) reloads the plugin.
    let identity = format!("{}{}", identity(&wasm, manifest_text, signature), signer.as_deref().unwrap_or_default());
    Ok(PluginSource { wasm: Arc::from(wasm), manifest, signer, identity })
}

/// A plugin installed into the store (`plugins install` with a PostgreSQL store), judged as its files would be:
/// the manifest must name it, the component must be WebAssembly within the operator's size, and the trust policy
/// must accept its signature. Errors name it as `store:NAME`.
pub fn stored_source(
    plugin: crate::store::StoredPlugin,
    trust: &TrustPolicy,
    max_component_bytes: usize,
) -> DirectoryEntry {
    let label = format!("store:{}", plugin.name);
    let refused = |reason: String| RegistryError::Source { path: label.clone(), reason };
    let source = (|| {
        let manifest_text = plugin
            .manifest
            .ok_or_else(|| refused(format!("its manifest is larger than the {MAX_TEXT_BYTES} bytes the host reads")))?;
        let manifest = parsed_manifest(&manifest_text, &plugin.name).map_err(refused)?;
        let wasm = plugin.component.ok_or_else(|| {
            refused(format!("its component is larger than the {max_component_bytes} bytes the host reads"))
        })?;
        if !wasm.starts_with(b"\0asm") {
            return Err(refused("its component is not a WebAssembly file".to_owned()));
        }
        trusted_source(&plugin.name, wasm, &manifest_text, manifest, plugin.signature.as_deref(), trust)
    })();
    DirectoryEntry { name: plugin.name, source }
}

/// The plugins installed into the store (see [`super::Registry::installed_in_store`]), judged (see
/// [`stored_source`]) off the async runtime.
pub async fn store_sources(
    stored: Vec<crate::store::StoredPlugin>,
    trust: &TrustPolicy,
    max_component_bytes: usize,
) -> Result<Vec<DirectoryEntry>, crate::store::StoreError> {
    let trust = trust.clone();
    let judged = tokio::task::spawn_blocking(move || {
        stored.into_iter().map(|plugin| stored_source(plugin, &trust, max_component_bytes)).collect()
    });
    judged.await.map_err(|error| crate::store::StoreError::Build(format!("judging stored plugins failed: {error}")))
}

/// Adds the store's plugins to the directory's; a name the directory holds is the directory's (the local
/// operator's). Returns the names of the store's plugins left out so.
pub fn add_installed(entries: &mut Vec<DirectoryEntry>, installed: Vec<DirectoryEntry>) -> Vec<String> {
    let mut shadowed = Vec::new();
    for entry in installed {
        if entries.iter().any(|local| local.name == entry.name) {
            shadowed.push(entry.name);
        } else {
            entries.push(entry);
        }
    }
    shadowed
}

/// The identity of a plugin's files (before the trust policy's verdict is added), as the store keeps it.
pub fn files_identity(wasm: &[u8], manifest: &str, signature: Option<&str>) -> String {
    identity(wasm, manifest, signature)
}

/// Largest manifest the host reads, for readers of the store.
pub const MAX_MANIFEST_BYTES: usize = MAX_TEXT_BYTES as usize;

fn identity(wasm: &[u8], manifest: &str, signature: Option<&str>) -> String {
    let mut hash = Sha256::new();
    for part in [wasm, manifest.as_bytes(), signature.unwrap_or_default().as_bytes()] {
        hash.update((part.len() as u64).to_le_bytes());
        hash.update(part);
    }
    hex::encode(hash.finalize())
}

/// Names the file by its name in the plugins directory only: errors reach clients through `list_plugins`, and
/// the directory's location is the host's business.
fn source_error(path: &Path, reason: impl std::fmt::Display) -> RegistryError {
    let file = path.file_name().map_or_else(|| path.display().to_string(), |name| name.to_string_lossy().into_owned());
    RegistryError::Source { path: file, reason: reason.to_string() }
}
