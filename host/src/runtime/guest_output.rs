//! Guest stdout and stderr: captured up to a budget per call and written to the host log after the call.
//! A guest that prints without end cannot fill memory or the log.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};

use crate::host_api::LogRate;

/// What a call printed, up to `capacity` bytes, and how much more it tried to print.
#[derive(Clone)]
pub(super) struct BoundedOutput {
    inner: Arc<Mutex<Captured>>,
}

#[derive(Default)]
struct Captured {
    bytes: Vec<u8>,
    capacity: usize,
    dropped: usize,
}

impl BoundedOutput {
    pub(super) fn new(capacity: usize) -> Self {
        Self { inner: Arc::new(Mutex::new(Captured { capacity, ..Captured::default() })) }
    }

    /// Writes what was captured to the host log, attributed to `plugin` and `stream`, if the plugin's log `rate`
    /// (if any) has room for it, and empties the buffer (a warm instance's next call starts with its full budget
    /// again).
    pub(super) fn flush_to_log(&self, plugin: &str, stream: &'static str, rate: Option<&LogRate>) {
        let mut captured = self.inner.lock().expect("guest output lock");
        if captured.bytes.is_empty() {
            return;
        }
        if let Some(rate) = rate
            && !rate.admit(plugin, captured.bytes.len())
        {
            captured.bytes.clear();
            captured.dropped = 0;
            return;
        }
        let text = String::from_utf8_lossy(&captured.bytes);
        if captured.dropped > 0 {
            tracing::info!(
                plugin,
                stream,
                dropped_bytes = captured.dropped,
                "guest output (truncated): {}",
                text.trim_end()
            );
        } else {
            tracing::info!(plugin, stream, "guest output: {}", text.trim_end());
        }
        captured.bytes.clear();
        captured.dropped = 0;
    }
}

impl AsyncWrite for BoundedOutput {
    fn poll_write(self: Pin<&mut Self>, _cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let mut captured = self.inner.lock().expect("guest output lock");
        let room = captured.capacity.saturating_sub(captured.bytes.len());
        let kept = room.min(buf.len());
        captured.bytes.extend_from_slice(&buf[..kept]);
        captured.dropped += buf.len() - kept;
        // Report everything as written: the guest is never blocked or told to retry.
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

impl IsTerminal for BoundedOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for BoundedOutput {
    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::AsyncWriteExt;

    use super::BoundedOutput;

    #[tokio::test]
    async fn keeps_the_first_bytes_up_to_capacity_and_counts_the_rest() {
        let output = BoundedOutput::new(16);
        let mut stream = output.clone();
        stream.write_all(b"0123456789").await.unwrap();
        stream.write_all(&[b'x'; 1 << 20]).await.unwrap();
        let captured = output.inner.lock().unwrap();
        assert_eq!(captured.bytes, b"0123456789xxxxxx");
        assert_eq!(captured.dropped, (1 << 20) - 6);
    }
}
