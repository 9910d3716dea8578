//! Storage behind the harvest pipeline. Temporal payloads stay small (the server rejects
//! payloads over 2 MB and warns over 256 KB), so feeds travel between activities by reference:
//! a [`BlobRef`] naming content in a [`BlobStore`].

mod blob;
mod error;
mod fs;
mod gc;
mod named;
mod object;
mod writer;

pub use blob::{BlobReader, BlobRef, BlobStore};
pub use error::BlobError;
pub use fs::FsBlobStore;
pub use gc::{GcReport, Retention};
pub use named::NamedObjects;
pub use object::{ObjectBlobStore, RIDE_OUT};
pub use writer::{BlobWriter, HashedFile};
