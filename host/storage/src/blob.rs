//! A content-addressed blob store. Blobs are named by the sha256 of their bytes, so writing
//! the same feed twice (a retried fetch) stores it once, and a reference can be checked. This
//! is the interface every backend implements: the local directory today ([`crate::FsBlobStore`]),
//! an S3-compatible store later.

use std::future::Future;
use std::pin::Pin;

use contextworker_types::Digest;
use serde::{Deserialize, Serialize};
use tokio::io::AsyncRead;

use crate::error::BlobError;
use crate::writer::HashedFile;

/// A reference to stored bytes: small enough for any Temporal payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BlobRef {
    pub digest: Digest,
    pub size: u64,
}

pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;
pub type BlobReader = Box<dyn AsyncRead + Send + Unpin>;

/// Where blobs live. Object-safe so the host can pick a backend at start.
pub trait BlobStore: Send + Sync {
    /// Store everything `reader` yields (at most `limit` bytes) and return its reference.
    fn put<'a>(
        &'a self,
        reader: BlobReader,
        limit: u64,
    ) -> BoxFuture<'a, Result<BlobRef, BlobError>>;
    /// Store a file the host hashed as it wrote it ([`crate::BlobWriter`]). A store on the same
    /// disk adopts it by rename, so the bytes are written once; others upload it.
    fn put_file<'a>(&'a self, file: HashedFile) -> BoxFuture<'a, Result<BlobRef, BlobError>>;
    /// Read a blob back.
    fn open<'a>(&'a self, blob: &'a BlobRef) -> BoxFuture<'a, Result<BlobReader, BlobError>>;
    /// Re-hash a blob and compare it with its name.
    fn verify<'a>(&'a self, blob: &'a BlobRef) -> BoxFuture<'a, Result<(), BlobError>>;
    /// Bytes the store keeps on this host's disk (for an object store, its local directory).
    fn local_bytes(&self) -> u64;
}
