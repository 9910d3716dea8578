//! The fleet's shared state that is not in Temporal or the bucket: which version of each module
//! is released (with its history: who, when, from which digest to which) and which hosts are
//! running with what, in the PostgreSQL database the fleet already shares.
//!
//! A release is a row; the newest row of a module is what every host must serve. Writing one
//! (`publish`, `rollback`, a host's first start on an empty fleet) happens in a transaction
//! under a per-module advisory lock and ends with `NOTIFY contextworker_releases`, so hosts
//! learn of it at once; each host also polls, for a notification lost while its connection
//! was down. Each host then validates the version itself (the registry's usual checks) and
//! swaps, or refuses and says why in its row of `fleet_hosts`.

mod error;
mod follow;
mod hosts;
mod releases;
mod schema;

pub use error::FleetError;
pub use follow::{FollowSettings, FollowState, follow, sync_once};
pub use hosts::{HostView, ModuleView};
pub use releases::{Action, Release};

use sqlx::PgPool;

/// The channel releases are announced on.
pub const CHANNEL: &str = "contextworker_releases";

/// A connection to the fleet's database, its tables in place.
#[derive(Debug, Clone)]
pub struct Fleet {
    pool: PgPool,
}

impl Fleet {
    /// Connect to `url` (a `postgres://` URL) and create the fleet's tables if they are not
    /// there; safe when several hosts start at once.
    pub async fn connect(url: &str) -> Result<Self, FleetError> {
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(4)
            .acquire_timeout(std::time::Duration::from_secs(10))
            .connect(url)
            .await
            .map_err(|source| FleetError::Connect {
                url: redact(url),
                source,
            })?;
        schema::migrate(&pool).await?;
        Ok(Self { pool })
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

/// `url` without its password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{}{user}@{}", &url[..scheme + 3], &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_stay_out_of_messages() {
        assert_eq!(
            super::redact("postgres://app:s3cret@db:5432/x"),
            "postgres://app@db:5432/x"
        );
        assert_eq!(
            super::redact("postgres://127.0.0.1/test"),
            "postgres://127.0.0.1/test"
        );
    }
}
