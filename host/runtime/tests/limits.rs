//! Each limit stops a misbehaving guest with a typed error, and the next call works.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;

use common::{
    assert_still_serves, assert_transfer_too_large, code_limits, memory_limits, run,
    runtime_with_hostile,
};
use contextworker_runtime::{CallError, Data, Limits, MIB, STDIO_CAPTURE_BYTES};

#[tokio::test]
async fn deep_recursion_traps_as_stack_overflow() {
    let (rt, guest) = runtime_with_hostile().await;
    for behaviour in ["recurse", "recurse-frames"] {
        let outcome = run(&rt, &guest, code_limits(5_000), behaviour).await;
        assert!(
            matches!(outcome.result, Err(CallError::StackOverflow)),
            "{behaviour}: {:?}",
            outcome.result
        );
        assert_still_serves(&rt, &guest).await;
    }
}

#[tokio::test]
async fn memory_bomb_stops_at_the_limit() {
    let (rt, guest) = runtime_with_hostile().await;
    let limits = memory_limits(32, 10_000);
    let outcome = run(&rt, &guest, limits, "alloc").await;
    match &outcome.result {
        Err(CallError::OutOfMemory { limit }) => assert_eq!(*limit, 32 * MIB),
        other => panic!("expected OutOfMemory, got {other:?}"),
    }
    assert!(
        outcome.receipt.peak_memory_bytes <= 32 * MIB,
        "{:?}",
        outcome.receipt
    );
    assert!(
        outcome.receipt.peak_memory_bytes > 16 * MIB,
        "the guest really allocated: {:?}",
        outcome.receipt
    );
    assert_still_serves(&rt, &guest).await;
}

#[tokio::test]
async fn huge_output_is_refused_with_its_size() {
    let (rt, guest) = runtime_with_hostile().await;
    // Just over the cap: lifted (within the transfer margin), measured, refused.
    let limit = MIB - 32 * 1024;
    let outcome = run(
        &rt,
        &guest,
        Limits {
            max_output_bytes: limit,
            ..code_limits(5_000)
        },
        "huge-output:1",
    )
    .await;
    match outcome.result {
        Err(CallError::OutputTooLarge {
            limit: l,
            attempted,
        }) => {
            assert_eq!(l, limit);
            assert_eq!(attempted, MIB);
        }
        other => panic!("expected OutputTooLarge, got {other:?}"),
    }
    // Far over it: refused while wasmtime lifts it, never copied into the host.
    let outcome = run(&rt, &guest, code_limits(5_000), "huge-output:4").await;
    assert_transfer_too_large(&outcome);
    assert_still_serves(&rt, &guest).await;
}

#[tokio::test]
async fn chatty_stdout_is_capped_and_marked_truncated() {
    let (rt, guest) = runtime_with_hostile().await;
    let outcome = run(&rt, &guest, code_limits(10_000), "huge-stdout:3").await;
    assert_eq!(
        outcome.result.expect("printing too much is not an error"),
        Data::Text("printed".into())
    );
    assert!(outcome.stdout.truncated);
    assert_eq!(outcome.stdout.bytes.len(), STDIO_CAPTURE_BYTES);
}

#[tokio::test]
async fn a_panic_is_a_trap_that_carries_the_message() {
    let (rt, guest) = runtime_with_hostile().await;
    let outcome = run(&rt, &guest, code_limits(5_000), "panic").await;
    match &outcome.result {
        Err(CallError::Trap {
            stderr_tail: Some(tail),
            ..
        }) => {
            assert!(tail.contains("hostile guest panics on request"), "{tail}");
        }
        other => panic!("expected a trap with the panic message, got {other:?}"),
    }
    let err = outcome.result.unwrap_err();
    assert_eq!(err.class().name(), "GuestTrap");
    assert!(!err.is_retryable());
    assert_still_serves(&rt, &guest).await;
}

#[tokio::test]
async fn guest_errors_are_typed() {
    let (rt, guest) = runtime_with_hostile().await;
    let outcome = run(&rt, &guest, code_limits(5_000), "no-such-behaviour").await;
    let err = outcome
        .result
        .expect_err("unknown behaviour is invalid input");
    assert_eq!(err.class().name(), "InvalidInput");
    assert!(err.to_string().contains("no-such-behaviour"), "{err}");
}

#[tokio::test]
async fn receipts_name_the_code_and_its_cost() {
    let (rt, guest) = runtime_with_hostile().await;
    let outcome = run(&rt, &guest, code_limits(5_000), "ok").await;
    let receipt = outcome.receipt;
    assert_eq!(receipt.module, "hostile");
    assert_eq!(receipt.digest, guest.digest());
    assert!(receipt.peak_memory_bytes > 0);
    assert!(
        receipt.fuel_used.is_none(),
        "unmetered calls report no fuel"
    );
}
