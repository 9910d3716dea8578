//! The fleet's errors: the database, or a release that cannot be made.

#[derive(Debug, thiserror::Error)]
pub enum FleetError {
    #[error("the fleet's database {url}: {source}")]
    Connect {
        url: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("the fleet's database: {0}")]
    Database(#[from] sqlx::Error),
    /// A rollback with nothing to go back to.
    #[error("module `{module}` has no release before the current one ({current}) to roll back to")]
    NothingToRollBack { module: String, current: String },
    /// A rollback or a query about a module the fleet never released.
    #[error("module `{0}` has never been released in this fleet")]
    NeverReleased(String),
    /// A row that does not hold what this host wrote there (a digest that does not parse).
    #[error("the fleet's database holds a bad {what}: {value:?}")]
    BadRow { what: &'static str, value: String },
}
