//! Both backends run the same cases. PostgreSQL comes from `CONTEXTWORKER_TEST_POSTGRES`
//! (default: the local server every development and CI machine has); each test uses its own
//! tenant, so tests run in parallel on one database.

use super::*;
use contextworker_types::Product;

fn product(sku: &str, name: &str, price: &str) -> Product {
    Product {
        offer_id: sku.into(),
        name: name.into(),
        price: Some(price.into()),
        currency: Some("UAH".into()),
        ..Product::default()
    }
}

fn postgres_url() -> String {
    std::env::var("CONTEXTWORKER_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

fn unique_key(label: &str) -> FeedKey {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    FeedKey {
        tenant: format!("t-{label}-{nanos}-{}", std::process::id()),
        supplier: "acme".into(),
    }
}

async fn backends(dir: &std::path::Path) -> Vec<Staging> {
    let sqlite = Staging::open(&Staging::sqlite_url(&dir.join("staging.db")))
        .await
        .expect("sqlite opens");
    let postgres = Staging::open(&postgres_url())
        .await
        .expect("postgres opens (is the local server running?)");
    vec![sqlite, postgres]
}

fn feed(url: &str) -> FeedState {
    FeedState {
        url: url.into(),
        etag: Some("\"e1\"".into()),
        ..FeedState::default()
    }
}

/// Runs `case` on each backend with a catalog of its own (named after `label`), then removes
/// that catalog. A case that writes other catalogs removes them itself.
async fn on_both_backends(label: &str, case: impl AsyncFn(&Staging, &FeedKey)) {
    let dir = tempfile::tempdir().expect("tempdir");
    for staging in backends(dir.path()).await {
        let key = unique_key(label);
        case(&staging, &key).await;
        staging.delete_catalog(&key).await.expect("cleanup");
    }
}

/// The counts a run reports, in the order of [`RunCounts`]' fields.
fn counts(created: u64, updated: u64, unchanged: u64, missing: u64) -> RunCounts {
    RunCounts {
        created,
        updated,
        unchanged,
        missing,
    }
}

/// Stage `products` as run `run` of `key`.
async fn stage(staging: &Staging, key: &FeedKey, run: &str, products: &[Product]) {
    staging
        .stage_batch(key, run, products)
        .await
        .expect("stage");
}

/// Finish run `run` of `key` (feed URL `u`); its counts.
async fn finish(staging: &Staging, key: &FeedKey, run: &str) -> RunCounts {
    staging
        .finish_run(key, run, &feed("u"))
        .await
        .expect("finish")
}

/// A whole run: stage `products` as `run`, then finish it; its counts.
async fn harvest(staging: &Staging, key: &FeedKey, run: &str, products: &[Product]) -> RunCounts {
    stage(staging, key, run, products).await;
    finish(staging, key, run).await
}

#[tokio::test]
async fn counts_are_exact_across_runs_on_both_backends() {
    on_both_backends("counts", async |staging, key| {
        let first = [
            product("a", "A", "1.00"),
            product("b", "B", "2.00"),
            product("c", "C", "3.00"),
        ];
        assert_eq!(
            harvest(staging, key, "r1", &first).await,
            counts(3, 0, 0, 0),
            "{:?}",
            staging.backend()
        );

        assert_eq!(
            harvest(staging, key, "r2", &first).await,
            counts(0, 0, 3, 0)
        );

        // b changes, c disappears, d is new.
        let third = [
            product("a", "A", "1.00"),
            product("b", "B", "2.50"),
            product("d", "D", "4.00"),
        ];
        assert_eq!(
            harvest(staging, key, "r3", &third).await,
            counts(1, 1, 1, 1)
        );
        let rows = staging.rows(key).await.expect("rows");
        let c = rows.iter().find(|r| r.sku == "c").expect("c is kept");
        assert_eq!(c.missing_since_run.as_deref(), Some("r3"));
        assert_eq!(staging.listed_count(key).await.expect("count"), 3);

        // c comes back: an update (it was missing), and it is listed again.
        let fourth = [
            product("a", "A", "1.00"),
            product("b", "B", "2.50"),
            product("c", "C", "3.00"),
            product("d", "D", "4.00"),
        ];
        assert_eq!(
            harvest(staging, key, "r4", &fourth).await,
            counts(0, 1, 3, 0)
        );
    })
    .await;
}

#[tokio::test]
async fn a_retried_run_leaves_the_same_rows_and_reports_the_same_counts() {
    on_both_backends("retry", async |staging, key| {
        let first = [product("a", "A", "1"), product("b", "B", "2")];
        harvest(staging, key, "r1", &first).await;

        let second = [product("a", "A", "1.5"), product("c", "C", "3")];
        // The first attempt stages, then "crashes" before finishing; the retry stages again
        // (including the batch that was already written) and finishes twice.
        stage(staging, key, "r2", &second[..1]).await;
        let rows_after_crash = staging.rows(key).await.expect("rows");
        stage(staging, key, "r2", &second).await;
        let once = finish(staging, key, "r2").await;
        let rows_once = staging.rows(key).await.expect("rows");
        stage(staging, key, "r2", &second).await;
        let twice = finish(staging, key, "r2").await;
        assert_eq!(once, counts(1, 1, 0, 1));
        assert_eq!(once, twice);
        assert_eq!(rows_once, staging.rows(key).await.expect("rows"));
        assert_eq!(rows_after_crash.len(), 2);
        assert_eq!(rows_once.len(), 3);
    })
    .await;
}

#[tokio::test]
async fn duplicates_in_a_batch_are_merged_and_enrichment_resets_on_change() {
    on_both_backends("dups", async |staging, key| {
        let twice = [product("a", "A", "1"), product("a", "A again", "9")];
        let counts = harvest(staging, key, "r1", &twice).await;
        assert_eq!(counts.created, 1);
        let rows = staging.rows(key).await.expect("rows");
        assert_eq!(
            (rows.len(), rows[0].name.as_str()),
            (1, "A again"),
            "the later one wins"
        );
        assert_eq!(rows[0].enrichment_status, "pending");
        // Enriched since; the next run changes `a`'s content and leaves `b`'s alone.
        stage(staging, key, "r2", &[product("b", "B", "2")]).await;
        staging
            .set_enrichment_status(key, "done")
            .await
            .expect("set");
        let third = [product("a", "A again", "10"), product("b", "B", "2")];
        stage(staging, key, "r3", &third).await;
        let rows = staging.rows(key).await.expect("rows");
        let status = |sku: &str| {
            rows.iter()
                .find(|r| r.sku == sku)
                .map(|r| r.enrichment_status.clone())
        };
        assert_eq!(status("a").as_deref(), Some("pending"), "content changed");
        assert_eq!(status("b").as_deref(), Some("done"), "content unchanged");
    })
    .await;
}

#[tokio::test]
async fn feed_state_is_recorded_when_a_run_finishes() {
    on_both_backends("state", async |staging, key| {
        assert_eq!(staging.feed_state(key).await.expect("state"), None);
        staging
            .finish_run(key, "r1", &feed("http://x/feed"))
            .await
            .expect("finish");
        let state = staging
            .feed_state(key)
            .await
            .expect("state")
            .expect("recorded");
        assert_eq!(
            (state.url.as_str(), state.etag.as_deref()),
            ("http://x/feed", Some("\"e1\""))
        );
    })
    .await;
}

#[tokio::test]
async fn a_bad_url_says_what_to_write() {
    let err = Staging::open("mysql://x").await.expect_err("refused");
    assert!(err.to_string().contains("sqlite:PATH"), "{err}");
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn data_the_database_cannot_hold_is_refused_once_and_not_retried() {
    on_both_backends("nul", async |staging, key| {
        let mut bad = product("b", "Tent", "1");
        bad.description = Some("broken\0text".into());
        let err = staging
            .stage_batch(key, "run-1", &[product("a", "A", "1"), bad])
            .await
            .expect_err("refused");
        assert_eq!(err.class().name(), "InvalidProducts", "{err}");
        assert!(!err.is_retryable());
        assert!(
            err.to_string().contains("offer \"b\": description"),
            "{err}"
        );
        // Nothing of the refused batch was written.
        assert!(staging.rows(key).await.expect("rows").is_empty());
    })
    .await;
    // What the check lets through but the database still refuses is classed by its SQLSTATE:
    // PostgreSQL's own refusal of a NUL, reached through a raw statement.
    let pool = sqlx::PgPool::connect(&postgres_url()).await.expect("pg");
    let raw = sqlx::query("SELECT $1::text")
        .bind("a\0b")
        .execute(&pool)
        .await
        .expect_err("postgres refuses NUL");
    let classified = StagingError::query("a raw statement")(raw);
    assert_eq!(classified.class().name(), "StagingRejected", "{classified}");
    assert!(!classified.is_retryable());
}

#[tokio::test]
async fn a_batch_larger_than_one_statement_counts_exactly_and_the_last_repeat_wins() {
    // 2,345 rows are three SQLite statements in one transaction (and one PostgreSQL statement);
    // offer 5 appears again at the end of the second run's batch, past a statement boundary.
    on_both_backends("large", async |staging, key| {
        let first: Vec<Product> = (0..2345)
            .map(|i| product(&format!("o{i}"), &format!("N{i}"), "1.00"))
            .collect();
        assert_eq!(
            harvest(staging, key, "r1", &first).await,
            counts(2345, 0, 0, 0),
            "{:?}",
            staging.backend()
        );
        let mut second: Vec<Product> = (0..2345)
            .map(|i| {
                let price = if i % 10 == 0 { "2.00" } else { "1.00" };
                product(&format!("o{i}"), &format!("N{i}"), price)
            })
            .collect();
        second.push(product("o5", "N5 again", "1.00"));
        // Staged twice, as a retried attempt would: the counts do not move.
        stage(staging, key, "r2", &second).await;
        assert_eq!(
            harvest(staging, key, "r2", &second).await,
            counts(0, 236, 2109, 0),
            "{:?}",
            staging.backend()
        );
        let rows = staging.rows(key).await.expect("rows");
        let o5 = rows.iter().find(|r| r.sku == "o5").expect("o5");
        assert_eq!(o5.name, "N5 again");
    })
    .await;
}

#[tokio::test]
async fn a_host_older_than_its_database_still_opens_it() {
    // A fleet mid-upgrade: a newer host has applied a migration this build does not know.
    let dir = tempfile::tempdir().expect("tempdir");
    let url = Staging::sqlite_url(&dir.path().join("staging.db"));
    Staging::open(&url).await.expect("first open").close().await;
    let pool = sqlx::SqlitePool::connect(&url).await.expect("sqlite");
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (9999, 'from a newer host', TRUE, x'00', 0)",
    )
    .execute(&pool)
    .await
    .expect("a newer migration recorded");
    pool.close().await;
    let staging = Staging::open(&url).await.expect("an older host opens it");
    let key = unique_key("older");
    assert_eq!(
        harvest(&staging, &key, "r1", &[product("a", "A", "1")]).await,
        counts(1, 0, 0, 0)
    );
}

/// A result for `r` computed from content `hash`.
fn enriched(r: &EnrichmentSubject, status: &'static str) -> EnrichmentWrite {
    EnrichmentWrite {
        product_ref: r.product_ref.clone(),
        content_hash: r.content_hash.clone(),
        enrichment: format!(r#"{{"taxonomy":{{"status":"{status}"}}}}"#),
        enrichment_status: status,
        status: if status == "done" {
            "pending_approval"
        } else {
            "enriching"
        },
    }
}

#[tokio::test]
async fn pending_products_page_in_order_and_results_stick_only_to_the_content_they_describe() {
    use contextworker_types::ProductRef;
    on_both_backends("enrich", async |staging, key| {
        let other = FeedKey {
            tenant: key.tenant.clone(),
            supplier: "beta".into(),
        };
        let products: Vec<Product> = (0..5)
            .map(|i| product(&format!("s{i}"), &format!("P{i}"), "1"))
            .collect();
        harvest(staging, key, "r1", &products).await;
        harvest(staging, &other, "r1", &products[..2]).await;
        // Another tenant's pending products are never seen.
        let stranger = unique_key("stranger");
        harvest(staging, &stranger, "r1", &products).await;

        let first = staging
            .pending_products(&key.tenant, None, None, 4)
            .await
            .expect("page 1");
        let rest = staging
            .pending_products(&key.tenant, None, first.last(), 4)
            .await
            .expect("page 2");
        let shown: Vec<String> = first.iter().chain(&rest).map(|r| r.to_string()).collect();
        assert_eq!(
            shown,
            [
                "acme/s0", "acme/s1", "acme/s2", "acme/s3", "acme/s4", "beta/s0", "beta/s1"
            ]
        );
        let beta_only = staging
            .pending_products(&key.tenant, Some("beta"), None, 10)
            .await
            .expect("one supplier");
        assert_eq!(beta_only.len(), 2);

        let mut refs: Vec<ProductRef> = first.clone();
        refs.push(ProductRef {
            supplier: "acme".into(),
            sku: "no-such".into(),
        });
        refs.push(first[0].clone());
        let subjects = staging
            .enrichment_subjects(&key.tenant, &refs)
            .await
            .expect("subjects");
        assert_eq!(
            subjects.len(),
            4,
            "an unknown id is left out, a repeated one read once"
        );
        assert_eq!(subjects[0].product.name, "P0");
        assert_eq!(subjects[0].enrichment, None);
        // The stranger's tenant cannot read these by reference either.
        assert!(
            staging
                .enrichment_subjects(
                    &stranger.tenant,
                    &[ProductRef {
                        supplier: "beta".into(),
                        sku: "s0".into()
                    }]
                )
                .await
                .expect("stranger")
                .is_empty()
        );

        // s0 changes before its result is written: the stale result is not kept.
        let mut changed = products.clone();
        changed[0].price = Some("2".into());
        stage(staging, key, "r2", &changed).await;
        let writes: Vec<EnrichmentWrite> = subjects
            .iter()
            .map(|s| {
                enriched(
                    s,
                    if s.product_ref.sku == "s3" {
                        "error"
                    } else {
                        "done"
                    },
                )
            })
            .collect();
        let written = staging
            .write_enrichment(&key.tenant, &writes)
            .await
            .expect("write");
        assert_eq!(written, 3);
        // Writing the same results again (a retried batch) leaves the same rows.
        staging
            .write_enrichment(&key.tenant, &writes)
            .await
            .expect("write again");
        let rows = staging.rows(key).await.expect("rows");
        let row = |sku: &str| rows.iter().find(|r| r.sku == sku).expect("row");
        assert_eq!(
            (
                row("s0").enrichment_status.as_str(),
                row("s0").status.as_str()
            ),
            ("pending", "raw")
        );
        assert_eq!(
            (
                row("s1").enrichment_status.as_str(),
                row("s1").status.as_str()
            ),
            ("done", "pending_approval")
        );
        let record: serde_json::Value =
            serde_json::from_str(row("s1").enrichment.as_deref().expect("json")).expect("parses");
        assert_eq!(record["taxonomy"]["status"], "done");
        assert_eq!(row("s3").enrichment_status, "error");
        assert_eq!(
            staging
                .enrichment_counts(&key.tenant, Some("acme"))
                .await
                .expect("counts"),
            StatusCounts {
                pending: 2,
                done: 2,
                error: 1
            }
        );
        // A content change sends a done product back to pending and raw.
        changed[1].name = "P1 renamed".into();
        stage(staging, key, "r3", &changed).await;
        let rows = staging.rows(key).await.expect("rows");
        let s1 = rows.iter().find(|r| r.sku == "s1").expect("s1");
        assert_eq!(
            (s1.enrichment_status.as_str(), s1.status.as_str()),
            ("pending", "raw")
        );
        for k in [&other, &stranger] {
            staging.delete_catalog(k).await.expect("cleanup");
        }
    })
    .await;
}
