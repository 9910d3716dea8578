//! The memory limit holds on the host side too: a guest allocating without bound grows the
//! host's resident memory by no more than its limit plus a small margin. One test per binary,
//! so no other test's allocations blur the measurement.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;

use common::{assert_still_serves, code_limits, hostile, run, runtime};
use contextworker_runtime::{CallError, Limits, MIB};
use contextworker_test_support::{peak_rss_bytes, rss_bytes};

#[tokio::test]
async fn a_memory_bomb_grows_host_rss_by_at_most_the_limit_plus_a_margin() {
    let rt = runtime();
    let guest = hostile(&rt).await;
    assert_still_serves(&rt, &guest).await;

    let limit = 64 * MIB;
    let margin = 16 * MIB;
    let before = rss_bytes();
    // Reset the peak (VmHWM) so it measures this call alone (Linux ≥ 4.0, proc(5) clear_refs).
    std::fs::write("/proc/self/clear_refs", "5").expect("can reset the RSS peak");
    let outcome = run(
        &rt,
        &guest,
        Limits {
            memory_bytes: limit,
            ..code_limits(20_000)
        },
        "alloc",
    )
    .await;
    let peak = peak_rss_bytes();
    assert!(
        matches!(outcome.result, Err(CallError::OutOfMemory { .. })),
        "{:?}",
        outcome.result
    );
    let growth = peak.saturating_sub(before);
    assert!(
        growth <= limit + margin,
        "host RSS grew by {} MiB for a {} MiB limit",
        growth / MIB,
        limit / MIB
    );
    assert!(
        growth >= limit / 2,
        "the guest did not really allocate ({} MiB)",
        growth / MIB
    );
    assert_still_serves(&rt, &guest).await;
    // The instance's memory is released when its store goes away.
    assert!(
        rss_bytes() < before + margin,
        "memory was not returned after the call"
    );
}
