//! Closing a run: marking what the feed no longer lists, counting the run from its rows, and
//! recording the feed's validators and the run's counts, in one transaction.

use serde::{Deserialize, Serialize};
use sqlx::QueryBuilder;

use super::statement::{begin, decode_all, execute, fetch_all, label_count};
use super::{Staging, where_catalog, with_pool};
use crate::FeedKey;
use crate::error::StagingError;

/// Counts of a finished run, read back from the rows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunCounts {
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    /// Listed by an earlier run, absent from this one (marked, never deleted).
    pub missing: u64,
}

/// Conditional-GET validators and the digest of the last feed that was staged completely.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedState {
    pub url: String,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub feed_digest: Option<String>,
}

impl Staging {
    /// Close `run`: mark rows this run did not see as missing, remember the feed's
    /// validators, and count. Idempotent.
    pub async fn finish_run(
        &self,
        key: &FeedKey,
        run: &str,
        feed: &FeedState,
    ) -> Result<RunCounts, StagingError> {
        with_pool!(self, |pool, Db, d| {
            let mut tx = begin(pool, "begin closing the run").await?;
            let mut mark =
                QueryBuilder::<Db>::new("UPDATE staged_products SET missing_since_run = ");
            mark.push_bind(run);
            mark.push(format!(
                ", last_outcome = 'missing', updated_at = {}",
                d.now
            ));
            where_catalog(&mut mark, key);
            mark.push(" AND last_seen_run <> ");
            mark.push_bind(run);
            mark.push(" AND missing_since_run IS NULL");
            execute(mark.build(), &mut *tx, "mark missing products").await?;

            let mut count =
                QueryBuilder::<Db>::new("SELECT last_outcome, COUNT(*) AS n FROM staged_products");
            where_catalog(&mut count, key);
            count.push(" AND (last_seen_run = ");
            count.push_bind(run);
            count.push(" OR missing_since_run = ");
            count.push_bind(run);
            count.push(") GROUP BY last_outcome");
            let rows = fetch_all(count.build(), &mut *tx, "count the run").await?;
            let mut counts = RunCounts::default();
            for (outcome, n) in
                decode_all(rows, "decode counts", |r| label_count(&r, "last_outcome"))?
            {
                match outcome.as_str() {
                    "created" => counts.created = n,
                    "updated" => counts.updated = n,
                    "unchanged" => counts.unchanged = n,
                    "missing" => counts.missing = n,
                    _ => {}
                }
            }

            let mut state = QueryBuilder::<Db>::new(
                "INSERT INTO feed_state (tenant, supplier, url, etag, last_modified, feed_digest, last_run) ",
            );
            state.push_values([feed], |mut b, f| {
                b.push_bind(&key.tenant)
                    .push_bind(&key.supplier)
                    .push_bind(&f.url)
                    .push_bind(&f.etag)
                    .push_bind(&f.last_modified)
                    .push_bind(&f.feed_digest)
                    .push_bind(run);
            });
            state.push(format!(
                " ON CONFLICT (tenant, supplier) DO UPDATE SET url = excluded.url, etag = excluded.etag, \
                 last_modified = excluded.last_modified, feed_digest = excluded.feed_digest, \
                 last_run = excluded.last_run, updated_at = {}",
                d.now
            ));
            execute(state.build(), &mut *tx, "record the feed state").await?;

            let mut record = QueryBuilder::<Db>::new(
                "INSERT INTO harvest_runs (run_id, tenant, supplier, created, updated, unchanged, missing) ",
            );
            record.push_values([counts], |mut b, c| {
                b.push_bind(run)
                    .push_bind(&key.tenant)
                    .push_bind(&key.supplier)
                    .push_bind(as_i64(c.created))
                    .push_bind(as_i64(c.updated))
                    .push_bind(as_i64(c.unchanged))
                    .push_bind(as_i64(c.missing));
            });
            record.push(
                " ON CONFLICT (run_id) DO UPDATE SET created = excluded.created, updated = excluded.updated, \
                 unchanged = excluded.unchanged, missing = excluded.missing",
            );
            execute(record.build(), &mut *tx, "record the run").await?;
            tx.commit()
                .await
                .map_err(StagingError::query("commit closing the run"))?;
            Ok(counts)
        })
    }
}

fn as_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
