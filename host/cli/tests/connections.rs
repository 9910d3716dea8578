//! Floods of connections and requests against a running host's gRPC listener, measured from
//! outside its process: idle connections, stream floods, a token over its rate, handshakes
//! that stall. Each must stay within its bound and leave the host serving.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use common::rpc::{Rpc, SECRET, exec_host, exec_host_on, hostile_ok, token};
use common::{Harness, assert_success, free_port};
use serde_json::json;

#[tokio::test(flavor = "multi_thread")]
async fn idle_connections_and_stream_floods_leave_memory_bounded_and_the_host_serving() {
    let h = Harness::start().await;
    let (host, mut rpc) = exec_host(&h, "conns", "[grpc]\nmax_connections = 256\n").await;
    let pid = host.child.id();
    let t = token(&["acme"]);
    let hello = hostile_ok();
    assert_eq!(rpc.answer("exec", &t, &hello).await["result"], "ok");
    let rss_before = contextworker_test_support::process_rss_bytes(pid);

    // 5,000 connections that never speak.
    let mut idle = Vec::new();
    for _ in 0..5000 {
        if let Ok(s) = tokio::net::TcpStream::connect(("127.0.0.1", rpc.port)).await {
            idle.push(s);
        }
    }
    // Held idle for a while before measuring: their idling is the point, not a condition.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_idle = contextworker_test_support::process_rss_bytes(pid);
    drop(idle);

    // 10,000 unauthenticated requests on one connection, 64 of them with 4 MiB bodies:
    // refused from their metadata, their bodies never decoded, at most 64 streams open at
    // once.
    let small = json!({"code": "A".repeat(16 << 10)});
    let large = json!({"code": "A".repeat((4 << 20) - 1024)});
    let tasks: Vec<_> = (0..10_000)
        .map(|n| {
            rpc.spawn_exec(Rpc::request(
                None,
                if n % 156 == 0 { &large } else { &small },
            ))
        })
        .collect();
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
    let mut fresh = rpc.reconnect().await;
    assert_eq!(fresh.answer("exec", &t, &hello).await["result"], "ok");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_over_its_rate_is_slowed_down_and_others_are_not() {
    let h = Harness::start().await;
    let (_host, mut rpc) =
        exec_host(&h, "rate", "[grpc]\nrate_per_second = 2\nrate_burst = 3\n").await;
    let mint = |id: &str| {
        let mut c = common::rpc::claims(&["acme"], &["worker:*"], common::rpc::in_an_hour());
        c.token_id = id.to_owned();
        contextworker_grpc::auth::mint_hmac("test.v1", SECRET.as_bytes(), &c)
    };
    let (greedy, polite) = (mint("greedy"), mint("polite"));
    let hello = hostile_ok();
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
    let v = rpc.answer("exec", &polite, &hello).await;
    assert_eq!(v["result"], "ok", "{v}");
    // And the greedy one gets through again once its bucket refills: the time passing is
    // what is tested (1.2 s is more than two tokens at 2/s), so it is slept, not polled.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let v = rpc.answer("exec", &greedy, &hello).await;
    assert_eq!(v["result"], "ok", "{v}");
}

/// Assert that the peer closes `stream` (a read returns end of file or an error) after the
/// 1 s handshake timeout, and within 10 s. The stream is left idle meanwhile: that is the test.
async fn assert_closed_after_the_handshake_timeout(stream: &mut tokio::net::TcpStream) {
    use tokio::io::AsyncReadExt as _;
    let (started, limit) = (Instant::now(), Duration::from_secs(10));
    let mut buf = [0u8; 1024];
    let took = loop {
        match tokio::time::timeout(
            limit.saturating_sub(started.elapsed()),
            stream.read(&mut buf),
        )
        .await
        {
            Ok(Ok(0) | Err(_)) => break Some(started.elapsed()),
            Ok(Ok(_)) => continue,
            Err(_) => break None,
        }
    };
    assert!(
        took.is_some_and(|t| t >= Duration::from_millis(900)),
        "{took:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn connections_that_stall_before_or_inside_the_handshake_are_closed() {
    use tokio::io::AsyncWriteExt as _;
    let h = Harness::start().await;
    let (cert, key) = self_signed_cert(&h);
    let (plain, tls) = (free_port(), free_port());
    let config = "[grpc]\nhandshake_timeout_ms = 1000\n";
    let _plain = exec_host_on(&h, "plain", plain, config);
    let tls_config = format!(
        "{config}tls_cert = \"{}\"\ntls_key = \"{}\"\n",
        cert.display(),
        key.display()
    );
    let _tls = exec_host_on(&h, "tls", tls, &tls_config);
    // Plaintext: a connection that never sends a byte is closed after the timeout.
    let mut silent = tokio::net::TcpStream::connect(("127.0.0.1", plain))
        .await
        .unwrap();
    assert_closed_after_the_handshake_timeout(&mut silent).await;
    // TLS: a client that starts a handshake (one byte of a ClientHello) and stalls.
    let mut stalled = tokio::net::TcpStream::connect(("127.0.0.1", tls))
        .await
        .unwrap();
    stalled.write_all(&[0x16]).await.unwrap();
    assert_closed_after_the_handshake_timeout(&mut stalled).await;
}

/// A self-signed certificate and its key, for a TLS host.
fn self_signed_cert(h: &Harness) -> (std::path::PathBuf, std::path::PathBuf) {
    let (cert, key) = (h.path("cert.pem"), h.path("key.pem"));
    let out = std::process::Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec"])
        .args(["-pkeyopt", "ec_paramgen_curve:prime256v1"])
        .args(["-nodes", "-days", "1", "-subj", "/CN=localhost", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    assert_success(&out);
    (cert, key)
}
