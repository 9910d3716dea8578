//! The S3 blob backend against a real S3-compatible server (SeaweedFS on loopback): uploads by
//! digest, multipart for large blobs, reads through the local directory, verified downloads,
//! and errors that say what went wrong and whether to retry.

#![allow(clippy::expect_used, clippy::panic)]

use contextworker_storage::{
    BlobError, BlobReader, BlobRef, BlobStore, FsBlobStore, ObjectBlobStore,
};
use contextworker_test_support::object_server::ObjectServer;
use contextworker_types::{BucketUrl, Digest, ErrorClass};
use tokio::io::AsyncReadExt;

fn reader(bytes: Vec<u8>) -> BlobReader {
    Box::new(std::io::Cursor::new(bytes))
}

/// A store on `server` with its local directory under `dir`. Configured explicitly rather
/// than from `AWS_*`, so tests running in parallel do not race on the process environment.
fn store(server: &ObjectServer, dir: &std::path::Path, prefix: &str) -> ObjectBlobStore {
    let url: BucketUrl = server.url(prefix).parse().expect("bucket url");
    let builder = server.s3_builder();
    // A short ride-out: the outage test waits for it to run out.
    ObjectBlobStore::s3_with(
        builder,
        url,
        FsBlobStore::new(dir.join("local")),
        std::time::Duration::from_secs(2),
    )
    .expect("s3 store")
}

async fn read_all(store: &dyn BlobStore, blob: &BlobRef) -> Vec<u8> {
    let mut out = Vec::new();
    store
        .open(blob)
        .await
        .expect("open")
        .read_to_end(&mut out)
        .await
        .expect("read");
    out
}

/// Bytes that do not repeat, so no layer can compress or deduplicate them away.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

fn key_of(prefix: &str, digest: &Digest) -> String {
    let hex = digest.hex();
    format!("{prefix}/sha256/{}/{hex}", &hex[..2])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blobs_go_to_the_bucket_by_digest_and_come_back_on_another_host() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = ObjectServer::start(&dir.path().join("s3"), "fleet");
    let host_a = store(&server, &dir.path().join("a"), "blobs");
    let host_b = store(&server, &dir.path().join("b"), "blobs");

    // 20 MiB: more than two 8 MiB parts, so the upload is multipart.
    let bytes = noise(20 << 20, 7);
    let blob = host_a
        .put(reader(bytes.clone()), u64::MAX)
        .await
        .expect("put");
    assert_eq!(blob.digest, Digest::of(&bytes));
    assert_eq!(blob.size, 20 << 20);
    let stored = server
        .get(&key_of("blobs", &blob.digest))
        .expect("the object is in the bucket under its digest");
    assert_eq!(Digest::of(&stored), blob.digest);

    // Another host has none of it locally: it downloads, verifies and serves it.
    assert_eq!(read_all(&host_b, &blob).await, bytes);
    host_b.verify(&blob).await.expect("verified");
    // Now it is local on that host too: it reads without the server.
    drop(server);
    assert_eq!(read_all(&host_b, &blob).await, bytes);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_or_altered_object_is_named_and_not_retried() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = ObjectServer::start(&dir.path().join("s3"), "fleet");
    let host = store(&server, &dir.path().join("a"), "blobs");

    let absent = BlobRef {
        digest: Digest::of(b"never stored"),
        size: 12,
    };
    let err = host.open(&absent).await.err().expect("missing");
    assert!(
        matches!(err, BlobError::Missing(d) if d == absent.digest),
        "{err}"
    );
    assert_eq!(err.class(), ErrorClass::BlobMissing);
    assert!(!err.is_retryable());

    // An object whose bytes no longer match its name (altered in the bucket): refused on
    // download, never handed to a parser.
    let other = store(&server, &dir.path().join("b"), "blobs");
    let blob = other
        .put(reader(b"the real feed".to_vec()), 1 << 20)
        .await
        .expect("put");
    server.put(&key_of("blobs", &blob.digest), b"a forged feed");
    let err = host.open(&blob).await.err().expect("altered");
    assert!(
        matches!(err, BlobError::Corrupt { expected, .. } if expected == blob.digest),
        "{err}"
    );
    assert!(!err.is_retryable());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_that_is_down_fails_retryably_naming_the_store_and_comes_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut server = ObjectServer::start(&dir.path().join("s3"), "fleet");
    let host = store(&server, &dir.path().join("a"), "blobs");
    server.stop();

    let err = host
        .put(reader(b"feed while the store is down".to_vec()), 1 << 20)
        .await
        .expect_err("the store is down");
    let text = err.to_string();
    assert!(text.contains("s3://fleet/blobs"), "names the store: {text}");
    assert_eq!(err.class(), ErrorClass::BlobStoreError, "{text}");
    assert!(err.is_retryable(), "{text}");

    // Back up: the same put (a retried step) goes through.
    server.restart();
    let blob = host
        .put(reader(b"feed while the store is down".to_vec()), 1 << 20)
        .await
        .expect("put after restart");
    assert!(server.get(&key_of("blobs", &blob.digest)).is_some());
}
