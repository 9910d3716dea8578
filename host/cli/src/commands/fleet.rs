//! The fleet from the command line: `modules publish`, `modules rollback --fleet` and
//! `modules list --fleet`, against the fleet's database and bucket (the settings `serve --fleet`
//! takes).

use std::ops::ControlFlow;
use std::time::{Duration, Instant};

use contextworker_config::HostConfig;
use contextworker_fleet::{Action, Fleet, HostView, Release};
use contextworker_registry::{
    MODULE_VERSIONS_FOLDER, Registry, VersionStore, check_compatible, format_ms, run_self_tests,
};
use contextworker_storage::NamedObjects;
use contextworker_types::Digest;
use serde_json::json;

use crate::cli::{FleetArgs, GlobalArgs};
use crate::commands::modules::short;
use crate::commands::{EXIT_FAILED, EXIT_OK, EXIT_SETUP};
use crate::context;

/// A host not seen for this long is not waited for (it stopped, or lost the database).
const HOST_GONE: Duration = Duration::from_secs(60);

/// The fleet's database and its bucket's folder of module versions, or the setting missing.
async fn open(config: &HostConfig) -> anyhow::Result<Result<(Fleet, NamedObjects), String>> {
    let Some(url) = config
        .database_url
        .as_deref()
        .filter(|u| u.starts_with("postgres://") || u.starts_with("postgresql://"))
    else {
        return Ok(Err(
            "a fleet needs its PostgreSQL database: set DATABASE_URL (or --database-url)".into(),
        ));
    };
    let Some(bucket) = config.storage.shared.clone() else {
        return Ok(Err(
            "a fleet needs its shared bucket: set CONTEXTWORKER_BLOB_STORE (or --blob-store) to s3://bucket/prefix".into(),
        ));
    };
    let shared = NamedObjects::s3(bucket, MODULE_VERSIONS_FOLDER)?;
    Ok(Ok((Fleet::connect(url).await?, shared)))
}

/// [`open`] for the fleet commands: a missing setting is printed, and `None` means exit 2.
async fn open_or_report(config: &HostConfig) -> anyhow::Result<Option<(Fleet, NamedObjects)>> {
    Ok(match open(config).await? {
        Ok(opened) => Some(opened),
        Err(missing) => {
            eprintln!("error: {missing}");
            None
        }
    })
}

/// `serve --fleet`: serve the fleet's releases from now on (one round before the worker takes
/// work, so it starts on them), then follow them in the background. The setting missing is
/// the error, as text.
pub async fn join(
    config: &HostConfig,
    modules: std::sync::Arc<contextworker_registry::LiveModules>,
    identity: &str,
) -> anyhow::Result<Result<Membership, String>> {
    let (fleet, _) = match open(config).await? {
        Ok(opened) => opened,
        Err(missing) => return Ok(Err(missing)),
    };
    let settings = contextworker_fleet::FollowSettings {
        identity: identity.to_owned(),
        host_version: env!("CARGO_PKG_VERSION").to_owned(),
        poll: FLEET_POLL,
    };
    let mut state = contextworker_fleet::FollowState::default();
    contextworker_fleet::sync_once(&fleet, &modules, &settings, &mut state).await?;
    tracing::info!(identity, "following the fleet's releases");
    let follower = tokio::spawn(contextworker_fleet::follow(
        fleet.clone(),
        modules,
        settings,
    ));
    Ok(Ok(Membership {
        follower,
        fleet,
        identity: identity.to_owned(),
    }))
}

/// A host's place in the fleet: the task following the releases, stopped when this is dropped.
pub struct Membership {
    follower: tokio::task::JoinHandle<()>,
    fleet: Fleet,
    identity: String,
}

impl Membership {
    /// Stop following and take this host's row out of the fleet's list, so a publish does not
    /// wait for a host that stopped on purpose. (A crashed host's row ages out instead.)
    pub async fn leave(mut self) {
        self.follower.abort();
        // Wait until it is gone, so no report of its lands after the row is taken out.
        let _ = (&mut self.follower).await;
        if let Err(e) = self.fleet.leave(&self.identity).await {
            tracing::warn!("could not take this host off the fleet's list: {e}");
        }
    }
}

impl Drop for Membership {
    fn drop(&mut self) {
        self.follower.abort();
    }
}

/// How often a fleet host reads the releases and reports itself without being told: the
/// bound on how late it learns of a release whose announcement it missed.
const FLEET_POLL: Duration = Duration::from_secs(10);

/// Who is acting, for the release history.
fn who() -> String {
    let user = std::env::var("USER").unwrap_or_else(|_| "someone".to_owned());
    format!("{user}@{}", contextworker_temporal::default_identity())
}

/// What a release command does to the fleet: `modules publish` or `modules rollback --fleet`.
#[derive(Debug, Clone, Copy)]
pub enum Change {
    Publish,
    Rollback,
}

/// Make `change` to `module`'s release, then wait up to `timeout_secs` for every live host to
/// serve it or refuse it.
pub async fn release(
    args: &GlobalArgs,
    fleet_args: &FleetArgs,
    change: Change,
    module: &str,
    timeout_secs: u64,
) -> anyhow::Result<u8> {
    let config = context::fleet_config(args, fleet_args)?;
    let Some((fleet, shared)) = open_or_report(&config).await? else {
        return Ok(EXIT_SETUP);
    };
    let released = match change {
        Change::Publish => publish(&config, &fleet, shared, module).await?,
        Change::Rollback => rollback(&fleet, module).await,
    };
    match released {
        ControlFlow::Continue(digest) => {
            wait_for_hosts(&fleet, module, &digest, Duration::from_secs(timeout_secs)).await
        }
        ControlFlow::Break(code) => Ok(code),
    }
}

/// Validate the modules directory's `module` and make it the release: the digest the hosts
/// should now serve, or the exit code of why nothing was published (printed).
async fn publish(
    config: &HostConfig,
    fleet: &Fleet,
    shared: NamedObjects,
    module: &str,
) -> anyhow::Result<ControlFlow<u8, Digest>> {
    let runtime = context::runtime(config)?;
    let only = [module.to_owned()];
    let discovery = Registry::discover(&runtime, &config.modules_dir, Some(&only)).await?;
    for failure in &discovery.failures {
        eprintln!("error: {failure}");
    }
    let Some(candidate) = discovery.registry.get(module) else {
        eprintln!(
            "error: {} has no loadable module `{module}`; nothing was published",
            config.modules_dir.display()
        );
        return Ok(ControlFlow::Break(EXIT_SETUP));
    };
    for outcome in run_self_tests(&runtime, &candidate).await {
        if let Err(why) = outcome.result {
            eprintln!(
                "error: self-test {} failed: {why}; nothing was published",
                outcome.input.display()
            );
            return Ok(ControlFlow::Break(EXIT_FAILED));
        }
    }
    let digest = candidate.component.digest();
    let store = VersionStore::new(config.data_dir.module_versions()).with_shared(shared);
    let current = fleet.current().await?;
    if let Some(release) = current.get(candidate.name()) {
        let record = store
            .fetch(
                module,
                &release.digest,
                runtime.config().max_component_bytes,
            )
            .await?;
        if let Some(record) = record {
            let active = store.manifest(&record, u64::MAX)?;
            let bytes = std::fs::read(&candidate.manifest.component)?;
            // A lower version goes out only as a rollback, which names what it returns to.
            if let Err(e) = check_compatible(&candidate.manifest, &active, |_| false, &bytes) {
                eprintln!("error: {e}; nothing was published");
                return Ok(ControlFlow::Break(EXIT_FAILED));
            }
        }
    }
    let bytes = std::fs::read(&candidate.manifest.component)?;
    let record = store.keep(&candidate.manifest, digest, &bytes, false)?;
    store.share(&record, &bytes).await?;
    let version = candidate.manifest.version.to_string();
    match fleet
        .release(module, &digest, &version, Action::Publish, &who())
        .await?
    {
        Some(release) => println!(
            "released {module} {version} {} (was {})",
            digest.short(),
            short_or_dash(release.previous)
        ),
        None => println!(
            "{module} {version} {} is already the release",
            digest.short()
        ),
    }
    Ok(ControlFlow::Continue(digest))
}

/// Make the release before the current one the release again: the digest the hosts should
/// now serve, or the exit code of why not (printed).
async fn rollback(fleet: &Fleet, module: &str) -> ControlFlow<u8, Digest> {
    let release = match fleet.rollback(module, &who()).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ControlFlow::Break(EXIT_SETUP);
        }
    };
    println!(
        "rolled {module} back to {} {} (from {})",
        release.version,
        release.digest.short(),
        short_or_dash(release.previous)
    );
    ControlFlow::Continue(release.digest)
}

/// A release's previous digest as the release messages show it.
fn short_or_dash(previous: Option<Digest>) -> String {
    previous.map_or_else(|| "-".to_owned(), |d| d.short())
}

/// Wait until every live host serves `digest` of `module` or refused it; print each.
async fn wait_for_hosts(
    fleet: &Fleet,
    module: &str,
    digest: &Digest,
    timeout: Duration,
) -> anyhow::Result<u8> {
    let started = Instant::now();
    let refused_marker = format!("{module} {}: ", digest.short());
    loop {
        let hosts = live_hosts(fleet).await?;
        let serving = |h: &HostView| {
            h.modules
                .get(module)
                .is_some_and(|m| m.digest == digest.to_string())
        };
        let refusal = |h: &HostView| {
            h.refusals
                .iter()
                .rev()
                .find(|r| r.starts_with(&refused_marker))
                .cloned()
        };
        let settled = hosts.iter().all(|h| serving(h) || refusal(h).is_some());
        if settled || started.elapsed() >= timeout {
            let mut code = EXIT_OK;
            for host in &hosts {
                if serving(host) {
                    println!("  {}: live", host.identity);
                } else if let Some(why) = refusal(host) {
                    code = EXIT_FAILED;
                    println!(
                        "  {}: refused: {}",
                        host.identity,
                        &why[refused_marker.len()..]
                    );
                } else {
                    code = EXIT_FAILED;
                    println!("  {}: not yet after {} s", host.identity, timeout.as_secs());
                }
            }
            if hosts.is_empty() {
                println!("  no host is running; each serves it when it starts");
            } else if settled {
                // The figure a release's promptness is judged by (NOTIFY, validation, swap).
                println!(
                    "  {} host(s) settled in {} ms",
                    hosts.len(),
                    started.elapsed().as_millis()
                );
            }
            return Ok(code);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn live_hosts(fleet: &Fleet) -> anyhow::Result<Vec<HostView>> {
    let now = i64::try_from(contextworker_registry::now_millis()).unwrap_or(i64::MAX);
    let gone = i64::try_from(HOST_GONE.as_millis()).unwrap_or(i64::MAX);
    Ok(fleet
        .hosts()
        .await?
        .into_iter()
        .filter(|h| now - h.last_seen_ms < gone)
        .collect())
}

pub async fn list(args: &GlobalArgs, fleet_args: &FleetArgs, as_json: bool) -> anyhow::Result<u8> {
    let config = context::fleet_config(args, fleet_args)?;
    let Some((fleet, _)) = open_or_report(&config).await? else {
        return Ok(EXIT_SETUP);
    };
    let current = fleet.current().await?;
    let mut histories = Vec::new();
    for name in current.keys() {
        histories.push(fleet.history(name.as_str()).await?);
    }
    let hosts = fleet.hosts().await?;
    if as_json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({ "releases": histories, "hosts": hosts }))?
        );
        return Ok(EXIT_OK);
    }
    println!("RELEASES");
    for history in &histories {
        if let Some(now) = history.first() {
            println!("  {}", release_line(now));
            for earlier in history.iter().skip(1).take(4) {
                println!("      before: {}", release_line(earlier));
            }
        }
    }
    println!("HOSTS");
    let now = i64::try_from(contextworker_registry::now_millis()).unwrap_or(i64::MAX);
    for host in &hosts {
        let modules: Vec<String> = host
            .modules
            .iter()
            .map(|(name, m)| format!("{name} {} {}", m.version, short(&m.digest)))
            .collect();
        println!(
            "  {} ({}, seen {} s ago): {}",
            host.identity,
            host.host_version,
            (now - host.last_seen_ms).max(0) / 1000,
            modules.join(", ")
        );
        for refusal in &host.refusals {
            println!("      refused {refusal}");
        }
    }
    Ok(EXIT_OK)
}

fn release_line(r: &Release) -> String {
    let action = match r.action {
        Action::First => "first",
        Action::Publish => "publish",
        Action::Rollback => "rollback",
    };
    let at = u64::try_from(r.at_ms).map_or_else(|_| "?".to_owned(), format_ms);
    format!(
        "{} {} {} ({action} by {} at {at})",
        r.module,
        r.version,
        r.digest.short(),
        r.by
    )
}
