//! Each host's view of the fleet, as it reports it: what it serves, what it refused, when it
//! was last seen. `modules list --fleet` reads it; a publish waits on it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::{Fleet, FleetError};

/// A host not seen for this long is forgotten: it crashed or was removed without stopping
/// cleanly (a host that stops cleanly removes its own row). Long enough that a host cut off
/// from the database over a weekend is still listed, short enough that the table stays small.
const FORGET_AFTER_DAYS: i32 = 7;

/// What one host serves of a module.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModuleView {
    pub digest: String,
    pub version: String,
}

/// One host, as it last reported itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostView {
    pub identity: String,
    pub host_version: String,
    pub modules: BTreeMap<String, ModuleView>,
    /// Its latest refusals of released versions, newest last ("module shortdigest: reason").
    pub refusals: Vec<String>,
    /// Unix milliseconds; 0 until read back from the database.
    #[serde(default)]
    pub last_seen_ms: i64,
}

impl Fleet {
    /// Write this host's row (seen now).
    pub async fn report(&self, view: &HostView) -> Result<(), FleetError> {
        let json = |v: serde_json::Result<String>| v.unwrap_or_else(|_| "null".to_owned());
        sqlx::query(
            "INSERT INTO fleet_hosts (identity, host_version, modules, refusals, last_seen) \
             VALUES ($1, $2, $3::jsonb, $4::jsonb, now()) \
             ON CONFLICT (identity) DO UPDATE SET host_version = EXCLUDED.host_version, \
             modules = EXCLUDED.modules, refusals = EXCLUDED.refusals, last_seen = now()",
        )
        .bind(&view.identity)
        .bind(&view.host_version)
        .bind(json(serde_json::to_string(&view.modules)))
        .bind(json(serde_json::to_string(&view.refusals)))
        .execute(&self.pool)
        .await?;
        sqlx::query("DELETE FROM fleet_hosts WHERE last_seen < now() - make_interval(days => $1)")
            .bind(FORGET_AFTER_DAYS)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Remove this host's row: it is stopping on purpose, so a publish should not wait for it
    /// and a listing should not show it.
    pub async fn leave(&self, identity: &str) -> Result<(), FleetError> {
        sqlx::query("DELETE FROM fleet_hosts WHERE identity = $1")
            .bind(identity)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Every host that ever reported, most recently seen first.
    pub async fn hosts(&self) -> Result<Vec<HostView>, FleetError> {
        let rows = sqlx::query(
            "SELECT identity, host_version, modules::text AS modules, refusals::text AS refusals, \
             (extract(epoch from last_seen) * 1000)::bigint AS last_seen_ms \
             FROM fleet_hosts ORDER BY last_seen DESC",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let bad = |what: &'static str, value: String| FleetError::BadRow { what, value };
                let modules: String = row.try_get("modules")?;
                let refusals: String = row.try_get("refusals")?;
                Ok(HostView {
                    identity: row.try_get("identity")?,
                    host_version: row.try_get("host_version")?,
                    modules: serde_json::from_str(&modules)
                        .map_err(|_| bad("host's modules", modules.clone()))?,
                    refusals: serde_json::from_str(&refusals)
                        .map_err(|_| bad("host's refusals", refusals.clone()))?,
                    last_seen_ms: row.try_get("last_seen_ms")?,
                })
            })
            .collect()
    }
}
