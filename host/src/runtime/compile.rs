//! Compiling components, off the async runtime, with an on-disk cache so a restart does not recompile.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

/// Compiles `wasm`, or loads the artefact a previous run cached for the same bytes and engine configuration.
/// Blocking: call it from `spawn_blocking`.
pub(super) fn compile_cached(engine: &Engine, cache_dir: Option<&Path>, wasm: &[u8]) -> anyhow::Result<Component> {
    let Some(cache_dir) = cache_dir else {
        return compile(engine, wasm);
    };
    let path = artefact_path(engine, cache_dir, wasm);
    if path.exists() {
        match load_artefact(engine, &path) {
            Ok(component) => {
                crate::observability::record_component_cache(true);
                return Ok(component);
            }
            Err(error) => tracing::warn!(%error, "ignoring an unusable cached component; recompiling"),
        }
    }
    crate::observability::record_component_cache(false);
    let component = compile(engine, wasm)?;
    if let Err(error) = store_artefact(&component, &path) {
        tracing::warn!(%error, "could not cache a compiled component");
    }
    Ok(component)
}

fn compile(engine: &Engine, wasm: &[u8]) -> anyhow::Result<Component> {
    Component::new(engine, wasm).map_err(|e| anyhow::anyhow!("{e:#}"))
}

/// `<sha256 of the component>-<hash of the engine's compilation settings>.cwasm`: a change of wasmtime version
/// or of any setting that affects code generation gives a new name, never a stale artefact.
fn artefact_path(engine: &Engine, cache_dir: &Path, wasm: &[u8]) -> PathBuf {
    let mut engine_hash = DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut engine_hash);
    let digest = hex::encode(Sha256::digest(wasm));
    cache_dir.join(format!("{digest}-{:016x}.cwasm", engine_hash.finish()))
}

#[allow(unsafe_code)]
fn load_artefact(engine: &Engine, path: &Path) -> anyhow::Result<Component> {
    // SAFETY: `deserialize_file` trusts the file to be an artefact wasmtime produced. The cache directory lives in
    // the server's own data directory and only `store_artefact` writes it (atomically, by rename); wasmtime
    // still checks the header and the engine compatibility before using it.
    unsafe { Component::deserialize_file(engine, path) }.map_err(|e| anyhow::anyhow!("{e:#}"))
}

fn store_artefact(component: &Component, path: &Path) -> anyhow::Result<()> {
    let bytes = component.serialize().map_err(|e| anyhow::anyhow!("{e:#}"))?;
    let temporary = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&temporary, bytes)?;
    std::fs::rename(&temporary, path)?;
    Ok(())
}
