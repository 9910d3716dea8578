//! Staging a batch: one upsert that writes every row and decides its outcome (created,
//! updated, unchanged) in the database, in one transaction.
//!
//! The outcome is computed by the `ON CONFLICT` clause from the row it replaces, so there is
//! no read before the write: a row the insert creates is `created`; a row this run already
//! wrote keeps the outcome it recorded then (that is what makes a retried attempt count the
//! same); otherwise a changed content hash, or a return from "missing", is `updated`, and the
//! rest `unchanged`. PostgreSQL receives a batch as one statement over column arrays
//! (`UNNEST`), prepared once per connection whatever the batch's size; SQLite as 100-row
//! `VALUES` statements, in one transaction.

use std::collections::HashSet;
use std::sync::LazyLock;

use contextworker_types::{Availability, Product};
use sha2::{Digest as _, Sha256};
use sqlx::{PgPool, QueryBuilder, SqlitePool};

use super::statement::{begin, execute};
use super::{POSTGRES_DIALECT, Pool, SQLITE_DIALECT, Staging};
use crate::FeedKey;
use crate::error::StagingError;

/// Rows per SQLite statement (16 bind parameters each; SQLite allows 32,766). 100, 250 and
/// 1,000 measured within noise of each other, 100 a little ahead on a second run.
const SQLITE_ROWS: usize = 100;

const COLUMNS: &str = "tenant, supplier, sku, name, brand, category, price, currency, quantity, \
                       availability, url, product, content_hash, first_seen_run, last_seen_run, \
                       last_outcome";

/// What a conflicting row becomes. Every reference to `staged_products` is the row before
/// this statement, so the order of the assignments does not matter. A content change or a
/// return from "missing" resets enrichment: the classification was for the old content.
fn on_conflict(now: &str) -> String {
    format!(
        " ON CONFLICT (tenant, supplier, sku) DO UPDATE SET \
         name = excluded.name, brand = excluded.brand, category = excluded.category, \
         price = excluded.price, currency = excluded.currency, quantity = excluded.quantity, \
         availability = excluded.availability, url = excluded.url, product = excluded.product, \
         last_seen_run = excluded.last_seen_run, \
         last_outcome = CASE \
             WHEN staged_products.last_seen_run = excluded.last_seen_run \
                 THEN staged_products.last_outcome \
             WHEN staged_products.content_hash <> excluded.content_hash \
                 OR staged_products.missing_since_run IS NOT NULL THEN 'updated' \
             ELSE 'unchanged' END, \
         enrichment_status = CASE WHEN staged_products.content_hash <> excluded.content_hash \
             THEN 'pending' ELSE staged_products.enrichment_status END, \
         status = CASE WHEN staged_products.content_hash <> excluded.content_hash \
             THEN 'raw' ELSE staged_products.status END, \
         updated_at = CASE WHEN staged_products.content_hash <> excluded.content_hash \
             OR staged_products.missing_since_run IS NOT NULL \
             THEN {now} ELSE staged_products.updated_at END, \
         content_hash = excluded.content_hash, missing_since_run = NULL"
    )
}

/// SQLite's conflict clause, appended to every `VALUES` statement; built once.
static SQLITE_CONFLICT: LazyLock<String> = LazyLock::new(|| on_conflict(SQLITE_DIALECT.now));

/// PostgreSQL's whole statement, built once: one text for every batch size, the columns
/// travelling as arrays.
static POSTGRES_UPSERT: LazyLock<String> = LazyLock::new(|| {
    format!(
        "INSERT INTO staged_products ({COLUMNS}) \
         SELECT $1, $2, u.sku, u.name, u.brand, u.category, u.price, u.currency, u.quantity, \
                u.availability, u.url, u.product::jsonb, u.hash, $3, $3, 'created' \
         FROM UNNEST($4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], \
                     $10::int8[], $11::text[], $12::text[], $13::text[], $14::text[]) \
              AS u(sku, name, brand, category, price, currency, quantity, availability, url, \
                   product, hash){}",
        on_conflict(POSTGRES_DIALECT.now)
    )
});

impl Staging {
    /// Stage products for `run`, in one transaction: [`Batch::prepare`] then
    /// [`Staging::stage_prepared`].
    pub async fn stage_batch(
        &self,
        key: &FeedKey,
        run: &str,
        products: &[Product],
    ) -> Result<(), StagingError> {
        self.stage_prepared(key, run, &Batch::prepare(products.to_vec())?)
            .await
    }

    /// Stage a prepared batch for `run`, in one transaction. A repeated offer id keeps the
    /// later product's content, within a batch and across batches of the same run, and is
    /// counted once.
    pub async fn stage_prepared(
        &self,
        key: &FeedKey,
        run: &str,
        batch: &Batch,
    ) -> Result<(), StagingError> {
        if batch.products.is_empty() {
            return Ok(());
        }
        let rows: Vec<NewRow<'_>> = batch
            .products
            .iter()
            .zip(&batch.derived)
            .map(|(p, d)| NewRow::new(p, d))
            .collect();
        let span = tracing::info_span!(
            "staging.batch",
            otel.kind = "client",
            otel.status_code = tracing::field::Empty,
            db.system = match self.backend() {
                crate::Backend::Sqlite => "sqlite",
                crate::Backend::Postgres => "postgresql",
            },
            rows = i64::try_from(rows.len()).unwrap_or(i64::MAX),
        );
        let result = tracing::Instrument::instrument(
            async {
                match &self.pool {
                    Pool::Sqlite(pool) => upsert_sqlite(pool, key, run, &rows).await,
                    Pool::Postgres(pool) => upsert_postgres(pool, key, run, &rows).await,
                }
            },
            span.clone(),
        )
        .await;
        if result.is_err() {
            span.record("otel.status_code", "error");
        }
        result
    }
}

/// Products checked and turned into what their rows hold (the canonical JSON and its hash):
/// the CPU half of staging, separate so a caller can prepare the next batch on another
/// thread while this one is written.
#[derive(Debug, Default)]
pub struct Batch {
    /// One per offer id, the last one winning, in the order they came.
    products: Vec<Product>,
    derived: Vec<Derived>,
}

#[derive(Debug)]
struct Derived {
    json: String,
    hash: String,
    category: Option<String>,
}

impl Batch {
    /// Check every product (a batch is accepted whole or refused whole) and derive its row.
    pub fn prepare(products: Vec<Product>) -> Result<Self, StagingError> {
        for p in &products {
            crate::check::check_product(p)?;
        }
        // One row per offer id (an upsert cannot touch a row twice), the last one winning.
        let keep: Vec<bool> = {
            let mut seen = HashSet::with_capacity(products.len());
            products
                .iter()
                .rev()
                .map(|p| seen.insert(p.offer_id.as_str()))
                .collect()
        };
        let products: Vec<Product> = products
            .into_iter()
            .zip(keep.into_iter().rev())
            .filter_map(|(p, keep)| keep.then_some(p))
            .collect();
        let derived = products.iter().map(Derived::of).collect();
        Ok(Self { products, derived })
    }

    /// Distinct offer ids in the batch.
    pub fn len(&self) -> usize {
        self.products.len()
    }

    pub fn is_empty(&self) -> bool {
        self.products.is_empty()
    }
}

impl Derived {
    fn of(p: &Product) -> Self {
        // Product serializes deterministically (fixed field order), so equal content gives
        // an equal hash across hosts and versions of this crate.
        let json = serde_json::to_string(p).unwrap_or_default();
        let hash = hex::encode(Sha256::digest(json.as_bytes()));
        Self {
            json,
            hash,
            category: (!p.category_path.is_empty()).then(|| p.category_path.join(" > ")),
        }
    }
}

async fn upsert_sqlite(
    pool: &SqlitePool,
    key: &FeedKey,
    run: &str,
    rows: &[NewRow<'_>],
) -> Result<(), StagingError> {
    let mut tx = begin(pool, "begin a batch").await?;
    for chunk in rows.chunks(SQLITE_ROWS) {
        let mut insert =
            QueryBuilder::<sqlx::Sqlite>::new(format!("INSERT INTO staged_products ({COLUMNS}) "));
        insert.push_values(chunk, |mut b, row| {
            b.push_bind(&key.tenant)
                .push_bind(&key.supplier)
                .push_bind(row.sku)
                .push_bind(row.name)
                .push_bind(row.brand)
                .push_bind(row.category)
                .push_bind(row.price)
                .push_bind(row.currency)
                .push_bind(row.quantity)
                .push_bind(row.availability)
                .push_bind(row.url)
                .push_bind(row.json)
                .push_bind(row.hash)
                .push_bind(run)
                .push_bind(run)
                .push_bind("created");
        });
        insert.push(SQLITE_CONFLICT.as_str());
        execute(insert.build(), &mut *tx, "upsert a batch").await?;
    }
    tx.commit()
        .await
        .map_err(StagingError::query("commit a batch"))
}

async fn upsert_postgres<'r>(
    pool: &PgPool,
    key: &FeedKey,
    run: &str,
    rows: &'r [NewRow<'r>],
) -> Result<(), StagingError> {
    let column = |f: fn(&'r NewRow<'r>) -> Option<&'r str>| rows.iter().map(f).collect::<Vec<_>>();
    sqlx::query(POSTGRES_UPSERT.as_str())
        .bind(&key.tenant)
        .bind(&key.supplier)
        .bind(run)
        .bind(column(|r| Some(r.sku)))
        .bind(column(|r| Some(r.name)))
        .bind(column(|r| r.brand))
        .bind(column(|r| r.category))
        .bind(column(|r| r.price))
        .bind(column(|r| r.currency))
        .bind(rows.iter().map(|r| r.quantity).collect::<Vec<_>>())
        .bind(column(|r| Some(r.availability)))
        .bind(column(|r| r.url))
        .bind(column(|r| Some(r.json)))
        .bind(column(|r| Some(r.hash)))
        .execute(pool)
        .await
        .map_err(StagingError::query("upsert a batch"))?;
    Ok(())
}

/// A product flattened into its columns.
struct NewRow<'a> {
    sku: &'a str,
    name: &'a str,
    brand: Option<&'a str>,
    category: Option<&'a str>,
    price: Option<&'a str>,
    currency: Option<&'a str>,
    quantity: Option<i64>,
    availability: &'static str,
    url: Option<&'a str>,
    json: &'a str,
    hash: &'a str,
}

impl<'a> NewRow<'a> {
    fn new(p: &'a Product, d: &'a Derived) -> Self {
        Self {
            sku: &p.offer_id,
            name: &p.name,
            brand: p.brand.as_deref(),
            category: d.category.as_deref(),
            price: p.price.as_deref(),
            currency: p.currency.as_deref(),
            quantity: p.quantity,
            availability: availability(p.availability),
            url: p.url.as_deref(),
            json: &d.json,
            hash: &d.hash,
        }
    }
}

fn availability(a: Availability) -> &'static str {
    use Availability as A;
    match a {
        A::InStock => "in_stock",
        A::OutOfStock => "out_of_stock",
        A::Preorder => "preorder",
        A::OnOrder => "on_order",
        A::Unknown => "unknown",
    }
}
