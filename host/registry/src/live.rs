//! Modules that change while the worker runs.
//!
//! The modules directory says what should serve. A reload (file watcher, `SIGHUP`, or
//! `modules reload`) reads it, and every module whose manifest or component changed becomes a
//! candidate: compiled off the async workers, checked against the world and against the
//! version it would replace, and self-tested. Only then does one pointer switch: calls that
//! already hold the previous snapshot finish on it, new calls get the new one. Anything that
//! fails keeps the current version serving and is reported (log, counters, status file).
//!
//! Every version that goes live is kept by digest in a [`VersionStore`], so a harvest that
//! pinned a digest parses with that digest on retry, on any worker sharing the data directory,
//! even after a swap or a restart.

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Instant, UNIX_EPOCH};

use contextworker_runtime::Runtime;
use contextworker_types::{DataDir, Digest, ModuleName};
use serde::{Deserialize, Serialize};

use crate::registry::manifest_paths;
use crate::store::{VersionStore, now_ms, write_atomically};
use crate::{Module, Registry, RegistryError, run_self_tests};
use contextworker_manifest::Manifest;

/// Loaded versions that are no longer active, kept compiled for pinned retries.
const KEPT_LOADED: usize = 4;
/// Refusals remembered in the status.
const KEPT_REFUSALS: usize = 50;

/// One version, as listings name it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct VersionBrief {
    pub version: String,
    pub digest: Digest,
}

impl VersionBrief {
    fn of(module: &Module) -> Self {
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

/// What one reload did.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct ReloadReport {
    /// What asked for it: `start`, `watch`, `SIGHUP`, ...
    pub cause: String,
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

/// Refused inputs are remembered so that a broken file is reported once, not on every event.
type RefusalKey = (PathBuf, Option<Digest>, u64);

/// The modules of a running host, replaceable while it runs.
pub struct LiveModules {
    runtime: Arc<Runtime>,
    dir: PathBuf,
    only: Option<Vec<String>>,
    store: VersionStore,
    current: RwLock<Arc<Registry>>,
    /// Old versions still loaded, newest last.
    kept: Mutex<VecDeque<Arc<Module>>>,
    since: Mutex<BTreeMap<ModuleName, u64>>,
    status: Mutex<LiveStatus>,
    status_file: Option<PathBuf>,
    /// One reload at a time; holds what was refused so it is not reported again.
    reload_lock: tokio::sync::Mutex<BTreeMap<PathBuf, RefusalKey>>,
    last_reload_ms: Mutex<u64>,
    generation: tokio::sync::watch::Sender<u64>,
}

impl std::fmt::Debug for LiveModules {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveModules")
            .field("dir", &self.dir)
            .field("store", &self.store.dir())
            .finish_non_exhaustive()
    }
}

fn text_hash(text: &str) -> u64 {
    let d = Digest::of(text.as_bytes());
    let b = d.as_bytes();
    u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
}

fn mtime_ms(path: &Path) -> Option<u64> {
    let modified = std::fs::metadata(path).ok()?.modified().ok()?;
    let d = modified.duration_since(UNIX_EPOCH).ok()?;
    u64::try_from(d.as_millis()).ok()
}

impl LiveModules {
    /// Load the modules of `dir` (or only those named in `only`), keeping versions under
    /// `data_dir` and, with `publish`, writing this process's status there. Returns the
    /// modules and the first reload's report (what loaded and what was refused).
    pub async fn start(
        runtime: Arc<Runtime>,
        dir: &Path,
        only: Option<Vec<String>>,
        data_dir: &DataDir,
        publish: bool,
    ) -> Result<(Arc<Self>, ReloadReport), RegistryError> {
        // An unreadable directory is a setup error, reported before anything starts.
        manifest_paths(dir)?;
        let status_file = publish.then(|| {
            data_dir
                .worker_status()
                .join(format!("{}.json", std::process::id()))
        });
        let live = Arc::new(Self {
            runtime,
            dir: dir.to_path_buf(),
            only,
            store: VersionStore::new(data_dir.module_versions()),
            current: RwLock::new(Arc::new(Registry {
                dir: dir.to_path_buf(),
                ..Registry::default()
            })),
            kept: Mutex::new(VecDeque::new()),
            since: Mutex::new(BTreeMap::new()),
            status: Mutex::new(LiveStatus {
                pid: std::process::id(),
                process_start: process_start(std::process::id()),
                started_ms: now_ms(),
                ..LiveStatus::default()
            }),
            status_file,
            reload_lock: tokio::sync::Mutex::new(BTreeMap::new()),
            last_reload_ms: Mutex::new(0),
            generation: tokio::sync::watch::Sender::new(0),
        });
        let report = live.reload("start").await;
        Ok((live, report))
    }

    pub fn store(&self) -> &VersionStore {
        &self.store
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn runtime(&self) -> &Arc<Runtime> {
        &self.runtime
    }

    /// The modules as they are now. A call keeps the snapshot it started with.
    pub fn snapshot(&self) -> Arc<Registry> {
        self.current
            .read()
            .map(|r| Arc::clone(&r))
            .unwrap_or_else(|poisoned| Arc::clone(&poisoned.into_inner()))
    }

    pub fn get(&self, name: &str) -> Option<Arc<Module>> {
        self.snapshot().get(name)
    }

    /// A receiver that changes whenever a reload finishes.
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        self.generation.subscribe()
    }

    pub fn status(&self) -> LiveStatus {
        lock(&self.status).clone()
    }

    /// Version `digest` of module `name`: the active or staged one, a loaded old one, or one
    /// from the store (compiled again, usually from the compile cache).
    pub async fn version(&self, name: &str, digest: &Digest) -> Result<Arc<Module>, RegistryError> {
        let snapshot = self.snapshot();
        let matches =
            |m: &Arc<Module>| m.component.digest() == *digest && m.name().as_str() == name;
        if let Some(m) = snapshot.get(name).filter(matches) {
            return Ok(m);
        }
        if let Some(m) = snapshot.candidate(name).filter(matches) {
            return Ok(m);
        }
        if let Some(m) = lock(&self.kept).iter().find(|m| matches(m)) {
            return Ok(Arc::clone(m));
        }
        let record = self
            .store
            .get(digest)
            .filter(|r| r.name == name)
            .ok_or_else(|| RegistryError::VersionNotKept {
                name: name.to_owned(),
                digest: digest.to_string(),
                kept: self
                    .store
                    .history(name)
                    .iter()
                    .map(|r| r.digest.short())
                    .collect(),
            })?;
        let manifest = self
            .store
            .manifest(&record, self.runtime.config().max_memory_bytes)?;
        let module = Arc::new(Module::from_manifest(&self.runtime, manifest).await?);
        self.keep_loaded(Arc::clone(&module));
        Ok(module)
    }

    fn keep_loaded(&self, module: Arc<Module>) {
        let mut kept = lock(&self.kept);
        kept.retain(|m| m.component.digest() != module.component.digest());
        kept.push_back(module);
        while kept.len() > KEPT_LOADED {
            kept.pop_front();
        }
    }

    /// Read the directory again and switch every module that changed and passes validation.
    /// Never fails: what cannot be read or validated is refused and reported, and the current
    /// versions keep serving.
    pub async fn reload(&self, cause: &str) -> ReloadReport {
        let mut refused_before = self.reload_lock.lock().await;
        let started = Instant::now();
        let previous_reload_ms = *lock(&self.last_reload_ms);
        let mut report = ReloadReport {
            cause: cause.to_owned(),
            at_ms: now_ms(),
            ..ReloadReport::default()
        };
        let current = self.snapshot();
        let mut next = (*current).clone();
        let paths = match manifest_paths(&self.dir) {
            Ok(paths) => paths,
            Err(e) => {
                report.refused.push(Refusal {
                    module: None,
                    file: self.dir.clone(),
                    reason: e.to_string(),
                    at_ms: now_ms(),
                });
                Vec::new()
            }
        };
        let mut declared: BTreeMap<ModuleName, PathBuf> = BTreeMap::new();
        let mut unreadable: Vec<PathBuf> = Vec::new();
        for path in &paths {
            let manifest = match Manifest::read(path, self.runtime.config().max_memory_bytes) {
                Ok(m) => m,
                Err(e) => {
                    unreadable.push(path.clone());
                    let text = std::fs::read(path).unwrap_or_default();
                    let key = text_hash(&String::from_utf8_lossy(&text));
                    if refused_before.get(path) != Some(&(path.clone(), None, key)) {
                        self.refuse(
                            &mut report,
                            &mut refused_before,
                            path,
                            None,
                            None,
                            key,
                            &RegistryError::from(e),
                        );
                    }
                    continue;
                }
            };
            let name = manifest.name.clone();
            if self
                .only
                .as_ref()
                .is_some_and(|only| !only.iter().any(|n| n == name.as_str()))
            {
                continue;
            }
            if let Some(first) = declared.get(&name) {
                let e = RegistryError::Duplicate {
                    name: name.to_string(),
                    path: path.clone(),
                    first: first.clone(),
                };
                self.refuse(
                    &mut report,
                    &mut refused_before,
                    path,
                    Some(&name),
                    None,
                    0,
                    &e,
                );
                continue;
            }
            declared.insert(name.clone(), path.clone());
            self.consider(
                manifest,
                &current,
                &mut next,
                &mut report,
                &mut refused_before,
                previous_reload_ms,
            )
            .await;
        }
        if cause == "start" {
            for name in self.only.iter().flatten() {
                if !declared.keys().any(|n| n.as_str() == name) {
                    let e = RegistryError::NotFound {
                        name: name.clone(),
                        dir: self.dir.clone(),
                    };
                    report.refused.push(Refusal {
                        module: Some(name.clone()),
                        file: self.dir.clone(),
                        reason: e.to_string(),
                        at_ms: now_ms(),
                    });
                }
            }
        }
        // A module leaves only when no manifest declares it any more; one whose manifest is
        // merely broken right now keeps serving its last good version.
        let gone: Vec<ModuleName> = current
            .modules
            .iter()
            .filter(|(name, m)| {
                !declared.contains_key(*name) && !unreadable.contains(&m.manifest.path)
            })
            .map(|(name, _)| name.clone())
            .collect();
        for name in gone {
            if let Some(old) = next.modules.remove(&name) {
                self.keep_loaded(old);
            }
            next.candidates.remove(&name);
            tracing::warn!(module = %name, "module removed: its manifest left the directory");
            report.removed.push(name.to_string());
        }
        if report.changed() {
            let mut slot = self
                .current
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            *slot = Arc::new(next);
        }
        *lock(&self.last_reload_ms) = report.at_ms;
        report.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.prune_store(&report);
        self.publish(&report);
        report
    }

    /// Decide about one manifest found in the directory.
    async fn consider(
        &self,
        manifest: Manifest,
        current: &Registry,
        next: &mut Registry,
        report: &mut ReloadReport,
        refused_before: &mut BTreeMap<PathBuf, RefusalKey>,
        previous_reload_ms: u64,
    ) {
        let name = manifest.name.clone();
        let path = manifest.path.clone();
        let bytes = match tokio::fs::read(&manifest.component).await {
            Ok(b) => b,
            Err(_) => {
                let e = RegistryError::MissingComponent {
                    manifest: path.clone(),
                    component: manifest.component.clone(),
                };
                let key = text_hash(&manifest.text);
                self.refuse(report, refused_before, &path, Some(&name), None, key, &e);
                return;
            }
        };
        let digest = Digest::of(&bytes);
        let same = |m: &Arc<Module>| {
            m.component.digest() == digest
                && m.manifest.text == manifest.text
                && m.manifest.path == manifest.path
        };
        let active = current.modules.get(&name);
        if active.is_some_and(same) || current.candidates.get(&name).is_some_and(same) {
            return;
        }
        let key = (path.clone(), Some(digest), text_hash(&manifest.text));
        if refused_before.get(&path) == Some(&key) {
            return;
        }
        let landed = mtime_ms(&manifest.component).max(mtime_ms(&path));
        let mut active = active.cloned();
        if active.is_none() && manifest.shadow {
            // After a restart the directory holds the staged candidate: the version to serve
            // is the one that was active before, from the store.
            active = self.restore_previous(&name, &digest).await;
            if let Some(restored) = &active {
                next.modules.insert(name.clone(), Arc::clone(restored));
                lock(&self.since).insert(name.clone(), now_ms());
                report.swapped.push(Swap {
                    module: name.to_string(),
                    from: None,
                    to: VersionBrief::of(restored),
                    landed_to_live_ms: None,
                });
            }
        }
        let kept_bytes = bytes.clone();
        let module = match self.validate(manifest, bytes, active.as_deref()).await {
            Ok(m) => Arc::new(m),
            Err(e) => {
                self.refuse(
                    report,
                    refused_before,
                    &path,
                    Some(&name),
                    Some(digest),
                    key.2,
                    &e,
                );
                if active.is_none() {
                    // A worker (re)starting on a directory that holds a refused version
                    // serves the last version that was live instead, as a running one would.
                    if let Some(previous) = self.restore_previous(&name, &digest).await {
                        tracing::warn!(module = %name, version = %VersionBrief::of(&previous), "serving the last live version instead");
                        lock(&self.since).insert(name.clone(), now_ms());
                        report.swapped.push(Swap {
                            module: name.to_string(),
                            from: None,
                            to: VersionBrief::of(&previous),
                            landed_to_live_ms: None,
                        });
                        next.modules.insert(name, previous);
                    }
                }
                return;
            }
        };
        refused_before.remove(&path);
        let brief = VersionBrief::of(&module);
        let from = active.as_deref().map(VersionBrief::of);
        let stage = module.manifest.shadow && from.as_ref().is_some_and(|f| f.digest != digest);
        if let Err(e) = self
            .store
            .keep(&module.manifest, digest, &kept_bytes, !stage)
        {
            tracing::warn!("module {name}: version not kept: {e}");
        }
        // Timed only for a file that landed since the last reload: at start, or for a file
        // restored from long ago, the figure would mean nothing.
        let landed_to_live_ms = landed
            .filter(|t| previous_reload_ms > 0 && *t >= previous_reload_ms)
            .map(|t| now_ms().saturating_sub(t));
        let swap = Swap {
            module: name.to_string(),
            from,
            to: brief,
            landed_to_live_ms,
        };
        if stage {
            tracing::info!(module = %name, candidate = %swap.to, active = ?swap.from.as_ref().map(ToString::to_string), "shadow candidate staged: real parses run on both versions");
            next.candidates.insert(name, module);
            report.staged.push(swap);
        } else {
            tracing::info!(
                module = %name,
                from = swap.from.as_ref().map_or_else(|| "-".to_owned(), ToString::to_string),
                to = %swap.to,
                landed_to_live_ms = swap.landed_to_live_ms.map_or_else(|| "-".to_owned(), |ms| ms.to_string()),
                "module version live"
            );
            if let Some(old) = next.modules.insert(name.clone(), module) {
                self.keep_loaded(old);
            }
            next.candidates.remove(&name);
            lock(&self.since).insert(name, now_ms());
            report.swapped.push(swap);
        }
    }

    /// The most recently active kept version of `name` other than `not`, loaded.
    async fn restore_previous(&self, name: &ModuleName, not: &Digest) -> Option<Arc<Module>> {
        let record = self
            .store
            .history(name.as_str())
            .into_iter()
            .find(|r| r.last_active_ms > 0 && r.digest != *not)?;
        match self.version(name.as_str(), &record.digest).await {
            Ok(m) => Some(m),
            Err(e) => {
                tracing::warn!(
                    "module {name}: previous version {} cannot be restored: {e}",
                    record.digest.short()
                );
                None
            }
        }
    }

    /// Everything a candidate must pass before it may serve.
    async fn validate(
        &self,
        manifest: Manifest,
        bytes: Vec<u8>,
        active: Option<&Module>,
    ) -> Result<Module, RegistryError> {
        if let Some(active) = active {
            check_compatible(&manifest, active, |d| self.store.get(d).is_some(), &bytes)?;
        }
        let path = manifest.path.clone();
        let component = self
            .runtime
            .load(
                &manifest.component.display().to_string(),
                bytes,
                manifest.world,
                manifest.metering,
            )
            .await
            .map_err(|source| RegistryError::Load {
                manifest: path.clone(),
                source,
            })?;
        let module = Module {
            manifest: Arc::new(manifest),
            component,
        };
        for outcome in run_self_tests(&self.runtime, &module).await {
            if let Err(reason) = outcome.result {
                return Err(RegistryError::SelfTestFailed {
                    manifest: path,
                    input: outcome.input,
                    reason,
                });
            }
        }
        Ok(module)
    }

    #[allow(clippy::too_many_arguments)]
    fn refuse(
        &self,
        report: &mut ReloadReport,
        refused_before: &mut BTreeMap<PathBuf, RefusalKey>,
        path: &Path,
        module: Option<&ModuleName>,
        digest: Option<Digest>,
        text_key: u64,
        error: &RegistryError,
    ) {
        let key = (path.to_path_buf(), digest, text_key);
        refused_before.insert(path.to_path_buf(), key);
        tracing::error!(
            module = module.map_or("", ModuleName::as_str),
            file = %path.display(),
            "module version refused, the current version keeps serving: {error}"
        );
        report.refused.push(Refusal {
            module: module.map(ToString::to_string),
            file: path.to_path_buf(),
            reason: error.to_string(),
            at_ms: now_ms(),
        });
    }

    /// Drop old kept versions of the modules this reload changed (only they gained one).
    fn prune_store(&self, report: &ReloadReport) {
        let changed: Vec<&str> = report
            .swapped
            .iter()
            .chain(&report.staged)
            .map(|s| s.module.as_str())
            .collect();
        if changed.is_empty() {
            return;
        }
        let snapshot = self.snapshot();
        let protect: Vec<Digest> = snapshot
            .modules()
            .chain(snapshot.candidates())
            .map(|m| m.component.digest())
            .chain(lock(&self.kept).iter().map(|m| m.component.digest()))
            .collect();
        for name in changed {
            self.store.prune(name, &protect);
        }
    }

    fn publish(&self, report: &ReloadReport) {
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
            if report.cause != "start" {
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

/// A candidate may replace `active` unless it breaks what callers rely on: a different world
/// (a different export) needs a new major version, and a lower version is a rollback, which
/// only a version kept by the store may be.
fn check_compatible(
    candidate: &Manifest,
    active: &Module,
    is_kept: impl Fn(&Digest) -> bool,
    bytes: &[u8],
) -> Result<(), RegistryError> {
    let old = &active.manifest;
    let incompatible = |reason: String| RegistryError::Incompatible {
        manifest: candidate.path.clone(),
        reason,
    };
    if candidate.world != old.world && candidate.version.major <= old.version.major {
        return Err(incompatible(format!(
            "it changes the module's world from {} to {} without a new major version ({} → {}); callers of `{}` expect the {} interface. Bump the major version to make a breaking change",
            old.world, candidate.world, old.version, candidate.version, old.name, old.world
        )));
    }
    if candidate.version < old.version && !is_kept(&Digest::of(bytes)) {
        return Err(incompatible(format!(
            "its version {} is lower than the active {}; to go back to an earlier version use `contextworker-host modules rollback {}`",
            candidate.version, old.version, old.name
        )));
    }
    Ok(())
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
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
