//! Releases: the newest row of a module is the version every host serves.

use std::collections::BTreeMap;

use contextworker_types::{Digest, ModuleName};
use serde::Serialize;
use sqlx::Row;

use crate::{CHANNEL, Fleet, FleetError};

/// How a release came to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// The version a host found in its modules directory when the fleet had none.
    First,
    /// `modules publish`.
    Publish,
    /// `modules rollback`: the version live before the one that was live.
    Rollback,
}

impl Action {
    fn as_str(self) -> &'static str {
        match self {
            Self::First => "first",
            Self::Publish => "publish",
            Self::Rollback => "rollback",
        }
    }

    fn parse(text: &str) -> Result<Self, FleetError> {
        Ok(match text {
            "first" => Self::First,
            "publish" => Self::Publish,
            "rollback" => Self::Rollback,
            other => {
                return Err(FleetError::BadRow {
                    what: "release action",
                    value: other.to_owned(),
                });
            }
        })
    }
}

/// One row of a module's release history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Release {
    pub id: i64,
    pub module: String,
    pub digest: Digest,
    pub version: String,
    /// What was released before this (none for the first).
    pub previous: Option<Digest>,
    pub action: Action,
    pub by: String,
    /// Unix milliseconds.
    pub at_ms: i64,
}

fn digest(text: &str) -> Result<Digest, FleetError> {
    text.parse().map_err(|_| FleetError::BadRow {
        what: "digest",
        value: text.to_owned(),
    })
}

const COLUMNS: &str = "id, module, digest, version, previous, action, by_whom, \
                       (extract(epoch from at) * 1000)::bigint AS at_ms";

fn release(row: &sqlx::postgres::PgRow) -> Result<Release, FleetError> {
    let previous: Option<String> = row.try_get("previous")?;
    Ok(Release {
        id: row.try_get("id")?,
        module: row.try_get("module")?,
        digest: digest(&row.try_get::<String, _>("digest")?)?,
        version: row.try_get("version")?,
        previous: previous.as_deref().map(digest).transpose()?,
        action: Action::parse(&row.try_get::<String, _>("action")?)?,
        by: row.try_get("by_whom")?,
        at_ms: row.try_get("at_ms")?,
    })
}

impl Fleet {
    /// The release of every module: what each host must serve.
    pub async fn current(&self) -> Result<BTreeMap<ModuleName, Release>, FleetError> {
        let rows = sqlx::query(&format!(
            "SELECT DISTINCT ON (module) {COLUMNS} FROM fleet_releases ORDER BY module, id DESC"
        ))
        .fetch_all(&self.pool)
        .await?;
        let mut out = BTreeMap::new();
        for row in &rows {
            let release = release(row)?;
            // A name this host cannot hold was not written by a host; leave it out.
            if let Ok(name) = release.module.parse::<ModuleName>() {
                out.insert(name, release);
            }
        }
        Ok(out)
    }

    /// A module's releases, newest first.
    pub async fn history(&self, module: &str) -> Result<Vec<Release>, FleetError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM fleet_releases WHERE module = $1 ORDER BY id DESC"
        ))
        .bind(module)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(release).collect()
    }

    /// Make `digest` the release of `module`. Returns the new row, or `None` when it already
    /// was the release (nothing written, nobody notified). With [`Action::First`], only when
    /// the module has no release at all: the first of several hosts starting at once wins.
    pub async fn release(
        &self,
        module: &str,
        digest: &Digest,
        version: &str,
        action: Action,
        by: &str,
    ) -> Result<Option<Release>, FleetError> {
        let mut tx = self.pool.begin().await?;
        // One writer per module at a time, so `previous` is what was really live before.
        sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1))")
            .bind(format!("{CHANNEL}:{module}"))
            .execute(&mut *tx)
            .await?;
        let newest = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM fleet_releases WHERE module = $1 ORDER BY id DESC LIMIT 1"
        ))
        .bind(module)
        .fetch_optional(&mut *tx)
        .await?
        .map(|row| release(&row))
        .transpose()?;
        let already = match &newest {
            Some(_) if action == Action::First => true,
            Some(current) => current.digest == *digest,
            None => false,
        };
        if already {
            return Ok(None);
        }
        let row = sqlx::query(&format!(
            "INSERT INTO fleet_releases (module, digest, version, previous, action, by_whom) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING {COLUMNS}"
        ))
        .bind(module)
        .bind(digest.to_string())
        .bind(version)
        .bind(newest.map(|r| r.digest.to_string()))
        .bind(action.as_str())
        .bind(by)
        .fetch_one(&mut *tx)
        .await?;
        let written = release(&row)?;
        // Delivered at commit, to every host listening.
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANNEL)
            .bind(module)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Some(written))
    }

    /// Release again the version that was live before the one live now.
    pub async fn rollback(&self, module: &str, by: &str) -> Result<Release, FleetError> {
        let history = self.history(module).await?;
        let current = history
            .first()
            .ok_or_else(|| FleetError::NeverReleased(module.to_owned()))?;
        let target = current
            .previous
            .ok_or_else(|| FleetError::NothingToRollBack {
                module: module.to_owned(),
                current: current.digest.short(),
            })?;
        let version = history
            .iter()
            .find(|r| r.digest == target)
            .map_or_else(String::new, |r| r.version.clone());
        let written = self
            .release(module, &target, &version, Action::Rollback, by)
            .await?;
        // Someone else released `target` in between: it is live, which is what was asked.
        match written {
            Some(release) => Ok(release),
            None => self
                .history(module)
                .await?
                .into_iter()
                .next()
                .ok_or_else(|| FleetError::NeverReleased(module.to_owned())),
        }
    }
}
