//! Loading components: clear errors for bad files, world checks, the compiled cache, fuel.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;

use contextworker_runtime::{
    CallError, CallSpec, Data, Limits, LoadError, Metering, Runtime, RuntimeConfig,
};
use contextworker_test_support::guest;
use contextworker_types::World;

/// A call of `module` with a fuel budget.
fn with_fuel(module: &str, fuel: u64) -> CallSpec {
    let limits = Limits {
        fuel: Some(fuel),
        ..Limits::for_world(World::Code)
    };
    CallSpec::new(module, "0.1.0", limits)
}

#[tokio::test]
async fn a_missing_file_names_the_path() {
    let rt = common::runtime();
    let err = rt
        .load_file("/nonexistent/x.wasm".as_ref(), World::Code, Metering::Epoch)
        .await
        .unwrap_err();
    assert!(matches!(err, LoadError::Read { .. }));
    assert!(err.to_string().contains("/nonexistent/x.wasm"), "{err}");
}

#[tokio::test]
async fn files_that_are_not_components_are_refused_before_compiling() {
    let rt = common::runtime();
    let cases: [(&[u8], &str); 4] = [
        (b"#!/bin/sh\necho hi\n", "magic bytes"),
        (b"\0asm\x01\0\0\0", "core WebAssembly module"),
        (b"\x7fELF\x02\x01\x01\0", "precompiled artifacts"),
        (b"\0asm\x0d\0\x01\0garbage", "does not compile"),
    ];
    for (bytes, expected) in cases {
        let err = rt
            .load("upload.wasm", bytes.to_vec(), World::Code, Metering::Epoch)
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains(expected),
            "expected {expected:?} in: {err}"
        );
        assert!(
            err.to_string().starts_with("upload.wasm"),
            "the origin is named: {err}"
        );
    }
}

#[tokio::test]
async fn a_component_of_another_world_is_refused_with_both_worlds_named() {
    let rt = common::runtime();
    let err = rt
        .load_file(&guest("simple-tsv"), World::Code, Metering::Epoch)
        .await
        .unwrap_err();
    match &err {
        LoadError::WrongWorld {
            expected: World::Code,
            found: Some(World::Transformer),
            ..
        } => {}
        other => panic!("expected WrongWorld, got {other:?}"),
    }
    let text = err.to_string();
    assert!(
        text.contains("`transformer` world") && text.contains("`code` component"),
        "{text}"
    );
}

#[tokio::test]
async fn a_second_start_reuses_the_compiled_cache() {
    let dir = tempfile::tempdir().unwrap();
    let config = RuntimeConfig {
        cache_dir: Some(dir.path().join("cache")),
        ..RuntimeConfig::default()
    };
    let path = guest("text-stats");

    let first = Runtime::new(config.clone()).unwrap();
    let cold = first
        .load_file(&path, World::Code, Metering::Epoch)
        .await
        .unwrap();
    assert!(!cold.stats().from_cache);
    drop(first);

    let second = Runtime::new(config).unwrap();
    let warm = second
        .load_file(&path, World::Code, Metering::Epoch)
        .await
        .unwrap();
    assert!(
        warm.stats().from_cache,
        "the second start must not recompile"
    );
    assert_eq!(warm.digest(), cold.digest());
    assert!(
        warm.stats().duration < cold.stats().duration,
        "cached load {:?} is not faster than compiling {:?}",
        warm.stats().duration,
        cold.stats().duration
    );
    let outcome = second
        .run_code(
            &warm,
            &CallSpec::new("text-stats", "0.1.0", Limits::for_world(World::Code)),
            Data::Text("a b".into()),
        )
        .await;
    assert_eq!(
        outcome.result.unwrap(),
        Data::Text(r#"{"lines":1,"words":2,"bytes":3}"#.into())
    );
}

#[tokio::test]
async fn fuel_is_deterministic_and_enforced() {
    let rt = common::runtime();
    let stats = common::code_guest(&rt, "text-stats", Metering::Fuel).await;
    let input = Data::Text("the quick brown fox\n".repeat(100));
    let mut used = Vec::new();
    for _ in 0..5 {
        let spec = with_fuel("text-stats", 100_000_000);
        let outcome = rt.run_code(&stats, &spec, input.clone()).await;
        outcome.result.expect("runs within budget");
        used.push(
            outcome
                .receipt
                .fuel_used
                .expect("metered calls report fuel"),
        );
    }
    assert!(
        used.windows(2).all(|w| w[0] == w[1]),
        "fuel differs between identical runs: {used:?}"
    );

    let tight = with_fuel("text-stats", used[0] / 2);
    let outcome = rt.run_code(&stats, &tight, input).await;
    assert!(
        matches!(outcome.result, Err(CallError::OutOfFuel { .. })),
        "{:?}",
        outcome.result
    );

    let hostile = common::code_guest(&rt, "hostile", Metering::Fuel).await;
    let spec = with_fuel("hostile", 50_000_000);
    let outcome = rt
        .run_code(&hostile, &spec, Data::Text("loop".into()))
        .await;
    assert!(
        matches!(
            outcome.result,
            Err(CallError::OutOfFuel { budget: 50_000_000 })
        ),
        "{:?}",
        outcome.result
    );
}

#[tokio::test]
async fn fuel_on_an_unmetered_component_is_a_clear_error() {
    let rt = common::runtime();
    let stats = common::code_guest(&rt, "text-stats", Metering::Epoch).await;
    let spec = with_fuel("text-stats", 1000);
    let err = rt
        .run_code(&stats, &spec, Data::Text(String::new()))
        .await
        .result
        .unwrap_err();
    assert!(err.to_string().contains("without fuel metering"), "{err}");
}
