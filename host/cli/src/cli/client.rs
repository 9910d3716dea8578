//! The flags of the commands that start, follow or call workflows: `harvest`, `import`,
//! `workflow`, `rpc`, `token`.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use contextworker_types::defaults::DEFAULT_TENANT;

use super::TemporalArgs;

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
    /// The tenant whose supplier this is. Supplier files live on the workers, so the client
    /// does not guess it: a supplier of another tenant fails as unknown.
    #[arg(long, env = "CONTEXTWORKER_TENANT", default_value = DEFAULT_TENANT, value_parser = tenant_id)]
    pub tenant: String,
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
    /// The tenant the products are staged for.
    #[arg(long, env = "CONTEXTWORKER_TENANT", default_value = DEFAULT_TENANT, value_parser = tenant_id)]
    pub tenant: String,
    /// Workflow id (default harvest:<tenant>:import-<hash of the URL>).
    #[arg(long)]
    pub workflow_id: Option<String>,
    #[command(flatten)]
    pub wait: WaitArgs,
    #[command(flatten)]
    pub temporal: TemporalArgs,
}

#[derive(Debug, Args)]
pub struct EnrichArgs {
    /// The tenant whose staged products are enriched.
    #[arg(value_parser = tenant_id)]
    pub tenant: String,
    /// Only these products (SUPPLIER/SKU, repeatable), whatever their status; default every
    /// pending product of the tenant.
    #[arg(long = "product", value_name = "SUPPLIER/SKU")]
    pub products: Vec<contextworker_types::ProductRef>,
    /// Only this supplier's pending products.
    #[arg(long)]
    pub supplier: Option<String>,
    /// The enricher module (default: the tenant file's, else taxonomy-rules).
    #[arg(long)]
    pub classifier: Option<String>,
    /// Products per classifier call (default: the tenant file's, else 50).
    #[arg(long)]
    pub batch_size: Option<u32>,
    /// Stop after this many batches (default: until nothing is pending).
    #[arg(long)]
    pub max_batches: Option<u32>,
    /// Workflow id (default enrich:<tenant>, so one enrichment per tenant runs at a time).
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

/// A tenant as the workers will accept it, checked before anything is started: it becomes part
/// of a workflow id.
fn tenant_id(s: &str) -> Result<String, contextworker_types::IdError> {
    contextworker_types::TenantId::new(s).map(|t| t.as_str().to_owned())
}
