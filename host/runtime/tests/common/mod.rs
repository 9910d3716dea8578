//! Shared setup for the runtime's integration tests.

#![allow(dead_code, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use contextworker_runtime::{
    CallError, CallOutcome, CallSpec, Data, Limits, LoadedComponent, MIB, Metering, Runtime,
    RuntimeConfig,
};
use contextworker_test_support::{peak_rss_bytes, rss_bytes};
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

/// The test guest `name`, loaded as a `code` component.
pub async fn code_guest(rt: &Runtime, name: &str, metering: Metering) -> Arc<LoadedComponent> {
    let path = contextworker_test_support::guest(name);
    rt.load_file(&path, World::Code, metering)
        .await
        .unwrap_or_else(|e| panic!("the {name} guest loads: {e}"))
}

pub async fn hostile(rt: &Runtime) -> Arc<LoadedComponent> {
    code_guest(rt, "hostile", Metering::Epoch).await
}

/// A [`runtime`] and the hostile guest on it: where most tests of a limit start.
pub async fn runtime_with_hostile() -> (Arc<Runtime>, Arc<LoadedComponent>) {
    let rt = runtime();
    let guest = hostile(&rt).await;
    (rt, guest)
}

pub fn code_limits(timeout_ms: u64) -> Limits {
    Limits {
        timeout: Duration::from_millis(timeout_ms),
        ..Limits::for_world(World::Code)
    }
}

/// [`code_limits`] with a memory limit of `memory_mib` MiB.
pub fn memory_limits(memory_mib: u64, timeout_ms: u64) -> Limits {
    Limits {
        memory_bytes: memory_mib * MIB,
        ..code_limits(timeout_ms)
    }
}

/// A call's growth of the host's resident memory.
pub struct Growth {
    /// Resident memory before the call.
    pub before: u64,
    /// How far the peak during the call rose above `before`.
    pub peak: u64,
}

/// Run one call, measuring how far it raised the host's resident memory at its peak. The
/// peak (VmHWM) is reset first, so it measures this call alone (Linux ≥ 4.0, proc(5)
/// clear_refs).
pub async fn run_measuring_rss(
    rt: &Runtime,
    component: &LoadedComponent,
    limits: Limits,
    input: &str,
) -> (CallOutcome<Data>, Growth) {
    let before = rss_bytes();
    std::fs::write("/proc/self/clear_refs", "5").expect("can reset the RSS peak");
    let outcome = run(rt, component, limits, input).await;
    let peak = peak_rss_bytes().saturating_sub(before);
    (outcome, Growth { before, peak })
}

/// The call was refused while wasmtime lifted its output: too large to cross at all.
pub fn assert_transfer_too_large(outcome: &CallOutcome<Data>) {
    match &outcome.result {
        Err(e @ CallError::TransferTooLarge { .. }) => {
            assert_eq!(e.class().name(), "GuestOutputTooLarge");
        }
        other => panic!("expected TransferTooLarge, got {other:?}"),
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
