//! CPU deadlines and cancellation. Kept in their own test binary: timing assertions should not
//! share the process with memory-hungry tests.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use common::{assert_still_serves, code_limits, run, runtime_with_hostile};
use contextworker_runtime::{CallError, CallSpec, CancellationToken, Data};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_infinite_loop_stops_within_its_deadline_plus_100ms() {
    let (rt, guest) = runtime_with_hostile().await;
    for deadline_ms in [200, 500] {
        let started = Instant::now();
        let outcome = run(&rt, &guest, code_limits(deadline_ms), "loop").await;
        let elapsed = started.elapsed();
        assert!(
            matches!(outcome.result, Err(CallError::Timeout { .. })),
            "{:?}",
            outcome.result
        );
        assert!(
            elapsed < Duration::from_millis(deadline_ms + 100),
            "stopped after {elapsed:?}, deadline {deadline_ms} ms"
        );
        assert!(
            elapsed >= Duration::from_millis(deadline_ms),
            "stopped early: {elapsed:?}"
        );
    }
    assert_still_serves(&rt, &guest).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_looping_guest_does_not_block_other_calls() {
    let (rt, guest) = runtime_with_hostile().await;
    let looping = {
        let (rt, guest) = (rt.clone(), guest.clone());
        tokio::spawn(async move { run(&rt, &guest, code_limits(1_500), "loop").await })
    };
    // A head start for the loop, not a wait: nothing outside the runtime shows a guest has
    // started, and the loop runs for 1.5 s, far past these 100 ms.
    tokio::time::sleep(Duration::from_millis(100)).await;
    // Guests yield to the executor every epoch tick, so quick calls go through meanwhile.
    let started = Instant::now();
    for _ in 0..5 {
        assert_still_serves(&rt, &guest).await;
    }
    assert!(
        started.elapsed() < Duration::from_millis(1_000),
        "quick calls waited {:?}",
        started.elapsed()
    );
    let outcome = looping.await.expect("join");
    assert!(matches!(outcome.result, Err(CallError::Timeout { .. })));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancellation_stops_a_running_guest() {
    let (rt, guest) = runtime_with_hostile().await;
    let cancel = CancellationToken::new();
    let spec = CallSpec::new("hostile", "0.1.0", code_limits(10_000)).with_cancel(cancel.clone());
    let task = {
        let (rt, guest) = (rt.clone(), guest.clone());
        tokio::spawn(async move { rt.run_code(&guest, &spec, Data::Text("loop".into())).await })
    };
    // Let the guest get into its loop so the cancellation stops a running guest. Nothing
    // outside the runtime shows it has started; its 10 s deadline is far past these 200 ms.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let cancelled_at = Instant::now();
    cancel.cancel();
    let outcome = task.await.expect("join");
    assert!(
        matches!(outcome.result, Err(CallError::Cancelled)),
        "{:?}",
        outcome.result
    );
    assert!(
        cancelled_at.elapsed() < Duration::from_millis(100),
        "took {:?}",
        cancelled_at.elapsed()
    );
    assert_still_serves(&rt, &guest).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exhausted_instance_pool_is_a_retryable_busy_error() {
    use contextworker_runtime::{Metering, Runtime, RuntimeConfig};
    use contextworker_types::World;
    let rt = Runtime::new(RuntimeConfig {
        max_concurrent_instances: 2,
        ..RuntimeConfig::default()
    })
    .unwrap();
    let guest = rt
        .load_file(
            &contextworker_test_support::guest("hostile"),
            World::Code,
            Metering::Epoch,
        )
        .await
        .unwrap();
    let busy: Vec<_> = (0..2)
        .map(|_| {
            let (rt, guest) = (rt.clone(), guest.clone());
            tokio::spawn(async move { run(&rt, &guest, code_limits(5_000), "busy:700").await })
        })
        .collect();
    // A head start for the two busy calls to take both slots, not a wait: polling with calls
    // of our own would take a slot one of them needs. They hold the slots for 700 ms.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let outcome = run(&rt, &guest, code_limits(5_000), "ok").await;
    let err = outcome.result.expect_err("no slot is free");
    assert!(matches!(err, CallError::Busy(_)), "{err:?}");
    assert!(err.is_retryable());
    for task in busy {
        assert_eq!(
            task.await.unwrap().result.unwrap(),
            Data::Text("done".into())
        );
    }
    assert_still_serves(&rt, &guest).await;
}
