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
    /// The shared object store failed. Names the store; the source names the address.
    #[error("object store {store}: {source}")]
    Remote {
        store: String,
        /// Credentials, permissions or settings: another attempt gets the same answer.
        misconfigured: bool,
        #[source]
        source: object_store::Error,
    },
    /// The object store could not be set up from the settings given.
    #[error("object store {store}: {reason}")]
    Config { store: String, reason: String },
}

impl BlobError {
    pub fn class(&self) -> ErrorClass {
        match self {
            Self::Io { .. } => ErrorClass::BlobStoreError,
            Self::Missing(_) | Self::Corrupt { .. } => ErrorClass::BlobMissing,
            Self::TooLarge { .. } => ErrorClass::PayloadTooLarge,
            Self::Full { .. } => ErrorClass::BlobStoreFull,
            Self::Remote {
                misconfigured: false,
                ..
            } => ErrorClass::BlobStoreError,
            Self::Remote { .. } | Self::Config { .. } => ErrorClass::BlobStoreMisconfigured,
        }
    }

    /// An object store's error, classified: a missing object is the caller's to name (it knows
    /// the digest), refusals of this host's credentials or settings are not worth a retry, and
    /// the rest (the network, the server's 5xx after the client's own retries) is.
    pub(crate) fn remote(store: &impl std::fmt::Display, source: object_store::Error) -> Self {
        use object_store::Error as E;
        let misconfigured = matches!(
            source,
            E::PermissionDenied { .. }
                | E::Unauthenticated { .. }
                | E::UnknownConfigurationKey { .. }
                | E::NotSupported { .. }
                | E::NotImplemented { .. }
                | E::InvalidPath { .. }
        );
        Self::Remote {
            store: store.to_string(),
            misconfigured,
            source,
        }
    }

    /// I/O trouble and a full store may pass; a missing blob or an oversized input do not.
    pub fn is_retryable(&self) -> bool {
        self.class().retry() == Retry::Yes
    }
}
