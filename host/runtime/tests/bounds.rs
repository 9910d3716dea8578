//! Bounds on what a guest can make the host hold or write: log bytes, one crossing of the
//! boundary, error messages, the wall clock it sees, and the memory all calls reserve together.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::{
    assert_still_serves, assert_transfer_too_large, code_limits, hostile, memory_limits, run,
    runtime_with_hostile,
};
use contextworker_runtime::{
    CallError, CallSpec, Data, GuestErrorKind, Limits, MAX_ERROR_MESSAGE_BYTES, MIB, Runtime,
    RuntimeConfig,
};

#[tokio::test]
async fn guest_logs_count_against_the_output_budget() {
    let (rt, guest) = runtime_with_hostile().await;
    // Each record keeps 8 KiB of message and 32 fields of 1 KiB: about 40 KiB kept per record,
    // so a 1 MiB output budget is spent after a few dozen of the 1,000.
    let outcome = run(&rt, &guest, code_limits(10_000), "log-flood:1000").await;
    assert!(
        matches!(outcome.result, Err(CallError::OutputTooLarge { limit, .. }) if limit == MIB),
        "{:?}",
        outcome.result
    );
    // With room in the budget the call succeeds; past 1 MiB of log the rest is dropped.
    let outcome = run(
        &rt,
        &guest,
        Limits {
            max_output_bytes: 64 * MIB,
            ..code_limits(10_000)
        },
        "log-flood:1000",
    )
    .await;
    assert_eq!(outcome.result.unwrap(), Data::Text("logged".into()));
    assert_still_serves(&rt, &guest).await;
}

#[tokio::test]
async fn one_crossing_larger_than_the_budget_is_refused_while_it_is_lifted() {
    let (rt, guest) = runtime_with_hostile().await;
    let limits = memory_limits(256, 10_000);
    // A 64 MiB log message: wasmtime stops lifting it at the store's hostcall budget (the
    // call's output cap), before the host copies it.
    let outcome = run(&rt, &guest, limits.clone(), "log-huge:64").await;
    assert_transfer_too_large(&outcome);
    // The same for a result: 100 MiB returned is refused, not copied and then measured.
    let outcome = run(&rt, &guest, limits, "huge-output:100").await;
    assert_transfer_too_large(&outcome);
    assert_still_serves(&rt, &guest).await;
}

#[tokio::test]
async fn guest_error_messages_have_a_cap_of_their_own() {
    let (rt, guest) = runtime_with_hostile().await;
    // 512 KiB of message fits the transfer budget but not the message cap.
    let outcome = run(&rt, &guest, code_limits(10_000), "huge-error-kib:512").await;
    match outcome.result {
        Err(CallError::Guest(g)) => {
            assert_eq!(g.kind, GuestErrorKind::InvalidInput);
            assert!(
                g.message.len() <= MAX_ERROR_MESSAGE_BYTES + 32,
                "{}",
                g.message.len()
            );
            assert!(g.message.ends_with("[truncated]"));
        }
        other => panic!("expected a guest error, got {other:?}"),
    }
    // 8 MiB does not even get lifted.
    let outcome = run(&rt, &guest, code_limits(10_000), "huge-error-kib:8192").await;
    assert_transfer_too_large(&outcome);
}

#[tokio::test]
async fn guests_see_no_wall_clock_date() {
    let (rt, guest) = runtime_with_hostile().await;
    let outcome = run(&rt, &guest, code_limits(5_000), "wall-clock").await;
    let Ok(Data::Text(seconds)) = outcome.result else {
        panic!("{:?}", outcome.result)
    };
    let seconds: u64 = seconds.parse().unwrap();
    assert!(
        seconds < 5,
        "the guest saw {seconds} s since 1970: a real date"
    );
}

#[tokio::test]
async fn concurrent_calls_share_one_memory_budget() {
    let cache_dir = contextworker_test_support::target_dir().join("test-compile-cache");
    let rt = Runtime::new(RuntimeConfig {
        max_concurrent_instances: 8,
        cache_dir: Some(cache_dir),
        memory_budget_bytes: 96 * MIB,
        memory_wait: Duration::from_millis(200),
        ..RuntimeConfig::default()
    })
    .unwrap();
    let guest = hostile(&rt).await;
    let limits = memory_limits(64, 5_000);
    let spec = CallSpec::new("hostile", "0.1.0", limits.clone());
    // Two calls of 64 MiB do not fit a 96 MiB budget: the second waits 200 ms, then is busy.
    let first = rt.run_code(&guest, &spec, Data::Text("busy:1500".into()));
    let second = async {
        // A head start, not a wait: nothing outside the runtime shows the first call's
        // reservation, and that call holds it for 1.5 s, far past these 100 ms.
        tokio::time::sleep(Duration::from_millis(100)).await;
        rt.run_code(&guest, &spec, Data::Text("ok".into())).await
    };
    let (first, second) = tokio::join!(first, second);
    assert_eq!(first.result.unwrap(), Data::Text("done".into()));
    match second.result {
        Err(e @ CallError::Busy(_)) => {
            assert!(
                e.is_retryable() && e.to_string().contains("memory budget"),
                "{e}"
            );
        }
        other => panic!("expected SandboxBusy, got {other:?}"),
    }
    // Once the first call is done, its share is back.
    let again = rt.run_code(&guest, &spec, Data::Text("ok".into())).await;
    assert_eq!(again.result.unwrap(), Data::Text("ok".into()));
}

#[test]
fn an_instance_pool_that_cannot_be_reserved_needs_an_explicit_fallback() {
    // 100,000 instances with two 4 GiB memories each are far past the 128 TiB of address
    // space a process has on x86_64, so the pool cannot be reserved.
    let huge = RuntimeConfig {
        max_concurrent_instances: 100_000,
        max_memory_bytes: 4096 * MIB,
        ..RuntimeConfig::default()
    };
    let err = Runtime::new(huge.clone()).expect_err("refused without the opt-in");
    assert!(
        err.to_string().contains("allow_on_demand_fallback"),
        "{err}"
    );
    let rt = Runtime::new(RuntimeConfig {
        allow_on_demand_fallback: true,
        ..huge
    })
    .expect("starts on demand when the operator allows it");
    assert!(!rt.is_pooled());
}
