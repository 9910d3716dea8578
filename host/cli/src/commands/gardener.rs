//! `--gardener-interval`: for deployments without schedules, a `GardenerWorkflow` pass per
//! tenant at that interval, as the original's `HarvesterScheduler` polled every
//! `GARDENER_POLL_INTERVAL_SEC`.
//!
//! The tenants are those with a tenant file or a supplier file. Each pass has the id
//! `gardener:<tenant>` and starts only when none runs, so a slow pass is never doubled and
//! several hosts polling the same cluster start each pass once.

use std::path::{Path, PathBuf};
use std::time::Duration;

use contextworker_config::Supplier;
use contextworker_runtime::CancellationToken;
use contextworker_temporal::messages::names;
use contextworker_temporal::starter::{self, StartError, StartExtras};

pub struct Gardener {
    pub client: contextworker_temporal::Client,
    pub suppliers_dir: PathBuf,
    pub tenants_dir: PathBuf,
    pub queue: String,
    pub every: Duration,
}

impl Gardener {
    /// Poll until `stop`: the first pass after one interval, as the original did.
    pub fn spawn(self, stop: CancellationToken) {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(self.every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await;
            loop {
                tokio::select! {
                    () = stop.cancelled() => return,
                    _ = tick.tick() => {}
                }
                for tenant in tenants(&self.suppliers_dir, &self.tenants_dir) {
                    self.start(&tenant).await;
                }
            }
        });
    }

    async fn start(&self, tenant: &str) {
        let id = contextworker_temporal::ids::gardener(tenant);
        match starter::start(
            &self.client,
            names::GARDENER_WORKFLOW,
            &[serde_json::json!(tenant)],
            &id,
            &self.queue,
            &StartExtras::exclusive(tenant),
        )
        .await
        {
            Ok(started) => {
                tracing::info!(workflow_id = %id, run_id = %started.run_id, "gardener pass started")
            }
            Err(StartError::AlreadyRunning { .. }) => {
                tracing::debug!(workflow_id = %id, "the last gardener pass is still running");
            }
            Err(e) => tracing::warn!(workflow_id = %id, "gardener pass not started: {e}"),
        }
    }
}

/// Every tenant with a tenant file or an enabled supplier file.
fn tenants(suppliers_dir: &Path, tenants_dir: &Path) -> Vec<String> {
    let suppliers = match Supplier::load_dir(suppliers_dir) {
        Ok((suppliers, _)) => suppliers,
        Err(e) => {
            tracing::warn!("gardener: {e}");
            Vec::new()
        }
    };
    crate::context::known_tenants(&suppliers, tenants_dir)
        .into_iter()
        .map(String::from)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenants_come_from_supplier_and_tenant_files_once_each() {
        let dir = tempfile::tempdir().unwrap();
        let suppliers = dir.path().join("suppliers");
        let tenants_dir = dir.path().join("tenants");
        std::fs::create_dir_all(&suppliers).unwrap();
        std::fs::create_dir_all(&tenants_dir).unwrap();
        for (code, tenant, enabled) in [
            ("a", "acme", true),
            ("b", "beta", false),
            ("c", "acme", true),
        ] {
            std::fs::write(
                suppliers.join(format!("{code}.toml")),
                format!("code = \"{code}\"\nname = \"x\"\ntenant = \"{tenant}\"\nurl = \"https://x.example/f\"\nmodule = \"yml\"\nenabled = {enabled}\n"),
            )
            .unwrap();
        }
        std::fs::write(tenants_dir.join("gamma.toml"), "tenant = \"gamma\"\n").unwrap();
        std::fs::write(tenants_dir.join("Not A Tenant.toml"), "").unwrap();
        assert_eq!(tenants(&suppliers, &tenants_dir), ["acme", "gamma"]);
    }
}
