//! Measurements behind the sandbox's performance goals, shared by the criterion bench
//! (`cargo bench -p contextworker-bench`) and the one-shot goal check
//! (`cargo run --release -p contextworker-bench --bin goals`), so both report the same thing.
//!
//! This machine is small and shared, so absolute times drift by tens of percent between
//! runs. Every comparison therefore runs its two sides alternately in one process and is
//! reported as a ratio; only the call-overhead goal is stated in absolute time.

use std::io::Cursor;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use contextworker_runtime::{
    CallSpec, Counting, Data, FeedInput, Limits, LoadedComponent, Metering, Runtime, RuntimeConfig,
};
use contextworker_types::World;

/// The tokio runtime the host itself uses: multi-threaded, one worker per core of this
/// 2-core machine, timers on (every call runs under a timeout).
pub fn tokio_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime starts")
}

/// A compile cache kept between bench runs: the fixtures that only need a component loaded
/// start in milliseconds instead of recompiling it every time.
pub fn warm_cache_dir() -> PathBuf {
    contextworker_test_support::target_dir().join("bench-compile-cache")
}

fn sandbox(config: RuntimeConfig) -> Arc<Runtime> {
    Runtime::new(config).expect("sandbox starts")
}

async fn load(runtime: &Runtime, package: &str, world: World) -> Arc<LoadedComponent> {
    let path = contextworker_test_support::guest(package);
    runtime
        .load_file(&path, world, Metering::Epoch)
        .await
        .unwrap_or_else(|e| panic_with(&format!("{package} loads: {e}")))
}

#[allow(clippy::panic)]
pub fn panic_with(message: &str) -> ! {
    // A benchmark whose subject fails measures nothing; stopping loudly beats a bogus figure.
    panic!("{message}")
}

/// Individual timings, sorted, for percentiles criterion does not report.
#[derive(Debug, Clone)]
pub struct Latencies {
    sorted: Vec<Duration>,
}

impl Latencies {
    pub fn new(mut samples: Vec<Duration>) -> Self {
        assert!(!samples.is_empty(), "no samples");
        samples.sort_unstable();
        Self { sorted: samples }
    }

    pub fn len(&self) -> usize {
        self.sorted.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sorted.is_empty()
    }

    /// Nearest-rank percentile, `p` in (0, 100]: the smallest sample with at least p% of
    /// samples at or below it, so p99 of 2,000 samples is the 1,980th.
    pub fn percentile(&self, p: f64) -> Duration {
        let n = self.sorted.len();
        let rank = ((p / 100.0) * n as f64).ceil() as usize;
        self.sorted[rank.clamp(1, n) - 1]
    }

    pub fn max(&self) -> Duration {
        self.sorted[self.sorted.len() - 1]
    }
}

/// Two sides of a comparison timed alternately, pair by pair.
#[derive(Debug, Clone, Default)]
pub struct Paired {
    /// The side the goal is about (cached load, epoch checks on).
    pub subject: Vec<Duration>,
    /// What it is compared against (uncached load, epoch checks off).
    pub baseline: Vec<Duration>,
}

impl Paired {
    pub fn median_subject(&self) -> Duration {
        median(&self.subject)
    }

    pub fn median_baseline(&self) -> Duration {
        median(&self.baseline)
    }

    /// subject ÷ baseline of the medians: robust when one side is orders of magnitude
    /// smaller and its pairs are not comparable one by one.
    pub fn ratio_of_medians(&self) -> f64 {
        self.median_subject().as_secs_f64() / self.median_baseline().as_secs_f64()
    }

    /// subject ÷ baseline within each pair: both ran within a second of each other, so
    /// drift of the machine's speed cancels.
    pub fn pair_ratios(&self) -> Vec<f64> {
        self.subject
            .iter()
            .zip(&self.baseline)
            .map(|(s, b)| s.as_secs_f64() / b.as_secs_f64())
            .collect()
    }

    pub fn median_pair_ratio(&self) -> f64 {
        let mut ratios = self.pair_ratios();
        ratios.sort_by(f64::total_cmp);
        ratios[ratios.len() / 2]
    }
}

fn median(samples: &[Duration]) -> Duration {
    let mut sorted = samples.to_vec();
    sorted.sort_unstable();
    sorted[sorted.len() / 2]
}

/// Goal 1: a warm call of a no-op export. The component is loaded once (its `InstancePre`
/// exists); each call pays for a fresh store, instantiation, the call and the teardown.
pub struct NoopCall {
    runtime: Arc<Runtime>,
    component: Arc<LoadedComponent>,
    spec: CallSpec,
}

impl NoopCall {
    /// `hostile` answers the input "ok" with "ok" before doing anything else.
    pub const GUEST: &str = "hostile";

    /// The default sandbox settings (pooling allocator on), as the host runs them.
    pub async fn new() -> Self {
        let runtime = sandbox(RuntimeConfig {
            cache_dir: Some(warm_cache_dir()),
            ..RuntimeConfig::default()
        });
        let component = load(&runtime, Self::GUEST, World::Code).await;
        let spec = CallSpec::new(Self::GUEST, "bench", Limits::for_world(World::Code));
        Self {
            runtime,
            component,
            spec,
        }
    }

    pub fn is_pooled(&self) -> bool {
        self.runtime.is_pooled()
    }

    /// One call, timed from the host's side.
    pub async fn once(&self) -> Duration {
        let input = Data::Text("ok".into());
        let started = Instant::now();
        let outcome = self
            .runtime
            .run_code(&self.component, &self.spec, input)
            .await;
        let elapsed = started.elapsed();
        match outcome.result {
            Ok(Data::Text(out)) if out == "ok" => elapsed,
            other => panic_with(&format!("the no-op call answered {other:?}")),
        }
    }

    /// `samples` single-call timings after `warmup` untimed calls (page faults in the pool
    /// slots, lazy init in wasmtime and tokio).
    pub async fn latencies(&self, warmup: usize, samples: usize) -> Latencies {
        for _ in 0..warmup {
            self.once().await;
        }
        let mut timings = Vec::with_capacity(samples);
        for _ in 0..samples {
            timings.push(self.once().await);
        }
        Latencies::new(timings)
    }
}

/// Goal 2: loading a component whose machine code is in the compile cache versus compiling it.
/// One sandbox (one engine) does both; a miss is made by emptying its cache directory, so the
/// miss also pays for writing the artifact, as a real first start does.
pub struct CompileCache {
    runtime: Arc<Runtime>,
    dir: tempfile::TempDir,
    bytes: Vec<u8>,
}

impl CompileCache {
    /// Large enough (≈500 KB) that compiling dominates the fixed costs of a load.
    pub const GUEST: &str = "yml";

    /// Ready to measure: one compile has run, so the process's first-compile costs (the
    /// compiler's lazy setup, its first page faults) are not in any timed load.
    pub async fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let runtime = sandbox(RuntimeConfig {
            cache_dir: Some(dir.path().join("cache")),
            ..RuntimeConfig::default()
        });
        let bytes = std::fs::read(contextworker_test_support::guest(Self::GUEST))
            .expect("component readable");
        let fixture = Self {
            runtime,
            dir,
            bytes,
        };
        fixture.uncached().await;
        fixture
    }

    pub fn component_bytes(&self) -> usize {
        self.bytes.len()
    }

    fn forget_compiled(&self) {
        // The runtime owns the layout inside its cache directory; removing everything under
        // the root (and keeping the root, whose permissions it checked at start) is a miss
        // whatever that layout is.
        let root = self.dir.path().join("cache");
        for entry in std::fs::read_dir(&root).expect("cache dir listable") {
            let path = entry.expect("cache entry").path();
            if path.is_dir() {
                std::fs::remove_dir_all(&path).expect("cache entry removable");
            } else {
                std::fs::remove_file(&path).expect("cache entry removable");
            }
        }
    }

    async fn timed_load(&self, expect_cached: bool) -> Duration {
        let bytes = self.bytes.clone();
        let started = Instant::now();
        let loaded = self
            .runtime
            .load(Self::GUEST, bytes, World::Transformer, Metering::Epoch)
            .await
            .unwrap_or_else(|e| panic_with(&format!("{} loads: {e}", Self::GUEST)));
        let elapsed = started.elapsed();
        assert_eq!(
            loaded.stats().from_cache,
            expect_cached,
            "the load did not take the intended path"
        );
        elapsed
    }

    /// A load that compiles (and stores the result).
    pub async fn uncached(&self) -> Duration {
        self.forget_compiled();
        self.timed_load(false).await
    }

    /// A load served by the cache.
    pub async fn cached(&self) -> Duration {
        if !self.is_populated() {
            self.timed_load(false).await;
        }
        self.timed_load(true).await
    }

    fn is_populated(&self) -> bool {
        std::fs::read_dir(self.dir.path().join("cache"))
            .map(|mut d| d.next().is_some())
            .unwrap_or(false)
    }

    /// Uncached, cached, uncached, cached, …: subject = cached, baseline = uncached.
    pub async fn pairs(&self, pairs: usize) -> Paired {
        let mut paired = Paired::default();
        for _ in 0..pairs {
            paired.baseline.push(self.uncached().await);
            paired.subject.push(self.cached().await);
        }
        paired
    }
}

/// Goal 3: the same parse with epoch checks compiled in (the default) and compiled out.
pub struct EpochCost {
    on: (Arc<Runtime>, Arc<LoadedComponent>),
    off: (Arc<Runtime>, Arc<LoadedComponent>),
    feed: Arc<[u8]>,
    offers: usize,
}

/// What one parse produced, to check both settings did the same work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parse {
    pub elapsed: Duration,
    pub products: u64,
}

impl EpochCost {
    pub const GUEST: &str = "yml";

    /// A generated YML feed of `offers` offers (fixed seed), held in memory so disk reads do
    /// not blur the comparison.
    pub async fn new(offers: usize) -> Self {
        let mut feed = Vec::new();
        contextworker_test_support::feedgen::write_yml(&mut feed, offers, 42)
            .expect("feed generates");
        let with_epochs = |epoch_interruption| {
            sandbox(RuntimeConfig {
                cache_dir: Some(warm_cache_dir()),
                epoch_interruption,
                ..RuntimeConfig::default()
            })
        };
        let (on, off) = (with_epochs(true), with_epochs(false));
        let on_component = load(&on, Self::GUEST, World::Transformer).await;
        let off_component = load(&off, Self::GUEST, World::Transformer).await;
        Self {
            on: (on, on_component),
            off: (off, off_component),
            feed: feed.into(),
            offers,
        }
    }

    pub fn offers(&self) -> usize {
        self.offers
    }

    pub fn feed_bytes(&self) -> usize {
        self.feed.len()
    }

    /// One full parse, products drained by a consumer task as the host's activity does.
    pub async fn parse(&self, epoch_interruption: bool) -> Parse {
        let (runtime, component) = if epoch_interruption {
            &self.on
        } else {
            &self.off
        };
        let spec = CallSpec::new(Self::GUEST, "bench", Limits::for_world(World::Transformer));
        let input = FeedInput::from_reader(
            Cursor::new(Arc::clone(&self.feed)),
            Some(self.feed.len() as u64),
        );
        let started = Instant::now();
        let (outcome, counted) = runtime
            .transform_into(component, &spec, input, Counting::default())
            .await;
        let products = counted.expect("consumer finishes").products;
        let elapsed = started.elapsed();
        if let Err(e) = outcome.result {
            panic_with(&format!("the parse failed: {e}"));
        }
        Parse { elapsed, products }
    }

    /// Pairs of parses, on and off, alternating which goes first so neither side always runs
    /// on a cache the other warmed: subject = on, baseline = off.
    pub async fn pairs(&self, pairs: usize) -> Paired {
        let mut paired = Paired::default();
        for i in 0..pairs {
            let (on, off) = if i % 2 == 0 {
                let on = self.parse(true).await;
                (on, self.parse(false).await)
            } else {
                let off = self.parse(false).await;
                (self.parse(true).await, off)
            };
            assert_eq!(
                on.products, off.products,
                "epoch checks changed what the parser produced"
            );
            paired.subject.push(on.elapsed);
            paired.baseline.push(off.elapsed);
        }
        paired
    }
}

/// The goals, as issue #7 states them.
/// Hot swap as a worker sees it: a modules directory watched with the worker's default
/// debounce, a new version of `yml` landed by rename, timed until the registry serves it.
pub struct HotSwap {
    _root: tempfile::TempDir,
    module_dir: PathBuf,
    live: Arc<contextworker_registry::LiveModules>,
    stop: contextworker_runtime::CancellationToken,
    yml: Vec<u8>,
    feed: Arc<[u8]>,
    landed: u32,
}

impl HotSwap {
    pub const GUEST: &'static str = "yml";
    /// The worker's `--watch-debounce-ms` default.
    pub const DEBOUNCE: Duration = Duration::from_millis(200);

    pub async fn new() -> Self {
        let root = tempfile::tempdir().expect("temp dir");
        let repo = contextworker_test_support::workspace_root().join("modules/yml");
        let module_dir = root.path().join("modules/yml");
        std::fs::create_dir_all(module_dir.join("fixtures")).expect("module dir");
        for f in ["basic.xml", "no-offers-wrapper.xml"] {
            std::fs::copy(
                repo.join("fixtures").join(f),
                module_dir.join("fixtures").join(f),
            )
            .expect("fixture");
        }
        std::fs::copy(repo.join("module.toml"), module_dir.join("module.toml")).expect("manifest");
        let yml = std::fs::read(contextworker_test_support::guest(Self::GUEST)).expect("yml");
        std::fs::write(module_dir.join("yml.wasm"), &yml).expect("component");
        let runtime = Runtime::new(RuntimeConfig {
            cache_dir: Some(root.path().join("compiled")),
            ..RuntimeConfig::default()
        })
        .expect("runtime");
        let (live, _) = contextworker_registry::LiveModules::start(
            runtime,
            &root.path().join("modules"),
            None,
            &contextworker_types::DataDir::new(root.path().join("data")),
            None,
            false,
        )
        .await
        .expect("modules start");
        let stop = contextworker_runtime::CancellationToken::new();
        contextworker_registry::watch(
            Arc::clone(&live),
            Self::DEBOUNCE,
            Duration::from_secs(3600),
            stop.clone(),
        )
        .expect("watching");
        let mut feed = Vec::new();
        contextworker_test_support::feedgen::write_yml(&mut feed, 20_000, 7).expect("feed");
        Self {
            _root: root,
            module_dir,
            live,
            stop,
            yml,
            feed: Arc::from(feed),
            landed: 0,
        }
    }

    /// Land a version never seen before (so it is compiled, not read from the cache) and
    /// time it until new calls get it. With `busy`, parses of a 20,000-offer feed run on the
    /// old version the whole time, as on a worker in the middle of a harvest.
    pub async fn swap(&mut self, busy: bool) -> Duration {
        self.landed += 1;
        let salt = std::process::id()
            .wrapping_mul(1000)
            .wrapping_add(self.landed);
        let next = contextworker_test_support::component_variant(&self.yml, salt);
        let digest = contextworker_types::Digest::of(&next);
        let load = busy.then(|| {
            let (live, feed) = (Arc::clone(&self.live), Arc::clone(&self.feed));
            let stop = contextworker_runtime::CancellationToken::new();
            let guard = stop.clone();
            let task = tokio::spawn(async move {
                while !stop.is_cancelled() {
                    let Some(module) = live.get(Self::GUEST) else {
                        return;
                    };
                    let input = FeedInput::from_reader(Cursor::new(Arc::clone(&feed)), None);
                    let _ = live
                        .runtime()
                        .transform_into(
                            &module.component,
                            &module.call_spec(&[]),
                            input,
                            Counting::default(),
                        )
                        .await;
                }
            });
            (guard, task)
        });
        let mut changes = self.live.subscribe();
        let landed = Instant::now();
        contextworker_test_support::land(&self.module_dir.join("yml.wasm"), &next);
        let visible = loop {
            if self
                .live
                .get(Self::GUEST)
                .is_some_and(|m| m.component.digest() == digest)
            {
                break landed.elapsed();
            }
            if tokio::time::timeout(Duration::from_secs(30), changes.changed())
                .await
                .is_err()
            {
                panic_with("the swap did not happen within 30 s");
            }
        };
        if let Some((stop, task)) = load {
            stop.cancel();
            let _ = task.await;
        }
        visible
    }
}

impl Drop for HotSwap {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

pub mod goals {
    use std::time::Duration;

    pub const CALL_P50: Duration = Duration::from_micros(50);
    pub const CALL_P99: Duration = Duration::from_micros(250);
    /// cached load time ÷ uncached load time
    pub const CACHE_RATIO: f64 = 1.0 / 20.0;
    /// parse time with epoch checks ÷ without
    pub const EPOCH_RATIO: f64 = 1.10;
    /// a new version landed in the modules directory → served to new calls, every swap
    pub const HOT_SWAP: Duration = Duration::from_secs(1);
    /// call overhead p50 with metrics recorded − without
    pub const METRICS_P50_GROWTH: Duration = Duration::from_micros(5);
    /// call overhead p50 with metrics, JSON logs and exported spans − with none of them
    pub const OBSERVED_P50_GROWTH: Duration = Duration::from_micros(5);
}
