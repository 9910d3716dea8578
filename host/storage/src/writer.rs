//! A scratch file hashed as it is written, so it becomes a blob without being read again: the
//! parse step writes its product set once, and a store on the same disk adopts the file by
//! rename ([`crate::BlobStore::put_file`]).

use std::path::Path;

use contextworker_types::Digest;
use sha2::{Digest as _, Sha256};
use tempfile::TempPath;
use tokio::io::{AsyncWriteExt, BufWriter};

use crate::blob::BlobRef;

/// Writes a scratch file and hashes it on the way.
#[derive(Debug)]
pub struct BlobWriter {
    out: BufWriter<tokio::fs::File>,
    path: TempPath,
    hasher: Sha256,
    size: u64,
}

/// A finished [`BlobWriter`]: the file (removed when dropped) and the blob it holds.
#[derive(Debug)]
pub struct HashedFile {
    pub(crate) path: TempPath,
    pub(crate) blob: BlobRef,
}

impl HashedFile {
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn blob(&self) -> BlobRef {
        self.blob
    }
}

impl BlobWriter {
    /// A new scratch file in `dir`.
    pub async fn create_in(dir: &Path) -> std::io::Result<Self> {
        let (file, path) = tempfile::NamedTempFile::new_in(dir)?.into_parts();
        Ok(Self {
            out: BufWriter::with_capacity(256 * 1024, tokio::fs::File::from_std(file)),
            path,
            hasher: Sha256::new(),
            size: 0,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub async fn write_all(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.hasher.update(bytes);
        self.size += bytes.len() as u64;
        self.out.write_all(bytes).await
    }

    /// Flush and sync: a blob adopted by rename must be on disk before its name is.
    pub async fn finish(mut self) -> std::io::Result<HashedFile> {
        self.out.flush().await?;
        self.out.get_ref().sync_all().await?;
        Ok(HashedFile {
            path: self.path,
            blob: BlobRef {
                digest: Digest::from_bytes(self.hasher.finalize().into()),
                size: self.size,
            },
        })
    }
}
