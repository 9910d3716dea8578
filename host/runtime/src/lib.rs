//! The sandbox runtime: runs WebAssembly components of the `contextworker:module` worlds
//! with limits on memory, time, fuel, stack and output, and no ambient capabilities.
//!
//! The rest of the host talks to this crate only: "load these bytes as a transformer",
//! "call it within this budget". Nothing outside names a wasmtime type.

mod bindings;
mod cache;
mod call;
mod component;
mod convert;
mod engine;
mod enrich;
mod entry;
mod error;
mod host;
mod http;
mod limits;
mod scan;
mod sink;
mod state;
mod stdio;
mod text;
mod ticker;
mod worlds;

use std::sync::Arc;

pub use cache::CacheReport;
pub use call::{CallOutcome, CallSpec};
pub use component::{Capabilities, LoadStats, LoadedComponent};
pub use contextworker_types::{Limits, MIB, Metering};
pub use engine::RuntimeConfig;
pub use enrich::NO_VERDICT;
pub use error::{CallError, GuestError, GuestErrorKind, LoadError, MAX_ERROR_MESSAGE_BYTES};
pub use http::{HttpHostConfig, SecretHeader};
pub use scan::{CodeShape, CompileLimits, ScanError, scan_code};
pub use sink::{Collecting, Counting, Ndjson, ProductSink, SinkFailed, drain_into, sink_channel};
pub use state::{MAX_LOG_BYTES, STDIO_CAPTURE_BYTES, SinkEvent};
pub use stdio::Captured;
pub use tokio_util::sync::CancellationToken;
pub use worlds::{Classification, Data, FeedInput, TransformSummary};

/// The process-wide sandbox. Create one and share it (`Arc<Runtime>`): it owns the engines,
/// the epoch thread and the compiled-component cache.
pub struct Runtime {
    engines: engine::Engines,
    cache: Option<cache::ArtifactCache>,
    /// The host-wide memory budget in MiB: each call holds its memory limit's worth while it
    /// runs.
    memory_budget: tokio::sync::Semaphore,
    memory_budget_mib: u32,
    /// Outbound HTTP for granted modules: one client behind the outbound policy.
    http: Arc<http::HttpHost>,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("config", self.engines.config())
            .finish_non_exhaustive()
    }
}

impl Runtime {
    pub fn new(config: RuntimeConfig) -> Result<Arc<Self>, LoadError> {
        let cache = config
            .cache_dir
            .as_deref()
            .map(|dir| cache::ArtifactCache::open(dir, config.cache_max_bytes))
            .transpose()?;
        let memory_budget_mib =
            u32::try_from((config.memory_budget_bytes / MIB).max(1)).unwrap_or(u32::MAX);
        let http = Arc::new(
            http::HttpHost::new(&config.http).map_err(|reason| LoadError::Engine { reason })?,
        );
        let engines = engine::Engines::new(config).map_err(|e| LoadError::Engine {
            reason: e.to_string(),
        })?;
        Ok(Arc::new(Self {
            engines,
            cache,
            memory_budget: tokio::sync::Semaphore::new(memory_budget_mib as usize),
            memory_budget_mib,
            http,
        }))
    }

    pub fn config(&self) -> &RuntimeConfig {
        self.engines.config()
    }

    /// Whether the pooling allocator is in use (it falls back to on-demand when the address
    /// space cannot be reserved).
    pub fn is_pooled(&self) -> bool {
        self.engines.get(Metering::Epoch).is_ok_and(|s| s.pooled)
    }

    /// An identity of the engine for a metering class, stable for the life of the runtime;
    /// lets tests prove a hot swap never creates a new engine.
    pub fn engine_identity(&self, metering: Metering) -> Option<usize> {
        self.engines
            .get(metering)
            .ok()
            .map(|s| std::ptr::from_ref(&s.engine) as usize)
    }

    /// Bytes the compile cache takes on disk (0 without one). Scans the cache directory.
    pub fn compile_cache_bytes(&self) -> u64 {
        self.trim_compile_cache(u64::MAX)
            .map_or(0, |report| report.kept_bytes)
    }

    /// Trim the compile cache to `target` bytes, least recently used first (`gc`). `None`
    /// when the runtime has no disk cache.
    pub fn trim_compile_cache(&self, target: u64) -> Option<CacheReport> {
        self.cache.as_ref().map(|c| c.trim(target, None))
    }

    fn sandbox(&self, metering: Metering) -> Result<&engine::Sandbox, engine::SandboxError> {
        self.engines.get(metering)
    }
}
