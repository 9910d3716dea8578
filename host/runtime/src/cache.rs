//! The on-disk cache of compiled components, so a restart does not recompile.
//!
//! Artifacts are machine code that wasmtime maps and runs without re-validating it, so
//! deserializing one is only sound for bytes this host wrote itself (wasmtime
//! `Component::deserialize` safety docs). The cache therefore lives in a directory the host
//! creates with mode 0700, refuses a directory that others can write to, names each file by
//! the engine's settings and the component's sha256, and writes by temp file + rename so a
//! crash never leaves a half-written artifact behind.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use contextworker_types::Digest;
use wasmtime::component::Component;

use crate::error::LoadError;

#[derive(Debug, Clone)]
pub(crate) struct ArtifactCache {
    root: PathBuf,
}

impl ArtifactCache {
    pub(crate) fn open(root: &Path) -> Result<Self, LoadError> {
        let cache_error = |reason: String| LoadError::Cache {
            path: root.to_path_buf(),
            reason,
        };
        fs::create_dir_all(root).map_err(|e| cache_error(format!("cannot create it: {e}")))?;
        restrict_permissions(root)
            .map_err(|e| cache_error(format!("cannot set its permissions: {e}")))?;
        check_private(root).map_err(cache_error)?;
        Ok(Self {
            root: root.to_path_buf(),
        })
    }

    fn path_for(&self, engine_key: &str, digest: &Digest) -> PathBuf {
        self.root
            .join(engine_key)
            .join(format!("{}.cwasm", digest.hex()))
    }

    /// A component compiled earlier for this engine, if the cache has it.
    pub(crate) fn load(
        &self,
        engine: &wasmtime::Engine,
        engine_key: &str,
        digest: &Digest,
    ) -> Option<Component> {
        let path = self.path_for(engine_key, digest);
        if !path.is_file() {
            return None;
        }
        // SAFETY: the file is in our private cache directory (checked at open), was written by
        // `store` below from `Component::serialize` of an engine with the same settings
        // (the engine key is part of the path), and wasmtime additionally checks the header's
        // engine compatibility before mapping it.
        #[allow(unsafe_code)]
        let loaded = unsafe { Component::deserialize_file(engine, &path) };
        match loaded {
            Ok(component) => Some(component),
            Err(e) => {
                tracing::warn!(path = %path.display(), "discarding an unusable cached artifact: {e:#}");
                let _ = fs::remove_file(&path);
                None
            }
        }
    }

    /// Save a freshly compiled component. Failure only costs a recompile next time.
    pub(crate) fn store(&self, engine_key: &str, digest: &Digest, component: &Component) {
        if let Err(e) = self.try_store(engine_key, digest, component) {
            tracing::warn!(cache = %self.root.display(), "cannot cache a compiled component: {e}");
        }
    }

    fn try_store(
        &self,
        engine_key: &str,
        digest: &Digest,
        component: &Component,
    ) -> std::io::Result<()> {
        let bytes = component.serialize().map_err(std::io::Error::other)?;
        let path = self.path_for(engine_key, digest);
        let dir = path.parent().unwrap_or(&self.root);
        fs::create_dir_all(dir)?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
        tmp.write_all(&bytes)?;
        tmp.as_file().sync_all()?;
        tmp.persist(&path).map_err(|e| e.error)?;
        Ok(())
    }
}

#[cfg(unix)]
fn restrict_permissions(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
}

#[cfg(not(unix))]
fn restrict_permissions(_dir: &Path) -> std::io::Result<()> {
    Ok(())
}

#[cfg(unix)]
fn check_private(dir: &Path) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    let meta = fs::metadata(dir).map_err(|e| e.to_string())?;
    // SAFETY-free check: compare with the owner of a file we just created.
    let probe = tempfile::tempfile_in(dir).map_err(|e| format!("not writable: {e}"))?;
    let uid = probe.metadata().map_err(|e| e.to_string())?.uid();
    if meta.uid() != uid {
        return Err(format!(
            "owned by uid {} rather than this process's uid {uid}",
            meta.uid()
        ));
    }
    if meta.mode() & 0o022 != 0 {
        return Err(format!(
            "writable by group or others (mode {:o}); compiled code there cannot be trusted",
            meta.mode() & 0o777
        ));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_dir: &Path) -> Result<(), String> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_a_world_writable_directory() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let cache_dir = dir.path().join("cache");
        ArtifactCache::open(&cache_dir).expect("a fresh directory is accepted");
        // open() tightens permissions it created; a directory loosened afterwards is refused.
        fs::set_permissions(&cache_dir, fs::Permissions::from_mode(0o777)).expect("chmod");
        let err = check_private(&cache_dir).expect_err("must refuse");
        assert!(err.contains("writable by group or others"), "{err}");
    }
}
