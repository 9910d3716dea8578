//! Shared setup for the runtime's integration tests.

#![allow(dead_code, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use contextworker_runtime::{
    CallOutcome, CallSpec, Data, Limits, LoadedComponent, Metering, Runtime, RuntimeConfig,
};
use contextworker_types::World;

/// A runtime with the compiled-component cache shared by all test binaries, so each guest is
/// compiled once per build rather than once per test.
pub fn runtime() -> Arc<Runtime> {
    let cache_dir = contextworker_test_support::target_dir().join("test-compile-cache");
    Runtime::new(RuntimeConfig {
        max_concurrent_instances: 16,
        cache_dir: Some(cache_dir),
        ..RuntimeConfig::default()
    })
    .expect("runtime starts")
}

pub async fn hostile(rt: &Runtime) -> Arc<LoadedComponent> {
    let path = contextworker_test_support::guest("hostile");
    rt.load_file(&path, World::Code, Metering::Epoch)
        .await
        .expect("hostile guest loads")
}

pub fn code_limits(timeout_ms: u64) -> Limits {
    Limits {
        timeout: Duration::from_millis(timeout_ms),
        ..Limits::for_world(World::Code)
    }
}

pub async fn run(
    rt: &Runtime,
    component: &LoadedComponent,
    limits: Limits,
    input: &str,
) -> CallOutcome<Data> {
    let spec = CallSpec::new("hostile", "0.1.0", limits);
    rt.run_code(component, &spec, Data::Text(input.to_owned()))
        .await
}

/// The sandbox still works: the canary call every limit test ends with.
pub async fn assert_still_serves(rt: &Runtime, component: &LoadedComponent) {
    let outcome = run(rt, component, code_limits(2_000), "ok").await;
    assert_eq!(
        outcome.result.expect("the next call succeeds"),
        Data::Text("ok".into())
    );
}
