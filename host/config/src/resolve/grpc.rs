//! `[grpc]` resolved: flags over the file, keys from both, TLS as a pair, each limit within
//! its range.

use std::path::Path;

use crate::error::ConfigError;
use crate::file::GrpcToml;
use crate::overrides::GrpcOverrides;
use crate::setting::Setting;
use crate::settings::{DEFAULT_GRPC_ADDR, GrpcConfig};

use super::FilePaths;

const MAX_TOKEN_LIFETIME_SECS: Setting = Setting::new(
    "grpc.max_token_lifetime_secs",
    24 * 3600,
    60..=366 * 24 * 3600,
);
const RATE_PER_SECOND: Setting = Setting::new("grpc.rate_per_second", 20, 1..=100_000);
const RATE_BURST: Setting = Setting::new("grpc.rate_burst", 40, 1..=100_000);
const SCHEDULES_PER_TENANT: Setting = Setting::new("grpc.schedules_per_tenant", 100, 1..=10_000);
const MAX_CONNECTIONS: Setting = Setting::new("grpc.max_connections", 512, 1..=65_536);
const MAX_STREAMS_PER_CONNECTION: Setting =
    Setting::new("grpc.max_streams_per_connection", 64, 1..=10_000);
const HANDSHAKE_TIMEOUT_MS: Setting =
    Setting::new("grpc.handshake_timeout_ms", 10_000, 100..=120_000);
const EXEC_COMPILE_TIMEOUT_MS: Setting =
    Setting::new("grpc.exec_compile_timeout_ms", 20_000, 1..=600_000);
const EXEC_MAX_FUNCTIONS: Setting = Setting::new("grpc.exec_max_functions", 20_000, 1..=1_000_000);

/// `worker_queues`: the worker's own task queues, StartWorkflow's default.
pub(super) fn resolve(
    paths: &FilePaths,
    flags: GrpcOverrides,
    file: GrpcToml,
    worker_queues: &[String],
) -> Result<GrpcConfig, ConfigError> {
    let path: &Path = &paths.file;
    let addr = match flags.addr {
        Some(a) => a,
        None => {
            let text = file.addr.as_deref().unwrap_or(DEFAULT_GRPC_ADDR);
            text.parse().map_err(|_| ConfigError::Invalid {
                path: path.to_path_buf(),
                key: "grpc.addr",
                value: text.to_owned(),
                reason: "not an address like [::]:50052 or 127.0.0.1:50052".to_owned(),
            })?
        }
    };
    let mut hmac_keys = flags.hmac_keys;
    hmac_keys.extend(file.hmac_keys);
    let mut ed25519_keys = flags.ed25519_keys;
    ed25519_keys.extend(file.ed25519_keys);
    let tls = match (
        flags.tls_cert.or_else(|| paths.beside(file.tls_cert)),
        flags.tls_key.or_else(|| paths.beside(file.tls_key)),
    ) {
        (Some(cert), Some(key)) => Some((cert, key)),
        (None, None) => None,
        _ => {
            return Err(ConfigError::Invalid {
                path: path.to_path_buf(),
                key: "grpc.tls_cert",
                value: String::new(),
                reason: "TLS needs both the certificate and its key".to_owned(),
            });
        }
    };
    let grpc = GrpcConfig {
        enabled: !flags.disabled && file.enabled.unwrap_or(true),
        addr,
        allow_unsigned_tokens: flags.allow_unsigned_tokens
            || file.allow_unsigned_tokens.unwrap_or(false),
        hmac_keys,
        ed25519_keys,
        exec_concurrency: flags
            .exec_concurrency
            .or(file.exec_concurrency)
            .unwrap_or(8)
            .max(1),
        tls,
        tls_client_ca: flags
            .tls_client_ca
            .or_else(|| paths.beside(file.tls_client_ca)),
        start_workflows: file.start_workflows,
        max_token_lifetime_secs: MAX_TOKEN_LIFETIME_SECS
            .resolve(path, file.max_token_lifetime_secs)?,
        rate_per_second: RATE_PER_SECOND.resolve(path, file.rate_per_second.map(u64::from))? as u32,
        rate_burst: RATE_BURST.resolve(path, file.rate_burst.map(u64::from))? as u32,
        schedules_per_tenant: SCHEDULES_PER_TENANT
            .resolve(path, file.schedules_per_tenant.map(|n| n as u64))?
            as usize,
        max_connections: MAX_CONNECTIONS.resolve(path, file.max_connections.map(|n| n as u64))?
            as usize,
        max_streams_per_connection: MAX_STREAMS_PER_CONNECTION
            .resolve(path, file.max_streams_per_connection.map(u64::from))?
            as u32,
        handshake_timeout_ms: HANDSHAKE_TIMEOUT_MS.resolve(path, file.handshake_timeout_ms)?,
        exec_compile_timeout_ms: EXEC_COMPILE_TIMEOUT_MS
            .resolve(path, file.exec_compile_timeout_ms)?,
        exec_max_functions: EXEC_MAX_FUNCTIONS.resolve(path, file.exec_max_functions)?,
        task_queues: file.task_queues.unwrap_or_else(|| worker_queues.to_vec()),
    };
    if grpc.task_queues.is_empty() {
        return Err(ConfigError::Invalid {
            path: path.to_path_buf(),
            key: "grpc.task_queues",
            value: "[]".to_owned(),
            reason: "name at least one queue StartWorkflow may use".to_owned(),
        });
    }
    Ok(grpc)
}
