//! Shadow runs: while a candidate version of a transformer is staged (`[rollout] shadow =
//! true`), every real parse of that module also runs on the candidate, after the activity has
//! returned. The candidate's output goes nowhere but into a diff against what the active
//! version produced: it is logged and kept as JSON, so a parser change can be judged on live
//! feeds before it is promoted. Side effects are denied to the candidate: nothing it returns
//! is staged, and it gets no capabilities beyond reading the feed.

use std::sync::Arc;
use std::time::Instant;

use contextworker_registry::{DiffError, DiffReport, Module, diff_ndjson, format_ms};
use contextworker_runtime::{CallError, CancellationToken, FeedInput, SinkFailed};
use contextworker_storage::{BlobError, BlobRef};
use serde::Serialize;

use super::parsed::ParsedProducts;
use super::supervise::Progress;
use crate::failure::Failure;
use crate::messages::ModuleUsed;
use crate::services::Services;

/// Changed records kept per shadow summary.
const SAMPLES: usize = 10;

#[derive(Debug, Serialize)]
struct ShadowSummary {
    module: String,
    at: String,
    feed: BlobRef,
    active: ModuleUsed,
    candidate: ModuleUsed,
    /// The candidate's error, when it failed where the active version succeeded.
    candidate_error: Option<String>,
    candidate_duration_ms: u64,
    diff: Option<DiffReport>,
}

/// Run `candidate` on `feed` in the background and compare with the active `products`.
/// At most one shadow run at a time per worker: they double the parsing work.
pub(super) fn spawn(
    services: &Arc<Services>,
    candidate: Arc<Module>,
    active: ModuleUsed,
    feed: BlobRef,
    config: Vec<(String, String)>,
    products: BlobRef,
) {
    let Ok(permit) = services.shadow_permits.clone().try_acquire_owned() else {
        tracing::info!(module = %active.name, "shadow run skipped: another one is running");
        return;
    };
    let services = Arc::clone(services);
    tokio::spawn(async move {
        let _permit = permit;
        let summary = run(&services, &candidate, active, feed, &config, products).await;
        services.modules.count_shadow_run();
        let metrics = contextworker_metrics::metrics();
        match &summary.diff {
            Some(d) => {
                let outcome = if d.added + d.removed + d.changed == 0 {
                    "same"
                } else {
                    "differs"
                };
                metrics.shadow_run(&summary.module, outcome, d.changed, d.added, d.removed);
            }
            None => metrics.shadow_run(&summary.module, "failed", 0, 0, 0),
        }
        match &summary.diff {
            Some(d) => tracing::info!(
                module = %summary.module,
                candidate = %summary.candidate.digest.short(),
                active = %summary.active.digest.short(),
                added = d.added,
                removed = d.removed,
                changed = d.changed,
                unchanged = d.unchanged,
                changed_fields = ?d.changed_fields,
                "shadow run compared"
            ),
            None => tracing::warn!(
                module = %summary.module,
                candidate = %summary.candidate.digest.short(),
                "shadow run: the candidate failed where the active version succeeded: {}",
                summary.candidate_error.as_deref().unwrap_or("")
            ),
        }
        let dir = services.shadow_dir.join(&summary.module);
        let file = dir.join(format!(
            "{}-{}.json",
            contextworker_registry::now_millis(),
            summary.candidate.digest.short()
        ));
        let written = std::fs::create_dir_all(&dir).and_then(|()| {
            let json = serde_json::to_vec_pretty(&summary).map_err(std::io::Error::other)?;
            std::fs::write(&file, json)
        });
        if let Err(e) = written {
            tracing::warn!("shadow summary not kept at {}: {e}", file.display());
        }
    });
}

async fn run(
    services: &Services,
    candidate: &Module,
    active: ModuleUsed,
    feed: BlobRef,
    config: &[(String, String)],
    products: BlobRef,
) -> ShadowSummary {
    let started = Instant::now();
    let mut summary = ShadowSummary {
        module: active.name.clone(),
        at: format_ms(contextworker_registry::now_millis()),
        feed,
        candidate: ModuleUsed {
            name: candidate.name().to_string(),
            version: candidate.manifest.version.to_string(),
            digest: candidate.component.digest(),
        },
        active,
        candidate_error: None,
        candidate_duration_ms: 0,
        diff: None,
    };
    match compare(services, candidate, feed, config, products).await {
        Ok(diff) => summary.diff = Some(diff),
        Err(e) => summary.candidate_error = Some(e.to_string()),
    }
    summary.candidate_duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(0);
    summary
}

/// Why a shadow run produced no diff. Only [`ShadowError::Candidate`] and
/// [`ShadowError::Products`] are the candidate's doing; the rest are the host's.
#[derive(Debug, thiserror::Error)]
enum ShadowError {
    #[error("the candidate failed: {0}")]
    Candidate(#[from] CallError),
    #[error("the candidate's products: {0}")]
    Products(#[from] SinkFailed<Failure>),
    #[error(transparent)]
    Failure(#[from] Failure),
    #[error(transparent)]
    Blob(#[from] BlobError),
    #[error("scratch file: {0}")]
    Scratch(#[from] std::io::Error),
    #[error(transparent)]
    Diff(#[from] DiffError),
    #[error("the diff's thread failed: {0}")]
    Thread(#[from] tokio::task::JoinError),
}

async fn compare(
    services: &Services,
    candidate: &Module,
    feed: BlobRef,
    config: &[(String, String)],
    products: BlobRef,
) -> Result<DiffReport, ShadowError> {
    let reader = services.blobs.open(&feed).await?;
    let input = FeedInput::from_reader(reader, Some(feed.size));
    let spec = candidate
        .call_spec(config)
        .with_cancel(CancellationToken::new());
    let sink = ParsedProducts::create(&services.scratch_dir, Progress::default()).await?;
    let (outcome, sink) = services
        .runtime
        .transform_into(&candidate.component, &spec, input, sink)
        .await;
    let (after, _) = sink?.finish().await?;
    outcome.result?;
    // The active version's products, as a file beside the candidate's.
    let before = tempfile::NamedTempFile::new_in(&services.scratch_dir)?;
    let mut reader = services.blobs.open(&products).await?;
    let mut file = tokio::fs::File::create(before.path()).await?;
    tokio::io::copy(&mut reader, &mut file).await?;
    drop(file);
    let (b, a) = (before.path().to_path_buf(), after.path().to_path_buf());
    Ok(tokio::task::spawn_blocking(move || diff_ndjson(&b, &a, SAMPLES)).await??)
}
