//! `store_products`: the product set into the staging database in batches, then the run
//! closed (missing marked, validators recorded).

use std::time::Instant;

use contextworker_runtime::CancellationToken;
use contextworker_staging::{FeedKey, FeedState};
use contextworker_storage::BlobRef;
use contextworker_types::{ErrorClass, Product};
use temporalio_common::data_converters::RawValue;
use temporalio_sdk::activities::ActivityContext;
use tokio::io::AsyncBufReadExt;

use crate::activities::supervise::{Progress, supervise};
use crate::args::{encode, from_args};
use crate::failure::Failure;
use crate::messages::{StageInput, StageOutput};
use crate::services::Services;

use super::{Result, millis};

pub(in crate::activities) async fn store_products(
    services: &Services,
    ctx: &ActivityContext,
    input: &RawValue,
) -> Result<RawValue> {
    let args: StageInput = from_args(
        input,
        &["tenant", "supplier", "run_id", "products"],
        "a StageInput object {tenant, supplier, products, run_id?, url?, etag?, last_modified?}",
    )?;
    let info = ctx.info();
    let run_id = args
        .run_id
        .clone()
        .or_else(|| info.workflow_run_id.clone())
        .unwrap_or_else(|| info.activity_id.clone());
    let key = FeedKey {
        tenant: args.tenant.clone(),
        supplier: args.supplier.clone(),
    };
    let started = Instant::now();
    let progress = Progress::default();
    let cancel = CancellationToken::new();
    let staged = supervise(
        ctx,
        "store_products",
        &progress,
        &cancel,
        stage_blob(services, &key, &run_id, &args.products, &progress),
    )
    .await??;
    if staged == 0 && services.staging.listed_count(&key).await? > 0 {
        // Marking a whole catalog missing because a feed came back empty is almost always a
        // supplier outage, not a real clearance: refuse and keep the catalog.
        return Err(Failure::new(ErrorClass::EmptyFeed,
            format!(
                "the feed has no products, but {}/{} has listed products; nothing was marked missing",
                key.tenant, key.supplier
            ),
        )
        .into());
    }
    let counts = services
        .staging
        .finish_run(
            &key,
            &run_id,
            &FeedState {
                url: args.url.clone().unwrap_or_default(),
                etag: args.etag.clone(),
                last_modified: args.last_modified.clone(),
                feed_digest: args.feed_digest.map(|d| d.to_string()),
            },
        )
        .await?;
    let output = StageOutput {
        run_id,
        staged,
        created: counts.created,
        updated: counts.updated,
        unchanged: counts.unchanged,
        missing: counts.missing,
        duration_ms: millis(started),
    };
    tracing::info!(
        tenant = ?key.tenant,
        supplier = ?key.supplier,
        staged,
        created = output.created,
        updated = output.updated,
        unchanged = output.unchanged,
        missing = output.missing,
        "products staged"
    );
    Ok(encode(&output))
}

/// Stream the NDJSON blob into the staging database in batches; returns the product count.
async fn stage_blob(
    services: &Services,
    key: &FeedKey,
    run_id: &str,
    products: &BlobRef,
    progress: &Progress,
) -> Result<u64> {
    let reader = services
        .blobs
        .open(products)
        .await
        .map_err(|e| Failure::from_blob(&e))?;
    let mut lines = tokio::io::BufReader::with_capacity(256 * 1024, reader).lines();
    let mut batch: Vec<Product> = Vec::with_capacity(contextworker_staging::BATCH_ROWS);
    let (mut staged, mut line_no) = (0u64, 0u64);
    loop {
        let line = lines
            .next_line()
            .await
            .map_err(|e| Failure::new(ErrorClass::BlobStoreError, e.to_string()))?;
        let Some(line) = line else { break };
        line_no += 1;
        if line.trim().is_empty() {
            continue;
        }
        let product: Product = serde_json::from_str(&line).map_err(|e| {
            Failure::new(
                ErrorClass::InvalidProducts,
                format!("products blob {}, line {line_no}: {e}", products.digest),
            )
        })?;
        batch.push(product);
        if batch.len() == contextworker_staging::BATCH_ROWS {
            services.staging.stage_batch(key, run_id, &batch).await?;
            staged += batch.len() as u64;
            progress.add(batch.len() as u64);
            batch.clear();
        }
    }
    if !batch.is_empty() {
        services.staging.stage_batch(key, run_id, &batch).await?;
        staged += batch.len() as u64;
        progress.add(batch.len() as u64);
    }
    Ok(staged)
}
