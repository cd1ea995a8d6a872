//! Logs go to stderr (stdout carries MCP on stdio): human-readable on a terminal, one JSON object per line
//! otherwise, so a log collector gets fields (request ids, tools, plugins) rather than prose.

use std::io::IsTerminal as _;

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber. `FASTINTERCOM_LOG` sets the filter (default `info,rmcp=warn`);
/// `FASTINTERCOM_LOG_FORMAT=json|text` overrides the terminal check.
pub fn init_logging() {
    let filter = EnvFilter::try_from_env("FASTINTERCOM_LOG").unwrap_or_else(|_| EnvFilter::new("info,rmcp=warn"));
    let json = match std::env::var("FASTINTERCOM_LOG_FORMAT").as_deref() {
        Ok("json") => true,
        Ok("text") => false,
        _ => !std::io::stderr().is_terminal(),
    };
    let builder = tracing_subscriber::fmt().with_writer(std::io::stderr).with_ansi(false).with_env_filter(filter);
    if json {
        builder.json().flatten_event(true).with_current_span(true).with_span_list(false).init();
    } else {
        builder.init();
    }
}
