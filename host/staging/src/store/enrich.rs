//! The enrichment step's side of the buffer: which products of a tenant wait for enrichment,
//! reading them with their current records, and writing the results back.
//!
//! A result is written only while the row still holds the content it was computed from (the
//! content hash read with it): a harvest that changed the product in between has already set
//! it back to `pending`, and the stale result must not overwrite that.

use std::collections::BTreeSet;

use contextworker_types::{Product, ProductRef};
use sqlx::{QueryBuilder, Row};

use super::statement::{begin, decode_all, execute, fetch_all, label_count};
use super::{Staging, with_pool};
use crate::error::StagingError;

/// A product to enrich, as staged now.
#[derive(Debug, Clone, PartialEq)]
pub struct EnrichmentSubject {
    pub product_ref: ProductRef,
    pub content_hash: String,
    pub product: Product,
    /// The product's `enrichment` JSON text, when it has one.
    pub enrichment: Option<String>,
}

/// One product's result, to be written if its content is still `content_hash`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnrichmentWrite {
    pub product_ref: ProductRef,
    pub content_hash: String,
    /// The whole `enrichment` JSON object.
    pub enrichment: String,
    pub enrichment_status: &'static str,
    pub status: &'static str,
}

/// A tenant's listed products by enrichment status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StatusCounts {
    pub pending: u64,
    pub done: u64,
    pub error: u64,
}

/// Products read or written per statement: bounds the statement's parameters (three per
/// product) well under SQLite's 32,766.
pub const MAX_REFS: usize = 1_000;

impl Staging {
    /// Up to `limit` listed products of `tenant` waiting for enrichment, in (supplier, sku)
    /// order after `after`, optionally of one supplier only.
    pub async fn pending_products(
        &self,
        tenant: &str,
        supplier: Option<&str>,
        after: Option<&ProductRef>,
        limit: u32,
    ) -> Result<Vec<ProductRef>, StagingError> {
        with_pool!(self, |pool, Db, _d| {
            let mut q = QueryBuilder::<Db>::new("SELECT supplier, sku FROM staged_products");
            q.push(" WHERE tenant = ");
            q.push_bind(tenant);
            q.push(" AND enrichment_status = 'pending' AND missing_since_run IS NULL");
            if let Some(supplier) = supplier {
                q.push(" AND supplier = ");
                q.push_bind(supplier);
            }
            if let Some(after) = after {
                q.push(" AND (supplier > ");
                q.push_bind(&after.supplier);
                q.push(" OR (supplier = ");
                q.push_bind(&after.supplier);
                q.push(" AND sku > ");
                q.push_bind(&after.sku);
                q.push("))");
            }
            q.push(" ORDER BY supplier, sku LIMIT ");
            q.push_bind(i64::from(limit));
            let rows = fetch_all(q.build(), pool, "select pending products").await?;
            decode_all(rows, "decode pending products", |r| {
                Ok(ProductRef {
                    supplier: r.try_get("supplier")?,
                    sku: r.try_get("sku")?,
                })
            })
        })
    }

    /// The listed products among `refs` (at most [`MAX_REFS`]), with their content hash and
    /// enrichment record; unknown and missing ones are left out.
    pub async fn enrichment_subjects(
        &self,
        tenant: &str,
        refs: &[ProductRef],
    ) -> Result<Vec<EnrichmentSubject>, StagingError> {
        if refs.is_empty() {
            return Ok(Vec::new());
        }
        let refs: BTreeSet<&ProductRef> = refs[..refs.len().min(MAX_REFS)].iter().collect();
        with_pool!(self, |pool, Db, d| {
            // The wanted keys joined to the primary key: one index lookup per product. A chain
            // of `(supplier = ? AND sku = ?) OR …` made both databases scan the tenant's rows,
            // so each batch cost time in proportion to the catalog (0.4 s a batch at 100,000).
            let mut q = QueryBuilder::<Db>::new("WITH wanted (supplier, sku) AS (VALUES ");
            for (i, r) in refs.iter().enumerate() {
                if i > 0 {
                    q.push(", ");
                }
                q.push("(");
                q.push_bind(&r.supplier);
                q.push(", ");
                q.push_bind(&r.sku);
                q.push(")");
            }
            q.push(format!(
                ") SELECT p.supplier, p.sku, p.content_hash, p.product{json} AS product, \
                 p.enrichment{json} AS enrichment FROM wanted JOIN staged_products p \
                 ON p.tenant = ",
                json = d.json_out
            ));
            q.push_bind(tenant);
            q.push(
                " AND p.supplier = wanted.supplier AND p.sku = wanted.sku \
                 WHERE p.missing_since_run IS NULL ORDER BY p.supplier, p.sku",
            );
            let rows = fetch_all(q.build(), pool, "read products to enrich").await?;
            rows.into_iter()
                .map(|r| {
                    let fields = (|| {
                        Ok::<_, sqlx::Error>((
                            ProductRef {
                                supplier: r.try_get("supplier")?,
                                sku: r.try_get("sku")?,
                            },
                            r.try_get::<String, _>("content_hash")?,
                            r.try_get::<String, _>("product")?,
                            r.try_get::<Option<String>, _>("enrichment")?,
                        ))
                    })();
                    let (product_ref, content_hash, text, enrichment) =
                        fields.map_err(StagingError::query("decode products to enrich"))?;
                    let product =
                        serde_json::from_str(&text).map_err(|e| StagingError::Corrupt {
                            what: format!("the staged product {product_ref}"),
                            reason: e.to_string(),
                        })?;
                    Ok(EnrichmentSubject {
                        product_ref,
                        content_hash,
                        product,
                        enrichment,
                    })
                })
                .collect()
        })
    }

    /// Write results in one transaction; a row whose content changed since it was read is
    /// left as the harvest left it. Returns the rows written.
    pub async fn write_enrichment(
        &self,
        tenant: &str,
        writes: &[EnrichmentWrite],
    ) -> Result<u64, StagingError> {
        with_pool!(self, |pool, Db, d| {
            let mut tx = begin(pool, "begin writing enrichment").await?;
            let mut written = 0;
            for w in writes {
                let mut q = QueryBuilder::<Db>::new("UPDATE staged_products SET enrichment = ");
                q.push_bind(&w.enrichment);
                q.push(d.json_in);
                q.push(", enrichment_status = ");
                q.push_bind(w.enrichment_status);
                q.push(", status = ");
                q.push_bind(w.status);
                q.push(" WHERE tenant = ");
                q.push_bind(tenant);
                q.push(" AND supplier = ");
                q.push_bind(&w.product_ref.supplier);
                q.push(" AND sku = ");
                q.push_bind(&w.product_ref.sku);
                q.push(" AND content_hash = ");
                q.push_bind(&w.content_hash);
                written += execute(q.build(), &mut *tx, "write enrichment")
                    .await?
                    .rows_affected();
            }
            tx.commit()
                .await
                .map_err(StagingError::query("commit enrichment"))?;
            Ok(written)
        })
    }

    /// How many listed products of `tenant` (of one supplier, if given) stand at each
    /// enrichment status.
    pub async fn enrichment_counts(
        &self,
        tenant: &str,
        supplier: Option<&str>,
    ) -> Result<StatusCounts, StagingError> {
        with_pool!(self, |pool, Db, _d| {
            let mut q = QueryBuilder::<Db>::new(
                "SELECT enrichment_status, COUNT(*) AS n FROM staged_products WHERE tenant = ",
            );
            q.push_bind(tenant);
            q.push(" AND missing_since_run IS NULL");
            if let Some(supplier) = supplier {
                q.push(" AND supplier = ");
                q.push_bind(supplier);
            }
            q.push(" GROUP BY enrichment_status");
            let rows = fetch_all(q.build(), pool, "count enrichment statuses").await?;
            let mut counts = StatusCounts::default();
            for (status, n) in decode_all(rows, "decode enrichment counts", |r| {
                label_count(&r, "enrichment_status")
            })? {
                match status.as_str() {
                    "pending" => counts.pending += n,
                    "done" => counts.done += n,
                    _ => counts.error += n,
                }
            }
            Ok(counts)
        })
    }
}
