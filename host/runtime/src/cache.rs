//! The on-disk cache of compiled components, so a restart does not recompile.
//!
//! Artifacts are machine code that wasmtime maps and runs without re-validating it, so
//! deserializing one is only sound for bytes this host wrote itself (wasmtime
//! `Component::deserialize` safety docs). The cache therefore lives in a directory the host
//! creates with mode 0700, refuses a directory that others can write to, names each file by
//! the engine's settings and the component's sha256, and writes by temp file + rename so a
//! crash never leaves a half-written artifact behind.
//!
//! The cache has a size cap: every submitted component that compiles leaves an artifact of a
//! few megabytes, so without one a stream of unique submissions would fill the disk. Past the
//! cap the least recently used artifacts go (a hit counts as a use); losing one only costs a
//! compile.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use contextworker_types::Digest;
use wasmtime::component::Component;

use crate::error::LoadError;

#[derive(Debug, Clone)]
pub(crate) struct ArtifactCache {
    root: PathBuf,
    max_bytes: u64,
}

/// What trimming the cache did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheReport {
    pub removed: u64,
    pub freed_bytes: u64,
    pub kept: u64,
    pub kept_bytes: u64,
}

impl ArtifactCache {
    pub(crate) fn open(root: &Path, max_bytes: u64) -> Result<Self, LoadError> {
        let cache_error = |reason: String| LoadError::Cache {
            path: root.to_path_buf(),
            reason,
        };
        fs::create_dir_all(root).map_err(|e| cache_error(format!("cannot create it: {e}")))?;
        restrict_permissions(root)
            .map_err(|e| cache_error(format!("cannot set its permissions: {e}")))?;
        check_private(root).map_err(|e| cache_error(e.to_string()))?;
        Ok(Self {
            root: root.to_path_buf(),
            max_bytes,
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
            Ok(component) => {
                // A hit is a use: trimming goes by the last write or hit.
                if let Ok(file) = fs::File::open(&path) {
                    let _ = file.set_modified(std::time::SystemTime::now());
                }
                Some(component)
            }
            Err(e) => {
                tracing::warn!(path = %path.display(), "discarding an unusable cached artifact: {e:#}");
                let _ = fs::remove_file(&path);
                None
            }
        }
    }

    /// Save a freshly compiled component, then trim the cache back under its cap (never the
    /// artifact just written). Failure only costs a recompile next time.
    pub(crate) fn store(&self, engine_key: &str, digest: &Digest, component: &Component) {
        match self.try_store(engine_key, digest, component) {
            Ok(path) => {
                let report = self.trim(self.max_bytes, Some(&path));
                if report.removed > 0 {
                    tracing::info!(
                        removed = report.removed,
                        freed_mb = report.freed_bytes >> 20,
                        "compile cache over its cap; least recently used artifacts removed"
                    );
                }
            }
            Err(e) => {
                tracing::warn!(cache = %self.root.display(), "cannot cache a compiled component: {e}");
            }
        }
    }

    /// Remove the least recently used artifacts until at most `target` bytes remain,
    /// sparing `keep`.
    pub(crate) fn trim(&self, target: u64, keep: Option<&Path>) -> CacheReport {
        let mut files: Vec<(PathBuf, u64, std::time::SystemTime)> = Vec::new();
        for engine_dir in fs::read_dir(&self.root).into_iter().flatten().flatten() {
            for entry in fs::read_dir(engine_dir.path())
                .into_iter()
                .flatten()
                .flatten()
            {
                let path = entry.path();
                if path.extension().is_some_and(|e| e == "cwasm")
                    && let Ok(meta) = entry.metadata()
                {
                    let used = meta.modified().unwrap_or(std::time::UNIX_EPOCH);
                    files.push((path, meta.len(), used));
                }
            }
        }
        files.sort_by_key(|f| f.2);
        let mut total: u64 = files.iter().map(|f| f.1).sum();
        let mut report = CacheReport::default();
        for (path, size, _) in files {
            if total > target && Some(path.as_path()) != keep && fs::remove_file(&path).is_ok() {
                total -= size;
                report.removed += 1;
                report.freed_bytes += size;
            } else {
                report.kept += 1;
                report.kept_bytes += size;
            }
        }
        report
    }

    fn try_store(
        &self,
        engine_key: &str,
        digest: &Digest,
        component: &Component,
    ) -> std::io::Result<PathBuf> {
        let bytes = component.serialize().map_err(std::io::Error::other)?;
        let path = self.path_for(engine_key, digest);
        let dir = path.parent().unwrap_or(&self.root);
        fs::create_dir_all(dir)?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
        tmp.write_all(&bytes)?;
        tmp.as_file().sync_all()?;
        tmp.persist(&path).map_err(|e| e.error)?;
        Ok(path)
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

/// Why the cache directory cannot hold code this host will run.
#[derive(Debug, thiserror::Error)]
#[cfg_attr(not(unix), allow(dead_code))]
enum NotPrivate {
    #[error("{0}")]
    Unreadable(std::io::Error),
    #[error("not writable: {0}")]
    NotWritable(std::io::Error),
    #[error("owned by uid {owner} rather than this process's uid {ours}")]
    Owner { owner: u32, ours: u32 },
    #[error("writable by group or others (mode {mode:o}); compiled code there cannot be trusted")]
    Shared { mode: u32 },
}

#[cfg(unix)]
fn check_private(dir: &Path) -> Result<(), NotPrivate> {
    use std::os::unix::fs::MetadataExt;
    let meta = fs::metadata(dir).map_err(NotPrivate::Unreadable)?;
    // SAFETY-free check: compare with the owner of a file we just created.
    let probe = tempfile::tempfile_in(dir).map_err(NotPrivate::NotWritable)?;
    let ours = probe.metadata().map_err(NotPrivate::Unreadable)?.uid();
    if meta.uid() != ours {
        return Err(NotPrivate::Owner {
            owner: meta.uid(),
            ours,
        });
    }
    if meta.mode() & 0o022 != 0 {
        return Err(NotPrivate::Shared {
            mode: meta.mode() & 0o777,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_dir: &Path) -> Result<(), NotPrivate> {
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
        ArtifactCache::open(&cache_dir, 1 << 30).expect("a fresh directory is accepted");
        // open() tightens permissions it created; a directory loosened afterwards is refused.
        fs::set_permissions(&cache_dir, fs::Permissions::from_mode(0o777)).expect("chmod");
        let err = check_private(&cache_dir).expect_err("must refuse");
        assert!(matches!(err, NotPrivate::Shared { mode: 0o777 }), "{err}");
        assert!(
            err.to_string().contains("writable by group or others"),
            "{err}"
        );
    }

    #[test]
    fn trimming_removes_the_least_recently_used_first_and_spares_the_newest() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cache = ArtifactCache::open(dir.path(), 1 << 30).expect("cache");
        let engine_dir = dir.path().join("engine");
        fs::create_dir_all(&engine_dir).expect("dir");
        let now = std::time::SystemTime::now();
        let mut paths = Vec::new();
        for (i, age_secs) in [(0u8, 300u64), (1, 100), (2, 200)] {
            let path = engine_dir.join(format!("{i}.cwasm"));
            fs::write(&path, vec![i; 1000]).expect("write");
            let file = fs::File::options().write(true).open(&path).expect("open");
            file.set_modified(now - std::time::Duration::from_secs(age_secs))
                .expect("mtime");
            paths.push(path);
        }
        // Room for two: the oldest (0) goes.
        let report = cache.trim(2000, None);
        assert_eq!((report.removed, report.kept_bytes), (1, 2000));
        assert!(!paths[0].exists() && paths[1].exists() && paths[2].exists());
        // Room for none, but the one just written is spared.
        let report = cache.trim(0, Some(&paths[1]));
        assert_eq!(report.removed, 1);
        assert!(paths[1].exists() && !paths[2].exists());
    }
}
