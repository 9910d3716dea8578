//! The JSON shapes that cross Temporal: workflow inputs and results, activity inputs and
//! outputs. Field names are snake_case, as a Python caller writes them; every optional field
//! has a default so older callers keep working when a field is added.

use contextworker_storage::BlobRef;
pub use contextworker_types::Credentials;
use contextworker_types::{Digest, Warning};
use serde::{Deserialize, Serialize};

/// Activity names. The first three are the steps of the original ContextWorker; the second
/// three are its older names for the same steps.
pub mod names {
    pub const RESOLVE_SUPPLIER: &str = "resolve_supplier";
    pub const DOWNLOAD_FEED: &str = "download_feed";
    pub const PARSE_PRODUCTS: &str = "parse_products";
    pub const STORE_PRODUCTS: &str = "store_products";
    pub const FETCH_VENDOR_DATA: &str = "fetch_vendor_data";
    pub const PARSE_RAW_PAYLOAD: &str = "parse_raw_payload";
    pub const UPDATE_STAGING_BUFFER: &str = "update_staging_buffer";
    /// Which version of which module parses a feed: decided once per harvest, so a retried
    /// parse uses the same version even after a swap.
    pub const PIN_MODULE: &str = "pin_module";

    pub const HARVEST_WORKFLOW: &str = "HarvestWorkflow";
    pub const IMPORT_WORKFLOW: &str = "HarvesterImportWorkflow";

    /// Every native activity name, aliases included.
    pub const NATIVE: &[&str] = &[
        RESOLVE_SUPPLIER,
        DOWNLOAD_FEED,
        PARSE_PRODUCTS,
        STORE_PRODUCTS,
        FETCH_VENDOR_DATA,
        PARSE_RAW_PAYLOAD,
        UPDATE_STAGING_BUFFER,
        PIN_MODULE,
    ];
}

/// `HarvestWorkflow` input: `(supplier_code, tenant_id)` positionally, or one object.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct HarvestArgs {
    pub supplier_code: String,
    /// Defaults to the supplier file's tenant.
    #[serde(default)]
    pub tenant_id: Option<String>,
}

/// `HarvesterImportWorkflow` input: `(url)` positionally, or an object.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ImportArgs {
    pub url: String,
    /// Transformer module; detected from the content when absent.
    #[serde(default)]
    pub module: Option<String>,
    #[serde(default)]
    pub tenant_id: Option<String>,
    /// The catalog the products are staged under (default `import`).
    #[serde(default)]
    pub supplier_code: Option<String>,
    #[serde(default)]
    pub config: Vec<(String, String)>,
}

/// What `resolve_supplier` returns: everything the pipeline needs, with secrets only as the
/// names of environment variables.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SupplierPlan {
    pub supplier: String,
    pub name: String,
    pub tenant: String,
    pub url: String,
    pub module: Option<String>,
    #[serde(default)]
    pub config: Vec<(String, String)>,
    #[serde(default)]
    pub auth: Credentials,
    #[serde(default)]
    pub header_envs: Vec<(String, String)>,
    pub max_bytes: u64,
    pub timeout_secs: u64,
    /// The validators of the last feed staged completely from this URL, so the download is a
    /// conditional GET. Read by `resolve_supplier` and handed on by the workflow: the download
    /// step itself never reads the staging database.
    #[serde(default)]
    pub previous: FeedValidators,
}

/// A conditional GET's validators, as a server sent them with the last staged feed.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct FeedValidators {
    #[serde(default)]
    pub etag: Option<String>,
    #[serde(default)]
    pub last_modified: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct FetchInput {
    pub url: String,
    #[serde(default)]
    pub auth: Credentials,
    #[serde(default)]
    pub header_envs: Vec<(String, String)>,
    #[serde(default = "default_max_bytes")]
    pub max_bytes: u64,
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
    /// Validators of an earlier fetch of this URL: set, the download is a conditional GET.
    #[serde(default)]
    pub previous: FeedValidators,
}

fn default_max_bytes() -> u64 {
    256 * 1024 * 1024
}

fn default_timeout_secs() -> u64 {
    120
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct FetchOutput {
    pub not_modified: bool,
    pub feed: Option<BlobRef>,
    pub bytes: u64,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub content_type: Option<String>,
    pub duration_ms: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ParseInput {
    pub feed: BlobRef,
    /// Detected from the feed's first bytes when absent.
    #[serde(default)]
    pub module: Option<String>,
    #[serde(default)]
    pub config: Vec<(String, String)>,
    /// Parse with exactly this version of `module` (from `pin_module`); without it, the
    /// version active when the attempt starts.
    #[serde(default)]
    pub module_digest: Option<Digest>,
}

/// `pin_module` input: the module named, or the one the feed's first bytes point to.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PinInput {
    pub feed: BlobRef,
    #[serde(default)]
    pub module: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ModuleUsed {
    pub name: String,
    pub version: String,
    pub digest: Digest,
}

/// Warnings returned inline; the rest are counted.
pub const WARNING_SAMPLES: usize = 20;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ParseOutput {
    /// NDJSON products, one per offer id (a repeated id keeps its last product).
    pub products: BlobRef,
    pub parsed: u64,
    pub duplicates: u64,
    pub warnings: u64,
    pub warning_samples: Vec<Warning>,
    pub module: ModuleUsed,
    pub fuel_used: Option<u64>,
    pub peak_memory_bytes: u64,
    pub duration_ms: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct StageInput {
    pub tenant: String,
    pub supplier: String,
    /// Idempotency key of the harvest (the workflow run id). Defaults to the calling
    /// workflow's run id.
    #[serde(default)]
    pub run_id: Option<String>,
    pub products: BlobRef,
    /// The feed that was staged: recorded for the next conditional GET.
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub etag: Option<String>,
    #[serde(default)]
    pub last_modified: Option<String>,
    #[serde(default)]
    pub feed_digest: Option<Digest>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct StageOutput {
    pub run_id: String,
    pub staged: u64,
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub missing: u64,
    pub duration_ms: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Timings {
    pub fetch_ms: u64,
    pub parse_ms: u64,
    pub stage_ms: u64,
    pub total_ms: u64,
}

/// The result of `HarvestWorkflow` and `HarvesterImportWorkflow`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct HarvestResult {
    /// `completed`, or `not_modified` when the server said the feed had not changed.
    pub status: String,
    pub supplier: String,
    pub tenant: String,
    pub url: String,
    pub workflow_id: String,
    pub run_id: String,
    pub fetched_bytes: u64,
    pub parsed: u64,
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub missing: u64,
    pub duplicates: u64,
    pub warnings: u64,
    pub warning_samples: Vec<Warning>,
    pub module: Option<ModuleUsed>,
    pub timings: Timings,
}
