//! The TOML file as written, before validation.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::FileError;
use crate::error::ConfigError;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostConfigToml {
    pub data_dir: Option<PathBuf>,
    pub modules_dir: Option<PathBuf>,
    pub suppliers_dir: Option<PathBuf>,
    /// `tenants/<tenant>.toml`: per-tenant enrichment settings (default: `tenants` beside the
    /// suppliers directory).
    pub tenants_dir: Option<PathBuf>,
    pub modules: Option<Vec<String>>,
    pub sandbox: Option<SandboxToml>,
    /// `sqlite:PATH` or `postgres://…`; default an SQLite file in the data directory.
    pub database_url: Option<String>,
    /// `[temporal]`: where the server is. Paths are relative to the config file.
    pub temporal: Option<crate::temporal::TemporalInput>,
    pub worker: Option<WorkerToml>,
    pub grpc: Option<GrpcToml>,
    pub secrets: Option<SecretsToml>,
    pub outbound: Option<OutboundToml>,
    pub storage: Option<StorageToml>,
    /// `[http.<module>]`: narrows a module's `[http]` grant to these destinations.
    #[serde(default)]
    pub http: std::collections::BTreeMap<String, crate::http::HttpNarrowToml>,
    /// `[[http_secret]]`: headers the host sets on modules' requests to one origin.
    #[serde(default)]
    pub http_secret: Vec<crate::http::HttpSecretToml>,
    /// `[[schedule]]`: recurring workflows for many tenants.
    #[serde(default)]
    pub schedule: Vec<crate::schedule::ScheduleToml>,
}

/// `[storage]`: the blob store (feeds and parsed products by sha256).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageToml {
    /// Disk the blob store may use.
    pub blob_max_mb: Option<u64>,
    /// A blob written or read this recently is never evicted (at least the 24 hours a
    /// harvest may run).
    pub blob_keep_hours: Option<u64>,
    /// `s3://bucket/prefix`: a fleet's shared store; `blob_max_mb` then bounds the local
    /// read-through directory. Unset: blobs stay in the data directory (one host).
    pub blob_store: Option<String>,
}

/// `[secrets]`: which environment variables supplier files (and activity inputs) may name as
/// credentials.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretsToml {
    pub env_prefixes: Option<Vec<String>>,
    #[serde(default)]
    pub env_vars: Vec<String>,
}

/// `[outbound]`: where fetches may connect beyond the public internet.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutboundToml {
    /// CIDR networks or single addresses admitted although they are not public
    /// (internal suppliers, a loopback test server).
    #[serde(default)]
    pub allow: Vec<String>,
}

/// `[grpc]`: the WorkerService. Key material by reference: HMAC secrets are named environment
/// variables, Ed25519 keys are public.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrpcToml {
    pub addr: Option<String>,
    pub enabled: Option<bool>,
    pub allow_unsigned_tokens: Option<bool>,
    /// kid → the environment variable holding its HMAC-SHA256 secret.
    #[serde(default)]
    pub hmac_keys: std::collections::BTreeMap<String, String>,
    /// kid → standard base64 of its 32-byte Ed25519 public key.
    #[serde(default)]
    pub ed25519_keys: std::collections::BTreeMap<String, String>,
    pub exec_concurrency: Option<usize>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub tls_client_ca: Option<PathBuf>,
    /// Workflow types a tenant's token may start (the server builds their arguments).
    pub start_workflows: Option<Vec<String>>,
    /// Task queues a StartWorkflow may name; default the worker's own queues.
    pub task_queues: Option<Vec<String>>,
    /// Tokens valid for longer than this (from `iat`, or from now) are refused.
    pub max_token_lifetime_secs: Option<u64>,
    /// StartWorkflow and ExecuteCode calls per second per token, and the burst above it.
    pub rate_per_second: Option<u32>,
    pub rate_burst: Option<u32>,
    /// Schedules a tenant may hold through RegisterSchedules.
    pub schedules_per_tenant: Option<usize>,
    pub max_connections: Option<usize>,
    pub max_streams_per_connection: Option<u32>,
    /// A connection must send its first bytes, and finish a TLS handshake, within this.
    pub handshake_timeout_ms: Option<u64>,
    /// How long an ExecuteCode request waits for its compile.
    pub exec_compile_timeout_ms: Option<u64>,
    /// The pre-scan's ceiling on functions in submitted code.
    pub exec_max_functions: Option<u64>,
}

/// `[worker]`: what this host serves.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkerToml {
    pub task_queues: Option<Vec<String>>,
    pub max_concurrent: Option<usize>,
    pub graceful_shutdown_secs: Option<u64>,
    pub identity: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SandboxToml {
    pub max_concurrent_instances: Option<u32>,
    pub max_memory_mb: Option<u64>,
    pub max_component_mb: Option<u64>,
    pub epoch_tick_ms: Option<u64>,
    pub pooling: Option<bool>,
    pub compile_cache: Option<bool>,
    pub allow_on_demand_fallback: Option<bool>,
    /// Linear memory all running guest calls together may reserve.
    pub memory_budget_mb: Option<u64>,
    /// Disk the compile cache may use before the least recently used entries go.
    pub compile_cache_max_mb: Option<u64>,
}

impl HostConfigToml {
    pub fn read(path: &Path) -> Result<Self, ConfigError> {
        let text = FileError::read_text(path)?;
        Ok(FileError::parse(path, &text)?)
    }
}
