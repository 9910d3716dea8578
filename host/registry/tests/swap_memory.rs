//! A thousand swaps in a loop: memory stays flat and the engine is never replaced. Its own
//! test binary, so no other test's allocations blur the resident-set figure.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;

use common::{Fixture, variant};
use contextworker_runtime::Metering;
use contextworker_test_support::rss_bytes;

const SWAPS: usize = 1000;
const WARM_UP: usize = 100;
/// Distinct versions cycled through: more than the registry keeps loaded, so old versions are
/// really dropped and loaded again.
const VARIANTS: u32 = 8;
/// What "flat" allows: allocator slack, not one leaked compiled module per swap (one is
/// about 1.5 MiB of code, so a leak would show as over 1 GiB).
const GROWTH_LIMIT: u64 = 32 * 1024 * 1024;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_swaps_keep_memory_flat_and_the_engine_the_same() {
    let fx = Fixture::new();
    let (live, _) = fx.start().await;
    let engines = (
        fx.runtime.engine_identity(Metering::Epoch),
        fx.runtime.engine_identity(Metering::Fuel),
    );
    let variants: Vec<Vec<u8>> = (0..VARIANTS)
        .map(|n| variant(&fx.yml_bytes, 100 + n))
        .collect();
    let mut warm = 0;
    for i in 0..SWAPS {
        if i == WARM_UP {
            warm = rss_bytes();
        }
        let bytes = &variants[i % variants.len()];
        fx.put_component(bytes);
        let report = live
            .reload(contextworker_registry::ReloadCause::Signal)
            .await;
        assert_eq!(report.swapped.len(), 1, "swap {i}: {report:?}");
        assert!(report.refused.is_empty(), "swap {i}: {report:?}");
    }
    let after = rss_bytes();
    let growth = after.saturating_sub(warm);
    println!(
        "RSS after {WARM_UP} swaps {:.1} MiB, after {SWAPS} {:.1} MiB (growth {:.1} MiB)",
        warm as f64 / 1048576.0,
        after as f64 / 1048576.0,
        growth as f64 / 1048576.0
    );
    assert!(
        growth < GROWTH_LIMIT,
        "memory grew by {growth} bytes over {} swaps",
        SWAPS - WARM_UP
    );
    assert_eq!(
        (
            fx.runtime.engine_identity(Metering::Epoch),
            fx.runtime.engine_identity(Metering::Fuel)
        ),
        engines,
        "the engine must live as long as the process"
    );
    assert_eq!(live.status().counters.swaps as usize, SWAPS);
    // The store keeps a bounded history.
    assert!(live.store().history("yml").len() <= contextworker_registry::KEEP_VERSIONS);
}
