//! A guest returning far more than its output cap costs the host nothing beyond the guest's own
//! memory: the result is refused while wasmtime lifts it, not copied and then measured. One test
//! per binary, so no other test's allocations blur the measurement.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;

use common::{
    assert_still_serves, assert_transfer_too_large, memory_limits, run_measuring_rss,
    runtime_with_hostile,
};
use contextworker_runtime::MIB;

#[tokio::test]
async fn a_100_mib_result_is_not_copied_into_the_host() {
    let (rt, guest) = runtime_with_hostile().await;
    assert_still_serves(&rt, &guest).await;
    let limits = memory_limits(256, 20_000);
    let (outcome, growth) = run_measuring_rss(&rt, &guest, limits, "huge-output:100").await;
    assert_transfer_too_large(&outcome);
    // The guest's own string is 100 MiB of its linear memory (host memory, too); a copy into
    // the host would add another 100 MiB on top.
    assert!(
        growth.peak < 150 * MIB,
        "host RSS grew by {} MiB for a 100 MiB result",
        growth.peak / MIB
    );
    assert_still_serves(&rt, &guest).await;
}
