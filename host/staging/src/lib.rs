//! The staging buffer: what each supplier's feed said, one row per (tenant, supplier, sku),
//! in SQLite (a file in the data directory, the default) or PostgreSQL (`DATABASE_URL`).
//!
//! A harvest run stages its products in batches ([`Staging::stage_batch`]) and then closes
//! ([`Staging::finish_run`]), which marks what the feed no longer lists and returns the counts.
//! Both steps are idempotent for a run id: each row remembers the last run that saw it and
//! what that run did to it (`created`, `updated`, `unchanged`), so a retried or duplicated
//! activity attempt rewrites the same rows and the counts come from the rows, not from
//! whichever attempt happened to run.

mod check;
mod error;
mod schema;
mod store;

pub use check::{InvalidProduct, MAX_OFFER_ID_BYTES, check_product};
pub use error::StagingError;
pub use store::{Backend, FeedState, RunCounts, StagedRow, Staging};

/// The key of one supplier's catalog.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FeedKey {
    pub tenant: String,
    pub supplier: String,
}

/// Rows per upsert statement: well under SQLite's 32,766 bind parameters (18 per row) and
/// large enough that a 100,000-product feed is 200 transactions.
pub const BATCH_ROWS: usize = 500;

#[cfg(test)]
mod tests;
