-- The staging buffer. One row per (tenant, supplier, sku); `sku` is the supplier's offer id.
-- Prices stay exact decimal strings, as the modules produced them.
CREATE TABLE staged_products (
    tenant            TEXT        NOT NULL,
    supplier          TEXT        NOT NULL,
    sku               TEXT        NOT NULL,
    name              TEXT        NOT NULL,
    brand             TEXT,
    category          TEXT,
    price             TEXT,
    currency          TEXT,
    quantity          BIGINT,
    availability      TEXT        NOT NULL,
    url               TEXT,
    product           JSONB       NOT NULL,
    content_hash      TEXT        NOT NULL,
    first_seen_run    TEXT        NOT NULL,
    last_seen_run     TEXT        NOT NULL,
    last_outcome      TEXT        NOT NULL,
    missing_since_run TEXT,
    enrichment_status TEXT        NOT NULL DEFAULT 'pending',
    created_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant, supplier, sku)
);
CREATE INDEX staged_products_by_run ON staged_products (tenant, supplier, last_seen_run);
CREATE INDEX staged_products_by_enrichment ON staged_products (tenant, enrichment_status);

CREATE TABLE feed_state (
    tenant        TEXT        NOT NULL,
    supplier      TEXT        NOT NULL,
    url           TEXT        NOT NULL,
    etag          TEXT,
    last_modified TEXT,
    feed_digest   TEXT,
    last_run      TEXT        NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant, supplier)
);

CREATE TABLE harvest_runs (
    run_id      TEXT        NOT NULL PRIMARY KEY,
    tenant      TEXT        NOT NULL,
    supplier    TEXT        NOT NULL,
    created     BIGINT      NOT NULL,
    updated     BIGINT      NOT NULL,
    unchanged   BIGINT      NOT NULL,
    missing     BIGINT      NOT NULL,
    finished_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
