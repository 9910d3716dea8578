//! Floods against a running host, measured from outside its process: compiles of submitted
//! code and guest logs. Each must stay within its bound and leave the host serving. Floods of
//! connections and requests are in `connections.rs`.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use common::rpc::{Rpc, exec_host, hostile_ok, token};
use common::{Harness, Worker};
use contextworker_test_support::{
    component_variant, process_cpu_ticks, process_threads_named, workspace_root,
};
use serde_json::{Value, json};

/// A component with `functions` core functions of ~`ops` instructions each: valid, exports
/// nothing (so it is refused as the wrong world, after compiling), and costly to compile.
fn compile_bomb(functions: usize, ops: usize) -> Vec<u8> {
    let body = "local.get 0 i32.const 7 i32.mul i32.const 3 i32.add local.set 0 ".repeat(ops / 7);
    let mut text = String::from("(component (core module ");
    for _ in 0..functions {
        text.push_str(&format!(
            "(func (param i32) (result i32) {body} local.get 0)"
        ));
    }
    text.push_str("))");
    wat::parse_str(&text).unwrap()
}

fn exec_payload(bytes: &[u8]) -> Value {
    json!({"code": STANDARD.encode(bytes), "input": "ok", "timeout_ms": 1000})
}

/// Sizes of every file under `dir`.
fn walk_files(dir: &std::path::Path) -> Vec<u64> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk_files(&path));
        } else if let Ok(meta) = entry.metadata() {
            out.push(meta.len());
        }
    }
    out
}

/// How long the host said compiling `bytes` took.
fn compile_ms(log: &str, bytes: &[u8]) -> u64 {
    let short = contextworker_types::Digest::of(bytes).short();
    log.lines()
        .find(|l| l.contains("compiled a component") && l.contains(&short))
        .and_then(|l| l.split("ms=").nth(1))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Compile lines the host logged for a component, by its short digest.
fn compiles_of(log: &str, bytes: &[u8]) -> usize {
    let short = contextworker_types::Digest::of(bytes).short();
    log.lines()
        .filter(|l| l.contains("compiled a component") && l.contains(&short))
        .count()
}

/// Wait until the host has logged a compile of `bytes`.
async fn compiled(host: &Worker, bytes: &[u8], timeout: Duration) {
    host.poll_until("the host logs a compile of the code", timeout, async || {
        (compiles_of(&host.log_text(), bytes) > 0).then_some(())
    })
    .await;
}

/// Wait until the host runs no compile at all (each logs before its thread ends).
async fn no_compile_running(host: &Worker, timeout: Duration) {
    let pid = host.child.id();
    host.poll_until("no compile thread is left", timeout, async || {
        (process_threads_named(pid, "wasm-compile") == 0).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn submitted_code_compiles_within_the_exec_slots_once_per_digest_and_within_a_deadline() {
    let h = Harness::start().await;
    let (host, mut rpc) = exec_host(
        &h,
        "compile",
        "[grpc]\nexec_concurrency = 3\nexec_compile_timeout_ms = 300\nexec_max_functions = 5000\n\
         [sandbox]\ncompile_cache_max_mb = 16\n",
    )
    .await;
    let pid = host.child.id();
    let t = token(&["acme"]);
    // About 2.5 MB of code, under the 3 MiB cap: over a second of Cranelift on 2 cores.
    let bomb = compile_bomb(1500, 1176);

    // The first submission outlasts the 300 ms compile deadline: the caller hears
    // `compile_timeout`, the compile ends on its own, and the same code is then served
    // without compiling again.
    let v = rpc.answer("exec", &t, &exec_payload(&bomb)).await;
    compiled(&host, &bomb, Duration::from_secs(120)).await;
    let one_compile = Duration::from_millis(compile_ms(&host.log_text(), &bomb));
    eprintln!(
        "one compile of a {} KiB bomb: {one_compile:?}",
        bomb.len() / 1024
    );
    if one_compile > Duration::from_millis(400) {
        assert_eq!(v["error_type"], "compile_timeout", "{v}");
    }
    let v = rpc.answer("exec", &t, &exec_payload(&bomb)).await;
    assert_eq!(v["error_type"], "wrong_world", "{v}");
    assert_eq!(compiles_of(&host.log_text(), &bomb), 1);

    // A flood of unique components whose clients give up after 100 ms: compiles go on after
    // the clients leave, but never more at once than the exec slots.
    let tasks: Vec<_> = (0..40)
        .map(|n| {
            let mut req = Rpc::request(Some(&t), &exec_payload(&component_variant(&bomb, n)));
            req.set_timeout(Duration::from_millis(100));
            rpc.spawn_exec(req)
        })
        .collect();
    // Sampled over a fixed window, not waited on: the most compiles at once while it lasts.
    let mut most = 0;
    let flood = Instant::now();
    while flood.elapsed() < one_compile * 3 + Duration::from_secs(2) {
        most = most.max(process_threads_named(pid, "wasm-compile"));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for task in tasks {
        let _ = task.await.unwrap();
    }
    assert!(most >= 1, "the flood compiled nothing");
    assert!(most <= 3, "{most} compiles at once with 3 exec slots");
    // Once the client stops, the host goes quiet: no compile left, almost no CPU.
    no_compile_running(&host, one_compile * 6 + Duration::from_secs(10)).await;
    let before = process_cpu_ticks(pid);
    // The 2 s of idling is what is measured, not a wait for something.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let ticks = process_cpu_ticks(pid) - before;
    assert!(ticks < 40, "{ticks} ticks of CPU in 2 s after the flood");
    // Every compile left an artifact; the disk cache stayed within its 16 MiB cap (plus the
    // newest artifact, which a trim never removes).
    let artifacts: Vec<u64> = walk_files(&h.path("data/compiled"));
    let (total, largest) = (
        artifacts.iter().sum::<u64>(),
        artifacts.iter().copied().max().unwrap_or(0),
    );
    assert!(
        total <= (16 << 20) + largest,
        "{} artifacts, {} MiB in the compile cache",
        artifacts.len(),
        total >> 20
    );

    // Identical submissions compile once, however many arrive together.
    let same = component_variant(&bomb, 1000);
    for v in rpc
        .call_concurrently(3, "exec", &t, &exec_payload(&same))
        .await
    {
        assert!(
            v["error_type"] == "wrong_world" || v["error_type"] == "compile_timeout",
            "{v}"
        );
    }
    compiled(&host, &same, Duration::from_secs(60)).await;
    // A second compile would still be running or would have logged by now.
    no_compile_running(&host, Duration::from_secs(60)).await;
    assert_eq!(
        compiles_of(&host.log_text(), &same),
        1,
        "{}",
        host.log_text()
    );

    // Past the pre-scan's ceiling: refused at once, never compiled.
    let wide = compile_bomb(6000, 1);
    let v = rpc.answer("exec", &t, &exec_payload(&wide)).await;
    assert_eq!(v["error_type"], "code_too_large", "{v}");
    assert!(
        v["error"].as_str().unwrap().contains("6000 functions"),
        "{v}"
    );
    assert_eq!(compiles_of(&host.log_text(), &wide), 0);

    // And the host still runs code. Its first submission may outlast this host's 300 ms
    // deadline on a loaded machine (the compile then finishes on its own, as above); once it
    // has compiled, the code runs.
    let hostile = std::fs::read(contextworker_test_support::guest("hostile")).unwrap();
    let first = rpc.answer("exec", &t, &hostile_ok()).await;
    assert!(
        first["result"] == "ok" || first["error_type"] == "compile_timeout",
        "{first}"
    );
    compiled(&host, &hostile, Duration::from_secs(60)).await;
    let v = rpc.answer("exec", &t, &hostile_ok()).await;
    assert_eq!(v["result"], "ok", "{v}");
}

#[test]
fn a_guest_logging_without_end_writes_a_bounded_log() {
    let dir = tempfile::tempdir().unwrap();
    let hostile = contextworker_test_support::guest("hostile");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_contextworker-host"))
        .args(["--data-dir", dir.path().to_str().unwrap()])
        .args(["--modules-dir", dir.path().to_str().unwrap()])
        .arg("exec")
        .arg(&hostile)
        .args(["--input", "log-flood:5000", "--timeout-ms", "20000"])
        .env("RUST_LOG", "info")
        .current_dir(workspace_root())
        .output()
        .unwrap();
    // 5,000 records of 64 KiB messages and 256 KiB of fields would be 1.6 GiB of log; the
    // host keeps 1 MiB per call, and the call itself runs out of output budget first.
    let written = out.stderr.len();
    assert!(written < 2 << 20, "{written} bytes of log");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("GuestOutputTooLarge"),
        "{}",
        &stderr[stderr.len().saturating_sub(2000)..]
    );
    // Guest text cannot forge host log lines: its newlines arrive escaped.
    assert!(
        !stderr.lines().any(|l| l.starts_with("v")),
        "a raw guest newline"
    );
}
