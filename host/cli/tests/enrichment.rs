//! Enrichment against a real `temporal server start-dev`: a harvested catalog classified by
//! `taxonomy-rules` through `EnrichmentWorkflow` on SQLite and PostgreSQL, with exact status
//! counts; a rerun that changes nothing; a product changed by the next harvest enriched
//! again; explicit product ids; and a Python client starting `EnrichmentWorkflow` and
//! `GardenerWorkflow` by name with the original's arguments.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;

use common::{Harness, QUEUE, Worker, json_of, python, unique, yml_offers};
use contextworker_staging::{FeedKey, Staging, StatusCounts};
use contextworker_test_support::feed_server::FeedServer;

const PRODUCTS: usize = 1_000;

/// Four kinds of product in turn: three the built-in taxonomy classifies, one it abstains on.
fn catalog(price_of: impl Fn(usize) -> u32) -> Vec<(String, String, String)> {
    (0..PRODUCTS)
        .map(|i| {
            let name = match i % 4 {
                0 => format!("Чайник сталевий {i}"),
                1 => format!("Ceramic mug {i}"),
                2 => format!("Hiking boot {i}"),
                _ => format!("Gift card {i}"),
            };
            (format!("sku-{i:04}"), name, price_of(i).to_string())
        })
        .collect()
}

/// `n` products alike but for their number `i`: id `{prefix}{i:03}`, name `{name} {i}`, price 10.
fn numbered(n: usize, prefix: &str, name: &str) -> Vec<(String, String, String)> {
    (0..n)
        .map(|i| {
            (
                format!("{prefix}{i:03}"),
                format!("{name} {i}"),
                "10".to_owned(),
            )
        })
        .collect()
}

fn counts_of(result: &serde_json::Value) -> [u64; 4] {
    ["processed", "done", "abstained", "failed"].map(|k| result[k].as_u64().unwrap())
}

/// `enrich <tenant> --wait`, whose counts (processed, done, abstained, failed) must be `want`;
/// its result.
fn enrich(h: &Harness, tenant: &str, worker: &Worker, want: [u64; 4]) -> serde_json::Value {
    let result = h.result_of(&["enrich", tenant, "--wait", "--json"]);
    assert_eq!(
        counts_of(&result),
        want,
        "{result:#}\n{}",
        worker.log_text()
    );
    result
}

/// Every row's (status, enrichment status, enrichment JSON), by sku.
async fn snapshot(
    staging: &Staging,
    key: &FeedKey,
) -> BTreeMap<String, (String, String, Option<String>)> {
    staging
        .rows(key)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.sku, (r.status, r.enrichment_status, r.enrichment)))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_harvest_is_enriched_exactly_on_sqlite_and_postgres_and_again_after_a_change() {
    let h = Harness::start().await;
    let server = FeedServer::start();
    h.add_module("taxonomy-rules", "taxonomy-rules", None);
    for (backend, db_url) in h.backends() {
        let worker = h.worker_on(backend, &db_url);
        let key = h.new_tenant_supplier(backend, "shop", &server.url());
        let tenant = key.tenant.clone();
        server.set_body(yml_offers(&catalog(|i| 100 + i as u32)), None);
        let harvest = h.result_of(&["harvest", "shop", "--tenant", &tenant, "--wait", "--json"]);
        assert_eq!(harvest["created"], PRODUCTS as u64, "{harvest:#}");
        let staging = Staging::open(&db_url).await.unwrap();

        let first = enrich(&h, &tenant, &worker, [1_000, 750, 250, 0]);
        assert_eq!(first["batches"], 20, "batches of 50: {first:#}");
        assert_eq!(first["classifier"]["name"], "taxonomy-rules");
        assert_eq!(first["status"], "completed");
        // Each step's time is reported (a few ms each here, so only their presence is sure).
        for step in ["select_ms", "read_ms", "classify_ms", "write_ms"] {
            assert!(first["timings"][step].is_u64(), "{step}: {first:#}");
        }
        assert_eq!(
            staging.enrichment_counts(&tenant, None).await.unwrap(),
            StatusCounts {
                pending: 0,
                done: 1_000,
                error: 0
            }
        );
        let rows = snapshot(&staging, &key).await;
        let (status, enrichment_status, json) = &rows["sku-0000"];
        assert_eq!(
            (status.as_str(), enrichment_status.as_str()),
            ("pending_approval", "done")
        );
        let record: serde_json::Value = serde_json::from_str(json.as_deref().unwrap()).unwrap();
        let task = &record["taxonomy"];
        assert_eq!(task["status"], "done", "{record:#}");
        assert_eq!(task["result"]["category_slug"], "kitchen.kettles");
        assert_eq!(task["module"], "taxonomy-rules@0.1.0");
        assert_eq!(task["digest"], first["classifier"]["digest"]);
        assert_eq!(task["attempts"], 1);
        let gift: serde_json::Value =
            serde_json::from_str(rows["sku-0003"].2.as_deref().unwrap()).unwrap();
        assert_eq!(gift["taxonomy"]["status"], "done");
        assert!(gift["taxonomy"]["abstained"].is_string(), "{gift:#}");

        // Nothing is pending: a rerun classifies nothing and changes no row.
        enrich(&h, &tenant, &worker, [0, 0, 0, 0]);
        assert_eq!(
            snapshot(&staging, &key).await,
            rows,
            "a rerun changes nothing"
        );

        // The next harvest changes one product: it alone goes back to pending and raw.
        server.set_body(
            yml_offers(&catalog(|i| if i == 5 { 999 } else { 100 + i as u32 })),
            None,
        );
        let second = h.result_of(&["harvest", "shop", "--tenant", &tenant, "--wait", "--json"]);
        assert_eq!(second["updated"], 1, "{second:#}");
        let changed = snapshot(&staging, &key).await;
        assert_eq!(
            (
                changed["sku-0005"].0.as_str(),
                changed["sku-0005"].1.as_str()
            ),
            ("raw", "pending")
        );
        enrich(&h, &tenant, &worker, [1, 1, 0, 0]);
        assert_eq!(
            staging.enrichment_counts(&tenant, None).await.unwrap().done,
            1_000
        );

        // Explicit ids are enriched whatever their status; an unknown one is skipped.
        let explicit = h.result_of(&[
            "enrich",
            &tenant,
            "--product",
            "shop/sku-0001",
            "--product",
            "shop/no-such",
            "--wait",
            "--json",
        ]);
        assert_eq!(counts_of(&explicit), [1, 1, 0, 0], "{explicit:#}");
        assert_eq!(explicit["skipped"], 1, "{explicit:#}");

        staging.delete_catalog(&key).await.unwrap();
        staging.close().await;
        drop(worker);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn python_starts_enrichment_and_the_gardener_by_name_with_the_originals_arguments() {
    let h = Harness::start().await;
    h.add_module("taxonomy-rules", "taxonomy-rules", None);
    let worker = h.worker("w", &[], &[]);
    let tenant = unique("py");
    let offers = yml_offers(&numbered(120, "p", "Ceramic mug"));
    let _server = h.serve_supplier("pyshop", &tenant, offers);
    h.result_of(&["harvest", "pyshop", "--tenant", &tenant, "--wait", "--json"]);
    let v = python("enrichment.py", &[&h.address, QUEUE, &tenant], || {
        worker.log_text()
    });
    // EnrichmentWorkflow({tenant_id, product_ids}): exactly those two.
    assert_eq!(v["ids"]["processed"], 2, "{v:#}");
    assert_eq!(v["ids"]["done"], 2);
    // GardenerWorkflow(tenant_id, 50, 2): one pass of at most two batches, so 100 of the 118
    // still pending, and it says it stopped early.
    assert_eq!(v["gardener"]["processed"], 100, "{v:#}");
    assert_eq!(v["gardener"]["batches"], 2);
    assert_eq!(v["gardener"]["status"], "incomplete");
    // The next scheduled pass finishes the rest.
    assert_eq!(v["gardener_again"]["processed"], 18, "{v:#}");
    assert_eq!(v["gardener_again"]["status"], "completed");
    // A bad argument is a typed, non-retryable failure.
    assert_eq!(v["bad"]["type"], "InvalidArguments", "{v:#}");
    let staging = Staging::open(&Staging::sqlite_url(&h.path("data/staging.db")))
        .await
        .unwrap();
    assert_eq!(
        staging.enrichment_counts(&tenant, None).await.unwrap(),
        StatusCounts {
            pending: 0,
            done: 120,
            error: 0
        }
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_gardener_interval_enriches_each_tenant_without_a_schedule() {
    let h = Harness::start().await;
    h.add_module("taxonomy-rules", "taxonomy-rules", None);
    let tenant = unique("poll");
    let offers = yml_offers(&numbered(60, "q", "Hiking boot"));
    let _server = h.serve_supplier("polled", &tenant, offers);
    let worker = h.worker("gardener", &["--gardener-interval", "1"], &[]);
    h.result_of(&["harvest", "polled", "--tenant", &tenant, "--wait", "--json"]);
    let staging = Staging::open(&Staging::sqlite_url(&h.path("data/staging.db")))
        .await
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let counts = staging.enrichment_counts(&tenant, None).await.unwrap();
        if counts.done == 60 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the gardener did not enrich the tenant: {counts:?}\n{}",
            worker.log_text()
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let out = h.cli(&[
        "workflow",
        "status",
        &format!("gardener:{tenant}"),
        "--json",
    ]);
    let v = json_of(&out);
    assert_eq!(v["workflow_type"], "GardenerWorkflow", "{v:#}");
    // Out of range: refused before anything starts.
    let out = h.cli(&["serve", "--gardener-interval", "0"]);
    assert_eq!(out.status.code(), Some(2));
}

/// The tenant's settings for `llm-classifier` against the test server.
fn write_llm_tenant(h: &Harness, tenant: &str, base_url: &str, extra: &str, config: &str) {
    std::fs::create_dir_all(h.path("tenants")).unwrap();
    std::fs::write(
        h.path("tenants").join(format!("{tenant}.toml")),
        format!(
            "tenant = \"{tenant}\"\n[enrichment]\nclassifier = \"llm-classifier\"\n{extra}\n\
             [enrichment.config]\nbase_url = \"{base_url}\"\n\
             slugs = \"footwear.boots = Footwear > Boots, accessories = Accessories, clothing.jackets\"\n{config}\n"
        ),
    )
    .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_llm_classifier_enriches_through_the_worker_with_a_key_only_the_host_holds() {
    use contextworker_test_support::llm_server::{LlmServer, Mode, TOKENS_PER_PRODUCT};
    const KEY: &str = "sk-router-test-5b1e";
    let h = Harness::start().await;
    let feed = FeedServer::start();
    let llm = LlmServer::start();
    h.add_module("llm-classifier", "llm-classifier", None);
    // The operator names the router (narrowing the module's wildcard grant) and its key.
    let config = h.path("host.toml");
    std::fs::write(
        &config,
        format!(
            "[http.llm-classifier]\nallow = [\"POST http://127.0.0.1:{port}/v1/\"]\n\
             [[http_secret]]\norigin = \"http://127.0.0.1:{port}\"\nheader = \"Authorization\"\n\
             env = \"TEST_ROUTER_KEY\"\nprefix = \"Bearer \"\n",
            port = llm.port()
        ),
    )
    .unwrap();
    let config = config.display().to_string();
    let worker = h.worker(
        "llm",
        &[],
        &[("CONTEXTWORKER_CONFIG", &config), ("TEST_ROUTER_KEY", KEY)],
    );
    let key = h.new_tenant_supplier("llm", "shop", &feed.url());
    let tenant = key.tenant.clone();
    write_llm_tenant(&h, &tenant, &llm.base_url(), "retry_max = 3", "");
    let products: Vec<_> = catalog(|i| 100 + i as u32).into_iter().take(120).collect();
    feed.set_body(yml_offers(&products), None);
    let harvest = h.result_of(&["harvest", "shop", "--tenant", &tenant, "--wait", "--json"]);
    assert_eq!(harvest["created"], 120, "{harvest:#}");

    // Batches of 50: three requests, each with the host's key and never another.
    let first = enrich(&h, &tenant, &worker, [120, 120, 0, 0]);
    assert_eq!(first["tokens"], 120 * TOKENS_PER_PRODUCT, "{first:#}");
    let seen = llm.seen();
    assert_eq!(seen.len(), 3, "120 products in requests of at most 50");
    for request in &seen {
        assert_eq!(
            request.header("authorization"),
            Some(format!("Bearer {KEY}").as_str())
        );
        assert!(!String::from_utf8_lossy(&request.body).contains(KEY));
    }
    assert!(
        !worker.log_text().contains(KEY),
        "the key never reaches a log line"
    );
    let staging = Staging::open(&Staging::sqlite_url(&h.path("data/staging.db")))
        .await
        .unwrap();
    let rows = snapshot(&staging, &key).await;
    let boot: serde_json::Value =
        serde_json::from_str(rows["sku-0002"].2.as_deref().unwrap()).unwrap();
    assert_eq!(
        boot["taxonomy"]["result"]["category_slug"], "footwear.boots",
        "{boot:#}"
    );
    assert_eq!(
        boot["taxonomy"]["result"]["category_path"],
        serde_json::json!(["Footwear", "Boots"])
    );
    assert_eq!(boot["taxonomy"]["module"], "llm-classifier@0.1.0");

    // Each way a service misbehaves, on four products named explicitly.
    let four = [
        "shop/sku-0000",
        "shop/sku-0001",
        "shop/sku-0002",
        "shop/sku-0003",
    ];
    let enrich_four = |h: &Harness| {
        let mut args = vec!["enrich", tenant.as_str()];
        for id in &four {
            args.extend(["--product", id]);
        }
        args.extend(["--wait", "--json"]);
        h.result_of(&args)
    };
    let cases: [(Mode, &[u16], [u64; 4], usize); 7] = [
        // Half the ids left out: those two fail, the others are classified.
        (Mode::MissingIds, &[], [4, 2, 0, 2], 1),
        // Ids the request did not have are ignored.
        (Mode::ExtraIds, &[], [4, 4, 0, 0], 1),
        // A fenced answer with prose around it is read.
        (Mode::Fenced, &[], [4, 4, 0, 0], 1),
        // 429 then 500: the batch is retried with backoff and succeeds.
        (Mode::Plain, &[429, 500], [4, 4, 0, 0], 3),
        // A reply that is not JSON fails each product, without retrying the batch.
        (Mode::Malformed, &[], [4, 0, 0, 4], 1),
        // A reply over the module's max_response_kb (1 MiB) is refused by the host.
        (Mode::Oversized(2 << 20), &[], [4, 0, 0, 4], 1),
        // A service that keeps failing: retry_max (3) attempts, then each product fails.
        (Mode::Status(500), &[], [4, 0, 0, 4], 3),
    ];
    for (mode, fail_first, expected, requests) in cases {
        llm.set_mode(mode.clone());
        llm.fail_first(fail_first);
        let before = llm.seen().len();
        let result = enrich_four(&h);
        assert_eq!(
            counts_of(&result),
            expected,
            "{mode:?}: {result:#}\n{}",
            worker.log_text()
        );
        assert_eq!(llm.seen().len() - before, requests, "{mode:?}: requests");
    }
    // A service slower than the module's timeout: each attempt gives up, the batch is retried,
    // then each product fails; the worker goes on serving, and answers once the service does.
    write_llm_tenant(
        &h,
        &tenant,
        &llm.base_url(),
        "retry_max = 2",
        "timeout_ms = \"300\"",
    );
    llm.set_mode(Mode::Slow(std::time::Duration::from_secs(2)));
    let slow = enrich_four(&h);
    assert_eq!(
        counts_of(&slow),
        [4, 0, 0, 4],
        "{slow:#}\n{}",
        worker.log_text()
    );
    llm.set_mode(Mode::Plain);
    assert_eq!(counts_of(&enrich_four(&h)), [4, 4, 0, 0]);
    staging.close().await;
}
