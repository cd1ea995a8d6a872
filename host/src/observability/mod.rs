//! What the server tells its operators: logs (stderr; JSON when stderr is not a terminal) and metrics
//! (Prometheus text at `/metrics` of the HTTP server).
//!
//! Metrics are recorded where things happen (the registry records calls, the sync engine items written) through
//! the `metrics` facade, which costs nothing until [`install_metrics`] sets a recorder; values that are facts
//! about the store (sync lag) are read when scraped.

mod logging;

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

pub use logging::init_logging;

/// Latency buckets (seconds) for tool calls: most calls take about a millisecond; deadlines are seconds.
const CALL_BUCKETS: [f64; 14] =
    [0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5];

/// Installs the process-wide Prometheus recorder (once; later calls return the same handle).
pub fn install_metrics() -> anyhow::Result<PrometheusHandle> {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    if let Some(handle) = HANDLE.get() {
        return Ok(handle.clone());
    }
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_duration_seconds".to_owned()), &CALL_BUCKETS)
        .map_err(|e| anyhow::anyhow!("invalid metric buckets: {e}"))?
        .install_recorder()
        .map_err(|e| anyhow::anyhow!("cannot install the metrics recorder: {e}"))?;
    Ok(HANDLE.get_or_init(|| handle).clone())
}

/// A process-unique id for a request's log lines: a random prefix per process (so ids of two replicas do not
/// collide) and a counter.
pub fn next_request_id() -> String {
    static PROCESS: OnceLock<u32> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let process = PROCESS.get_or_init(rand::random::<u32>);
    format!("{process:08x}-{}", COUNTER.fetch_add(1, Ordering::Relaxed))
}

/// How a tool call ended, as the `outcome` label of the call metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallOutcome {
    Ok,
    /// Arguments refused by the schema or by the tool.
    InvalidArguments,
    /// The tool reported an error (not found, unavailable, internal).
    ToolError,
    /// The sandbox stopped the call at its deadline.
    Timeout,
    /// The guest trapped: a crash, a stack overflow, memory past its cap.
    Trap,
    /// The plugin was at its concurrency or calls-per-second limit.
    Busy,
    /// The output was too large or malformed.
    BadOutput,
}

impl CallOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::InvalidArguments => "invalid_arguments",
            Self::ToolError => "tool_error",
            Self::Timeout => "timeout",
            Self::Trap => "trap",
            Self::Busy => "busy",
            Self::BadOutput => "bad_output",
        }
    }
}

/// Records one call of a served tool. Tool and plugin names come from the registry, never from a request, so
/// the label sets stay bounded whatever clients send.
pub fn record_tool_call(tool: &str, plugin: &str, outcome: CallOutcome, elapsed: Duration) {
    let tool = tool.to_owned();
    metrics::counter!("fastintercom_tool_calls_total", "tool" => tool.clone(), "outcome" => outcome.as_str())
        .increment(1);
    if outcome != CallOutcome::Ok {
        metrics::counter!("fastintercom_tool_errors_total", "tool" => tool.clone(), "outcome" => outcome.as_str())
            .increment(1);
    }
    metrics::histogram!("fastintercom_tool_call_duration_seconds", "tool" => tool).record(elapsed.as_secs_f64());
    // The same per plugin, so an operator can watch a third-party plugin as a whole.
    metrics::counter!("fastintercom_plugin_calls_total", "plugin" => plugin.to_owned(), "outcome" => outcome.as_str())
        .increment(1);
    metrics::histogram!("fastintercom_plugin_call_duration_seconds", "plugin" => plugin.to_owned())
        .record(elapsed.as_secs_f64());
    match outcome {
        CallOutcome::Trap => metrics::counter!("fastintercom_plugin_traps_total", "plugin" => plugin.to_owned()),
        CallOutcome::Timeout => metrics::counter!("fastintercom_plugin_timeouts_total", "plugin" => plugin.to_owned()),
        _ => return,
    }
    .increment(1);
}

/// Records a call to a tool that does not exist (no name label: it would be whatever a client sent).
pub fn record_unknown_tool() {
    metrics::counter!("fastintercom_unknown_tool_calls_total").increment(1);
}

static CACHE_HITS: AtomicU64 = AtomicU64::new(0);
static CACHE_MISSES: AtomicU64 = AtomicU64::new(0);

/// Records a lookup in the compiled-component cache (a miss means a compilation of seconds for large guests).
pub fn record_component_cache(hit: bool) {
    let (name, count) = if hit {
        ("fastintercom_component_cache_hits_total", &CACHE_HITS)
    } else {
        ("fastintercom_component_cache_misses_total", &CACHE_MISSES)
    };
    count.fetch_add(1, Ordering::Relaxed);
    metrics::counter!(name).increment(1);
}

/// Sets `fastintercom_component_cache_hit_ratio` from the lookups so far (not set before the first lookup).
pub fn publish_cache_ratio() {
    let (hits, misses) = (CACHE_HITS.load(Ordering::Relaxed), CACHE_MISSES.load(Ordering::Relaxed));
    if hits + misses > 0 {
        metrics::gauge!("fastintercom_component_cache_hit_ratio").set(hits as f64 / (hits + misses) as f64);
    }
}
