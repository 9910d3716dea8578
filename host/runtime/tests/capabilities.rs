//! A guest has no ambient capabilities: every probe is denied and the host is unchanged.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;

use std::net::{TcpListener, UdpSocket};
use std::time::Duration;

use common::{assert_still_serves, code_limits, run, runtime_with_hostile};
use contextworker_runtime::Data;

async fn probe(input: &str) -> String {
    let (rt, guest) = runtime_with_hostile().await;
    let outcome = run(&rt, &guest, code_limits(5_000), input).await;
    let Data::Text(report) = outcome.result.expect("probes report, they do not fail") else {
        panic!("text expected")
    };
    assert_still_serves(&rt, &guest).await;
    report
}

fn assert_denied(report: &str) {
    assert!(
        report.contains(r#""outcome":"denied""#),
        "capability was not denied: {report}"
    );
}

#[tokio::test]
async fn cannot_read_host_files() {
    assert_denied(&probe("read-file:/etc/passwd").await);
    assert_denied(&probe("read-file:../../../../etc/passwd").await);
    assert_denied(&probe("list-dir:/").await);
    assert_denied(&probe("list-dir:.").await);
}

#[tokio::test]
async fn cannot_write_host_files() {
    let dir = tempfile_dir();
    let target = dir.join("pwned.txt");
    assert_denied(&probe(&format!("write-file:{}", target.display())).await);
    assert!(!target.exists(), "the guest created a file on the host");
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        0,
        "the host directory changed"
    );
}

#[tokio::test]
async fn cannot_open_sockets() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    assert_denied(&probe(&format!("socket:{addr}")).await);
    // Absence cannot be polled for: a connection the guest had made would be waiting by now.
    std::thread::sleep(Duration::from_millis(50));
    assert!(
        listener.accept().is_err(),
        "the guest reached a host socket"
    );

    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    udp.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    assert_denied(&probe(&format!("udp:{}", udp.local_addr().unwrap())).await);
    let mut buf = [0u8; 8];
    assert!(
        udp.recv_from(&mut buf).is_err(),
        "the guest sent a datagram"
    );

    assert_denied(&probe("dns:localhost").await);
}

#[tokio::test]
async fn sees_no_environment_or_arguments() {
    // SAFETY-free: set a variable the guest would see if the environment leaked.
    let report = probe("env").await;
    assert_eq!(report, r#"{"probe":"env","vars":0,"args":0}"#);
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("cw-probe-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
