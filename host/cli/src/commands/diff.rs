//! `modules diff <module> <candidate.wasm> <feed>`: what a new parser version would change,
//! record by record, before it ships.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use contextworker_registry::{DiffReport, Registry, diff_ndjson};
use contextworker_runtime::{CallSpec, FeedInput, LoadedComponent, Ndjson, Runtime};
use contextworker_types::{Receipt, World};
use serde::Serialize;
use serde_json::Value;

use crate::cli::{DiffArgs, GlobalArgs};
use crate::commands::{EXIT_FAILED, EXIT_OK, EXIT_SETUP, cancel_on_ctrl_c};
use crate::{context, report};

/// One side's run: what the module produced and what it cost.
#[derive(Debug, Serialize)]
struct Side {
    version: String,
    digest: String,
    products: u64,
    warnings: u64,
    receipt: Receipt,
}

#[derive(Debug, Serialize)]
struct Output<'a> {
    module: &'a str,
    feed: String,
    active: &'a Side,
    candidate: &'a Side,
    diff: &'a DiffReport,
}

/// Run `component` over `feed`, products as NDJSON into `out` (a repeated offer id is kept
/// as emitted; the diff keeps the last, as staging does).
async fn run_side(
    runtime: &Runtime,
    component: &LoadedComponent,
    spec: &CallSpec,
    feed: &Path,
    out: &Path,
) -> anyhow::Result<(u64, u64, Receipt)> {
    let input = FeedInput::open(feed)
        .await
        .map_err(|e| anyhow::anyhow!("cannot open the feed {}: {e}", feed.display()))?;
    let file = tokio::fs::File::create(out)
        .await
        .with_context(|| format!("cannot write {}", out.display()))?;
    let sink = Ndjson::new(tokio::io::BufWriter::new(file), 0);
    let (outcome, sink) = runtime.transform_into(component, spec, input, sink).await;
    let mut sink = sink.with_context(|| format!("writing {}", out.display()))?;
    sink.flush().await?;
    let (products, warnings) = (sink.products, sink.warnings_seen);
    report::print_guest_stream("stderr", &outcome.stderr);
    outcome
        .result
        .map_err(|e| anyhow::anyhow!("{}", report::error_line(&e)))?;
    Ok((products, warnings, outcome.receipt))
}

fn brief(value: &Value) -> String {
    let id = value
        .get("offer_id")
        .map(ToString::to_string)
        .unwrap_or_default();
    match value.get("name").and_then(Value::as_str) {
        Some(name) => format!("{id} {name:?}"),
        None => id,
    }
}

fn print_side(label: &str, side: &Side) {
    println!(
        "{label:<10} {} ({}): {} products, {} warnings, {}; {}",
        side.version,
        side.digest,
        side.products,
        side.warnings,
        report::millis(side.receipt.wall_time),
        report::receipt_line(&side.receipt)
    );
}

fn print_report(d: &DiffReport) {
    println!(
        "added {}, removed {}, changed {}, unchanged {}",
        d.added, d.removed, d.changed, d.unchanged
    );
    if !d.changed_fields.is_empty() {
        let fields: Vec<String> = d
            .changed_fields
            .iter()
            .map(|(f, n)| format!("{f} ({n})"))
            .collect();
        println!("changed fields: {}", fields.join(", "));
    }
    for v in &d.added_samples {
        println!("+ {}", brief(v));
    }
    for v in &d.removed_samples {
        println!("- {}", brief(v));
    }
    for c in &d.changed_samples {
        println!("~ {}", c.offer_id);
        for f in &c.fields {
            println!("    {}: {} → {}", f.field, f.before, f.after);
        }
    }
    let shown = d.added_samples.len() + d.removed_samples.len() + d.changed_samples.len();
    let total = d.added + d.removed + d.changed;
    if (shown as u64) < total {
        println!("({shown} of {total} differing records shown; --samples N shows more)");
    }
}

pub async fn run(args: &GlobalArgs, diff: DiffArgs) -> anyhow::Result<u8> {
    let config = context::host_config(args)?;
    let runtime = context::runtime(&config)?;
    let only = [diff.module.clone()];
    let discovery = Registry::discover(&runtime, &config.modules_dir, Some(&only)).await?;
    let Some(active) = discovery.registry.get(&diff.module) else {
        let reason = discovery.failures.first().map_or_else(
            || format!("no module `{}`", diff.module),
            ToString::to_string,
        );
        eprintln!("error: {reason}");
        return Ok(EXIT_SETUP);
    };
    if active.manifest.world != World::Transformer {
        eprintln!(
            "error: module `{}` is a {} module; `modules diff` compares transformers",
            diff.module, active.manifest.world
        );
        return Ok(EXIT_SETUP);
    }
    let candidate: Arc<LoadedComponent> = match runtime
        .load_file(
            &diff.candidate,
            World::Transformer,
            active.manifest.metering,
        )
        .await
    {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: candidate {}: {e}", diff.candidate.display());
            return Ok(EXIT_SETUP);
        }
    };
    let cancel = cancel_on_ctrl_c();
    let active_spec = active.call_spec(&diff.config).with_cancel(cancel.clone());
    let mut candidate_config = diff.config.clone();
    candidate_config.extend(diff.candidate_config.iter().cloned());
    let candidate_spec = CallSpec::new(
        active.manifest.name.as_str(),
        "candidate",
        active.manifest.limits.clone(),
    )
    .with_config(active.manifest.config_with(&candidate_config))
    .with_cancel(cancel);
    let scratch = tempfile::tempdir()?;
    let (before, after) = (
        scratch.path().join("active.ndjson"),
        scratch.path().join("candidate.ndjson"),
    );
    let mut sides = Vec::new();
    for (label, component, spec, out) in [
        ("active", &active.component, &active_spec, &before),
        ("candidate", &candidate, &candidate_spec, &after),
    ] {
        match run_side(&runtime, component, spec, &diff.feed, out).await {
            Ok((products, warnings, receipt)) => sides.push(Side {
                version: if label == "active" {
                    active.manifest.version.to_string()
                } else {
                    diff.candidate.display().to_string()
                },
                digest: component.digest().short(),
                products,
                warnings,
                receipt,
            }),
            Err(e) => {
                eprintln!(
                    "error: the {label} version failed on {}: {}",
                    diff.feed.display(),
                    super::chain(&e)
                );
                return Ok(EXIT_SETUP);
            }
        }
    }
    let report = {
        let (b, a, n) = (before.clone(), after.clone(), diff.samples);
        tokio::task::spawn_blocking(move || diff_ndjson(&b, &a, n)).await??
    };
    if diff.json {
        let out = Output {
            module: &diff.module,
            feed: diff.feed.display().to_string(),
            active: &sides[0],
            candidate: &sides[1],
            diff: &report,
        };
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!(
            "{}: active vs candidate on {}",
            diff.module,
            diff.feed.display()
        );
        print_side("active", &sides[0]);
        print_side("candidate", &sides[1]);
        print_report(&report);
    }
    Ok(if report.identical() {
        EXIT_OK
    } else {
        EXIT_FAILED
    })
}
