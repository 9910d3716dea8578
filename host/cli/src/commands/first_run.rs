//! `serve --dev`'s first run: harvest every enabled supplier once, follow each harvest with
//! the enrichment it starts, and print each result with its Temporal UI link.

use contextworker_config::Supplier;
use contextworker_temporal::messages::names;
use contextworker_temporal::starter;
use serde_json::json;

use crate::commands::workflow;

/// With --dev: harvest every enabled supplier once and print the results. Returns whether
/// all of them completed.
pub(super) async fn initial_harvest(
    client: &contextworker_temporal::Client,
    suppliers_dir: &std::path::Path,
    queue: &str,
    ui: &str,
    namespace: &str,
) -> bool {
    let suppliers = match Supplier::load_dir(suppliers_dir) {
        Ok((ok, failed)) => {
            for f in failed {
                eprintln!("supplier refused: {f}");
            }
            ok
        }
        Err(e) => {
            eprintln!("no initial harvest: {e}");
            return false;
        }
    };
    let mut all_ok = true;
    for supplier in suppliers.into_iter().filter(|s| s.enabled) {
        let code = supplier.code.as_str().to_owned();
        let tenant = supplier.tenant.as_str();
        let id = contextworker_temporal::ids::harvest(tenant, &code);
        let started = match starter::start(
            client,
            names::HARVEST_WORKFLOW,
            &[json!(code), json!(tenant)],
            &id,
            queue,
            &starter::StartExtras::exclusive(tenant),
        )
        .await
        {
            Ok(s) => s,
            Err(e) => {
                eprintln!("harvest {code}: {e}");
                all_ok = false;
                continue;
            }
        };
        match starter::wait(client, &started.workflow_id).await {
            Ok(status) => {
                workflow::print_status(&status, false);
                println!(
                    "  see it in the Temporal UI: {}",
                    workflow::ui_link(ui, namespace, &status.workflow_id, &status.run_id)
                );
                all_ok &= status.status == "completed";
                all_ok &= follow_enrichment(client, &status, ui, namespace).await;
            }
            Err(e) => {
                eprintln!("harvest {code}: {e}");
                all_ok = false;
            }
        }
    }
    all_ok
}

/// When the harvest started an enrichment (its supplier or tenant enables it), wait for it
/// and print it too, so the first run shows the whole job: harvest, then enrichment.
async fn follow_enrichment(
    client: &contextworker_temporal::Client,
    harvest: &starter::Status,
    ui: &str,
    namespace: &str,
) -> bool {
    let Some(id) = harvest
        .result
        .as_ref()
        .and_then(|r| r.get("enrichment"))
        .and_then(serde_json::Value::as_str)
    else {
        return true;
    };
    match starter::wait(client, id).await {
        Ok(status) => {
            workflow::print_status(&status, false);
            println!(
                "  see it in the Temporal UI: {}",
                workflow::ui_link(ui, namespace, &status.workflow_id, &status.run_id)
            );
            status.status == "completed"
        }
        Err(e) => {
            eprintln!("enrichment {id}: {e}");
            false
        }
    }
}
