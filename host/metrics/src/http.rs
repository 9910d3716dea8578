//! The operator's endpoint on `--metrics-addr`: `/metrics` (the host's families, then the
//! Temporal SDK's), `/healthz` (the process answers), `/readyz` (every readiness check
//! passes: Temporal reachable, the database answering, modules loaded) and `/status` (a JSON
//! view of what the worker does now, for `contextworker-host status`).
//!
//! It is meant for a private interface (a pod's port, a loopback scraped by an agent): it
//! needs no token and shows no tenant data, only counts by module. Work per request is
//! bounded: a few requests at once, each check and the SDK scrape under a short timeout.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::sync::Semaphore;

use crate::metrics;

/// How long one readiness check or the SDK's scrape may take before it counts as failed.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(2);
/// Requests served at once; more get 503 (a scraper retries at its next interval).
const CONCURRENT_REQUESTS: usize = 8;
/// The Prometheus text exposition format's content type.
const TEXT_FORMAT: &str = "text/plain; version=0.0.4; charset=utf-8";

type CheckFuture = Pin<Box<dyn Future<Output = Result<(), String>> + Send>>;

/// One named readiness check: `Ok` when ready, else why not.
#[derive(Clone)]
pub struct Check {
    name: &'static str,
    run: Arc<dyn Fn() -> CheckFuture + Send + Sync>,
}

impl std::fmt::Debug for Check {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Check").field(&self.name).finish()
    }
}

impl Check {
    pub fn new<F, Fut>(name: &'static str, run: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        Self {
            name,
            run: Arc::new(move || Box::pin(run())),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EndpointError {
    #[error("binding the metrics endpoint on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("the metrics endpoint stopped: {0}")]
    Serve(std::io::Error),
}

/// Bind the endpoint's address (before anything else starts, so a taken port stops the host
/// at once with a clear error).
pub async fn bind(addr: SocketAddr) -> Result<tokio::net::TcpListener, EndpointError> {
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| EndpointError::Bind { addr, source })
}

/// Builds the `/status` document (JSON text) when asked.
pub type StatusFn = Arc<dyn Fn() -> String + Send + Sync>;
/// Measures the host's stores on disk for a scrape; it may read directories, so it runs on a
/// blocking thread.
pub type DiskFn = Arc<dyn Fn() -> Vec<(crate::Disk, u64)> + Send + Sync>;

/// What the endpoint serves besides the host's metrics.
#[derive(Clone, Default)]
pub struct Endpoint {
    pub checks: Vec<Check>,
    /// The Temporal SDK's own exporter (on loopback), appended to `/metrics`.
    pub sdk_metrics: Option<SocketAddr>,
    pub status: Option<StatusFn>,
    pub disk: Option<DiskFn>,
}

#[derive(Clone)]
struct Shared {
    checks: Arc<Vec<Check>>,
    sdk_metrics: Option<String>,
    status: Option<StatusFn>,
    disk: Option<DiskFn>,
    scraper: reqwest::Client,
    permits: Arc<Semaphore>,
}

/// Serve until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    endpoint: Endpoint,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), EndpointError> {
    let shared = Shared {
        checks: Arc::new(endpoint.checks),
        sdk_metrics: endpoint.sdk_metrics.map(|a| format!("http://{a}/metrics")),
        status: endpoint.status,
        disk: endpoint.disk,
        scraper: reqwest::Client::builder()
            .timeout(CHECK_TIMEOUT)
            .no_proxy()
            .build()
            .unwrap_or_default(),
        permits: Arc::new(Semaphore::new(CONCURRENT_REQUESTS)),
    };
    let app = Router::new()
        .route("/metrics", get(scrape))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(ready))
        .route("/status", get(status))
        .with_state(shared);
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(EndpointError::Serve)
}

fn busy() -> Response {
    (StatusCode::SERVICE_UNAVAILABLE, "busy; try again\n").into_response()
}

async fn scrape(State(shared): State<Shared>) -> Response {
    let Ok(_permit) = shared.permits.try_acquire() else {
        return busy();
    };
    if let Some(measure) = shared.disk.clone()
        && let Ok(Ok(sizes)) = tokio::time::timeout(
            CHECK_TIMEOUT,
            tokio::task::spawn_blocking(move || measure()),
        )
        .await
    {
        for (store, bytes) in sizes {
            metrics().disk(store, bytes);
        }
    }
    let mut text = metrics().render();
    if let Some(url) = &shared.sdk_metrics {
        match sdk_text(&shared.scraper, url).await {
            Ok(sdk) => text.push_str(&sdk),
            // A comment keeps the exposition valid; the host's own families still arrive.
            Err(e) => text.push_str(&format!("# the Temporal SDK's metrics are missing: {e}\n")),
        }
    }
    ([(header::CONTENT_TYPE, TEXT_FORMAT)], text).into_response()
}

async fn sdk_text(client: &reqwest::Client, url: &str) -> Result<String, String> {
    let response = client.get(url).send().await.map_err(|e| e.to_string())?;
    if !response.status().is_success() {
        return Err(format!("status {}", response.status()));
    }
    response.text().await.map_err(|e| e.to_string())
}

async fn status(State(shared): State<Shared>) -> Response {
    match &shared.status {
        Some(build) => ([(header::CONTENT_TYPE, "application/json")], build()).into_response(),
        None => (StatusCode::NOT_FOUND, "no status here\n").into_response(),
    }
}

async fn ready(State(shared): State<Shared>) -> Response {
    let Ok(_permit) = shared.permits.try_acquire() else {
        return busy();
    };
    let results = futures::future::join_all(shared.checks.iter().map(|check| async move {
        let outcome = match tokio::time::timeout(CHECK_TIMEOUT, (check.run)()).await {
            Ok(outcome) => outcome,
            Err(_) => Err(format!("no answer within {} ms", CHECK_TIMEOUT.as_millis())),
        };
        (check.name, outcome)
    }))
    .await;
    let ready = results.iter().all(|(_, r)| r.is_ok());
    let mut body = String::from(if ready { "ready\n" } else { "not ready\n" });
    for (name, outcome) in &results {
        match outcome {
            Ok(()) => body.push_str(&format!("{name}: ok\n")),
            Err(why) => body.push_str(&format!("{name}: {why}\n")),
        }
    }
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, body).into_response()
}
