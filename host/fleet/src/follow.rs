//! A host following the fleet's releases: at start and on every announcement (or poll), serve
//! what the releases say, and report what this host serves and refused.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use contextworker_registry::{LiveModules, ReloadCause};
use contextworker_types::{Digest, ModuleName};
use sqlx::postgres::PgListener;

use crate::{Action, CHANNEL, Fleet, FleetError, HostView, ModuleView};

/// Who this host is and how often it looks without being told.
#[derive(Debug, Clone)]
pub struct FollowSettings {
    /// Unique in the fleet (the worker identity).
    pub identity: String,
    pub host_version: String,
    /// How often releases are read and this host reported without a notification: the bound
    /// on how late a host learns of a release whose announcement it missed.
    pub poll: Duration,
}

/// Refusals of released versions reported per host: the latest few are what a person needs.
const REPORTED_REFUSALS: usize = 10;

/// What one host remembers between rounds.
#[derive(Debug, Default)]
pub struct FollowState {
    applied: BTreeMap<ModuleName, Digest>,
    refusals: Vec<String>,
}

/// One round: modules the fleet has never released become their first release (the version
/// this host serves, once it is in the fleet's store); the releases are applied if they
/// changed; this host's row is written.
pub async fn sync_once(
    fleet: &Fleet,
    live: &LiveModules,
    settings: &FollowSettings,
    state: &mut FollowState,
) -> Result<(), FleetError> {
    let mut current = fleet.current().await?;
    let mut wrote = false;
    let snapshot = live.snapshot();
    for module in snapshot.modules() {
        if current.contains_key(module.name()) {
            continue;
        }
        // Released only once every host can load it.
        if let Err(e) = live.ensure_shared(module).await {
            tracing::warn!(module = %module.name(), "not released to the fleet yet: {e}");
            continue;
        }
        let version = module.manifest.version.to_string();
        let digest = module.component.digest();
        let first = fleet
            .release(
                module.name().as_str(),
                &digest,
                &version,
                Action::First,
                &settings.identity,
            )
            .await?;
        wrote |= first.is_some();
    }
    if wrote {
        current = fleet.current().await?;
    }
    let wanted: BTreeMap<ModuleName, Digest> = current
        .iter()
        .map(|(name, release)| (name.clone(), release.digest))
        .collect();
    if wanted != state.applied {
        live.set_releases(wanted.clone());
        let report = live.reload(ReloadCause::Release).await;
        for refusal in &report.refused {
            let module = refusal.module.as_deref().unwrap_or("?");
            let digest = module
                .parse::<ModuleName>()
                .ok()
                .and_then(|name| wanted.get(&name))
                .map_or_else(String::new, |d| format!(" {}", d.short()));
            state
                .refusals
                .push(format!("{module}{digest}: {}", refusal.reason));
        }
        let excess = state.refusals.len().saturating_sub(REPORTED_REFUSALS);
        state.refusals.drain(..excess);
        state.applied = wanted;
    }
    let snapshot = live.snapshot();
    let view = HostView {
        identity: settings.identity.clone(),
        host_version: settings.host_version.clone(),
        modules: snapshot
            .modules()
            .map(|m| {
                (
                    m.name().to_string(),
                    ModuleView {
                        digest: m.component.digest().to_string(),
                        version: m.manifest.version.to_string(),
                    },
                )
            })
            .collect(),
        refusals: state.refusals.clone(),
        last_seen_ms: 0,
    };
    fleet.report(&view).await
}

/// Follow the fleet until the task is dropped: a round at once, then on every announcement on
/// [`CHANNEL`] and every `poll`. Database trouble is logged and retried at the next poll; the
/// versions serving now keep serving.
pub async fn follow(fleet: Fleet, live: Arc<LiveModules>, settings: FollowSettings) {
    let mut state = FollowState::default();
    let mut listener: Option<PgListener> = None;
    loop {
        if listener.is_none() {
            listener = listen(&fleet).await;
        }
        if let Err(e) = sync_once(&fleet, &live, &settings, &mut state).await {
            tracing::warn!("fleet releases not followed this round: {e}");
        }
        match listener.as_mut() {
            Some(l) => {
                tokio::select! {
                    got = l.recv() => if let Err(e) = got {
                        tracing::warn!("fleet announcements lost, listening again: {e}");
                        listener = None;
                    },
                    () = tokio::time::sleep(settings.poll) => {}
                }
            }
            None => tokio::time::sleep(settings.poll).await,
        }
    }
}

async fn listen(fleet: &Fleet) -> Option<PgListener> {
    let mut listener = match PgListener::connect_with(fleet.pool()).await {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!("cannot listen for fleet releases (polling instead): {e}");
            return None;
        }
    };
    match listener.listen(CHANNEL).await {
        Ok(()) => Some(listener),
        Err(e) => {
            tracing::warn!("cannot listen for fleet releases (polling instead): {e}");
            None
        }
    }
}
