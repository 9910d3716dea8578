//! `modules list`: what the modules directory holds, or what running workers serve, with the
//! versions kept for rollback.

use contextworker_registry::{LiveStatus, Registry, VersionStore, format_ms, running_workers};
use contextworker_types::Digest;
use serde::Serialize;

use crate::cli::GlobalArgs;
use crate::commands::EXIT_OK;
use crate::context;

#[derive(Serialize)]
struct ModuleRow {
    name: String,
    version: String,
    world: String,
    digest: String,
    description: String,
    component: String,
    load_ms: f64,
    from_cache: bool,
    /// Other kept versions, most recently active first.
    previous: Vec<PreviousVersion>,
}

#[derive(Serialize)]
struct PreviousVersion {
    version: String,
    digest: String,
    last_active: Option<String>,
}

fn previous_versions(store: &VersionStore, name: &str, active: &Digest) -> Vec<PreviousVersion> {
    store
        .history(name)
        .into_iter()
        .filter(|r| r.digest != *active)
        .map(|r| PreviousVersion {
            version: r.version,
            digest: r.digest.to_string(),
            last_active: (r.last_active_ms > 0).then(|| format_ms(r.last_active_ms)),
        })
        .collect()
}

/// A digest as tables show it: its first 12 hex digits.
pub(crate) fn short(digest: &str) -> String {
    digest
        .trim_start_matches("sha256:")
        .chars()
        .take(12)
        .collect()
}

fn previous_cell(previous: &[PreviousVersion]) -> String {
    let mut cells: Vec<String> = previous
        .iter()
        .take(3)
        .map(|p| format!("{} {}", p.version, short(&p.digest)))
        .collect();
    if previous.len() > 3 {
        cells.push(format!("+{}", previous.len() - 3));
    }
    if cells.is_empty() {
        "-".to_owned()
    } else {
        cells.join(", ")
    }
}

pub async fn list(args: &GlobalArgs, json: bool) -> anyhow::Result<u8> {
    let config = context::host_config(args)?;
    let store = VersionStore::new(config.data_dir.module_versions());
    let workers = running_workers(&config.data_dir);
    if !workers.is_empty() {
        list_live(&store, &workers, json)?;
        return Ok(EXIT_OK);
    }
    let runtime = context::runtime(&config)?;
    let discovery =
        Registry::discover(&runtime, &config.modules_dir, config.modules.as_deref()).await?;
    let rows: Vec<ModuleRow> = discovery
        .registry
        .modules()
        .map(|m| ModuleRow {
            name: m.name().to_string(),
            version: m.manifest.version.to_string(),
            world: m.manifest.world.to_string(),
            digest: m.component.digest().to_string(),
            description: m.manifest.description.clone(),
            component: m.manifest.component.display().to_string(),
            load_ms: m.component.stats().duration.as_secs_f64() * 1000.0,
            from_cache: m.component.stats().from_cache,
            previous: previous_versions(&store, m.name().as_str(), &m.component.digest()),
        })
        .collect();
    if json {
        let refused: Vec<String> = discovery.failures.iter().map(ToString::to_string).collect();
        println!(
            "{}",
            serde_json::to_string_pretty(
                &serde_json::json!({ "modules": rows, "refused": refused })
            )?
        );
    } else {
        let header = [
            "NAME",
            "VERSION",
            "WORLD",
            "DIGEST",
            "LOAD",
            "PREVIOUS",
            "DESCRIPTION",
        ];
        let cells: Vec<Vec<String>> = rows
            .iter()
            .map(|r| {
                vec![
                    r.name.clone(),
                    r.version.clone(),
                    r.world.clone(),
                    short(&r.digest),
                    format!(
                        "{} {:.1} ms",
                        if r.from_cache { "cached" } else { "compiled" },
                        r.load_ms
                    ),
                    previous_cell(&r.previous),
                    r.description.clone(),
                ]
            })
            .collect();
        print_table(&header, &cells);
        for failure in &discovery.failures {
            println!("refused: {failure}");
        }
    }
    Ok(EXIT_OK)
}

/// What running workers serve, from the status each publishes.
fn list_live(store: &VersionStore, workers: &[LiveStatus], json: bool) -> anyhow::Result<()> {
    if json {
        let docs: Vec<serde_json::Value> = workers
            .iter()
            .map(|w| {
                let modules: Vec<serde_json::Value> = w
                    .modules
                    .iter()
                    .map(|m| {
                        serde_json::json!({
                            "name": m.name,
                            "world": m.world,
                            "version": m.active.version,
                            "digest": m.active.digest.to_string(),
                            "since": format_ms(m.since_ms),
                            "candidate": m.candidate,
                            "previous": previous_versions(store, &m.name, &m.active.digest),
                        })
                    })
                    .collect();
                serde_json::json!({
                    "pid": w.pid,
                    "generation": w.generation,
                    "updated": format_ms(w.updated_ms),
                    "modules": modules,
                    "refusals": w.refusals,
                    "counters": w.counters,
                })
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({ "workers": docs }))?
        );
        return Ok(());
    }
    for w in workers {
        println!(
            "worker {} (updated {}): {} reloads, {} swaps, {} refusals, {} shadow runs",
            w.pid,
            format_ms(w.updated_ms),
            w.counters.reloads,
            w.counters.swaps,
            w.counters.refusals,
            w.counters.shadow_runs
        );
        let header = [
            "NAME",
            "VERSION",
            "WORLD",
            "DIGEST",
            "SINCE",
            "CANDIDATE",
            "PREVIOUS",
        ];
        let cells: Vec<Vec<String>> = w
            .modules
            .iter()
            .map(|m| {
                vec![
                    m.name.clone(),
                    m.active.version.clone(),
                    m.world.clone(),
                    m.active.digest.short(),
                    format_ms(m.since_ms),
                    m.candidate
                        .as_ref()
                        .map_or_else(|| "-".to_owned(), ToString::to_string),
                    previous_cell(&previous_versions(store, &m.name, &m.active.digest)),
                ]
            })
            .collect();
        print_table(&header, &cells);
        for r in w.refusals.iter().rev().take(5) {
            println!("refused at {}: {}", format_ms(r.at_ms), r.reason);
        }
    }
    Ok(())
}

/// Columns padded to their widest cell; the last column is not padded.
fn print_table(header: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cols: Vec<&str>| {
        let last = cols.len().saturating_sub(1);
        let mut out = String::new();
        for (i, (c, w)) in cols.iter().zip(&widths).enumerate() {
            if i == last {
                out.push_str(c);
            } else {
                out.push_str(&format!("{c:<w$}  "));
            }
        }
        out
    };
    println!("{}", line(header.to_vec()));
    for row in rows {
        println!("{}", line(row.iter().map(String::as_str).collect()));
    }
}
