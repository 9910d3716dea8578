//! Migrations, embedded in the binary, one list per backend. A new migration is a new file
//! and a new entry here; applied migrations are never edited (sqlx checks their checksums).

use std::borrow::Cow;

use futures::future::BoxFuture;
use sqlx::migrate::{Migration, MigrationSource, MigrationType};

pub(crate) const SQLITE: &[(i64, &str, &str)] = &[
    (
        1,
        "staging",
        include_str!("../migrations/sqlite/0001_staging.sql"),
    ),
    (
        2,
        "no run index",
        include_str!("../migrations/sqlite/0002_no_run_index.sql"),
    ),
    (
        3,
        "enrichment",
        include_str!("../migrations/sqlite/0003_enrichment.sql"),
    ),
];

pub(crate) const POSTGRES: &[(i64, &str, &str)] = &[
    (
        1,
        "staging",
        include_str!("../migrations/postgres/0001_staging.sql"),
    ),
    (
        2,
        "no run index",
        include_str!("../migrations/postgres/0002_no_run_index.sql"),
    ),
    (
        3,
        "enrichment",
        include_str!("../migrations/postgres/0003_enrichment.sql"),
    ),
];

/// A migration source over one of the lists above.
#[derive(Debug)]
pub(crate) struct Embedded(pub(crate) &'static [(i64, &'static str, &'static str)]);

impl<'s> MigrationSource<'s> for Embedded {
    fn resolve(self) -> BoxFuture<'s, Result<Vec<Migration>, sqlx::error::BoxDynError>> {
        let migrations = self
            .0
            .iter()
            .map(|(version, description, sql)| {
                Migration::new(
                    *version,
                    Cow::Borrowed(*description),
                    MigrationType::Simple,
                    Cow::Borrowed(*sql),
                    false,
                )
            })
            .collect();
        Box::pin(std::future::ready(Ok(migrations)))
    }
}
