//! Running an activity's work while heartbeating and watching for cancellation.
//!
//! Temporal only delivers a cancellation to an activity that heartbeats, and a worker that
//! dies is only noticed by a heartbeat timeout; so every pipeline step heartbeats its
//! progress every [`HEARTBEAT_EVERY`] (the SDK throttles what reaches the server).

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use contextworker_runtime::CancellationToken;
use temporalio_sdk::activities::ActivityContext;

pub const HEARTBEAT_EVERY: Duration = Duration::from_secs(2);

/// How long cancelled work may take to wind down (a guest stops at its next epoch tick, a
/// database transaction rolls back) before it is dropped.
const WIND_DOWN: Duration = Duration::from_secs(3);

/// A counter the work updates and heartbeats report.
#[derive(Debug, Clone, Default)]
pub struct Progress(Arc<AtomicU64>);

impl Progress {
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    pub fn set(&self, n: u64) {
        self.0.store(n, Ordering::Relaxed);
    }

    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// The activity was cancelled (by its workflow, or by worker shutdown).
#[derive(Debug)]
pub struct Cancelled;

/// Drive `work` to completion, heartbeating `{"step": step, "done": progress}`. When the
/// activity is cancelled, `cancel` fires so the work can stop; work that does not stop within
/// [`WIND_DOWN`] is dropped.
pub async fn supervise<T>(
    ctx: &ActivityContext,
    step: &'static str,
    progress: &Progress,
    cancel: &CancellationToken,
    work: impl Future<Output = T>,
) -> Result<T, Cancelled> {
    let mut work = std::pin::pin!(work);
    let mut tick = tokio::time::interval(HEARTBEAT_EVERY);
    loop {
        tokio::select! {
            out = &mut work => return Ok(out),
            _ = tick.tick() => {
                let details = serde_json::json!({ "step": step, "done": progress.get() });
                if let Err(e) = ctx.record_heartbeat(details).await {
                    tracing::debug!(error = %e, "heartbeat not recorded");
                }
            }
            () = ctx.cancelled() => break,
        }
    }
    tracing::info!(step, "activity cancelled; stopping its work");
    cancel.cancel();
    match tokio::time::timeout(WIND_DOWN, work).await {
        Ok(_) | Err(_) => Err(Cancelled),
    }
}
