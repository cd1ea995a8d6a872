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
    // The bytes judged are the bytes installed: read once, judged from a scratch copy, written from memory.
    let stem = file.file_stem().map(|stem| stem.to_string_lossy().into_owned()).context("no file name")?;
    let mut files: Vec<(&str, Vec<u8>)> = Vec::new();
    for extension in ["toml", "sig", "wasm"] {
        match std::fs::read(file.with_extension(extension)) {
            Ok(bytes) => files.push((extension, bytes)),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound && extension == "sig" => {}
            Err(error) => {
                return Err(error).with_context(|| format!("cannot read {}", file.with_extension(extension).display()));
            }
        }
    }
    let scratch = tempfile::tempdir().context("cannot create a scratch directory")?;
    for (extension, bytes) in &files {
        std::fs::write(scratch.path().join(format!("{stem}.{extension}")), bytes)?;
    }
    let judge = Judge::new(config).await?;
    let status = judge.judge(&scratch.path().join(format!("{stem}.wasm"))).await?;
    if let Some(problem) = &status.problem {
        anyhow::bail!("not installed: {} would be refused: {problem}", file.display());
    }
    let dir = &config.plugins_dir;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    // Every file is written under a temporary name first and then renamed into place one right after the other,
    // so a watching server's debounce sees one change and never a half-written component.
    let staged = stage(dir, &status.name, &files);
    let staged = match staged {
        Ok(staged) => staged,
        Err(error) => {
            remove_staged(dir, &status.name);
            return Err(error);
        }
    };
    let signature = dir.join(format!("{}.sig", status.name));
    if !files.iter().any(|(extension, _)| *extension == "sig") && signature.exists() {
        // An old signature would not match the new files.
        std::fs::remove_file(&signature).with_context(|| format!("cannot remove {}", signature.display()))?;
    }
    for (temporary, to) in &staged {
        std::fs::rename(temporary, to).with_context(|| format!("cannot move {} into place", to.display()))?;
    }
    eprintln!(
        "installed {} into {}; servers watching it serve it within a second (others on `fastintercom plugins reload`)",
        status.name,
        dir.display()
    );
    Ok(())
}

fn staged_path(dir: &Path, name: &str, extension: &str) -> PathBuf {
    dir.join(format!(".{name}.{extension}.installing"))
}

fn stage(dir: &Path, name: &str, files: &[(&str, Vec<u8>)]) -> anyhow::Result<Vec<(PathBuf, PathBuf)>> {
    files
        .iter()
        .map(|(extension, bytes)| {
            let temporary = staged_path(dir, name, extension);
            std::fs::write(&temporary, bytes).with_context(|| format!("cannot write {}", temporary.display()))?;
            Ok((temporary, dir.join(format!("{name}.{extension}"))))
        })
        .collect()
}

fn remove_staged(dir: &Path, name: &str) {
    for extension in ["toml", "sig", "wasm"] {
        let _ = std::fs::remove_file(staged_path(dir, name, extension));
    }
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
