//! `harvest`, `import`, `enrich`, `workflow status`: start workflows on a running worker and
//! report.

use contextworker_config::HostConfig;
use contextworker_temporal::ids;
use contextworker_temporal::messages::{EnrichmentResult, HarvestResult, names};
use contextworker_temporal::starter::{self, StartExtras, Status};
use contextworker_types::defaults::DEFAULT_NAMESPACE;
use serde_json::json;

use crate::cli::{EnrichArgs, GlobalArgs, HarvestArgs, ImportArgs, TemporalArgs, WaitArgs};
use crate::commands::{EXIT_FAILED, EXIT_OK};
use crate::context;

pub async fn harvest(args: &GlobalArgs, harvest: HarvestArgs) -> anyhow::Result<u8> {
    let config = context::client_config(args, &harvest.temporal)?;
    let tenant = harvest.tenant;
    // One id per catalog: a second harvest of the same catalog while one runs fails to start
    // instead of racing it.
    let id = harvest
        .workflow_id
        .unwrap_or_else(|| ids::harvest(&tenant, &harvest.supplier));
    let positional = [json!(harvest.supplier), json!(tenant)];
    start_and_finish(
        &config,
        names::HARVEST_WORKFLOW,
        &positional,
        &id,
        &tenant,
        &harvest.wait,
    )
    .await
}

pub async fn import(args: &GlobalArgs, import: ImportArgs) -> anyhow::Result<u8> {
    let config = context::client_config(args, &import.temporal)?;
    let tenant = import.tenant;
    let catalog = ids::import_catalog(&import.url);
    let id = import
        .workflow_id
        .unwrap_or_else(|| ids::harvest(&tenant, &catalog));
    let input = json!({
        "url": import.url,
        "module": import.module,
        "tenant_id": tenant,
        "supplier_code": catalog,
    });
    start_and_finish(
        &config,
        names::IMPORT_WORKFLOW,
        &[input],
        &id,
        &tenant,
        &import.wait,
    )
    .await
}

pub async fn enrich(args: &GlobalArgs, enrich: EnrichArgs) -> anyhow::Result<u8> {
    let config = context::client_config(args, &enrich.temporal)?;
    let tenant = enrich.tenant;
    let id = enrich
        .workflow_id
        .unwrap_or_else(|| ids::enrichment(&tenant, enrich.supplier.as_deref()));
    let products = enrich.products;
    let input = json!({
        "tenant_id": tenant,
        "product_ids": (!products.is_empty()).then_some(products),
        "supplier_code": enrich.supplier,
        "classifier": enrich.classifier,
        "batch_size": enrich.batch_size,
        "max_batches": enrich.max_batches,
    });
    start_and_finish(
        &config,
        names::ENRICHMENT_WORKFLOW,
        &[input],
        &id,
        &tenant,
        &enrich.wait,
    )
    .await
}

/// Start `workflow` on the first task queue, one run per catalog (`tenant`'s), then wait or
/// report as `wait` says.
async fn start_and_finish(
    config: &HostConfig,
    workflow: &str,
    args: &[serde_json::Value],
    id: &str,
    tenant: &str,
    wait: &WaitArgs,
) -> anyhow::Result<u8> {
    let client = context::temporal_client(config).await?;
    let queue = &config.worker.task_queues[0];
    let started = starter::start(
        &client,
        workflow,
        args,
        id,
        queue,
        &StartExtras::exclusive(tenant),
    )
    .await?;
    let namespace = config
        .temporal
        .namespace
        .as_deref()
        .unwrap_or(DEFAULT_NAMESPACE);
    finish(&client, &started, namespace, wait).await
}

pub async fn status(
    args: &GlobalArgs,
    temporal: &TemporalArgs,
    id: &str,
    wait: bool,
    json: bool,
) -> anyhow::Result<u8> {
    let config = context::client_config(args, temporal)?;
    let client = context::temporal_client(&config).await?;
    let status = if wait {
        starter::wait(&client, id).await?
    } else {
        starter::status(&client, id).await?
    };
    print_status(&status, json);
    Ok(exit_for(&status))
}

async fn finish(
    client: &contextworker_temporal::Client,
    started: &starter::Started,
    namespace: &str,
    wait: &WaitArgs,
) -> anyhow::Result<u8> {
    let link = ui_link(
        &wait.ui_url,
        namespace,
        &started.workflow_id,
        &started.run_id,
    );
    if !wait.wait {
        if wait.json {
            println!(
                "{}",
                json!({ "workflow_id": started.workflow_id, "run_id": started.run_id, "ui": link })
            );
        } else {
            println!(
                "started {} {} (run {}) on {}\n  {link}",
                started.workflow_type, started.workflow_id, started.run_id, started.task_queue
            );
        }
        return Ok(EXIT_OK);
    }
    let status = starter::wait(client, &started.workflow_id).await?;
    print_status(&status, wait.json);
    if !wait.json {
        println!("  {link}");
    }
    Ok(exit_for(&status))
}

pub fn ui_link(ui: &str, namespace: &str, id: &str, run: &str) -> String {
    format!(
        "{}/namespaces/{namespace}/workflows/{}/{run}/history",
        ui.trim_end_matches('/'),
        path_segment(id)
    )
}

/// `id` as one segment of a UI path. Ids may hold characters a path segment cannot (`/`,
/// `?`, `#`, spaces from a --workflow-id); `:` is fine and stays readable.
pub fn path_segment(id: &str) -> String {
    id.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b':' => {
                char::from(b).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

fn exit_for(status: &Status) -> u8 {
    match status.status.as_str() {
        "completed" | "running" => EXIT_OK,
        _ => EXIT_FAILED,
    }
}

pub fn print_status(status: &Status, json: bool) {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(status).unwrap_or_default()
        );
        return;
    }
    println!(
        "{} {} (run {}): {}",
        status.workflow_type, status.workflow_id, status.run_id, status.status
    );
    if let Some(result) = &status.result {
        if let Ok(h) = serde_json::from_value::<HarvestResult>(result.clone()) {
            print_harvest(&h);
        } else if let Ok(e) = serde_json::from_value::<EnrichmentResult>(result.clone()) {
            print_enrichment(&e);
        } else {
            println!(
                "  result: {}",
                serde_json::to_string_pretty(result).unwrap_or_default()
            );
        }
    }
    if let Some(f) = &status.failure {
        println!(
            "  failed: {}{}",
            f.type_name
                .as_deref()
                .map(|t| format!("{t}: "))
                .unwrap_or_default(),
            f.message
        );
        for (depth, link) in f
            .chain
            .iter()
            .enumerate()
            .take(f.chain.len().saturating_sub(1))
        {
            println!("  {}caused by {link}", "  ".repeat(depth));
        }
    }
}

pub fn print_harvest(h: &HarvestResult) {
    println!(
        "  supplier {} (tenant {}), {}: {} bytes from {}",
        h.supplier, h.tenant, h.status, h.fetched_bytes, h.url
    );
    if h.status == "not_modified" {
        println!("  the server said the feed has not changed since the last harvest");
        return;
    }
    if let Some(m) = &h.module {
        println!(
            "  parsed {} products with {} {} ({}), {} warnings, {} duplicates",
            h.parsed,
            m.name,
            m.version,
            m.digest.short(),
            h.warnings,
            h.duplicates
        );
    }
    for w in &h.warning_samples {
        println!("    warning: {}", w.message);
    }
    println!(
        "  staged: {} created, {} updated, {} unchanged, {} missing",
        h.created, h.updated, h.unchanged, h.missing
    );
    println!(
        "  took {} ms (fetch {} ms, parse {} ms, stage {} ms)",
        h.timings.total_ms, h.timings.fetch_ms, h.timings.parse_ms, h.timings.stage_ms
    );
    if let Some(id) = &h.enrichment {
        println!("  enrichment of the new and changed products started: {id}");
    }
}

pub fn print_enrichment(e: &EnrichmentResult) {
    let c = &e.counts;
    println!(
        "  tenant {}, {}: {} products in {} batches with {} {} ({})",
        e.tenant,
        e.status,
        c.processed,
        e.batches,
        e.classifier.name,
        e.classifier.version,
        e.classifier.digest.short()
    );
    println!(
        "  {} classified, {} abstained, {} failed ({} now errors), {} skipped; {} tokens; took {} ms",
        c.done, c.abstained, c.failed, c.errors, c.skipped, c.tokens, e.duration_ms
    );
    let t = &e.timings;
    println!(
        "  steps, summed over batches: select {} ms, read {} ms, classify {} ms, write {} ms",
        t.select_ms, t.read_ms, t.classify_ms, t.write_ms
    );
    if e.status == "incomplete" {
        println!("  stopped at --max-batches with products still pending");
    }
}
