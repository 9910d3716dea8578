/// Staging errors. Database trouble is retryable; a refused migration is not.
#[derive(Debug, thiserror::Error)]
pub enum StagingError {
    #[error("staging database URL {url:?}: {reason}")]
    Url { url: String, reason: String },
    #[error("cannot open the staging database {url}: {source}")]
    Connect {
        url: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("migrating the staging database {url}: {source}")]
    Migrate {
        url: String,
        #[source]
        source: sqlx::migrate::MigrateError,
    },
    #[error("staging database, {what}: {source}")]
    Query {
        what: &'static str,
        #[source]
        source: sqlx::Error,
    },
}

impl StagingError {
    /// Connection and query failures (database restarting, pool exhausted, lock timeouts)
    /// are worth another attempt; bad URLs and failed migrations need an operator.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Connect { .. } | Self::Query { .. })
    }

    pub fn type_name(&self) -> &'static str {
        match self {
            Self::Url { .. } => "StagingMisconfigured",
            Self::Migrate { .. } => "StagingMigrationFailed",
            Self::Connect { .. } | Self::Query { .. } => "StagingUnavailable",
        }
    }

    pub(crate) fn query(what: &'static str) -> impl FnOnce(sqlx::Error) -> Self {
        move |source| Self::Query { what, source }
    }
}
