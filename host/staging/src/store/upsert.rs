//! Staging a batch: one upsert per chunk of rows, deciding each row's outcome (created,
//! updated, unchanged) against what the table already holds, inside one transaction.

use std::collections::{HashMap, HashSet};

use contextworker_types::{Availability, Product};
use sha2::{Digest as _, Sha256};
use sqlx::{QueryBuilder, Row};

use super::{Staging, where_catalog, with_pool};
use crate::error::StagingError;
use crate::{BATCH_ROWS, FeedKey};

impl Staging {
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
        let mut seen = HashSet::new();
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
                 FROM staged_products",
            );
            where_catalog(&mut select, key);
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
