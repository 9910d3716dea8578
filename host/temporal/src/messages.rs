//! The JSON shapes that cross Temporal: workflow inputs and results, activity inputs and
//! outputs. Field names are snake_case, as a Python caller writes them; every optional field
//! has a default so older callers keep working when a field is added.

use contextworker_storage::BlobRef;
pub use contextworker_types::Credentials;
use contextworker_types::{Digest, ProductRef, Warning};
use serde::{Deserialize, Serialize};

/// Activity names. The first three are the steps of the original ContextWorker; the second
/// three are its older names for the same steps.
pub mod names {
    pub const RESOLVE_SUPPLIER: &str = "resolve_supplier";
    /// The enabled suppliers of a tenant: what `HarvestWorkflow("all", tenant)` harvests.
    pub const LIST_SUPPLIERS: &str = "list_suppliers";
    pub const DOWNLOAD_FEED: &str = "download_feed";
    pub const PARSE_PRODUCTS: &str = "parse_products";
    pub const STORE_PRODUCTS: &str = "store_products";
    pub const FETCH_VENDOR_DATA: &str = "fetch_vendor_data";
    pub const PARSE_RAW_PAYLOAD: &str = "parse_raw_payload";
    pub const UPDATE_STAGING_BUFFER: &str = "update_staging_buffer";
    /// Which version of which module parses a feed: decided once per harvest, so a retried
    /// parse uses the same version even after a swap.
    pub const PIN_MODULE: &str = "pin_module";
    /// The enrichment steps: a tenant's settings, a page of its pending products, and one
    /// batch classified and written back.
    pub const RESOLVE_ENRICHMENT: &str = "resolve_enrichment";
    pub const SELECT_PRODUCTS: &str = "select_products";
    pub const CLASSIFY_PRODUCTS: &str = "classify_products";

    pub const HARVEST_WORKFLOW: &str = "HarvestWorkflow";
    pub const IMPORT_WORKFLOW: &str = "HarvesterImportWorkflow";
    pub const ENRICHMENT_WORKFLOW: &str = "EnrichmentWorkflow";
    pub const GARDENER_WORKFLOW: &str = "GardenerWorkflow";

    /// Every native activity name, aliases included.
    pub const NATIVE: &[&str] = &[
        RESOLVE_SUPPLIER,
        LIST_SUPPLIERS,
        DOWNLOAD_FEED,
        PARSE_PRODUCTS,
        STORE_PRODUCTS,
        FETCH_VENDOR_DATA,
        PARSE_RAW_PAYLOAD,
        UPDATE_STAGING_BUFFER,
        PIN_MODULE,
        RESOLVE_ENRICHMENT,
        SELECT_PRODUCTS,
        CLASSIFY_PRODUCTS,
    ];
}

/// The supplier code that means every enabled supplier of the tenant, as the original's
/// `harvester-daily` schedule passed it (`["all", tenant_id]`). No supplier may have it.
pub const ALL_SUPPLIERS: &str = "all";

/// `list_suppliers` input and output: a tenant's enabled suppliers, by code.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct SupplierList {
    pub tenant_id: String,
    #[serde(default)]
    pub suppliers: Vec<String>,
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
    /// Start an `EnrichmentWorkflow` for what the harvest created or changed.
    #[serde(default)]
    pub enrich: bool,
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
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
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
    /// The id of the `EnrichmentWorkflow` this harvest started, if it started one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enrichment: Option<String>,
    /// For `HarvestWorkflow("all", tenant)` (status `started`): the harvest of each supplier,
    /// started as its own workflow.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub harvests: Vec<String>,
}

/// `EnrichmentWorkflow` input: `{tenant_id, product_ids?}` or `{tenant_id, batch_size,
/// max_batches, classifier?}`, or the same positionally in that order.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct EnrichArgs {
    pub tenant_id: String,
    /// Enrich exactly these products (`SUPPLIER/SKU`), whatever their status; without them,
    /// the tenant's pending products.
    #[serde(default)]
    pub product_ids: Option<Vec<ProductRef>>,
    /// Products per classifier call; default the tenant's setting (50).
    #[serde(default)]
    pub batch_size: Option<u32>,
    /// Batches this run classifies at most; default: until none is pending.
    #[serde(default)]
    pub max_batches: Option<u32>,
    /// The enricher module; default the tenant's setting (`taxonomy-rules`).
    #[serde(default)]
    pub classifier: Option<String>,
    /// Only this supplier's pending products (a harvest enriches what it staged).
    #[serde(default)]
    pub supplier_code: Option<String>,
}

/// `GardenerWorkflow(tenant_id, batch_size, max_batches)`: the original's scheduled entry
/// point, one pass over the tenant's pending products.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct GardenerArgs {
    pub tenant_id: String,
    #[serde(default)]
    pub batch_size: Option<u32>,
    #[serde(default)]
    pub max_batches: Option<u32>,
}

/// `resolve_enrichment` input.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct EnrichmentPlanInput {
    pub tenant: String,
    #[serde(default)]
    pub classifier: Option<String>,
    #[serde(default)]
    pub batch_size: Option<u32>,
}

/// What `resolve_enrichment` returns: the tenant's settings with the caller's choices applied,
/// and the classifier's version, pinned for the whole run.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct EnrichmentPlan {
    pub tenant: String,
    pub classifier: ModuleUsed,
    #[serde(default)]
    pub config: Vec<(String, String)>,
    pub batch_size: u32,
    pub parallel_batches: u32,
    pub retry_max: u32,
    pub timeout_secs: u64,
}

/// `select_products` input: a page of the tenant's pending products after `after`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SelectInput {
    pub tenant: String,
    #[serde(default)]
    pub supplier: Option<String>,
    #[serde(default)]
    pub after: Option<ProductRef>,
    pub limit: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SelectOutput {
    pub products: Vec<ProductRef>,
    /// The query's time, for the run's timings.
    #[serde(default)]
    pub select_ms: u64,
}

/// `classify_products` input: one batch, classified by the pinned classifier and written
/// back. `run` and `at` make a retried batch write what its first attempt wrote.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ClassifyInput {
    pub tenant: String,
    pub products: Vec<ProductRef>,
    pub classifier: ModuleUsed,
    #[serde(default)]
    pub config: Vec<(String, String)>,
    pub retry_max: u32,
    pub run: String,
    pub at: String,
}

/// Per-batch and per-run counts of an enrichment.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct EnrichmentCounts {
    /// Products sent to the classifier.
    pub processed: u64,
    /// Classified (`done`).
    pub done: u64,
    /// The classifier abstained (`done`, waiting for a person).
    pub abstained: u64,
    /// Failed this time (pending again, or `error` at the retry limit).
    pub failed: u64,
    /// Of the failed, those that reached the retry limit (`error`).
    pub errors: u64,
    /// Gone or changed before the result was written: left for the next run.
    pub skipped: u64,
    pub tokens: u64,
}

impl EnrichmentCounts {
    pub fn add(&mut self, other: &Self) {
        self.processed += other.processed;
        self.done += other.done;
        self.abstained += other.abstained;
        self.failed += other.failed;
        self.errors += other.errors;
        self.skipped += other.skipped;
        self.tokens += other.tokens;
    }
}

/// Where an enrichment's activity time went, summed over its steps. Batches run
/// `parallel_batches` at a time, so the sum can exceed the run's wall time; the shares are
/// what tell whether staging or the classifier bounds a run.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct EnrichmentTimings {
    /// Selecting pages of pending products.
    pub select_ms: u64,
    /// Reading each batch's products from staging.
    pub read_ms: u64,
    /// The classifier's calls in the sandbox.
    pub classify_ms: u64,
    /// Writing the results back to staging.
    pub write_ms: u64,
}

impl EnrichmentTimings {
    pub fn add(&mut self, other: &Self) {
        self.select_ms += other.select_ms;
        self.read_ms += other.read_ms;
        self.classify_ms += other.classify_ms;
        self.write_ms += other.write_ms;
    }
}

/// What `classify_products` returns for one batch.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct BatchOutcome {
    #[serde(flatten)]
    pub counts: EnrichmentCounts,
    /// `select_ms` stays 0: selecting is the workflow's other step.
    #[serde(default)]
    pub timings: EnrichmentTimings,
}

/// The result of `EnrichmentWorkflow` and `GardenerWorkflow`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct EnrichmentResult {
    /// `completed`; `incomplete` when `max_batches` stopped it with products still pending.
    pub status: String,
    pub tenant: String,
    pub workflow_id: String,
    pub run_id: String,
    pub classifier: ModuleUsed,
    pub batches: u64,
    #[serde(flatten)]
    pub counts: EnrichmentCounts,
    pub duration_ms: u64,
    #[serde(default)]
    pub timings: EnrichmentTimings,
}
