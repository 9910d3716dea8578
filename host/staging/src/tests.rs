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

#[tokio::test]
async fn counts_are_exact_across_runs_on_both_backends() {
    let dir = tempfile::tempdir().expect("tempdir");
    for staging in backends(dir.path()).await {
        let key = unique_key("counts");
        let first = [
            product("a", "A", "1.00"),
            product("b", "B", "2.00"),
            product("c", "C", "3.00"),
        ];
        staging
            .stage_batch(&key, "r1", &first)
            .await
            .expect("stage");
        let counts = staging
            .finish_run(&key, "r1", &feed("u"))
            .await
            .expect("finish");
        assert_eq!(
            counts,
            RunCounts {
                created: 3,
                ..RunCounts::default()
            },
            "{:?}",
            staging.backend()
        );

        staging
            .stage_batch(&key, "r2", &first)
            .await
            .expect("stage");
        let counts = staging
            .finish_run(&key, "r2", &feed("u"))
            .await
            .expect("finish");
        assert_eq!(
            counts,
            RunCounts {
                unchanged: 3,
                ..RunCounts::default()
            }
        );

        // b changes, c disappears, d is new.
        let third = [
            product("a", "A", "1.00"),
            product("b", "B", "2.50"),
            product("d", "D", "4.00"),
        ];
        staging
            .stage_batch(&key, "r3", &third)
            .await
            .expect("stage");
        let counts = staging
            .finish_run(&key, "r3", &feed("u"))
            .await
            .expect("finish");
        assert_eq!(
            counts,
            RunCounts {
                created: 1,
                updated: 1,
                unchanged: 1,
                missing: 1
            }
        );
        let rows = staging.rows(&key).await.expect("rows");
        let c = rows.iter().find(|r| r.sku == "c").expect("c is kept");
        assert_eq!(c.missing_since_run.as_deref(), Some("r3"));
        assert_eq!(staging.listed_count(&key).await.expect("count"), 3);

        // c comes back: an update (it was missing), and it is listed again.
        let fourth = [
            product("a", "A", "1.00"),
            product("b", "B", "2.50"),
            product("c", "C", "3.00"),
            product("d", "D", "4.00"),
        ];
        staging
            .stage_batch(&key, "r4", &fourth)
            .await
            .expect("stage");
        let counts = staging
            .finish_run(&key, "r4", &feed("u"))
            .await
            .expect("finish");
        assert_eq!(
            counts,
            RunCounts {
                updated: 1,
                unchanged: 3,
                ..RunCounts::default()
            }
        );
        staging.delete_catalog(&key).await.expect("cleanup");
    }
}

#[tokio::test]
async fn a_retried_run_leaves_the_same_rows_and_reports_the_same_counts() {
    let dir = tempfile::tempdir().expect("tempdir");
    for staging in backends(dir.path()).await {
        let key = unique_key("retry");
        staging
            .stage_batch(
                &key,
                "r1",
                &[product("a", "A", "1"), product("b", "B", "2")],
            )
            .await
            .expect("stage");
        staging
            .finish_run(&key, "r1", &feed("u"))
            .await
            .expect("finish");

        let second = [product("a", "A", "1.5"), product("c", "C", "3")];
        // The first attempt stages, then "crashes" before finishing; the retry stages again
        // (including the batch that was already written) and finishes twice.
        staging
            .stage_batch(&key, "r2", &second[..1])
            .await
            .expect("stage");
        let rows_after_crash = staging.rows(&key).await.expect("rows");
        staging
            .stage_batch(&key, "r2", &second)
            .await
            .expect("stage");
        let once = staging
            .finish_run(&key, "r2", &feed("u"))
            .await
            .expect("finish");
        let rows_once = staging.rows(&key).await.expect("rows");
        staging
            .stage_batch(&key, "r2", &second)
            .await
            .expect("stage");
        let twice = staging
            .finish_run(&key, "r2", &feed("u"))
            .await
            .expect("finish");
        assert_eq!(
            once,
            RunCounts {
                created: 1,
                updated: 1,
                missing: 1,
                ..RunCounts::default()
            }
        );
        assert_eq!(once, twice);
        assert_eq!(rows_once, staging.rows(&key).await.expect("rows"));
        assert_eq!(rows_after_crash.len(), 2);
        assert_eq!(rows_once.len(), 3);
        staging.delete_catalog(&key).await.expect("cleanup");
    }
}

#[tokio::test]
async fn duplicates_in_a_batch_are_merged_and_enrichment_resets_on_change() {
    let dir = tempfile::tempdir().expect("tempdir");
    for staging in backends(dir.path()).await {
        let key = unique_key("dups");
        staging
            .stage_batch(
                &key,
                "r1",
                &[product("a", "A", "1"), product("a", "A again", "9")],
            )
            .await
            .expect("stage");
        let counts = staging
            .finish_run(&key, "r1", &feed("u"))
            .await
            .expect("finish");
        assert_eq!(counts.created, 1);
        let rows = staging.rows(&key).await.expect("rows");
        assert_eq!(
            (rows.len(), rows[0].name.as_str()),
            (1, "A again"),
            "the later one wins"
        );
        assert_eq!(rows[0].enrichment_status, "pending");
        // Enriched since; the next run changes `a`'s content and leaves `b`'s alone.
        staging
            .stage_batch(&key, "r2", &[product("b", "B", "2")])
            .await
            .expect("stage b");
        staging
            .set_enrichment_status(&key, "done")
            .await
            .expect("set");
        staging
            .stage_batch(
                &key,
                "r3",
                &[product("a", "A again", "10"), product("b", "B", "2")],
            )
            .await
            .expect("stage");
        let rows = staging.rows(&key).await.expect("rows");
        let status = |sku: &str| {
            rows.iter()
                .find(|r| r.sku == sku)
                .map(|r| r.enrichment_status.clone())
        };
        assert_eq!(status("a").as_deref(), Some("pending"), "content changed");
        assert_eq!(status("b").as_deref(), Some("done"), "content unchanged");
        staging.delete_catalog(&key).await.expect("cleanup");
    }
}

#[tokio::test]
async fn feed_state_is_recorded_when_a_run_finishes() {
    let dir = tempfile::tempdir().expect("tempdir");
    for staging in backends(dir.path()).await {
        let key = unique_key("state");
        assert_eq!(staging.feed_state(&key).await.expect("state"), None);
        staging
            .finish_run(&key, "r1", &feed("http://x/feed"))
            .await
            .expect("finish");
        let state = staging
            .feed_state(&key)
            .await
            .expect("state")
            .expect("recorded");
        assert_eq!(
            (state.url.as_str(), state.etag.as_deref()),
            ("http://x/feed", Some("\"e1\""))
        );
        staging.delete_catalog(&key).await.expect("cleanup");
    }
}

#[tokio::test]
async fn a_bad_url_says_what_to_write() {
    let err = Staging::open("mysql://x").await.expect_err("refused");
    assert!(err.to_string().contains("sqlite:PATH"), "{err}");
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn data_the_database_cannot_hold_is_refused_once_and_not_retried() {
    let dir = tempfile::tempdir().expect("tempdir");
    for staging in backends(dir.path()).await {
        let key = unique_key("nul");
        let mut bad = product("b", "Tent", "1");
        bad.description = Some("broken\0text".into());
        let err = staging
            .stage_batch(&key, "run-1", &[product("a", "A", "1"), bad])
            .await
            .expect_err("refused");
        assert_eq!(err.class().name(), "InvalidProducts", "{err}");
        assert!(!err.is_retryable());
        assert!(
            err.to_string().contains("offer \"b\": description"),
            "{err}"
        );
        // Nothing of the refused batch was written.
        assert!(staging.rows(&key).await.expect("rows").is_empty());
    }
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
