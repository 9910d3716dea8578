//! Resolving the configuration: the file found and read, flags and environment over it,
//! paths in the file made relative to the file, every value checked. One child per larger
//! section.

mod grpc;
mod sandbox;

use std::path::{Path, PathBuf};

use contextworker_types::DataDir;

use crate::error::ConfigError;
use crate::file::{HostConfigToml, SecretsToml, StorageToml, WorkerToml};
use crate::overrides::Overrides;
use crate::secrets::{DEFAULT_SECRET_PREFIX, SecretPolicy};
use crate::setting::Setting;
use crate::settings::{DEFAULT_TASK_QUEUE, HostConfig, StorageConfig, WorkerConfig};
use crate::temporal::TemporalInput;

const WORKER_MAX_CONCURRENT: Setting = Setting::new("worker.max_concurrent", 10, 1..=10_000);
const BLOB_MAX_MB: Setting = Setting::new("storage.blob_max_mb", 20 * 1024, 64..=1 << 30);
// A harvest runs at most 24 hours; a blob it needs is written or read within it.
const BLOB_KEEP_HOURS: Setting = Setting::new("storage.blob_keep_hours", 24, 24..=24 * 365);

/// Where the file is, for resolving the paths it names and for naming it in errors.
struct FilePaths {
    /// The directory relative paths in the file are relative to.
    base: PathBuf,
    /// The file, or `(defaults)` when there is none.
    file: PathBuf,
}

impl FilePaths {
    /// A path the file gives, relative to the file rather than to the working directory.
    fn beside(&self, path: Option<PathBuf>) -> Option<PathBuf> {
        path.map(|p| self.base.join(p))
    }
}

impl HostConfig {
    /// Resolve the configuration from `overrides` and the config file.
    pub fn load(overrides: Overrides) -> Result<Self, ConfigError> {
        let Overrides {
            config_file,
            data_dir,
            modules_dir,
            suppliers_dir,
            modules,
            database_url,
            blob_store,
            temporal: temporal_flags,
            task_queues,
            max_concurrent,
            graceful_shutdown_secs,
            identity,
            grpc: grpc_flags,
            outbound_allow: allow_flags,
        } = overrides;
        let (source, file) = read_file(config_file.as_deref())?;
        let paths = FilePaths {
            base: source
                .as_deref()
                .and_then(Path::parent)
                .map(Path::to_path_buf)
                .unwrap_or_default(),
            file: source
                .as_deref()
                .unwrap_or(Path::new("(defaults)"))
                .to_path_buf(),
        };
        let data_dir = data_dir
            .or_else(|| paths.beside(file.data_dir))
            .unwrap_or_else(|| paths.base.join("data"));
        let modules_dir = modules_dir
            .or_else(|| paths.beside(file.modules_dir))
            .unwrap_or_else(|| paths.base.join("modules"));
        let suppliers_dir = suppliers_dir
            .or_else(|| paths.beside(file.suppliers_dir))
            .unwrap_or_else(|| paths.base.join("suppliers"));
        let tenants_dir = paths.beside(file.tenants_dir).unwrap_or_else(|| {
            suppliers_dir
                .parent()
                .unwrap_or(Path::new(""))
                .join("tenants")
        });
        let sandbox = file.sandbox.unwrap_or_default().resolve(&paths.file)?;
        let temporal_file = file.temporal.unwrap_or_default();
        let temporal = temporal_flags.or(TemporalInput {
            tls_cert: paths.beside(temporal_file.tls_cert),
            tls_key: paths.beside(temporal_file.tls_key),
            ..temporal_file
        });
        let worker_file = file.worker.unwrap_or_default();
        let worker = resolve_worker(
            &paths.file,
            WorkerToml {
                task_queues: task_queues.or(worker_file.task_queues),
                max_concurrent: max_concurrent.or(worker_file.max_concurrent),
                graceful_shutdown_secs: graceful_shutdown_secs
                    .or(worker_file.graceful_shutdown_secs),
                identity: identity.or(worker_file.identity),
            },
        )?;
        let grpc = grpc::resolve(
            &paths,
            grpc_flags,
            file.grpc.unwrap_or_default(),
            &worker.task_queues,
        )?;
        let http_narrowing = crate::http::resolve_narrowing(&paths.file, file.http)?;
        let http_secrets = crate::http::resolve_secrets(&paths.file, file.http_secret)?;
        // The host's own secrets (token keys, modules' HTTP credentials) are never readable
        // as a supplier's credentials.
        let host_vars = grpc
            .hmac_keys
            .iter()
            .map(|(_, var)| var.clone())
            .chain(http_secrets.iter().map(|s| s.env.clone()))
            .collect();
        let secrets = resolve_secrets(&paths.file, file.secrets.unwrap_or_default(), host_vars)?;
        let mut outbound_allow = allow_flags;
        outbound_allow.extend(file.outbound.unwrap_or_default().allow);
        let schedules = crate::schedule::resolve(&paths.file, file.schedule)?;
        let storage = resolve_storage(&paths.file, file.storage.unwrap_or_default(), blob_store)?;
        Ok(Self {
            source,
            data_dir: DataDir::new(data_dir),
            modules_dir,
            suppliers_dir,
            tenants_dir,
            modules: modules.or(file.modules),
            sandbox,
            database_url: database_url.or(file.database_url),
            temporal,
            worker,
            grpc,
            secrets,
            outbound_allow,
            storage,
            http_narrowing,
            http_secrets,
            schedules,
        })
    }
}

/// The file named, else `contextworker.toml` in the working directory when present, else
/// nothing (every default).
fn read_file(named: Option<&Path>) -> Result<(Option<PathBuf>, HostConfigToml), ConfigError> {
    Ok(match named {
        Some(path) => (Some(path.to_path_buf()), HostConfigToml::read(path)?),
        None => {
            let default = Path::new("contextworker.toml");
            if default.is_file() {
                (Some(default.to_path_buf()), HostConfigToml::read(default)?)
            } else {
                (None, HostConfigToml::default())
            }
        }
    })
}

/// `[worker]` with the flags already over it.
fn resolve_worker(path: &Path, merged: WorkerToml) -> Result<WorkerConfig, ConfigError> {
    let task_queues: Vec<String> = merged
        .task_queues
        .unwrap_or_else(|| vec![DEFAULT_TASK_QUEUE.to_owned()])
        .into_iter()
        .map(|q| q.trim().to_owned())
        .filter(|q| !q.is_empty())
        .collect();
    if task_queues.is_empty() {
        return Err(ConfigError::Invalid {
            path: path.to_path_buf(),
            key: "worker.task_queues",
            value: "[]".to_owned(),
            reason: "name at least one task queue".to_owned(),
        });
    }
    let max_concurrent = merged.max_concurrent.map(|n| n as u64);
    Ok(WorkerConfig {
        task_queues,
        max_concurrent: WORKER_MAX_CONCURRENT.resolve(path, max_concurrent)? as usize,
        graceful_shutdown: std::time::Duration::from_secs(
            merged.graceful_shutdown_secs.unwrap_or(30),
        ),
        identity: merged.identity,
    })
}

/// `hmac_vars`: the variables holding the gRPC HMAC secrets, which activities may never read.
fn resolve_secrets(
    path: &Path,
    file: SecretsToml,
    hmac_vars: Vec<String>,
) -> Result<SecretPolicy, ConfigError> {
    let prefixes = file
        .env_prefixes
        .unwrap_or_else(|| vec![DEFAULT_SECRET_PREFIX.to_owned()]);
    if let Some(bad) = prefixes.iter().chain(&file.env_vars).find(|p| {
        p.is_empty()
            || !p
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
    }) {
        return Err(ConfigError::Invalid {
            path: path.to_path_buf(),
            key: "secrets.env_prefixes",
            value: format!("{bad:?}"),
            reason: "prefixes and names are non-empty and use A-Z, 0-9 and _".to_owned(),
        });
    }
    Ok(SecretPolicy::new(prefixes, file.env_vars, hmac_vars))
}

fn resolve_storage(
    path: &Path,
    file: StorageToml,
    flag: Option<String>,
) -> Result<StorageConfig, ConfigError> {
    let shared = match flag.or(file.blob_store) {
        Some(url) => Some(
            url.parse().map_err(
                |e: contextworker_types::BucketUrlError| ConfigError::Invalid {
                    path: path.to_path_buf(),
                    key: "storage.blob_store",
                    value: e.url,
                    reason: e.reason.to_owned(),
                },
            )?,
        ),
        None => None,
    };
    Ok(StorageConfig {
        shared,
        blob_max_bytes: BLOB_MAX_MB.resolve(path, file.blob_max_mb)? << 20,
        blob_keep: std::time::Duration::from_secs(
            BLOB_KEEP_HOURS.resolve(path, file.blob_keep_hours)? * 3600,
        ),
    })
}

#[cfg(test)]
mod tests;
