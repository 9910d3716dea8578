//! The process's wasmtime engines, their linkers and the epoch ticker.
//!
//! One engine per metering class, created once and never replaced: mixing stores and
//! components of different engines is unsound (GHSA-hgjw-h833-99q9), and hot swaps reuse
//! the same engine. Fuel metering changes the generated code and costs 2–3× the epoch
//! check (wasmtime `config.rs` docs), so metered calls get their own engine instead of
//! taxing every parser.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use contextworker_types::{MIB, Metering, World};
use sha2::{Digest as _, Sha256};
use wasmtime::component::{HasSelf, Linker};
use wasmtime::{
    Config, Engine, InstanceAllocationStrategy, OptLevel, PoolingAllocationConfig,
    WasmBacktraceDetails,
};

use crate::bindings;
use crate::state::CallState;
use crate::ticker::Ticker;

/// Settings fixed for the life of the runtime.
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    /// Where compiled components are cached; `None` disables the disk cache.
    pub cache_dir: Option<PathBuf>,
    /// Disk the cache may use; past it the least recently used artifacts go.
    pub cache_max_bytes: u64,
    /// Instances that may run at once per engine (sizes the pooling allocator).
    pub max_concurrent_instances: u32,
    /// Ceiling for any call's memory limit (the size of a pool memory slot).
    pub max_memory_bytes: u64,
    /// Components larger than this are refused before compiling.
    pub max_component_bytes: u64,
    /// How often the epoch advances: the granularity of deadlines and of yielding to tokio.
    pub epoch_tick: Duration,
    /// Use the pooling allocator.
    pub pooling: bool,
    /// When the pool's address space cannot be reserved (a `ulimit -v`, say), allocate
    /// instances on demand instead of refusing to start. Off by default: every per-call cap
    /// still holds on demand (the limiter enforces them), but the pool's fixed reservation is
    /// what bounds the host's memory when many calls run, so losing it is the operator's call.
    pub allow_on_demand_fallback: bool,
    /// Linear memory all concurrent calls together may reserve (the sum of their memory
    /// limits). A call that would go over waits up to `memory_wait`, then fails as busy.
    pub memory_budget_bytes: u64,
    pub memory_wait: Duration,
    /// Compile epoch checks into guest code. Benchmarks only; without it a guest cannot be
    /// interrupted: deadlines, cancellation and yielding to tokio mid-call all stop working,
    /// and a spinning guest holds its thread forever.
    pub epoch_interruption: bool,
    /// Outbound HTTP for granted modules: the operator's narrowing, secrets and networks.
    pub http: crate::http::HttpHostConfig,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        Self {
            cache_dir: None,
            cache_max_bytes: 2048 * MIB,
            max_concurrent_instances: 64,
            max_memory_bytes: 1024 * MIB,
            max_component_bytes: 64 * MIB,
            epoch_tick: Duration::from_millis(10),
            pooling: true,
            allow_on_demand_fallback: false,
            memory_budget_bytes: 8 * 1024 * MIB,
            memory_wait: Duration::from_secs(2),
            epoch_interruption: true,
            http: crate::http::HttpHostConfig::default(),
        }
    }
}

/// Guest stack (bytes). Host functions run on the rest of the async stack, so the gap must
/// cover the deepest host import (wasmtime aborts the process on host stack exhaustion).
const MAX_WASM_STACK: usize = 1 << 20;
const ASYNC_STACK: usize = MAX_WASM_STACK + (1 << 20);

/// What one component instance may hold in the pool. The per-call limiter never grants more
/// (`limits.rs`), so a call behaves the same on demand as pooled.
pub(crate) const POOL_INSTANCES_PER_COMPONENT: u32 = 16;
pub(crate) const POOL_MEMORIES_PER_COMPONENT: u32 = 4;
pub(crate) const POOL_TABLES_PER_COMPONENT: u32 = 16;

/// Why an engine could not be built. Kept as text (wasmtime's errors are not `Clone`, and a
/// failed fuel engine is remembered and reported to every call that needs it).
#[derive(Debug, Clone, thiserror::Error)]
pub(crate) enum SandboxError {
    /// wasmtime refused the engine's settings: a host bug or an unsupported platform.
    #[error("cannot create the wasm engine: {0}")]
    Engine(String),
    /// The instance pool's address space cannot be reserved. Lower the sizing, raise the
    /// address-space limit, or allow allocating on demand.
    #[error(
        "cannot reserve the instance pool ({0}); lower [sandbox] max_concurrent_instances or max_memory_mb, raise the address-space limit, or set [sandbox] allow_on_demand_fallback = true"
    )]
    Pool(String),
    /// A world's imports could not be added to its linker: a host bug.
    #[error("cannot build the {world} linker: {message}")]
    Linker { world: World, message: String },
}

/// One engine with a linker per world.
pub(crate) struct Sandbox {
    pub(crate) engine: Engine,
    /// Identifies the engine's code generation settings in the artifact cache.
    pub(crate) cache_key: String,
    pub(crate) pooled: bool,
    linkers: [Linker<CallState>; 4],
    /// The same plus `wasi:http`, for modules granted outbound HTTP. None for `code`: its
    /// components come from callers and never reach the network.
    http_linkers: [Linker<CallState>; 3],
}

impl Sandbox {
    /// The world's linker, with `wasi:http` when `http` (`None`: the world never gets it).
    pub(crate) fn linker(&self, world: World, http: bool) -> Option<&Linker<CallState>> {
        let i = match world {
            World::Transformer => 0,
            World::Classifier => 1,
            World::Enricher => 2,
            World::Code if http => return None,
            World::Code => 3,
        };
        Some(if http {
            &self.http_linkers[i]
        } else {
            &self.linkers[i]
        })
    }
}

pub(crate) struct Engines {
    config: RuntimeConfig,
    epoch: Sandbox,
    fuel: OnceLock<Result<Sandbox, SandboxError>>,
    /// `None` when epoch checks are compiled out: nothing would read the epoch.
    ticker: Option<Arc<Ticker>>,
}

impl Engines {
    pub(crate) fn new(config: RuntimeConfig) -> Result<Self, SandboxError> {
        let epoch = build_sandbox(&config, Metering::Epoch)?;
        let ticker = config
            .epoch_interruption
            .then(|| Ticker::start(config.epoch_tick, epoch.engine.clone()));
        Ok(Self {
            config,
            epoch,
            fuel: OnceLock::new(),
            ticker,
        })
    }

    pub(crate) fn config(&self) -> &RuntimeConfig {
        &self.config
    }

    pub(crate) fn get(&self, metering: Metering) -> Result<&Sandbox, SandboxError> {
        match metering {
            Metering::Epoch => Ok(&self.epoch),
            Metering::Fuel => {
                let sandbox = self.fuel.get_or_init(|| {
                    let sandbox = build_sandbox(&self.config, Metering::Fuel)?;
                    if let Some(ticker) = &self.ticker {
                        ticker.add(sandbox.engine.clone());
                    }
                    Ok(sandbox)
                });
                sandbox.as_ref().map_err(Clone::clone)
            }
        }
    }
}

impl Drop for Engines {
    fn drop(&mut self) {
        if let Some(ticker) = &self.ticker {
            ticker.stop();
        }
    }
}

fn build_sandbox(config: &RuntimeConfig, metering: Metering) -> Result<Sandbox, SandboxError> {
    let mut wasm = engine_config(metering, config.epoch_interruption);
    let (engine, pooled) = if config.pooling {
        wasm.allocation_strategy(InstanceAllocationStrategy::Pooling(pool_config(config)));
        match Engine::new(&wasm) {
            Ok(engine) => (engine, true),
            Err(e) if config.allow_on_demand_fallback => {
                tracing::warn!(
                    "pooling allocator unavailable ({e:#}); allocating instances on demand as configured ([sandbox] allow_on_demand_fallback)"
                );
                wasm.allocation_strategy(InstanceAllocationStrategy::OnDemand);
                (
                    Engine::new(&wasm).map_err(|e| SandboxError::Engine(format!("{e:#}")))?,
                    false,
                )
            }
            Err(e) => {
                // Some environments cap virtual memory (ulimit -v) so the pool cannot be
                // reserved. Falling back silently would change how the host's memory is
                // bounded; the operator decides.
                return Err(SandboxError::Pool(format!("{e:#}")));
            }
        }
    } else {
        wasm.allocation_strategy(InstanceAllocationStrategy::OnDemand);
        (
            Engine::new(&wasm).map_err(|e| SandboxError::Engine(format!("{e:#}")))?,
            false,
        )
    };
    let cache_key = cache_key(&engine, metering, config.epoch_interruption);
    let [a, b, c, d] = World::ALL.map(|w| build_linker(&engine, w, false));
    let [e, f, g] = [World::Transformer, World::Classifier, World::Enricher]
        .map(|w| build_linker(&engine, w, true));
    Ok(Sandbox {
        engine,
        cache_key,
        pooled,
        linkers: [a?, b?, c?, d?],
        http_linkers: [e?, f?, g?],
    })
}

fn engine_config(metering: Metering, epoch_interruption: bool) -> Config {
    let mut c = Config::new();
    c.wasm_component_model(true)
        .epoch_interruption(epoch_interruption)
        .consume_fuel(metering == Metering::Fuel)
        .max_wasm_stack(MAX_WASM_STACK)
        .async_stack_size(ASYNC_STACK)
        // Proposals no guest needs stay off: less code behind the sandbox boundary, and
        // the 2026 advisories cluster in exactly these (research/reliability.md §1.4).
        .wasm_memory64(false)
        .wasm_gc(false)
        .wasm_exceptions(false)
        .wasm_stack_switching(false)
        .wasm_threads(false)
        .shared_memory(false)
        // Component-model async (and with it WASI p3 streams and futures) stays off for
        // guests: the source of GHSA-32h6, -xrvr and -9pvw, and nothing here needs it.
        .concurrency_support(false)
        .wasm_backtrace_details(WasmBacktraceDetails::Disable)
        .cranelift_opt_level(OptLevel::Speed)
        .parallel_compilation(true);
    // For profiling guests with `perf`: names for JIT code in /tmp/perf-<pid>.map. It changes
    // no generated code, so compiled code stays valid in the cache.
    if std::env::var_os("CONTEXTWORKER_PERFMAP").is_some() {
        c.profiler(wasmtime::ProfilingStrategy::PerfMap);
    }
    c
}

fn pool_config(config: &RuntimeConfig) -> PoolingAllocationConfig {
    let n = config.max_concurrent_instances.max(1);
    let mut pool = PoolingAllocationConfig::new();
    pool.total_component_instances(n)
        .total_core_instances(n.saturating_mul(8))
        .total_memories(n.saturating_mul(2))
        .total_tables(n.saturating_mul(8))
        .total_stacks(n)
        .max_core_instances_per_component(POOL_INSTANCES_PER_COMPONENT)
        .max_memories_per_component(POOL_MEMORIES_PER_COMPONENT)
        .max_tables_per_component(POOL_TABLES_PER_COMPONENT)
        .max_memory_size(usize::try_from(config.max_memory_bytes).unwrap_or(usize::MAX));
    pool
}

fn build_linker(
    engine: &Engine,
    world: World,
    http: bool,
) -> Result<Linker<CallState>, SandboxError> {
    let mut linker = Linker::<CallState>::new(engine);
    let link = |r: wasmtime::Result<()>| {
        r.map_err(|e| SandboxError::Linker {
            world,
            message: format!("{e:#}"),
        })
    };
    link(wasmtime_wasi::p2::add_to_linker_async(&mut linker))?;
    if http {
        link(wasmtime_wasi_http::p2::add_only_http_to_linker_async(
            &mut linker,
        ))?;
    }
    match world {
        World::Transformer => {
            link(bindings::transformer::Transformer::add_to_linker::<
                _,
                HasSelf<CallState>,
            >(&mut linker, |s| s))?;
        }
        World::Classifier => {
            link(bindings::classifier::Classifier::add_to_linker::<
                _,
                HasSelf<CallState>,
            >(&mut linker, |s| s))?;
        }
        World::Enricher => {
            link(bindings::enricher::Enricher::add_to_linker::<
                _,
                HasSelf<CallState>,
            >(&mut linker, |s| s))?;
        }
        World::Code => {
            link(bindings::code::Code::add_to_linker::<_, HasSelf<CallState>>(&mut linker, |s| s))?;
        }
    }
    Ok(linker)
}

/// A stable digest of everything that makes compiled code valid for this engine: wasmtime's
/// own compatibility hash (version, target, tunables) plus our metering class and whether
/// epoch checks are compiled in.
fn cache_key(engine: &Engine, metering: Metering, epoch_interruption: bool) -> String {
    struct ShaHasher(Sha256);
    impl std::hash::Hasher for ShaHasher {
        fn finish(&self) -> u64 {
            0
        }
        fn write(&mut self, bytes: &[u8]) {
            self.0.update(bytes);
        }
    }
    let mut hasher = ShaHasher(Sha256::new());
    std::hash::Hash::hash(&engine.precompile_compatibility_hash(), &mut hasher);
    hasher.0.update(format!("{metering:?}"));
    // Only the non-default setting adds input, so keys (and caches) written before the
    // flag existed stay valid; code without epoch checks must never be served to an engine
    // that relies on them to stop guests.
    if !epoch_interruption {
        hasher.0.update(b"no-epoch-interruption");
    }
    hex::encode(&hasher.0.finalize()[..8])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_without_epoch_checks_is_cached_apart() {
        let sandbox = |epoch_interruption| {
            let config = RuntimeConfig {
                pooling: false,
                epoch_interruption,
                ..RuntimeConfig::default()
            };
            build_sandbox(&config, Metering::Epoch).expect("engine builds")
        };
        let (on, off) = (sandbox(true), sandbox(false));
        assert!(on.engine.get_epoch_interruption());
        assert!(!off.engine.get_epoch_interruption());
        assert_ne!(on.cache_key, off.cache_key);
    }

    #[test]
    fn guests_cannot_use_component_model_async_threads_or_gc() {
        let engine = Engine::new(&engine_config(Metering::Epoch, true)).expect("engine");
        let refused = [
            // An async lift (component-model async, the road to WASI p3 streams).
            (
                "component model async",
                r#"(component
                (core module $m
                    (func (export "f") (result i32) i32.const 0)
                    (func (export "cb") (param i32 i32 i32) (result i32) i32.const 0))
                (core instance $i (instantiate $m))
                (func (export "f") (canon lift (core func $i "f") async (callback (core func $i "cb")))))"#,
            ),
            // Shared memory and atomics (threads).
            (
                "threads must be enabled",
                r#"(component (core module (memory 1 1 shared)))"#,
            ),
            // GC types.
            (
                "without the gc feature",
                r#"(component (core module (type (struct))))"#,
            ),
        ];
        for (why, text) in refused {
            let err = wasmtime::component::Component::new(&engine, text)
                .map(|_| ())
                .expect_err(text);
            let message = format!("{err:#}");
            assert!(message.contains(why), "{text}: {message}");
        }
    }
}
