//! Every family the host declares, in one place: names, help texts, labels, buckets.

use prometheus::{
    Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry,
};

use crate::{Metrics, PREFIX};

/// Seconds from 100 µs to about two minutes, doubling: a no-op call and a 100,000-product
/// parse land in the same family with useful resolution at both ends.
pub(crate) fn seconds_buckets() -> Vec<f64> {
    (0..21).map(|i| 1e-4 * f64::from(1u32 << i)).collect()
}

impl Metrics {
    pub(crate) fn new() -> Self {
        let registry = Registry::new();
        let names = std::cell::RefCell::new(Vec::new());
        let name = |n: &str| {
            let full = format!("{PREFIX}_{n}");
            names.borrow_mut().push(full.clone());
            full
        };
        macro_rules! family {
            ($kind:ty, $opts:expr, $labels:expr) => {{
                let f = <$kind>::new($opts, $labels).expect("a valid metric definition");
                registry
                    .register(Box::new(f.clone()))
                    .expect("each family is registered once");
                f
            }};
            ($kind:ty, $opts:expr) => {{
                let f = <$kind>::with_opts($opts).expect("a valid metric definition");
                registry
                    .register(Box::new(f.clone()))
                    .expect("each family is registered once");
                f
            }};
        }
        let opts = |n: &str, help: &str| Opts::new(name(n), help);
        let histogram = |n: &str, help: &str, buckets: Vec<f64>| {
            HistogramOpts::new(name(n), help).buckets(buckets)
        };
        Self {
            guest_calls: family!(
                IntCounterVec,
                opts(
                    "guest_calls_total",
                    "Guest calls by module, version, world and outcome (ok or the error class)."
                ),
                &["module", "version", "world", "outcome"]
            ),
            guest_seconds: family!(
                HistogramVec,
                histogram(
                    "guest_call_duration_seconds",
                    "Wall time of guest calls (store, instantiation, the guest's run).",
                    seconds_buckets()
                ),
                &["module", "world"]
            ),
            guest_fuel: family!(
                HistogramVec,
                histogram(
                    "guest_fuel_used",
                    "Fuel used by metered guest calls.",
                    (0..10).map(|i| 10f64.powi(3 + i)).collect()
                ),
                &["module"]
            ),
            guest_memory: family!(
                HistogramVec,
                histogram(
                    "guest_peak_memory_bytes",
                    "Largest linear memory a guest call reached.",
                    (0..15).map(|i| f64::from(65_536u32 << i)).collect()
                ),
                &["module"]
            ),
            sandbox_running: family!(
                IntGauge,
                opts("sandbox_calls_running", "Guest calls running now.")
            ),
            sandbox_waiting: family!(
                IntGauge,
                opts(
                    "sandbox_calls_waiting",
                    "Guest calls waiting for the host's guest-memory budget."
                )
            ),
            reloads: family!(
                IntCounterVec,
                opts(
                    "module_reloads_total",
                    "Reloads of the modules directory by cause."
                ),
                &["cause"]
            ),
            swaps: family!(
                IntCounterVec,
                opts(
                    "module_swaps_total",
                    "New versions that went live, by module."
                ),
                &["module"]
            ),
            refusals: family!(
                IntCounter,
                opts(
                    "module_refusals_total",
                    "Module files a reload refused (unreadable, invalid, failing its self-test or shadow run)."
                )
            ),
            shadow_runs: family!(
                IntCounterVec,
                opts(
                    "module_shadow_runs_total",
                    "Shadow runs of a candidate version by module and outcome."
                ),
                &["module", "outcome"]
            ),
            shadow_diffs: family!(
                IntCounterVec,
                opts(
                    "module_shadow_diff_products_total",
                    "Products a shadow run found changed, added or removed against the live version."
                ),
                &["module", "change"]
            ),
            active: family!(
                IntGaugeVec,
                opts(
                    "module_active_info",
                    "The version live now per module (value 1)."
                ),
                &["module", "version", "world", "digest"]
            ),
            fetched_bytes: family!(
                IntCounter,
                opts(
                    "harvest_fetched_bytes_total",
                    "Feed bytes fetched by harvests."
                )
            ),
            products: family!(
                IntCounterVec,
                opts(
                    "harvest_products_total",
                    "Products by what a harvest did with them: parsed, created, updated, unchanged, missing."
                ),
                &["result"]
            ),
            step_seconds: family!(
                HistogramVec,
                histogram(
                    "harvest_step_duration_seconds",
                    "Duration of harvest steps (fetch, parse, stage).",
                    seconds_buckets()
                ),
                &["step"]
            ),
            staging_rate: family!(
                Histogram,
                histogram(
                    "staging_rows_per_second",
                    "Rows per second of each stage step.",
                    (0..12).map(|i| 10.0 * 2f64.powi(i * 2)).collect()
                )
            ),
            enriched: family!(
                IntCounterVec,
                opts(
                    "enrichment_products_total",
                    "Products enrichment batches classified, abstained on, failed or skipped (changed meanwhile)."
                ),
                &["outcome"]
            ),
            llm_tokens: family!(
                IntCounterVec,
                opts(
                    "llm_tokens_total",
                    "Tokens LLM services reported to modules' outbound requests."
                ),
                &["module"]
            ),
            grpc_requests: family!(
                IntCounterVec,
                opts(
                    "grpc_requests_total",
                    "WorkerService requests by method and outcome (ok, an error_type of the answer, or a gRPC status)."
                ),
                &["method", "outcome"]
            ),
            grpc_seconds: family!(
                HistogramVec,
                histogram(
                    "grpc_request_duration_seconds",
                    "WorkerService request latency.",
                    seconds_buckets()
                ),
                &["method"]
            ),
            exec_waiting: family!(
                IntGauge,
                opts(
                    "exec_queue_waiting",
                    "ExecuteCode requests waiting for a slot."
                )
            ),
            compile_cache: family!(
                IntCounterVec,
                opts(
                    "exec_compile_cache_total",
                    "ExecuteCode compilations served from the cache (hit) or compiled (miss)."
                ),
                &["result"]
            ),
            disk: family!(
                IntGaugeVec,
                opts(
                    "disk_bytes",
                    "Bytes on this host's disk, by store: blobs (feeds and product sets; for an object store, its local directory) and compile_cache (compiled modules), measured at each scrape."
                ),
                &["store"]
            ),
            active_labels: std::sync::Mutex::default(),
            registry,
            names: names.into_inner(),
        }
    }
}
