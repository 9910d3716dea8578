//! [`FsBlobStore`]: blobs under a directory (`<data>/blobs/sha256/ab/abcdef…`), written by
//! temp file + rename so a crash never leaves a partial blob under a final name.
//!
//! The disk it uses is bounded ([`Retention`]): past `max_bytes`, the least recently used
//! blobs go first, but never one written or read within `keep_for`. A harvest writes and reads
//! its blobs within its own lifetime (a workflow runs at most 24 hours), so with `keep_for` at
//! least that, no running harvest loses a blob it still needs; when everything is that recent,
//! a write fails with [`BlobError::Full`] (retryable) instead of filling the disk.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use contextworker_types::Digest;
use sha2::{Digest as _, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::blob::{BlobReader, BlobRef, BlobStore, BoxFuture};
use crate::error::BlobError;
use crate::gc::{GcReport, Retention, blob_files, evict};
use crate::writer::HashedFile;

/// Blobs in a local directory.
#[derive(Debug)]
pub struct FsBlobStore {
    root: PathBuf,
    retention: Option<Retention>,
    /// Bytes under `sha256/` as last counted (a scan at the first write, then kept up to date;
    /// every eviction pass counts again, so another process sharing the directory cannot make
    /// it drift for long).
    used: AtomicU64,
    counted: std::sync::Once,
    /// One eviction pass at a time.
    evicting: tokio::sync::Mutex<()>,
}

impl FsBlobStore {
    /// A store without a size cap (tests, tools).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self::build(root.into(), None)
    }

    /// A store that keeps its disk use within `retention`.
    pub fn with_retention(root: impl Into<PathBuf>, retention: Retention) -> Self {
        Self::build(root.into(), Some(retention))
    }

    fn build(root: PathBuf, retention: Option<Retention>) -> Self {
        Self {
            root,
            retention,
            used: AtomicU64::new(0),
            counted: std::sync::Once::new(),
            evicting: tokio::sync::Mutex::new(()),
        }
    }

    /// Bytes the store's blobs take now.
    pub fn used_bytes(&self) -> u64 {
        self.count_once();
        self.used.load(Ordering::Relaxed)
    }

    fn count_once(&self) {
        self.counted.call_once(|| {
            let total = blob_files(&self.root).iter().map(|b| b.size).sum();
            self.used.store(total, Ordering::Relaxed);
        });
    }

    /// Remove the least recently used blobs older than `keep_for` until the store holds at
    /// most `target` bytes (0: every such blob). Counts the store afresh.
    pub async fn collect(&self, target: u64, keep_for: Duration) -> GcReport {
        let _one = self.evicting.lock().await;
        let root = self.root.clone();
        let report = tokio::task::spawn_blocking(move || evict(&root, target, keep_for))
            .await
            .unwrap_or_default();
        self.count_once();
        self.used.store(report.kept_bytes, Ordering::Relaxed);
        report
    }

    /// Make room for `incoming` more bytes under the cap, or say there is none.
    async fn make_room(&self, incoming: u64) -> Result<(), BlobError> {
        let Some(r) = self.retention else {
            return Ok(());
        };
        self.count_once();
        if self.used.load(Ordering::Relaxed).saturating_add(incoming) <= r.max_bytes {
            return Ok(());
        }
        // Evict a tenth of the cap more than needed, so a stream that keeps growing does not
        // rescan the store for every mebibyte.
        let target = r
            .max_bytes
            .saturating_sub(incoming)
            .saturating_sub(r.max_bytes / 10);
        let report = self.collect(target, r.keep_for).await;
        if report.kept_bytes.saturating_add(incoming) <= r.max_bytes {
            Ok(())
        } else {
            Err(BlobError::Full {
                limit: r.max_bytes,
                keep_for: r.keep_for,
            })
        }
    }

    fn path_of(&self, digest: &Digest) -> PathBuf {
        let hex = digest.hex();
        self.root.join("sha256").join(&hex[..2]).join(hex)
    }

    fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BlobError + '_ {
        move |source| BlobError::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    async fn put_impl(&self, mut reader: BlobReader, limit: u64) -> Result<BlobRef, BlobError> {
        let tmp_dir = self.root.join("tmp");
        tokio::fs::create_dir_all(&tmp_dir)
            .await
            .map_err(Self::io(&tmp_dir))?;
        let tmp = tempfile::NamedTempFile::new_in(&tmp_dir).map_err(Self::io(&tmp_dir))?;
        let (std_file, tmp_path) = tmp.into_parts();
        let mut file = tokio::fs::File::from_std(std_file);
        let mut hasher = Sha256::new();
        let mut size = 0u64;
        // Room is made in steps as the blob grows, so a stream of unknown length never
        // takes the store past its cap.
        let mut room = 0u64;
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let n = reader.read(&mut buf).await.map_err(Self::io(&tmp_path))?;
            if n == 0 {
                break;
            }
            size += n as u64;
            if size > limit {
                return Err(BlobError::TooLarge { limit });
            }
            if size > room {
                room = size.saturating_add(1 << 20);
                self.make_room(room).await?;
            }
            hasher.update(&buf[..n]);
            file.write_all(&buf[..n])
                .await
                .map_err(Self::io(&tmp_path))?;
        }
        file.sync_all().await.map_err(Self::io(&tmp_path))?;
        drop(file);
        let digest = Digest::from_bytes(hasher.finalize().into());
        let dest = self.path_of(&digest);
        if let Some(parent) = dest.parent() {
            tokio::fs::create_dir_all(parent)
                .await
                .map_err(Self::io(parent))?;
        }
        let existed = dest.is_file();
        // Same content, same name: a concurrent or repeated put of the same bytes is harmless.
        tmp_path.persist(&dest).map_err(|e| BlobError::Io {
            path: dest.clone(),
            source: e.error,
        })?;
        if !existed {
            self.used.fetch_add(size, Ordering::Relaxed);
        }
        Ok(BlobRef { digest, size })
    }

    async fn adopt(&self, file: HashedFile) -> Result<BlobRef, BlobError> {
        let HashedFile { path, blob } = file;
        let dest = self.path_of(&blob.digest);
        if dest.is_file() {
            // Already stored; the scratch file goes when `path` drops.
            return Ok(blob);
        }
        self.make_room(blob.size).await?;
        if let Some(parent) = dest.parent() {
            tokio::fs::create_dir_all(parent)
                .await
                .map_err(Self::io(parent))?;
        }
        match path.persist(&dest) {
            Ok(()) => {
                self.used.fetch_add(blob.size, Ordering::Relaxed);
                Ok(blob)
            }
            // Scratch on another file system (a rename cannot cross it): copy, and check the
            // copy hashes to what the writer saw.
            Err(e) if e.error.kind() == std::io::ErrorKind::CrossesDevices => {
                let reader = tokio::fs::File::open(&e.path)
                    .await
                    .map_err(Self::io(&e.path))?;
                let stored = self.put_impl(Box::new(reader), u64::MAX).await?;
                if stored.digest != blob.digest {
                    return Err(BlobError::Corrupt {
                        expected: blob.digest,
                        actual: stored.digest,
                    });
                }
                Ok(stored)
            }
            Err(e) => Err(BlobError::Io {
                path: dest,
                source: e.error,
            }),
        }
    }
}

impl BlobStore for FsBlobStore {
    fn local_bytes(&self) -> u64 {
        self.used_bytes()
    }

    fn put<'a>(
        &'a self,
        reader: BlobReader,
        limit: u64,
    ) -> BoxFuture<'a, Result<BlobRef, BlobError>> {
        Box::pin(self.put_impl(reader, limit))
    }

    fn put_file<'a>(&'a self, file: HashedFile) -> BoxFuture<'a, Result<BlobRef, BlobError>> {
        Box::pin(self.adopt(file))
    }

    fn open<'a>(&'a self, blob: &'a BlobRef) -> BoxFuture<'a, Result<BlobReader, BlobError>> {
        Box::pin(async move {
            let path = self.path_of(&blob.digest);
            let opened = {
                let path = path.clone();
                tokio::task::spawn_blocking(move || {
                    let file = std::fs::File::open(&path)?;
                    // A read is a use: eviction goes by the last write or read.
                    let _ = file.set_modified(SystemTime::now());
                    Ok::<_, std::io::Error>(file)
                })
                .await
                .unwrap_or_else(|e| Err(std::io::Error::other(e)))
            };
            match opened.map(tokio::fs::File::from_std) {
                Ok(file) => Ok(
                    Box::new(tokio::io::BufReader::with_capacity(256 * 1024, file)) as BlobReader,
                ),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    Err(BlobError::Missing(blob.digest))
                }
                Err(e) => Err(BlobError::Io { path, source: e }),
            }
        })
    }

    fn verify<'a>(&'a self, blob: &'a BlobRef) -> BoxFuture<'a, Result<(), BlobError>> {
        Box::pin(async move {
            let mut reader = self.open(blob).await?;
            let path = self.path_of(&blob.digest);
            let mut hasher = Sha256::new();
            let mut buf = vec![0u8; 256 * 1024];
            loop {
                let n = reader.read(&mut buf).await.map_err(Self::io(&path))?;
                if n == 0 {
                    break;
                }
                hasher.update(&buf[..n]);
            }
            let actual = Digest::from_bytes(hasher.finalize().into());
            if actual == blob.digest {
                Ok(())
            } else {
                Err(BlobError::Corrupt {
                    expected: blob.digest,
                    actual,
                })
            }
        })
    }
}

#[cfg(test)]
mod tests;
