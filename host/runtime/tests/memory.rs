//! The memory limit holds on the host side too: a guest allocating without bound grows the
//! host's resident memory by no more than its limit plus a small margin. One test per binary,
//! so no other test's allocations blur the measurement.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;

use common::{assert_still_serves, memory_limits, run_measuring_rss, runtime_with_hostile};
use contextworker_runtime::{CallError, MIB};
use contextworker_test_support::rss_bytes;

#[tokio::test]
async fn a_memory_bomb_grows_host_rss_by_at_most_the_limit_plus_a_margin() {
    let (rt, guest) = runtime_with_hostile().await;
    assert_still_serves(&rt, &guest).await;

    let (limit, margin) = (64 * MIB, 16 * MIB);
    let (outcome, growth) =
        run_measuring_rss(&rt, &guest, memory_limits(64, 20_000), "alloc").await;
    assert!(
        matches!(outcome.result, Err(CallError::OutOfMemory { .. })),
        "{:?}",
        outcome.result
    );
    assert!(
        growth.peak <= limit + margin,
        "host RSS grew by {} MiB for a {} MiB limit",
        growth.peak / MIB,
        limit / MIB
    );
    assert!(
        growth.peak >= limit / 2,
        "the guest did not really allocate ({} MiB)",
        growth.peak / MIB
    );
    assert_still_serves(&rt, &guest).await;
    // The instance's memory is released when its store goes away.
    assert!(
        rss_bytes() < growth.before + margin,
        "memory was not returned after the call"
    );
}
