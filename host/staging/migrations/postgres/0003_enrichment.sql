-- Enrichment: each product's `enrichment` JSON (one record per task, as the original gardener
-- kept it) and its review `status` (`raw` until enriched, `pending_approval` once every task
-- is done). The index serves the enrichment step's query: a tenant's pending products in
-- (supplier, sku) order, page by page.
ALTER TABLE staged_products ADD COLUMN enrichment JSONB;
ALTER TABLE staged_products ADD COLUMN status TEXT NOT NULL DEFAULT 'raw';
DROP INDEX IF EXISTS staged_products_by_enrichment;
CREATE INDEX staged_products_pending ON staged_products (tenant, enrichment_status, supplier, sku);
