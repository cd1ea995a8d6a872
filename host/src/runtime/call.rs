//! Running a plugin: a fresh instance per call, under a deadline, a memory cap and an output bound.

use std::time::Duration;

use wasmtime::component::ResourceTable;
use wasmtime::{ResourceLimiter, Store, Trap};
use wasmtime_wasi::WasiCtxBuilder;

use super::engine::EPOCH_TICK;
use super::guest_output::BoundedOutput;
use super::warm::Sandbox;
use super::{LoadedPlugin, Runtime};
use crate::bindings::tool;
use crate::host_api::{CallState, HostApi};

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
    #[error("the tool overflowed its stack and was stopped")]
    StackOverflow,
    #[error("the tool crashed ({0}); its output is in the server log")]
    Crashed(String),
    #[error("the tool's output of {actual} bytes exceeds the limit of {limit} bytes; ask for fewer results")]
    OutputTooLarge { actual: usize, limit: usize },
    #[error("the tool returned malformed structured output: {0}")]
    InvalidOutput(String),
    /// The plugin already runs as many calls as its limits allow.
    #[error("plugin {plugin:?} is already running its maximum of {limit} concurrent calls; retry shortly")]
    Busy { plugin: String, limit: u32 },
    /// The plugin was called more often than its calls-per-second limit allows.
    #[error("plugin {plugin:?} is limited to {limit} calls per second; retry in a moment")]
    RateLimited { plugin: String, limit: u32 },
}

/// Checks a plugin's own limits before it takes a sandbox slot: its calls per second, then its concurrency
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

impl Sandbox {
    /// Arms the sandbox for the next call: a fresh deadline, and per-call budgets back to full.
    fn prepare(&mut self, budget: &CallBudget) {
        let ticks = budget.deadline.as_nanos().div_ceil(EPOCH_TICK.as_nanos()).max(1) as u64;
        self.store.set_epoch_deadline(ticks);
        let state = self.store.data_mut();
        state.limits.refused_growth = false;
        state.api.start_call();
    }
}

/// Enforces a call's memory cap and remembers whether it had to refuse growth, so a resulting trap can be
/// reported as "memory limit" rather than as a crash.
pub struct CallLimiter {
    memory_bytes: usize,
    /// Bytes of all the instance's linear memories together (a component may have several).
    used_bytes: usize,
    refused_growth: bool,
}

/// Table elements a call may allocate (function tables of ordinary guests hold a few thousand).
const MAX_TABLE_ELEMENTS: usize = 100_000;

impl ResourceLimiter for CallLimiter {
    fn memory_growing(&mut self, current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        let total = self.used_bytes.saturating_sub(current).saturating_add(desired);
        let allowed = total <= self.memory_bytes;
        if allowed {
            self.used_bytes = total;
        }
        self.refused_growth |= !allowed;
        Ok(allowed)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }
}

/// Longest a plugin's `describe` may take, whatever its call deadline.
const MAX_DESCRIBE_DEADLINE: Duration = Duration::from_secs(10);

/// The limits of one call.
struct CallBudget {
    deadline: Duration,
    memory_bytes: usize,
}

impl Runtime {
    /// Calls tool `name` of `plugin` with `arguments` (a JSON object text already validated against its schema).
    pub async fn call_tool(&self, plugin: &LoadedPlugin, name: &str, arguments: &str) -> Result<ToolOutput, CallError> {
        let _plugin_permit = admit(plugin)?;
        let _slot = self.inner.slots.acquire().await.expect("the slot semaphore is never closed");
        let budget = self.budget(plugin);
        let mut sandbox = plugin.warm.take().unwrap_or_else(|| self.new_sandbox(plugin, &budget));
        sandbox.prepare(&budget);
        let result = tokio::time::timeout(budget.deadline + EPOCH_TICK * 4, async {
            if sandbox.instance.is_none() {
                sandbox.instance = Some(plugin.pre.instantiate_async(&mut sandbox.store).await?);
            }
            let instance = sandbox.instance.as_ref().expect("instantiated just above");
            instance.fastintercom_plugin0_1_0_tool().call_call(&mut sandbox.store, name, arguments).await
        })
        .await;
        sandbox.stdout.flush_to_log(&plugin.name, "stdout");
        sandbox.stderr.flush_to_log(&plugin.name, "stderr");
        let clean_end = matches!(result, Ok(Ok(_)));
        let output = self.classify(result, &sandbox.store, &budget, &plugin.name);
        if clean_end {
            sandbox.uses += 1;
            plugin.warm.give_back(sandbox);
        }
        let output = output?.map_err(|error| match error {
            tool::ToolError::InvalidArguments(message) => CallError::InvalidArguments(message),
            tool::ToolError::NotFound(message) => CallError::NotFound(message),
            tool::ToolError::Unavailable(message) => CallError::Unavailable(message),
            tool::ToolError::Internal(message) => CallError::ToolFailed(message),
        })?;
        self.convert_output(output)
    }

    /// Asks a plugin for its tools, in a fresh instance under the same limits as a call.
    pub(super) async fn describe(&self, plugin: &LoadedPlugin) -> Result<Vec<tool::ToolDescriptor>, CallError> {
        let _slot = self.inner.slots.acquire().await.expect("the slot semaphore is never closed");
        // Loading happens during reloads and at startup: a plugin's own deadline (up to 600 s) must not hold those.
        let mut budget = self.budget(plugin);
        budget.deadline = budget.deadline.min(MAX_DESCRIBE_DEADLINE);
        let mut sandbox = self.new_sandbox(plugin, &budget);
        let result = tokio::time::timeout(budget.deadline + EPOCH_TICK * 4, async {
            let instance = plugin.pre.instantiate_async(&mut sandbox.store).await?;
            instance.fastintercom_plugin0_1_0_tool().call_describe(&mut sandbox.store).await
        })
        .await;
        sandbox.stdout.flush_to_log(&plugin.name, "stdout");
        sandbox.stderr.flush_to_log(&plugin.name, "stderr");
        let descriptors = self.classify(result, &sandbox.store, &budget, &plugin.name)?;
        let size: usize = descriptors
            .iter()
            .map(|d| {
                d.name.len()
                    + d.title.as_ref().map_or(0, String::len)
                    + d.input_schema.len()
                    + d.description.len()
                    + d.output_schema.as_ref().map_or(0, String::len)
            })
            .sum();
        let limit = self.inner.limits.max_output_bytes;
        if size > limit {
            return Err(CallError::OutputTooLarge { actual: size, limit });
        }
        Ok(descriptors)
    }

    fn budget(&self, plugin: &LoadedPlugin) -> CallBudget {
        CallBudget { deadline: plugin.limits.deadline, memory_bytes: plugin.limits.memory_bytes }
    }

    /// A store for one call (or, under a warm policy, a few): empty WASI (no files, sockets, environment or
    /// arguments; clocks and random only), bounded stdout/stderr and the memory limiter.
    fn new_sandbox(&self, plugin: &LoadedPlugin, budget: &CallBudget) -> Sandbox {
        let stdout = BoundedOutput::new(self.inner.limits.max_guest_log_bytes);
        let stderr = BoundedOutput::new(self.inner.limits.max_guest_log_bytes);
        let wasi = WasiCtxBuilder::new()
            .stdout(stdout.clone())
            .stderr(stderr.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .build();
        let state = CallState {
            api: HostApi::new(self.inner.store.clone(), plugin.name.clone(), self.inner.board.clone()),
            wasi,
            table: ResourceTable::new(),
            limits: CallLimiter { memory_bytes: budget.memory_bytes, used_bytes: 0, refused_growth: false },
        };
        let mut store = Store::new(&self.inner.engine, state);
        store.limiter(|state| &mut state.limits);
        store.epoch_deadline_trap();
        let mut sandbox = Sandbox { store, stdout, stderr, instance: None, uses: 0 };
        sandbox.prepare(budget);
        sandbox
    }

    /// Turns a call's outcome into a value or the [`CallError`] that names why it ended.
    fn classify<T>(
        &self,
        result: Result<wasmtime::Result<T>, tokio::time::error::Elapsed>,
        store: &Store<CallState>,
        budget: &CallBudget,
        plugin: &str,
    ) -> Result<T, CallError> {
        let error = match result {
            Ok(Ok(value)) => return Ok(value),
            Err(_elapsed) => return Err(CallError::DeadlineExceeded(budget.deadline)),
            Ok(Err(error)) => error,
        };
        let trap = error.downcast_ref::<Trap>().copied();
        tracing::warn!(plugin, error = %format!("{error:#}"), "plugin call trapped");
        Err(match trap {
            Some(Trap::Interrupt) => CallError::DeadlineExceeded(budget.deadline),
            Some(Trap::StackOverflow) => CallError::StackOverflow,
            _ if store.data().limits.refused_growth => CallError::MemoryExceeded(budget.memory_bytes),
            Some(Trap::UnreachableCodeReached) => CallError::Crashed("it panicked or aborted".to_owned()),
            // Rust and C guests keep their stack in linear memory below the data: overflowing it is an access
            // out of bounds, not a wasm stack overflow.
            Some(Trap::MemoryOutOfBounds) => CallError::Crashed(
                "it accessed memory out of bounds, which is how a stack overflow of a Rust or C guest ends".to_owned(),
            ),
            Some(trap) => CallError::Crashed(format!("trap: {trap}")),
            None => CallError::Crashed("it failed inside the sandbox".to_owned()),
        })
    }

    fn convert_output(&self, output: tool::ToolOutput) -> Result<ToolOutput, CallError> {
        let size: usize = output
            .content
            .iter()
            .map(|block| match block {
                tool::ContentBlock::Text(text) => text.len(),
            })
            .sum::<usize>()
            + output.structured.as_ref().map_or(0, String::len);
        let limit = self.inner.limits.max_output_bytes;
        if size > limit {
            return Err(CallError::OutputTooLarge { actual: size, limit });
        }
        let structured = output
            .structured
            .map(|text| serde_json::from_str(&text).map_err(|e| CallError::InvalidOutput(e.to_string())))
            .transpose()?;
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
}
