//! The parse step with a parser linked into the host instead of a component: only for the
//! end-to-end benchmark (`native-parsers`), kept out of the steps behind this one seam.

use std::time::Instant;

use contextworker_runtime::CancellationToken;
use contextworker_types::ErrorClass;
use temporalio_common::data_converters::RawValue;
use temporalio_sdk::activities::ActivityContext;

use super::parsed::{ParsedProducts, store_parsed};
use super::supervise::{Progress, supervise};
use crate::args::encode;
use crate::failure::Failure;
use crate::messages::{ParseInput, ParseOutput};
use crate::services::Services;

use super::steps::{Result, millis};

/// The same step with a parser linked into the host instead of a component: only for the
/// end-to-end benchmark, which compares the two through the whole pipeline.
pub(super) async fn parse_natively(
    services: &Services,
    ctx: &ActivityContext,
    args: &ParseInput,
    name: &str,
) -> Result<RawValue> {
    let reader = services.open_blob(&args.feed).await?;
    let progress = Progress::default();
    let cancel = CancellationToken::new();
    let started = Instant::now();
    let mut sink = ParsedProducts::create(&services.scratch_dir, progress.clone()).await?;
    let (tx, rx) = contextworker_runtime::sink_channel();
    let call = crate::native::transform(name, reader, args.config.clone(), tx);
    let (parsed, drained) = supervise(ctx, "parse_products", &progress, &cancel, async {
        tokio::join!(call, contextworker_runtime::drain_into(rx, &mut sink))
    })
    .await?;
    drained?;
    let (written, collected) = sink.finish().await?;
    parsed.map_err(|e| Failure::new(ErrorClass::InvalidFeed, e))?;
    let products = store_parsed(services, written, &collected).await?;
    Ok(encode(&ParseOutput {
        products,
        parsed: collected.products,
        duplicates: collected.duplicates,
        warnings: collected.warnings,
        warning_samples: collected.samples,
        module: crate::native::module_used(name),
        fuel_used: None,
        peak_memory_bytes: 0,
        duration_ms: millis(started),
    }))
}
