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
//! pinned a digest parses with that digest on retry, on any worker sharing the data directory
//! or, in a fleet, on any host sharing the bucket, even after a swap or a restart.

mod candidate;
mod compat;
mod follow;
mod reload;
mod status;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::UNIX_EPOCH;

use contextworker_runtime::Runtime;
use contextworker_storage::NamedObjects;
use contextworker_types::{DataDir, Digest, ModuleName};

use crate::scan::manifest_paths;
use crate::store::{VersionStore, now_ms};
use crate::{Module, Registry, RegistryError};

pub use compat::check_compatible;
pub use follow::FollowedVersion;
pub use status::{
    ActiveModule, Counters, LiveStatus, Refusal, ReloadCause, ReloadReport, Swap, VersionBrief,
    format_ms, process_start, running_workers,
};

/// Loaded versions that are no longer active, kept compiled for pinned retries.
const KEPT_LOADED: usize = 4;
/// Refusals remembered in the status.
const KEPT_REFUSALS: usize = 50;

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
    /// In a fleet, the version each released module must serve, whatever the directory holds.
    releases: Mutex<BTreeMap<ModuleName, Digest>>,
    /// Versions known to be in the fleet's store, so a pin does not ask the bucket each time.
    shared_known: Mutex<BTreeSet<Digest>>,
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
    /// `data_dir` (and in `shared`, the fleet's folder for them, when there is one) and, with
    /// `publish`, writing this process's status there. Returns the modules and the first
    /// reload's report (what loaded and what was refused).
    pub async fn start(
        runtime: Arc<Runtime>,
        dir: &Path,
        only: Option<Vec<String>>,
        data_dir: &DataDir,
        shared: Option<NamedObjects>,
        publish: bool,
    ) -> Result<(Arc<Self>, ReloadReport), RegistryError> {
        let mut store = VersionStore::new(data_dir.module_versions());
        if let Some(shared) = shared {
            store = store.with_shared(shared);
        }
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
            store,
            current: RwLock::new(Arc::new(Registry {
                dir: dir.to_path_buf(),
                ..Registry::default()
            })),
            kept: Mutex::new(VecDeque::new()),
            shared_known: Mutex::new(BTreeSet::new()),
            releases: Mutex::new(BTreeMap::new()),
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
        let report = live.reload(ReloadCause::Start).await;
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
    /// from the store, this host's or the fleet's (compiled again, usually from the compile
    /// cache).
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
        let max_component_bytes = self.runtime.config().max_component_bytes;
        let record = self
            .store
            .fetch(name, digest, max_component_bytes)
            .await?
            .ok_or_else(|| RegistryError::VersionNotKept {
                name: name.to_owned(),
                digest: digest.to_string(),
                kept: self
                    .store
                    .history(name)
                    .iter()
                    .map(|r| r.digest.short())
                    .collect(),
                shared: self.store.is_shared(),
            })?;
        let manifest = self
            .store
            .manifest(&record, self.runtime.config().max_memory_bytes)?;
        let module = Arc::new(Module::from_manifest(&self.runtime, manifest).await?);
        self.keep_loaded(Arc::clone(&module));
        Ok(module)
    }

    /// The fleet's releases: from the next reload on, each module named here serves the version
    /// given (from the version store, this host's or the fleet's), validated like any other
    /// candidate, and the modules directory's file for it is not read. Modules not named keep
    /// following the directory.
    pub fn set_releases(&self, releases: BTreeMap<ModuleName, Digest>) {
        *lock(&self.releases) = releases;
    }

    /// Make sure every host of the fleet can load `module`'s version before a harvest pins it
    /// (a no-op without a shared store, and after the first success for a version).
    pub async fn ensure_shared(&self, module: &Module) -> Result<(), RegistryError> {
        let digest = module.component.digest();
        if !self.store.is_shared() || lock(&self.shared_known).contains(&digest) {
            return Ok(());
        }
        self.store.ensure_shared(&digest).await?;
        lock(&self.shared_known).insert(digest);
        Ok(())
    }

    fn keep_loaded(&self, module: Arc<Module>) {
        let mut kept = lock(&self.kept);
        kept.retain(|m| m.component.digest() != module.component.digest());
        kept.push_back(module);
        while kept.len() > KEPT_LOADED {
            kept.pop_front();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
