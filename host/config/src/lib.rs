//! The host's own configuration (never a module's: those are `module.toml` files).
//!
//! Sources, highest precedence first: command-line flags, environment variables, the TOML
//! file (`--config`, or `contextworker.toml` in the working directory when present),
//! built-in defaults. Flags and environment are merged by the CLI (clap's `env`), which
//! hands the result here as [`Overrides`]; this crate reads the file and resolves paths.
//!
//! The table of every setting, with its variable, flag, file key and default, is in the
//! README ("Configuration"); this crate is where each is resolved and validated.

mod file;
mod secrets;
mod supplier;
mod temporal;
mod toml_util;

use std::path::{Path, PathBuf};

use contextworker_types::DataDir;

pub use file::{
    GrpcToml, HostConfigToml, OutboundToml, SandboxToml, SecretsToml, StorageToml, TemporalToml,
    WorkerToml,
};
pub use secrets::{DEFAULT_SECRET_PREFIX, SecretPolicy, SecretRefusal};
pub use supplier::{Credentials, FeedSource, Supplier, SupplierError};
pub use temporal::{TemporalAuth, TemporalConfigError, TemporalInput, TemporalSettings};
pub use toml_util::{one_line_error, scalar_table};

/// Errors reading the host configuration. Each names the file; fix the file and restart.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("config file {}: {message}", path.display())]
    Parse { path: PathBuf, message: String },
    #[error("config file {}: `{key}` = {value}: {reason}", path.display())]
    Invalid {
        path: PathBuf,
        key: &'static str,
        value: String,
        reason: String,
    },
}

/// Values given on the command line or in the environment; `None` falls through to the file.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub config_file: Option<PathBuf>,
    pub data_dir: Option<PathBuf>,
    pub modules_dir: Option<PathBuf>,
    pub suppliers_dir: Option<PathBuf>,
    pub modules: Option<Vec<String>>,
    pub database_url: Option<String>,
    /// Temporal settings from flags and environment (each `None` falls through to the file).
    pub temporal: TemporalInput,
    pub task_queues: Option<Vec<String>>,
    pub max_concurrent: Option<usize>,
    pub graceful_shutdown_secs: Option<u64>,
    pub identity: Option<String>,
    pub grpc: GrpcOverrides,
    /// `--outbound-allow`: networks admitted besides the file's `[outbound] allow`.
    pub outbound_allow: Vec<String>,
}

/// gRPC settings from flags and environment.
#[derive(Debug, Clone, Default)]
pub struct GrpcOverrides {
    pub addr: Option<std::net::SocketAddr>,
    pub disabled: bool,
    pub allow_unsigned_tokens: bool,
    pub hmac_keys: Vec<(String, String)>,
    pub ed25519_keys: Vec<(String, String)>,
    pub exec_concurrency: Option<usize>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub tls_client_ca: Option<PathBuf>,
}

/// The gRPC service's settings, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrpcConfig {
    pub enabled: bool,
    pub addr: std::net::SocketAddr,
    pub allow_unsigned_tokens: bool,
    /// (kid, environment variable of the HMAC secret), flags first.
    pub hmac_keys: Vec<(String, String)>,
    /// (kid, base64 Ed25519 public key).
    pub ed25519_keys: Vec<(String, String)>,
    pub exec_concurrency: usize,
    pub tls: Option<(PathBuf, PathBuf)>,
    /// With TLS: clients must present a certificate signed by this CA (mTLS).
    pub tls_client_ca: Option<PathBuf>,
    /// Workflow types a tenant's token may start; `None`: the server's default set.
    pub start_workflows: Option<Vec<String>>,
    /// Task queues a StartWorkflow may name (the first is the default).
    pub task_queues: Vec<String>,
    pub max_token_lifetime_secs: u64,
    pub rate_per_second: u32,
    pub rate_burst: u32,
    pub max_connections: usize,
    pub max_streams_per_connection: u32,
    pub handshake_timeout_ms: u64,
    pub exec_compile_timeout_ms: u64,
    pub exec_max_functions: u64,
}

/// The original worker's gRPC port.
pub const DEFAULT_GRPC_ADDR: &str = "[::]:50052";

/// The original worker's harvest queue.
pub use contextworker_types::defaults::DEFAULT_TASK_QUEUE;

/// What this host's worker serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerConfig {
    pub task_queues: Vec<String>,
    pub max_concurrent: usize,
    pub graceful_shutdown: std::time::Duration,
    /// `None`: `<pid>@<hostname>`.
    pub identity: Option<String>,
}

/// Sandbox sizing, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxSettings {
    pub max_concurrent_instances: u32,
    pub max_memory_mb: u64,
    pub max_component_mb: u64,
    pub epoch_tick_ms: u64,
    pub pooling: bool,
    pub compile_cache: bool,
    pub allow_on_demand_fallback: bool,
    pub memory_budget_mb: u64,
    pub compile_cache_max_mb: u64,
}

/// The resolved configuration every part of the host reads.
#[derive(Debug, Clone)]
pub struct HostConfig {
    /// The file it came from, if any.
    pub source: Option<PathBuf>,
    pub data_dir: DataDir,
    pub modules_dir: PathBuf,
    /// One `<code>.toml` per supplier.
    pub suppliers_dir: PathBuf,
    /// Load only these modules (`None`: all).
    pub modules: Option<Vec<String>>,
    pub sandbox: SandboxSettings,
    /// `None`: an SQLite file in the data directory.
    pub database_url: Option<String>,
    /// Unvalidated until used: commands that never connect do not fail on them.
    pub temporal: TemporalInput,
    pub worker: WorkerConfig,
    pub grpc: GrpcConfig,
    /// Environment variables activities may read as supplier secrets.
    pub secrets: SecretPolicy,
    /// Networks fetches may reach although they are not public (loopback, private, ...), as
    /// written: `contextworker-outbound` parses them into its policy.
    pub outbound_allow: Vec<String>,
    pub storage: StorageConfig,
}

/// The blob store's bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StorageConfig {
    pub blob_max_bytes: u64,
    pub blob_keep: std::time::Duration,
}

impl HostConfig {
    /// Where compiled components are cached.
    pub fn compile_cache_dir(&self) -> Option<PathBuf> {
        self.sandbox.compile_cache.then(|| self.data_dir.compiled())
    }

    /// Resolve the configuration from `overrides` and the config file.
    pub fn load(overrides: Overrides) -> Result<Self, ConfigError> {
        let (source, file) = match &overrides.config_file {
            Some(path) => (Some(path.clone()), HostConfigToml::read(path)?),
            None => {
                let default = Path::new("contextworker.toml");
                if default.is_file() {
                    (Some(default.to_path_buf()), HostConfigToml::read(default)?)
                } else {
                    (None, HostConfigToml::default())
                }
            }
        };
        // Relative paths in the file are relative to the file, not to the working directory.
        let base = source
            .as_deref()
            .and_then(Path::parent)
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let from_file = |p: Option<PathBuf>| p.map(|p| base.join(p));
        let data_dir = overrides
            .data_dir
            .or_else(|| from_file(file.data_dir.clone()))
            .unwrap_or_else(|| base.join("data"));
        let modules_dir = overrides
            .modules_dir
            .or_else(|| from_file(file.modules_dir.clone()))
            .unwrap_or_else(|| base.join("modules"));
        let suppliers_dir = overrides
            .suppliers_dir
            .or_else(|| from_file(file.suppliers_dir.clone()))
            .unwrap_or_else(|| base.join("suppliers"));
        let file_path = source
            .as_deref()
            .unwrap_or(Path::new("(defaults)"))
            .to_path_buf();
        let sandbox = file.sandbox.unwrap_or_default().resolve(&file_path)?;
        let temporal_file = file.temporal.unwrap_or_default();
        let flags = overrides.temporal;
        let temporal = TemporalInput {
            address: flags.address.or(temporal_file.address),
            namespace: flags.namespace.or(temporal_file.namespace),
            api_key: flags.api_key.or(temporal_file.api_key),
            tls_cert: flags.tls_cert.or_else(|| from_file(temporal_file.tls_cert)),
            tls_key: flags.tls_key.or_else(|| from_file(temporal_file.tls_key)),
        };
        let worker_file = file.worker.unwrap_or_default();
        let task_queues: Vec<String> = overrides
            .task_queues
            .or(worker_file.task_queues)
            .unwrap_or_else(|| vec![DEFAULT_TASK_QUEUE.to_owned()])
            .into_iter()
            .map(|q| q.trim().to_owned())
            .filter(|q| !q.is_empty())
            .collect();
        if task_queues.is_empty() {
            return Err(ConfigError::Invalid {
                path: file_path,
                key: "worker.task_queues",
                value: "[]".to_owned(),
                reason: "name at least one task queue".to_owned(),
            });
        }
        let max_concurrent = overrides
            .max_concurrent
            .or(worker_file.max_concurrent)
            .unwrap_or(10);
        if !(1..=10_000).contains(&max_concurrent) {
            return Err(ConfigError::Invalid {
                path: file_path,
                key: "worker.max_concurrent",
                value: max_concurrent.to_string(),
                reason: "must be between 1 and 10000".to_owned(),
            });
        }
        let worker = WorkerConfig {
            task_queues,
            max_concurrent,
            graceful_shutdown: std::time::Duration::from_secs(
                overrides
                    .graceful_shutdown_secs
                    .or(worker_file.graceful_shutdown_secs)
                    .unwrap_or(30),
            ),
            identity: overrides.identity.or(worker_file.identity),
        };
        let grpc_file = file.grpc.unwrap_or_default();
        let flags = overrides.grpc;
        let addr = match flags.addr {
            Some(a) => a,
            None => {
                let text = grpc_file.addr.as_deref().unwrap_or(DEFAULT_GRPC_ADDR);
                text.parse().map_err(|_| ConfigError::Invalid {
                    path: file_path.clone(),
                    key: "grpc.addr",
                    value: text.to_owned(),
                    reason: "not an address like [::]:50052 or 127.0.0.1:50052".to_owned(),
                })?
            }
        };
        let mut hmac_keys = flags.hmac_keys;
        hmac_keys.extend(grpc_file.hmac_keys);
        let mut ed25519_keys = flags.ed25519_keys;
        ed25519_keys.extend(grpc_file.ed25519_keys);
        let tls = match (
            flags.tls_cert.or_else(|| from_file(grpc_file.tls_cert)),
            flags.tls_key.or_else(|| from_file(grpc_file.tls_key)),
        ) {
            (Some(cert), Some(key)) => Some((cert, key)),
            (None, None) => None,
            _ => {
                return Err(ConfigError::Invalid {
                    path: file_path,
                    key: "grpc.tls_cert",
                    value: String::new(),
                    reason: "TLS needs both the certificate and its key".to_owned(),
                });
            }
        };
        let grpc = GrpcConfig {
            enabled: !flags.disabled && grpc_file.enabled.unwrap_or(true),
            addr,
            allow_unsigned_tokens: flags.allow_unsigned_tokens
                || grpc_file.allow_unsigned_tokens.unwrap_or(false),
            hmac_keys,
            ed25519_keys,
            exec_concurrency: flags
                .exec_concurrency
                .or(grpc_file.exec_concurrency)
                .unwrap_or(8)
                .max(1),
            tls,
            tls_client_ca: flags
                .tls_client_ca
                .or_else(|| from_file(grpc_file.tls_client_ca)),
            start_workflows: grpc_file.start_workflows,
            max_token_lifetime_secs: bounded(
                &file_path,
                "grpc.max_token_lifetime_secs",
                grpc_file.max_token_lifetime_secs.unwrap_or(24 * 3600),
                60..=366 * 24 * 3600,
            )?,
            rate_per_second: bounded(
                &file_path,
                "grpc.rate_per_second",
                u64::from(grpc_file.rate_per_second.unwrap_or(20)),
                1..=100_000,
            )? as u32,
            rate_burst: bounded(
                &file_path,
                "grpc.rate_burst",
                u64::from(grpc_file.rate_burst.unwrap_or(40)),
                1..=100_000,
            )? as u32,
            max_connections: bounded(
                &file_path,
                "grpc.max_connections",
                grpc_file.max_connections.unwrap_or(512) as u64,
                1..=65_536,
            )? as usize,
            max_streams_per_connection: bounded(
                &file_path,
                "grpc.max_streams_per_connection",
                u64::from(grpc_file.max_streams_per_connection.unwrap_or(64)),
                1..=10_000,
            )? as u32,
            handshake_timeout_ms: bounded(
                &file_path,
                "grpc.handshake_timeout_ms",
                grpc_file.handshake_timeout_ms.unwrap_or(10_000),
                100..=120_000,
            )?,
            exec_compile_timeout_ms: bounded(
                &file_path,
                "grpc.exec_compile_timeout_ms",
                grpc_file.exec_compile_timeout_ms.unwrap_or(20_000),
                1..=600_000,
            )?,
            exec_max_functions: bounded(
                &file_path,
                "grpc.exec_max_functions",
                grpc_file.exec_max_functions.unwrap_or(20_000),
                1..=1_000_000,
            )?,
            task_queues: grpc_file
                .task_queues
                .unwrap_or_else(|| worker.task_queues.clone()),
        };
        if grpc.task_queues.is_empty() {
            return Err(ConfigError::Invalid {
                path: file_path,
                key: "grpc.task_queues",
                value: "[]".to_owned(),
                reason: "name at least one queue StartWorkflow may use".to_owned(),
            });
        }
        let secrets_file = file.secrets.unwrap_or_default();
        let prefixes = secrets_file
            .env_prefixes
            .unwrap_or_else(|| vec![DEFAULT_SECRET_PREFIX.to_owned()]);
        if let Some(bad) = prefixes.iter().chain(&secrets_file.env_vars).find(|p| {
            p.is_empty()
                || !p
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        }) {
            return Err(ConfigError::Invalid {
                path: file_path,
                key: "secrets.env_prefixes",
                value: format!("{bad:?}"),
                reason: "prefixes and names are non-empty and use A-Z, 0-9 and _".to_owned(),
            });
        }
        let secrets = SecretPolicy::new(
            prefixes,
            secrets_file.env_vars,
            grpc.hmac_keys.iter().map(|(_, var)| var.clone()).collect(),
        );
        let mut outbound_allow = overrides.outbound_allow;
        outbound_allow.extend(file.outbound.unwrap_or_default().allow);
        let storage_file = file.storage.unwrap_or_default();
        let storage = StorageConfig {
            blob_max_bytes: bounded(
                &file_path,
                "storage.blob_max_mb",
                storage_file.blob_max_mb.unwrap_or(20 * 1024),
                64..=1 << 30,
            )? << 20,
            // A harvest runs at most 24 hours; a blob it needs is written or read within it.
            blob_keep: std::time::Duration::from_secs(
                bounded(
                    &file_path,
                    "storage.blob_keep_hours",
                    storage_file.blob_keep_hours.unwrap_or(24),
                    24..=24 * 365,
                )? * 3600,
            ),
        };
        Ok(Self {
            source,
            data_dir: DataDir::new(data_dir),
            modules_dir,
            suppliers_dir,
            modules: overrides.modules.or(file.modules),
            sandbox,
            database_url: overrides.database_url.or(file.database_url),
            temporal,
            worker,
            grpc,
            secrets,
            outbound_allow,
            storage,
        })
    }
}

/// `value` when it lies in `range`, else an error naming the key and the range.
fn bounded(
    path: &Path,
    key: &'static str,
    value: u64,
    range: std::ops::RangeInclusive<u64>,
) -> Result<u64, ConfigError> {
    if range.contains(&value) {
        Ok(value)
    } else {
        Err(ConfigError::Invalid {
            path: path.to_path_buf(),
            key,
            value: value.to_string(),
            reason: format!("must be between {} and {}", range.start(), range.end()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_win_over_the_file_and_file_paths_are_relative_to_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("host.toml");
        std::fs::write(
            &path,
            "data_dir = \"state\"\nmodules_dir = \"mods\"\n[sandbox]\nmax_memory_mb = 256\n",
        )
        .expect("write");
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
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("host.toml");
        std::fs::write(
            &path,
            "database_url = \"postgres://db/x\"\n[temporal]\naddress = \"temporal:7233\"\nnamespace = \"prod\"\ntls_cert = \"c.pem\"\n\
             [worker]\ntask_queues = [\"a\", \"b\"]\nmax_concurrent = 4\n",
        )
        .expect("write");
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
        let defaults = HostConfig::load(Overrides {
            config_file: Some(dir.path().join("none.toml")),
            ..Overrides::default()
        });
        assert!(
            defaults.is_err(),
            "a named config file that is missing is an error"
        );
        std::fs::write(&path, "").expect("write");
        let config = HostConfig::load(Overrides {
            config_file: Some(path),
            ..Overrides::default()
        })
        .expect("loads");
        assert_eq!(config.worker.task_queues, [DEFAULT_TASK_QUEUE]);
        assert_eq!(config.worker.max_concurrent, 10);
    }

    #[test]
    fn grpc_keys_come_from_flags_and_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("host.toml");
        std::fs::write(
            &path,
            "[grpc]\naddr = \"127.0.0.1:6000\"\nexec_concurrency = 3\n\
             [grpc.hmac_keys]\nsvc = \"SVC_SECRET\"\n[grpc.ed25519_keys]\nedge = \"AAAA\"\n",
        )
        .expect("write");
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
        let err = HostConfig::load(Overrides {
            config_file: Some(path),
            ..Overrides::default()
        })
        .expect_err("a certificate without its key");
        assert!(err.to_string().contains("grpc.tls_cert"), "{err}");
    }

    #[test]
    fn unknown_keys_are_refused_with_the_file_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("host.toml");
        std::fs::write(&path, "modules_dri = \"x\"\n").expect("write");
        let err = HostConfig::load(Overrides {
            config_file: Some(path),
            ..Overrides::default()
        })
        .expect_err("refused");
        let text = err.to_string();
        assert!(
            text.contains("host.toml") && text.contains("modules_dri"),
            "{text}"
        );
    }

    #[test]
    fn out_of_range_values_say_what_is_allowed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("host.toml");
        std::fs::write(&path, "[sandbox]\nepoch_tick_ms = 0\n").expect("write");
        let err = HostConfig::load(Overrides {
            config_file: Some(path),
            ..Overrides::default()
        })
        .expect_err("refused");
        assert!(err.to_string().contains("epoch_tick_ms"), "{err}");
    }
}
