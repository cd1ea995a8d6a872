//! The `fastintercom` binary: parse the command line, set up logging on stderr (stdout carries MCP), run.

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = fastintercom::cli::Cli::parse();
    fastintercom::observability::init_logging();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("fastintercom: cannot start the async runtime: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(fastintercom::cli::run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("fastintercom: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
