//! Running a plugin: admission (the plugin's own limits, then a call slot), argument checks, a fresh (or warm)
//! instance, and the guest's answer under a deadline, a memory cap and an output bound.
//!
//! A call's deadline runs from its admission: waiting for a slot, validating arguments, the guest's own code and
//! every host call it makes all count. Guest code yields to the scheduler at every epoch tick
//! ([`super::engine::EPOCH_TICK`]), so many guests share their threads fairly and none holds one for longer than a
//! tick; third-party guests run on threads of their own ([`super::executor`]).

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Map, Value};
use wasmtime::component::ResourceTable;
use wasmtime::{Store, Trap, UpdateDeadline};
use wasmtime_wasi::WasiCtxBuilder;

use super::engine::EPOCH_TICK;
use super::guest_output::BoundedOutput;
use super::memory::{CallLimiter, Refusal};
use super::warm::Sandbox;
use super::{LoadedPlugin, Runtime, output};
use crate::bindings::{PluginPre, tool};
use crate::host_api::{CallState, HostApi, LogRate};

/// One block of a tool's content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContentBlock {
    Text(String),
}

/// What a tool returned.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolOutput {
    pub content: Vec<ContentBlock>,
    pub structured: Option<serde_json::Value>,
}

/// Why a call produced no output. Messages name the cause and never include host internals.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The arguments do not match the tool's input schema (checked by the host before the guest runs).
    #[error("invalid arguments for tool {tool:?}: {}", problems.join("; "))]
    ArgumentsRejected { tool: String, problems: Vec<String> },
    /// The tool rejected its arguments.
    #[error("invalid arguments: {0}")]
    InvalidArguments(String),
    #[error("not found: {0}")]
    NotFound(String),
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// The tool reported a failure of its own.
    #[error("the tool failed: {0}")]
    ToolFailed(String),
    #[error("the tool did not finish within its deadline of {} ms and was stopped", .0.as_millis())]
    DeadlineExceeded(Duration),
    #[error("the tool exceeded its memory limit of {} MiB and was stopped", .0 / (1024 * 1024))]
    MemoryExceeded(usize),
    #[error(
        "the tool was stopped: plugin calls together hold all the memory this host gives them ({} MiB); retry shortly",
        .0 / (1024 * 1024)
    )]
    HostMemoryExhausted(usize),
    #[error("the tool overflowed its stack and was stopped")]
    StackOverflow,
    #[error("the tool crashed ({0}); its output is in the server log")]
    Crashed(String),
    #[error("the tool's output of {actual} bytes exceeds the limit of {limit} bytes; ask for fewer results")]
    OutputTooLarge { actual: usize, limit: usize },
    /// The guest handed the host more data in one go (a host call's arguments, or its answer) than the host
    /// copies out of a sandbox.
    #[error(
        "the tool returned, or passed the host, more than {0} bytes at once and was stopped; ask for fewer results"
    )]
    TooMuchData(usize),
    #[error("the tool returned malformed structured output: {0}")]
    InvalidOutput(String),
    /// The plugin already runs as many calls as its limits allow.
    #[error("plugin {plugin:?} is already running its maximum of {limit} concurrent calls; retry shortly")]
    Busy { plugin: String, limit: u32 },
    /// Every call slot of its kind (built-in tools, or third-party plugins together) stayed taken until the
    /// call's deadline.
    #[error("the host is running its maximum of {0} calls of this kind; retry shortly")]
    HostBusy(u32),
    /// The plugin was called more often than its calls-per-second limit allows.
    #[error("plugin {plugin:?} is limited to {limit} calls per second; retry in a moment")]
    RateLimited { plugin: String, limit: u32 },
    /// The plugin has no tool by this name (the registry routes only to tools a plugin declared).
    #[error("plugin {plugin:?} has no tool {tool:?}")]
    NoSuchTool { plugin: String, tool: String },
}

/// Checks a plugin's own limits before it takes a call slot: its concurrency, then its calls per second
/// (neither waits: a plugin over its limit must not hold up, or take slots from, the others).
fn admit(plugin: &LoadedPlugin) -> Result<Option<tokio::sync::SemaphorePermit<'_>>, CallError> {
    // Concurrency first: a call refused for it must not use up a token of the rate.
    let permit = match (&plugin.concurrency, plugin.limits.max_concurrent_calls) {
        (Some(permits), Some(limit)) => {
            Some(permits.try_acquire().map_err(|_| CallError::Busy { plugin: plugin.name.to_string(), limit })?)
        }
        _ => None,
    };
    if let (Some(rate), Some(limit)) = (&plugin.rate, plugin.limits.calls_per_second)
        && rate.check().is_err()
    {
        return Err(CallError::RateLimited { plugin: plugin.name.to_string(), limit });
    }
    Ok(permit)
}

/// Epoch ticks a built-in tool's guest runs between two yields (see `new_sandbox`).
const BUILTIN_TICKS_PER_YIELD: u32 = 10;

/// Longest a plugin's `describe` may take, whatever its call deadline.
const MAX_DESCRIBE_DEADLINE: Duration = Duration::from_secs(10);

/// What building a sandbox for a plugin needs; cheap to clone, so it can move to the guest threads.
#[derive(Clone)]
pub(super) struct Guest {
    pub(super) pre: PluginPre<CallState>,
    pub(super) name: Arc<str>,
    pub(super) third_party: bool,
    pub(super) memory_bytes: usize,
    pub(super) log_rate: Option<Arc<LogRate>>,
}

impl Sandbox {
    /// Arms the sandbox for the next call: the call's deadline, and per-call budgets back to full.
    fn prepare(&mut self, deadline: Instant) {
        // The first epoch check comes one tick from now; each later one yields and re-arms (see `new_sandbox`).
        self.store.set_epoch_deadline(1);
        let state = self.store.data_mut();
        state.limits.refused = None;
        state.api.start_call(deadline);
    }
}

impl Runtime {
    /// Calls tool `name` of `plugin` with `arguments`, which are checked against the tool's input schema first.
    /// A third-party plugin's call runs on the guest threads; if the caller stops waiting, the call is stopped.
    pub async fn call_tool(
        &self,
        plugin: &Arc<LoadedPlugin>,
        name: &str,
        arguments: Map<String, Value>,
    ) -> Result<ToolOutput, CallError> {
        let tool = plugin
            .tool_index(name)
            .ok_or_else(|| CallError::NoSuchTool { plugin: plugin.name.to_string(), tool: name.to_owned() })?;
        if !plugin.is_third_party() {
            return self.run_call(plugin, tool, arguments).await;
        }
        let (runtime, plugin) = (self.clone(), Arc::clone(plugin));
        let call = async move { runtime.run_call(&plugin, tool, arguments).await };
        self.inner
            .executor
            .run(call)
            .await
            .unwrap_or_else(|| Err(CallError::Crashed("the host failed to run it".to_owned())))
    }

    async fn run_call(
        &self,
        plugin: &LoadedPlugin,
        tool: usize,
        arguments: Map<String, Value>,
    ) -> Result<ToolOutput, CallError> {
        let _plugin_permit = admit(plugin)?;
        let deadline = Instant::now() + plugin.limits.deadline;
        let _slot = self.call_slot(plugin.is_third_party(), deadline).await?;
        let arguments = check_arguments(plugin, tool, arguments)?;
        let name = &plugin.tools[tool].name;
        let mut sandbox = plugin.warm.take().unwrap_or_else(|| self.new_sandbox(&plugin.guest()));
        sandbox.prepare(deadline);
        let result = run_until(deadline, async {
            if sandbox.instance.is_none() {
                sandbox.instance = Some(plugin.pre.instantiate_async(&mut sandbox.store).await?);
            }
            let instance = sandbox.instance.as_ref().expect("instantiated just above");
            instance.fastintercom_plugin0_1_0_tool().call_call(&mut sandbox.store, name, &arguments).await
        })
        .await;
        sandbox.flush_output(&plugin.name);
        let clean_end = matches!(result, Ok(Ok(_)));
        let output = self.classify(result, &sandbox.store, plugin.limits.deadline, &plugin.name);
        if clean_end {
            sandbox.uses += 1;
            plugin.warm.give_back(sandbox);
        }
        let output =
            output::within_limit(output?, self.inner.limits.max_output_bytes)?.map_err(|error| match error {
                tool::ToolError::InvalidArguments(message) => CallError::InvalidArguments(message),
                tool::ToolError::NotFound(message) => CallError::NotFound(message),
                tool::ToolError::Unavailable(message) => CallError::Unavailable(message),
                tool::ToolError::Internal(message) => CallError::ToolFailed(message),
            })?;
        convert_output(output, self.inner.limits.max_output_bytes)
    }

    /// A call slot: built-in tools and third-party plugins each have their own, and a call waits for one at most
    /// until its deadline.
    async fn call_slot(
        &self,
        third_party: bool,
        deadline: Instant,
    ) -> Result<tokio::sync::SemaphorePermit<'_>, CallError> {
        let (slots, count) = if third_party {
            (&self.inner.plugin_slots, self.inner.limits.policy.shared.calls)
        } else {
            (&self.inner.builtin_slots, self.inner.limits.builtin_calls)
        };
        match tokio::time::timeout_at(deadline.into(), slots.acquire()).await {
            Ok(permit) => Ok(permit.expect("the slot semaphores are never closed")),
            Err(_) => Err(CallError::HostBusy(count)),
        }
    }

    /// Asks a plugin for its tools, in a fresh instance under the same limits as a call (but at most
    /// [`MAX_DESCRIBE_DEADLINE`]: loading happens during reloads and at startup, which a plugin's own deadline
    /// must not hold up). A third-party plugin is asked on the guest threads.
    pub(super) async fn describe(
        &self,
        guest: Guest,
        deadline: Duration,
    ) -> Result<Vec<tool::ToolDescriptor>, CallError> {
        let deadline = deadline.min(MAX_DESCRIBE_DEADLINE);
        if !guest.third_party {
            return self.run_describe(&guest, deadline).await;
        }
        let runtime = self.clone();
        let describe = async move { runtime.run_describe(&guest, deadline).await };
        self.inner
            .executor
            .run(describe)
            .await
            .unwrap_or_else(|| Err(CallError::Crashed("the host failed to run it".to_owned())))
    }

    async fn run_describe(&self, guest: &Guest, deadline: Duration) -> Result<Vec<tool::ToolDescriptor>, CallError> {
        let until = Instant::now() + deadline;
        let _slot = self.call_slot(guest.third_party, until).await?;
        let mut sandbox = self.new_sandbox(guest);
        sandbox.prepare(until);
        let result = run_until(until, async {
            let instance = guest.pre.instantiate_async(&mut sandbox.store).await?;
            instance.fastintercom_plugin0_1_0_tool().call_describe(&mut sandbox.store).await
        })
        .await;
        sandbox.flush_output(&guest.name);
        self.classify(result, &sandbox.store, deadline, &guest.name)
    }

    /// A store for one call (or, under a warm policy, a few): empty WASI (no files, sockets, environment or
    /// arguments; clocks and random only), bounded stdout/stderr, the memory limiter, and an epoch callback that
    /// yields to the scheduler at every tick until the call's deadline, then stops the guest.
    fn new_sandbox(&self, guest: &Guest) -> Sandbox {
        let limits = &self.inner.limits;
        let stdout = BoundedOutput::new(limits.max_guest_log_bytes);
        let stderr = BoundedOutput::new(limits.max_guest_log_bytes);
        let wasi = WasiCtxBuilder::new()
            .stdout(stdout.clone())
            .stderr(stderr.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .build();
        let shared_memory = guest.third_party.then(|| Arc::clone(&self.inner.plugin_memory));
        let store = match guest.third_party {
            true => self.inner.store.for_third_party(),
            false => self.inner.store.clone(),
        };
        let state = CallState {
            api: HostApi::new(store, Arc::clone(&guest.name), self.inner.board.clone(), guest.log_rate.clone()),
            wasi,
            table: ResourceTable::new(),
            limits: CallLimiter::new(guest.memory_bytes, shared_memory),
        };
        let mut store = Store::new(&self.inner.engine, state);
        store.limiter(|state| &mut state.limits);
        // What the host copies out of the guest per host call (and for the answer): wasmtime's default, 128 MiB,
        // is far more than any answer the host passes on or any argument it accepts.
        store.set_hostcall_fuel(self.hostcall_fuel());
        // Third-party guests share their threads with each other only, and yield at every tick. Built-in tools run
        // on the server's threads among up to 64 calls: one yielding goes to the back of that queue, which added
        // tens of milliseconds to the p99 of ordinary searches over HTTP when every tick yielded, so they yield
        // every tenth tick (a built-in that ran that long is the exception, not the rule).
        let yield_every = if guest.third_party { 1 } else { BUILTIN_TICKS_PER_YIELD };
        let mut ticks = 0;
        store.epoch_deadline_callback(move |context| {
            if Instant::now() >= context.data().api.deadline() {
                return Ok(UpdateDeadline::Interrupt);
            }
            ticks += 1;
            if ticks < yield_every {
                return Ok(UpdateDeadline::Continue(1));
            }
            ticks = 0;
            Ok(UpdateDeadline::YieldCustom(1, Box::pin(tokio::task::yield_now())))
        });
        Sandbox { store, stdout, stderr, instance: None, uses: 0, log_rate: guest.log_rate.clone() }
    }

    /// Turns a call's outcome into a value or the [`CallError`] that names why it ended.
    fn classify<T>(
        &self,
        result: Result<wasmtime::Result<T>, tokio::time::error::Elapsed>,
        store: &Store<CallState>,
        deadline: Duration,
        plugin: &str,
    ) -> Result<T, CallError> {
        let error = match result {
            Ok(Ok(value)) => return Ok(value),
            Err(_elapsed) => return Err(CallError::DeadlineExceeded(deadline)),
            Ok(Err(error)) => error,
        };
        let trap = error.downcast_ref::<Trap>().copied();
        let message = format!("{error:#}");
        tracing::warn!(plugin, error = %message, "plugin call trapped");
        // wasmtime's error type for it is private; its message is not.
        if message.contains("fuel allocated for hostcalls has been exhausted") {
            return Err(CallError::TooMuchData(self.hostcall_fuel()));
        }
        let limits = &store.data().limits;
        Err(match trap {
            Some(Trap::Interrupt) => CallError::DeadlineExceeded(deadline),
            Some(Trap::StackOverflow) => CallError::StackOverflow,
            _ if limits.refused == Some(Refusal::SharedBudget) => {
                CallError::HostMemoryExhausted(self.inner.plugin_memory.limit())
            }
            _ if limits.refused == Some(Refusal::CallCap) => CallError::MemoryExceeded(limits.memory_bytes()),
            Some(Trap::UnreachableCodeReached) => CallError::Crashed("it panicked or aborted".to_owned()),
            // Rust and C guests keep their stack in linear memory below the data: overflowing it is an access
            // out of bounds, not a wasm stack overflow.
            Some(Trap::MemoryOutOfBounds) => CallError::Crashed(
                "it accessed memory out of bounds, which is how a stack overflow of a Rust or C guest ends".to_owned(),
            ),
            Some(trap) => CallError::Crashed(format!("trap: {trap}")),
            None => match (error.downcast_ref::<wasmtime_wasi::I32Exit>(), error.downcast_ref::<std::str::Utf8Error>())
            {
                (Some(exit), _) => CallError::Crashed(format!("it exited with status {} instead of answering", exit.0)),
                (None, Some(_)) => CallError::Crashed("it returned text that is not valid UTF-8".to_owned()),
                (None, None) => CallError::Crashed("it failed inside the sandbox".to_owned()),
            },
        })
    }
}

impl Runtime {
    /// Bytes the host copies out of a sandbox at once: four times the output limit, so an answer up to that size
    /// is copied whole and refused by the output limit with its size, and anything larger is stopped while copied.
    fn hostcall_fuel(&self) -> usize {
        self.inner.limits.max_output_bytes.saturating_mul(4)
    }
}

impl LoadedPlugin {
    /// What building sandboxes for this plugin needs.
    pub(super) fn guest(&self) -> Guest {
        Guest {
            pre: self.pre.clone(),
            name: Arc::clone(&self.name),
            third_party: self.is_third_party(),
            memory_bytes: self.limits.memory_bytes,
            log_rate: self.log_rate.clone(),
        }
    }
}

/// Runs `work` until `deadline` (plus a few ticks, so the guest's own interrupt, which names the cause more
/// precisely, normally comes first). This also bounds host calls, which the epoch cannot interrupt.
async fn run_until<T>(
    deadline: Instant,
    work: impl Future<Output = wasmtime::Result<T>>,
) -> Result<wasmtime::Result<T>, tokio::time::error::Elapsed> {
    tokio::time::timeout_at((deadline + EPOCH_TICK * 4).into(), work).await
}

/// The arguments as JSON text, if they pass the tool's input schema: their size and depth first (what
/// validating them may cost is bounded by the schema's figure; see [`super::schema_cost`]), then the schema.
fn check_arguments(plugin: &LoadedPlugin, tool: usize, arguments: Map<String, Value>) -> Result<String, CallError> {
    /// Longest error list reported for one call; a model needs the first few to correct its arguments.
    const MAX_REPORTED_PROBLEMS: usize = 8;
    /// Above this many values, only the first problem is reported: the validator builds every error before the
    /// first can be read, and half a million wrong values made 200 MB of errors.
    const MAX_VALUES_FOR_ALL_PROBLEMS: u64 = 1000;
    let check = &plugin.checks[tool];
    let arguments = Value::Object(arguments);
    let rejected = |problems| CallError::ArgumentsRejected { tool: plugin.tools[tool].name.clone(), problems };
    let values = check.cost.admit(&arguments).map_err(|error| rejected(vec![error.to_string()]))?;
    if check.validator.is_valid(&arguments) {
        return Ok(arguments.to_string());
    }
    let describe = |error: jsonschema::ValidationError<'_>| {
        let path = error.instance_path().to_string();
        let at = if path.is_empty() { "arguments".to_owned() } else { format!("argument {path}") };
        match accepted_in(error.kind()) {
            Some(accepted) => format!("{at}: {}", accepted_values(&Value::Array(accepted))),
            None => format!("{at}: {}", error.masked()),
        }
    };
    let problems: Vec<String> = if values <= MAX_VALUES_FOR_ALL_PROBLEMS {
        check.validator.iter_errors(&arguments).take(MAX_REPORTED_PROBLEMS).map(describe).collect()
    } else {
        check.validator.validate(&arguments).err().map(describe).into_iter().collect()
    };
    Err(rejected(problems))
}

/// The values a failed check accepts, when it accepts a list of them: an `enum`, a `const`, or an `anyOf` /
/// `oneOf` whose every branch does (or accepts only `null`, as an optional enum's schema says). None otherwise.
fn accepted_in(kind: &jsonschema::error::ValidationErrorKind) -> Option<Vec<Value>> {
    use jsonschema::error::{TypeKind, ValidationErrorKind as Kind};
    match kind {
        Kind::Enum { options } => options.as_array().cloned(),
        Kind::Constant { expected_value } => Some(vec![Value::clone(expected_value)]),
        Kind::Type { kind: TypeKind::Single(jsonschema::JsonType::Null) } => Some(vec![Value::Null]),
        Kind::AnyOf { context } | Kind::OneOfNotValid { context } => {
            let mut accepted = Vec::new();
            for branch in context {
                let [only] = branch.as_slice() else { return None };
                accepted.extend(accepted_in(only.kind())?);
            }
            (!accepted.is_empty()).then_some(accepted)
        }
        _ => None,
    }
}

/// "value is not one of: ...", listing what an enum accepts so that a model can pick one (jsonschema's own
/// message names two and counts the rest). Bounded, since the schema is the plugin's: at most
/// [`MAX_LISTED_BYTES`] of the list, then how many more there are.
fn accepted_values(options: &Value) -> String {
    const MAX_LISTED_BYTES: usize = 400;
    let Some(options) = options.as_array() else {
        return "value is not one of the accepted values".to_owned();
    };
    let mut listed = String::new();
    let mut shown = 0;
    for option in options {
        let text = option.to_string();
        if listed.len() + text.len() > MAX_LISTED_BYTES {
            break;
        }
        if shown > 0 {
            listed.push_str(", ");
        }
        listed.push_str(&text);
        shown += 1;
    }
    match options.len() - shown {
        _ if shown == 0 => format!("value is not one of the {} accepted values", options.len()),
        0 => format!("value is not one of: {listed}"),
        more => format!("value is not one of: {listed} (and {more} more)"),
    }
}

/// The guest's answer as the host passes it on. Its structured output is parsed (and so checked as JSON), and
/// counted again as it will be written out.
fn convert_output(output: tool::ToolOutput, limit: usize) -> Result<ToolOutput, CallError> {
    let structured = match &output.structured {
        None => None,
        Some(text) => {
            let value: Value = serde_json::from_str(text).map_err(|e| CallError::InvalidOutput(e.to_string()))?;
            output::structured_within_limit(&value, text.len(), &output.content, limit)?;
            Some(value)
        }
    };
    Ok(ToolOutput {
        content: output
            .content
            .into_iter()
            .map(|block| match block {
                tool::ContentBlock::Text(text) => ContentBlock::Text(text),
            })
            .collect(),
        structured,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::accepted_values;

    #[test]
    fn an_enum_error_lists_the_accepted_values_within_bounds() {
        let timeframes = json!(["today", "yesterday", "last_7_days", "last_30_days", "last_90_days", "this_month"]);
        assert_eq!(
            accepted_values(&timeframes),
            r#"value is not one of: "today", "yesterday", "last_7_days", "last_30_days", "last_90_days", "this_month""#
        );
        let many: Vec<String> = (0..1000).map(|i| format!("value-{i}")).collect();
        let listed = accepted_values(&json!(many));
        assert!(listed.len() < 500 && listed.ends_with("more)") && listed.contains("\"value-0\""), "{listed}");
        assert_eq!(accepted_values(&json!(["x".repeat(1000)])), "value is not one of the 1 accepted values");
        assert_eq!(accepted_values(&json!([1, null, {"a": 1}])), r#"value is not one of: 1, null, {"a":1}"#);
    }
}
