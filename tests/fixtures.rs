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
