//! Discovery of a modules directory and the set of loaded modules.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use contextworker_runtime::{CallSpec, Capabilities, LoadedComponent, Runtime};
use contextworker_types::{ModuleName, World};

use crate::RegistryError;
use crate::scan::scan;
use contextworker_manifest::{Detected, FeedHead, Manifest, detect};

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
            .load_file_granted(
                &manifest.component,
                manifest.world,
                manifest.metering,
                capabilities(&manifest),
            )
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

/// What a manifest grants the component beyond the sandbox.
pub(crate) fn capabilities(manifest: &Manifest) -> Capabilities<'_> {
    Capabilities {
        module: manifest.name.as_str(),
        http: manifest.http.as_ref(),
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
        let scan = scan(dir, only, runtime.config().max_memory_bytes)?;
        let mut registry = Registry {
            dir: dir.to_path_buf(),
            ..Registry::default()
        };
        let mut failures: Vec<RegistryError> = scan.refused.into_iter().map(|r| r.error).collect();
        for manifest in scan.manifests {
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
        failures.extend(
            scan.missing
                .into_iter()
                .map(|name| RegistryError::NotFound {
                    name,
                    dir: dir.to_path_buf(),
                }),
        );
        for failure in &failures {
            tracing::error!("module refused: {failure}");
        }
        Ok(Discovery { registry, failures })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn get(&self, name: &str) -> Option<Arc<Module>> {
        find(&self.modules, name)
    }

    pub fn modules(&self) -> impl Iterator<Item = &Arc<Module>> {
        self.modules.values()
    }

    /// The shadow candidate staged for `name`, if any.
    pub fn candidate(&self, name: &str) -> Option<Arc<Module>> {
        find(&self.candidates, name)
    }

    pub fn candidates(&self) -> impl Iterator<Item = &Arc<Module>> {
        self.candidates.values()
    }

    pub fn len(&self) -> usize {
        self.modules.len()
    }

    /// The active transformer whose manifest's `[detect]` recognises a feed starting with
    /// `head`. The host names no module: each declares its own signs.
    pub fn detect(&self, head: &[u8]) -> Detected<Arc<Module>> {
        let head = FeedHead::new(head);
        detect(
            &head,
            self.modules
                .values()
                .filter(|m| m.manifest.world == World::Transformer)
                .filter_map(|m| Some((Arc::clone(m), m.manifest.detect.as_ref()?))),
        )
    }

    pub fn is_empty(&self) -> bool {
        self.modules.is_empty()
    }
}

/// The module called `name`: by text, since callers hold names that were never validated.
fn find(modules: &BTreeMap<ModuleName, Arc<Module>>, name: &str) -> Option<Arc<Module>> {
    modules
        .iter()
        .find(|(n, _)| n.as_str() == name)
        .map(|(_, m)| Arc::clone(m))
}
