//! The workflows: the harvests here, enrichment in `enrich`. Deterministic: every effect
//! (files, network, database, sandbox) happens in an activity, called by name so the same
//! steps serve Rust and Python callers.

mod enrich;

pub use enrich::{EnrichmentWorkflow, GardenerWorkflow};

use std::time::{Duration, SystemTime};

use contextworker_types::ErrorClass;
use contextworker_types::defaults::DEFAULT_TENANT;
use serde::Serialize;
use serde::de::DeserializeOwned;
use temporalio_common::RetryPolicy;
use temporalio_common::data_converters::RawValue;
use temporalio_common::error::ApplicationFailure;
use temporalio_common::{UntypedActivity, UntypedWorkflow};
use temporalio_macros::{workflow, workflow_methods};
use temporalio_sdk::{
    ActivityOptions, ChildWorkflowOptions, ParentClosePolicy, WorkflowContext, WorkflowResult,
    WorkflowTermination,
};

use crate::args::{ArgError, decode, encode};
use crate::messages::{
    ALL_SUPPLIERS, FeedValidators, FetchInput, FetchOutput, HarvestArgs, HarvestResult, ImportArgs,
    ModuleUsed, ParseInput, ParseOutput, PinInput, StageInput, StageOutput, SupplierList,
    SupplierPlan, Timings, names,
};
use crate::positional::Positional;

fn fail(class: ErrorClass, message: impl Into<String>) -> WorkflowTermination {
    ApplicationFailure::builder(message.into())
        .type_name(class.name().to_owned())
        .non_retryable(true)
        .build()
        .into()
}

/// A workflow input that does not read: the caller's mistake, which no retry mends.
fn invalid_arguments(e: &ArgError) -> WorkflowTermination {
    fail(ErrorClass::InvalidArguments, e.to_string())
}

/// Per-step timeouts and retries. Heartbeat timeouts bound how long a step stays with a
/// worker that died: its next attempt starts elsewhere after that long.
fn options(step: &str, fetch_timeout_secs: u64) -> ActivityOptions {
    let (start_to_close, heartbeat, attempts) = match step {
        names::RESOLVE_SUPPLIER | names::PIN_MODULE | names::LIST_SUPPLIERS => {
            (Duration::from_secs(30), None, 3)
        }
        names::DOWNLOAD_FEED => (
            Duration::from_secs(fetch_timeout_secs.saturating_add(60)),
            Some(Duration::from_secs(20)),
            5,
        ),
        names::PARSE_PRODUCTS => (Duration::from_secs(3600), Some(Duration::from_secs(20)), 3),
        _ => (Duration::from_secs(3600), Some(Duration::from_secs(20)), 10),
    };
    let mut opts = ActivityOptions::with_start_to_close_timeout(start_to_close)
        .retry_policy(
            RetryPolicy::builder()
                .initial_interval(Duration::from_secs(1))
                .backoff_coefficient(2.0)
                .maximum_interval(Duration::from_secs(30))
                .maximum_attempts(attempts)
                .build(),
        )
        .build();
    opts.heartbeat_timeout = heartbeat;
    opts
}

/// Run one step by name and read its JSON result.
async fn step<W, I: Serialize, O: DeserializeOwned>(
    ctx: &WorkflowContext<W>,
    name: &str,
    input: &I,
    opts: ActivityOptions,
) -> WorkflowResult<O> {
    let raw: RawValue = ctx
        .execute_activity(UntypedActivity::new(name.to_owned()), encode(input), opts)
        .await?;
    let value = decode(&raw)
        .ok()
        .and_then(|mut v| (!v.is_empty()).then(|| v.remove(0)))
        .unwrap_or(serde_json::Value::Null);
    serde_json::from_value(value).map_err(|e| {
        fail(
            ErrorClass::InvalidActivityResult,
            format!("{name} returned {e}"),
        )
    })
}

fn elapsed_ms(from: Option<SystemTime>, to: Option<SystemTime>) -> u64 {
    match (from, to) {
        (Some(a), Some(b)) => b
            .duration_since(a)
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            .unwrap_or(0),
        _ => 0,
    }
}

/// fetch → parse → stage for a resolved plan.
async fn harvest<W>(
    ctx: &WorkflowContext<W>,
    plan: &SupplierPlan,
) -> WorkflowResult<HarvestResult> {
    let started = ctx.workflow_time();
    let fetch: FetchOutput = step(
        ctx,
        names::DOWNLOAD_FEED,
        &FetchInput {
            url: plan.url.clone(),
            auth: plan.auth.clone(),
            header_envs: plan.header_envs.clone(),
            max_bytes: plan.max_bytes,
            timeout_secs: plan.timeout_secs,
            previous: plan.previous.clone(),
        },
        options(names::DOWNLOAD_FEED, plan.timeout_secs),
    )
    .await?;
    let mut result = HarvestResult {
        status: "completed".to_owned(),
        supplier: plan.supplier.clone(),
        tenant: plan.tenant.clone(),
        url: plan.url.clone(),
        workflow_id: ctx.workflow_id().to_owned(),
        run_id: ctx.run_id().to_owned(),
        fetched_bytes: fetch.bytes,
        parsed: 0,
        created: 0,
        updated: 0,
        unchanged: 0,
        missing: 0,
        duplicates: 0,
        warnings: 0,
        warning_samples: Vec::new(),
        module: None,
        timings: Timings {
            fetch_ms: fetch.duration_ms,
            ..Timings::default()
        },
        enrichment: None,
        harvests: Vec::new(),
    };
    let Some(feed) = fetch.feed.filter(|_| !fetch.not_modified) else {
        result.status = "not_modified".to_owned();
        result.timings.total_ms = elapsed_ms(started, ctx.workflow_time());
        return Ok(result);
    };
    // The version is decided before parsing and passed explicitly: a retried parse (on this
    // worker or another, after a swap) parses with the same digest.
    let pinned: ModuleUsed = step(
        ctx,
        names::PIN_MODULE,
        &PinInput {
            feed,
            module: plan.module.clone(),
        },
        options(names::PIN_MODULE, 0),
    )
    .await?;
    let parsed: ParseOutput = step(
        ctx,
        names::PARSE_PRODUCTS,
        &ParseInput {
            feed,
            module: Some(pinned.name),
            config: plan.config.clone(),
            module_digest: Some(pinned.digest),
        },
        options(names::PARSE_PRODUCTS, 0),
    )
    .await?;
    let staged: StageOutput = step(
        ctx,
        names::STORE_PRODUCTS,
        &StageInput {
            tenant: plan.tenant.clone(),
            supplier: plan.supplier.clone(),
            run_id: Some(ctx.run_id().to_owned()),
            products: parsed.products,
            url: Some(plan.url.clone()),
            etag: fetch.etag.clone(),
            last_modified: fetch.last_modified.clone(),
            feed_digest: Some(feed.digest),
        },
        options(names::STORE_PRODUCTS, 0),
    )
    .await?;
    result.parsed = parsed.parsed;
    result.duplicates = parsed.duplicates;
    result.warnings = parsed.warnings;
    result.warning_samples = parsed.warning_samples;
    result.module = Some(parsed.module);
    result.created = staged.created;
    result.updated = staged.updated;
    result.unchanged = staged.unchanged;
    result.missing = staged.missing;
    result.timings.parse_ms = parsed.duration_ms;
    result.timings.stage_ms = staged.duration_ms;
    if plan.enrich && staged.created + staged.updated > 0 {
        result.enrichment = start_enrichment(ctx, plan).await;
    }
    result.timings.total_ms = elapsed_ms(started, ctx.workflow_time());
    Ok(result)
}

/// Start an `EnrichmentWorkflow` of this supplier's pending products (what the harvest
/// created or changed) that outlives the harvest. One runs per catalog: when the last one is
/// still going, the new products wait for the next harvest or gardener pass, and the harvest
/// itself still succeeds. Returns the child's id when it started.
async fn start_enrichment<W>(ctx: &WorkflowContext<W>, plan: &SupplierPlan) -> Option<String> {
    let id = crate::ids::enrichment(&plan.tenant, Some(&plan.supplier));
    let input = crate::messages::EnrichArgs {
        tenant_id: plan.tenant.clone(),
        supplier_code: Some(plan.supplier.clone()),
        ..Default::default()
    };
    start_abandoned(ctx, names::ENRICHMENT_WORKFLOW, encode(&input), &id)
        .await
        .then_some(id)
}

/// Start `workflow` as a child that outlives this workflow, with id `id`. A child that does
/// not start (one with its id still runs) is logged; whether it started is returned.
async fn start_abandoned<W>(
    ctx: &WorkflowContext<W>,
    workflow: &str,
    input: RawValue,
    id: &str,
) -> bool {
    let options = ChildWorkflowOptions::builder()
        .workflow_id(id.to_owned())
        .parent_close_policy(ParentClosePolicy::Abandon)
        .build();
    match ctx
        .start_child_workflow(UntypedWorkflow::new(workflow.to_owned()), input, options)
        .await
    {
        Ok(_) => true,
        Err(e) => {
            tracing::warn!(workflow_id = %id, "{workflow} not started: {e}");
            false
        }
    }
}

/// `HarvestWorkflow("all", tenant)`: start a harvest of each enabled supplier of the tenant,
/// each its own workflow (`harvest:<tenant>:<code>`, so one per catalog still runs at a time)
/// that outlives this one. A supplier whose last harvest still runs is left to it.
async fn harvest_all<W>(
    ctx: &WorkflowContext<W>,
    tenant: Option<String>,
) -> WorkflowResult<HarvestResult> {
    let tenant = tenant.ok_or_else(|| {
        fail(
            ErrorClass::InvalidArguments,
            "a harvest of all suppliers needs the tenant: (\"all\", tenant_id)",
        )
    })?;
    let list: SupplierList = step(
        ctx,
        names::LIST_SUPPLIERS,
        &SupplierList {
            tenant_id: tenant.clone(),
            suppliers: Vec::new(),
        },
        options(names::LIST_SUPPLIERS, 0),
    )
    .await?;
    let mut harvests = Vec::with_capacity(list.suppliers.len());
    for code in &list.suppliers {
        let id = crate::ids::harvest(&list.tenant_id, code);
        let input = HarvestArgs {
            supplier_code: code.clone(),
            tenant_id: Some(list.tenant_id.clone()),
        };
        if start_abandoned(ctx, names::HARVEST_WORKFLOW, encode(&input), &id).await {
            harvests.push(id);
        }
    }
    Ok(HarvestResult {
        status: "started".to_owned(),
        supplier: ALL_SUPPLIERS.to_owned(),
        tenant: list.tenant_id,
        workflow_id: ctx.workflow_id().to_owned(),
        run_id: ctx.run_id().to_owned(),
        harvests,
        ..HarvestResult::default()
    })
}

/// `HarvestWorkflow(supplier_code, tenant_id?)`: harvest one configured supplier.
#[workflow]
#[derive(Default)]
pub struct HarvestWorkflow;

#[workflow_methods]
impl HarvestWorkflow {
    #[run(name = "HarvestWorkflow")]
    pub async fn run(
        ctx: &mut WorkflowContext<Self>,
        input: RawValue,
    ) -> WorkflowResult<HarvestResult> {
        let args = HarvestArgs::from_raw(&input).map_err(|e| invalid_arguments(&e))?;
        if args.supplier_code == ALL_SUPPLIERS {
            return harvest_all(ctx, args.tenant_id).await;
        }
        let plan: SupplierPlan = step(
            ctx,
            names::RESOLVE_SUPPLIER,
            &args,
            options(names::RESOLVE_SUPPLIER, 0),
        )
        .await?;
        harvest(ctx, &plan).await
    }
}

/// `HarvesterImportWorkflow(url)`: the original worker's ad-hoc import. The module comes from
/// the arguments or is detected from the feed; products are staged under the catalog
/// `supplier_code` (default `import-<hash of the URL>`, so re-importing a URL updates the
/// same catalog) for tenant `tenant_id` (default `default`).
#[workflow]
#[derive(Default)]
pub struct HarvesterImportWorkflow;

#[workflow_methods]
impl HarvesterImportWorkflow {
    #[run(name = "HarvesterImportWorkflow")]
    pub async fn run(
        ctx: &mut WorkflowContext<Self>,
        input: RawValue,
    ) -> WorkflowResult<HarvestResult> {
        let args = ImportArgs::from_raw(&input).map_err(|e| invalid_arguments(&e))?;
        let supplier = args
            .supplier_code
            .clone()
            .unwrap_or_else(|| crate::ids::import_catalog(&args.url));
        let plan = SupplierPlan {
            supplier: supplier.clone(),
            name: supplier,
            tenant: args.tenant_id.unwrap_or_else(|| DEFAULT_TENANT.to_owned()),
            url: args.url,
            module: args.module,
            config: args.config,
            auth: Default::default(),
            header_envs: Vec::new(),
            max_bytes: 256 * 1024 * 1024,
            timeout_secs: 120,
            // An ad-hoc import always downloads the feed again.
            previous: FeedValidators::default(),
            // Enrichment follows harvests of configured suppliers; an import's products wait
            // for the gardener or an explicit `enrich`.
            enrich: false,
        };
        harvest(ctx, &plan).await
    }
}
