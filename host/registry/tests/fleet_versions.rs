//! Module versions shared by a fleet through its bucket (a real S3 server, SeaweedFS on
//! loopback): a version live on one host is loaded by another from the bucket, checked against
//! its digest; a store that is down is an error worth a retry, not "not kept".

#![allow(clippy::expect_used, clippy::panic)]

mod common;

use common::{Fixture, assert_pinned_yml_parses, variant};
use contextworker_registry::{MODULE_VERSIONS_FOLDER, RegistryError};
use contextworker_storage::NamedObjects;
use contextworker_test_support::object_server::ObjectServer;
use contextworker_types::{BucketUrl, Digest, ErrorClass};

const PREFIX: &str = "fleet";

/// The fleet's folder of module versions on `server`, configured explicitly rather than from
/// `AWS_*`, so tests running in parallel do not race on the process environment.
fn shared(server: &ObjectServer) -> NamedObjects {
    let url: BucketUrl = server.url(PREFIX).parse().expect("bucket url");
    let builder = server.s3_builder();
    // A short ride-out: the outage test waits for it to run out.
    NamedObjects::s3_with(
        builder,
        url,
        MODULE_VERSIONS_FOLDER,
        std::time::Duration::from_secs(2),
    )
    .expect("shared store")
}

fn key(digest: &Digest, ext: &str) -> String {
    format!("{PREFIX}/{MODULE_VERSIONS_FOLDER}/{}.{ext}", digest.hex())
}

/// A second host: its own data directory and a modules directory serving another build.
fn other_host() -> Fixture {
    let fx = Fixture::new();
    fx.put_component(&variant(&fx.yml_bytes, 7));
    fx
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_live_on_one_host_is_loaded_by_another_from_the_bucket() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = ObjectServer::start(dir.path(), "versions");
    let a = Fixture::new();
    let (host_a, report) = a.start_shared(Some(shared(&server))).await;
    assert!(report.refused.is_empty(), "{report:?}");
    // Going live put the component and its record in the bucket.
    assert_eq!(
        server.get(&key(&a.yml_digest, "wasm")).as_deref(),
        Some(a.yml_bytes.as_slice())
    );
    let record = server.get(&key(&a.yml_digest, "json")).expect("record");
    let record: serde_json::Value = serde_json::from_slice(&record).expect("json");
    assert_eq!(record["name"], "yml");
    drop(host_a);

    let b = other_host();
    let (host_b, _) = b.start_shared(Some(shared(&server))).await;
    let serving = host_b.get("yml").expect("yml").component.digest();
    assert_ne!(serving, a.yml_digest, "host b serves its own build");
    let from = "host a's version, from the bucket";
    assert_pinned_yml_parses(&host_b, &a.yml_digest, &b.feed(), from).await;
    // Now kept on host b too: its history and rollback can name it.
    assert!(host_b.store().get(&a.yml_digest).is_some());
    // Another module's name does not reach a version by its digest.
    let other_name = host_b.version("csv", &a.yml_digest).await.unwrap_err();
    assert!(
        matches!(
            other_name,
            RegistryError::VersionNotKept { shared: true, .. }
        ),
        "{other_name}"
    );

    // Without the fleet's store, host c has no way to it.
    let c = other_host();
    let (host_c, _) = c.start().await;
    let missing = host_c.version("yml", &a.yml_digest).await.unwrap_err();
    assert!(
        missing.to_string().contains("is not kept on this host"),
        "{missing}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_component_changed_in_the_bucket_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = ObjectServer::start(dir.path(), "tampered");
    let a = Fixture::new();
    drop(a.start_shared(Some(shared(&server))).await);
    let evil = variant(&a.yml_bytes, 9);
    server.put(&key(&a.yml_digest, "wasm"), &evil);

    let b = other_host();
    let (host_b, _) = b.start_shared(Some(shared(&server))).await;
    let refused = host_b
        .version("yml", &a.yml_digest)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        refused.contains(&format!("hash to {}", Digest::of(&evil))),
        "{refused}"
    );
    assert!(host_b.store().get(&a.yml_digest).is_none(), "nothing kept");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_goes_to_the_bucket_before_it_is_pinned_even_if_the_store_was_down() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut server = ObjectServer::start(dir.path(), "late");
    let a = Fixture::new();
    server.stop();
    // The store is down while the version goes live: it serves, but is not shared yet.
    let (host_a, report) = a.start_shared(Some(shared(&server))).await;
    assert!(report.refused.is_empty(), "{report:?}");
    let module = host_a.get("yml").expect("yml");
    let down = host_a.ensure_shared(&module).await.unwrap_err();
    let RegistryError::Shared(blob) = &down else {
        panic!("expected the store's own error, got {down}");
    };
    assert_eq!(blob.class(), ErrorClass::BlobStoreError, "{down}");
    assert!(down.to_string().contains(&server.endpoint()), "{down}");

    server.restart();
    host_a.ensure_shared(&module).await.expect("shared now");
    assert_eq!(
        server.get(&key(&a.yml_digest, "wasm")).as_deref(),
        Some(a.yml_bytes.as_slice())
    );
    let b = other_host();
    let (host_b, _) = b.start_shared(Some(shared(&server))).await;
    assert_pinned_yml_parses(&host_b, &a.yml_digest, &b.feed(), "loads").await;
}
