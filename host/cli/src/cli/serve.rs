//! `serve`'s own flags: the worker, the gRPC service, reaching Temporal.

use std::path::PathBuf;

use clap::Args;

use super::parse_key_value;

/// `serve`: the worker, the gRPC service, and with --dev a local Temporal.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Start a local Temporal dev server (`temporal server start-dev`) with its database in the
    /// data directory, and stop it on exit.
    #[arg(long)]
    pub dev: bool,
    /// The dev server's gRPC port.
    #[arg(long, default_value_t = 7233, requires = "dev")]
    pub dev_port: u16,
    /// The dev server's web UI port.
    #[arg(long, default_value_t = 8233, requires = "dev")]
    pub dev_ui_port: u16,
    /// With --dev: stop after the initial harvest instead of serving until Ctrl-C.
    #[arg(long, requires = "dev")]
    pub once: bool,
    /// Do not watch the modules directory; reload only on SIGHUP or `modules reload`
    /// (for file systems where change notifications are unreliable, like some network mounts).
    #[arg(long, env = "CONTEXTWORKER_NO_WATCH")]
    pub no_watch: bool,
    /// How long the modules directory must be quiet after a change before it is reloaded.
    #[arg(long, default_value_t = 200, value_name = "MS")]
    pub watch_debounce_ms: u64,
    /// Besides change notifications, check the modules directory's files this often (catches
    /// file systems without notifications and a re-pointed symlinked directory).
    #[arg(long, default_value_t = 10, value_name = "SECS")]
    pub watch_poll_secs: u64,
    /// Start a GardenerWorkflow pass per tenant (those with a tenant or supplier file) this
    /// often, one at a time per tenant: enrichment for deployments without schedules. The
    /// original's GARDENER_POLL_INTERVAL_SEC (it used 900). Off by default.
    #[arg(
        long,
        env = "GARDENER_POLL_INTERVAL_SEC",
        value_name = "SECS",
        value_parser = clap::value_parser!(u64).range(1..=86_400)
    )]
    pub gardener_interval: Option<u64>,
    /// Before serving, make Temporal's schedules match the configuration, as `schedules sync`
    /// does (suppliers' `schedule`, the host config's `[[schedule]]`).
    #[arg(long)]
    pub sync_schedules: bool,
    /// Serve Prometheus metrics (`/metrics`), `/healthz` and `/readyz` on this address, e.g.
    /// 127.0.0.1:9464. Off by default; bind it to a private interface (no token is asked).
    #[arg(long, env = "CONTEXTWORKER_METRICS_ADDR", value_name = "ADDR")]
    pub metrics_addr: Option<std::net::SocketAddr>,
    #[command(flatten)]
    pub temporal: TemporalArgs,
    #[command(flatten)]
    pub worker: WorkerArgs,
    #[command(flatten)]
    pub grpc: GrpcArgs,
    /// The staging database: sqlite:PATH or postgres://USER@HOST/DB. Default: an SQLite file in
    /// the data directory.
    #[arg(long, env = "DATABASE_URL", value_name = "URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// A fleet's shared blob store, `s3://bucket/prefix` (credentials and endpoint from the
    /// standard AWS_* variables). Default: blobs stay in the data directory (one host).
    #[arg(long, env = "CONTEXTWORKER_BLOB_STORE", value_name = "URL")]
    pub blob_store: Option<String>,
    /// Run as a host of a fleet: follow the fleet's module releases (in the PostgreSQL of
    /// --database-url, shared through the bucket of --blob-store, both required) instead of
    /// this host's modules directory for every released module, and report this host to the
    /// fleet. A module the fleet never released is released from this host's directory.
    #[arg(long, env = "CONTEXTWORKER_FLEET")]
    pub fleet: bool,
    /// Networks fetches may reach although they are not public (CIDR or address, repeatable;
    /// adds to the file's `[outbound] allow`). Everything else non-public is refused.
    #[arg(
        long = "outbound-allow",
        env = "CONTEXTWORKER_OUTBOUND_ALLOW",
        value_delimiter = ',',
        value_name = "CIDR"
    )]
    pub outbound_allow: Vec<String>,
}

#[derive(Debug, Args)]
pub struct GrpcArgs {
    /// Where the gRPC WorkerService listens (default [::]:50052).
    #[arg(long, env = "WORKER_GRPC_ADDR", value_name = "ADDR")]
    pub grpc_addr: Option<std::net::SocketAddr>,
    /// Do not serve gRPC (run only the Temporal worker).
    #[arg(long)]
    pub no_grpc: bool,
    /// Do not run the Temporal worker (serve only gRPC; StartWorkflow and GetTaskStatus answer
    /// `unavailable`).
    #[arg(long)]
    pub no_temporal: bool,
    /// Accept unsigned tokens (kid `unsigned`): development only; a warning is logged at start.
    #[arg(long, env = "WORKER_ALLOW_UNSIGNED_TOKENS")]
    pub allow_unsigned_tokens: bool,
    /// An HMAC-SHA256 token key: KID=ENV_VAR, the secret read from that environment variable
    /// (repeatable).
    #[arg(long = "token-hmac-key", value_name = "KID=ENV_VAR", value_parser = parse_key_value)]
    pub token_hmac_keys: Vec<(String, String)>,
    /// An Ed25519 token key: KID=PUBLIC_KEY (standard base64 of the 32-byte key; repeatable).
    #[arg(long = "token-ed25519-key", value_name = "KID=BASE64", value_parser = parse_key_value)]
    pub token_ed25519_keys: Vec<(String, String)>,
    /// Serve gRPC over TLS with this certificate (PEM; needs --grpc-tls-key).
    #[arg(
        long,
        env = "WORKER_GRPC_TLS_CERT",
        value_name = "FILE",
        requires = "grpc_tls_key"
    )]
    pub grpc_tls_cert: Option<PathBuf>,
    /// The private key (PEM) of --grpc-tls-cert.
    #[arg(
        long,
        env = "WORKER_GRPC_TLS_KEY",
        value_name = "FILE",
        requires = "grpc_tls_cert"
    )]
    pub grpc_tls_key: Option<PathBuf>,
    /// Require client certificates signed by this CA (PEM): mutual TLS.
    #[arg(long, env = "WORKER_GRPC_TLS_CLIENT_CA", value_name = "FILE")]
    pub grpc_tls_client_ca: Option<PathBuf>,
    /// ExecuteCode calls running at once (default 8); more wait briefly, then get
    /// RESOURCE_EXHAUSTED.
    #[arg(long, env = "WORKER_EXEC_CONCURRENCY", value_name = "N")]
    pub exec_concurrency: Option<usize>,
}

/// Reaching Temporal: for `serve` and every command that starts or reads workflows.
#[derive(Debug, Args)]
pub struct TemporalArgs {
    /// Temporal frontend host:port (TEMPORAL_HOST is read too, the original worker's name).
    #[arg(long, env = "TEMPORAL_ADDRESS", value_name = "HOST:PORT")]
    pub temporal_address: Option<String>,
    /// Temporal namespace.
    #[arg(long, env = "TEMPORAL_NAMESPACE", value_name = "NAME")]
    pub temporal_namespace: Option<String>,
    /// Temporal Cloud API key (turns TLS on).
    #[arg(
        long,
        env = "TEMPORAL_API_KEY",
        value_name = "KEY",
        hide_env_values = true
    )]
    pub temporal_api_key: Option<String>,
    /// Client certificate (PEM) for mTLS.
    #[arg(long, env = "TEMPORAL_TLS_CERT", value_name = "FILE")]
    pub temporal_tls_cert: Option<PathBuf>,
    /// Client private key (PEM) for mTLS.
    #[arg(long, env = "TEMPORAL_TLS_KEY", value_name = "FILE")]
    pub temporal_tls_key: Option<PathBuf>,
    /// Task queue(s), comma-separated: the worker polls them all; commands start workflows on
    /// the first.
    #[arg(
        long = "task-queue",
        env = "WORKER_TASK_QUEUE",
        value_delimiter = ',',
        value_name = "QUEUE"
    )]
    pub task_queues: Option<Vec<String>>,
    /// Identity shown in Temporal. Default: <pid>@<hostname>.
    #[arg(long, env = "WORKER_IDENTITY", value_name = "NAME")]
    pub identity: Option<String>,
}

/// How the worker runs activities.
#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// Activities running at once (per task queue).
    #[arg(long, env = "WORKER_MAX_CONCURRENT", value_name = "N")]
    pub max_concurrent: Option<usize>,
    /// On SIGINT/SIGTERM, how long running activities may finish before they are cancelled
    /// (and retried elsewhere).
    #[arg(long, env = "WORKER_SHUTDOWN_GRACE_SECS", value_name = "SECS")]
    pub shutdown_grace_secs: Option<u64>,
}
