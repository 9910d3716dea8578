//! The blob store's errors, with their class and retry rule.

use std::path::PathBuf;
use std::time::Duration;

use contextworker_types::{Digest, ErrorClass, Retry};

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
    /// The store is at its size cap and everything in it is recent enough to be needed by a
    /// running harvest; nothing was stored. Retry later (blobs age out) or raise the cap.
    #[error(
        "the blob store is full ({} MiB) and every blob in it was used in the last {} h",
        limit >> 20,
        keep_for.as_secs() / 3600
    )]
    Full { limit: u64, keep_for: Duration },
}

impl BlobError {
    pub fn class(&self) -> ErrorClass {
        match self {
            Self::Io { .. } => ErrorClass::BlobStoreError,
            Self::Missing(_) | Self::Corrupt { .. } => ErrorClass::BlobMissing,
            Self::TooLarge { .. } => ErrorClass::PayloadTooLarge,
            Self::Full { .. } => ErrorClass::BlobStoreFull,
        }
    }

    /// I/O trouble and a full store may pass; a missing blob or an oversized input do not.
    pub fn is_retryable(&self) -> bool {
        self.class().retry() == Retry::Yes
    }
}
