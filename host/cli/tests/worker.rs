//! The worker against a real `temporal server start-dev`: harvests end to end on SQLite and
//! PostgreSQL, failures with their types, a Python client and a Python workflow, a worker
//! killed mid-harvest, and a graceful shutdown.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::{Harness, QUEUE, activity_attempts, assert_success, history, json_of, python, unique};
use contextworker_staging::{FeedKey, Staging};
use contextworker_test_support::feed_server::FeedServer;

/// A YML feed with these (offer id, price) pairs.
fn yml(offers: &[(&str, &str)]) -> String {
    let mut s = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<yml_catalog date=\"2026-01-01 00:00\"><shop>\
         <currencies><currency id=\"UAH\" rate=\"1\"/></currencies><offers>\n",
    );
    for (id, price) in offers {
        s.push_str(&format!(
            "<offer id=\"{id}\" available=\"true\"><name>Tent {id}</name><price>{price}</price>\
             <currencyId>UAH</currencyId></offer>\n"
        ));
    }
    s.push_str("</offers></shop></yml_catalog>\n");
    s
}

fn harvest(h: &Harness, supplier: &str, tenant: &str) -> serde_json::Value {
    h.result_of(&["harvest", supplier, "--tenant", tenant, "--wait", "--json"])
}

fn counts(result: &serde_json::Value) -> [u64; 4] {
    ["created", "updated", "unchanged", "missing"].map(|k| result[k].as_u64().unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn harvests_end_to_end_on_sqlite_and_postgres() {
    let h = Harness::start().await;
    let server = FeedServer::start();
    for (backend, db_url) in h.backends() {
        let _worker = h.worker_on(backend, &db_url);
        // Each backend's run is its own tenant's catalog; a supplier belongs to one tenant.
        let key = h.new_tenant_supplier(backend, "shop", &server.url());
        let tenant = key.tenant.as_str();
        // b appears twice: the later one wins and is staged once.
        server.set_body(
            yml(&[("a", "10"), ("b", "19"), ("c", "30"), ("b", "20")]),
            None,
        );

        let first = harvest(&h, "shop", tenant);
        assert_eq!(counts(&first), [3, 0, 0, 0], "{first:#}");
        assert_eq!(
            (first["parsed"].as_u64(), first["duplicates"].as_u64()),
            (Some(3), Some(1))
        );
        assert_eq!(first["module"]["name"], "yml");
        assert!(
            first["module"]["digest"]
                .as_str()
                .unwrap()
                .starts_with("sha256:")
        );
        let staging = Staging::open(&db_url).await.unwrap();
        let rows = staging.rows(&key).await.unwrap();
        assert_eq!(
            rows.iter()
                .map(|r| (r.sku.as_str(), r.price.as_deref()))
                .collect::<Vec<_>>(),
            [("a", Some("10")), ("b", Some("20")), ("c", Some("30"))],
            "{backend}"
        );
        assert!(rows.iter().all(|r| r.enrichment_status == "pending"));

        let second = harvest(&h, "shop", tenant);
        assert_eq!(counts(&second), [0, 0, 3, 0], "{second:#}");

        // b changes price, c leaves, d and e arrive.
        server.set_body(
            yml(&[("a", "10"), ("b", "25"), ("d", "40"), ("e", "50")]),
            Some("\"v3\""),
        );
        let third = harvest(&h, "shop", tenant);
        assert_eq!(counts(&third), [2, 1, 1, 1], "{third:#}");
        let rows = staging.rows(&key).await.unwrap();
        assert_eq!(rows.len(), 5, "missing rows are marked, not deleted");
        let c = rows.iter().find(|r| r.sku == "c").unwrap();
        assert!(c.missing_since_run.is_some());

        // The server now sends an ETag; the next harvest asks with If-None-Match and stops.
        let fourth = harvest(&h, "shop", tenant);
        assert_eq!(fourth["status"], "not_modified", "{fourth:#}");
        staging.delete_catalog(&key).await.unwrap();
        staging.close().await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_malformed_feed_fails_once_with_a_typed_non_retryable_error_and_imports_detect_their_module()
 {
    let h = Harness::start().await;
    let server = FeedServer::start();
    server.set_body(
        "<yml_catalog><shop><offers><offer id=\"1\"><name>x</name></offer><offer id=\"2\"><name>y</nam",
        None,
    );
    h.write_supplier("broken", "acme", &server.url());
    let _worker = h.worker("w", &[], &[]);
    let id = unique("broken");
    let out = h.cli(&[
        "harvest",
        "broken",
        "--tenant",
        "acme",
        "--workflow-id",
        &id,
        "--wait",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(1), "a failed workflow exits 1");
    let v = json_of(&out);
    assert_eq!(v["status"], "failed", "{v:#}");
    assert_eq!(v["failure"]["type_name"], "InvalidFeed", "{v:#}");
    assert_eq!(v["failure"]["non_retryable"], true);
    let parse_attempts = activity_attempts(&h.address, &id);
    // resolve_supplier, download_feed, pin_module, parse_products: each started exactly once.
    assert_eq!(parse_attempts, [1, 1, 1, 1], "one attempt per step");

    let out = h.cli(&["harvest", "nobody", "--tenant", "t", "--wait", "--json"]);
    assert_eq!(json_of(&out)["failure"]["type_name"], "UnknownSupplier");

    // The ad-hoc import: the module is detected from the content.
    server.set_body(yml(&[("x", "1"), ("y", "2")]), None);
    let out = h.cli(&["import", &server.url(), "--wait", "--json"]);
    let v = json_of(&out);
    assert!(out.status.success(), "{v:#}");
    assert_eq!(v["workflow_type"], "HarvesterImportWorkflow");
    assert_eq!(v["result"]["module"]["name"], "yml", "{v:#}");
    assert_eq!(v["result"]["created"], 2);
    // Content no transformer claims asks for a module name.
    server.set_body("just words", None);
    let out = h.cli(&["import", &server.url(), "--wait", "--json"]);
    assert_eq!(json_of(&out)["failure"]["type_name"], "ModuleNotDetected");

    // One process serves several task queues.
    let _multi = h.worker("multi", &["--task-queue", "imports-a,imports-b"], &[]);
    server.set_body(yml(&[("q", "1")]), None);
    let out = h.cli(&[
        "import",
        &server.url(),
        "--task-queue",
        "imports-b",
        "--wait",
        "--json",
    ]);
    let v = json_of(&out);
    assert!(out.status.success(), "{v:#}");
    assert_eq!(v["result"]["created"], 1, "{v:#}");
}

#[tokio::test(flavor = "multi_thread")]
async fn python_starts_a_harvest_and_calls_modules_by_name() {
    let h = Harness::start().await;
    let tenant = unique("py");
    let _server = h.serve_supplier("pyshop", &tenant, yml(&[("a", "1"), ("b", "2")]));
    h.add_module("taxonomy-rules", "taxonomy-rules", None);
    let mut worker = h.worker("w", &[], &[]);
    let args = [h.address.as_str(), QUEUE, "pyshop", &tenant];
    let v = python("cross_language.py", &args, || worker.log_text());
    assert_eq!(v["harvest"]["created"], 2, "{v:#}");
    assert_eq!(v["harvest"]["status"], "completed");
    assert_eq!(
        v["modules"]["text_stats"],
        serde_json::json!({"lines": 2, "words": 4, "bytes": 18})
    );
    assert_eq!(
        v["modules"]["hostile"]["loop"]["type"], "GuestTimeout",
        "{v:#}"
    );
    assert_eq!(v["modules"]["hostile"]["loop"]["non_retryable"], true);
    assert_eq!(
        v["modules"]["hostile"]["ok"], "ok",
        "the worker keeps serving"
    );
    // An enricher by name: one answer per product, in order, in the staging JSON shape.
    let enriched = &v["modules"]["enriched"];
    assert_eq!(enriched[0]["offer_id"], "k1", "{v:#}");
    assert_eq!(enriched[0]["verdict"], "classified");
    assert_eq!(enriched[0]["category_slug"], "kitchen.kettles");
    assert_eq!(enriched[1]["offer_id"], "g1");
    assert_eq!(enriched[1]["verdict"], "abstained");
    assert_eq!(enriched.as_array().map(Vec::len), Some(2));
    assert!(
        worker.child.try_wait().unwrap().is_none(),
        "worker still running"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn shutdown_and_crash_mid_harvest_lose_nothing() {
    const OFFERS: usize = 100_000;
    let h = Harness::start().await;
    let server = FeedServer::start();
    let offers: Vec<(String, String)> = (0..OFFERS)
        .map(|i| (format!("sku-{i:06}"), format!("{}.00", 100 + i)))
        .collect();
    let refs: Vec<(&str, &str)> = offers
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    server.set_body(yml(&refs), None);
    let staging = Staging::open(&Staging::sqlite_url(&h.path("data/staging.db")))
        .await
        .unwrap();

    // SIGTERM while an activity runs, with a grace period shorter than the activity: the
    // activity is cancelled, the process leaves within the grace period (plus a little), and
    // another worker finishes the workflow.
    let mut first = h.worker("term", &["--shutdown-grace-secs", "0"], &[]);
    let (_, id) = harvest_until_staging(&h, &server, &staging, &first, "term").await;
    let took = first
        .signal_and_wait("TERM", Duration::from_secs(5))
        .unwrap_or_else(|| {
            panic!(
                "no exit within grace + 5 s of SIGTERM:\n{}",
                first.log_text()
            )
        });
    assert!(
        first
            .log_text()
            .contains("activity cancelled; stopping its work"),
        "the running activity is cancelled at the end of the grace period:\n{}",
        first.log_text()
    );
    eprintln!("SIGTERM exit took {took:?}");
    let _second = h.worker("after-term", &[], &[]);
    let out = h.cli(&["workflow", "status", &id, "--wait", "--json"]);
    let v = json_of(&out);
    assert_eq!(v["status"], "completed", "{v:#}");
    assert_eq!(v["result"]["created"], OFFERS as u64);
    // Products travel by reference: no payload of a 100,000-product harvest comes near
    // Temporal's 256 KB warning threshold.
    for event in history(&h.address, &id) {
        let size = event.to_string().len();
        assert!(size < 16 * 1024, "a {size}-byte history event: {event}");
    }
    drop(_second);

    // kill -9 while products are being staged: a second worker resumes and the table holds
    // each product exactly once.
    let mut third = h.worker("kill", &[], &[]);
    let (key, id) = harvest_until_staging(&h, &server, &staging, &third, "kill").await;
    third
        .signal_and_wait("KILL", Duration::from_secs(10))
        .unwrap();
    let partial = staging.listed_count(&key).await.unwrap();
    eprintln!("killed with {partial} of {OFFERS} products staged");
    assert!(
        partial < OFFERS as u64,
        "staging had finished before the kill: the test saw no crash mid-staging"
    );
    let _fourth = h.worker("after-kill", &[], &[]);
    let out = h.cli(&["workflow", "status", &id, "--wait", "--json"]);
    let v = json_of(&out);
    assert_eq!(v["status"], "completed", "{v:#}");
    assert_eq!(v["result"]["created"], OFFERS as u64, "{v:#}");
    let rows = staging.rows(&key).await.unwrap();
    let distinct: std::collections::HashSet<&str> = rows.iter().map(|r| r.sku.as_str()).collect();
    assert_eq!(
        (rows.len(), distinct.len()),
        (OFFERS, OFFERS),
        "partial before kill: {partial}"
    );
    // The stage step really ran twice: once killed, once to the end.
    let stage_attempts = activity_attempts(&h.address, &id);
    assert!(
        stage_attempts.iter().any(|a| *a >= 2),
        "no step was retried after the kill: {stage_attempts:?}"
    );
}

/// Start a harvest of `server`'s feed for a new tenant (`label`) and return once `worker` has
/// staged its first batch: the feed's key and the workflow's id.
async fn harvest_until_staging(
    h: &Harness,
    server: &FeedServer,
    staging: &Staging,
    worker: &common::Worker,
    label: &str,
) -> (FeedKey, String) {
    let key = h.new_tenant_supplier(label, "big", &server.url());
    let id = unique(label);
    let out = h.cli(&[
        "harvest",
        "big",
        "--tenant",
        &key.tenant,
        "--workflow-id",
        &id,
    ]);
    assert_success(&out);
    wait_until_staging(staging, &key, worker).await;
    (key, id)
}

/// Poll until the worker has staged its first batch for `key`.
async fn wait_until_staging(staging: &Staging, key: &FeedKey, worker: &common::Worker) {
    let what = "the worker has staged its first batch";
    worker
        .poll_until(what, Duration::from_secs(120), async || {
            (staging.listed_count(key).await.unwrap() > 0).then_some(())
        })
        .await;
}
