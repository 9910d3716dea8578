//! The enrichment steps: a tenant's settings and its pinned classifier, a page of its pending
//! products, and one batch classified in the sandbox and written back to staging.
//!
//! Products travel between steps as `SUPPLIER/SKU` references, never as content, so the
//! workflow's history stays small whatever the catalog; `classify_products` reads the
//! products itself and writes each result only onto the content it was computed from.

use std::time::Instant;

use contextworker_config::{MAX_BATCH_SIZE, tenant_enrichment};
use contextworker_registry::Module;
use contextworker_runtime::{CallError, CancellationToken};
use contextworker_staging::{EnrichmentSubject, EnrichmentWrite, MAX_REFS};
use contextworker_types::{
    ErrorClass, Product, ProductEnrichment, TAXONOMY_TASK, TaskContext, TaskRecord, TaskStatus,
    TenantId, Verdict, World,
};
use temporalio_common::data_converters::RawValue;
use temporalio_sdk::activities::ActivityContext;

use crate::activities::Outcome;
use crate::activities::supervise::{Progress, supervise};
use crate::args::encode;
use crate::failure::{Failure, InputKind};
use crate::messages::{
    BatchOutcome, ClassifyInput, EnrichmentCounts, EnrichmentPlan, EnrichmentPlanInput,
    EnrichmentTimings, SelectInput, SelectOutput,
};
use crate::services::Services;

use super::{Result, millis, module_used, pin_shared};

fn tenant(value: &str) -> std::result::Result<TenantId, Failure> {
    TenantId::new(value).map_err(|e| {
        Failure::new(
            ErrorClass::InvalidArguments,
            format!("tenant {value:?}: {e}"),
        )
    })
}

fn enricher_only(module: &Module) -> std::result::Result<(), Failure> {
    if module.manifest.world == World::Enricher {
        Ok(())
    } else {
        Err(Failure::new(
            ErrorClass::WrongModuleKind,
            format!(
                "module `{}` is a {} module; enrichment needs an enricher",
                module.name(),
                module.manifest.world.as_str()
            ),
        ))
    }
}

/// `resolve_enrichment(tenant, classifier?, batch_size?)`: the tenant's settings, with the
/// caller's choices, and the classifier's version, pinned for the whole run.
pub(in crate::activities) async fn resolve_enrichment(
    services: &Services,
    args: EnrichmentPlanInput,
) -> Result<RawValue> {
    let tenant = tenant(&args.tenant)?;
    let settings = tenant_enrichment(&services.tenants_dir, &tenant)
        .map_err(|e| Failure::new(ErrorClass::InvalidTenantConfig, e.to_string()))?;
    let name = args
        .classifier
        .as_deref()
        .unwrap_or(settings.classifier.as_str());
    let module = services.module(name).ok_or_else(|| {
        Failure::new(
            ErrorClass::UnknownModule,
            format!("no classifier module `{name}` is loaded on this worker"),
        )
    })?;
    enricher_only(&module)?;
    // A batch retried on another host of the fleet runs this same version.
    pin_shared(services, &module).await?;
    let batch_size = match args.batch_size {
        None => settings.batch_size,
        Some(n) if (1..=MAX_BATCH_SIZE).contains(&n) => n,
        Some(n) => {
            return Err(Failure::new(
                ErrorClass::InvalidArguments,
                format!("batch_size {n} is outside 1..={MAX_BATCH_SIZE}"),
            )
            .into());
        }
    };
    // The tenant's classifier configuration belongs to its classifier: another one named by
    // the caller runs with its own manifest defaults.
    let config = if name == settings.classifier.as_str() {
        settings.config.clone()
    } else {
        Vec::new()
    };
    Ok(encode(&EnrichmentPlan {
        tenant: tenant.as_str().to_owned(),
        classifier: module_used(&module),
        config,
        batch_size,
        parallel_batches: settings.parallel_batches,
        retry_max: settings.retry_max,
        timeout_secs: settings.timeout.as_secs(),
    }))
}

/// `select_products(tenant, supplier?, after?, limit)`: the next page of pending products.
pub(in crate::activities) async fn select_products(
    services: &Services,
    args: SelectInput,
) -> Result<RawValue> {
    let tenant = tenant(&args.tenant)?;
    if !(1..=MAX_REFS).contains(&(args.limit as usize)) {
        return Err(Failure::new(
            ErrorClass::InvalidArguments,
            format!("limit {} is outside 1..={MAX_REFS}", args.limit),
        )
        .into());
    }
    let started = Instant::now();
    let products = services
        .staging
        .pending_products(
            tenant.as_str(),
            args.supplier.as_deref(),
            args.after.as_ref(),
            args.limit,
        )
        .await?;
    Ok(encode(&SelectOutput {
        products,
        select_ms: millis(started),
    }))
}

/// `classify_products`: one batch through the pinned classifier, each result written back.
///
/// A failure of the whole call (the service down, the guest trapped) is retried by Temporal
/// while it is retryable and attempts remain; on the last attempt, or when retrying cannot
/// help, it becomes every product's failure for this run instead, so one bad batch never stops
/// the enrichment of the others. A product failed in `retry_max` runs ends as `error`.
pub(in crate::activities) async fn classify_products(
    services: &Services,
    ctx: &ActivityContext,
    args: ClassifyInput,
) -> Result<RawValue> {
    let tenant = tenant(&args.tenant)?;
    if args.products.len() > MAX_BATCH_SIZE as usize {
        return Err(Failure::new(
            ErrorClass::InvalidArguments,
            format!(
                "{} products in one batch; at most {MAX_BATCH_SIZE}",
                args.products.len()
            ),
        )
        .into());
    }
    let started = Instant::now();
    let classifier = &args.classifier;
    let module = services
        .module_version(&classifier.name, &classifier.digest)
        .await
        .map_err(|e| {
            Failure::from_version(
                &e,
                &format!(
                    "the enrichment pinned `{}` {}",
                    classifier.name, classifier.digest
                ),
            )
        })?;
    crate::activities::note_module(&module);
    enricher_only(&module)?;
    let mut timings = EnrichmentTimings::default();
    let step = Instant::now();
    let subjects = services
        .staging
        .enrichment_subjects(tenant.as_str(), &args.products)
        .await?;
    timings.read_ms = millis(step);
    // The reference is the offer id the classifier sees: offer ids repeat across suppliers,
    // references do not.
    let products: Vec<Product> = subjects
        .iter()
        .map(|s| Product {
            offer_id: s.product_ref.to_string(),
            ..s.product.clone()
        })
        .collect();
    let step = Instant::now();
    let enrichments = if products.is_empty() {
        Vec::new()
    } else {
        let cancel = CancellationToken::new();
        let spec = module.call_spec(&args.config).with_cancel(cancel.clone());
        let outcome = supervise(
            ctx,
            "classify_products",
            &Progress::default(),
            &cancel,
            services.runtime.enrich(&module.component, &spec, &products),
        )
        .await?;
        match outcome.result {
            Ok(enrichments) => enrichments,
            Err(CallError::Cancelled) => return Err(Outcome::Cancelled),
            Err(e) => {
                let failure = Failure::from_call(&e, InputKind::Data);
                if failure.retryable && ctx.info().attempt < args.retry_max {
                    return Err(failure.into());
                }
                tracing::warn!(
                    failure_type = failure.class.name(),
                    products = products.len(),
                    "the batch failed; recorded as each product's failure: {}",
                    failure.message
                );
                let reason = format!("{}: {}", failure.class.name(), failure.message);
                products
                    .iter()
                    .map(|p| ProductEnrichment {
                        offer_id: p.offer_id.clone(),
                        verdict: Verdict::Failed {
                            reason: reason.clone(),
                        },
                        confidence: 0.0,
                        tokens: 0,
                    })
                    .collect()
            }
        }
    };
    timings.classify_ms = millis(step);
    let cx = TaskContext {
        run: &args.run,
        at: &args.at,
        module: &format!("{}@{}", classifier.name, classifier.version),
        digest: &classifier.digest.to_string(),
        retry_max: args.retry_max,
    };
    let mut counts = EnrichmentCounts {
        processed: products.len() as u64,
        ..EnrichmentCounts::default()
    };
    let writes: Vec<EnrichmentWrite> = subjects
        .iter()
        .zip(&enrichments)
        .map(|(subject, enrichment)| {
            let (write, record) = record(subject, enrichment, &cx);
            counts.tokens += u64::from(record.tokens);
            match (&enrichment.verdict, record.status) {
                (Verdict::Classified(_), _) => counts.done += 1,
                (Verdict::Abstained { .. }, _) => counts.abstained += 1,
                (Verdict::Failed { .. }, status) => {
                    counts.failed += 1;
                    counts.errors += u64::from(status == TaskStatus::Error);
                }
            }
            write
        })
        .collect();
    let step = Instant::now();
    let written = services
        .staging
        .write_enrichment(tenant.as_str(), &writes)
        .await?;
    timings.write_ms = millis(step);
    counts.skipped = (args.products.len() as u64).saturating_sub(written);
    let metrics = contextworker_metrics::metrics();
    for (outcome, n) in [
        ("classified", counts.done),
        ("abstained", counts.abstained),
        ("failed", counts.failed),
        ("skipped", counts.skipped),
    ] {
        metrics.enriched(outcome, n);
    }
    tracing::info!(
        tenant = tenant.as_str(),
        processed = counts.processed,
        done = counts.done,
        abstained = counts.abstained,
        failed = counts.failed,
        skipped = counts.skipped,
        tokens = counts.tokens,
        duration_ms = millis(started),
        "batch enriched"
    );
    Ok(encode(&BatchOutcome { counts, timings }))
}

/// The product's `enrichment` JSON with this task's new record in it. Other tasks' records
/// (written by other tools) are kept; a document this host cannot read is replaced.
fn record(
    subject: &EnrichmentSubject,
    enrichment: &ProductEnrichment,
    cx: &TaskContext<'_>,
) -> (EnrichmentWrite, TaskRecord) {
    let mut doc = subject
        .enrichment
        .as_deref()
        .and_then(|text| serde_json::from_str::<serde_json::Value>(text).ok())
        .and_then(|v| match v {
            serde_json::Value::Object(map) => Some(map),
            _ => None,
        })
        .unwrap_or_default();
    let previous: Option<TaskRecord> = doc
        .get(TAXONOMY_TASK)
        .and_then(|v| serde_json::from_value(v.clone()).ok());
    let record = TaskRecord::next(previous.as_ref(), &subject.content_hash, enrichment, cx);
    doc.insert(
        TAXONOMY_TASK.to_owned(),
        serde_json::to_value(&record).unwrap_or(serde_json::Value::Null),
    );
    let write = EnrichmentWrite {
        product_ref: subject.product_ref.clone(),
        content_hash: subject.content_hash.clone(),
        enrichment: serde_json::Value::Object(doc).to_string(),
        enrichment_status: record.status.as_str(),
        status: record.status.product_status(),
    };
    (write, record)
}
