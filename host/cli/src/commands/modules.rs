//! `modules list | validate | test`.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use contextworker_registry::{
    LiveStatus, Registry, RegistryError, VersionStore, format_ms, run_self_tests, running_workers,
};
use contextworker_runtime::{CallSpec, FeedInput, Limits, Metering, Ndjson, ProductSink, Runtime};
use contextworker_types::{Digest, Product, Warning, World};
use serde::Serialize;

use crate::cli::{GlobalArgs, TestArgs};
use crate::commands::{EXIT_FAILED, EXIT_OK, EXIT_SETUP, cancel_on_ctrl_c};
use crate::{context, report};

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

fn short(digest: &str) -> String {
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

pub async fn validate(args: &GlobalArgs) -> anyhow::Result<u8> {
    let config = context::host_config(args)?;
    let runtime = context::runtime(&config)?;
    let discovery =
        Registry::discover(&runtime, &config.modules_dir, config.modules.as_deref()).await?;
    let mut failed = discovery.failures.len();
    for failure in &discovery.failures {
        println!("FAIL {failure}");
    }
    for module in discovery.registry.modules() {
        let label = format!("{}@{}", module.name(), module.manifest.version);
        let outcomes = run_self_tests(&runtime, module).await;
        if outcomes.is_empty() {
            println!(
                "ok   {label}: loads and implements `{}` (no self-tests)",
                module.manifest.world
            );
        }
        for outcome in outcomes {
            let input = outcome.input.display();
            match outcome.result {
                Ok(what) => println!(
                    "ok   {label}: {input}: {what} ({})",
                    report::millis(outcome.wall_time)
                ),
                Err(why) => {
                    failed += 1;
                    println!("FAIL {label}: {input}: {why}");
                }
            }
        }
    }
    println!(
        "{} module(s) checked, {failed} failure(s)",
        discovery.registry.len() + discovery.failures.len()
    );
    Ok(if failed == 0 { EXIT_OK } else { EXIT_FAILED })
}

/// A transformer from the modules directory, or straight from a .wasm file.
async fn resolve_transformer(
    runtime: &Runtime,
    modules_dir: &Path,
    module: &str,
) -> Result<(Arc<contextworker_runtime::LoadedComponent>, CallSpec), anyhow::Error> {
    let as_path = Path::new(module);
    if module.ends_with(".wasm") || as_path.is_file() {
        let component = runtime
            .load_file(as_path, World::Transformer, Metering::Epoch)
            .await?;
        let name = as_path
            .file_stem()
            .map_or_else(|| module.to_owned(), |s| s.to_string_lossy().into_owned());
        return Ok((
            component,
            CallSpec::new(name, "file", Limits::for_world(World::Transformer)),
        ));
    }
    let only = [module.to_owned()];
    let discovery = Registry::discover(runtime, modules_dir, Some(&only)).await?;
    if let Some(m) = discovery.registry.get(module) {
        if m.manifest.world != World::Transformer {
            anyhow::bail!(
                "module `{module}` is a {} module; `modules test` runs transformers",
                m.manifest.world
            );
        }
        return Ok((Arc::clone(&m.component), m.call_spec(&[])));
    }
    let reason = discovery.failures.into_iter().next().map_or_else(
        || {
            RegistryError::NotFound {
                name: module.to_owned(),
                dir: modules_dir.to_path_buf(),
            }
            .to_string()
        },
        |e| e.to_string(),
    );
    anyhow::bail!("{reason}")
}

pub async fn test(args: &GlobalArgs, test: TestArgs) -> anyhow::Result<u8> {
    let config = context::host_config(args)?;
    let runtime = context::runtime(&config)?;
    let (component, base_spec) =
        match resolve_transformer(&runtime, &config.modules_dir, &test.module).await {
            Ok(found) => found,
            Err(e) => {
                eprintln!("error: {e:#}");
                return Ok(EXIT_SETUP);
            }
        };
    let input = match FeedInput::open(&test.input).await {
        Ok(input) => input,
        Err(e) => {
            eprintln!("error: cannot open the input {}: {e}", test.input.display());
            return Ok(EXIT_SETUP);
        }
    };
    let mut merged: std::collections::BTreeMap<String, String> =
        base_spec.config.iter().cloned().collect();
    merged.extend(test.config);
    let spec = base_spec
        .with_config(merged.into_iter().collect())
        .with_cancel(cancel_on_ctrl_c());

    // Products stream to stdout while the guest parses: a huge feed never sits in memory.
    let printer = Printer(Ndjson::new(
        tokio::io::BufWriter::with_capacity(256 * 1024, tokio::io::stdout()),
        0,
    ));
    let (outcome, printer) = runtime
        .transform_into(&component, &spec, input, printer)
        .await;
    let Printer(mut out) = printer.context("cannot write to stdout")?;
    out.flush().await.context("cannot write to stdout")?;
    let (products, warnings) = (out.products, out.warnings_seen);
    let receipt = &outcome.receipt;
    report::print_guest_stream("stderr", &outcome.stderr);
    match outcome.result {
        Ok(summary) => {
            let secs = receipt.wall_time.as_secs_f64().max(1e-9);
            eprintln!(
                "{}@{}: {products} products, {warnings} warnings from {} records; {:.2} MB in {} ({:.1} MB/s, {:.0} products/s); {}",
                receipt.module,
                receipt.version,
                summary.records_seen,
                receipt.input_bytes as f64 / 1e6,
                report::millis(receipt.wall_time),
                receipt.input_bytes as f64 / 1e6 / secs,
                products as f64 / secs,
                report::receipt_line(receipt)
            );
            Ok(EXIT_OK)
        }
        Err(e) => {
            eprintln!("{}", report::error_line(&e));
            eprintln!(
                "{products} products were emitted before the failure; {}",
                report::receipt_line(receipt)
            );
            Ok(EXIT_FAILED)
        }
    }
}

/// `modules test`'s output: products as NDJSON on stdout, each warning on stderr as it comes
/// (after the products before it, so the two streams interleave in order on a terminal).
struct Printer(Ndjson<tokio::io::BufWriter<tokio::io::Stdout>>);

impl ProductSink for Printer {
    type Error = std::io::Error;

    async fn products(&mut self, batch: Vec<Product>) -> std::io::Result<()> {
        self.0.products(batch).await
    }

    async fn warnings(&mut self, batch: Vec<Warning>) -> std::io::Result<()> {
        self.0.flush().await?;
        for w in &batch {
            eprintln!("{}", report::warning_line(w));
        }
        self.0.warnings(batch).await
    }
}
