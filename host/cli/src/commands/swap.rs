//! `modules reload` and `modules rollback`: changing what running workers serve.
//!
//! Workers publish their state in `<data>/modules/workers/<pid>.json`; these commands signal
//! them (SIGHUP) and wait until each has published a reload, then report what happened.

use std::path::Path;
use std::time::{Duration, Instant};

use contextworker_registry::{
    LiveStatus, Manifest, ReloadCause, ReloadReport, VersionStore, running_workers, scan,
};
use contextworker_types::{DataDir, Digest};

use crate::cli::GlobalArgs;
use crate::commands::{EXIT_FAILED, EXIT_OK, EXIT_SETUP};
use crate::context;

/// SIGHUP every worker in `workers` and wait for each to publish the reload it caused.
async fn reload_workers(
    data_dir: &DataDir,
    workers: &[LiveStatus],
    timeout: Duration,
) -> Vec<(u32, Result<LiveStatus, String>)> {
    let mut out = Vec::new();
    for worker in workers {
        let pid = worker.pid;
        let signalled = i32::try_from(pid)
            .ok()
            .and_then(rustix::process::Pid::from_raw)
            .ok_or_else(|| format!("pid {pid} is not valid"))
            .and_then(|p| {
                rustix::process::kill_process(p, rustix::process::Signal::HUP)
                    .map_err(|e| format!("cannot signal worker {pid}: {e}"))
            });
        if let Err(e) = signalled {
            out.push((pid, Err(e)));
            continue;
        }
        out.push((pid, wait_for_reload(data_dir, worker, timeout).await));
    }
    out
}

/// Reload every running worker of `data_dir`; `None` when none runs.
async fn reload_running(
    data_dir: &DataDir,
    timeout_secs: u64,
) -> Option<Vec<(u32, Result<LiveStatus, String>)>> {
    let workers = running_workers(data_dir);
    if workers.is_empty() {
        return None;
    }
    Some(reload_workers(data_dir, &workers, Duration::from_secs(timeout_secs)).await)
}

async fn wait_for_reload(
    data_dir: &DataDir,
    before: &LiveStatus,
    timeout: Duration,
) -> Result<LiveStatus, String> {
    let started = Instant::now();
    loop {
        if let Some(now) = running_workers(data_dir)
            .into_iter()
            .find(|s| s.pid == before.pid)
            && now.generation > before.generation
            && now.last_reload.cause == ReloadCause::Signal
        {
            return Ok(now);
        }
        if started.elapsed() > timeout {
            return Err(format!(
                "worker {} did not report a reload within {} s",
                before.pid,
                timeout.as_secs()
            ));
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

fn print_report(pid: u32, report: &ReloadReport) {
    for s in &report.swapped {
        let from = s
            .from
            .as_ref()
            .map_or_else(|| "(new)".to_owned(), ToString::to_string);
        println!("worker {pid}: {} {from} → {} live", s.module, s.to);
    }
    for s in &report.staged {
        println!(
            "worker {pid}: {} {} staged as shadow candidate (active stays {})",
            s.module,
            s.to,
            s.from
                .as_ref()
                .map_or_else(String::new, ToString::to_string)
        );
    }
    for r in &report.refused {
        println!("worker {pid}: refused: {}", r.reason);
    }
    for m in &report.removed {
        println!("worker {pid}: {m} removed (its manifest left the directory)");
    }
    if !report.changed() && report.refused.is_empty() {
        println!("worker {pid}: nothing changed");
    }
}

pub async fn reload(args: &GlobalArgs, timeout_secs: u64) -> anyhow::Result<u8> {
    let config = context::host_config(args)?;
    let Some(outcomes) = reload_running(&config.data_dir, timeout_secs).await else {
        eprintln!(
            "no worker is running on data directory {}: nothing to reload (a worker reads the modules directory when it starts)",
            config.data_dir.root().display()
        );
        return Ok(EXIT_SETUP);
    };
    let mut code = EXIT_OK;
    for (pid, outcome) in outcomes {
        match outcome {
            Ok(status) => {
                print_report(pid, &status.last_reload);
                if !status.last_reload.refused.is_empty() {
                    code = EXIT_FAILED;
                }
            }
            Err(e) => {
                eprintln!("error: {e}");
                code = EXIT_FAILED;
            }
        }
    }
    Ok(code)
}

/// The manifest that defines `name` in `dir`, and the digest of its component now.
fn find_in_dir(dir: &Path, name: &str, ceiling: u64) -> anyhow::Result<(Manifest, Option<Digest>)> {
    let found = scan(dir, Some(&[name.to_owned()]), ceiling)?
        .manifests
        .into_iter()
        .next();
    let Some(manifest) = found else {
        anyhow::bail!(
            "{} has no module `{name}` (rollback writes a kept version back into the module's folder, so the folder and its module.toml must exist)",
            dir.display()
        )
    };
    let digest = std::fs::read(&manifest.component)
        .ok()
        .map(|b| Digest::of(&b));
    Ok((manifest, digest))
}

pub async fn rollback(
    args: &GlobalArgs,
    module: &str,
    to: Option<&str>,
    timeout_secs: u64,
) -> anyhow::Result<u8> {
    let config = context::host_config(args)?;
    let ceiling = config.sandbox.max_memory_mb.saturating_mul(1024 * 1024);
    let store = VersionStore::new(config.data_dir.module_versions());
    let (manifest, current) = match find_in_dir(&config.modules_dir, module, ceiling) {
        Ok(found) => found,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(EXIT_SETUP);
        }
    };
    // What is live now: what the running workers serve, or else the version last made active.
    // Not the folder's file, which may be a candidate the workers refused: going back from
    // that would "roll back" to the version already live.
    let live = running_workers(&config.data_dir)
        .iter()
        .flat_map(|w| w.modules.iter())
        .find(|m| m.name == module)
        .map(|m| m.active.digest)
        .or_else(|| {
            store
                .history(module)
                .into_iter()
                .find(|r| r.last_active_ms > 0)
                .map(|r| r.digest)
        })
        .or(current);
    let target = match to {
        Some(prefix) => store.find(module, prefix),
        None => store
            .history(module)
            .into_iter()
            .find(|r| r.last_active_ms > 0 && Some(r.digest) != live)
            .ok_or_else(|| contextworker_registry::RegistryError::VersionNotKept {
                name: module.to_owned(),
                digest: "before the current one".to_owned(),
                kept: store
                    .history(module)
                    .iter()
                    .map(|r| r.digest.short())
                    .collect(),
                shared: false,
            }),
    };
    let target = match target {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(EXIT_SETUP);
        }
    };
    let from = live.map_or_else(|| "(no component)".to_owned(), |d| d.short());
    if Some(target.digest) != current || manifest.text != target.manifest_text {
        store.restore(&target, &manifest.path, ceiling)?;
    }
    println!(
        "{module}: {from} → {} ({}) written to {}",
        target.version,
        target.digest.short(),
        manifest.path.parent().unwrap_or(Path::new(".")).display()
    );
    let Some(outcomes) = reload_running(&config.data_dir, timeout_secs).await else {
        println!("no worker is running on this data directory; workers that start will serve it");
        return Ok(EXIT_OK);
    };
    let mut code = EXIT_OK;
    for (pid, outcome) in outcomes {
        let live = outcome.as_ref().ok().and_then(|s| {
            s.modules
                .iter()
                .find(|m| m.name == module)
                .map(|m| m.active.digest)
        });
        match (outcome, live) {
            (Ok(_), Some(d)) if d == target.digest => {
                println!(
                    "worker {pid}: {module} {} ({}) live",
                    target.version,
                    d.short()
                );
            }
            (Ok(status), _) => {
                print_report(pid, &status.last_reload);
                eprintln!(
                    "error: worker {pid} does not serve {} after the reload",
                    target.digest.short()
                );
                code = EXIT_FAILED;
            }
            (Err(e), _) => {
                eprintln!("error: {e}");
                code = EXIT_FAILED;
            }
        }
    }
    Ok(code)
}
