//! Running a statement and reading its rows, generic over the backend: every failure is named
//! by what the statement was doing and classified once, by [`StagingError::query`].

use sqlx::query::Query;
use sqlx::{ColumnIndex, Database, Decode, Executor, IntoArguments, Pool, Row, Transaction, Type};

use crate::error::StagingError;

/// A transaction on `pool`; a failure to begin it is named `what`.
pub(super) async fn begin<DB: Database>(
    pool: &Pool<DB>,
    what: &'static str,
) -> Result<Transaction<'static, DB>, StagingError> {
    pool.begin().await.map_err(StagingError::query(what))
}

/// Run a statement that returns no rows; a failure is named `what`.
pub(super) async fn execute<'q, 'c, DB, A, E>(
    query: Query<'q, DB, A>,
    on: E,
    what: &'static str,
) -> Result<DB::QueryResult, StagingError>
where
    DB: Database,
    A: 'q + IntoArguments<'q, DB>,
    E: Executor<'c, Database = DB>,
{
    query.execute(on).await.map_err(StagingError::query(what))
}

/// Every row of a statement; a failure is named `what`.
pub(super) async fn fetch_all<'q, 'c, DB, A, E>(
    query: Query<'q, DB, A>,
    on: E,
    what: &'static str,
) -> Result<Vec<DB::Row>, StagingError>
where
    DB: Database,
    A: 'q + IntoArguments<'q, DB>,
    E: Executor<'c, Database = DB>,
{
    query.fetch_all(on).await.map_err(StagingError::query(what))
}

/// Each row read with `decode`; the first row that does not decode fails them all, named
/// `what`.
pub(super) fn decode_all<R, T>(
    rows: Vec<R>,
    what: &'static str,
    decode: impl FnMut(R) -> Result<T, sqlx::Error>,
) -> Result<Vec<T>, StagingError> {
    rows.into_iter()
        .map(decode)
        .collect::<Result<_, sqlx::Error>>()
        .map_err(StagingError::query(what))
}

/// One row of `SELECT <label>, COUNT(*) AS n … GROUP BY <label>`: the label and its count.
pub(super) fn label_count<R>(row: &R, label: &str) -> Result<(String, u64), sqlx::Error>
where
    R: Row,
    for<'a> &'a str: ColumnIndex<R>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
{
    let value: String = row.try_get(label)?;
    let n: i64 = row.try_get("n")?;
    Ok((value, u64::try_from(n).unwrap_or(0)))
}
