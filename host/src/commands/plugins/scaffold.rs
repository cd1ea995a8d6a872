//! `plugins new` and `plugins build`.

use std::path::{Path, PathBuf};

pub(super) fn new(_name: &str, _dir: Option<PathBuf>) -> anyhow::Result<()> {
    anyhow::bail!("not yet")
}

pub(super) async fn build(_dir: &Path) -> anyhow::Result<()> {
    anyhow::bail!("not yet")
}
