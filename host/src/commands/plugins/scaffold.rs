//! `plugins new` and `plugins build`.
//!
//! A new plugin gets a copy of the guest SDK and the contract (WIT) of this very binary under
//! `vendor/fastintercom/`, laid out as in this repository so the SDK's paths hold. So it builds against the
//! contract the host it was made by speaks, without knowing where fastintercom's sources are (its other
//! dependencies, serde, schemars and wit-bindgen, come from crates.io or cargo's cache).

use std::path::{Path, PathBuf};

use anyhow::Context as _;

use crate::runtime::Manifest;

/// The SDK and contract files, by path under `vendor/fastintercom/`.
const VENDORED: &[(&str, &str)] = &[
    ("guest-tools/sdk/src/lib.rs", include_str!("../../../../guest-tools/sdk/src/lib.rs")),
    ("guest-tools/sdk/src/args.rs", include_str!("../../../../guest-tools/sdk/src/args.rs")),
    ("guest-tools/sdk/src/detail.rs", include_str!("../../../../guest-tools/sdk/src/detail.rs")),
    ("guest-tools/sdk/src/envelope.rs", include_str!("../../../../guest-tools/sdk/src/envelope.rs")),
    ("guest-tools/sdk/src/names.rs", include_str!("../../../../guest-tools/sdk/src/names.rs")),
    ("guest-tools/sdk/src/time.rs", include_str!("../../../../guest-tools/sdk/src/time.rs")),
    ("guest-tools/sdk/src/tool.rs", include_str!("../../../../guest-tools/sdk/src/tool.rs")),
    ("guest-tools/sdk/src/typed.rs", include_str!("../../../../guest-tools/sdk/src/typed.rs")),
    ("wit/0.1.0/types.wit", include_str!("../../../../wit/0.1.0/types.wit")),
    ("wit/0.1.0/tool.wit", include_str!("../../../../wit/0.1.0/tool.wit")),
    ("wit/0.1.0/conversations.wit", include_str!("../../../../wit/0.1.0/conversations.wit")),
    ("wit/0.1.0/contacts.wit", include_str!("../../../../wit/0.1.0/contacts.wit")),
    ("wit/0.2.0/plugins.wit", include_str!("../../../../wit/0.2.0/plugins.wit")),
    ("wit/0.3.0/conversations.wit", include_str!("../../../../wit/0.3.0/conversations.wit")),
    ("wit/0.4.0/plugin.wit", include_str!("../../../../wit/0.4.0/plugin.wit")),
    ("wit/0.5.0/plugin.wit", include_str!("../../../../wit/0.5.0/plugin.wit")),
];

const CARGO_TOML: &str = include_str!("template/Cargo.toml.in");
const SDK_CARGO_TOML: &str = include_str!("template/sdk.Cargo.toml.in");
const PLUGIN_TOML: &str = include_str!("template/plugin.toml.in");
const LIB_RS: &str = include_str!("template/lib.rs.in");
const ANALYTICS_PLUGIN_TOML: &str = include_str!("template/analytics.plugin.toml.in");
const PYTHON_APP: &str = include_str!("template/python/app.py.in");
const PYTHON_BUILD: &str = include_str!("template/python/build.sh.in");
const PYTHON_WORLD: &str = include_str!("template/python/world.wit.in");
const PYTHON_PLUGIN_TOML: &str = include_str!("template/python/plugin.toml.in");
const ANALYTICS_LIB_RS: &str = include_str!("template/analytics.lib.rs.in");
const TOOLCHAIN: &str = include_str!("../../../../rust-toolchain.toml");

/// Where built plugins go inside a plugin crate.
const DIST: &str = "dist";

/// The language a new plugin is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Lang {
    /// A Rust crate on the vendored SDK, built with cargo for wasm32-wasip2.
    #[default]
    Rust,
    /// A Python module built with componentize-py (`pip install componentize-py==0.25.1`) against contract 0.1.0.
    Python,
}

/// What a new plugin's one tool starts as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Template {
    /// Counts conversations per state with `conversations.search`.
    #[default]
    Basic,
    /// Counts conversations per tag, with their median first response, in one `analytics` call (contract 0.5.0).
    Analytics,
}

pub(super) fn new(name: &str, dir: Option<PathBuf>, template: Template, lang: Lang) -> anyhow::Result<()> {
    // The manifest parser owns the naming rule; cargo adds that a package name starts with a letter.
    let parsed = Manifest::parse(&PLUGIN_TOML.replace("{name}", name)).ok().map(|manifest| manifest.name);
    if parsed.as_deref() != Some(name) || !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        anyhow::bail!("{name:?} is not a valid plugin name: use a-z first, then up to 63 of a-z, 0-9, '_' and '-'");
    }
    let dir = dir.unwrap_or_else(|| PathBuf::from(name));
    if dir.exists() && std::fs::read_dir(&dir).map(|mut entries| entries.next().is_some()).unwrap_or(true) {
        anyhow::bail!("{} exists and is not empty", dir.display());
    }
    let tool = name.replace('-', "_");
    let fill = |template: &str| {
        template
            .replace("{name}", name)
            .replace("{crate}", name)
            .replace("{tool}", &tool)
            .replace("{version}", env!("CARGO_PKG_VERSION"))
    };
    if lang == Lang::Python {
        if template != Template::Basic {
            anyhow::bail!("--template {template:?} is for Rust plugins; a Python plugin starts from the basic tool");
        }
        return new_python(name, &dir, &fill);
    }
    let mut files: Vec<(PathBuf, String)> = vec![
        ("Cargo.toml".into(), fill(CARGO_TOML)),
        ("plugin.toml".into(), fill(if template == Template::Analytics { ANALYTICS_PLUGIN_TOML } else { PLUGIN_TOML })),
        ("src/lib.rs".into(), fill(if template == Template::Analytics { ANALYTICS_LIB_RS } else { LIB_RS })),
        ("rust-toolchain.toml".into(), TOOLCHAIN.to_owned()),
        (".gitignore".into(), "/target\n/dist\n".to_owned()),
        ("vendor/fastintercom/guest-tools/sdk/Cargo.toml".into(), fill(SDK_CARGO_TOML)),
    ];
    files.extend(VENDORED.iter().map(|(path, text)| (Path::new("vendor/fastintercom").join(path), (*text).to_owned())));
    write_files(&dir, files)?;
    println!(
        "created plugin {name} in {} with one tool, {tool}; next: `fastintercom plugins build {}`",
        dir.display(),
        dir.display()
    );
    Ok(())
}

/// A Python plugin: the module, its build script, the manifest and the contract it is built against.
fn new_python(name: &str, dir: &Path, fill: &dyn Fn(&str) -> String) -> anyhow::Result<()> {
    let mut files: Vec<(PathBuf, String)> = vec![
        ("app.py".into(), fill(PYTHON_APP)),
        ("build.sh".into(), fill(PYTHON_BUILD)),
        ("plugin.toml".into(), fill(PYTHON_PLUGIN_TOML)),
        ("wit/world/world.wit".into(), fill(PYTHON_WORLD)),
        (".gitignore".into(), "/dist\n__pycache__/\n".to_owned()),
    ];
    files.extend(
        VENDORED
            .iter()
            .filter_map(|(path, text)| path.strip_prefix("wit/0.1.0/").map(|file| (file, text)))
            .map(|(file, text)| (Path::new("wit/0.1.0").join(file), (*text).to_owned())),
    );
    write_files(dir, files)?;
    set_executable(&dir.join("build.sh"))?;
    println!(
        "created Python plugin {name} in {} with one tool, {}; next: `fastintercom plugins build {}` (needs \
         componentize-py 0.25)",
        dir.display(),
        name.replace('-', "_"),
        dir.display()
    );
    Ok(())
}

fn write_files(dir: &Path, files: Vec<(PathBuf, String)>) -> anyhow::Result<()> {
    for (path, text) in files {
        let path = dir.join(path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
        }
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

#[cfg(unix)]
fn set_executable(path: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
        .with_context(|| format!("cannot make {} executable", path.display()))
}

#[cfg(not(unix))]
fn set_executable(_path: &Path) -> anyhow::Result<()> {
    Ok(())
}

pub(super) async fn build(dir: &Path) -> anyhow::Result<()> {
    // A Python plugin (`plugins new --lang python`) builds with its own script.
    if !dir.join("Cargo.toml").exists() && dir.join("build.sh").exists() && dir.join("app.py").exists() {
        let status = tokio::process::Command::new("bash")
            .arg("build.sh")
            .current_dir(dir)
            .status()
            .await
            .context("cannot run bash build.sh")?;
        if !status.success() {
            anyhow::bail!("build.sh failed ({status})");
        }
        return Ok(());
    }
    let manifest_path = dir.join("plugin.toml");
    let manifest_text = std::fs::read_to_string(&manifest_path)
        .with_context(|| format!("cannot read {} (is {} a plugin crate?)", manifest_path.display(), dir.display()))?;
    let manifest = Manifest::parse(&manifest_text).with_context(|| format!("in {}", manifest_path.display()))?;
    let package = package_name(&dir.join("Cargo.toml"))?;
    let status = tokio::process::Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args(["build", "--release", "--target", "wasm32-wasip2"])
        // In the crate's directory, so rustup sees its rust-toolchain.toml (which brings the wasm target).
        .current_dir(dir)
        .status()
        .await
        .context("cannot run cargo (is the Rust toolchain installed?)")?;
    if !status.success() {
        anyhow::bail!("cargo build failed ({status})");
    }
    let target_dir = match std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from) {
        Some(target) if target.is_relative() => dir.join(target),
        Some(target) => target,
        None => dir.join("target"),
    };
    let built = target_dir.join("wasm32-wasip2/release").join(format!("{}.wasm", package.replace('-', "_")));
    let dist = dir.join(DIST);
    std::fs::create_dir_all(&dist).with_context(|| format!("cannot create {}", dist.display()))?;
    let wasm = dist.join(format!("{}.wasm", manifest.name));
    std::fs::copy(&built, &wasm).with_context(|| format!("cannot copy {}", built.display()))?;
    std::fs::write(wasm.with_extension("toml"), manifest_text)?;
    // A signature of an earlier build would not match this one.
    let _ = std::fs::remove_file(wasm.with_extension("sig"));
    println!("built {}; next: `fastintercom plugins check {}`", wasm.display(), wasm.display());
    Ok(())
}

fn package_name(cargo_toml: &Path) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(cargo_toml).with_context(|| format!("cannot read {}", cargo_toml.display()))?;
    let value: toml::Value = toml::from_str(&text).with_context(|| format!("{} is not TOML", cargo_toml.display()))?;
    value
        .get("package")
        .and_then(|package| package.get("name"))
        .and_then(toml::Value::as_str)
        .map(str::to_owned)
        .with_context(|| format!("{} has no [package] name", cargo_toml.display()))
}

#[cfg(test)]
mod tests {
    use super::VENDORED;

    /// A scaffolded plugin builds against the vendored SDK: a source file of the SDK left out of the list breaks
    /// every new plugin's build.
    #[test]
    fn every_sdk_source_and_contract_file_is_vendored() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let versions = std::fs::read_dir(root.join("wit")).unwrap().map(|entry| entry.unwrap().path());
        let contract: Vec<String> = versions
            .filter(|path| path.is_dir())
            .map(|path| format!("wit/{}", path.file_name().unwrap().to_string_lossy()))
            .collect();
        assert!(contract.len() >= 5, "every released contract version: {contract:?}");
        for dir in std::iter::once("guest-tools/sdk/src".to_owned()).chain(contract) {
            let dir = dir.as_str();
            for entry in std::fs::read_dir(root.join(dir)).unwrap() {
                let name = entry.unwrap().file_name().into_string().unwrap();
                if name.ends_with(".rs") || name.ends_with(".wit") {
                    let path = format!("{dir}/{name}");
                    assert!(VENDORED.iter().any(|(vendored, _)| *vendored == path), "{path} is not vendored");
                }
            }
        }
    }
}
