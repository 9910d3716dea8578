//! The SDK worker(s): one per task queue, all in this process, sharing the activity host.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use temporalio_client::Client;
use temporalio_common::telemetry::metrics::CoreMeter;
use temporalio_common::telemetry::{
    PrometheusExporterOptions, TelemetryOptions, start_prometheus_metric_exporter,
};
use temporalio_sdk::runtime::RuntimeOptions;
use temporalio_sdk::runtime::worker_tuner::{FixedSizeSlotSupplier, TunerHolder};
use temporalio_sdk::{Runtime, Worker, WorkerOptions};

use crate::activities::ActivityHost;
use crate::services::Services;
use crate::slots;
use crate::workflows::{
    EnrichmentWorkflow, GardenerWorkflow, HarvestWorkflow, HarvesterImportWorkflow,
};

/// The original worker's queue for harvests.

#[derive(Debug, Clone)]
pub struct WorkerSettings {
    pub task_queues: Vec<String>,
    /// Activities running at once, per queue.
    pub max_concurrent_activities: usize,
    pub identity: String,
    /// After a shutdown signal, how long running activities may go on before they are
    /// cancelled (and retried by Temporal on another worker).
    pub graceful_shutdown: Duration,
    /// Where the SDK records its worker metrics (polls, slots, task latencies); none when
    /// metrics are off.
    pub sdk_metrics: Option<SdkMeter>,
}

/// The meter the SDK records its worker metrics into.
pub type SdkMeter = Arc<dyn CoreMeter>;

/// The Temporal SDK's own metrics: its meter, and the loopback address where its exporter
/// serves them (the host's endpoint appends that scrape to its own).
#[derive(Debug)]
pub struct SdkMetrics {
    pub meter: SdkMeter,
    pub addr: std::net::SocketAddr,
}

/// Start the SDK's Prometheus exporter on an ephemeral loopback port. Durations in seconds
/// and counters ending in `_total`, as the host's own families are.
pub fn start_sdk_metrics() -> Result<SdkMetrics, WorkerError> {
    let options = PrometheusExporterOptions::builder()
        .socket_addr(std::net::SocketAddr::from(([127, 0, 0, 1], 0)))
        .counters_total_suffix(true)
        .use_seconds_for_durations(true)
        .unit_suffix(true)
        .build();
    let started = start_prometheus_metric_exporter(options)
        .map_err(|e| WorkerError::Runtime(format!("the SDK's metrics exporter: {e}")))?;
    Ok(SdkMetrics {
        meter: started.meter,
        addr: started.bound_addr,
    })
}

#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error("starting the Temporal runtime: {0}")]
    Runtime(String),
    #[error(transparent)]
    TooManyActivities(#[from] slots::TooManyActivities),
    #[error("configuring the worker for task queue {queue}: {reason}")]
    Build { queue: String, reason: String },
    #[error("worker for task queue {queue} stopped: {reason}")]
    Run { queue: String, reason: String },
}

/// Serve `settings.task_queues` until `shutdown` resolves, then stop gracefully. `on_polling`
/// runs once every worker is built and about to poll (the gRPC health check turns SERVING
/// then). Must be awaited on the task that owns it: the SDK's worker future is not `Send`.
pub async fn serve(
    client: Client,
    services: Arc<Services>,
    settings: &WorkerSettings,
    shutdown: impl Future<Output = ()> + Send + 'static,
    on_polling: impl FnOnce(),
) -> Result<(), WorkerError> {
    let telemetry = TelemetryOptions::builder()
        .maybe_metrics(settings.sdk_metrics.clone())
        .build();
    let options = RuntimeOptions::builder()
        .telemetry_options(telemetry)
        .build()
        .map_err(WorkerError::Runtime)?;
    let runtime =
        Runtime::from_current_tokio(options).map_err(|e| WorkerError::Runtime(e.to_string()))?;
    let host = ActivityHost::new(services.clone());
    let names = host.activity_names();
    slots::set_names(&names)?;
    tracing::info!(activities = ?names, queues = ?settings.task_queues, "registering");

    let mut workers = Vec::new();
    for queue in &settings.task_queues {
        let build = |reason: String| WorkerError::Build {
            queue: queue.clone(),
            reason,
        };
        let slots = settings.max_concurrent_activities.max(1);
        let options = WorkerOptions::new(queue.clone())
            .register_activities(ActivityHost::new(services.clone()))
            .register_workflow::<HarvestWorkflow>()
            .map_err(|e| build(e.to_string()))?
            .register_workflow::<HarvesterImportWorkflow>()
            .map_err(|e| build(e.to_string()))?
            .register_workflow::<EnrichmentWorkflow>()
            .map_err(|e| build(e.to_string()))?
            .register_workflow::<GardenerWorkflow>()
            .map_err(|e| build(e.to_string()))?
            .tuner(
                TunerHolder::builder()
                    .workflow_task_slot_supplier(FixedSizeSlotSupplier::new(50))
                    .activity_task_slot_supplier(FixedSizeSlotSupplier::new(slots))
                    .local_activity_task_slot_supplier(FixedSizeSlotSupplier::new(slots))
                    .nexus_task_slot_supplier(FixedSizeSlotSupplier::new(1))
                    .build(),
            )
            .workflow_interceptor(crate::trace::interceptor())
            .graceful_shutdown_period(settings.graceful_shutdown)
            .client_identity_override(settings.identity.clone())
            .build();
        let worker =
            Worker::new(&runtime, client.clone(), options).map_err(|e| build(e.to_string()))?;
        workers.push((queue.clone(), worker));
    }

    let handles: Vec<_> = workers.iter().map(|(_, w)| w.shutdown_handle()).collect();
    let grace = settings.graceful_shutdown;
    tokio::spawn(async move {
        shutdown.await;
        tracing::info!(
            grace_secs = grace.as_secs(),
            "shutting down: no new tasks; running activities may finish within the grace period"
        );
        for stop in &handles {
            stop();
        }
    });

    on_polling();
    let runs = workers.iter_mut().map(|(queue, worker)| async move {
        worker.run().await.map_err(|e| WorkerError::Run {
            queue: queue.clone(),
            reason: contextworker_types::error_chain(&e),
        })
    });
    for result in futures::future::join_all(runs).await {
        result?;
    }
    tracing::info!("worker stopped");
    Ok(())
}
