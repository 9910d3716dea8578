use contextworker_types::{ErrorClass, Retry};

/// Staging errors. Database trouble is retryable; a refused migration, a product the database
/// cannot hold, and an error the data itself caused are not.
#[derive(Debug, thiserror::Error)]
pub enum StagingError {
    /// Checked before the batch reached the database; the batch was not written.
    #[error("{0}")]
    InvalidProduct(#[from] crate::check::InvalidProduct),
    /// The database refused the data itself (SQLSTATE class 22 data exception, 23 integrity
    /// constraint, 54 program limit; SQLite's constraint, too-big and mismatch codes): the same
    /// batch would be refused again.
    #[error("staging database refused the data, {what}: {source}")]
    Rejected {
        what: &'static str,
        #[source]
        source: sqlx::Error,
    },
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
    /// A row holds what this host cannot read back (edited by hand, or written by a newer
    /// host): the same read would fail again.
    #[error("staging database, {what}: {reason}")]
    Corrupt { what: String, reason: String },
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
        self.class().retry() == Retry::Yes
    }

    pub fn class(&self) -> ErrorClass {
        match self {
            Self::InvalidProduct(_) => ErrorClass::InvalidProducts,
            Self::Rejected { .. } | Self::Corrupt { .. } => ErrorClass::StagingRejected,
            Self::Url { .. } => ErrorClass::StagingMisconfigured,
            Self::Migrate { .. } => ErrorClass::StagingMigrationFailed,
            Self::Connect { .. } | Self::Query { .. } => ErrorClass::StagingUnavailable,
        }
    }

    /// A failed statement: refused data is [`Self::Rejected`], anything else (connections,
    /// timeouts, locks) a retryable [`Self::Query`].
    pub(crate) fn query(what: &'static str) -> impl FnOnce(sqlx::Error) -> Self {
        move |source| {
            if caused_by_data(&source) {
                Self::Rejected { what, source }
            } else {
                Self::Query { what, source }
            }
        }
    }
}

/// Whether the database refused the statement because of the values in it.
fn caused_by_data(e: &sqlx::Error) -> bool {
    let Some(db) = e.as_database_error() else {
        return false;
    };
    let Some(code) = db.code() else {
        return false;
    };
    if let Some(pg) = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
        // SQLSTATE class: 22 data exception, 23 integrity constraint violation, 54 program
        // limit exceeded (an index row too large).
        return matches!(&pg.code()[..2], "22" | "23" | "54");
    }
    // SQLite: extended result codes; the primary code is the low byte. 18 TOOBIG,
    // 19 CONSTRAINT, 20 MISMATCH.
    code.parse::<u32>()
        .is_ok_and(|c| matches!(c & 0xff, 18..=20))
}
