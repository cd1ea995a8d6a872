//! Hostile files in the plugins directory (item 5 of the hostile-plugin suite): links to files a plugin must not
//! read, copies of them, FIFOs, and a file swapped between a regular file and a FIFO while the server reloads.
//! Every one is refused without blocking a reload and without a byte of its content in the refusal (which any
//! client can read through `list_plugins`), and reloads keep taking effect afterwards.

use std::os::unix::fs::symlink;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use fastintercom::registry::trust::{self, TrustPolicy};
use fastintercom::runtime::RuntimeLimits;
use fastintercom_tests::{SWAP_MANIFEST, land, swap_version};

use crate::plugins_support::Harness;

/// What a `config.toml` holds that must never reach a client.
const SECRET_CONFIG: &str = "[intercom]\naccess_token = \"tok_secret_123\"\n";

fn manifest(name: &str) -> String {
    SWAP_MANIFEST.replace("name = \"swap\"", &format!("name = \"{name}\""))
}

fn mkfifo(path: &Path) {
    assert!(std::process::Command::new("mkfifo").arg(path).status().unwrap().success(), "mkfifo {}", path.display());
}

async fn reload_within_30s(harness: &Harness) {
    tokio::time::timeout(Duration::from_secs(30), harness.reload()).await.expect("a reload never waits forever");
}

#[tokio::test]
async fn links_and_copies_of_other_files_are_refused_without_showing_their_content() {
    let harness = Harness::new().await;
    let dir = harness.plugins.path();
    let secrets = tempfile::TempDir::new().unwrap();
    let config = secrets.path().join("config.toml");
    std::fs::write(&config, SECRET_CONFIG).unwrap();
    let component = secrets.path().join("component.wasm");
    std::fs::write(&component, swap_version("aaaa")).unwrap();

    // A component that is a link to /etc/passwd; a manifest that is a link to the server's config.
    symlink("/etc/passwd", dir.join("passwd.wasm")).unwrap();
    std::fs::write(dir.join("passwd.toml"), manifest("passwd")).unwrap();
    symlink(&component, dir.join("leak.wasm")).unwrap();
    symlink(&config, dir.join("leak.toml")).unwrap();
    // The same contents as regular files (a copy, or a hard link the attacker could make).
    std::fs::copy("/etc/passwd", dir.join("copied.wasm")).unwrap();
    std::fs::write(dir.join("copied.toml"), manifest("copied")).unwrap();
    std::fs::write(dir.join("configured.wasm"), swap_version("aaaa")).unwrap();
    std::fs::write(dir.join("configured.toml"), SECRET_CONFIG).unwrap();
    reload_within_30s(&harness).await;

    let passwd = std::fs::read_to_string("/etc/passwd").unwrap();
    let first_line = passwd.lines().next().unwrap();
    for (name, expected) in [
        ("passwd", "symbolic link"),
        ("leak", "symbolic link"),
        ("copied", "not a WebAssembly file"),
        ("configured", "line 1"),
    ] {
        let status = harness.status(name);
        assert!(status.served.is_none(), "{name} is not served");
        let problem = status.problem.unwrap_or_default();
        assert!(problem.contains(expected), "{name}: {problem}");
        for secret in ["root", &first_line[..4], "tok_secret", "access_token", "intercom"] {
            assert!(!problem.contains(secret), "{name}: {secret:?} leaked in {problem:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_swapped_between_regular_file_and_fifo_never_stops_reloads() {
    // Signatures required: the manifest and the signature are read before anything is verified.
    let signing = trust::generate_key();
    let key = trust::encode_public_key(&signing.verifying_key());
    let harness = Arc::new(Harness::with(RuntimeLimits::default(), TrustPolicy::new(true, &[key]).unwrap()).await);
    let dir = harness.plugins.path().to_owned();
    let wasm = swap_version("aaaa");
    let signature = trust::sign(&signing, &wasm, SWAP_MANIFEST);
    land(&dir, "swap", &wasm, SWAP_MANIFEST, Some(&signature));
    reload_within_30s(&harness).await;
    assert!(harness.status("swap").served.is_some(), "{:?}", harness.status("swap").problem);

    // Another plugin's files flip, as fast as renames go, between a regular file and a FIFO: the component as a
    // symbolic link to one or the other (the attack as reported), the manifest and signature as hard links.
    let templates = tempfile::TempDir::new_in(dir.parent().unwrap()).unwrap();
    let (regular, fifo) = (templates.path().join("regular"), templates.path().join("fifo"));
    std::fs::write(&regular, b"\0asm\x0d\0\x01\0").unwrap();
    mkfifo(&fifo);
    let stop = Arc::new(AtomicBool::new(false));
    let flipper = {
        let (dir, stop) = (dir.clone(), Arc::clone(&stop));
        std::thread::spawn(move || {
            let mut flips = 0u32;
            while !stop.load(Ordering::SeqCst) {
                let target = if flips.is_multiple_of(2) { &fifo } else { &regular };
                for extension in ["wasm", "toml", "sig"] {
                    let staged = dir.join(format!(".race.{extension}.tmp"));
                    let _ = std::fs::remove_file(&staged);
                    if extension == "wasm" {
                        symlink(target, &staged).unwrap();
                    } else {
                        std::fs::hard_link(target, &staged).unwrap();
                    }
                    std::fs::rename(&staged, dir.join(format!("race.{extension}"))).unwrap();
                }
                flips += 1;
            }
            flips
        })
    };
    // Each reload reads the flipping files once; without the fix, about one reload in a hundred blocked for good.
    for _ in 0..600 {
        reload_within_30s(&harness).await;
    }
    stop.store(true, Ordering::SeqCst);
    let flips = flipper.join().unwrap();
    assert!(flips > 1000, "the files flipped {flips} times during the reloads");

    // Reloads still take effect: a removal withdraws the plugin's tools.
    std::fs::remove_file(dir.join("swap.wasm")).unwrap();
    reload_within_30s(&harness).await;
    assert!(harness.registry.tools().get("swap_counter").is_none(), "the removal took effect");
    let problem = harness.status("race").problem.unwrap_or_default();
    assert!(!problem.is_empty() && !problem.contains("asm"), "{problem}");
}
