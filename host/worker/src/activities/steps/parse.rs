//! `parse_products`: the feed through the pinned transformer in the sandbox, into a product
//! set in the blob store.

use std::sync::Arc;
use std::time::Instant;

use contextworker_runtime::{CancellationToken, FeedInput, SinkFailed};
use contextworker_types::ErrorClass;
use temporalio_common::data_converters::RawValue;
use temporalio_sdk::activities::ActivityContext;

use crate::activities::call_failed;
use crate::activities::parsed::{ParsedProducts, store_parsed};
use crate::activities::supervise::{Progress, supervise};
use crate::args::encode;
use crate::failure::{Failure, InputKind};
use crate::messages::{ParseInput, ParseOutput};
use crate::services::Services;

use super::pin::{choose_transformer, transformer_only};
use super::{Result, millis, module_used};

pub(in crate::activities) async fn parse_products(
    services: &Arc<Services>,
    ctx: &ActivityContext,
    args: ParseInput,
) -> Result<RawValue> {
    #[cfg(feature = "native-parsers")]
    if let Some(name) = super::native_parser(args.module.as_deref()) {
        let name = name.to_owned();
        return crate::activities::native_parse::parse_natively(services, ctx, &args, &name).await;
    }
    let module = match (&args.module, &args.module_digest) {
        (Some(name), Some(digest)) => {
            let module = services.module_version(name, digest).await.map_err(|e| {
                Failure::from_version(&e, &format!("the harvest pinned `{name}` {digest}"))
            })?;
            transformer_only(module)?
        }
        (name, _) => choose_transformer(services, &args.feed, name.as_deref()).await?,
    };
    crate::activities::note_module(&module);
    let reader = services.open_blob(&args.feed).await?;
    let feed = FeedInput::from_reader(reader, Some(args.feed.size));
    let cancel = CancellationToken::new();
    let spec = module.call_spec(&args.config).with_cancel(cancel.clone());
    let progress = Progress::default();
    let started = Instant::now();
    let sink = ParsedProducts::create(&services.scratch_dir, progress.clone()).await?;
    let call = services
        .runtime
        .transform_into(&module.component, &spec, feed, sink);
    let (outcome, sink) = supervise(ctx, "parse_products", &progress, &cancel, call).await?;
    // The sink's verdict first: a refused product stops the guest, which then reports only
    // that its output was closed.
    let (written, collected) = match sink {
        Ok(sink) => sink.finish().await?,
        Err(SinkFailed::Sink(failure)) => return Err(failure.into()),
        Err(SinkFailed::Cancelled) => {
            return Err(
                Failure::new(ErrorClass::HostError, "the product consumer was cancelled").into(),
            );
        }
    };
    if let Err(e) = outcome.result {
        return Err(call_failed(e, InputKind::Feed));
    }
    let products = store_parsed(services, written, &collected).await?;
    let output = ParseOutput {
        products,
        parsed: collected.products,
        duplicates: collected.duplicates,
        warnings: collected.warnings,
        warning_samples: collected.samples,
        module: module_used(&module),
        fuel_used: outcome.receipt.fuel_used,
        peak_memory_bytes: outcome.receipt.peak_memory_bytes,
        duration_ms: millis(started),
    };
    if let Some(candidate) = services
        .registry()
        .candidate(module.name().as_str())
        .filter(|c| c.component.digest() != module.component.digest())
    {
        crate::activities::shadow::spawn(
            services,
            candidate,
            output.module.clone(),
            args.feed,
            args.config.clone(),
            output.products,
        );
    }
    let metrics = contextworker_metrics::metrics();
    metrics.products("parsed", output.parsed);
    metrics.step("parse", started.elapsed());
    tracing::info!(
        module = %output.module.name,
        parsed = output.parsed,
        duplicates = output.duplicates,
        warnings = output.warnings,
        "feed parsed"
    );
    Ok(encode(&output))
}
