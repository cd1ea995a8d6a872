//! The hostile-plugin suite against the real server (`fastintercom serve --http` as a child process): spinning
//! calls while `/health` and built-in tools must answer, a log flood and forged log lines, and a component built
//! to make the compiler run for seconds. The in-process attacks are in `hostile.rs`.

use std::path::Path;
use std::time::{Duration, Instant};

use fastintercom::protocol::http_client::Era;
use fastintercom_tests::{HOSTILE_WASM, land};
use serde_json::{Value, json};

use crate::hostile::hostile_manifest;
use crate::http_support::{HttpServerProcess, eventually, private_demo_dir};
use crate::support::server_exe;

/// A server on a copy of the demo workspace with the hostile plugin (manifest `[limits]` lines `limits`) and
/// `config` as its `config.toml`.
async fn server_with_hostile(
    limits: &str,
    config: &str,
    env: &[(&str, &str)],
) -> (tempfile::TempDir, HttpServerProcess) {
    let dir = private_demo_dir();
    let plugins = dir.path().join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    land(&plugins, "hostile", HOSTILE_WASM, &hostile_manifest(limits), None);
    let unlimited = "[http.keyless_rate_limit]\nper_second = 1000000\nburst = 1000000\n";
    std::fs::write(dir.path().join("config.toml"), format!("{unlimited}{config}")).unwrap();
    let server = HttpServerProcess::start(dir.path(), &[], env).await;
    (dir, server)
}

fn is_error(answer: &Value) -> bool {
    answer["isError"] == true
}

/// Item 1, end to end: 32 calls spin in a plugin (the operator allowed that many) and the server still answers
/// its probes and its built-in tools, long before the spinning calls reach their deadline.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_two_spinning_calls_leave_health_and_built_in_tools_answering() {
    let config = "[plugins]\nmax_concurrent_calls = 32\ntotal_calls = 32\n";
    let (_dir, server) = server_with_hostile("deadline_ms = 8000", config, &[]).await;
    let client = server.client(None, Era::Modern).await;
    let ids: Vec<String> = {
        let found = client.call_tool("search_conversations", json!({"limit": 20})).await.unwrap();
        found["structuredContent"]["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let started = Instant::now();
    let spinners: Vec<_> = (0..32)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.call_tool("spin", json!({})).await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    for id in &ids {
        let health = server.get("/health").await;
        assert!(health.status().is_success());
        let answer = client.call_tool("get_conversation", json!({"id": id})).await.unwrap();
        assert!(!is_error(&answer), "{answer}");
    }
    assert!(started.elapsed() < Duration::from_secs(7), "answered only after {:?}", started.elapsed());
    assert!(spinners.iter().all(|spinner| !spinner.is_finished()), "they answered while the guests spun");
    for spinner in spinners {
        let answer = spinner.await.unwrap().unwrap();
        assert!(answer["content"][0]["text"].as_str().unwrap().contains("deadline of 8000 ms"), "{answer}");
    }
}

/// Item 7: a plugin's log output is bounded by its rate across all its calls, and its text cannot forge a line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_flood_is_held_to_the_plugins_rate_and_a_forged_line_stays_one_line() {
    let config = "[plugins]\nlog_bytes_per_second = 8192\n";
    let env = [("FASTINTERCOM_LOG_FORMAT", "text")];
    let (_dir, server) = server_with_hostile("", config, &env).await;
    let client = server.client(None, Era::Modern).await;
    let started = Instant::now();
    let floods: Vec<_> = (0..4)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move {
                for _ in 0..5 {
                    client.call_tool("log_flood", json!({"count": 64})).await.unwrap();
                }
            })
        })
        .collect();
    for flood in floods {
        flood.await.unwrap();
    }
    let elapsed = started.elapsed().as_secs_f64();
    let forged = client.call_tool("log_forge", json!({})).await.unwrap();
    assert!(!is_error(&forged), "{forged}");
    assert!(eventually(Duration::from_secs(10), || async { server.log().contains("erased") }).await);
    let log = server.log();
    // Twenty calls asked to write 20 × 64 × 8 KiB (10 MiB); the rate lets through its burst and 8 KiB a second.
    let written = log.matches(&"f".repeat(4096)).count() * 4096;
    let allowed = 4 * 8192 + (elapsed.ceil() as usize + 1) * 8192;
    assert!(written <= allowed, "{written} bytes of flood logged in {elapsed:.1} s, at most {allowed} allowed");
    assert!(log.contains("faster than its rate allows"), "the drop is noted");
    assert!(!log.lines().any(|line| line.contains("FORGED-LINE") && !line.contains("innocent")), "a forged line");
    let line = log.lines().find(|line| line.contains("innocent")).unwrap_or_default();
    assert!(line.contains("innocent\\n2026-12-06T00:00:00.000000Z") && line.contains("\\r\\x1b[2K"), "{line}");
}

/// A component whose one function is `blocks` blocks, each ending in a conditional branch, with hundreds of
/// locals live across all of them: cranelift's register allocation takes time and memory that grow faster than
/// the function (here, 20,000 blocks (325 KB) took 3.8 s and about 170 MB; 100,000 blocks (1.6 MB) did not finish
/// in a minute). A component of just a core module: it would compile, then fail to link (it exports no tools).
fn compile_bomb(blocks: u32) -> Vec<u8> {
    use wasm_encoder::{
        BlockType, CodeSection, Component, Function, FunctionSection, Instruction, Module, ModuleSection, TypeSection,
        ValType,
    };
    const LOCALS: u32 = 500;
    let mut types = TypeSection::new();
    types.ty().function([ValType::I32], [ValType::I64]);
    let mut functions = FunctionSection::new();
    functions.function(0);
    let mut body = Function::new([(LOCALS, ValType::I64)]);
    let local = |i: u32| 1 + i % (LOCALS - 1);
    for i in 0..blocks {
        body.instruction(&Instruction::Block(BlockType::Empty));
        body.instruction(&Instruction::LocalGet(local(i)));
        body.instruction(&Instruction::LocalGet(local(i.wrapping_mul(7))));
        body.instruction(&Instruction::I64Add);
        body.instruction(&Instruction::LocalSet(local(i.wrapping_mul(13))));
        body.instruction(&Instruction::LocalGet(0));
        body.instruction(&Instruction::BrIf(0));
        body.instruction(&Instruction::End);
    }
    body.instruction(&Instruction::LocalGet(1));
    body.instruction(&Instruction::End);
    let mut code = CodeSection::new();
    code.function(&body);
    let mut module = Module::new();
    module.section(&types).section(&functions).section(&code);
    let mut component = Component::new();
    component.section(&ModuleSection(&module));
    component.finish()
}

/// `fastintercom plugins check` on `wasm` (named `bomb`) with `config` in a fresh data directory: its exit status,
/// what it printed, and how long it took.
fn check(wasm: &[u8], config: &str) -> (bool, String, Duration) {
    let dir = tempfile::TempDir::new().unwrap();
    std::fs::write(dir.path().join("config.toml"), config).unwrap();
    let path = dir.path().join("bomb.wasm");
    std::fs::write(&path, wasm).unwrap();
    std::fs::write(path.with_extension("toml"), "name = \"bomb\"\nversion = \"1\"\n").unwrap();
    let started = Instant::now();
    let output = std::process::Command::new(server_exe())
        .args(["--data-dir", dir.path().to_str().unwrap(), "plugins", "check"])
        .arg(&path)
        .output()
        .unwrap();
    let printed = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.success(), printed, started.elapsed())
}

/// Item 7: compiling is bounded in time and memory (a child process the kernel limits and the host kills), and
/// components are bounded in size before anything parses them.
#[test]
fn compiling_a_hostile_component_is_bounded_in_time_memory_and_size() {
    let bomb = compile_bomb(20_000);
    let (ok, printed, took) = check(&bomb, "[plugins]\ncompile_timeout_ms = 1000\n");
    assert!(!ok, "{printed}");
    assert!(printed.contains("compiling it took longer than this host allows (1 s"), "{printed}");
    assert!(took < Duration::from_secs(20), "the check took {took:?}");
    let (ok, printed, _) = check(&bomb, "[plugins]\ncompile_memory_mib = 64\n");
    assert!(!ok && printed.contains("needed more memory than this host allows (64 MiB"), "{printed}");
    // A larger one (it would not finish compiling in a minute) is refused by its size, before anything parses it.
    let (ok, printed, took) = check(&compile_bomb(100_000), "[plugins]\nmax_component_mib = 1\n");
    assert!(!ok && printed.contains("larger than the 1048576 bytes the host reads"), "{printed}");
    assert!(took < Duration::from_secs(20), "the check took {took:?}");
}

/// Item 2 through the command an operator runs first: a schema bomb is refused by `plugins check`, quickly.
#[test]
fn plugins_check_refuses_a_schema_bomb_quickly() {
    let bomb = fastintercom_tests::hostile_describing("schema-bomb-40");
    let dir = tempfile::TempDir::new().unwrap();
    let path: &Path = &dir.path().join("hostile.wasm");
    std::fs::write(path, &bomb).unwrap();
    std::fs::write(path.with_extension("toml"), fastintercom_tests::HOSTILE_MANIFEST).unwrap();
    let started = Instant::now();
    let output = std::process::Command::new(server_exe())
        .args(["--data-dir", dir.path().to_str().unwrap(), "plugins", "check"])
        .arg(path)
        .output()
        .unwrap();
    let printed = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(printed.contains("subschema evaluations per value"), "{printed}");
    assert!(started.elapsed() < Duration::from_secs(60), "took {:?}", started.elapsed());
}
