use super::*;

fn reader(bytes: &[u8]) -> BlobReader {
    Box::new(std::io::Cursor::new(bytes.to_vec()))
}

/// A finished scratch file in `dir` holding `chunks`, each written by its own `write_all`.
async fn scratch_file(dir: &Path, chunks: &[&[u8]]) -> HashedFile {
    let mut writer = crate::BlobWriter::create_in(dir).await.expect("writer");
    for chunk in chunks {
        writer.write_all(chunk).await.expect("write");
    }
    writer.finish().await.expect("finish")
}

#[tokio::test]
async fn round_trips_and_dedups() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = FsBlobStore::new(dir.path());
    let a = store
        .put(reader(b"feed bytes"), 1 << 20)
        .await
        .expect("put");
    let b = store
        .put(reader(b"feed bytes"), 1 << 20)
        .await
        .expect("put again");
    assert_eq!(a, b);
    assert_eq!(a.digest, Digest::of(b"feed bytes"));
    assert_eq!(a.size, 10);
    let mut back = Vec::new();
    store
        .open(&a)
        .await
        .expect("open")
        .read_to_end(&mut back)
        .await
        .expect("read");
    assert_eq!(back, b"feed bytes");
    store.verify(&a).await.expect("intact");
    let json = serde_json::to_string(&a).expect("serializes");
    assert!(json.len() < 120, "a reference stays tiny: {json}");
}

#[tokio::test]
async fn a_hashed_file_is_adopted_by_rename_not_copied() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = FsBlobStore::new(dir.path().join("blobs"));
    let scratch = dir.path().join("tmp");
    std::fs::create_dir_all(&scratch).expect("scratch dir");
    // Two writes: the digest covers everything written, not the last chunk.
    let file = scratch_file(
        &scratch,
        &[b"{\"offer_id\":\"1\"}\n", b"{\"offer_id\":\"2\"}\n"],
    )
    .await;
    let written = file.path().to_path_buf();
    let expected = Digest::of(b"{\"offer_id\":\"1\"}\n{\"offer_id\":\"2\"}\n");
    assert_eq!(file.blob().digest, expected);
    let blob = store.put_file(file).await.expect("adopted");
    assert_eq!((blob.digest, blob.size), (expected, 34));
    assert!(!written.exists(), "the scratch file became the blob");
    assert_eq!(store.used_bytes(), 34);
    store.verify(&blob).await.expect("intact");

    // The same content again: stored once, the second scratch file removed.
    let again = scratch_file(&scratch, &[b"{\"offer_id\":\"1\"}\n{\"offer_id\":\"2\"}\n"]).await;
    let second = again.path().to_path_buf();
    assert_eq!(store.put_file(again).await.expect("dedup"), blob);
    assert!(!second.exists());
    assert_eq!(store.used_bytes(), 34);
}

#[tokio::test]
async fn limits_missing_and_corruption_are_typed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = FsBlobStore::new(dir.path());
    assert!(matches!(
        store.put(reader(&[0u8; 100]), 99).await,
        Err(BlobError::TooLarge { limit: 99 })
    ));
    let absent = BlobRef {
        digest: Digest::of(b"never stored"),
        size: 12,
    };
    assert!(matches!(
        store.open(&absent).await,
        Err(BlobError::Missing(_))
    ));
    let blob = store.put(reader(b"original"), 100).await.expect("put");
    std::fs::write(store.path_of(&blob.digest), b"tampered").expect("tamper");
    assert!(matches!(
        store.verify(&blob).await,
        Err(BlobError::Corrupt { .. })
    ));
    // A rejected put leaves nothing behind under a final name.
    let stored: Vec<_> = walk(&dir.path().join("sha256"));
    assert_eq!(stored.len(), 1, "{stored:?}");
}

fn age(store: &FsBlobStore, blob: &BlobRef, by: Duration) {
    let file = std::fs::File::options()
        .write(true)
        .open(store.path_of(&blob.digest))
        .expect("blob file");
    file.set_modified(SystemTime::now() - by)
        .expect("set mtime");
}

#[tokio::test]
async fn the_store_stays_under_its_cap_and_never_evicts_a_recent_blob() {
    let dir = tempfile::tempdir().expect("tempdir");
    let keep_for = Duration::from_secs(3600);
    let store = FsBlobStore::with_retention(
        dir.path(),
        Retention {
            max_bytes: 40 << 20,
            keep_for,
        },
    );
    let mb = |seed: u8, n: usize| reader(&vec![seed; n << 20]);
    let a = store.put(mb(1, 15), u64::MAX).await.expect("a");
    let b = store.put(mb(2, 15), u64::MAX).await.expect("b");
    // Both recent: a third 15 MiB blob does not fit, and nothing is evicted for it.
    let full = store.put(mb(3, 15), u64::MAX).await;
    assert!(matches!(full, Err(BlobError::Full { .. })), "{full:?}");
    assert!(store.open(&a).await.is_ok() && store.open(&b).await.is_ok());
    assert_eq!(
        walk(&dir.path().join("sha256")).len(),
        2,
        "nothing half-written"
    );
    // Once `a` has not been used for longer than keep_for, it makes room; `b`, read just
    // now, stays.
    age(&store, &a, keep_for * 2);
    store.open(&b).await.expect("b read");
    let c = store.put(mb(3, 15), u64::MAX).await.expect("room made");
    assert!(matches!(store.open(&a).await, Err(BlobError::Missing(_))));
    assert!(store.open(&b).await.is_ok() && store.open(&c).await.is_ok());
    assert!(store.used_bytes() <= 40 << 20);
    // A pass with target 0 removes everything old enough and reports it.
    age(&store, &b, keep_for * 2);
    let report = store.collect(0, keep_for).await;
    assert_eq!((report.removed, report.kept), (1, 1), "{report:?}");
    assert_eq!(report.freed_bytes, 15 << 20);
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if entry.path().is_dir() {
            out.extend(walk(&entry.path()));
        } else {
            out.push(entry.path());
        }
    }
    out
}
