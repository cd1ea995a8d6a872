//! The hot-swap probe: a plugin built with wit-bindgen directly against contract 0.1.0 (so it is also the proof
//! that a 0.1.0 plugin still loads on a host that speaks 0.2.0).
//!
//! Its version, tool name and input schema live in byte strings the tests patch in the compiled component to
//! make other versions without building again (see `tests/integration/plugins_support.rs`):
//! - [`VERSION`]: `swap-version:` and four letters, shown in the description and in every answer;
//! - [`TOOL_NAME`]: sixteen characters (patched to `get_conversation` to collide with a built-in, to a malformed
//!   name, or to [`DESCRIBE_FAILS`], which makes `describe` itself trap);
//! - [`INPUT_SCHEMA`]: patched from `"string"` to `"strung"` to make the schema invalid.
//!
//! Tools: the patchable one answers `{"version", "payload"}` where the payload is the version repeated, so a test
//! can tell an answer that mixes versions; `swap_counter` counts its calls in instance memory (1 on every call
//! under a fresh-instance policy; 1, 2, 3... on a warm instance); `swap_crash` counts too, then traps (a warm
//! instance that trapped must never serve again); `swap_slow` sleeps `{"ms": N}` milliseconds, then answers like
//! the patchable tool (a call in flight during a swap, or one past its deadline).

#![allow(unsafe_code)] // the generated export glue

use std::hint::black_box;
use std::sync::atomic::{AtomicU32, Ordering};

wit_bindgen::generate!({
    world: "plugin",
    path: "../../../wit/0.1.0",
});

use exports::fastintercom::plugin::tool::{Annotations, ContentBlock, Guest, ToolDescriptor, ToolError, ToolOutput};
use fastintercom::plugin::log::{self, Level};

static VERSION: &str = "swap-version:aaaa";
static TOOL_NAME: &str = "swap_probe_hello";
static INPUT_SCHEMA: &str = r#"{"type":"object","properties":{"text":{"type":"string"}}}"#;
const COUNTER_TOOL: &str = "swap_counter";
const CRASH_TOOL: &str = "swap_crash";
const SLOW_TOOL: &str = "swap_slow";
/// The tool name that makes `describe` trap, as a plugin whose description cannot be read.
const DESCRIBE_FAILS: &str = "swap_describe_ko";

static CALLS: AtomicU32 = AtomicU32::new(0);

/// The four letters of this build's version (read through `black_box`, so the patched bytes are what runs).
fn version() -> &'static str {
    &black_box(VERSION)["swap-version:".len()..]
}

fn tool_name() -> &'static str {
    black_box(TOOL_NAME)
}

struct Swap;

impl Guest for Swap {
    fn describe() -> Vec<ToolDescriptor> {
        if tool_name() == DESCRIBE_FAILS {
            std::process::abort();
        }
        let annotations = Annotations { read_only: true, destructive: false, idempotent: true, open_world: false };
        vec![
            ToolDescriptor {
                name: tool_name().to_owned(),
                title: Some("Swap probe".to_owned()),
                description: format!("Answers with its version, {}.", version()),
                input_schema: black_box(INPUT_SCHEMA).to_owned(),
                output_schema: None,
                annotations,
            },
            ToolDescriptor {
                name: COUNTER_TOOL.to_owned(),
                title: None,
                description: "Counts its calls in instance memory.".to_owned(),
                input_schema: r#"{"type":"object"}"#.to_owned(),
                output_schema: None,
                annotations,
            },
            ToolDescriptor {
                name: SLOW_TOOL.to_owned(),
                title: None,
                description: "Sleeps `ms` milliseconds, then answers with its version.".to_owned(),
                input_schema: r#"{"type":"object","properties":{"ms":{"type":"integer","minimum":0}}}"#.to_owned(),
                output_schema: None,
                annotations,
            },
            ToolDescriptor {
                name: CRASH_TOOL.to_owned(),
                title: None,
                description: "Counts a call, then traps.".to_owned(),
                input_schema: r#"{"type":"object"}"#.to_owned(),
                output_schema: None,
                annotations,
            },
        ]
    }

    fn call(name: String, arguments: String) -> Result<ToolOutput, ToolError> {
        if name == CRASH_TOOL {
            CALLS.fetch_add(1, Ordering::Relaxed);
            std::process::abort();
        }
        if name == COUNTER_TOOL {
            let calls = CALLS.fetch_add(1, Ordering::Relaxed) + 1;
            return Ok(text(format!("{{\"calls\":{calls}}}")));
        }
        if name == SLOW_TOOL {
            std::thread::sleep(std::time::Duration::from_millis(milliseconds(&arguments)));
        } else if name != tool_name() {
            return Err(ToolError::NotFound(format!("no tool {name}")));
        }
        log::log(Level::Debug, "swap probe called");
        let version = version();
        let payload = version.repeat(64);
        Ok(text(format!("{{\"version\":\"{version}\",\"payload\":\"{payload}\"}}")))
    }
}

/// The `ms` of `{"ms": N}` (the probe has no JSON parser; the host validated the arguments already).
fn milliseconds(arguments: &str) -> u64 {
    let digits = arguments.split_once("\"ms\"").map_or("", |(_, rest)| rest);
    digits
        .chars()
        .skip_while(|c| !c.is_ascii_digit())
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap_or(0)
}

fn text(json: String) -> ToolOutput {
    ToolOutput { content: vec![ContentBlock::Text(json.clone())], structured: Some(json) }
}

export!(Swap);
