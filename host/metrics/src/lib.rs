//! The host's Prometheus metrics and the operator's HTTP endpoint.
//!
//! One registry per process, owned here; every family is declared once in [`Metrics`] and
//! recorded through its typed methods, so a label set cannot drift between the places that
//! record it. Labels are bounded: module, version, world, outcome (an [`ErrorClass`] name),
//! step, method; never a supplier, tenant, workflow id or anything a caller chooses. Module
//! names come from the operator's modules directory; submitted code is `submitted-code`.
//!
//! The Temporal SDK keeps its own registry private and only serves it on an address of its own,
//! so the endpoint ([`http`]) starts it on a loopback port and appends its scrape to ours:
//! one `/metrics` for both.

mod families;
pub mod http;

use std::sync::LazyLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use contextworker_types::{ErrorClass, Receipt, World};
use prometheus::{
    Histogram, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Registry,
};

/// The metric name prefix of everything the host itself records.
pub const PREFIX: &str = "contextworker";

/// What a guest call ended as: `ok`, or the typed error's class name.
pub fn outcome(error: Option<ErrorClass>) -> &'static str {
    error.map_or("ok", ErrorClass::name)
}

/// Every family the host records. Get the process's with [`metrics`].
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// Every family's name, for checks of what refers to them (the dashboard).
    names: Vec<String>,
    guest_calls: IntCounterVec,
    guest_seconds: HistogramVec,
    guest_fuel: HistogramVec,
    guest_memory: HistogramVec,
    sandbox_running: IntGauge,
    sandbox_waiting: IntGauge,
    reloads: IntCounterVec,
    swaps: IntCounterVec,
    refusals: IntCounter,
    shadow_runs: IntCounterVec,
    shadow_diffs: IntCounterVec,
    active: IntGaugeVec,
    /// The label set each module's info series has now, so a swap removes exactly it.
    active_labels: std::sync::Mutex<std::collections::HashMap<String, [String; 4]>>,
    fetched_bytes: IntCounter,
    products: IntCounterVec,
    step_seconds: HistogramVec,
    staging_rate: Histogram,
    enriched: IntCounterVec,
    llm_tokens: IntCounterVec,
    grpc_requests: IntCounterVec,
    grpc_seconds: HistogramVec,
    exec_waiting: IntGauge,
    compile_cache: IntCounterVec,
    disk: IntGaugeVec,
}

/// A store whose size `/metrics` reports (`contextworker_disk_bytes{store}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disk {
    Blobs,
    CompileCache,
}

impl Disk {
    fn label(self) -> &'static str {
        match self {
            Self::Blobs => "blobs",
            Self::CompileCache => "compile_cache",
        }
    }
}

static ENABLED: AtomicBool = AtomicBool::new(false);

/// Start recording (`serve --metrics-addr`). Until then every recording method returns at
/// once: a host nobody scrapes pays one relaxed load per call site, not label lookups.
pub fn enable() {
    ENABLED.store(true, Ordering::Relaxed);
}

/// Stop recording (benchmarks compare both within one process).
pub fn disable() {
    ENABLED.store(false, Ordering::Relaxed);
}

fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// The process's metrics, registered on first use.
pub fn metrics() -> &'static Metrics {
    static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);
    &METRICS
}

impl Metrics {
    /// The names of every family the host declares (counters with their `_total`).
    pub fn family_names(&self) -> &[String] {
        &self.names
    }

    /// The exposition text of every family.
    pub fn render(&self) -> String {
        prometheus::TextEncoder::new()
            .encode_to_string(&self.registry.gather())
            .unwrap_or_else(|e| format!("# encoding the host's metrics failed: {e}\n"))
    }

    /// One guest call, from its receipt.
    pub fn guest_call(&self, receipt: &Receipt, world: World, error: Option<ErrorClass>) {
        if !enabled() {
            return;
        }
        let module = receipt.module.as_str();
        self.guest_calls
            .with_label_values(&[module, &receipt.version, world.as_str(), outcome(error)])
            .inc();
        self.guest_seconds
            .with_label_values(&[module, world.as_str()])
            .observe(receipt.wall_time.as_secs_f64());
        if let Some(fuel) = receipt.fuel_used {
            self.guest_fuel
                .with_label_values(&[module])
                .observe(fuel as f64);
        }
        self.guest_memory
            .with_label_values(&[module])
            .observe(receipt.peak_memory_bytes as f64);
        let tokens = receipt.http.tokens();
        if tokens > 0 {
            self.llm_tokens.with_label_values(&[module]).inc_by(tokens);
        }
    }

    /// The size of one of this host's stores, as measured now.
    pub fn disk(&self, store: Disk, bytes: u64) {
        if !enabled() {
            return;
        }
        self.disk
            .with_label_values(&[store.label()])
            .set(i64::try_from(bytes).unwrap_or(i64::MAX));
    }

    /// Counts a call as running until the guard drops.
    pub fn running(&self) -> GaugeGuard {
        GaugeGuard::new(&self.sandbox_running)
    }

    /// Counts a call as waiting for the memory budget until the guard drops.
    pub fn waiting(&self) -> GaugeGuard {
        GaugeGuard::new(&self.sandbox_waiting)
    }

    /// Counts an ExecuteCode request as waiting for a slot until the guard drops.
    pub fn exec_waiting(&self) -> GaugeGuard {
        GaugeGuard::new(&self.exec_waiting)
    }

    pub fn reload(&self, cause: &str) {
        if !enabled() {
            return;
        }
        self.reloads.with_label_values(&[cause]).inc();
    }

    pub fn refused_module(&self) {
        if !enabled() {
            return;
        }
        self.refusals.inc();
    }

    /// A new version of `module` went live.
    pub fn swapped(&self, module: &str) {
        if !enabled() {
            return;
        }
        self.swaps.with_label_values(&[module]).inc();
    }

    /// The module's info series points at this version alone (set after every reload).
    pub fn set_active(&self, module: &str, version: &str, world: World, digest: &str) {
        if !enabled() {
            return;
        }
        let labels = [module, version, world.as_str(), digest].map(str::to_owned);
        let mut active = self
            .active_labels
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if active.get(module) == Some(&labels) {
            return;
        }
        if let Some(old) = active.insert(module.to_owned(), labels.clone()) {
            let _ = self
                .active
                .remove_label_values(&old.each_ref().map(String::as_str));
        }
        self.active
            .with_label_values(&labels.each_ref().map(String::as_str))
            .set(1);
    }

    /// The module is gone from the live set.
    pub fn clear_active(&self, module: &str) {
        if !enabled() {
            return;
        }
        let mut active = self
            .active_labels
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(old) = active.remove(module) {
            let _ = self
                .active
                .remove_label_values(&old.each_ref().map(String::as_str));
        }
    }

    /// A shadow run of a candidate: its outcome (`same`, `differs`, `failed`) and how many
    /// products it found changed, added and removed.
    pub fn shadow_run(&self, module: &str, outcome: &str, changed: u64, added: u64, removed: u64) {
        if !enabled() {
            return;
        }
        self.shadow_runs.with_label_values(&[module, outcome]).inc();
        for (change, n) in [("changed", changed), ("added", added), ("removed", removed)] {
            if n > 0 {
                self.shadow_diffs
                    .with_label_values(&[module, change])
                    .inc_by(n);
            }
        }
    }

    pub fn fetched(&self, bytes: u64) {
        if !enabled() {
            return;
        }
        self.fetched_bytes.inc_by(bytes);
    }

    /// Products counted by result (`parsed`, `created`, `updated`, `unchanged`, `missing`).
    pub fn products(&self, result: &str, n: u64) {
        if !enabled() {
            return;
        }
        if n > 0 {
            self.products.with_label_values(&[result]).inc_by(n);
        }
    }

    pub fn step(&self, step: &str, took: Duration) {
        if !enabled() {
            return;
        }
        self.step_seconds
            .with_label_values(&[step])
            .observe(took.as_secs_f64());
    }

    /// One stage step's rate, rows per second of its wall time.
    pub fn staged(&self, rows: u64, took: Duration) {
        if !enabled() {
            return;
        }
        if rows > 0 && !took.is_zero() {
            self.staging_rate.observe(rows as f64 / took.as_secs_f64());
        }
    }

    /// Enrichment results counted by outcome (`classified`, `abstained`, `failed`, `skipped`).
    pub fn enriched(&self, outcome: &str, n: u64) {
        if !enabled() {
            return;
        }
        if n > 0 {
            self.enriched.with_label_values(&[outcome]).inc_by(n);
        }
    }

    pub fn grpc_request(&self, method: &str, outcome: &str, took: Duration) {
        if !enabled() {
            return;
        }
        self.grpc_requests
            .with_label_values(&[method, outcome])
            .inc();
        self.grpc_seconds
            .with_label_values(&[method])
            .observe(took.as_secs_f64());
    }

    pub fn compile_cache(&self, hit: bool) {
        if !enabled() {
            return;
        }
        self.compile_cache
            .with_label_values(&[if hit { "hit" } else { "miss" }])
            .inc();
    }
}

/// Decrements its gauge when dropped, so an early return or a cancelled future cannot leave
/// a call counted forever. Holds nothing while recording is off.
#[derive(Debug)]
pub struct GaugeGuard(Option<IntGauge>);

impl GaugeGuard {
    fn new(gauge: &IntGauge) -> Self {
        if !enabled() {
            return Self(None);
        }
        gauge.inc();
        Self(Some(gauge.clone()))
    }
}

impl Drop for GaugeGuard {
    fn drop(&mut self) {
        if let Some(gauge) = &self.0 {
            gauge.dec();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_swap_leaves_one_active_series_per_module() {
        enable();
        let m = metrics();
        m.set_active("unit-a", "1.0.0", World::Transformer, "aaaa");
        m.set_active("unit-a", "1.1.0", World::Transformer, "bbbb");
        let text = m.render();
        let lines: Vec<&str> = text
            .lines()
            .filter(|l| {
                l.starts_with("contextworker_module_active_info{")
                    && l.contains("module=\"unit-a\"")
            })
            .collect();
        assert_eq!(lines.len(), 1, "{text}");
        assert!(lines[0].contains("version=\"1.1.0\""), "{}", lines[0]);
        m.clear_active("unit-a");
        assert!(!m.render().contains("module=\"unit-a\""));
    }

    /// The dashboard in the repository charts only families the host declares: a renamed
    /// family fails here, not as an empty panel in an operator's Grafana.
    #[test]
    fn the_dashboard_names_only_declared_families() {
        let dashboard = include_str!("../../../dashboards/contextworker-host.json");
        let declared = metrics().family_names();
        let mut referred = 0;
        for (at, _) in dashboard.match_indices("contextworker_") {
            let name: String = dashboard[at..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            let family = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|s| name.strip_suffix(s))
                .unwrap_or(&name);
            assert!(
                declared.iter().any(|d| d == family),
                "the dashboard charts `{name}`, which the host does not declare"
            );
            referred += 1;
        }
        assert!(referred >= 20, "{referred}");
    }

    #[test]
    fn buckets_cover_a_no_op_call_and_a_long_parse() {
        let b = families::seconds_buckets();
        assert!(b[0] <= 1e-4 && *b.last().unwrap() >= 100.0, "{b:?}");
    }
}
