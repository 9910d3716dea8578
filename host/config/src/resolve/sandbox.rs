//! `[sandbox]` resolved: sizing the sandbox, each number within its range.

use std::path::Path;

use crate::error::ConfigError;
use crate::file::SandboxToml;
use crate::setting::Setting;
use crate::settings::SandboxSettings;

const MAX_CONCURRENT_INSTANCES: Setting =
    Setting::new("sandbox.max_concurrent_instances", 64, 1..=10_000);
const MAX_MEMORY_MB: Setting = Setting::new("sandbox.max_memory_mb", 1024, 1..=4096);
const MAX_COMPONENT_MB: Setting = Setting::new("sandbox.max_component_mb", 64, 1..=1024);
const EPOCH_TICK_MS: Setting = Setting::new("sandbox.epoch_tick_ms", 10, 1..=1000);
/// The default is the machine's ([`default_memory_budget_mb`]).
const MEMORY_BUDGET_MB: Setting = Setting::new("sandbox.memory_budget_mb", 8192, 1..=1 << 30);
const COMPILE_CACHE_MAX_MB: Setting =
    Setting::new("sandbox.compile_cache_max_mb", 2048, 16..=1 << 30);

impl SandboxToml {
    pub(crate) fn resolve(self, path: &Path) -> Result<SandboxSettings, ConfigError> {
        let instances = self.max_concurrent_instances.map(u64::from);
        Ok(SandboxSettings {
            max_concurrent_instances: u32::try_from(
                MAX_CONCURRENT_INSTANCES.resolve(path, instances)?,
            )
            .unwrap_or(64),
            max_memory_mb: MAX_MEMORY_MB.resolve(path, self.max_memory_mb)?,
            max_component_mb: MAX_COMPONENT_MB.resolve(path, self.max_component_mb)?,
            epoch_tick_ms: EPOCH_TICK_MS.resolve(path, self.epoch_tick_ms)?,
            pooling: self.pooling.unwrap_or(true),
            compile_cache: self.compile_cache.unwrap_or(true),
            allow_on_demand_fallback: self.allow_on_demand_fallback.unwrap_or(false),
            memory_budget_mb: MEMORY_BUDGET_MB.check(
                path,
                self.memory_budget_mb
                    .unwrap_or_else(default_memory_budget_mb),
            )?,
            compile_cache_max_mb: COMPILE_CACHE_MAX_MB.resolve(path, self.compile_cache_max_mb)?,
        })
    }
}

/// Half the machine's memory (`MemTotal`), or 8 GiB where it cannot be read: the rest is for
/// the host itself, the database client, the page cache of feeds.
fn default_memory_budget_mb() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(8192, |kib| (kib / 1024 / 2).max(256))
}
