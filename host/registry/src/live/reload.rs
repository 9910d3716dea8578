//! A reload: read the modules directory, validate every changed module off the async workers,
//! switch what passed in one step, refuse the rest, keep the store pruned.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use contextworker_manifest::Manifest;
use contextworker_types::{Digest, ModuleName};

use super::{
    LiveModules, Refusal, RefusalKey, ReloadCause, ReloadReport, Swap, VersionBrief, lock,
    mtime_ms, text_hash,
};
use crate::scan::{Scan, scan};
use crate::store::now_ms;
use crate::{Module, Registry, RegistryError};

impl LiveModules {
    /// Read the directory again and switch every module that changed and passes validation.
    /// Never fails: what cannot be read or validated is refused and reported, and the current
    /// versions keep serving.
    pub async fn reload(&self, cause: ReloadCause) -> ReloadReport {
        let mut refused_before = self.reload_lock.lock().await;
        let started = Instant::now();
        let current = self.snapshot();
        let mut pass = Pass {
            current: &current,
            next: (*current).clone(),
            report: ReloadReport {
                cause,
                at_ms: now_ms(),
                ..ReloadReport::default()
            },
            refused_before: &mut refused_before,
            previous_reload_ms: *lock(&self.last_reload_ms),
        };
        let (scan, readable) = match scan(
            &self.dir,
            self.only.as_deref(),
            self.runtime.config().max_memory_bytes,
        ) {
            Ok(scan) => (scan, true),
            Err(e) => {
                pass.report.refused.push(Refusal {
                    module: None,
                    file: self.dir.clone(),
                    reason: e.to_string(),
                    at_ms: now_ms(),
                });
                (Scan::default(), false)
            }
        };
        for refused in &scan.refused {
            // An unreadable manifest is reported again only when its text changes; a
            // duplicate declaration on every reload, until one of the two goes.
            let unreadable = refused.module.is_none();
            let text_key = if unreadable {
                text_hash(&String::from_utf8_lossy(
                    &std::fs::read(&refused.path).unwrap_or_default(),
                ))
            } else {
                0
            };
            let key = (refused.path.clone(), None, text_key);
            if !unreadable || pass.refused_before.get(&refused.path) != Some(&key) {
                let module = refused.module.as_ref();
                pass.refuse(&refused.path, module, None, text_key, &refused.error);
            }
        }
        let releases = lock(&self.releases).clone();
        let mut declared: Vec<(ModuleName, PathBuf)> = scan
            .manifests
            .iter()
            .map(|m| (m.name.clone(), m.path.clone()))
            .collect();
        for (name, digest) in &releases {
            if self
                .only
                .as_ref()
                .is_some_and(|only| !only.iter().any(|o| o == name.as_str()))
            {
                continue;
            }
            declared.push((name.clone(), self.store.dir().to_path_buf()));
            match self.released_manifest(name, digest).await {
                Ok(manifest) => self.consider(&mut pass, manifest).await,
                Err(e) => {
                    let file = self.store.dir().join(format!("{}.json", digest.hex()));
                    let key = text_hash(&e.to_string());
                    let before = pass.refused_before.get(&file);
                    if before != Some(&(file.clone(), Some(*digest), key)) {
                        pass.refuse(&file, Some(name), Some(*digest), key, &e);
                    }
                }
            }
        }
        // A released module's file in the directory is not what serves it.
        let manifests = scan
            .manifests
            .into_iter()
            .filter(|m| !releases.contains_key(&m.name));
        for manifest in manifests {
            self.consider(&mut pass, manifest).await;
        }
        if cause == ReloadCause::Start {
            for name in scan.missing {
                let e = RegistryError::NotFound {
                    name: name.clone(),
                    dir: self.dir.clone(),
                };
                pass.report.refused.push(Refusal {
                    module: Some(name),
                    file: self.dir.clone(),
                    reason: e.to_string(),
                    at_ms: now_ms(),
                });
            }
        }
        // A module leaves only when no manifest declares it any more; one whose manifest is
        // merely broken right now, or whose directory cannot be read, keeps serving its last
        // good version.
        let gone: Vec<ModuleName> = current
            .modules
            .iter()
            .filter(|_| readable)
            .filter(|(name, m)| {
                !declared.iter().any(|(n, _)| n == *name)
                    && !scan.unreadable.contains(&m.manifest.path)
            })
            .map(|(name, _)| name.clone())
            .collect();
        let Pass {
            mut next,
            mut report,
            ..
        } = pass;
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
        self.observe(&report);
        report
    }

    /// Count the reload in the metrics and point each module's info series at its live version.
    fn observe(&self, report: &ReloadReport) {
        let metrics = contextworker_metrics::metrics();
        metrics.reload(report.cause.as_str());
        for _ in &report.refused {
            metrics.refused_module();
        }
        for swap in &report.swapped {
            metrics.swapped(&swap.module);
        }
        for name in &report.removed {
            metrics.clear_active(name);
        }
        for module in self.snapshot().modules() {
            metrics.set_active(
                module.name().as_str(),
                &module.manifest.version.to_string(),
                module.component.world(),
                &module.component.digest().to_string(),
            );
        }
    }

    /// Decide about one manifest found in the directory.
    async fn consider(&self, pass: &mut Pass<'_>, manifest: Manifest) {
        let name = manifest.name.clone();
        let path = manifest.path.clone();
        let bytes = match tokio::fs::read(&manifest.component).await {
            Ok(b) => b,
            Err(_) => {
                let e = RegistryError::MissingComponent {
                    manifest: path.clone(),
                    component: manifest.component.clone(),
                };
                pass.refuse(&path, Some(&name), None, text_hash(&manifest.text), &e);
                return;
            }
        };
        let digest = Digest::of(&bytes);
        let same = |m: &Arc<Module>| {
            m.component.digest() == digest
                && m.manifest.text == manifest.text
                && m.manifest.path == manifest.path
        };
        let current = pass.current;
        let active = current.modules.get(&name);
        if active.is_some_and(same) || current.candidates.get(&name).is_some_and(same) {
            return;
        }
        let key = (path.clone(), Some(digest), text_hash(&manifest.text));
        if pass.refused_before.get(&path) == Some(&key) {
            return;
        }
        let landed = mtime_ms(&manifest.component).max(mtime_ms(&path));
        let mut active = active.cloned();
        if active.is_none() && manifest.shadow {
            // After a restart the directory holds the staged candidate: the version to serve
            // is the one that was active before, from the store.
            active = self.restore_previous(&name, &digest).await;
            if let Some(restored) = &active {
                self.serve_restored(pass, &name, Arc::clone(restored));
            }
        }
        let kept_bytes = bytes.clone();
        let module = match self.validate(manifest, bytes, active.as_deref()).await {
            Ok(m) => Arc::new(m),
            Err(e) => {
                pass.refuse(&path, Some(&name), Some(digest), key.2, &e);
                if active.is_none() {
                    // A worker (re)starting on a directory that holds a refused version
                    // serves the last version that was live instead, as a running one would.
                    if let Some(previous) = self.restore_previous(&name, &digest).await {
                        tracing::warn!(module = %name, version = %VersionBrief::of(&previous), "serving the last live version instead");
                        self.serve_restored(pass, &name, previous);
                    }
                }
                return;
            }
        };
        pass.refused_before.remove(&path);
        let brief = VersionBrief::of(&module);
        let from = active.as_deref().map(VersionBrief::of);
        let stage = module.manifest.shadow && from.as_ref().is_some_and(|f| f.digest != digest);
        match self
            .store
            .keep(&module.manifest, digest, &kept_bytes, !stage)
        {
            Ok(record) => {
                // A version the fleet cannot find only costs a pinned retry on another host
                // (it fails as not kept); serving it here is still right.
                // Not fatal here: the version serves on this host, and a harvest pins it only
                // after `ensure_shared` has succeeded.
                match self.store.share(&record, &kept_bytes).await {
                    Ok(()) if self.store.is_shared() => {
                        lock(&self.shared_known).insert(digest);
                    }
                    Ok(()) => {}
                    Err(e) => {
                        tracing::warn!("module {name}: version not shared with the fleet: {e}");
                    }
                }
            }
            Err(e) => tracing::warn!("module {name}: version not kept: {e}"),
        }
        // Timed only for a file that landed since the last reload: at start, or for a file
        // restored from long ago, the figure would mean nothing.
        let landed_to_live_ms = landed
            .filter(|t| pass.previous_reload_ms > 0 && *t >= pass.previous_reload_ms)
            .map(|t| now_ms().saturating_sub(t));
        let swap = Swap {
            module: name.to_string(),
            from,
            to: brief,
            landed_to_live_ms,
        };
        if stage {
            tracing::info!(module = %name, candidate = %swap.to, active = ?swap.from.as_ref().map(ToString::to_string), "shadow candidate staged: real parses run on both versions");
            pass.next.candidates.insert(name, module);
            pass.report.staged.push(swap);
        } else {
            tracing::info!(
                module = %name,
                from = swap.from.as_ref().map_or_else(|| "-".to_owned(), ToString::to_string),
                to = %swap.to,
                landed_to_live_ms = swap.landed_to_live_ms.map_or_else(|| "-".to_owned(), |ms| ms.to_string()),
                "module version live"
            );
            if let Some(old) = pass.next.modules.insert(name.clone(), module) {
                self.keep_loaded(old);
            }
            pass.next.candidates.remove(&name);
            lock(&self.since).insert(name, now_ms());
            pass.report.swapped.push(swap);
        }
    }

    /// Serve `module`, a version restored from the store, as `name`'s active one.
    fn serve_restored(&self, pass: &mut Pass<'_>, name: &ModuleName, module: Arc<Module>) {
        lock(&self.since).insert(name.clone(), now_ms());
        pass.report.swapped.push(Swap {
            module: name.to_string(),
            from: None,
            to: VersionBrief::of(&module),
            landed_to_live_ms: None,
        });
        pass.next.modules.insert(name.clone(), module);
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
}

/// What one reload builds: the next registry and the report, against the registry serving.
struct Pass<'a> {
    current: &'a Registry,
    next: Registry,
    report: ReloadReport,
    /// Refusals already reported, kept across reloads so they are not reported again.
    refused_before: &'a mut BTreeMap<PathBuf, RefusalKey>,
    previous_reload_ms: u64,
}

impl Pass<'_> {
    /// Refuse a version; the same file, version and text are then not reported again.
    fn refuse(
        &mut self,
        path: &Path,
        module: Option<&ModuleName>,
        digest: Option<Digest>,
        text_key: u64,
        error: &RegistryError,
    ) {
        let key = (path.to_path_buf(), digest, text_key);
        self.refused_before.insert(path.to_path_buf(), key);
        tracing::error!(
            module = module.map_or("", ModuleName::as_str),
            file = %path.display(),
            "module version refused, the current version keeps serving: {error}"
        );
        self.report.refused.push(Refusal {
            module: module.map(ToString::to_string),
            file: path.to_path_buf(),
            reason: error.to_string(),
            at_ms: now_ms(),
        });
    }
}
