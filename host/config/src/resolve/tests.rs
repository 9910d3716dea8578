use super::*;
use crate::overrides::GrpcOverrides;

/// A fresh directory holding `host.toml` with `text`.
fn host_file(text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("host.toml");
    std::fs::write(&path, text).expect("write");
    (dir, path)
}

/// The configuration from `path` alone, no flags.
fn load_file(path: &Path) -> Result<HostConfig, ConfigError> {
    HostConfig::load(Overrides {
        config_file: Some(path.to_path_buf()),
        ..Overrides::default()
    })
}

#[test]
fn flags_win_over_the_file_and_file_paths_are_relative_to_it() {
    let (dir, path) =
        host_file("data_dir = \"state\"\nmodules_dir = \"mods\"\n[sandbox]\nmax_memory_mb = 256\n");
    let config = HostConfig::load(Overrides {
        config_file: Some(path.clone()),
        modules_dir: Some(PathBuf::from("/elsewhere")),
        ..Overrides::default()
    })
    .expect("loads");
    assert_eq!(config.data_dir.root(), dir.path().join("state"));
    assert_eq!(config.modules_dir, PathBuf::from("/elsewhere"));
    assert_eq!(config.sandbox.max_memory_mb, 256);
    assert_eq!(
        config.compile_cache_dir(),
        Some(dir.path().join("state/compiled"))
    );
}

#[test]
fn temporal_and_worker_settings_merge_flags_over_the_file() {
    let (dir, path) = host_file(
        "database_url = \"postgres://db/x\"\n[temporal]\naddress = \"temporal:7233\"\nnamespace = \"prod\"\ntls_cert = \"c.pem\"\n\
         [worker]\ntask_queues = [\"a\", \"b\"]\nmax_concurrent = 4\n",
    );
    let config = HostConfig::load(Overrides {
        config_file: Some(path.clone()),
        temporal: TemporalInput {
            namespace: Some("staging".into()),
            ..TemporalInput::default()
        },
        max_concurrent: Some(2),
        ..Overrides::default()
    })
    .expect("loads");
    assert_eq!(config.temporal.address.as_deref(), Some("temporal:7233"));
    assert_eq!(config.temporal.namespace.as_deref(), Some("staging"));
    assert_eq!(config.temporal.tls_cert, Some(dir.path().join("c.pem")));
    assert_eq!(config.worker.task_queues, ["a", "b"]);
    assert_eq!(config.worker.max_concurrent, 2);
    assert_eq!(config.database_url.as_deref(), Some("postgres://db/x"));
    // The defaults when nothing is set.
    // A named config file that is missing is an error that names it.
    let missing = load_file(&dir.path().join("none.toml"))
        .expect_err("a missing file")
        .to_string();
    assert!(
        missing.contains("none.toml") && missing.contains("cannot read"),
        "{missing}"
    );
    std::fs::write(&path, "").expect("write");
    let config = load_file(&path).expect("loads");
    assert_eq!(config.worker.task_queues, [DEFAULT_TASK_QUEUE]);
    assert_eq!(config.worker.max_concurrent, 10);
}

#[test]
fn grpc_keys_come_from_flags_and_the_file() {
    let (_dir, path) = host_file(
        "[grpc]\naddr = \"127.0.0.1:6000\"\nexec_concurrency = 3\n\
         [grpc.hmac_keys]\nsvc = \"SVC_SECRET\"\n[grpc.ed25519_keys]\nedge = \"AAAA\"\n",
    );
    let config = HostConfig::load(Overrides {
        config_file: Some(path.clone()),
        grpc: GrpcOverrides {
            hmac_keys: vec![("cli".into(), "CLI_SECRET".into())],
            ..GrpcOverrides::default()
        },
        ..Overrides::default()
    })
    .expect("loads");
    let g = &config.grpc;
    assert!(g.enabled && !g.allow_unsigned_tokens);
    assert_eq!(g.addr.to_string(), "127.0.0.1:6000");
    assert_eq!(g.exec_concurrency, 3);
    assert_eq!(
        g.hmac_keys,
        [
            ("cli".into(), "CLI_SECRET".into()),
            ("svc".into(), "SVC_SECRET".into())
        ]
    );
    assert_eq!(g.ed25519_keys, [("edge".into(), "AAAA".into())]);
    std::fs::write(&path, "[grpc]\ntls_cert = \"c.pem\"\n").expect("write");
    let err = load_file(&path).expect_err("a certificate without its key");
    assert!(err.to_string().contains("grpc.tls_cert"), "{err}");
}

#[test]
fn unknown_keys_are_refused_with_the_file_named() {
    let (_dir, path) = host_file("modules_dri = \"x\"\n");
    let err = load_file(&path).expect_err("refused");
    let text = err.to_string();
    assert!(
        text.contains("host.toml") && text.contains("modules_dri"),
        "{text}"
    );
    // The CLI prints an error with its chain of sources: the file must be named once, not
    // again by a wrapper around the same message.
    assert!(std::error::Error::source(&err).is_none(), "{err:?}");
}

#[test]
fn out_of_range_values_say_what_is_allowed() {
    let (_dir, path) = host_file("[sandbox]\nepoch_tick_ms = 0\n");
    let err = load_file(&path).expect_err("refused");
    assert!(err.to_string().contains("epoch_tick_ms"), "{err}");
}
