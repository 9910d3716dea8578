//! A quick check of the sandbox's performance goals: prints one markdown table, a row per
//! goal, with pass or fail. Takes about half a minute; `cargo bench -p contextworker-bench`
//! measures the same things at length with criterion's statistics.
//!
//! `cargo run --release -p contextworker-bench --bin goals`

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use contextworker_bench::{CompileCache, EpochCost, HotSwap, NoopCall, goals, tokio_runtime};

/// Enough calls that p99 rests on 50 samples rather than a handful.
const CALL_WARMUP: usize = 500;
const CALL_SAMPLES: usize = 5_000;
/// An uncached load of `yml` takes a few hundred milliseconds, a parse of the feed about half
/// a second: these counts keep each comparison to a few seconds.
const CACHE_PAIRS: usize = 7;
const EPOCH_PAIRS: usize = 9;
const EPOCH_OFFERS: usize = 20_000;
/// Each swap compiles a new version (a few hundred milliseconds): five idle, five loaded.
const SWAPS: usize = 5;
/// Metrics off and on, alternated: this many pairs of this many calls each.
const METRICS_PAIRS: usize = 9;
const METRICS_CALLS: usize = 1_000;

struct Row {
    goal: &'static str,
    measure: String,
    target: String,
    measured: String,
    pass: bool,
}

fn main() {
    let rt = tokio_runtime();
    // Installed before the first call, as the host installs it: tracing caches each callsite's
    // interest when it is first hit, so a subscriber set later (even as the thread's default)
    // is never asked about the guest-call span. Its layers see spans only while OBSERVING.
    let observed_spans = {
        let _inside = rt.enter();
        install_observer()
    };
    let rows = rt.block_on(async {
        let mut rows = Vec::new();

        let call = NoopCall::new().await;
        let pooled = call.is_pooled();
        let lat = call.latencies(CALL_WARMUP, CALL_SAMPLES).await;
        // What recording a call in the metrics adds to it (as `serve --metrics-addr` does).
        let growth = p50_growth(&call, metrics).await;
        // Everything a host observing itself does per call (`serve --metrics-addr --log-json`
        // with `OTEL_ENABLED`): metrics, the JSON log at info, and the span exporter (to a
        // collector that refuses connections: its batches fail off the call path, as with a
        // collector that is down).
        let observed_growth = p50_growth(&call, |on| {
            metrics(on);
            OBSERVING.store(on, Ordering::Relaxed);
        })
        .await;
        // A figure for calls that were not observed would say nothing: every call made a span.
        let made = observed_spans.load(Ordering::Relaxed);
        assert!(
            made >= (METRICS_PAIRS * METRICS_CALLS) as u64,
            "only {made} guest-call spans were observed"
        );
        drop(call);
        let (p50, p99) = (lat.percentile(50.0), lat.percentile(99.0));
        let pool = if pooled {
            "pooling allocator"
        } else {
            "on-demand allocator (pool unavailable)"
        };
        let measure = |stat: &str| {
            format!(
                "{stat} of {} warm calls of `{}` run(\"ok\"): fresh store + instantiate + call, {pool} (max {})",
                lat.len(),
                NoopCall::GUEST,
                micros(lat.max()),
            )
        };
        for (stat, value, goal) in [("p50", p50, goals::CALL_P50), ("p99", p99, goals::CALL_P99)] {
            rows.push(Row {
                goal: "call overhead",
                measure: measure(stat),
                target: format!("≤ {}", micros(goal)),
                measured: micros(value),
                pass: value <= goal,
            });
        }

        rows.push(growth_row(
            "metrics cost",
            "call overhead p50 with metrics recorded − without",
            &growth,
            goals::METRICS_P50_GROWTH,
        ));
        rows.push(growth_row(
            "observability cost",
            "call overhead p50 with metrics, JSON logs and OTLP spans − with none",
            &observed_growth,
            goals::OBSERVED_P50_GROWTH,
        ));

        let cache = CompileCache::new().await;
        let paired = cache.pairs(CACHE_PAIRS).await;
        let ratio = paired.ratio_of_medians();
        rows.push(Row {
            goal: "compile cache",
            measure: format!(
                "cached ÷ uncached load of `{}` ({} KB), ratio of medians of {CACHE_PAIRS} interleaved pairs ({} vs {})",
                CompileCache::GUEST,
                cache.component_bytes() / 1000,
                millis(paired.median_subject()),
                millis(paired.median_baseline()),
            ),
            target: "≤ 0.050 (1/20)".to_owned(),
            measured: format!("{ratio:.4} (1/{:.0})", 1.0 / ratio),
            pass: ratio <= goals::CACHE_RATIO,
        });
        drop(cache);

        let epoch = EpochCost::new(EPOCH_OFFERS).await;
        let paired = epoch.pairs(EPOCH_PAIRS).await;
        let ratios = paired.pair_ratios();
        let ratio = paired.median_pair_ratio();
        rows.push(Row {
            goal: "epoch interruption",
            measure: format!(
                "parse time on ÷ off, `{}` on {} offers ({:.1} MB), median of {EPOCH_PAIRS} interleaved pair ratios ({} vs {})",
                EpochCost::GUEST,
                epoch.offers(),
                epoch.feed_bytes() as f64 / 1e6,
                millis(paired.median_subject()),
                millis(paired.median_baseline()),
            ),
            target: format!("≤ {:.2}×", goals::EPOCH_RATIO),
            measured: format!(
                "{ratio:.3}× (min {:.3}, max {:.3})",
                ratios.iter().copied().fold(f64::INFINITY, f64::min),
                ratios.iter().copied().fold(0.0, f64::max),
            ),
            pass: ratio <= goals::EPOCH_RATIO,
        });
        drop(epoch);

        let mut swap = HotSwap::new().await;
        for busy in [false, true] {
            let mut times = Vec::new();
            for _ in 0..SWAPS {
                times.push(swap.swap(busy).await);
            }
            times.sort();
            let worst = times[times.len() - 1];
            rows.push(Row {
                goal: "hot swap",
                measure: format!(
                    "a new `{}` landed by rename → served to new calls, watcher debounce {} ms, {}; worst of {SWAPS} (median {})",
                    HotSwap::GUEST,
                    HotSwap::DEBOUNCE.as_millis(),
                    if busy {
                        "while parses of a 20,000-offer feed run"
                    } else {
                        "idle"
                    },
                    millis(times[times.len() / 2]),
                ),
                target: format!("≤ {}", millis(goals::HOT_SWAP)),
                measured: millis(worst),
                pass: worst <= goals::HOT_SWAP,
            });
        }
        rows
    });

    let cores = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    println!("cores: {cores}, date: {} (UTC)", today());
    println!();
    println!("| goal | measure | target | measured | pass/fail |");
    println!("|---|---|---|---|---|");
    for row in rows {
        println!(
            "| {} | {} | {} | {} | {} |",
            row.goal,
            row.measure,
            row.target,
            row.measured,
            if row.pass { "pass" } else { "FAIL" },
        );
    }
}

/// What switching observation on adds to a call: the p50 of a block of calls with `switch(true)`
/// minus the p50 of the block before it with `switch(false)`, for each of [`METRICS_PAIRS`]
/// interleaved pairs, sorted.
async fn p50_growth(call: &NoopCall, switch: impl Fn(bool)) -> Vec<f64> {
    let mut growth = Vec::new();
    for _ in 0..METRICS_PAIRS {
        switch(false);
        let off = call.latencies(50, METRICS_CALLS).await.percentile(50.0);
        switch(true);
        let on = call.latencies(50, METRICS_CALLS).await.percentile(50.0);
        growth.push(on.as_secs_f64() - off.as_secs_f64());
    }
    switch(false);
    growth.sort_by(f64::total_cmp);
    growth
}

/// The row of a [`p50_growth`] measurement: its median against `limit`.
fn growth_row(goal: &'static str, what: &str, growth: &[f64], limit: Duration) -> Row {
    let median = growth[growth.len() / 2];
    Row {
        goal,
        measure: format!(
            "{what}, median of {METRICS_PAIRS} interleaved pairs of {METRICS_CALLS} calls (min {:+.1} µs, max {:+.1} µs)",
            growth[0] * 1e6,
            growth[growth.len() - 1] * 1e6,
        ),
        target: format!("≤ +{}", micros(limit)),
        measured: format!("{:+.1} µs", median * 1e6),
        pass: median <= limit.as_secs_f64(),
    }
}

fn metrics(on: bool) {
    if on {
        contextworker_metrics::enable();
    } else {
        contextworker_metrics::disable();
    }
}

fn micros(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

fn millis(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

/// Today's date as YYYY-MM-DD, counted out from the Unix epoch: not worth a date crate.
fn today() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut days = secs / 86_400;
    let leap = |y: u64| (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400);
    let mut year = 1970;
    loop {
        let length = if leap(year) { 366 } else { 365 };
        if days < length {
            break;
        }
        days -= length;
        year += 1;
    }
    let february = if leap(year) { 29 } else { 28 };
    let months = [31, february, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    let mut month = 1;
    for length in months {
        if days < length {
            break;
        }
        days -= length;
        month += 1;
    }
    format!("{year}-{month:02}-{:02}", days + 1)
}

/// Counts the guest-call spans the observer sees.
struct SpanCount(Arc<AtomicU64>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for SpanCount {
    fn on_new_span(
        &self,
        attrs: &tracing::span::Attributes<'_>,
        _id: &tracing::span::Id,
        _ctx: tracing_subscriber::layer::Context<'_, S>,
    ) {
        if attrs.metadata().name() == "guest.call" {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Whether the observer's layers see anything now.
static OBSERVING: AtomicBool = AtomicBool::new(false);

/// Everything while [`OBSERVING`], nothing otherwise; asked per span and event: a callsite's
/// interest is cached when it is first hit, so it must stay "sometimes". Each layer's own
/// filter (the log's level, the exporter's targets) still applies.
struct Observing;

impl<S> tracing_subscriber::layer::Filter<S> for Observing {
    fn enabled(
        &self,
        _meta: &tracing::Metadata<'_>,
        _cx: &tracing_subscriber::layer::Context<'_, S>,
    ) -> bool {
        OBSERVING.load(Ordering::Relaxed)
    }

    fn callsite_enabled(
        &self,
        _meta: &'static tracing::Metadata<'static>,
    ) -> tracing::subscriber::Interest {
        tracing::subscriber::Interest::sometimes()
    }
}

/// Install for the process the subscriber of a host run with `--log-json` and `OTEL_ENABLED`:
/// JSON lines at the host's default level (to nowhere) and the span exporter (to a collector
/// that refuses connections: its batches fail off the call path, as with a collector that is
/// down), each enabled only while [`OBSERVING`]. Returns how many guest-call spans it saw.
fn install_observer() -> Arc<AtomicU64> {
    use tracing_subscriber::Layer as _;
    use tracing_subscriber::filter::FilterExt as _;
    use tracing_subscriber::layer::SubscriberExt as _;
    let telemetry = contextworker_telemetry::Telemetry::start(&contextworker_telemetry::Settings {
        enabled: true,
        endpoint: Some("http://127.0.0.1:9".to_owned()),
        service_name: "goals".to_owned(),
        service_version: "0".to_owned(),
    })
    .expect("the exporter starts")
    .expect("tracing is on");
    let spans = Arc::new(AtomicU64::new(0));
    let subscriber = tracing_subscriber::registry()
        .with(telemetry.layer().with_filter(Observing))
        .with(
            contextworker_telemetry::json_log_layer(std::io::sink).with_filter(
                // The host's default log filter (`host/cli/src/logs.rs`).
                tracing_subscriber::EnvFilter::new("info,wasmtime=warn,cranelift=warn")
                    .and(Observing),
            ),
        )
        .with(SpanCount(spans.clone()).with_filter(Observing));
    tracing::subscriber::set_global_default(subscriber).expect("the only subscriber");
    // The pipeline lives as long as the process: the benchmark ends with it.
    std::mem::forget(telemetry);
    spans
}
