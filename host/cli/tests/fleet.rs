//! A worker whose blobs live in a shared S3-compatible store (SeaweedFS on loopback), as a
//! fleet's hosts run: the harvest completes with exact counts and its feed and product set are
//! in the bucket under their digests, not only on this host's disk.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;

use common::{Harness, json_of, unique, yml_feed};
use contextworker_test_support::feed_server::FeedServer;
use contextworker_test_support::object_server::ObjectServer;

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
