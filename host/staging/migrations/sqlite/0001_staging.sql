-- The staging buffer. One row per (tenant, supplier, sku); `sku` is the supplier's offer id.
CREATE TABLE staged_products (
    tenant            TEXT    NOT NULL,
    supplier          TEXT    NOT NULL,
    sku               TEXT    NOT NULL,
    name              TEXT    NOT NULL,
    brand             TEXT,
    category          TEXT,
    price             TEXT,
    currency          TEXT,
    quantity          INTEGER,
    availability      TEXT    NOT NULL,
    url               TEXT,
    product           TEXT    NOT NULL,
    content_hash      TEXT    NOT NULL,
    first_seen_run    TEXT    NOT NULL,
    last_seen_run     TEXT    NOT NULL,
    last_outcome      TEXT    NOT NULL,
    missing_since_run TEXT,
    enrichment_status TEXT    NOT NULL DEFAULT 'pending',
    created_at        TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at        TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (tenant, supplier, sku)
);
CREATE INDEX staged_products_by_run ON staged_products (tenant, supplier, last_seen_run);
CREATE INDEX staged_products_by_enrichment ON staged_products (tenant, enrichment_status);

CREATE TABLE feed_state (
    tenant        TEXT NOT NULL,
    supplier      TEXT NOT NULL,
    url           TEXT NOT NULL,
    etag          TEXT,
    last_modified TEXT,
    feed_digest   TEXT,
    last_run      TEXT NOT NULL,
    updated_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (tenant, supplier)
);

CREATE TABLE harvest_runs (
    run_id      TEXT    NOT NULL PRIMARY KEY,
    tenant      TEXT    NOT NULL,
    supplier    TEXT    NOT NULL,
    created     INTEGER NOT NULL,
    updated     INTEGER NOT NULL,
    unchanged   INTEGER NOT NULL,
    missing     INTEGER NOT NULL,
    finished_at TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
