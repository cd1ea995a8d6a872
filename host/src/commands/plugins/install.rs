//! `plugins install`, `plugins uninstall` and `plugins reload`.

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

/// Where a plugin is installed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Place {
    /// The plugins directory of this data directory
    Dir,
    /// The store, shared by every replica (PostgreSQL)
    Store,
}

impl Place {
    /// `chosen`, or the store when it is PostgreSQL (replicas share it; a directory is one machine's).
    fn or_default(chosen: Option<Self>, config: &Config) -> anyhow::Result<Self> {
        Ok(match chosen {
            Some(place) => place,
            None if config.store_settings()?.url.is_some() => Self::Store,
            None => Self::Dir,
        })
    }
}

pub(super) async fn install(config: &Config, file: &Path, into: Option<Place>) -> anyhow::Result<()> {
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
    if Place::or_default(into, config)? == Place::Store {
        return install_into_store(config, &status.name, &files).await;
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
    println!(
        "installed {} into {}; servers watching it serve it within a second (others on `fastintercom plugins reload`)",
        status.name,
        dir.display()
    );
    Ok(())
}

/// Writes the judged files into the store, where every replica's next look (each second) finds them; each
/// replica judges them again as it loads them, under its own trust policy and caps.
async fn install_into_store(config: &Config, name: &str, files: &[(&str, Vec<u8>)]) -> anyhow::Result<()> {
    let file = |extension: &str| files.iter().find(|(e, _)| *e == extension).map(|(_, bytes)| bytes.as_slice());
    let wasm = file("wasm").context("no component")?;
    let manifest = std::str::from_utf8(file("toml").context("no manifest")?).context("the manifest is not UTF-8")?;
    let signature = file("sig").map(std::str::from_utf8).transpose().context("the signature is not UTF-8 text")?;
    let identity = crate::registry::files_identity(wasm, manifest, signature);
    let store = config.open_store().await?;
    let installed = store.install_plugin(name, (wasm, manifest, signature), &identity, crate::sync::unix_now()).await;
    store.close().await;
    installed.context("cannot install the plugin into the store")?;
    println!("installed {name} into the store; every server sharing it serves it within two seconds");
    Ok(())
}

pub(super) async fn uninstall(config: &Config, name: &str, from: Option<Place>) -> anyhow::Result<()> {
    match Place::or_default(from, config)? {
        Place::Store => {
            let store = config.open_store().await?;
            let removed = store.remove_plugin(name).await;
            store.close().await;
            if !removed.context("cannot remove the plugin from the store")? {
                anyhow::bail!("the store holds no plugin named {name:?}");
            }
            println!("removed {name} from the store; servers sharing it withdraw its tools within two seconds");
        }
        Place::Dir => {
            let dir = &config.plugins_dir;
            let wasm = dir.join(format!("{name}.wasm"));
            if name.contains(['/', '\\']) || name.starts_with('.') || !wasm.exists() {
                anyhow::bail!("the plugins directory {} holds no plugin named {name:?}", dir.display());
            }
            // The component first: without it the manifest and signature are not a plugin.
            for extension in ["wasm", "toml", "sig"] {
                match std::fs::remove_file(dir.join(format!("{name}.{extension}"))) {
                    Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
                        return Err(error).with_context(|| format!("cannot remove {name}.{extension}"));
                    }
                    _ => {}
                }
            }
            println!("removed {name} from {}; servers watching it withdraw its tools within a second", dir.display());
        }
    }
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
    println!(
        "asked servers watching {} to reload ({} touched); `fastintercom plugins list` shows what they will serve",
        config.plugins_dir.display(),
        trigger.display()
    );
    Ok(())
}
