//! Where third-party guest code runs: an async runtime of its own, on threads of lower priority than the server's.
//!
//! A guest that computes without end holds the thread that polls it until its next epoch yield (every
//! [`super::engine::EPOCH_TICK`]). On the server's own runtime (two worker threads on a two-core machine), two
//! such guests took both workers, and `/health`, stdio and built-in tools waited for their deadlines. Here they
//! share threads the server does not need: the server's workers only wait for a guest's result, and when both
//! want the CPU the kernel favours the server's threads (see [`super::os`]). Built-in tools stay on the server's
//! runtime: they are the product's own code and the fastest path for the calls that matter most.

use std::future::Future;

use tokio::task::JoinHandle;

/// Stack of the guest threads (tokio's default is 2 MiB).
const GUEST_THREAD_STACK_BYTES: usize = 16 * 1024 * 1024;

/// A multi-threaded tokio runtime for guests; dropped without waiting for the guests still running on it.
pub(super) struct GuestExecutor {
    runtime: Option<tokio::runtime::Runtime>,
}

impl GuestExecutor {
    /// Starts `threads` worker threads (at least one), each at [`super::os::GUEST_NICENESS`].
    pub(super) fn start(threads: usize) -> anyhow::Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads.max(1))
            .thread_name("plugin-guest")
            // Argument validation walks a schema recursively (as deep as the load-time analysis allows).
            .thread_stack_size(GUEST_THREAD_STACK_BYTES)
            .on_thread_start(super::os::lower_this_thread_priority)
            .enable_all()
            .build()
            .map_err(|e| anyhow::anyhow!("cannot start the threads that run plugins: {e}"))?;
        Ok(Self { runtime: Some(runtime) })
    }

    /// Runs `work` on the guest threads and waits for it. If the caller stops waiting (a client went away, a
    /// request timed out), the work is cancelled too.
    pub(super) async fn run<T: Send + 'static>(&self, work: impl Future<Output = T> + Send + 'static) -> Option<T> {
        let runtime = self.runtime.as_ref().expect("present until dropped");
        let mut task = AbortOnDrop(runtime.spawn(work));
        // `None` only if the task panicked (a bug in the host's call path, logged by tokio's panic hook).
        (&mut task.0).await.ok()
    }
}

impl Drop for GuestExecutor {
    fn drop(&mut self) {
        // Waiting for guests here would let a spinning one hold up shutdown (their deadlines end them anyway).
        // The last handle on the host may go with a guest's task, on one of these very threads, and a runtime
        // cannot shut itself down from inside: that case hands it to a thread of its own.
        let Some(runtime) = self.runtime.take() else { return };
        let inside = tokio::runtime::Handle::try_current().is_ok_and(|current| current.id() == runtime.handle().id());
        if inside {
            std::thread::spawn(move || runtime.shutdown_background());
        } else {
            runtime.shutdown_background();
        }
    }
}

/// A spawned task that is aborted when its handle is dropped before it finished.
struct AbortOnDrop<T>(JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}
