//! The two backends behind one API. The SQL is shared; where the dialects differ (JSON column
//! type, the current time) a [`Dialect`] says how, and sqlx's query builder writes each
//! backend's placeholders.

use std::collections::HashMap;
use std::str::FromStr;
use std::time::Duration;

use contextworker_types::Product;
use serde::Serialize;
use sha2::{Digest as _, Sha256};
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};
use sqlx::{QueryBuilder, Row};

use crate::error::StagingError;
use crate::schema::{Embedded, POSTGRES, SQLITE};
use crate::{BATCH_ROWS, FeedKey};

/// Which database holds the buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    Sqlite,
    Postgres,
}

struct Dialect {
    /// Appended after the product JSON placeholder.
    json_cast: &'static str,
    now: &'static str,
}

const SQLITE_DIALECT: Dialect = Dialect {
    json_cast: "",
    now: "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
};
const POSTGRES_DIALECT: Dialect = Dialect {
    json_cast: "::jsonb",
    now: "now()",
};

#[derive(Debug, Clone)]
enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to the concrete pool, `$db` to its sqlx database type and
/// `$d` to its dialect: one body, compiled once per backend.
macro_rules! with_pool {
    ($self:expr, |$pool:ident, $db:ident, $d:ident| $body:block) => {
        match &$self.pool {
            Pool::Sqlite($pool) => {
                #[allow(dead_code)]
                type $db = sqlx::Sqlite;
                let $d = &SQLITE_DIALECT;
                $body
            }
            Pool::Postgres($pool) => {
                #[allow(dead_code)]
                type $db = sqlx::Postgres;
                let $d = &POSTGRES_DIALECT;
                $body
            }
        }
    };
}

/// Counts of a finished run, read back from the rows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct RunCounts {
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    /// Listed by an earlier run, absent from this one (marked, never deleted).
    pub missing: u64,
}

/// Conditional-GET validators and the digest of the last feed that was staged completely.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct FeedState {
    pub url: String,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub feed_digest: Option<String>,
}

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
}

/// The staging database. Cheap to clone (a pool handle).
#[derive(Debug, Clone)]
pub struct Staging {
    pool: Pool,
    shown_url: String,
}

impl Staging {
    /// Open (creating an SQLite file if needed) and migrate. `url` is `sqlite:PATH` or
    /// `postgres://…`.
    pub async fn open(url: &str) -> Result<Self, StagingError> {
        let shown_url = redact(url);
        let connect = |source| StagingError::Connect {
            url: shown_url.clone(),
            source,
        };
        let pool = if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)
                .map_err(|e| StagingError::Url {
                    url: shown_url.clone(),
                    reason: e.to_string(),
                })?
                .create_if_missing(true)
                // WAL lets status queries read while a harvest writes.
                .journal_mode(SqliteJournalMode::Wal)
                .busy_timeout(Duration::from_secs(10));
            Pool::Sqlite(
                SqlitePoolOptions::new()
                    .max_connections(4)
                    .connect_with(options)
                    .await
                    .map_err(connect)?,
            )
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Pool::Postgres(
                PgPoolOptions::new()
                    .max_connections(8)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect(url)
                    .await
                    .map_err(connect)?,
            )
        } else {
            return Err(StagingError::Url {
                url: shown_url,
                reason: "use sqlite:PATH or postgres://USER@HOST/DB".to_owned(),
            });
        };
        let staging = Self { pool, shown_url };
        staging.migrate().await?;
        Ok(staging)
    }

    /// The URL for an SQLite file.
    pub fn sqlite_url(path: &std::path::Path) -> String {
        format!("sqlite:{}", path.display())
    }

    pub fn backend(&self) -> Backend {
        match self.pool {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    /// The URL without its password, for logs.
    pub fn url(&self) -> &str {
        &self.shown_url
    }

    async fn migrate(&self) -> Result<(), StagingError> {
        let migrate = |source| StagingError::Migrate {
            url: self.shown_url.clone(),
            source,
        };
        // PostgreSQL migrations take an advisory lock, so many hosts starting at once
        // migrate once.
        match &self.pool {
            Pool::Sqlite(pool) => sqlx::migrate::Migrator::new(Embedded(SQLITE))
                .await
                .map_err(migrate)?
                .run(pool)
                .await
                .map_err(migrate),
            Pool::Postgres(pool) => sqlx::migrate::Migrator::new(Embedded(POSTGRES))
                .await
                .map_err(migrate)?
                .run(pool)
                .await
                .map_err(migrate),
        }
    }

    /// Stage products for `run`, a transaction per [`BATCH_ROWS`]. A repeated offer id keeps
    /// the later product's content, within a batch and across batches of the same run, and is
    /// counted once.
    pub async fn stage_batch(
        &self,
        key: &FeedKey,
        run: &str,
        products: &[Product],
    ) -> Result<(), StagingError> {
        // Before anything is written: a batch is either accepted whole or refused whole.
        for p in products {
            crate::check::check_product(p)?;
        }
        for chunk in products.chunks(BATCH_ROWS) {
            self.stage_chunk(key, run, chunk).await?;
        }
        Ok(())
    }

    async fn stage_chunk(
        &self,
        key: &FeedKey,
        run: &str,
        products: &[Product],
    ) -> Result<(), StagingError> {
        // One row per offer id (an upsert cannot touch a row twice), the last one winning.
        let mut seen = std::collections::HashSet::new();
        let mut rows: Vec<NewRow<'_>> = products
            .iter()
            .rev()
            .filter(|p| seen.insert(p.offer_id.as_str()))
            .map(NewRow::from_product)
            .collect();
        rows.reverse();
        if rows.is_empty() {
            return Ok(());
        }
        with_pool!(self, |pool, Db, d| {
            let mut tx = pool
                .begin()
                .await
                .map_err(StagingError::query("begin a batch"))?;
            let mut select = QueryBuilder::<Db>::new(
                "SELECT sku, content_hash, last_seen_run, last_outcome, missing_since_run \
                 FROM staged_products WHERE tenant = ",
            );
            select.push_bind(&key.tenant);
            select.push(" AND supplier = ");
            select.push_bind(&key.supplier);
            select.push(" AND sku IN (");
            let mut list = select.separated(", ");
            for row in &rows {
                list.push_bind(row.sku);
            }
            select.push(")");
            let existing: HashMap<String, Existing> = select
                .build()
                .fetch_all(&mut *tx)
                .await
                .map_err(StagingError::query("read the batch's current rows"))?
                .into_iter()
                .map(|r| {
                    Ok((
                        r.try_get::<String, _>("sku")?,
                        Existing {
                            hash: r.try_get("content_hash")?,
                            last_seen_run: r.try_get("last_seen_run")?,
                            last_outcome: r.try_get("last_outcome")?,
                            missing: r
                                .try_get::<Option<String>, _>("missing_since_run")?
                                .is_some(),
                        },
                    ))
                })
                .collect::<Result<_, sqlx::Error>>()
                .map_err(StagingError::query("decode current rows"))?;

            let mut insert = QueryBuilder::<Db>::new(
                "INSERT INTO staged_products (tenant, supplier, sku, name, brand, category, price, \
                 currency, quantity, availability, url, product, content_hash, first_seen_run, \
                 last_seen_run, last_outcome) ",
            );
            insert.push_values(&rows, |mut b, row| {
                let outcome = row.outcome(existing.get(row.sku), run);
                b.push_bind(&key.tenant)
                    .push_bind(&key.supplier)
                    .push_bind(row.sku)
                    .push_bind(row.name)
                    .push_bind(row.brand)
                    .push_bind(row.category.clone())
                    .push_bind(row.price)
                    .push_bind(row.currency)
                    .push_bind(row.quantity)
                    .push_bind(row.availability)
                    .push_bind(row.url)
                    .push_bind(row.json.clone())
                    .push_unseparated(d.json_cast)
                    .push_bind(row.hash.clone())
                    .push_bind(run)
                    .push_bind(run)
                    .push_bind(outcome);
            });
            // A content change or a return from "missing" resets enrichment: the
            // classification was for the old content.
            insert.push(format!(
                " ON CONFLICT (tenant, supplier, sku) DO UPDATE SET \
                 name = excluded.name, brand = excluded.brand, category = excluded.category, \
                 price = excluded.price, currency = excluded.currency, quantity = excluded.quantity, \
                 availability = excluded.availability, url = excluded.url, product = excluded.product, \
                 last_seen_run = excluded.last_seen_run, last_outcome = excluded.last_outcome, \
                 enrichment_status = CASE WHEN staged_products.content_hash <> excluded.content_hash \
                     THEN 'pending' ELSE staged_products.enrichment_status END, \
                 updated_at = CASE WHEN staged_products.content_hash <> excluded.content_hash \
                     OR staged_products.missing_since_run IS NOT NULL \
                     THEN {now} ELSE staged_products.updated_at END, \
                 content_hash = excluded.content_hash, missing_since_run = NULL",
                now = d.now
            ));
            insert
                .build()
                .execute(&mut *tx)
                .await
                .map_err(StagingError::query("upsert a batch"))?;
            tx.commit()
                .await
                .map_err(StagingError::query("commit a batch"))?;
            Ok(())
        })
    }

    /// Close `run`: mark rows this run did not see as missing, remember the feed's
    /// validators, and count. Idempotent.
    pub async fn finish_run(
        &self,
        key: &FeedKey,
        run: &str,
        feed: &FeedState,
    ) -> Result<RunCounts, StagingError> {
        with_pool!(self, |pool, Db, d| {
            let mut tx = pool
                .begin()
                .await
                .map_err(StagingError::query("begin closing the run"))?;
            let mut mark =
                QueryBuilder::<Db>::new("UPDATE staged_products SET missing_since_run = ");
            mark.push_bind(run);
            mark.push(format!(
                ", last_outcome = 'missing', updated_at = {} WHERE tenant = ",
                d.now
            ));
            mark.push_bind(&key.tenant);
            mark.push(" AND supplier = ");
            mark.push_bind(&key.supplier);
            mark.push(" AND last_seen_run <> ");
            mark.push_bind(run);
            mark.push(" AND missing_since_run IS NULL");
            mark.build()
                .execute(&mut *tx)
                .await
                .map_err(StagingError::query("mark missing products"))?;

            let mut count = QueryBuilder::<Db>::new(
                "SELECT last_outcome, COUNT(*) AS n FROM staged_products WHERE tenant = ",
            );
            count.push_bind(&key.tenant);
            count.push(" AND supplier = ");
            count.push_bind(&key.supplier);
            count.push(" AND (last_seen_run = ");
            count.push_bind(run);
            count.push(" OR missing_since_run = ");
            count.push_bind(run);
            count.push(") GROUP BY last_outcome");
            let mut counts = RunCounts::default();
            for row in count
                .build()
                .fetch_all(&mut *tx)
                .await
                .map_err(StagingError::query("count the run"))?
            {
                let outcome: String = row
                    .try_get("last_outcome")
                    .map_err(StagingError::query("decode counts"))?;
                let n: i64 = row
                    .try_get("n")
                    .map_err(StagingError::query("decode counts"))?;
                let n = u64::try_from(n).unwrap_or(0);
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
            state
                .build()
                .execute(&mut *tx)
                .await
                .map_err(StagingError::query("record the feed state"))?;

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
            record
                .build()
                .execute(&mut *tx)
                .await
                .map_err(StagingError::query("record the run"))?;
            tx.commit()
                .await
                .map_err(StagingError::query("commit closing the run"))?;
            Ok(counts)
        })
    }

    /// The validators of the last completely staged feed, for a conditional GET.
    pub async fn feed_state(&self, key: &FeedKey) -> Result<Option<FeedState>, StagingError> {
        with_pool!(self, |pool, Db, _d| {
            let mut q = QueryBuilder::<Db>::new(
                "SELECT url, etag, last_modified, feed_digest FROM feed_state WHERE tenant = ",
            );
            q.push_bind(&key.tenant);
            q.push(" AND supplier = ");
            q.push_bind(&key.supplier);
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
            let mut q = QueryBuilder::<Db>::new(
                "SELECT COUNT(*) AS n FROM staged_products WHERE tenant = ",
            );
            q.push_bind(&key.tenant);
            q.push(" AND supplier = ");
            q.push_bind(&key.supplier);
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
        with_pool!(self, |pool, Db, _d| {
            let mut q = QueryBuilder::<Db>::new(
                "SELECT sku, name, price, content_hash, first_seen_run, last_seen_run, last_outcome, \
                 missing_since_run, enrichment_status FROM staged_products WHERE tenant = ",
            );
            q.push_bind(&key.tenant);
            q.push(" AND supplier = ");
            q.push_bind(&key.supplier);
            q.push(" ORDER BY sku");
            q.build()
                .fetch_all(pool)
                .await
                .map_err(StagingError::query("read rows"))?
                .into_iter()
                .map(|r| {
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
                    })
                })
                .collect::<Result<_, sqlx::Error>>()
                .map_err(StagingError::query("decode rows"))
        })
    }

    /// Remove one catalog's rows and feed state (tests and `--reset` tooling).
    pub async fn delete_catalog(&self, key: &FeedKey) -> Result<(), StagingError> {
        with_pool!(self, |pool, Db, _d| {
            for table in ["staged_products", "feed_state", "harvest_runs"] {
                let mut q = QueryBuilder::<Db>::new(format!("DELETE FROM {table} WHERE tenant = "));
                q.push_bind(&key.tenant);
                q.push(" AND supplier = ");
                q.push_bind(&key.supplier);
                q.build()
                    .execute(pool)
                    .await
                    .map_err(StagingError::query("delete a catalog"))?;
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
            q.push(" WHERE tenant = ");
            q.push_bind(&key.tenant);
            q.push(" AND supplier = ");
            q.push_bind(&key.supplier);
            q.build()
                .execute(pool)
                .await
                .map_err(StagingError::query("set enrichment status"))?;
            Ok(())
        })
    }

    pub async fn close(&self) {
        match &self.pool {
            Pool::Sqlite(p) => p.close().await,
            Pool::Postgres(p) => p.close().await,
        }
    }
}

struct Existing {
    hash: String,
    last_seen_run: String,
    last_outcome: String,
    missing: bool,
}

/// A product flattened into its columns.
struct NewRow<'a> {
    sku: &'a str,
    name: &'a str,
    brand: Option<&'a str>,
    category: Option<String>,
    price: Option<&'a str>,
    currency: Option<&'a str>,
    quantity: Option<i64>,
    availability: &'static str,
    url: Option<&'a str>,
    json: String,
    hash: String,
}

impl<'a> NewRow<'a> {
    fn from_product(p: &'a Product) -> Self {
        // Product serializes deterministically (fixed field order), so equal content gives
        // an equal hash across hosts and versions of this crate.
        let json = serde_json::to_string(p).unwrap_or_default();
        let hash = hex::encode(Sha256::digest(json.as_bytes()));
        Self {
            sku: &p.offer_id,
            name: &p.name,
            brand: p.brand.as_deref(),
            category: (!p.category_path.is_empty()).then(|| p.category_path.join(" > ")),
            price: p.price.as_deref(),
            currency: p.currency.as_deref(),
            quantity: p.quantity,
            availability: availability(p.availability),
            url: p.url.as_deref(),
            json,
            hash,
        }
    }

    /// What this run does to the row. A row this run already wrote keeps the outcome it
    /// recorded then: that is what makes a retried attempt count the same.
    fn outcome(&self, existing: Option<&Existing>, run: &str) -> &'static str {
        match existing {
            None => "created",
            Some(e) if e.last_seen_run == run => match e.last_outcome.as_str() {
                "created" => "created",
                "updated" => "updated",
                _ => "unchanged",
            },
            Some(e) if e.hash != self.hash || e.missing => "updated",
            Some(_) => "unchanged",
        }
    }
}

fn availability(a: contextworker_types::Availability) -> &'static str {
    use contextworker_types::Availability as A;
    match a {
        A::InStock => "in_stock",
        A::OutOfStock => "out_of_stock",
        A::Preorder => "preorder",
        A::OnOrder => "on_order",
        A::Unknown => "unknown",
    }
}

fn as_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Drop the password from a database URL.
fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_owned(),
    }
}
