//! The fleet's tables. `CREATE … IF NOT EXISTS` alone is not safe when two hosts start at the
//! same moment on an empty database (both may try to create the same type and one fails on a
//! unique index of the catalog), so the creation runs under a transaction-scoped advisory lock.

use sqlx::PgPool;

use crate::FleetError;

/// Any fixed number: the lock is about these tables, in this database.
const MIGRATION_LOCK: i64 = 0x636f_6e74_6578_7401;

const TABLES: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS fleet_releases (
        id BIGSERIAL PRIMARY KEY,
        module TEXT NOT NULL,
        digest TEXT NOT NULL,
        version TEXT NOT NULL,
        previous TEXT,
        action TEXT NOT NULL CHECK (action IN ('first', 'publish', 'rollback')),
        by_whom TEXT NOT NULL,
        at TIMESTAMPTZ NOT NULL DEFAULT now()
    )",
    "CREATE INDEX IF NOT EXISTS fleet_releases_newest ON fleet_releases (module, id DESC)",
    "CREATE TABLE IF NOT EXISTS fleet_hosts (
        identity TEXT PRIMARY KEY,
        host_version TEXT NOT NULL,
        modules JSONB NOT NULL,
        refusals JSONB NOT NULL,
        last_seen TIMESTAMPTZ NOT NULL
    )",
];

pub(crate) async fn migrate(pool: &PgPool) -> Result<(), FleetError> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(MIGRATION_LOCK)
        .execute(&mut *tx)
        .await?;
    // `IF NOT EXISTS` on existing tables makes PostgreSQL send a NOTICE per statement, which
    // sqlx logs at INFO: noise in every fleet command's output.
    sqlx::query("SET LOCAL client_min_messages = warning")
        .execute(&mut *tx)
        .await?;
    for statement in TABLES {
        sqlx::query(statement).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(())
}
