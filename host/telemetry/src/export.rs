//! The OTLP exporter and the `tracing` layer that feeds it.

use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{BatchConfigBuilder, BatchSpanProcessor, SdkTracerProvider, Tracer};
use tracing::{Level, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::registry::LookupSpan;

use crate::Settings;

/// Finished spans waiting for export. When the collector is slower than the host (or gone),
/// spans beyond this are dropped, never buffered without bound: a trace is worth less than
/// the memory of the host that runs the work.
const QUEUE: usize = 2048;
/// How long one export may take before it is given up (and its spans dropped).
const EXPORT_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error(
        "OTEL_ENDPOINT {endpoint:?}: {reason} (traces go over OTLP/gRPC in plain text, to a collector such as http://localhost:4317)"
    )]
    Endpoint { endpoint: String, reason: String },
    #[error("cannot start the OTLP trace exporter: {0}")]
    Exporter(String),
}

/// A running trace pipeline: spans from [`Telemetry::layer`] go to the OTLP collector in
/// batches, on a thread of their own. [`Telemetry::shutdown`] sends what is left.
pub struct Telemetry {
    provider: SdkTracerProvider,
    tracer: Tracer,
}

impl std::fmt::Debug for Telemetry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Telemetry").finish_non_exhaustive()
    }
}

impl Telemetry {
    /// The pipeline `settings` ask for, or `None` when tracing is off. Call it inside a Tokio
    /// runtime: the gRPC exporter's connection runs on it.
    pub fn start(settings: &Settings) -> Result<Option<Self>, TelemetryError> {
        if !settings.enabled {
            return Ok(None);
        }
        let mut exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .with_timeout(EXPORT_TIMEOUT);
        if let Some(endpoint) = &settings.endpoint {
            check_endpoint(endpoint)?;
            exporter = exporter.with_endpoint(endpoint.clone());
        }
        let exporter = exporter
            .build()
            .map_err(|e| TelemetryError::Exporter(e.to_string()))?;
        let processor = BatchSpanProcessor::builder(exporter)
            .with_batch_config(
                BatchConfigBuilder::default()
                    .with_max_queue_size(QUEUE)
                    .with_scheduled_delay(Duration::from_secs(1))
                    .build(),
            )
            .build();
        let provider = SdkTracerProvider::builder()
            .with_span_processor(processor)
            .with_resource(resource(settings))
            .build();
        let tracer = provider.tracer("contextworker-host");
        Ok(Some(Self { provider, tracer }))
    }

    /// A pipeline that exports nothing: for tests of what the layer records.
    #[cfg(test)]
    pub(crate) fn unexported() -> Self {
        let provider = SdkTracerProvider::builder().build();
        let tracer = provider.tracer("test");
        Self { provider, tracer }
    }

    /// The layer that turns this host's spans into OpenTelemetry spans. Only the host's own
    /// spans and the guests' log lines are exported (the Temporal SDK's, tonic's and sqlx's
    /// internals are not), whatever the log level: a trace's shape does not depend on how
    /// verbose stderr is.
    pub fn layer<S>(&self) -> impl Layer<S> + Send + Sync + 'static
    where
        S: Subscriber + for<'a> LookupSpan<'a> + Send + Sync,
    {
        tracing_opentelemetry::layer()
            .with_tracer(self.tracer.clone())
            .with_location(false)
            .with_threads(false)
            .with_tracked_inactivity(false)
            .with_filter(
                Targets::new()
                    .with_target("contextworker", Level::INFO)
                    .with_target(contextworker_types::TRACE_ONLY_TARGET, Level::DEBUG)
                    .with_target("guest", Level::INFO),
            )
    }

    /// Export the spans still queued and stop. Call it while the Tokio runtime is still up.
    pub fn shutdown(self) {
        if let Err(e) = self.provider.shutdown() {
            tracing::warn!("trace export did not finish cleanly: {e}");
        }
    }
}

/// Refuse what the exporter would only fail on later, one batch at a time, in a log line.
fn check_endpoint(endpoint: &str) -> Result<(), TelemetryError> {
    let refuse = |reason: &str| TelemetryError::Endpoint {
        endpoint: endpoint.to_owned(),
        reason: reason.to_owned(),
    };
    match endpoint.split_once("://") {
        Some(("http", rest)) if !rest.is_empty() => Ok(()),
        Some(("https", _)) => Err(refuse(
            "TLS to the collector is not built in; export to a local collector or agent",
        )),
        _ => Err(refuse("not an http:// address")),
    }
}

fn resource(settings: &Settings) -> Resource {
    let mut attributes = vec![
        KeyValue::new("service.version", settings.service_version.clone()),
        KeyValue::new("process.pid", i64::from(std::process::id())),
    ];
    // Which host of the fleet: the kernel's name for it, as `hostname` prints.
    if let Ok(name) = std::fs::read_to_string("/proc/sys/kernel/hostname") {
        attributes.push(KeyValue::new("host.name", name.trim().to_owned()));
    }
    Resource::builder()
        .with_service_name(settings.service_name.clone())
        .with_attributes(attributes)
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_are_checked_before_any_export() {
        assert!(check_endpoint("http://127.0.0.1:4317").is_ok());
        for bad in [
            "127.0.0.1:4317",
            "https://collector:4317",
            "http://",
            "ftp://x",
        ] {
            let e = check_endpoint(bad).expect_err(bad).to_string();
            assert!(e.contains(bad), "{e}");
        }
    }
}
