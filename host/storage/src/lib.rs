//! Storage behind the harvest pipeline. Temporal payloads stay small (the server rejects
//! payloads over 2 MB and warns over 256 KB), so feeds travel between activities by reference:
//! a [`BlobRef`] naming content in a [`BlobStore`].

mod blob;

pub use blob::{BlobError, BlobReader, BlobRef, BlobStore, FsBlobStore, GcReport, Retention};
