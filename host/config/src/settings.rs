//! The resolved configuration every part of the host reads: validated, paths absolute or
//! relative to the working directory, defaults filled in.

use std::path::PathBuf;

use contextworker_types::DataDir;

use crate::secrets::SecretPolicy;
use crate::temporal::TemporalInput;

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
    /// Schedules one tenant may hold through RegisterSchedules.
    pub schedules_per_tenant: usize,
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
    /// Per-tenant settings (`<tenant>.toml`).
    pub tenants_dir: PathBuf,
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
    /// Module name → the operator's narrowing of its `[http]` grant.
    pub http_narrowing: std::collections::BTreeMap<String, Vec<contextworker_types::HttpRule>>,
    /// Secret headers for modules' requests, by reference to environment variables.
    pub http_secrets: Vec<crate::HttpSecret>,
    /// `[[schedule]]` tables, for `schedules sync`.
    pub schedules: Vec<crate::ConfiguredSchedule>,
}

/// Where blobs live, and the bounds of the local directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageConfig {
    /// The fleet's shared object store; `None`: the data directory alone.
    pub shared: Option<contextworker_types::BucketUrl>,
    pub blob_max_bytes: u64,
    pub blob_keep: std::time::Duration,
}

impl HostConfig {
    /// Where compiled components are cached.
    pub fn compile_cache_dir(&self) -> Option<PathBuf> {
        self.sandbox.compile_cache.then(|| self.data_dir.compiled())
    }
}
