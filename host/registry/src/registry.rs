//! Discovery of a modules directory and the set of loaded modules.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use contextworker_runtime::{CallSpec, LoadedComponent, Runtime};
use contextworker_types::ModuleName;

use crate::RegistryError;
use contextworker_manifest::{MANIFEST_FILE, Manifest};

/// A module ready to call: its manifest and its loaded component.
#[derive(Debug)]
pub struct Module {
    pub manifest: Arc<Manifest>,
    pub component: Arc<LoadedComponent>,
}

impl Module {
    pub fn name(&self) -> &ModuleName {
        &self.manifest.name
    }

    /// A call budget and configuration from the manifest, with `config` overriding its defaults.
    pub fn call_spec(&self, config: &[(String, String)]) -> CallSpec {
        CallSpec::new(
            self.manifest.name.as_str(),
            self.manifest.version.to_string(),
            self.manifest.limits.clone(),
        )
        .with_config(self.manifest.config_with(config))
    }

    /// Load the module described by the manifest at `path`.
    pub async fn load(runtime: &Runtime, path: &Path) -> Result<Self, RegistryError> {
        let manifest = Manifest::read(path, runtime.config().max_memory_bytes)?;
        Self::from_manifest(runtime, manifest).await
    }

    pub async fn from_manifest(
        runtime: &Runtime,
        manifest: Manifest,
    ) -> Result<Self, RegistryError> {
        if !manifest.component.is_file() {
            return Err(RegistryError::MissingComponent {
                manifest: manifest.path.clone(),
                component: manifest.component.clone(),
            });
        }
        let component = runtime
            .load_file(&manifest.component, manifest.world, manifest.metering)
            .await
            .map_err(|source| RegistryError::Load {
                manifest: manifest.path.clone(),
                source,
            })?;
        Ok(Self {
            manifest: Arc::new(manifest),
            component,
        })
    }
}

/// The modules of one directory that loaded: a snapshot. A call keeps the snapshot it
/// started with, so a swap never changes the version under a running call.
#[derive(Debug, Default, Clone)]
pub struct Registry {
    pub(crate) dir: PathBuf,
    pub(crate) modules: BTreeMap<ModuleName, Arc<Module>>,
    /// Versions staged next to the active one for shadow runs (`[rollout] shadow = true`).
    pub(crate) candidates: BTreeMap<ModuleName, Arc<Module>>,
}

/// What discovery found: the modules that loaded and, for every one that did not, why.
#[derive(Debug)]
pub struct Discovery {
    pub registry: Registry,
    pub failures: Vec<RegistryError>,
}

impl Registry {
    /// Load every module under `dir` (each `dir/<module>/module.toml`), or only those named in
    /// `only`. A broken module is reported in `failures` and the others still load; only an
    /// unreadable directory is an error.
    pub async fn discover(
        runtime: &Runtime,
        dir: &Path,
        only: Option<&[String]>,
    ) -> Result<Discovery, RegistryError> {
        let manifests = manifest_paths(dir)?;
        let mut registry = Registry {
            dir: dir.to_path_buf(),
            ..Registry::default()
        };
        let mut failures = Vec::new();
        let mut first_seen: BTreeMap<ModuleName, PathBuf> = BTreeMap::new();
        for path in manifests {
            let manifest = match Manifest::read(&path, runtime.config().max_memory_bytes) {
                Ok(m) => m,
                Err(e) => {
                    // With a selection, a manifest we cannot read matters only if its folder
                    // is named like a selected module (the usual layout): else it is noise.
                    let folder = path
                        .parent()
                        .and_then(Path::file_name)
                        .map(|f| f.to_string_lossy().into_owned());
                    if only.is_none_or(|names| folder.is_some_and(|f| names.contains(&f))) {
                        failures.push(e.into());
                    }
                    continue;
                }
            };
            if only.is_some_and(|names| !names.iter().any(|n| n == manifest.name.as_str())) {
                continue;
            }
            if let Some(first) = first_seen.get(&manifest.name) {
                failures.push(RegistryError::Duplicate {
                    name: manifest.name.to_string(),
                    path,
                    first: first.clone(),
                });
                continue;
            }
            first_seen.insert(manifest.name.clone(), path.clone());
            match Module::from_manifest(runtime, manifest).await {
                Ok(module) => {
                    let stats = module.component.stats();
                    tracing::info!(
                        module = %module.name(),
                        version = %module.manifest.version,
                        world = %module.manifest.world,
                        digest = %module.component.digest().short(),
                        load_ms = format!("{:.1}", stats.duration.as_secs_f64() * 1000.0),
                        compiled = if stats.from_cache { "cached" } else { "compiled" },
                        "module loaded"
                    );
                    registry
                        .modules
                        .insert(module.name().clone(), Arc::new(module));
                }
                Err(e) => failures.push(e),
            }
        }
        for name in only.unwrap_or_default() {
            if !first_seen.keys().any(|n| n.as_str() == name) {
                failures.push(RegistryError::NotFound {
                    name: name.clone(),
                    dir: dir.to_path_buf(),
                });
            }
        }
        for failure in &failures {
            tracing::error!("module refused: {failure}");
        }
        Ok(Discovery { registry, failures })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn get(&self, name: &str) -> Option<Arc<Module>> {
        self.modules
            .iter()
            .find(|(n, _)| n.as_str() == name)
            .map(|(_, m)| Arc::clone(m))
    }

    pub fn modules(&self) -> impl Iterator<Item = &Arc<Module>> {
        self.modules.values()
    }

    /// The shadow candidate staged for `name`, if any.
    pub fn candidate(&self, name: &str) -> Option<Arc<Module>> {
        self.candidates
            .iter()
            .find(|(n, _)| n.as_str() == name)
            .map(|(_, m)| Arc::clone(m))
    }

    pub fn candidates(&self) -> impl Iterator<Item = &Arc<Module>> {
        self.candidates.values()
    }

    pub fn len(&self) -> usize {
        self.modules.len()
    }

    pub fn is_empty(&self) -> bool {
        self.modules.is_empty()
    }
}

/// `dir/*/module.toml`, sorted so discovery order (and duplicate resolution) is stable.
/// Directories without a manifest (build folders, test guests) are skipped.
pub fn manifest_paths(dir: &Path) -> Result<Vec<PathBuf>, RegistryError> {
    let entries = std::fs::read_dir(dir).map_err(|source| RegistryError::Directory {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path().join(MANIFEST_FILE))
        .filter(|p| p.is_file())
        .collect();
    paths.sort();
    Ok(paths)
}
