//! Reading a catalog back (the validators of its last feed, its listed count, its rows) and
//! removing one: inspection, tests and tooling.

use sqlx::{QueryBuilder, Row};

use super::finish::FeedState;
use super::statement::{decode_all, execute, fetch_all};
use super::{Staging, where_catalog, with_pool};
use crate::FeedKey;
use crate::error::StagingError;

/// One staged row, for inspection and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StagedRow {
    pub sku: String,
    pub name: String,
    pub price: Option<String>,
    pub content_hash: String,
    pub first_seen_run: String,
    pub last_seen_run: String,
    pub last_outcome: String,
    pub missing_since_run: Option<String>,
    pub enrichment_status: String,
    /// `raw`, `enriching` or `pending_approval`.
    pub status: String,
    /// The `enrichment` JSON text.
    pub enrichment: Option<String>,
}

impl Staging {
    /// The validators of the last completely staged feed, for a conditional GET.
    pub async fn feed_state(&self, key: &FeedKey) -> Result<Option<FeedState>, StagingError> {
        with_pool!(self, |pool, Db, _d| {
            let mut q = QueryBuilder::<Db>::new(
                "SELECT url, etag, last_modified, feed_digest FROM feed_state",
            );
            where_catalog(&mut q, key);
            let row = q
                .build()
                .fetch_optional(pool)
                .await
                .map_err(StagingError::query("read the feed state"))?;
            row.map(|r| {
                Ok(FeedState {
                    url: r.try_get("url")?,
                    etag: r.try_get("etag")?,
                    last_modified: r.try_get("last_modified")?,
                    feed_digest: r.try_get("feed_digest")?,
                })
            })
            .transpose()
            .map_err(StagingError::query("decode the feed state"))
        })
    }

    /// How many rows of this catalog are currently listed (not missing).
    pub async fn listed_count(&self, key: &FeedKey) -> Result<u64, StagingError> {
        with_pool!(self, |pool, Db, _d| {
            let mut q = QueryBuilder::<Db>::new("SELECT COUNT(*) AS n FROM staged_products");
            where_catalog(&mut q, key);
            q.push(" AND missing_since_run IS NULL");
            let n: i64 = q
                .build()
                .fetch_one(pool)
                .await
                .and_then(|r| r.try_get("n"))
                .map_err(StagingError::query("count listed products"))?;
            Ok(u64::try_from(n).unwrap_or(0))
        })
    }

    /// Every row of one catalog, ordered by sku.
    pub async fn rows(&self, key: &FeedKey) -> Result<Vec<StagedRow>, StagingError> {
        with_pool!(self, |pool, Db, d| {
            let mut q = QueryBuilder::<Db>::new(format!(
                "SELECT sku, name, price, content_hash, first_seen_run, last_seen_run, last_outcome, \
                 missing_since_run, enrichment_status, status, enrichment{} AS enrichment \
                 FROM staged_products",
                d.json_out
            ));
            where_catalog(&mut q, key);
            q.push(" ORDER BY sku");
            let rows = fetch_all(q.build(), pool, "read rows").await?;
            decode_all(rows, "decode rows", |r| {
                Ok(StagedRow {
                    sku: r.try_get("sku")?,
                    name: r.try_get("name")?,
                    price: r.try_get("price")?,
                    content_hash: r.try_get("content_hash")?,
                    first_seen_run: r.try_get("first_seen_run")?,
                    last_seen_run: r.try_get("last_seen_run")?,
                    last_outcome: r.try_get("last_outcome")?,
                    missing_since_run: r.try_get("missing_since_run")?,
                    enrichment_status: r.try_get("enrichment_status")?,
                    status: r.try_get("status")?,
                    enrichment: r.try_get("enrichment")?,
                })
            })
        })
    }

    /// Remove one catalog's rows and feed state (tests and `--reset` tooling).
    pub async fn delete_catalog(&self, key: &FeedKey) -> Result<(), StagingError> {
        with_pool!(self, |pool, Db, _d| {
            for table in ["staged_products", "feed_state", "harvest_runs"] {
                let mut q = QueryBuilder::<Db>::new(format!("DELETE FROM {table}"));
                where_catalog(&mut q, key);
                execute(q.build(), pool, "delete a catalog").await?;
            }
            Ok(())
        })
    }

    /// Set the enrichment status of every row of a catalog (the enrichment step will; tests
    /// set a status to see a content change reset it).
    #[cfg(test)]
    pub(crate) async fn set_enrichment_status(
        &self,
        key: &FeedKey,
        status: &str,
    ) -> Result<(), StagingError> {
        with_pool!(self, |pool, Db, _d| {
            let mut q = QueryBuilder::<Db>::new("UPDATE staged_products SET enrichment_status = ");
            q.push_bind(status);
            where_catalog(&mut q, key);
            execute(q.build(), pool, "set enrichment status").await?;
            Ok(())
        })
    }
}
