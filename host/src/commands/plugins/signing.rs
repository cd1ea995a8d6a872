//! `plugins keygen` and `plugins sign`.

use std::path::Path;

use anyhow::Context as _;

use crate::registry::trust;

pub(super) fn keygen(out: &Path) -> anyhow::Result<()> {
    if out.exists() {
        anyhow::bail!("{} exists; refusing to overwrite a key", out.display());
    }
    let key = trust::generate_key();
    write_secret(out, &trust::encode_secret_key(&key)).with_context(|| format!("cannot write {}", out.display()))?;
    eprintln!("secret key written to {} (keep it private); its public key, for [plugins] trusted_keys:", out.display());
    println!("{}", trust::encode_public_key(&key.verifying_key()));
    Ok(())
}

pub(super) fn sign(file: &Path, key_file: &Path) -> anyhow::Result<()> {
    let key_text =
        std::fs::read_to_string(key_file).with_context(|| format!("cannot read the key {}", key_file.display()))?;
    let key = trust::parse_secret_key(&key_text).map_err(anyhow::Error::msg)?;
    let (wasm, manifest) = super::install::read_plugin_files(file)?;
    let signature_path = file.with_extension("sig");
    // Written beside and renamed, so a watching server never reads half a signature.
    let temporary = signature_path.with_extension("sig.writing");
    std::fs::write(&temporary, trust::sign(&key, &wasm, &manifest))
        .and_then(|()| std::fs::rename(&temporary, &signature_path))
        .with_context(|| format!("cannot write {}", signature_path.display()))?;
    println!(
        "signed {} and its manifest with key {}: {}",
        file.display(),
        trust::encode_public_key(&key.verifying_key()),
        signature_path.display()
    );
    Ok(())
}

/// Writes a file only its owner can read.
fn write_secret(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(text.as_bytes())
}
