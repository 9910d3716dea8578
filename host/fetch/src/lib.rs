//! Fetching a supplier's feed into the blob store.
//!
//! A fetch streams the body straight into the content-addressed store, so a 500 MB feed never
//! sits in memory and the pipeline passes on a 70-byte reference. Secrets (auth, headers) come
//! in resolved by the caller from environment variables the supplier file names; this crate
//! never logs them.
//!
//! Conditional GET: the caller passes the validators of the last successful harvest; a `304`
//! ends the fetch with [`FetchOutcome::NotModified`] and nothing is stored.

mod error;
mod fetcher;
mod redact;
mod request;

pub use error::{ClientError, FetchError};
pub use fetcher::{Fetcher, MAX_REDIRECTS};
pub use redact::redact_url;
pub use request::{Auth, FetchOutcome, FetchRequest, Fetched, Validators};

// `tests.rs` (`use super::*`) finds these at the crate root, where the fetcher used to live.
#[cfg(test)]
mod tests;
