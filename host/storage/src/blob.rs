//! A content-addressed blob store. Blobs are named by the sha256 of their bytes, so writing
//! the same feed twice (a retried fetch) stores it once, and a reference can be checked.
//!
//! [`FsBlobStore`] keeps blobs under a directory (`<data>/blobs/sha256/ab/abcdef…`), written by
//! temp file + rename so a crash never leaves a partial blob under a final name. An
//! S3-compatible store implements the same trait later.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;

use contextworker_types::Digest;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

/// A reference to stored bytes: small enough for any Temporal payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BlobRef {
    pub digest: Digest,
    pub size: u64,
}

/// Blob store errors. I/O trouble is worth a retry; a missing or corrupt blob is not.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    /// Reading or writing failed (disk full, permissions, network for remote stores). Retry.
    #[error("blob store I/O at {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The blob is not in the store (deleted, or a reference from another store).
    #[error("blob {0} is not in the store")]
    Missing(Digest),
    /// The stored bytes no longer hash to their name.
    #[error("blob {expected} is corrupt: its bytes hash to {actual}")]
    Corrupt { expected: Digest, actual: Digest },
    /// The input was larger than the caller's limit; nothing was stored.
    #[error("input is over the {limit}-byte limit")]
    TooLarge { limit: u64 },
}

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;
pub type BlobReader = Box<dyn AsyncRead + Send + Unpin>;

/// Where blobs live. Object-safe so the host can pick a backend at start.
pub trait BlobStore: Send + Sync {
    /// Store everything `reader` yields (at most `limit` bytes) and return its reference.
    fn put<'a>(
        &'a self,
        reader: BlobReader,
        limit: u64,
    ) -> BoxFuture<'a, Result<BlobRef, BlobError>>;
    /// Read a blob back.
    fn open<'a>(&'a self, blob: &'a BlobRef) -> BoxFuture<'a, Result<BlobReader, BlobError>>;
    /// Re-hash a blob and compare it with its name.
    fn verify<'a>(&'a self, blob: &'a BlobRef) -> BoxFuture<'a, Result<(), BlobError>>;
}

/// Blobs in a local directory.
#[derive(Debug, Clone)]
pub struct FsBlobStore {
    root: PathBuf,
}

impl FsBlobStore {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
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
        // Same content, same name: a concurrent or repeated put of the same bytes is harmless.
        tmp_path.persist(&dest).map_err(|e| BlobError::Io {
            path: dest.clone(),
            source: e.error,
        })?;
        Ok(BlobRef { digest, size })
    }
}

impl BlobStore for FsBlobStore {
    fn put<'a>(
        &'a self,
        reader: BlobReader,
        limit: u64,
    ) -> BoxFuture<'a, Result<BlobRef, BlobError>> {
        Box::pin(self.put_impl(reader, limit))
    }

    fn open<'a>(&'a self, blob: &'a BlobRef) -> BoxFuture<'a, Result<BlobReader, BlobError>> {
        Box::pin(async move {
            let path = self.path_of(&blob.digest);
            match tokio::fs::File::open(&path).await {
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
mod tests {
    use super::*;

    fn reader(bytes: &[u8]) -> BlobReader {
        Box::new(std::io::Cursor::new(bytes.to_vec()))
    }

    #[tokio::test]
    async fn round_trips_and_dedups() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = FsBlobStore::new(dir.path());
        let a = store
            .put(reader(b"feed bytes"), 1 << 20)
            .await
            .expect("put");
        let b = store
            .put(reader(b"feed bytes"), 1 << 20)
            .await
            .expect("put again");
        assert_eq!(a, b);
        assert_eq!(a.digest, Digest::of(b"feed bytes"));
        assert_eq!(a.size, 10);
        let mut back = Vec::new();
        store
            .open(&a)
            .await
            .expect("open")
            .read_to_end(&mut back)
            .await
            .expect("read");
        assert_eq!(back, b"feed bytes");
        store.verify(&a).await.expect("intact");
        let json = serde_json::to_string(&a).expect("serializes");
        assert!(json.len() < 120, "a reference stays tiny: {json}");
    }

    #[tokio::test]
    async fn limits_missing_and_corruption_are_typed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = FsBlobStore::new(dir.path());
        assert!(matches!(
            store.put(reader(&[0u8; 100]), 99).await,
            Err(BlobError::TooLarge { limit: 99 })
        ));
        let absent = BlobRef {
            digest: Digest::of(b"never stored"),
            size: 12,
        };
        assert!(matches!(
            store.open(&absent).await,
            Err(BlobError::Missing(_))
        ));
        let blob = store.put(reader(b"original"), 100).await.expect("put");
        std::fs::write(store.path_of(&blob.digest), b"tampered").expect("tamper");
        assert!(matches!(
            store.verify(&blob).await,
            Err(BlobError::Corrupt { .. })
        ));
        // A rejected put leaves nothing behind under a final name.
        let stored: Vec<_> = walk(&dir.path().join("sha256"));
        assert_eq!(stored.len(), 1, "{stored:?}");
    }

    fn walk(dir: &Path) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            if entry.path().is_dir() {
                out.extend(walk(&entry.path()));
            } else {
                out.push(entry.path());
            }
        }
        out
    }
}
