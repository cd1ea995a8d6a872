//! A hostile guest for the host's sandbox tests: one tool per behaviour the sandbox must contain or measure.
//!
//! Every tool takes any object (`{"type":"object"}`) so tests can call them with `{}`. Outcomes of attempts the
//! sandbox should refuse (files, environment, sockets) are reported as text of the form `"ok: ..."` or
//! `"error: ..."`, so a test can assert on the prefix without depending on WASI's exact error wording.

use std::hint::black_box;
use std::io::Write;

use fastintercom_plugin_sdk::conversations::{self, ConversationFilter, ConversationSort};
use fastintercom_plugin_sdk::log::{self, Level};
use fastintercom_plugin_sdk::types::PageRequest;
use fastintercom_plugin_sdk::{ContentBlock, Tool, ToolDescriptor, ToolError, ToolOutput};
use serde_json::json;

const MIB: usize = 1 << 20;

/// Declares one [`Tool`] per `Type = "name" => function, "description";` and exports them all.
macro_rules! probe_tools {
    ($($ty:ident = $name:literal => $call:ident, structured: $structured:literal, $description:literal;)+) => {
        $(
            struct $ty;

            impl Tool for $ty {
                const NAME: &'static str = $name;

                fn describe() -> ToolDescriptor {
                    descriptor($name, $description, $structured)
                }

                fn call(arguments: &str) -> Result<ToolOutput, ToolError> {
                    $call(arguments)
                }
            }
        )+

        fastintercom_plugin_sdk::export_plugin!($($ty),+);
    };
}

probe_tools! {
    Noop = "noop" => noop, structured: false, "Returns \"ok\" at once; measures the sandbox's per-call overhead.";
    Echo = "echo" => echo, structured: true, "Returns its arguments, as text and as structured output.";
    Spin = "spin" => spin, structured: false, "Loops forever; the host's deadline must stop it.";
    GrowMemory = "grow_memory" => grow_memory, structured: true, "Allocates and touches 1 MiB blocks until allocation fails, then reports how many it got.";
    StackOverflow = "stack_overflow" => stack_overflow, structured: false, "Recurses without end until the stack overflows.";
    Panic = "panic" => panic, structured: false, "Panics with the message \"probe panicked on purpose\".";
    ReadFile = "read_file" => read_file, structured: false, "Tries to read /etc/passwd and to list \".\"; reports each outcome.";
    ReadEnv = "read_env" => read_env, structured: false, "Reports how many environment variables it sees and whether HOME is set.";
    OpenSocket = "open_socket" => open_socket, structured: false, "Tries to connect to 127.0.0.1:5432 and reports the outcome.";
    HugeOutput = "huge_output" => huge_output, structured: false, "Returns 10 MiB of text.";
    LogSpam = "log_spam" => log_spam, structured: false, "Writes 1 MiB to stdout, 1 MiB to stderr and one 1 MiB message to the host log, then returns \"ok\".";
    Search = "probe_search" => search, structured: false, "Searches conversations (no filter, limit 1) and returns the total; makes the component import `conversations`.";
    Wait = "wait" => wait, structured: false, "Busy-waits `ms` milliseconds (argument, default 300) on the monotonic clock, then returns \"waited\": a call that is in flight for a known time.";
}

fn descriptor(name: &str, description: &str, structured: bool) -> ToolDescriptor {
    let any_object = json!({"type": "object"});
    let mut d = ToolDescriptor::read_only(name, name, description, &any_object, structured.then_some(&any_object));
    // Not a real query tool: calls are not guaranteed to be repeatable.
    d.annotations.idempotent = false;
    d
}

fn outcome<T, E: std::fmt::Display>(result: Result<T, E>, ok: impl FnOnce(T) -> String) -> String {
    match result {
        Ok(value) => format!("ok: {}", ok(value)),
        Err(e) => format!("error: {e}"),
    }
}

fn noop(_: &str) -> Result<ToolOutput, ToolError> {
    Ok(ToolOutput::text("ok"))
}

fn echo(arguments: &str) -> Result<ToolOutput, ToolError> {
    Ok(ToolOutput { content: vec![ContentBlock::Text(arguments.to_owned())], structured: Some(arguments.to_owned()) })
}

fn spin(_: &str) -> Result<ToolOutput, ToolError> {
    let mut n: u64 = 0;
    loop {
        n = black_box(n.wrapping_add(1));
    }
}

fn grow_memory(_: &str) -> Result<ToolOutput, ToolError> {
    let mut blocks: Vec<Vec<u8>> = Vec::new();
    loop {
        // `try_reserve` turns a refused `memory.grow` into an error instead of an abort, so the guest can report.
        if blocks.try_reserve(1).is_err() {
            break;
        }
        let mut block = Vec::new();
        if block.try_reserve_exact(MIB).is_err() {
            break;
        }
        block.resize(MIB, 0xA5); // touch every page
        blocks.push(black_box(block));
    }
    let mib = blocks.len();
    drop(blocks); // give the memory back before formatting the answer
    let structured = json!({"allocated_mib": mib}).to_string();
    Ok(ToolOutput {
        content: vec![ContentBlock::Text(format!("allocated {mib} MiB before allocation failed"))],
        structured: Some(structured),
    })
}

/// Not a tail call (the addition happens after it returns) and the frame is kept by `black_box`, so the
/// optimiser can remove neither the recursion nor the stack use.
#[inline(never)]
fn recurse(depth: u64) -> u64 {
    let frame = black_box([depth as u8; 256]);
    if black_box(depth) == u64::MAX {
        return 0;
    }
    recurse(depth + 1).wrapping_add(u64::from(frame[usize::from(depth as u8)]))
}

fn stack_overflow(_: &str) -> Result<ToolOutput, ToolError> {
    let sum = recurse(0);
    Ok(ToolOutput::text(format!("recursion ended: {sum}")))
}

fn panic(_: &str) -> Result<ToolOutput, ToolError> {
    panic!("probe panicked on purpose")
}

fn read_file(_: &str) -> Result<ToolOutput, ToolError> {
    let passwd = outcome(std::fs::read_to_string("/etc/passwd"), |text| format!("{} bytes", text.len()));
    let dot = outcome(std::fs::read_dir("."), |entries| format!("{} entries", entries.count()));
    Ok(ToolOutput::text(json!({"etc_passwd": passwd, "dot_dir": dot}).to_string()))
}

fn read_env(_: &str) -> Result<ToolOutput, ToolError> {
    let vars = std::env::vars_os().count();
    let home = outcome(std::env::var("HOME"), |home| home);
    Ok(ToolOutput::text(json!({"vars": vars, "home": home}).to_string()))
}

fn open_socket(_: &str) -> Result<ToolOutput, ToolError> {
    let result = std::net::TcpStream::connect("127.0.0.1:5432");
    Ok(ToolOutput::text(outcome(result, |_| "connected".to_owned())))
}

fn huge_output(_: &str) -> Result<ToolOutput, ToolError> {
    Ok(ToolOutput::text("x".repeat(10 * MIB)))
}

fn log_spam(_: &str) -> Result<ToolOutput, ToolError> {
    let mut line = vec![b'x'; 1023];
    line.push(b'\n');
    // Write errors are ignored: a host may well close or drop these streams, and `print!` would panic.
    let mut stdout = std::io::stdout().lock();
    let mut stderr = std::io::stderr().lock();
    for _ in 0..1024 {
        let _ = stdout.write_all(&line);
        let _ = stderr.write_all(&line);
    }
    let _ = stdout.flush();
    let _ = stderr.flush();
    log::log(Level::Info, &"x".repeat(MIB));
    Ok(ToolOutput::text("ok"))
}

fn wait(arguments: &str) -> Result<ToolOutput, ToolError> {
    let ms = serde_json::from_str::<serde_json::Value>(arguments).ok().and_then(|a| a["ms"].as_u64()).unwrap_or(300);
    let started = std::time::Instant::now();
    while started.elapsed() < std::time::Duration::from_millis(ms) {
        black_box(started);
    }
    Ok(ToolOutput::text("waited"))
}

fn search(_: &str) -> Result<ToolOutput, ToolError> {
    let filter = ConversationFilter::default();
    let page = conversations::search(&filter, ConversationSort::Newest, &PageRequest { limit: 1, cursor: None })?;
    Ok(ToolOutput::text(page.total.to_string()))
}
