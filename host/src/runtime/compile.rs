//! Compiling components: never on the async runtime, cached on disk so a restart does not recompile, and, for
//! third-party components, bounded.
//!
//! Compiling is host work a plugin author controls: a 6.7 MB component made of one function took 8.8 s and
//! 1.5 GB to compile, and nothing can stop cranelift half way. So a third-party component is checked (size, header)
//! and then compiled by a child process (the `fastintercom` binary itself, see
//! [`RuntimeLimits::isolated_compiler`](super::RuntimeLimits::isolated_compiler)) under a CPU-time and memory
//! limit set by the kernel, at a low priority, and killed at the time limit. It writes the artefact into the
//! cache, where this process loads it. Built-in components (the product's own) compile in process.
//!
//! The cache keeps the artefacts of every plugin version loaded and, of the others, the most recently used up to
//! [`UNUSED_ARTEFACTS_BYTES`]: a plugin swapped back to bytes seen before loads without compiling, and the
//! directory does not grow without end.

use std::collections::HashSet;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use wasmtime::Engine;
use wasmtime::component::Component;

use super::{CompileLimits, Runtime};

/// Bytes of artefacts kept for components no loaded plugin uses (the most recently used first).
pub const UNUSED_ARTEFACTS_BYTES: u64 = 256 * 1024 * 1024;

/// The hidden subcommand the host runs to compile a third-party component in a child process.
pub const COMPILER_SUBCOMMAND: &str = "__compile-component";

/// The start of every WebAssembly binary, and the version/layer words of a component and of a core module.
const WASM_MAGIC: &[u8; 4] = b"\0asm";
const COMPONENT_LAYER: [u8; 4] = [0x0d, 0x00, 0x01, 0x00];
const CORE_MODULE_VERSION: [u8; 4] = [0x01, 0x00, 0x00, 0x00];

/// Most bytes of the compiler process's error output kept for the message.
const MAX_COMPILER_MESSAGE_BYTES: usize = 4096;

/// Why a component could not be compiled. Messages quote nothing of the file but wasmtime's own diagnosis of a
/// component (which names its sections and offsets, not bytes of other files).
#[derive(Debug, thiserror::Error)]
pub enum CompileError {
    #[error("it is not a WebAssembly component (a component starts with \\0asm and the component layer)")]
    NotWasm,
    #[error(
        "it is a core WebAssembly module, not a component: build it for wasm32-wasip2 or wrap it with `wasm-tools component new`"
    )]
    CoreModule,
    #[error(
        "it is {actual} bytes, more than the {limit} bytes this host compiles (operator setting max_component_mib)"
    )]
    TooLarge { actual: usize, limit: usize },
    #[error("compiling it took longer than this host allows ({} s; operator setting compile_timeout_ms)", .0.as_secs_f64())]
    TooSlow(Duration),
    #[error("compiling it needed more memory than this host allows ({} MiB; operator setting compile_memory_mib)", .0 / (1024 * 1024))]
    TooMuchMemory(usize),
    #[error("it is not a valid WebAssembly component: {0}")]
    Invalid(String),
    #[error("the compiler failed: {0}")]
    Compiler(String),
}

/// Checks that `wasm` is a component small enough to compile, before anything parses it.
fn check_header(wasm: &[u8], limits: &CompileLimits) -> Result<(), CompileError> {
    if wasm.len() > limits.max_component_bytes {
        return Err(CompileError::TooLarge { actual: wasm.len(), limit: limits.max_component_bytes });
    }
    match (wasm.get(..4), wasm.get(4..8)) {
        (Some(magic), Some(version)) if magic == WASM_MAGIC && version == COMPONENT_LAYER => Ok(()),
        (Some(magic), Some(version)) if magic == WASM_MAGIC && version == CORE_MODULE_VERSION => {
            Err(CompileError::CoreModule)
        }
        _ => Err(CompileError::NotWasm),
    }
}

impl Runtime {
    /// The compiled component for `wasm`: from the cache, or compiled (in process for built-ins, in a bounded
    /// child process for third-party components when the runtime has a compiler program).
    pub(super) async fn compile(&self, wasm: Arc<[u8]>, third_party: bool) -> Result<Component, CompileError> {
        let limits = &self.inner.limits;
        if third_party {
            check_header(&wasm, &limits.policy.compile)?;
        }
        let engine = self.inner.engine.clone();
        let artefact = self.inner.cache_dir.as_deref().map(|dir| artefact_path(&engine, dir, &wasm));
        if let Some(path) = artefact.clone() {
            let engine = engine.clone();
            let cached = tokio::task::spawn_blocking(move || load_cached(&engine, &path))
                .await
                .map_err(|e| CompileError::Compiler(e.to_string()))?;
            crate::observability::record_component_cache(cached.is_some());
            if let Some(component) = cached {
                return Ok(component);
            }
        }
        match (&limits.isolated_compiler, third_party) {
            (Some(program), true) => {
                let scratch;
                let out = match &artefact {
                    Some(path) => path.clone(),
                    None => {
                        scratch = tempfile::tempdir().map_err(|e| CompileError::Compiler(e.to_string()))?;
                        scratch.path().join("component.cwasm")
                    }
                };
                compile_in_child(program, &wasm, &out, &limits.policy.compile).await?;
                tokio::task::spawn_blocking(move || load_artefact(&engine, &out))
                    .await
                    .map_err(|e| CompileError::Compiler(e.to_string()))?
                    .map_err(|e| CompileError::Compiler(format!("cannot load what it compiled: {e}")))
            }
            _ => tokio::task::spawn_blocking(move || {
                let component = Component::new(&engine, &wasm).map_err(|e| CompileError::Invalid(format!("{e:#}")))?;
                if let Some(path) = artefact
                    && let Err(error) = store_artefact(&component, &path)
                {
                    tracing::warn!(%error, "could not cache a compiled component");
                }
                Ok(component)
            })
            .await
            .map_err(|e| CompileError::Compiler(e.to_string()))?,
        }
    }

    /// Removes cached artefacts that none of the components with these sha256 `digests` (hex) uses, oldest first,
    /// down to [`UNUSED_ARTEFACTS_BYTES`], and leftovers of interrupted writes. Blocking: run it off the runtime.
    pub fn prune_component_cache(&self, digests: &HashSet<String>) {
        let Some(dir) = &self.inner.cache_dir else { return };
        let suffix = engine_suffix(&self.inner.engine);
        let live: HashSet<String> = digests.iter().map(|digest| format!("{digest}-{suffix}.cwasm")).collect();
        if let Err(error) = prune(dir, &live, UNUSED_ARTEFACTS_BYTES) {
            tracing::warn!(%error, "could not clean the compiled-component cache");
        }
    }
}

/// The artefact at `path`, if there is a usable one (its modification time is refreshed: it is the cache's
/// "last used").
fn load_cached(engine: &Engine, path: &Path) -> Option<Component> {
    if !path.exists() {
        return None;
    }
    match load_artefact(engine, path) {
        Ok(component) => {
            if let Ok(file) = std::fs::File::options().append(true).open(path) {
                let _ = file.set_modified(SystemTime::now());
            }
            Some(component)
        }
        Err(error) => {
            tracing::warn!(%error, "ignoring an unusable cached component; recompiling");
            None
        }
    }
}

/// Runs the compiler process on `wasm`, which writes the artefact to `out`, within `limits`.
async fn compile_in_child(program: &Path, wasm: &[u8], out: &Path, limits: &CompileLimits) -> Result<(), CompileError> {
    let failed = |e: std::io::Error| CompileError::Compiler(e.to_string());
    let mut command = tokio::process::Command::new(program);
    command
        // It needs nothing of the server's environment (which may hold the Intercom token).
        .env_clear()
        .arg(COMPILER_SUBCOMMAND)
        .arg("--out")
        .arg(out)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    limit_child(&mut command, limits.timeout, limits.memory_bytes as u64);
    let mut child = command.spawn().map_err(failed)?;
    let mut stdin = child.stdin.take().expect("piped");
    let mut stderr = child.stderr.take().expect("piped");
    let work = async {
        // A child that dies early closes its stdin; its exit status says why.
        let _ = stdin.write_all(wasm).await;
        drop(stdin);
        let mut message = Vec::new();
        let _ = (&mut stderr).take(MAX_COMPILER_MESSAGE_BYTES as u64).read_to_end(&mut message).await;
        let status = child.wait().await.map_err(failed)?;
        Ok::<_, CompileError>((status, message))
    };
    let (status, message) = match tokio::time::timeout(limits.timeout, work).await {
        Ok(outcome) => outcome?,
        // Dropping `work` drops the child, which kills it.
        Err(_) => return Err(CompileError::TooSlow(limits.timeout)),
    };
    let message = String::from_utf8_lossy(&message).trim().to_owned();
    if status.success() {
        return Ok(());
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt as _;
        const SIGABRT: i32 = 6;
        const SIGKILL: i32 = 9;
        const SIGXCPU: i32 = 24;
        match status.signal() {
            Some(SIGXCPU | SIGKILL) => return Err(CompileError::TooSlow(limits.timeout)),
            // Rust aborts when an allocation fails, which is how the memory limit ends a compile.
            Some(SIGABRT) if message.contains("memory allocation") => {
                return Err(CompileError::TooMuchMemory(limits.memory_bytes));
            }
            _ => {}
        }
    }
    match message.strip_prefix(CHILD_INVALID_PREFIX) {
        Some(reason) => Err(CompileError::Invalid(reason.to_owned())),
        None if message.contains("memory allocation") => Err(CompileError::TooMuchMemory(limits.memory_bytes)),
        None => Err(CompileError::Compiler(format!("it ended with {status}"))),
    }
}

/// How the compiler process starts the line that says the component is invalid.
const CHILD_INVALID_PREFIX: &str = "invalid component: ";

/// Makes the process `command` starts run at a low priority and under the kernel's limits of CPU time and
/// memory, from its first instruction: set inside the child, between fork and exec. (Set by the process itself,
/// the memory limit came too late: its allocator had already reserved a large arena, which the limit then no
/// longer covered.)
#[allow(unsafe_code)]
fn limit_child(command: &mut tokio::process::Command, cpu: Duration, memory_bytes: u64) {
    // SAFETY: the closure runs in the forked child before exec, where only async-signal-safe work is allowed. It
    // makes three system calls through rustix's raw syscall layer (setpriority, two setrlimit), which neither
    // allocate nor take locks.
    unsafe {
        command.pre_exec(move || {
            rustix::process::setpriority_process(None, super::os::GUEST_NICENESS)?;
            super::os::limit_this_process(cpu, memory_bytes)
        });
    }
}

/// The compiler process: reads a component on stdin, compiles it and writes the artefact to `out` (atomically).
/// The server starts it at a low priority and under limits of CPU time and memory (see [`limit_child`]). Exits 0
/// on success, 2 with one line on stderr when the component is invalid.
pub fn run_compiler_process(out: &Path) -> std::process::ExitCode {
    use std::process::ExitCode;
    let mut wasm = Vec::new();
    if let Err(error) = std::io::stdin().lock().read_to_end(&mut wasm) {
        eprintln!("cannot read the component: {error}");
        return ExitCode::FAILURE;
    }
    let engine = match super::engine::build_for_compiling() {
        Ok(engine) => engine,
        Err(error) => {
            eprintln!("{error:#}");
            return ExitCode::FAILURE;
        }
    };
    let compiled = match engine.precompile_component(&wasm) {
        Ok(bytes) => bytes,
        Err(error) => {
            eprintln!("{CHILD_INVALID_PREFIX}{}", format!("{error:#}").replace('\n', " "));
            return ExitCode::from(2);
        }
    };
    match write_atomically(out, &compiled) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("cannot write the compiled component: {error}");
            ExitCode::FAILURE
        }
    }
}

/// `<sha256 of the component>-<hash of the engine's compilation settings>.cwasm`: a change of wasmtime version
/// or of any setting that affects code generation gives a new name, never a stale artefact.
fn artefact_path(engine: &Engine, cache_dir: &Path, wasm: &[u8]) -> PathBuf {
    let digest = hex::encode(Sha256::digest(wasm));
    cache_dir.join(format!("{digest}-{}.cwasm", engine_suffix(engine)))
}

fn engine_suffix(engine: &Engine) -> String {
    let mut engine_hash = DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut engine_hash);
    format!("{:016x}", engine_hash.finish())
}

#[allow(unsafe_code)]
fn load_artefact(engine: &Engine, path: &Path) -> anyhow::Result<Component> {
    // SAFETY: `deserialize_file` trusts the file to be an artefact wasmtime produced. The cache directory lives in
    // the server's own data directory and only this module writes it (atomically, by rename): in this process,
    // or in the compiler process, which is this same binary; wasmtime still checks the header and the engine
    // compatibility before using it.
    unsafe { Component::deserialize_file(engine, path) }.map_err(|e| anyhow::anyhow!("{e:#}"))
}

fn store_artefact(component: &Component, path: &Path) -> anyhow::Result<()> {
    let bytes = component.serialize().map_err(|e| anyhow::anyhow!("{e:#}"))?;
    write_atomically(path, &bytes)?;
    Ok(())
}

fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let temporary = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&temporary, bytes)?;
    std::fs::rename(&temporary, path)
}

/// Leftovers of writes interrupted this long ago are removed.
const STALE_TEMPORARY: Duration = Duration::from_secs(3600);

fn prune(dir: &Path, live: &HashSet<String>, unused_budget: u64) -> std::io::Result<()> {
    let mut unused = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let metadata = entry.metadata()?;
        if !metadata.is_file() {
            continue;
        }
        let modified = metadata.modified().unwrap_or(SystemTime::UNIX_EPOCH);
        if name.contains(".tmp") {
            if modified.elapsed().unwrap_or_default() > STALE_TEMPORARY {
                std::fs::remove_file(entry.path())?;
            }
        } else if name.ends_with(".cwasm") && !live.contains(&name) {
            unused.push((modified, metadata.len(), entry.path()));
        }
    }
    // Newest first: keep those until the budget is spent, remove the rest.
    unused.sort_by_key(|(modified, _, _)| std::cmp::Reverse(*modified));
    let mut kept = 0u64;
    for (_, size, path) in unused {
        kept += size;
        if kept > unused_budget {
            std::fs::remove_file(path)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_components_within_the_size_limit_pass_the_header_check() {
        let limits = CompileLimits { max_component_bytes: 16, ..CompileLimits::default() };
        let component = [&WASM_MAGIC[..], &COMPONENT_LAYER].concat();
        assert!(check_header(&component, &limits).is_ok());
        let module = [&WASM_MAGIC[..], &CORE_MODULE_VERSION].concat();
        assert!(matches!(check_header(&module, &limits), Err(CompileError::CoreModule)));
        let passwd = b"root:x:0:0:root:/root";
        let error = check_header(&passwd[..12], &limits).unwrap_err();
        assert!(matches!(error, CompileError::NotWasm));
        assert!(!error.to_string().contains("root"), "no bytes of the file: {error}");
        assert!(matches!(check_header(&[0; 17], &limits), Err(CompileError::TooLarge { actual: 17, limit: 16 })));
    }

    #[test]
    fn pruning_keeps_live_artefacts_and_the_newest_unused_within_the_budget() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, age_s: u64| {
            let path = dir.path().join(name);
            std::fs::write(&path, [0u8; 100]).unwrap();
            let file = std::fs::File::options().append(true).open(&path).unwrap();
            file.set_modified(SystemTime::now() - Duration::from_secs(age_s)).unwrap();
        };
        write("live-e.cwasm", 10_000);
        write("new-e.cwasm", 10);
        write("mid-e.cwasm", 100);
        write("old-e.cwasm", 1000);
        write("x-e.tmp123", 7200);
        write("y-e.tmp123", 5);
        prune(dir.path(), &HashSet::from(["live-e.cwasm".to_owned()]), 250).unwrap();
        let mut left: Vec<String> =
            std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        left.sort();
        assert_eq!(left, ["live-e.cwasm", "mid-e.cwasm", "new-e.cwasm", "y-e.tmp123"]);
    }
}
