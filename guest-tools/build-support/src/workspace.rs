//! Finding the workspace and its members without a TOML parser or a `cargo metadata` round trip.
//!
//! Both are only used to decide *what to watch*; the nested cargo does the real resolution, so a simple
//! line-based reading of our own manifests is enough and keeps this crate free of dependencies.

use std::path::{Path, PathBuf};

/// The workspace root: the nearest ancestor of `CARGO_MANIFEST_DIR` (the crate whose build script is running)
/// whose `Cargo.toml` has a `[workspace]` table.
pub fn workspace_root() -> Result<PathBuf, String> {
    let start = std::env::var_os("CARGO_MANIFEST_DIR")
        .ok_or("CARGO_MANIFEST_DIR is not set; call this from a build script or use GuestBuild::workspace_root")?;
    find_workspace_root(Path::new(&start))
}

/// The nearest ancestor of `start` (itself included) whose `Cargo.toml` declares `[workspace]`.
pub(crate) fn find_workspace_root(start: &Path) -> Result<PathBuf, String> {
    for dir in start.ancestors() {
        let manifest = dir.join("Cargo.toml");
        if let Ok(text) = std::fs::read_to_string(&manifest)
            && text.lines().any(|line| line.trim() == "[workspace]")
        {
            return Ok(dir.to_path_buf());
        }
    }
    Err(format!("no Cargo.toml with a [workspace] table above {}", start.display()))
}

/// `(package name, directory)` of each workspace member listed literally in `members = [...]` (globs are
/// skipped). Unreadable manifests are skipped too: the caller falls back to watching wider folders.
pub(crate) fn member_dirs(root: &Path) -> Vec<(String, PathBuf)> {
    let Ok(manifest) = std::fs::read_to_string(root.join("Cargo.toml")) else {
        return Vec::new();
    };
    members(&manifest)
        .into_iter()
        .filter(|member| !member.contains('*'))
        .filter_map(|member| {
            let dir = root.join(member);
            let text = std::fs::read_to_string(dir.join("Cargo.toml")).ok()?;
            Some((package_name(&text)?, dir))
        })
        .collect()
}

/// The strings of the `members = [...]` array of a workspace manifest.
fn members(manifest: &str) -> Vec<String> {
    let Some(start) = manifest.find("members") else {
        return Vec::new();
    };
    let rest = &manifest[start..];
    let (Some(open), Some(close)) = (rest.find('['), rest.find(']')) else {
        return Vec::new();
    };
    if close < open {
        return Vec::new();
    }
    rest[open + 1..close]
        .lines()
        .map(|line| line.split('#').next().unwrap_or(""))
        .flat_map(|line| line.split(','))
        .map(|item| item.trim().trim_matches('"').trim())
        .filter(|item| !item.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The `name = "..."` of the `[package]` table of a crate manifest.
fn package_name(manifest: &str) -> Option<String> {
    let mut in_package = false;
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_package = line == "[package]";
        } else if in_package && let Some(value) = line.strip_prefix("name") {
            let value = value.trim_start().strip_prefix('=')?.trim();
            return Some(value.trim_matches('"').to_owned());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_members_and_package_names() {
        let manifest = "[workspace]\nresolver = \"3\"\nmembers = [\n    \"host\", # the server\n    \"guest-tools/*\",\n    \"tests/guests/probe\",\n]\n";
        assert_eq!(members(manifest), ["host", "guest-tools/*", "tests/guests/probe"]);
        let krate =
            "[package]\nname = \"fastintercom-test-probe\"\nversion.workspace = true\n[dependencies]\nname = \"x\"\n";
        assert_eq!(package_name(krate).as_deref(), Some("fastintercom-test-probe"));
    }

    #[test]
    fn finds_this_workspace() {
        let root = find_workspace_root(Path::new(env!("CARGO_MANIFEST_DIR"))).unwrap();
        assert!(root.join("wit").is_dir());
        let members = member_dirs(&root);
        assert!(
            members.iter().any(|(name, dir)| name == "fastintercom-plugin-sdk" && dir.ends_with("guest-tools/sdk"))
        );
    }
}
