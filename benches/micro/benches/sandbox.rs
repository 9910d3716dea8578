//! Criterion benchmarks of the sandbox's performance goals (issue #7).
//!
//! `cargo bench -p contextworker-bench --bench sandbox`
//!
//! Criterion times each side of a comparison in its own block, minutes apart, which on this
//! shared machine can move absolute figures more than the effect being measured. So after
//! each comparison group the bench also runs the two sides interleaved and prints the ratio
//! the goal is stated in, and after the call-overhead bench it prints p50/p99 from
//! individual calls (criterion reports means and medians of batches only).

use std::time::Duration;

use contextworker_bench::{CompileCache, EpochCost, NoopCall, goals, tokio_runtime};
use criterion::{Criterion, SamplingMode, criterion_group, criterion_main};

const CALL_WARMUP: usize = 200;
const CALL_SAMPLES: usize = 2_000;
const PAIRS: usize = 5;
const EPOCH_OFFERS: usize = 20_000;

fn call_overhead(c: &mut Criterion) {
    let rt = tokio_runtime();
    let call = rt.block_on(NoopCall::new());
    c.bench_function("call_overhead/noop", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    total += call.once().await;
                }
                total
            })
        });
    });
    let lat = rt.block_on(call.latencies(CALL_WARMUP, CALL_SAMPLES));
    let (p50, p99) = (lat.percentile(50.0), lat.percentile(99.0));
    println!(
        "call_overhead/noop: {} single calls: p50 {p50:?} (goal ≤ {:?}), p99 {p99:?} (goal ≤ {:?}), max {:?}",
        lat.len(),
        goals::CALL_P50,
        goals::CALL_P99,
        lat.max(),
    );
}

fn compile_cache(c: &mut Criterion) {
    let rt = tokio_runtime();
    let cache = rt.block_on(CompileCache::new());
    let mut group = c.benchmark_group("compile_cache");
    // A compile takes hundreds of milliseconds: one load per iteration, ten samples.
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(10));
    group.bench_function("uncached", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    total += cache.uncached().await;
                }
                total
            })
        });
    });
    group.bench_function("cached", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    total += cache.cached().await;
                }
                total
            })
        });
    });
    group.finish();
    let paired = rt.block_on(cache.pairs(PAIRS));
    println!(
        "compile_cache: {PAIRS} interleaved pairs: cached {:?} ÷ uncached {:?} = {:.4} (goal ≤ {:.4})",
        paired.median_subject(),
        paired.median_baseline(),
        paired.ratio_of_medians(),
        goals::CACHE_RATIO,
    );
}

fn epoch_interruption(c: &mut Criterion) {
    let rt = tokio_runtime();
    let epoch = rt.block_on(EpochCost::new(EPOCH_OFFERS));
    let mut group = c.benchmark_group("epoch_interruption");
    // A parse takes about half a second: one per iteration, ten samples a side.
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(10));
    for (name, on) in [("on", true), ("off", false)] {
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        total += epoch.parse(on).await.elapsed;
                    }
                    total
                })
            });
        });
    }
    group.finish();
    let paired = rt.block_on(epoch.pairs(PAIRS));
    println!(
        "epoch_interruption: {PAIRS} interleaved pairs: on {:?}, off {:?}, median of on ÷ off ratios {:.3} (goal ≤ {:.2})",
        paired.median_subject(),
        paired.median_baseline(),
        paired.median_pair_ratio(),
        goals::EPOCH_RATIO,
    );
}

criterion_group!(benches, call_overhead, compile_cache, epoch_interruption);
criterion_main!(benches);
