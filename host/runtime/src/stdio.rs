//! Captured stdout/stderr: bounded, never failing the guest's writes, marked when truncated.
//!
//! wasmtime's `MemoryOutputPipe` traps a guest that writes past its capacity, and Rust's
//! `println!` panics on a failed write; a chatty guest would then die of its own logging.
//! Here the bytes past the cap are dropped and the capture says so.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};

/// What a guest wrote to one stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Captured {
    pub bytes: Vec<u8>,
    /// The guest wrote more than the cap; `bytes` holds the first part.
    pub truncated: bool,
}

impl Captured {
    /// The bytes as text. Invalid UTF-8 becomes U+FFFD, which can triple the size, so the
    /// text is cut back to the capture's size: whatever carries it (a gRPC answer) has room.
    pub fn text(&self) -> String {
        let mut text = String::from_utf8_lossy(&self.bytes).into_owned();
        crate::text::truncate_marked(&mut text, crate::state::STDIO_CAPTURE_BYTES);
        text
    }
}

#[derive(Debug, Clone)]
pub(crate) struct CappedOutput {
    inner: Arc<Mutex<Captured>>,
    capacity: usize,
}

impl CappedOutput {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            inner: Arc::new(Mutex::new(Captured::default())),
            capacity,
        }
    }

    fn append(&self, bytes: &[u8]) {
        let mut captured = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let room = self.capacity.saturating_sub(captured.bytes.len());
        if bytes.len() > room {
            captured.truncated = true;
        }
        captured
            .bytes
            .extend_from_slice(&bytes[..bytes.len().min(room)]);
    }

    pub(crate) fn take(&self) -> Captured {
        std::mem::take(
            &mut *self
                .inner
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }

    /// The last `n` bytes as text: where a guest's panic message is.
    pub(crate) fn tail(&self, n: usize) -> String {
        let captured = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let start = captured.bytes.len().saturating_sub(n);
        String::from_utf8_lossy(&captured.bytes[start..])
            .trim()
            .to_owned()
    }
}

impl IsTerminal for CappedOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for CappedOutput {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

#[wasmtime_wasi::async_trait]
impl OutputStream for CappedOutput {
    fn write(&mut self, bytes: bytes::Bytes) -> StreamResult<()> {
        self.append(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        // Always willing: excess is dropped, not refused.
        Ok(64 * 1024)
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for CappedOutput {
    async fn ready(&mut self) {}
}

impl AsyncWrite for CappedOutput {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.append(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_past_capacity_and_marks_truncation() {
        let out = CappedOutput::new(5);
        out.append(b"abc");
        out.append(b"defg");
        let captured = out.take();
        assert_eq!(captured.bytes, b"abcde");
        assert!(captured.truncated);
    }
}
