//! What the command line and the environment give: each `None` falls through to the file.
//! The CLI merges flags and variables (clap's `env`) before handing them here.

use std::path::PathBuf;

use crate::temporal::TemporalInput;

/// Values given on the command line or in the environment; `None` falls through to the file.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub config_file: Option<PathBuf>,
    pub data_dir: Option<PathBuf>,
    pub modules_dir: Option<PathBuf>,
    pub suppliers_dir: Option<PathBuf>,
    pub modules: Option<Vec<String>>,
    pub database_url: Option<String>,
    /// `--blob-store`: `s3://bucket/prefix` for a fleet's shared store.
    pub blob_store: Option<String>,
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
