//! Where a version comes from before it may serve: the fleet's release, the store's last live
//! version, and the checks a candidate must pass.

use std::sync::Arc;

use contextworker_manifest::Manifest;
use contextworker_types::{Digest, ModuleName};

use super::LiveModules;
use super::compat::check_compatible;
use crate::{Module, RegistryError, run_self_tests};

impl LiveModules {
    /// The manifest of released version `digest` of `name`, its component and self-test
    /// inputs in the version store (downloaded from the fleet's store when not kept here).
    pub(super) async fn released_manifest(
        &self,
        name: &ModuleName,
        digest: &Digest,
    ) -> Result<Manifest, RegistryError> {
        let config = self.runtime.config();
        let record = self
            .store
            .fetch(name.as_str(), digest, config.max_component_bytes)
            .await?
            .ok_or_else(|| RegistryError::VersionNotKept {
                name: name.to_string(),
                digest: digest.to_string(),
                kept: Vec::new(),
                shared: self.store.is_shared(),
            })?;
        self.store.manifest(&record, config.max_memory_bytes)
    }

    /// The most recently active kept version of `name` other than `not`, loaded.
    pub(super) async fn restore_previous(
        &self,
        name: &ModuleName,
        not: &Digest,
    ) -> Option<Arc<Module>> {
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
    pub(super) async fn validate(
        &self,
        manifest: Manifest,
        bytes: Vec<u8>,
        active: Option<&Module>,
    ) -> Result<Module, RegistryError> {
        if let Some(active) = active {
            check_compatible(
                &manifest,
                &active.manifest,
                |d| self.store.get(d).is_some(),
                &bytes,
            )?;
        }
        let path = manifest.path.clone();
        let component = self
            .runtime
            .load_granted(
                &manifest.component.display().to_string(),
                bytes,
                manifest.world,
                manifest.metering,
                crate::registry::capabilities(&manifest),
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
}
