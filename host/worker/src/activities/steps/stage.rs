//! `store_products`: the product set into the staging database in batches, then the run
//! closed (missing marked, validators recorded).

use std::time::Instant;

use contextworker_runtime::CancellationToken;
use contextworker_staging::{Batch, FeedKey, FeedState, STAGE_ROWS};
use contextworker_storage::{BlobReader, BlobRef};
use contextworker_types::{ErrorClass, Product};
use temporalio_common::data_converters::RawValue;
use temporalio_sdk::activities::ActivityContext;
use tokio::io::AsyncBufReadExt;
use tokio::sync::mpsc;

use crate::activities::supervise::{Progress, supervise};
use crate::args::encode;
use crate::failure::Failure;
use crate::messages::{StageInput, StageOutput};
use crate::services::Services;

use super::{Result, millis};

pub(in crate::activities) async fn store_products(
    services: &Services,
    ctx: &ActivityContext,
    args: StageInput,
) -> Result<RawValue> {
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
    let metrics = contextworker_metrics::metrics();
    for (result, n) in [
        ("created", output.created),
        ("updated", output.updated),
        ("unchanged", output.unchanged),
        ("missing", output.missing),
    ] {
        metrics.products(result, n);
    }
    metrics.step("stage", started.elapsed());
    metrics.staged(staged, started.elapsed());
    tracing::info!(
        tenant = %key.tenant.escape_debug(),
        supplier = %key.supplier.escape_debug(),
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
/// Reading and preparing the next batch (decoding, the canonical JSON and its hash) runs on
/// its own task while the database writes the current one, so both cores work; a failure on
/// either side stops the other.
async fn stage_blob(
    services: &Services,
    key: &FeedKey,
    run_id: &str,
    products: &BlobRef,
    progress: &Progress,
) -> Result<u64> {
    let reader = services.open_blob(products).await?;
    let (batches, mut ready) = mpsc::channel(1);
    tokio::spawn(read_batches(reader, products.digest.to_string(), batches));
    let mut staged = 0u64;
    while let Some(batch) = ready.recv().await {
        let batch = batch?;
        services.staging.stage_prepared(key, run_id, &batch).await?;
        staged += batch.len() as u64;
        progress.add(batch.len() as u64);
    }
    Ok(staged)
}

/// Decode the blob's lines into prepared batches of [`STAGE_ROWS`], sending each (or the
/// first error) to `batches`. Stops when the receiver is gone.
async fn read_batches(
    reader: BlobReader,
    digest: String,
    batches: mpsc::Sender<std::result::Result<Batch, Failure>>,
) {
    let read = async {
        let mut lines = tokio::io::BufReader::with_capacity(256 * 1024, reader).lines();
        let mut batch: Vec<Product> = Vec::with_capacity(STAGE_ROWS);
        let mut line_no = 0u64;
        while let Some(line) = lines
            .next_line()
            .await
            .map_err(|e| Failure::new(ErrorClass::BlobStoreError, e.to_string()))?
        {
            line_no += 1;
            if line.trim().is_empty() {
                continue;
            }
            batch.push(serde_json::from_str(&line).map_err(|e| {
                Failure::new(
                    ErrorClass::InvalidProducts,
                    format!("products blob {digest}, line {line_no}: {e}"),
                )
            })?);
            if batch.len() == STAGE_ROWS {
                let full = std::mem::replace(&mut batch, Vec::with_capacity(STAGE_ROWS));
                if batches.send(Ok(Batch::prepare(full)?)).await.is_err() {
                    return Ok(());
                }
            }
        }
        if !batch.is_empty() {
            let _ = batches.send(Ok(Batch::prepare(batch)?)).await;
        }
        Ok::<(), Failure>(())
    };
    if let Err(e) = read.await {
        let _ = batches.send(Err(e)).await;
    }
}
