//! Floods against a running host, measured from outside its process: compiles of submitted
//! code, guest logs, idle connections and streams. Each must stay within its bound and leave
//! the host serving.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use common::rpc::{Rpc, SECRET, SECRET_ENV, token};
use common::{Harness, free_port};
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

/// A host serving gRPC without Temporal, with `config` as its host config file.
fn exec_host(h: &Harness, label: &str, port: u16, config: &str) -> common::Worker {
    let path = h.path(&format!("{label}.toml"));
    std::fs::write(&path, config).unwrap();
    h.worker(
        label,
        &[
            "--host-config",
            path.to_str().unwrap(),
            "--no-temporal",
            "--grpc-addr",
            &format!("127.0.0.1:{port}"),
            "--token-hmac-key",
            &format!("test.v1={SECRET_ENV}"),
        ],
        &[(SECRET_ENV, SECRET)],
    )
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

#[tokio::test(flavor = "multi_thread")]
async fn submitted_code_compiles_within_the_exec_slots_once_per_digest_and_within_a_deadline() {
    let h = Harness::start().await;
    let port = free_port();
    let host = exec_host(
        &h,
        "compile",
        port,
        "[grpc]\nexec_concurrency = 3\nexec_compile_timeout_ms = 300\nexec_max_functions = 5000\n\
         [sandbox]\ncompile_cache_max_mb = 16\n",
    );
    let pid = host.child.id();
    let mut rpc = Rpc::connect(port).await;
    let t = token(&["acme"]);
    // About 2.5 MB of code, under the 3 MiB cap: over a second of Cranelift on 2 cores.
    let bomb = compile_bomb(1500, 1176);

    // The first submission outlasts the 300 ms compile deadline: the caller hears
    // `compile_timeout`, the compile ends on its own, and the same code is then served
    // without compiling again.
    let v = rpc
        .call("exec", Some(&t), &exec_payload(&bomb))
        .await
        .unwrap();
    let wait = Instant::now();
    while compiles_of(&host.log_text(), &bomb) == 0 {
        assert!(
            wait.elapsed() < Duration::from_secs(120),
            "{}",
            host.log_text()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let one_compile = Duration::from_millis(compile_ms(&host.log_text(), &bomb));
    eprintln!(
        "one compile of a {} KiB bomb: {one_compile:?}",
        bomb.len() / 1024
    );
    if one_compile > Duration::from_millis(400) {
        assert_eq!(v["error_type"], "compile_timeout", "{v}");
    }
    let v = rpc
        .call("exec", Some(&t), &exec_payload(&bomb))
        .await
        .unwrap();
    assert_eq!(v["error_type"], "wrong_world", "{v}");
    assert_eq!(compiles_of(&host.log_text(), &bomb), 1);

    // A flood of unique components whose clients give up after 100 ms: compiles go on after
    // the clients leave, but never more at once than the exec slots.
    let mut tasks = Vec::new();
    for n in 0..40 {
        let mut client = rpc.client.clone();
        let mut req = Rpc::request(Some(&t), &exec_payload(&component_variant(&bomb, n)));
        req.set_timeout(Duration::from_millis(100));
        tasks.push(tokio::spawn(async move {
            let _ = client.execute_code(req).await;
        }));
    }
    let mut most = 0;
    let flood = Instant::now();
    while flood.elapsed() < one_compile * 3 + Duration::from_secs(2) {
        most = most.max(process_threads_named(pid, "wasm-compile"));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for task in tasks {
        task.await.unwrap();
    }
    assert!(most >= 1, "the flood compiled nothing");
    assert!(most <= 3, "{most} compiles at once with 3 exec slots");
    // Once the client stops, the host goes quiet: no compile left, almost no CPU.
    let quiet = Instant::now();
    while process_threads_named(pid, "wasm-compile") > 0 {
        assert!(quiet.elapsed() < one_compile * 6 + Duration::from_secs(10));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let before = process_cpu_ticks(pid);
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
    let mut tasks = Vec::new();
    for _ in 0..3 {
        let (mut rpc, t, payload) = (
            Rpc {
                client: rpc.client.clone(),
            },
            t.clone(),
            exec_payload(&same),
        );
        tasks.push(tokio::spawn(async move {
            rpc.call("exec", Some(&t), &payload).await.unwrap()
        }));
    }
    for task in tasks {
        let v = task.await.unwrap();
        assert!(
            v["error_type"] == "wrong_world" || v["error_type"] == "compile_timeout",
            "{v}"
        );
    }
    let wait = Instant::now();
    while compiles_of(&host.log_text(), &same) == 0 {
        assert!(wait.elapsed() < Duration::from_secs(60));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        compiles_of(&host.log_text(), &same),
        1,
        "{}",
        host.log_text()
    );

    // Past the pre-scan's ceiling: refused at once, never compiled.
    let wide = compile_bomb(6000, 1);
    let v = rpc
        .call("exec", Some(&t), &exec_payload(&wide))
        .await
        .unwrap();
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
    let ok = json!({"code": STANDARD.encode(&hostile), "input": "ok"});
    let first = rpc.call("exec", Some(&t), &ok).await.unwrap();
    assert!(
        first["result"] == "ok" || first["error_type"] == "compile_timeout",
        "{first}"
    );
    let wait = Instant::now();
    while compiles_of(&host.log_text(), &hostile) == 0 {
        assert!(
            wait.elapsed() < Duration::from_secs(60),
            "{}",
            host.log_text()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let v = rpc.call("exec", Some(&t), &ok).await.unwrap();
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

#[tokio::test(flavor = "multi_thread")]
async fn idle_connections_and_stream_floods_leave_memory_bounded_and_the_host_serving() {
    let h = Harness::start().await;
    let port = free_port();
    let host = exec_host(&h, "conns", port, "[grpc]\nmax_connections = 256\n");
    let pid = host.child.id();
    let mut rpc = Rpc::connect(port).await;
    let t = token(&["acme"]);
    let hello = json!({"code": STANDARD.encode(std::fs::read(contextworker_test_support::guest("hostile")).unwrap()), "input": "ok"});
    assert_eq!(
        rpc.call("exec", Some(&t), &hello).await.unwrap()["result"],
        "ok"
    );
    let rss_before = contextworker_test_support::process_rss_bytes(pid);

    // 5,000 connections that never speak.
    let mut idle = Vec::new();
    for _ in 0..5000 {
        if let Ok(s) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await {
            idle.push(s);
        }
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_idle = contextworker_test_support::process_rss_bytes(pid);
    drop(idle);

    // 10,000 unauthenticated requests on one connection, 64 of them with 4 MiB bodies:
    // refused from their metadata, their bodies never decoded, at most 64 streams open at
    // once.
    let small = json!({"code": "A".repeat(16 << 10)});
    let large = json!({"code": "A".repeat((4 << 20) - 1024)});
    let mut tasks = Vec::new();
    for n in 0..10_000 {
        let mut client = rpc.client.clone();
        let req = Rpc::request(None, if n % 156 == 0 { &large } else { &small });
        tasks.push(tokio::spawn(async move {
            client
                .execute_code(req)
                .await
                .map(|_| ())
                .map_err(|s| s.code())
        }));
    }
    let mut codes = std::collections::BTreeMap::new();
    for task in tasks {
        let code = task.await.unwrap().err();
        *codes.entry(format!("{code:?}")).or_insert(0) += 1;
    }
    let rss_streams = contextworker_test_support::process_rss_bytes(pid);
    eprintln!("10,000 unauthenticated requests on one connection: {codes:?}");
    // None got through. Each was refused as unauthenticated, or cut off when the server,
    // resetting stream after stream, sent the connection a GOAWAY (its reset-flood limit);
    // requests queued behind it then fail on the client's side.
    assert!(!codes.contains_key("None"), "{codes:?}");
    assert!(
        codes.get("Some(Unauthenticated)").is_some_and(|n| *n >= 64),
        "{codes:?}"
    );
    for code in codes.keys() {
        assert!(
            [
                "Some(Unauthenticated)",
                "Some(Cancelled)",
                "Some(ResourceExhausted)",
                "Some(Unavailable)",
                "Some(Unknown)"
            ]
            .contains(&code.as_str()),
            "{codes:?}"
        );
    }
    let mib = |b: u64| b / (1 << 20);
    eprintln!(
        "host RSS: {} MiB before, {} MiB with 5,000 idle connections, {} MiB after 10,000 streams",
        mib(rss_before),
        mib(rss_idle),
        mib(rss_streams)
    );
    assert!(
        rss_idle < rss_before + (64 << 20),
        "idle connections grew RSS to {} MiB",
        mib(rss_idle)
    );
    assert!(
        rss_streams < rss_before + (128 << 20),
        "streams grew RSS to {} MiB",
        mib(rss_streams)
    );
    // Still serving, to new connections too.
    let mut fresh = Rpc::connect(port).await;
    assert_eq!(
        fresh.call("exec", Some(&t), &hello).await.unwrap()["result"],
        "ok"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_over_its_rate_is_slowed_down_and_others_are_not() {
    let h = Harness::start().await;
    let port = free_port();
    let _host = exec_host(
        &h,
        "rate",
        port,
        "[grpc]\nrate_per_second = 2\nrate_burst = 3\n",
    );
    let mut rpc = Rpc::connect(port).await;
    let mint = |id: &str| {
        let mut c = common::rpc::claims(&["acme"], &["worker:*"], common::rpc::in_an_hour());
        c.token_id = id.to_owned();
        contextworker_grpc::auth::mint_hmac("test.v1", SECRET.as_bytes(), &c)
    };
    let (greedy, polite) = (mint("greedy"), mint("polite"));
    let hello = json!({"code": STANDARD.encode(std::fs::read(contextworker_test_support::guest("hostile")).unwrap()), "input": "ok"});
    let mut limited = 0;
    for _ in 0..10 {
        match rpc.status_or_payload("exec", Some(&greedy), &hello).await {
            Ok(v) => assert_eq!(v["result"], "ok", "{v}"),
            Err(status) => {
                assert_eq!(
                    status.code(),
                    contextworker_grpc::tonic::Code::ResourceExhausted
                );
                limited += 1;
            }
        }
    }
    assert!(
        limited >= 6,
        "{limited} of 10 calls were limited at 2/s with a burst of 3"
    );
    // Another token is not affected by the first one's rate.
    let v = rpc.call("exec", Some(&polite), &hello).await.unwrap();
    assert_eq!(v["result"], "ok", "{v}");
    // And the greedy one gets through again once its bucket refills.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let v = rpc.call("exec", Some(&greedy), &hello).await.unwrap();
    assert_eq!(v["result"], "ok", "{v}");
}

/// Whether the peer has closed `stream` (a read returns end of file or an error).
async fn closed_within(stream: &mut tokio::net::TcpStream, limit: Duration) -> Option<Duration> {
    use tokio::io::AsyncReadExt as _;
    let started = Instant::now();
    let mut buf = [0u8; 1024];
    loop {
        match tokio::time::timeout(
            limit.saturating_sub(started.elapsed()),
            stream.read(&mut buf),
        )
        .await
        {
            Ok(Ok(0) | Err(_)) => return Some(started.elapsed()),
            Ok(Ok(_)) => continue,
            Err(_) => return None,
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn connections_that_stall_before_or_inside_the_handshake_are_closed() {
    use tokio::io::AsyncWriteExt as _;
    let h = Harness::start().await;
    // A self-signed certificate for the TLS host.
    let (cert, key) = (h.path("cert.pem"), h.path("key.pem"));
    let status = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
        ])
        .args(["-nodes", "-days", "1", "-subj", "/CN=localhost", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let (plain, tls) = (free_port(), free_port());
    let config = "[grpc]\nhandshake_timeout_ms = 1000\n";
    let _plain = exec_host(&h, "plain", plain, config);
    let tls_config = format!(
        "{config}tls_cert = \"{}\"\ntls_key = \"{}\"\n",
        cert.display(),
        key.display()
    );
    let _tls = exec_host(&h, "tls", tls, &tls_config);
    // Plaintext: a connection that never sends a byte is closed after the timeout.
    let mut silent = tokio::net::TcpStream::connect(("127.0.0.1", plain))
        .await
        .unwrap();
    let took = closed_within(&mut silent, Duration::from_secs(10)).await;
    assert!(
        took.is_some_and(|t| t >= Duration::from_millis(900)),
        "{took:?}"
    );
    // TLS: a client that starts a handshake (one byte of a ClientHello) and stalls.
    let mut stalled = tokio::net::TcpStream::connect(("127.0.0.1", tls))
        .await
        .unwrap();
    stalled.write_all(&[0x16]).await.unwrap();
    let took = closed_within(&mut stalled, Duration::from_secs(10)).await;
    assert!(
        took.is_some_and(|t| t >= Duration::from_millis(900)),
        "{took:?}"
    );
}

#[test]
fn a_short_token_secret_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_contextworker-host"))
        .args(["--data-dir", dir.path().to_str().unwrap()])
        .args(["--modules-dir", dir.path().to_str().unwrap()])
        .args([
            "--no-temporal",
            "--grpc-addr",
            &format!("127.0.0.1:{}", free_port()),
        ])
        .args(["--token-hmac-key", "k=CW_SHORT_SECRET"])
        .env("CW_SHORT_SECRET", "secret")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("at least 32 are required"), "{stderr}");
}
