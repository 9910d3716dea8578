//! What a worker publishes about its modules (`<data>/modules/workers/<pid>.json`), and how
//! other processes find the workers that are really running.

use std::path::PathBuf;

use contextworker_types::{DataDir, Digest};
use serde::{Deserialize, Serialize};

use super::{KEPT_REFUSALS, LiveModules, lock};
use crate::Module;
use crate::store::{now_ms, write_atomically};

/// One version, as listings name it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct VersionBrief {
    pub version: String,
    pub digest: Digest,
}

impl VersionBrief {
    pub(super) fn of(module: &Module) -> Self {
        Self {
            version: module.manifest.version.to_string(),
            digest: module.component.digest(),
        }
    }
}

impl std::fmt::Display for VersionBrief {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.version, self.digest.short())
    }
}

/// A version that went live.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Swap {
    pub module: String,
    pub from: Option<VersionBrief>,
    pub to: VersionBrief,
    /// From the component file's modification time to the switch, when the file is newer
    /// than the last reload (a file that landed, not a restored old one).
    pub landed_to_live_ms: Option<u64>,
}

/// A candidate that was refused: the current version keeps serving.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Refusal {
    /// The module's name, when the manifest could be read.
    pub module: Option<String>,
    /// The file the reason is about (manifest or component).
    pub file: PathBuf,
    pub reason: String,
    pub at_ms: u64,
}

/// What asked for a reload. Written to the status file by name (`start`, `watch`, `poll`,
/// `SIGHUP`), which `modules reload` reads to see that its signal was handled.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub enum ReloadCause {
    /// The first load of a starting worker: nothing is swapped, every module is new.
    #[default]
    #[serde(rename = "start")]
    Start,
    /// The file watcher saw the modules directory change.
    #[serde(rename = "watch")]
    Watch,
    /// The periodic rescan (for file systems whose events do not arrive).
    #[serde(rename = "poll")]
    Poll,
    /// `SIGHUP`, as `modules reload` sends it.
    #[serde(rename = "SIGHUP")]
    Signal,
    /// The fleet's releases changed (a publish or a rollback anywhere in the fleet).
    #[serde(rename = "release")]
    Release,
}

impl ReloadCause {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Start => "start",
            Self::Watch => "watch",
            Self::Poll => "poll",
            Self::Signal => "SIGHUP",
            Self::Release => "release",
        }
    }
}

impl std::fmt::Display for ReloadCause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What one reload did.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct ReloadReport {
    pub cause: ReloadCause,
    pub at_ms: u64,
    pub duration_ms: u64,
    pub swapped: Vec<Swap>,
    /// Shadow candidates staged next to the active version.
    pub staged: Vec<Swap>,
    pub refused: Vec<Refusal>,
    /// Modules whose manifest left the directory.
    pub removed: Vec<String>,
}

impl ReloadReport {
    pub fn changed(&self) -> bool {
        !(self.swapped.is_empty() && self.staged.is_empty() && self.removed.is_empty())
    }
}

/// One module as a running worker serves it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ActiveModule {
    pub name: String,
    pub world: String,
    pub active: VersionBrief,
    /// Unix milliseconds when this version became active here.
    pub since_ms: u64,
    pub candidate: Option<VersionBrief>,
}

/// Running totals, for metrics.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Counters {
    pub reloads: u64,
    /// Versions that went live after the worker started (its first load is not counted).
    pub swaps: u64,
    pub staged: u64,
    pub refusals: u64,
    pub removals: u64,
    pub shadow_runs: u64,
}

/// What a worker publishes about its modules (`<data>/modules/workers/<pid>.json`), for
/// `modules list`, `modules reload` and `modules rollback` run from another process.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct LiveStatus {
    pub pid: u32,
    /// When the process started (clock ticks since boot, proc(5) `starttime`): with the pid,
    /// it tells this worker from a later process that reused its pid.
    #[serde(default)]
    pub process_start: Option<u64>,
    pub started_ms: u64,
    pub updated_ms: u64,
    /// Increases with every reload, changed or not: a waiting command sees its reload land.
    pub generation: u64,
    pub modules: Vec<ActiveModule>,
    pub refusals: Vec<Refusal>,
    pub last_reload: ReloadReport,
    pub counters: Counters,
}

impl LiveModules {
    pub(super) fn publish(&self, report: &ReloadReport) {
        let snapshot = self.snapshot();
        let since = lock(&self.since).clone();
        let status = {
            let mut status = lock(&self.status);
            status.generation += 1;
            status.updated_ms = now_ms();
            status.modules = snapshot
                .modules()
                .map(|m| ActiveModule {
                    name: m.name().to_string(),
                    world: m.manifest.world.to_string(),
                    active: VersionBrief::of(m),
                    since_ms: since.get(m.name()).copied().unwrap_or(status.started_ms),
                    candidate: snapshot
                        .candidate(m.name().as_str())
                        .map(|c| VersionBrief::of(&c)),
                })
                .collect();
            status.refusals.extend(report.refused.iter().cloned());
            let excess = status.refusals.len().saturating_sub(KEPT_REFUSALS);
            status.refusals.drain(..excess);
            status.counters.reloads += 1;
            // What a worker loads when it starts is not a swap.
            if report.cause != ReloadCause::Start {
                status.counters.swaps += report.swapped.len() as u64;
            }
            status.counters.staged += report.staged.len() as u64;
            status.counters.refusals += report.refused.len() as u64;
            status.counters.removals += report.removed.len() as u64;
            status.last_reload = report.clone();
            status.clone()
        };
        if let Some(file) = &self.status_file {
            match serde_json::to_vec_pretty(&status) {
                Ok(json) => {
                    if let Err(e) = write_atomically(file, &json) {
                        tracing::warn!("cannot write the module status {}: {e}", file.display());
                    }
                }
                Err(e) => tracing::warn!("cannot encode the module status: {e}"),
            }
        }
        self.generation.send_replace(status.generation);
    }

    /// Count a shadow run in the published counters.
    pub fn count_shadow_run(&self) {
        lock(&self.status).counters.shadow_runs += 1;
    }

    /// Remove this process's status file (at shutdown).
    pub fn unpublish(&self) {
        if let Some(file) = &self.status_file {
            let _ = std::fs::remove_file(file);
        }
    }
}

/// Live status files of workers that use `data_dir`, whose process is still running.
pub fn running_workers(data_dir: &DataDir) -> Vec<LiveStatus> {
    let Ok(entries) = std::fs::read_dir(data_dir.worker_status()) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for entry in entries.filter_map(Result::ok) {
        let Some(status) = std::fs::read(entry.path())
            .ok()
            .and_then(|b| serde_json::from_slice::<LiveStatus>(&b).ok())
        else {
            continue;
        };
        // The worker that wrote the file is the process with that pid only if it also
        // started when the file says: otherwise it died without removing the file, and a
        // signal would reach whoever has its pid now.
        let alive = process_start(status.pid)
            .is_some_and(|now| status.process_start.is_none_or(|then| then == now));
        if alive {
            out.push(status);
        } else {
            let _ = std::fs::remove_file(entry.path());
        }
    }
    out.sort_by_key(|s| s.pid);
    out
}

/// The start time of process `pid` in clock ticks since boot (proc(5), `/proc/PID/stat`
/// field 22), or `None` when there is no such process.
pub fn process_start(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command, which is in parentheses and may hold spaces: the state
    // (field 3) is the first of them, so field 22 is the twentieth.
    let rest = stat.rsplit_once(')')?.1;
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// Unix milliseconds as RFC 3339 (UTC), for listings.
pub fn format_ms(ms: u64) -> String {
    let nanos = i128::from(ms) * 1_000_000;
    time::OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .ok()
        .and_then(|t| t.replace_nanosecond(0).ok())
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| format!("{ms} ms"))
}
