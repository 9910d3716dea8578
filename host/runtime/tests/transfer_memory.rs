//! A guest returning far more than its output cap costs the host nothing beyond the guest's own
//! memory: the result is refused while wasmtime lifts it, not copied and then measured. One test
//! per binary, so no other test's allocations blur the measurement.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;

use common::{assert_still_serves, code_limits, hostile, run, runtime};
use contextworker_runtime::{CallError, Limits, MIB};
use contextworker_test_support::{peak_rss_bytes, rss_bytes};

#[tokio::test]
async fn a_100_mib_result_is_not_copied_into_the_host() {
    let rt = runtime();
    let guest = hostile(&rt).await;
    assert_still_serves(&rt, &guest).await;
    let before = rss_bytes();
    std::fs::write("/proc/self/clear_refs", "5").expect("can reset the RSS peak");
    let outcome = run(
        &rt,
        &guest,
        Limits {
            memory_bytes: 256 * MIB,
            ..code_limits(20_000)
        },
        "huge-output:100",
    )
    .await;
    let peak = peak_rss_bytes();
    assert!(
        matches!(outcome.result, Err(CallError::TransferTooLarge { .. })),
        "{:?}",
        outcome.result
    );
    // The guest's own string is 100 MiB of its linear memory (host memory, too); a copy into
    // the host would add another 100 MiB on top.
    let growth = peak.saturating_sub(before);
    assert!(
        growth < 150 * MIB,
        "host RSS grew by {} MiB for a 100 MiB result",
        growth / MIB
    );
    assert_still_serves(&rt, &guest).await;
}
