//! `plugins install` and `plugins reload`.

use std::path::{Path, PathBuf};

use anyhow::Context as _;

use super::inspect::Judge;
use crate::config::Config;
use crate::registry::watch;

/// Reads a plugin's component and the manifest beside it (`NAME.wasm`, `NAME.toml`).
pub(super) fn read_plugin_files(file: &Path) -> anyhow::Result<(Vec<u8>, String)> {
    let wasm = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let manifest_path = file.with_extension("toml");
    let manifest = std::fs::read_to_string(&manifest_path)
        .with_context(|| format!("cannot read its manifest {}", manifest_path.display()))?;
    Ok((wasm, manifest))
}

pub(super) async fn install(config: &Config, file: &Path) -> anyhow::Result<()> {
    let judge = Judge::new(config).await?;
    let status = judge.judge(file).await?;
    if let Some(problem) = &status.problem {
        anyhow::bail!("not installed: {} would be refused: {problem}", file.display());
    }
    let name = status.name;
    let dir = &config.plugins_dir;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    // Every file is written under a temporary name first and then renamed into place one right after the other,
    // so a watching server's debounce sees one change and never a half-written component.
    let mut staged: Vec<(PathBuf, PathBuf)> = Vec::new();
    for extension in ["toml", "sig", "wasm"] {
        let from = file.with_extension(extension);
        let to = dir.join(format!("{name}.{extension}"));
        if !from.exists() {
            if extension == "sig" && to.exists() {
                // An old signature would not match the new files.
                std::fs::remove_file(&to).with_context(|| format!("cannot remove {}", to.display()))?;
            }
            continue;
        }
        let temporary = dir.join(format!(".{name}.{extension}.installing"));
        std::fs::copy(&from, &temporary).with_context(|| format!("cannot copy {}", from.display()))?;
        staged.push((temporary, to));
    }
    for (temporary, to) in &staged {
        std::fs::rename(temporary, to).with_context(|| format!("cannot move {} into place", to.display()))?;
    }
    eprintln!(
        "installed {name} into {}; servers watching it serve it within a second (others on `fastintercom plugins reload`)",
        dir.display()
    );
    Ok(())
}

pub(super) fn reload(config: &Config) -> anyhow::Result<()> {
    let trigger = watch::request_reload(&config.plugins_dir)
        .with_context(|| format!("cannot write to {}", config.plugins_dir.display()))?;
    eprintln!(
        "asked servers watching {} to reload ({} touched); `fastintercom plugins list` shows what they will serve",
        config.plugins_dir.display(),
        trigger.display()
    );
    Ok(())
}
