//! The command line: what each command and flag means.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "contextworker-host",
    version,
    about = "Runs supplier feed parsers, classifiers and submitted code as sandboxed WebAssembly components",
    long_about = "Runs supplier feed parsers, classifiers and submitted code as sandboxed WebAssembly components.\n\n\
                  `serve` (also the default without a command) runs the Temporal worker: loads the modules, opens the \
                  staging database and serves the harvest workflows and every module as an activity until \
                  SIGINT/SIGTERM. With --dev it first starts a local Temporal dev server and harvests every enabled \
                  supplier once."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    /// `serve`'s flags, for the bare form.
    #[command(flatten)]
    pub serve: ServeArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// What every command reads: where the host's files are, which modules, and how it logs.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Host configuration file (TOML). Default: contextworker.toml in the working directory, if present.
    #[arg(long, global = true, env = "CONTEXTWORKER_CONFIG", value_name = "FILE")]
    pub host_config: Option<PathBuf>,
    /// Where the host keeps its state: the compiled-component cache, databases, blobs.
    #[arg(
        long,
        global = true,
        env = "CONTEXTWORKER_DATA_DIR",
        value_name = "DIR"
    )]
    pub data_dir: Option<PathBuf>,
    /// The directory of modules: one folder per module with a module.toml and its component.
    #[arg(
        long,
        global = true,
        env = "CONTEXTWORKER_MODULES_DIR",
        value_name = "DIR"
    )]
    pub modules_dir: Option<PathBuf>,
    /// The directory of supplier files (`<code>.toml`).
    #[arg(
        long,
        global = true,
        env = "CONTEXTWORKER_SUPPLIERS_DIR",
        value_name = "DIR"
    )]
    pub suppliers_dir: Option<PathBuf>,
    /// Load only these modules (comma-separated, or the flag repeated): what `serve` loads and
    /// what `modules list` and `validate` show.
    // One value per flag (comma-separated or repeated): with `num_args = 1..` a following
    // subcommand was taken for a module name (`--modules yml modules list` started the worker).
    #[arg(long, global = true, value_delimiter = ',', value_name = "NAME")]
    pub modules: Option<Vec<String>>,
    /// More log output (-v debug, -vv trace). RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only warnings and errors in the log.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Log as JSON lines instead of text.
    #[arg(long, global = true)]
    pub log_json: bool,
}

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

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the Temporal worker and the gRPC service (the default without a command).
    Serve(ServeArgs),
    /// Inspect, validate and try modules.
    #[command(subcommand)]
    Modules(ModulesCommand),
    /// Inspect and check supplier configurations.
    #[command(subcommand)]
    Suppliers(SuppliersCommand),
    /// Run a `code` component in the sandbox and print its output, error and receipt
    /// (the local twin of the ExecuteCode RPC).
    Exec(ExecArgs),
    /// Start HarvestWorkflow for a supplier (fetch → parse → stage) on a running worker.
    Harvest(HarvestArgs),
    /// Start HarvesterImportWorkflow: import one feed URL ad hoc.
    Import(ImportArgs),
    /// Workflows: status and results.
    #[command(subcommand)]
    Workflow(WorkflowCommand),
    /// Mint a ContextUnity token for the gRPC service (HMAC-signed, or unsigned for development).
    Token(TokenArgs),
    /// Call a running host's gRPC WorkerService.
    Rpc(RpcArgs),
    /// Free disk: blobs no running harvest can need (unused for `[storage] blob_keep_hours`),
    /// the compile cache down to its cap, dead temp files. Safe while workers run.
    Gc {
        /// One JSON document instead of text.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub struct RpcArgs {
    /// The service's address.
    #[arg(
        long,
        env = "CONTEXTWORKER_RPC_ADDR",
        default_value = "http://127.0.0.1:50052"
    )]
    pub addr: String,
    /// The token (see `token`).
    #[arg(long, env = "CONTEXTWORKER_TOKEN", hide_env_values = true)]
    pub token: String,
    #[command(subcommand)]
    pub call: RpcCall,
}

#[derive(Debug, Subcommand)]
pub enum RpcCall {
    /// StartWorkflow with this payload (JSON), e.g. '{"workflow_type":"harvest","supplier_code":"demo"}'.
    Start { payload: String },
    /// GetTaskStatus of a workflow.
    Status { workflow_id: String },
    /// ExecuteCode: a .wasm component, or a .js file (JavaScript).
    Exec {
        file: PathBuf,
        /// Input: a string, or JSON with --json-input.
        #[arg(long, default_value = "")]
        input: String,
        /// Parse --input as JSON.
        #[arg(long)]
        json_input: bool,
        #[arg(long)]
        timeout_ms: Option<u64>,
    },
}

#[derive(Debug, Args)]
pub struct TokenArgs {
    /// Key id (must match a --token-hmac-key of the server).
    #[arg(long, default_value = "local")]
    pub kid: String,
    /// The environment variable holding the HMAC secret.
    #[arg(long, value_name = "ENV_VAR", required_unless_present = "unsigned")]
    pub secret_env: Option<String>,
    /// Mint an unsigned development token instead (accepted only with --allow-unsigned-tokens).
    #[arg(long)]
    pub unsigned: bool,
    /// Permissions (repeatable).
    #[arg(long = "permission", default_values = ["worker:execute", "worker:read"])]
    pub permissions: Vec<String>,
    /// Tenants the token may act for (repeatable); the first is the default.
    #[arg(long = "tenant", required = true)]
    pub tenants: Vec<String>,
    /// Lifetime in seconds.
    #[arg(long, default_value_t = 3600)]
    pub ttl_secs: u64,
}

#[derive(Debug, Args)]
pub struct WaitArgs {
    /// Wait for the workflow to finish, print its result, and exit non-zero if it failed.
    #[arg(long)]
    pub wait: bool,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// The Temporal web UI, for links in the output.
    #[arg(long, env = "TEMPORAL_UI_URL", default_value = "http://localhost:8233")]
    pub ui_url: String,
}

#[derive(Debug, Args)]
pub struct HarvestArgs {
    /// The supplier code (a file suppliers/<code>.toml on the worker).
    pub supplier: String,
    /// Tenant (default: the supplier file's tenant).
    #[arg(long)]
    pub tenant: Option<String>,
    /// Workflow id (default harvest:<tenant>:<supplier>, so one harvest per catalog runs at a time).
    #[arg(long)]
    pub workflow_id: Option<String>,
    #[command(flatten)]
    pub wait: WaitArgs,
    #[command(flatten)]
    pub temporal: TemporalArgs,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The feed URL (http, https, or file:// under the data directory's import/ folder).
    pub url: String,
    /// The transformer module (default: detected from the feed's content).
    #[arg(long)]
    pub module: Option<String>,
    /// Tenant (default `default`).
    #[arg(long)]
    pub tenant: Option<String>,
    /// Workflow id (default harvest:<tenant>:import-<hash of the URL>).
    #[arg(long)]
    pub workflow_id: Option<String>,
    #[command(flatten)]
    pub wait: WaitArgs,
    #[command(flatten)]
    pub temporal: TemporalArgs,
}

#[derive(Debug, Subcommand)]
pub enum WorkflowCommand {
    /// Status of a workflow, with its result or failure once it has finished.
    Status {
        /// Workflow id.
        id: String,
        /// Wait for it to finish first.
        #[arg(long)]
        wait: bool,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        temporal: TemporalArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum ModulesCommand {
    /// List the modules: with a worker running on this data directory, what it serves (active
    /// version, digest, since when, staged candidate, refusals); else what the modules
    /// directory holds. Previous versions come from the version store.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Ask the running workers of this data directory to read the modules directory again
    /// (as SIGHUP does) and print what each swapped or refused.
    Reload {
        /// Give up waiting for a worker after this many seconds.
        #[arg(long, default_value_t = 60)]
        timeout_secs: u64,
    },
    /// Go back to a kept version of a module: it is written back into the modules directory
    /// (so a restart keeps it) and the running workers switch to it.
    Rollback {
        /// The module.
        module: String,
        /// The version to go back to: a digest or a unique prefix of its hex digits. Default:
        /// the version that was active before the current one.
        #[arg(long, value_name = "DIGEST")]
        to: Option<String>,
        /// Give up waiting for a worker after this many seconds.
        #[arg(long, default_value_t = 60)]
        timeout_secs: u64,
    },
    /// Run the active version of a transformer and a candidate component on the same feed and
    /// print what differs, record by record. Exits 0 when the outputs are the same, 1 when
    /// they differ, 2 when either cannot run.
    Diff(DiffArgs),
    /// Load every module and run its manifest's self-tests. Exits non-zero if any fails.
    Validate,
    /// Run a transformer on a local feed: products as NDJSON on stdout, a summary on stderr.
    Test(TestArgs),
}

#[derive(Debug, Subcommand)]
pub enum SuppliersCommand {
    /// List the suppliers: code, tenant, module, source, enabled.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Check every supplier: the file parses, its module exists and is a transformer, the
    /// environment variables its credentials name are set, and a local (file:) feed parses
    /// with its configuration. Exits non-zero if any check fails.
    Validate,
}

#[derive(Debug, Args)]
pub struct TestArgs {
    /// A module name from the modules directory, or a path to a transformer .wasm component.
    pub module: String,
    /// The feed file to parse.
    pub input: PathBuf,
    /// Module configuration, overriding the manifest's defaults (repeatable).
    #[arg(long = "config", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub config: Vec<(String, String)>,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The module, as the modules directory defines it (its active version is compared).
    pub module: String,
    /// The candidate component (.wasm), run with the module's manifest.
    pub candidate: PathBuf,
    /// The feed file both parse.
    pub feed: PathBuf,
    /// Configuration for both runs, overriding the manifest's defaults (repeatable).
    #[arg(long = "config", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub config: Vec<(String, String)>,
    /// Configuration for the candidate only, on top of --config (repeatable).
    #[arg(long = "candidate-config", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub candidate_config: Vec<(String, String)>,
    /// How many records of each kind (added, removed, changed) to print.
    #[arg(long, default_value_t = 20)]
    pub samples: usize,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ExecArgs {
    /// The `code` component to run (.wasm).
    #[arg(required_unless_present = "js")]
    pub component: Option<PathBuf>,
    /// Run this JavaScript file instead, in the modules directory's `js` module (the engine
    /// behind ExecuteCode's `javascript`); --input is given to it as `input` (parsed as JSON
    /// when it is JSON).
    #[arg(long, value_name = "FILE", conflicts_with = "component")]
    pub js: Option<PathBuf>,
    /// Input: a string, or @FILE to read a file (bytes that are not UTF-8 are passed as binary).
    #[arg(long, value_name = "STRING|@FILE")]
    pub input: Option<String>,
    /// CPU deadline in milliseconds.
    #[arg(long, default_value_t = 5000)]
    pub timeout_ms: u64,
    /// Linear memory limit in MiB.
    #[arg(long, default_value_t = 64)]
    pub memory_mb: u64,
    /// Deterministic instruction budget (turns fuel metering on).
    #[arg(long)]
    pub fuel: Option<u64>,
    /// Output size limit in bytes.
    #[arg(long, default_value_t = 1 << 20)]
    pub max_output_bytes: u64,
    /// Configuration the component reads (repeatable).
    #[arg(long = "config", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub config: Vec<(String, String)>,
    /// Print one JSON document (output, stdout, stderr, error, receipt) instead of text.
    #[arg(long)]
    pub json: bool,
}

impl Cli {
    /// Parse the command line. The bare form is `serve`: its flags stand before no command,
    /// and a command takes only its own flags, so `--dev modules list` is an error rather than
    /// a worker. (clap's `args_conflicts_with_subcommands` would refuse the global flags too.)
    pub fn parse_scoped() -> Self {
        use clap::{CommandFactory as _, FromArgMatches as _};
        let mut command = Self::command();
        let matches = command.get_matches_mut();
        if let Some((name, _)) = matches.subcommand() {
            let serve_only = ServeArgs::augment_args(clap::Command::new("serve"));
            for arg in serve_only.get_arguments() {
                let id = arg.get_id().as_str();
                if matches.value_source(id) == Some(clap::parser::ValueSource::CommandLine) {
                    let flag = arg.get_long().unwrap_or(id);
                    command
                        .error(
                            clap::error::ErrorKind::ArgumentConflict,
                            format!(
                                "--{flag} is a flag of `serve`, not of `{name}`; \
                                 write it after the command that takes it"
                            ),
                        )
                        .exit();
                }
            }
        }
        Self::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
    }
}

fn parse_key_value(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_owned(), v.to_owned())),
        _ => Err(format!("expected KEY=VALUE, got {s:?}")),
    }
}
