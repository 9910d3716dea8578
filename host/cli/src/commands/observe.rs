//! `serve --metrics-addr`: the operator endpoint (metrics, liveness, readiness) and what its
//! readiness checks ask.

use std::net::SocketAddr;
use std::sync::Arc;

use contextworker_metrics::Disk;
use contextworker_metrics::http::{self, Check, Endpoint};
use contextworker_registry::LiveStatus;
use contextworker_runtime::CancellationToken;
use contextworker_worker::board::BoardView;
use contextworker_worker::{SdkMeter, Services};
use serde::{Deserialize, Serialize};

/// What a started endpoint hands back: the meter the SDK's worker records into.
pub struct Started {
    pub sdk_meter: SdkMeter,
}

/// What `/status` says about this worker (and `contextworker-host status` prints).
#[derive(Debug, Serialize, Deserialize)]
pub struct StatusDocument {
    pub identity: String,
    pub pid: u32,
    pub version: String,
    pub task_queues: Vec<String>,
    /// Activity slots per task queue.
    pub activity_slots: usize,
    #[serde(flatten)]
    pub board: BoardView,
    pub modules: LiveStatus,
}

/// The worker's identity and queues, as `/status` reports them.
#[derive(Debug, Clone)]
pub struct Identity {
    pub identity: String,
    pub task_queues: Vec<String>,
    pub activity_slots: usize,
}

/// Bind `addr` and serve until `stop`. Ready means: Temporal answers (when this host runs a
/// worker), the worker polls, the staging database answers, and at least one module is live.
pub async fn start(
    addr: SocketAddr,
    client: Option<contextworker_temporal::Client>,
    services: &Arc<Services>,
    identity: Identity,
    polling: &CancellationToken,
    stop: &CancellationToken,
) -> anyhow::Result<Started> {
    let modules = &services.modules;
    let listener = http::bind(addr).await?;
    let sdk = contextworker_worker::start_sdk_metrics()?;
    let mut checks = Vec::new();
    if let Some(client) = client {
        checks.push(Check::new("temporal", move || {
            let client = client.clone();
            async move { contextworker_temporal::reachable(&client).await }
        }));
        let polling = polling.clone();
        checks.push(Check::new("worker", move || {
            let polling = polling.is_cancelled();
            async move {
                if polling {
                    Ok(())
                } else {
                    Err("the worker is not polling yet".to_owned())
                }
            }
        }));
    }
    let staging = services.staging.clone();
    checks.push(Check::new("database", move || {
        let staging = staging.clone();
        async move { staging.ping().await }
    }));
    let modules = modules.clone();
    checks.push(Check::new("modules", move || {
        let live = modules.snapshot().len();
        async move {
            if live > 0 {
                Ok(())
            } else {
                Err("no module is live".to_owned())
            }
        }
    }));
    let bound = listener.local_addr().unwrap_or(addr);
    let shutdown = {
        let stop = stop.clone();
        async move { stop.cancelled().await }
    };
    let status = {
        let services = services.clone();
        Arc::new(move || {
            let document = StatusDocument {
                identity: identity.identity.clone(),
                pid: std::process::id(),
                version: env!("CARGO_PKG_VERSION").to_owned(),
                task_queues: identity.task_queues.clone(),
                activity_slots: identity.activity_slots,
                board: services.board.view(),
                modules: services.modules.status(),
            };
            serde_json::to_string(&document).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
        })
    };
    let disk: http::DiskFn = {
        let (blobs, runtime) = (services.blobs.clone(), services.runtime.clone());
        Arc::new(move || {
            vec![
                (Disk::Blobs, blobs.local_bytes()),
                (Disk::CompileCache, runtime.compile_cache_bytes()),
            ]
        })
    };
    let endpoint = Endpoint {
        checks,
        sdk_metrics: Some(sdk.addr),
        status: Some(status),
        disk: Some(disk),
    };
    tokio::spawn(async move {
        if let Err(e) = http::serve(listener, endpoint, shutdown).await {
            tracing::error!("{e}");
        }
    });
    eprintln!("metrics on http://{bound}/metrics (health: /healthz, /readyz)");
    Ok(Started {
        sdk_meter: sdk.meter,
    })
}

/// `contextworker-host status`: ask a running worker's endpoint and print what it does now.
pub async fn status(addr: &str, json: bool) -> anyhow::Result<u8> {
    let url = format!("http://{addr}/status");
    let response = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(5))
        .no_proxy()
        .build()?
        .get(&url)
        .send()
        .await;
    let text = match response {
        Ok(r) if r.status().is_success() => r.text().await?,
        Ok(r) => {
            eprintln!("error: {url} answered {}", r.status());
            return Ok(super::EXIT_FAILED);
        }
        Err(e) => {
            eprintln!(
                "error: no worker endpoint at {url} ({e}); start the worker with \
                 --metrics-addr {addr}, or pass that address with --addr"
            );
            return Ok(super::EXIT_FAILED);
        }
    };
    let document: StatusDocument = serde_json::from_str(&text)
        .map_err(|e| anyhow::anyhow!("{url} is not a worker's status document: {e}"))?;
    if json {
        println!("{text}");
    } else {
        print_status(&document);
    }
    Ok(super::EXIT_OK)
}

fn print_status(d: &StatusDocument) {
    let now = contextworker_registry::now_millis();
    println!(
        "worker {} (pid {}, contextworker-host {}) on {}: {} of {} activity slot(s) per queue busy",
        d.identity,
        d.pid,
        d.version,
        d.task_queues.join(", "),
        d.board.running.len(),
        d.activity_slots
    );
    println!();
    if d.board.running.is_empty() {
        println!("no activity running");
    } else {
        println!(
            "{:<22} {:<44} {:>7} {:>10}",
            "ACTIVITY", "WORKFLOW", "ATTEMPT", "ELAPSED"
        );
        for a in &d.board.running {
            println!(
                "{:<22} {:<44} {:>7} {:>10}",
                a.activity,
                a.workflow_id,
                a.attempt,
                seconds(a.elapsed_ms)
            );
        }
    }
    println!();
    println!(
        "{:<18} {:<10} {:<12} {:<14} {:>10}",
        "MODULE", "VERSION", "WORLD", "DIGEST", "LIVE FOR"
    );
    for m in &d.modules.modules {
        println!(
            "{:<18} {:<10} {:<12} {:<14} {:>10}",
            m.name,
            m.active.version,
            m.world,
            m.active.digest.short(),
            seconds(now.saturating_sub(m.since_ms))
        );
    }
    let c = &d.modules.counters;
    println!(
        "{} reload(s), {} swap(s), {} refusal(s), {} shadow run(s)",
        c.reloads, c.swaps, c.refusals, c.shadow_runs
    );
    if !d.board.recent_failures.is_empty() {
        println!();
        println!("recent failures (newest first):");
        for f in &d.board.recent_failures {
            println!(
                "  {} ago  {} {} attempt {}: {}: {}",
                seconds(now.saturating_sub(f.at_ms)),
                f.activity,
                f.workflow_id,
                f.attempt,
                f.failure_type,
                f.message
            );
        }
    }
    if !d.modules.refusals.is_empty() {
        println!();
        println!("recent refusals:");
        for r in d.modules.refusals.iter().rev() {
            println!(
                "  {} ago  {}: {}",
                seconds(now.saturating_sub(r.at_ms)),
                r.file.display(),
                r.reason
            );
        }
    }
}

fn seconds(ms: u64) -> String {
    if ms < 60_000 {
        format!("{:.1} s", ms as f64 / 1000.0)
    } else {
        humantime::format_duration(std::time::Duration::from_secs(ms / 1000)).to_string()
    }
}
