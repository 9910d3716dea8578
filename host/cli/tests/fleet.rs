//! A worker whose blobs live in a shared S3-compatible store (SeaweedFS on loopback), as a
//! fleet's hosts run: the harvest completes with exact counts and its feed and product set are
//! in the bucket under their digests, not only on this host's disk. And `serve --fleet` with
//! `modules publish`, `modules rollback --fleet` and `modules list --fleet` from the command
//! line, against a PostgreSQL database of its own.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::{Harness, json_of, unique, yml_feed};
use contextworker_test_support::feed_server::FeedServer;
use contextworker_test_support::object_server::ObjectServer;
use contextworker_test_support::postgres::TestDatabase;

#[tokio::test(flavor = "multi_thread")]
async fn a_harvest_with_the_shared_store_puts_its_blobs_in_the_bucket() {
    let h = Harness::start().await;
    let s3 = ObjectServer::start(&h.path("s3"), "fleet-blobs");
    let server = FeedServer::start();
    let feed = yml_feed(50, 0);
    server.set_body(feed.clone(), None);
    let tenant = unique("fleet");
    h.write_supplier("shop", &tenant, &server.url());

    let url = s3.url("prod");
    let mut env: Vec<(&str, String)> = s3.env();
    env.push(("CONTEXTWORKER_BLOB_STORE", url.clone()));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let _worker = h.worker("s3", &[], &env);

    let out = h.cli(&["harvest", "shop", "--tenant", &tenant, "--wait", "--json"]);
    let v = json_of(&out);
    assert!(out.status.success(), "{v:#}");
    let result = &v["result"];
    assert_eq!(result["created"], 50, "{result:#}");

    // The feed and the product set, each under sha256/<2 hex>/<64 hex> below the prefix.
    let keys = s3.keys("prod/sha256/");
    assert_eq!(keys.len(), 2, "{keys:?}");
    let feed = contextworker_types::Digest::of(feed.as_bytes()).hex();
    assert!(
        keys.iter().any(|k| k.ends_with(&feed)),
        "the feed is in the bucket by its digest: {keys:?}"
    );
    for key in &keys {
        let bytes = s3.get(key).expect("listed object");
        let hex = key.rsplit('/').next().unwrap();
        assert_eq!(
            contextworker_types::Digest::of(&bytes).hex(),
            hex,
            "{key} holds what its name says"
        );
    }
}

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn publish_and_rollback_reach_a_fleet_worker_from_the_command_line() {
    let h = Harness::start().await;
    let s3 = ObjectServer::start(&h.path("s3"), "fleet-releases");
    let database = TestDatabase::create("fleet_cli");
    let mut env: Vec<(&str, String)> = s3.env();
    env.push(("CONTEXTWORKER_BLOB_STORE", s3.url("prod")));
    env.push(("DATABASE_URL", database.url()));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    // The fleet's commands, with the fleet's settings in the environment as an operator has them.
    let cli = |args: &[&str]| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_contextworker-host"));
        cmd.arg("--modules-dir")
            .arg(h.path("modules"))
            .arg("--data-dir")
            .arg(h.path("cli-data"))
            .args(args);
        for (k, v) in &env {
            cmd.env(k, v);
        }
        cmd.output().expect("runs")
    };

    // Without the database the fleet cannot be joined, and says why.
    let no_db = h.cli(&["serve", "--fleet", "--no-grpc"]);
    assert_eq!(no_db.status.code(), Some(2), "{}", text(&no_db));
    assert!(text(&no_db).contains("DATABASE_URL"), "{}", text(&no_db));

    let worker = h.worker("fleet", &["--fleet"], &env);
    let original = contextworker_types::Digest::of(
        &std::fs::read(h.path("modules/yml/yml.wasm")).expect("component"),
    );
    // The fleet had no release: the worker's directory version became the first.
    let list = cli(&["modules", "list", "--fleet", "--json"]);
    assert!(list.status.success(), "{}", text(&list));
    let v: serde_json::Value = serde_json::from_slice(&list.stdout).expect("json");
    let yml = v["releases"]
        .as_array()
        .expect("releases")
        .iter()
        .find(|h| h[0]["module"] == "yml")
        .expect("yml released");
    assert_eq!(yml[0]["action"], "first");
    assert_eq!(yml[0]["digest"], original.to_string());
    assert_eq!(v["hosts"].as_array().expect("hosts").len(), 1, "{v:#}");

    // A new build lands in the directory: a fleet worker does not swap on its own.
    let variant = contextworker_test_support::component_variant(
        &std::fs::read(h.path("modules/yml/yml.wasm")).unwrap(),
        5,
    );
    contextworker_test_support::land(&h.path("modules/yml/yml.wasm"), &variant);
    let v2 = contextworker_types::Digest::of(&variant);
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        !worker.log_text().contains(&v2.short()),
        "the worker swapped to a file that was not released"
    );

    let published = cli(&["modules", "publish", "yml", "--timeout-secs", "30"]);
    let out = text(&published);
    assert!(published.status.success(), "{out}");
    assert!(
        out.contains(&format!("released yml 0.1.0 {}", v2.short())),
        "{out}"
    );
    assert!(out.contains(": live"), "{out}");

    let back = cli(&["modules", "rollback", "yml", "--fleet"]);
    let out = text(&back);
    assert!(back.status.success(), "{out}");
    assert!(
        out.contains(&format!(
            "rolled yml back to 0.1.0 {} (from {})",
            original.short(),
            v2.short()
        )),
        "{out}"
    );
    assert!(out.contains(": live"), "{out}");
    let list = cli(&["modules", "list", "--fleet"]);
    let out = text(&list);
    assert!(out.contains("rollback by"), "{out}");
    assert!(
        out.contains(&format!("yml 0.1.0 {}", &original.hex()[..12])),
        "{out}"
    );
}
