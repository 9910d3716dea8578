//! The two backends behind one API: opening and migrating the pool. The SQL is shared; where
//! the dialects differ (JSON column type, the current time) a [`Dialect`] says how, and sqlx's
//! query builder writes each backend's placeholders. The statements live in the children, one
//! job each: staging a batch, closing a run, reading a catalog back.

mod enrich;
mod finish;
mod read;
mod statement;
mod upsert;

use std::str::FromStr;
use std::time::Duration;

use serde::Serialize;
use sqlx::QueryBuilder;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};

use crate::FeedKey;
use crate::error::StagingError;
use crate::schema::{Embedded, POSTGRES, SQLITE};

pub use enrich::{EnrichmentSubject, EnrichmentWrite, MAX_REFS, StatusCounts};
pub use finish::{FeedState, RunCounts};
pub use read::StagedRow;
pub use upsert::Batch;

/// Which database holds the buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    Sqlite,
    Postgres,
}

struct Dialect {
    now: &'static str,
    /// Appended to a JSON column read as text, and to a placeholder bound as JSON text.
    json_out: &'static str,
    json_in: &'static str,
    /// The backend's own migrations (the schema is the same; the SQL is each dialect's).
    migrations: &'static [(i64, &'static str, &'static str)],
}

const SQLITE_DIALECT: Dialect = Dialect {
    now: "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
    json_out: "",
    json_in: "",
    migrations: SQLITE,
};
const POSTGRES_DIALECT: Dialect = Dialect {
    now: "now()",
    json_out: "::text",
    json_in: "::jsonb",
    migrations: POSTGRES,
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
            $crate::store::Pool::Sqlite($pool) => {
                #[allow(dead_code)]
                type $db = sqlx::Sqlite;
                let $d = &$crate::store::SQLITE_DIALECT;
                $body
            }
            $crate::store::Pool::Postgres($pool) => {
                #[allow(dead_code)]
                type $db = sqlx::Postgres;
                let $d = &$crate::store::POSTGRES_DIALECT;
                $body
            }
        }
    };
}
use with_pool;

/// Appends ` WHERE tenant = ? AND supplier = ?`: the condition that confines a statement to
/// one catalog, written once so no statement can leave half of it out.
fn where_catalog<'a, DB>(q: &mut QueryBuilder<'a, DB>, key: &'a FeedKey)
where
    DB: sqlx::Database,
    &'a String: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    q.push(" WHERE tenant = ");
    q.push_bind(&key.tenant);
    q.push(" AND supplier = ");
    q.push_bind(&key.supplier);
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
        // migrate once. A host older than the database (a fleet mid-upgrade) still starts:
        // migrations only ever add or drop what older code does not depend on, so the ones it
        // does not know are ignored rather than refused.
        with_pool!(self, |pool, _Db, d| {
            let mut migrator = sqlx::migrate::Migrator::new(Embedded(d.migrations))
                .await
                .map_err(migrate)?;
            migrator.set_ignore_missing(true);
            migrator.run(pool).await.map_err(migrate)
        })
    }

    /// One round trip to the database (`SELECT 1`): for readiness checks.
    pub async fn ping(&self) -> Result<(), String> {
        with_pool!(self, |pool, _Db, _d| {
            sqlx::query("SELECT 1")
                .execute(pool)
                .await
                .map(drop)
                .map_err(|e| e.to_string())
        })
    }

    pub async fn close(&self) {
        match &self.pool {
            Pool::Sqlite(p) => p.close().await,
            Pool::Postgres(p) => p.close().await,
        }
    }
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
