//! Following one module across swaps, for a part that keeps its own copy of the module's
//! component (the ExecuteCode JavaScript engine): the registry owns when a version changes, the
//! follower only says what to do with the new bytes.

use std::sync::Arc;

use contextworker_runtime::CancellationToken;
use contextworker_types::{Digest, World};

use super::LiveModules;

/// The active version of a followed module, as the version store holds it: exactly what was
/// validated (the file in the modules directory may already be newer).
#[derive(Debug, Clone)]
pub struct FollowedVersion {
    pub digest: Digest,
    pub bytes: Vec<u8>,
}

impl LiveModules {
    /// The active version of module `name` of `world`, read from the version store; `None`
    /// when no such module serves.
    pub async fn active_component(
        &self,
        name: &str,
        world: World,
    ) -> std::io::Result<Option<FollowedVersion>> {
        let Some(digest) = self.active_digest(name, world) else {
            return Ok(None);
        };
        let bytes = tokio::fs::read(self.store.component_path(&digest)).await?;
        Ok(Some(FollowedVersion { digest, bytes }))
    }

    fn active_digest(&self, name: &str, world: World) -> Option<Digest> {
        self.get(name)
            .filter(|m| m.manifest.world == world)
            .map(|m| m.component.digest())
    }

    /// Call `on_change` whenever a reload changes which version of `name` (of `world`) is
    /// active, with that version (or `None` when the module left), until `stop`. `current` is
    /// the digest the caller holds now, so a reload that kept it calls nothing.
    pub fn follow(
        self: &Arc<Self>,
        name: &str,
        world: World,
        current: Option<Digest>,
        stop: CancellationToken,
        on_change: impl Fn(Option<FollowedVersion>) + Send + 'static,
    ) {
        let live = Arc::clone(self);
        let name = name.to_owned();
        let mut changes = self.subscribe();
        let mut held = current;
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = stop.cancelled() => return,
                    changed = changes.changed() => if changed.is_err() { return },
                }
                let wanted = live.active_digest(&name, world);
                if wanted == held {
                    continue;
                }
                let version = match live.active_component(&name, world).await {
                    Ok(version) => version,
                    Err(e) => {
                        // The store is written before a version goes live, so this is a disk
                        // fault; the held version keeps serving and the next reload retries.
                        tracing::warn!(
                            module = %name,
                            "the new active version cannot be read from the version store: {e}"
                        );
                        continue;
                    }
                };
                held = version.as_ref().map(|v| v.digest);
                on_change(version);
            }
        });
    }
}
