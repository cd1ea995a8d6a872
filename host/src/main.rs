//! The `fastintercom` binary: parse the command line, set up logging on stderr (stdout carries MCP), run.

use clap::Parser;

/// mimalloc rather than the system allocator (and, with its `override` feature, also under SQLite and wasmtime):
/// a tool call allocates and frees many small blocks on several threads (rows, JSON, the sandbox's buffers).
/// `bench-http` `get_conversation` ran at 7,321–7,720 calls/s with it and 4,606–5,081 with glibc's malloc (three
/// interleaved runs each, 2026-12-05).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let cli = fastintercom::cli::Cli::parse();
    // The compiler process the server starts for a third-party component: no runtime, no logging, one line on
    // stderr when it fails, and an exit status the server reads.
    if let Some(fastintercom::cli::Command::CompileComponent(args)) = &cli.command {
        return args.run();
    }
    fastintercom::observability::init_logging(fastintercom::cli::Command::default_log_filter(cli.command.as_ref()));
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("fastintercom: cannot start the async runtime: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(fastintercom::cli::run(cli));
    // Reading stdin occupies a blocking thread that nothing can interrupt; dropping the runtime would wait for it
    // (a stdio server told to stop while its client keeps the pipe open would never exit).
    runtime.shutdown_timeout(std::time::Duration::from_millis(500));
    match outcome {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("fastintercom: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
