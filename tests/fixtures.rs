//! Guest components the integration tests load, built for wasm32-wasip2 by this crate's build script once per
//! build (not once per test).

/// The probe: one tool per sandbox behaviour (`noop`, `spin`, `grow_memory`, `stack_overflow`, `panic`,
/// `read_file`, `read_env`, `open_socket`, `huge_output`, `log_spam`, `search`, ...).
pub const PROBE_WASM: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/fastintercom_test_probe.wasm"));

/// The probe's own manifest (grants `log` and `conversations`).
pub const PROBE_MANIFEST: &str = include_str!("guests/probe/plugin.toml");

/// The fixture tools of the official MCP conformance suite (`test_simple_text`, `test_error_handling`, ...).
pub const CONFORMANCE_WASM: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/fastintercom_test_conformance.wasm"));

/// The conformance plugin's manifest (no grants).
pub const CONFORMANCE_MANIFEST: &str = include_str!("guests/conformance/plugin.toml");

/// The hot-swap probe, built against contract 0.1.0 with wit-bindgen directly; tests patch its marker strings to
/// make other versions (see its crate docs).
pub const SWAP_WASM: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/fastintercom_test_swap.wasm"));

/// The swap probe's manifest (name `swap`, grants `log`).
pub const SWAP_MANIFEST: &str = include_str!("guests/swap/plugin.toml");

/// The hostile plugin: one tool per attack of the hostile-plugin suite (see its crate docs).
pub const HOSTILE_WASM: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/fastintercom_test_hostile.wasm"));

/// Its manifest (name `hostile`, grants `log` and `conversations`).
pub const HOSTILE_MANIFEST: &str = include_str!("guests/hostile/plugin.toml");

/// The hostile plugin describing itself in a hostile way: `schema-bomb-24`, `huge-describe`, `many-tools`, ...
/// (at most 19 characters).
pub fn hostile_describing(mode: &str) -> Vec<u8> {
    const DEFAULT: &str = "hostile-mode:normal_____________";
    assert!(mode.len() <= DEFAULT.len() - "hostile-mode:".len(), "mode {mode:?} is too long");
    let patched = format!("hostile-mode:{mode:_<19}");
    let mut bytes = HOSTILE_WASM.to_vec();
    patch(&mut bytes, DEFAULT, &patched);
    bytes
}

/// Replaces the only occurrence of `from` in `bytes` by `to` (same length); panics otherwise.
fn patch(bytes: &mut [u8], from: &str, to: &str) {
    assert_eq!(from.len(), to.len(), "a patch keeps the length");
    let at: Vec<usize> =
        bytes.windows(from.len()).enumerate().filter(|(_, w)| *w == from.as_bytes()).map(|(i, _)| i).collect();
    assert_eq!(at.len(), 1, "{from:?} occurs {} times in the component", at.len());
    bytes[at[0]..at[0] + to.len()].copy_from_slice(to.as_bytes());
}

/// The swap probe's patchable tool name.
pub const SWAP_TOOL: &str = "swap_probe_hello";

/// The swap probe answering with `version` (four ASCII letters or digits).
pub fn swap_version(version: &str) -> Vec<u8> {
    assert_eq!(version.len(), 4);
    let mut bytes = SWAP_WASM.to_vec();
    if version != "aaaa" {
        patch(&mut bytes, "swap-version:aaaa", &format!("swap-version:{version}"));
    }
    bytes
}

/// The swap probe whose tool is called `name` (sixteen characters), e.g. `get_conversation`.
pub fn swap_named(version: &str, name: &str) -> Vec<u8> {
    let mut bytes = swap_version(version);
    patch(&mut bytes, SWAP_TOOL, name);
    bytes
}

/// The swap probe with an input schema that is not valid JSON Schema (`"type": "strung"`).
pub fn swap_with_bad_schema(version: &str) -> Vec<u8> {
    let mut bytes = swap_version(version);
    patch(&mut bytes, r#"{"type":"string"}"#, r#"{"type":"strung"}"#);
    bytes
}

/// Writes `name.wasm` + `name.toml` (and `name.sig` when given) into `dir` so that each file appears whole:
/// written under a temporary name, then renamed. The component lands last.
pub fn land(dir: &std::path::Path, name: &str, wasm: &[u8], manifest: &str, signature: Option<&str>) {
    let mut files: Vec<(&str, &[u8])> = vec![("toml", manifest.as_bytes())];
    if let Some(signature) = signature {
        files.push(("sig", signature.as_bytes()));
    }
    files.push(("wasm", wasm));
    for (extension, bytes) in files {
        let temporary = dir.join(format!(".{name}.{extension}.tmp"));
        std::fs::write(&temporary, bytes).expect("writing a plugin file");
        std::fs::rename(&temporary, dir.join(format!("{name}.{extension}"))).expect("renaming a plugin file");
    }
}
