//! What the operating system enforces for us: a lower scheduling priority for threads that run untrusted guest
//! code or compile it, and resource limits for the process that compiles it.
//!
//! Linux keeps the nice value per thread, so lowering it on a thread leaves the server's own threads (HTTP, stdio,
//! probes, built-in tools) at their priority: when both want the CPU, the scheduler gives the server's threads
//! about nine tenths of it.

use std::time::Duration;

/// Nice value of threads that run plugin guests (0 is normal, 19 the lowest priority). At 10 a thread gets about a
/// tenth of the CPU a normal thread gets when both are runnable.
pub const GUEST_NICENESS: i32 = 10;

/// Lowers the calling thread's scheduling priority to [`GUEST_NICENESS`]; threads it starts afterwards inherit
/// it. Failing is logged, not fatal: the guest still runs, it just competes with the server on equal terms.
pub fn lower_this_thread_priority() {
    #[cfg(target_os = "linux")]
    {
        let thread = rustix::thread::gettid();
        if let Err(error) = rustix::process::setpriority_process(Some(thread), GUEST_NICENESS) {
            tracing::warn!(%error, "cannot lower the priority of a plugin thread");
        }
    }
}

/// Caps the calling process's CPU time and writable memory (heap and private mappings; address space reserved
/// without access, as wasmtime reserves it, does not count). For the process that compiles an untrusted
/// component: past the CPU limit the kernel kills it, and an allocation past the memory limit fails. Makes only
/// system calls (it runs between fork and exec).
pub fn limit_this_process(cpu: Duration, memory_bytes: u64) -> std::io::Result<()> {
    use rustix::process::{Resource, Rlimit, setrlimit};
    let seconds = cpu.as_secs().max(1);
    // The soft limit sends SIGXCPU; the hard one, a second later, SIGKILL.
    setrlimit(Resource::Cpu, Rlimit { current: Some(seconds), maximum: Some(seconds + 1) })?;
    setrlimit(Resource::Data, Rlimit { current: Some(memory_bytes), maximum: Some(memory_bytes) })?;
    Ok(())
}
