//! The data each store carries: the WASI context (no capabilities), the limiter, captured
//! stdio and the per-call inputs of the host imports.

use std::sync::Arc;
use std::time::Instant;

use contextworker_types::{Limits, Product, Warning};
use tokio::io::AsyncRead;
use tokio::sync::mpsc;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use crate::http::CallHttp;
use crate::limits::Limiter;
use crate::stdio::CappedOutput;

/// Who is calling: carried into every log line a guest writes.
#[derive(Debug, Clone)]
pub(crate) struct CallLabel {
    pub(crate) module: String,
    pub(crate) version: String,
    pub(crate) digest: contextworker_types::Digest,
}

/// Bytes of stdout/stderr kept per call. Enough for diagnostics and a panic message.
pub const STDIO_CAPTURE_BYTES: usize = 1 << 20;

/// Guest log records kept per call; a guest logging in a loop cannot flood the host's logs.
pub(crate) const MAX_LOG_RECORDS: u32 = 10_000;

/// Bytes of guest log (messages and fields) kept per call; the rest is dropped. What is kept
/// also counts against the call's output budget: a log is output the host has to store.
pub const MAX_LOG_BYTES: u64 = 1 << 20;

/// Component-model resources (WASI streams, pollables, ...) one call may hold at once.
const MAX_RESOURCES: usize = 1024;

/// Why the host stopped a call from its side. Set before the host traps, read when the call
/// fails, so the failure is reported precisely instead of as a generic trap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum HostStop {
    Timeout,
    Cancelled,
    OutputTooLarge { limit: u64, attempted: u64 },
    FeedRead(String),
    SinkClosed,
}

/// One event a transformer produces, delivered in order to the caller's channel.
#[derive(Debug)]
pub enum SinkEvent {
    Products(Vec<Product>),
    Warnings(Vec<Warning>),
}

pub(crate) struct FeedState {
    pub(crate) reader: Box<dyn AsyncRead + Send + Unpin>,
    pub(crate) size_hint: Option<u64>,
    pub(crate) bytes_read: u64,
}

pub(crate) struct SinkState {
    pub(crate) tx: mpsc::Sender<SinkEvent>,
}

pub(crate) struct CallState {
    wasi: WasiCtx,
    table: ResourceTable,
    pub(crate) limiter: Limiter,
    pub(crate) label: Arc<CallLabel>,
    pub(crate) config: Arc<Vec<(String, String)>>,
    pub(crate) clock_origin: Instant,
    pub(crate) stdout: CappedOutput,
    pub(crate) stderr: CappedOutput,
    pub(crate) feed: Option<FeedState>,
    pub(crate) sink: Option<SinkState>,
    pub(crate) stop: Option<HostStop>,
    pub(crate) output_bytes: u64,
    pub(crate) output_items: u64,
    pub(crate) max_output_bytes: u64,
    pub(crate) log_records: u32,
    pub(crate) log_bytes: u64,
    pub(crate) log_capped: bool,
    /// `wasi:http`: linked only for granted modules; without a grant every request is refused.
    pub(crate) http: CallHttp,
}

impl CallState {
    pub(crate) fn new(
        label: Arc<CallLabel>,
        config: Arc<Vec<(String, String)>>,
        limits: &Limits,
    ) -> Self {
        let stdout = CappedOutput::new(STDIO_CAPTURE_BYTES);
        let stderr = CappedOutput::new(STDIO_CAPTURE_BYTES);
        let mut table = ResourceTable::new();
        table.set_max_capacity(MAX_RESOURCES);
        let http = CallHttp::new(label.module.clone(), None, None);
        Self {
            wasi: deny_all_wasi(&stdout, &stderr),
            table,
            limiter: Limiter::new(limits),
            label,
            config,
            clock_origin: Instant::now(),
            stdout,
            stderr,
            feed: None,
            sink: None,
            stop: None,
            output_bytes: 0,
            output_items: 0,
            max_output_bytes: limits.max_output_bytes,
            log_records: 0,
            log_bytes: 0,
            log_capped: false,
            http,
        }
    }

    /// Count output against the cap; on overflow remember why and return the trap to raise.
    pub(crate) fn charge_output(&mut self, bytes: u64, items: u64) -> wasmtime::Result<()> {
        self.output_bytes = self.output_bytes.saturating_add(bytes);
        self.output_items = self.output_items.saturating_add(items);
        if self.output_bytes > self.max_output_bytes {
            self.stop = Some(HostStop::OutputTooLarge {
                limit: self.max_output_bytes,
                attempted: self.output_bytes,
            });
            return Err(wasmtime::format_err!(
                "output exceeds {} bytes",
                self.max_output_bytes
            ));
        }
        Ok(())
    }
}

/// WASI's wall clock for guests: the time since the call started, counted from the Unix
/// epoch. The contract promises guests a monotonic clock only; the real date would tell a
/// guest when it runs (and make its output depend on it), so it never sees one.
struct CallTime(Instant);

impl wasmtime_wasi::HostWallClock for CallTime {
    fn resolution(&self) -> std::time::Duration {
        std::time::Duration::from_micros(1)
    }

    fn now(&self) -> std::time::Duration {
        self.0.elapsed()
    }
}

/// WASI is linked only so standard-library code links: no preopened directories, no
/// environment, no arguments, stdin closed, no sockets, no name lookup, no wall-clock date.
/// Every capability a guest gets comes from the `contextworker:module` imports.
fn deny_all_wasi(stdout: &CappedOutput, stderr: &CappedOutput) -> WasiCtx {
    WasiCtxBuilder::new()
        .stdout(stdout.clone())
        .stderr(stderr.clone())
        .wall_clock(CallTime(Instant::now()))
        .allow_tcp(false)
        .allow_udp(false)
        .allow_ip_name_lookup(false)
        .socket_addr_check(|_, _| Box::pin(async { false }))
        .max_random_size(64 * 1024)
        .build()
}

impl WasiView for CallState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl wasmtime_wasi_http::WasiHttpView for CallState {
    fn http(&mut self) -> wasmtime_wasi_http::WasiHttpCtxView<'_> {
        wasmtime_wasi_http::WasiHttpCtxView {
            hooks: &mut self.http.hooks,
            table: &mut self.table,
            ctx: &mut self.http.ctx,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use contextworker_types::World;

    #[test]
    fn a_call_holds_at_most_max_resources() {
        let label = Arc::new(CallLabel {
            module: "m".into(),
            version: "1".into(),
            digest: contextworker_types::Digest::of(b"m"),
        });
        let mut state =
            CallState::new(label, Arc::new(Vec::new()), &Limits::for_world(World::Code));
        for _ in 0..MAX_RESOURCES {
            state.table.push(0u8).expect("within the cap");
        }
        assert!(
            state.table.push(0u8).is_err(),
            "the 1025th resource is refused"
        );
    }
}
