//! Builds guest crates of this workspace (the built-in tools, the test probe) for `wasm32-wasip2` from a build
//! script, so that `cargo build` / `cargo test` at the root produce up-to-date `.wasm` components without a
//! separate step that people forget.
//!
//! ```no_run
//! // In build.rs's `main`:
//! let wasm = fastintercom_guest_build::build(&["fastintercom-tool-conversations", "fastintercom-tool-contacts"])
//!     .unwrap_or_else(|e| panic!("{e}"));
//! let copied = fastintercom_guest_build::copy_to_out_dir(&wasm).unwrap_or_else(|e| panic!("{e}"));
//! // Then `include_bytes!(env!("CONVERSATIONS_WASM"))` in the crate.
//! println!("cargo::rustc-env=CONVERSATIONS_WASM={}", copied[0].display());
//! ```
//!
//! # Why a nested cargo with its own target directory
//!
//! A build script runs while the outer cargo holds the lock of its target directory, so a nested
//! `cargo build` pointed at the same directory would wait for that lock forever. The guests therefore build into
//! `<workspace>/target/wasm-guests`, which nothing else locks. Keeping it stable (not inside `OUT_DIR`) also
//! lets the host's and the tests' build scripts share one set of guest artefacts and incremental state, and lets
//! developers run the same command by hand.
//!
//! The nested cargo inherits the build script's environment, which the outer cargo (and `cargo clippy`, and
//! coverage tools) filled with variables meant for the *outer* crate: flags for the host target, a clippy
//! wrapper, the outer package's metadata. [`env`] removes them so the nested build is an ordinary build, while
//! the jobserver (`CARGO_MAKEFLAGS`), `CARGO_HOME`, `PATH` and the toolchain selection are kept so it shares
//! the outer build's CPU budget and toolchain.

mod env;
mod workspace;

use std::path::{Path, PathBuf};
use std::process::Command;

pub use workspace::workspace_root;

/// The Rust target every guest is built for: WASI 0.2 components.
pub const TARGET: &str = "wasm32-wasip2";

/// The cargo profile guests are built with (declared in the root `Cargo.toml`: optimised for speed, LTO).
pub const PROFILE: &str = "guest";

/// Builds `packages` (cargo package names of workspace members) for [`TARGET`] with the [`PROFILE`] profile,
/// emits `cargo::rerun-if-changed` lines for their sources, and returns the path of each package's `.wasm`, in
/// the order of `packages`.
///
/// The error text contains the nested cargo's full output, so a build script can simply `panic!("{e}")`.
pub fn build(packages: &[&str]) -> Result<Vec<PathBuf>, String> {
    GuestBuild::new(packages).run()
}

/// A guest build with its options; [`build`] is the common case.
#[derive(Debug, Clone)]
pub struct GuestBuild {
    packages: Vec<String>,
    root: Option<PathBuf>,
    rerun_if_changed: bool,
}

impl GuestBuild {
    /// A build of `packages`, with the workspace found from `CARGO_MANIFEST_DIR` and rerun directives on.
    pub fn new(packages: &[&str]) -> Self {
        Self { packages: packages.iter().map(|p| (*p).to_owned()).collect(), root: None, rerun_if_changed: true }
    }

    /// Uses `root` as the workspace root instead of searching for it.
    pub fn workspace_root(mut self, root: impl Into<PathBuf>) -> Self {
        self.root = Some(root.into());
        self
    }

    /// Whether to print `cargo::rerun-if-changed` directives (on by default; turn off outside build scripts).
    pub fn rerun_if_changed(mut self, on: bool) -> Self {
        self.rerun_if_changed = on;
        self
    }

    /// Runs the nested `cargo build` and returns the `.wasm` path of each package.
    pub fn run(self) -> Result<Vec<PathBuf>, String> {
        if self.packages.is_empty() {
            return Ok(Vec::new());
        }
        let root = match self.root {
            Some(root) => root,
            None => workspace_root()?,
        };
        if self.rerun_if_changed {
            emit_rerun_if_changed(&root, &self.packages);
        }
        ensure_target_installed()?;
        let target_dir = target_dir(&root);
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut command = Command::new(&cargo);
        command
            .current_dir(&root)
            .arg("build")
            .arg("--manifest-path")
            .arg(root.join("Cargo.toml"))
            .args(["--target", TARGET, "--profile", PROFILE])
            .arg("--target-dir")
            .arg(&target_dir);
        for package in &self.packages {
            command.args(["-p", package]);
        }
        env::clean(&mut command);

        let output = command
            .output()
            .map_err(|e| format!("could not run {} to build guests: {e}", Path::new(&cargo).display()))?;
        if !output.status.success() {
            return Err(format!(
                "building guests {:?} failed ({}):\n--- stderr ---\n{}\n--- stdout ---\n{}",
                self.packages,
                output.status,
                String::from_utf8_lossy(&output.stderr),
                String::from_utf8_lossy(&output.stdout),
            ));
        }

        let mut artefacts = Vec::with_capacity(self.packages.len());
        for package in &self.packages {
            let path = artefact_path(&target_dir, package);
            if !path.is_file() {
                return Err(format!(
                    "cargo built {package} but {} is missing; is it a `cdylib` crate?",
                    path.display()
                ));
            }
            artefacts.push(path);
        }
        Ok(artefacts)
    }
}

/// Makes sure the toolchain has the standard library for [`TARGET`].
///
/// `rust-toolchain.toml` lists the target, but rustup only honours that list when it installs the toolchain: a
/// machine that already had the pinned toolchain (without the target) would fail with "can't find crate for
/// `std`". So when the target's library is missing and rustup is there, add it to the toolchain in use.
fn ensure_target_installed() -> Result<(), String> {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let sysroot = Command::new(&rustc)
        .args(["--print", "sysroot"])
        .output()
        .map_err(|e| format!("could not run {}: {e}", Path::new(&rustc).display()))?;
    let sysroot = PathBuf::from(String::from_utf8_lossy(&sysroot.stdout).trim());
    if sysroot.join("lib").join("rustlib").join(TARGET).join("lib").is_dir() {
        return Ok(());
    }
    let mut rustup = Command::new("rustup");
    rustup.args(["target", "add", TARGET]);
    if let Some(toolchain) = sysroot.file_name() {
        rustup.arg("--toolchain").arg(toolchain);
    }
    let output = rustup.output().map_err(|e| {
        format!("the {TARGET} target is not installed and rustup could not be run to add it ({e}); run `rustup target add {TARGET}`")
    })?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "the {TARGET} target is not installed and `rustup target add {TARGET}` failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

/// `<root>/target/wasm-guests`: the guests' own target directory (see the crate docs for why it is separate).
pub fn target_dir(root: &Path) -> PathBuf {
    root.join("target").join("wasm-guests")
}

/// Where cargo puts the component of `package` under `target_dir`: `<target_dir>/wasm32-wasip2/guest/<crate>.wasm`,
/// where `<crate>` is the package name with `-` replaced by `_` (the default library name).
pub fn artefact_path(target_dir: &Path, package: &str) -> PathBuf {
    target_dir.join(TARGET).join(PROFILE).join(format!("{}.wasm", package.replace('-', "_")))
}

/// Copies `artefacts` into `OUT_DIR` (keeping their file names) and returns the copies' paths.
///
/// Useful when the crate embeds the bytes with `include_bytes!`: the copy cannot change under a running build
/// the way the shared `target/wasm-guests` directory can when another build script rebuilds the guests.
pub fn copy_to_out_dir(artefacts: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let out_dir = std::env::var_os("OUT_DIR").ok_or("OUT_DIR is not set; call this from a build script")?;
    let out_dir = PathBuf::from(out_dir);
    artefacts
        .iter()
        .map(|from| {
            let name = from.file_name().ok_or_else(|| format!("{} has no file name", from.display()))?;
            let to = out_dir.join(name);
            std::fs::copy(from, &to)
                .map_err(|e| format!("could not copy {} to {}: {e}", from.display(), to.display()))?;
            Ok(to)
        })
        .collect()
}

/// Asks cargo to rerun the calling build script when a guest's sources, the SDK, the WIT contract or the
/// workspace manifest/lockfile change. Directories are scanned recursively by cargo. Whether the guests really
/// need recompiling is then the nested cargo's decision, which is cheap when nothing changed.
fn emit_rerun_if_changed(root: &Path, packages: &[String]) {
    let mut paths =
        vec![root.join("Cargo.toml"), root.join("Cargo.lock"), root.join("wit"), root.join("guest-tools").join("sdk")];
    let members = workspace::member_dirs(root);
    for package in packages {
        match members.iter().find(|(name, _)| name == package) {
            Some((_, dir)) => paths.push(dir.clone()),
            // Unknown here (e.g. a glob member): cargo will say so if the package really does not exist; until
            // then, watching the usual guest folders is the best we can do.
            None => {
                paths.push(root.join("guest-tools"));
                paths.push(root.join("tests").join("guests"));
            }
        }
    }
    paths.sort();
    paths.dedup();
    for path in paths {
        println!("cargo::rerun-if-changed={}", path.display());
    }
}
