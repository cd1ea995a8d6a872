//! Which environment variables the nested cargo must not inherit.
//!
//! A deny-list rather than `env_clear()`: the environment also carries things the nested build needs and that
//! are hard to enumerate (`PATH`, `HOME`, `CARGO_HOME`, `RUSTUP_HOME`/`RUSTUP_TOOLCHAIN`, proxies, certificate
//! paths, `CARGO_NET_OFFLINE`, the jobserver in `CARGO_MAKEFLAGS`). What is removed is exactly what cargo,
//! clippy or coverage tools set for the outer crate.

use std::process::Command;

/// Set by cargo for the outer build script or by wrappers around the outer cargo; each would change, break or
/// slow down the nested build (a clippy wrapper, host-target rustflags, the outer target directory, ...).
const REMOVED: &[&str] = &[
    "RUSTC_WRAPPER",
    "RUSTC_WORKSPACE_WRAPPER",
    "CARGO_BUILD_RUSTC_WRAPPER",
    "CARGO_BUILD_RUSTC_WORKSPACE_WRAPPER",
    "CARGO_ENCODED_RUSTFLAGS",
    "CARGO_ENCODED_RUSTDOCFLAGS",
    "RUSTFLAGS",
    "RUSTDOCFLAGS",
    "CARGO_BUILD_RUSTFLAGS",
    "CARGO_TARGET_DIR",
    "CARGO_BUILD_TARGET_DIR",
    "CARGO_BUILD_TARGET",
    "CARGO_PRIMARY_PACKAGE",
    "CARGO_CRATE_NAME",
    "CARGO_BIN_NAME",
    "CARGO_TARGET_TMPDIR",
    "TARGET",
    "HOST",
    "OUT_DIR",
    "OPT_LEVEL",
    "PROFILE",
    "DEBUG",
    "NUM_JOBS",
    "RUSTC",
    "RUSTC_LINKER",
    "RUSTDOC",
    "CLIPPY_ARGS",
    "CLIPPY_CONF_DIR",
];

/// Prefixes of variables cargo sets per crate (`CARGO_PKG_NAME`, `CARGO_CFG_TARGET_OS`, `DEP_Z_INCLUDE`, ...)
/// plus cargo's private `__CARGO_*` switches.
const REMOVED_PREFIXES: &[&str] =
    &["CARGO_MANIFEST_", "CARGO_PKG_", "CARGO_CFG_", "CARGO_FEATURE_", "CARGO_RUSTC_", "DEP_", "__CARGO"];

/// Whether the nested cargo must not see `name`.
pub(crate) fn is_removed(name: &str) -> bool {
    REMOVED.contains(&name) || REMOVED_PREFIXES.iter().any(|prefix| name.starts_with(prefix))
}

/// Removes from `command` every inherited variable that [`is_removed`].
pub(crate) fn clean(command: &mut Command) {
    for (name, _) in std::env::vars_os() {
        if let Some(name) = name.to_str()
            && is_removed(name)
        {
            command.env_remove(name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::is_removed;

    #[test]
    fn removes_outer_build_variables_and_keeps_the_environment() {
        for name in
            ["RUSTC_WORKSPACE_WRAPPER", "CARGO_ENCODED_RUSTFLAGS", "CARGO_PKG_NAME", "CARGO_CFG_UNIX", "OUT_DIR"]
        {
            assert!(is_removed(name), "{name}");
        }
        for name in ["PATH", "HOME", "CARGO", "CARGO_HOME", "CARGO_MAKEFLAGS", "RUSTUP_TOOLCHAIN", "CARGO_NET_OFFLINE"]
        {
            assert!(!is_removed(name), "{name}");
        }
    }
}
