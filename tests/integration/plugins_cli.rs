//! `fastintercom plugins ...` as an author and an operator run it: scaffold → build → check → install → call,
//! refusals that name the problem, and signing with a required signature.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Output;

use fastintercom::protocol::stdio_client::{Era, StdioClient};
use fastintercom_tests::SWAP_MANIFEST;
use serde_json::{Value, json};
use tempfile::TempDir;

use crate::http_support::{private_demo_dir, shared_cache_dir};
use crate::support::{DEMO_CONVERSATIONS, server_exe};
use fastintercom_tests::{land, swap_version, swap_with_bad_schema};

/// `fastintercom --data-dir <data> --plugins-dir <plugins> plugins <args>`.
fn plugins(data: &Path, plugins_dir: &Path, args: &[&OsStr]) -> Output {
    std::process::Command::new(server_exe())
        .arg("--data-dir")
        .arg(data)
        .arg("--plugins-dir")
        .arg(plugins_dir)
        .arg("--cache-dir")
        .arg(shared_cache_dir())
        .arg("plugins")
        .args(args)
        // Scaffolded plugins build into one directory under the workspace's target, kept between runs, so only
        // the first run compiles the SDK's dependencies for wasm32-wasip2.
        .env("CARGO_TARGET_DIR", Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/scaffolded-plugins"))
        .output()
        .expect("running fastintercom plugins")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn ok(output: Output, what: &str) -> String {
    assert!(output.status.success(), "{what} failed:\n{}{}", text(&output.stdout), text(&output.stderr));
    text(&output.stdout)
}

#[tokio::test]
async fn a_scaffolded_plugin_builds_checks_installs_and_answers() {
    let data = private_demo_dir();
    let plugins_dir = TempDir::new().unwrap();
    let work = TempDir::new().unwrap();
    let crate_dir = work.path().join("state-counts");
    let p = |args: &[&OsStr]| plugins(data.path(), plugins_dir.path(), args);

    ok(p(&["new".as_ref(), "state-counts".as_ref(), "--dir".as_ref(), crate_dir.as_os_str()]), "plugins new");
    assert!(crate_dir.join("vendor/fastintercom/wit/0.2.0/plugins.wit").exists(), "the contract is vendored");
    ok(p(&["build".as_ref(), crate_dir.as_os_str()]), "plugins build");
    let built: PathBuf = crate_dir.join("dist/state-counts.wasm");
    let checked = ok(p(&["check".as_ref(), built.as_os_str()]), "plugins check");
    assert!(checked.contains("ok: state-counts 0.1.0") && checked.contains("tools:  state_counts"), "{checked}");
    assert!(checked.contains("grants: conversations, sync-status"), "{checked}");
    ok(p(&["install".as_ref(), built.as_os_str()]), "plugins install");
    assert!(
        plugins_dir.path().join("state-counts.wasm").exists() && plugins_dir.path().join("state-counts.toml").exists()
    );

    let listed: Value = serde_json::from_str(&ok(p(&["list".as_ref(), "--json".as_ref()]), "plugins list")).unwrap();
    let row = listed.as_array().unwrap().iter().find(|row| row["name"] == "state-counts").expect("listed");
    assert_eq!((row["state"].as_str(), row["origin"].as_str()), (Some("serving"), Some("directory")), "{row}");

    let args = [OsStr::new("--plugins-dir"), plugins_dir.path().as_os_str()];
    let mut client = StdioClient::spawn(&server_exe(), data.path(), &args, Era::Modern).await.unwrap();
    client.open().await.unwrap();
    let answer = client.call_tool("state_counts", json!({})).await.unwrap();
    assert_ne!(answer["isError"], true, "{answer}");
    let rows = answer["structuredContent"]["results"].as_array().unwrap().clone();
    let total: u64 = rows.iter().map(|row| row["conversations"].as_u64().unwrap()).sum();
    assert_eq!(total, DEMO_CONVERSATIONS as u64, "every conversation is in one state: {rows:?}");
    let refused = client.call_tool("state_counts", json!({"tags": "billing"})).await.unwrap();
    assert_eq!(refused["isError"], true, "the derived schema wants an array: {refused}");
    assert!(client.shutdown().await.unwrap());
}

/// `plugins new --template analytics`: a tool on contract 0.5.0's `analytics`, one host call per answer.
#[tokio::test]
async fn an_analytics_scaffold_builds_and_counts_tags_in_one_host_call() {
    let data = private_demo_dir();
    let plugins_dir = TempDir::new().unwrap();
    let work = TempDir::new().unwrap();
    let crate_dir = work.path().join("tag-counts");
    let p = |args: &[&OsStr]| plugins(data.path(), plugins_dir.path(), args);
    let new = [OsStr::new("new"), "tag-counts".as_ref(), "--template".as_ref(), "analytics".as_ref()];
    ok(p(&[&new[..], &["--dir".as_ref(), crate_dir.as_os_str()]].concat()), "plugins new --template analytics");
    assert!(crate_dir.join("vendor/fastintercom/wit/0.5.0/plugin.wit").exists(), "contract 0.5.0 is vendored");
    ok(p(&["build".as_ref(), crate_dir.as_os_str()]), "plugins build");
    let built: PathBuf = crate_dir.join("dist/tag-counts.wasm");
    let checked = ok(p(&["check".as_ref(), built.as_os_str()]), "plugins check");
    assert!(checked.contains("grants: analytics, conversations, sync-status"), "{checked}");
    ok(p(&["install".as_ref(), built.as_os_str()]), "plugins install");

    let args = [OsStr::new("--plugins-dir"), plugins_dir.path().as_os_str()];
    let mut client = StdioClient::spawn(&server_exe(), data.path(), &args, Era::Modern).await.unwrap();
    client.open().await.unwrap();
    let answer = client.call_tool("tag_counts", json!({"limit": 100})).await.unwrap();
    assert_ne!(answer["isError"], true, "{answer}");
    let envelope = &answer["structuredContent"];
    assert_eq!(envelope["summary"]["total"], DEMO_CONVERSATIONS, "{envelope}");
    let rows = envelope["results"].as_array().unwrap();
    let tagged: u64 = rows.iter().map(|row| row["conversations"].as_u64().unwrap()).sum();
    assert!(tagged >= DEMO_CONVERSATIONS as u64, "every conversation is in a tag's row or untagged: {rows:?}");
    let counts: Vec<u64> = rows.iter().map(|row| row["conversations"].as_u64().unwrap()).collect();
    assert!(counts.windows(2).all(|w| w[0] >= w[1]), "most used first: {counts:?}");
    let refused = client.call_tool("tag_counts", json!({"timeframe": "last_week"})).await.unwrap();
    assert_eq!(refused["isError"], true, "{refused}");
    assert!(refused["content"][0]["text"].as_str().unwrap().contains("last_7_days"), "{refused}");
    assert!(client.shutdown().await.unwrap());
}

/// `plugins new --lang python`: a componentize-py plugin that builds with `plugins build`, checks and answers.
#[tokio::test]
async fn a_python_scaffold_builds_with_componentize_py_and_answers() {
    let data = private_demo_dir();
    let plugins_dir = TempDir::new().unwrap();
    let work = TempDir::new().unwrap();
    let dir = work.path().join("py-counts");
    let componentize_py = crate::interop::test_tools().join("python/bin/componentize-py");
    let p = |args: &[&OsStr]| {
        let mut command = std::process::Command::new(server_exe());
        command
            .arg("--data-dir")
            .arg(data.path())
            .arg("--plugins-dir")
            .arg(plugins_dir.path())
            .arg("plugins")
            .args(args)
            .env("COMPONENTIZE_PY", &componentize_py)
            .env_remove("INTERCOM_ACCESS_TOKEN");
        command.output().expect("running fastintercom plugins")
    };
    let new = ["new".as_ref(), "py-counts".as_ref(), "--lang".as_ref(), "python".as_ref(), "--dir".as_ref()];
    ok(p(&[&new[..], &[dir.as_os_str()]].concat()), "plugins new --lang python");
    assert!(dir.join("wit/0.1.0/conversations.wit").exists() && dir.join("app.py").exists());
    let refused = p(&[
        "new".as_ref(),
        "py-x".as_ref(),
        "--lang".as_ref(),
        "python".as_ref(),
        "--template".as_ref(),
        "analytics".as_ref(),
    ]);
    assert!(!refused.status.success() && text(&refused.stderr).contains("is for Rust plugins"));
    ok(p(&["build".as_ref(), dir.as_os_str()]), "plugins build (Python)");
    let built = dir.join("dist/py-counts.wasm");
    let checked = ok(p(&["check".as_ref(), built.as_os_str()]), "plugins check");
    assert!(checked.contains("tools:  py_counts") && checked.contains("grants: conversations"), "{checked}");
    ok(p(&["install".as_ref(), built.as_os_str()]), "plugins install");

    let args = [OsStr::new("--plugins-dir"), plugins_dir.path().as_os_str()];
    let mut client = StdioClient::spawn(&server_exe(), data.path(), &args, Era::Modern).await.unwrap();
    client.open().await.unwrap();
    let answer = client.call_tool("py_counts", json!({})).await.unwrap();
    assert_ne!(answer["isError"], true, "{answer}");
    let rows = answer["structuredContent"]["results"].as_array().unwrap().clone();
    let total: u64 = rows.iter().map(|row| row["conversations"].as_u64().unwrap()).sum();
    assert_eq!(total, DEMO_CONVERSATIONS as u64, "{rows:?}");
    let refused = client.call_tool("py_counts", json!({"tags": "billing"})).await.unwrap();
    assert_eq!(refused["isError"], true, "the schema wants an array: {refused}");
    assert!(client.shutdown().await.unwrap());
}

#[test]
fn check_and_install_refuse_a_broken_plugin_and_say_why() {
    let data = TempDir::new().unwrap();
    let plugins_dir = TempDir::new().unwrap();
    let work = TempDir::new().unwrap();
    land(work.path(), "swap", &swap_with_bad_schema("aaaa"), SWAP_MANIFEST, None);
    let file = work.path().join("swap.wasm");
    for command in ["check", "install"] {
        let output = plugins(data.path(), plugins_dir.path(), &[command.as_ref(), file.as_os_str()]);
        assert!(!output.status.success(), "{command} must fail");
        let stderr = text(&output.stderr);
        assert!(stderr.contains("would be refused") && stderr.contains("not a valid JSON Schema"), "{stderr}");
    }
    assert!(!plugins_dir.path().join("swap.wasm").exists(), "nothing was installed");

    // Put there by hand anyway, `plugins list` shows it refused and why, in both formats.
    land(plugins_dir.path(), "swap", &swap_with_bad_schema("aaaa"), SWAP_MANIFEST, None);
    let listed = ok(plugins(data.path(), plugins_dir.path(), &["list".as_ref()]), "plugins list");
    let row = listed.lines().skip_while(|line| !line.starts_with("swap ")).take(2).collect::<Vec<_>>();
    assert!(row.len() == 2 && row[0].contains("refused"), "{listed}");
    assert!(row[1].trim_start().starts_with("refused:") && row[1].contains("not a valid JSON Schema"), "{listed}");
    let listed: Value = serde_json::from_str(&ok(
        plugins(data.path(), plugins_dir.path(), &["list".as_ref(), "--json".as_ref()]),
        "list",
    ))
    .unwrap();
    let row = listed.as_array().unwrap().iter().find(|row| row["name"] == "swap").expect("listed");
    assert_eq!(row["state"], "refused", "{row}");
    assert!(row["problem"].as_str().unwrap().contains("not a valid JSON Schema"), "{row}");
}

#[test]
fn a_server_requiring_signatures_accepts_only_what_a_trusted_key_signed() {
    let data = TempDir::new().unwrap();
    let plugins_dir = TempDir::new().unwrap();
    let work = TempDir::new().unwrap();
    let p = |args: &[&OsStr]| plugins(data.path(), plugins_dir.path(), args);
    let key_file = work.path().join("author.key");
    let public_key = ok(p(&["keygen".as_ref(), "--out".as_ref(), key_file.as_os_str()]), "keygen");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(std::fs::metadata(&key_file).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let config = format!("[plugins]\nrequire_signatures = true\ntrusted_keys = [\"{}\"]\n", public_key.trim());
    std::fs::write(data.path().join("config.toml"), config).unwrap();

    land(work.path(), "swap", &swap_version("aaaa"), SWAP_MANIFEST, None);
    let file = work.path().join("swap.wasm");
    let unsigned = p(&["check".as_ref(), file.as_os_str()]);
    assert!(!unsigned.status.success());
    assert!(text(&unsigned.stderr).contains("not signed"), "{}", text(&unsigned.stderr));

    ok(p(&["sign".as_ref(), file.as_os_str(), "--key".as_ref(), key_file.as_os_str()]), "sign");
    let signed = ok(p(&["check".as_ref(), file.as_os_str()]), "check a signed plugin");
    assert!(signed.contains("signed: yes"), "{signed}");
    let installed = p(&["install".as_ref(), file.as_os_str()]);
    assert!(text(&installed.stdout).starts_with("installed swap into"), "the result on stdout: {installed:?}");
    assert_eq!(text(&installed.stderr), "", "no log lines beside the result");
    assert!(plugins_dir.path().join("swap.sig").exists(), "the signature is installed with it");

    std::fs::write(work.path().join("swap.toml"), SWAP_MANIFEST.replace("[\"log\"]", "[\"log\", \"contacts\"]"))
        .unwrap();
    let widened = p(&["check".as_ref(), file.as_os_str()]);
    assert!(!widened.status.success(), "a manifest changed after signing is refused");
    assert!(text(&widened.stderr).contains("does not match"), "{}", text(&widened.stderr));

    // On a server that trusts no key, the signature is named for what it is rather than shown as "no".
    std::fs::write(work.path().join("swap.toml"), SWAP_MANIFEST).unwrap();
    std::fs::write(data.path().join("config.toml"), "").unwrap();
    let untrusted = ok(p(&["check".as_ref(), file.as_os_str()]), "check a plugin signed by an untrusted key");
    assert!(untrusted.contains("signed: a signature is beside it, but not by a key in"), "{untrusted}");
}
