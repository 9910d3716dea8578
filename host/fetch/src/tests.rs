use super::*;
use contextworker_storage::FsBlobStore;
use contextworker_test_support::feed_server::FeedServer;
use tokio::io::AsyncReadExt;

fn fetcher(dir: &Path) -> (Fetcher, Arc<dyn BlobStore>) {
    let blobs: Arc<dyn BlobStore> = Arc::new(FsBlobStore::new(dir.join("blobs")));
    (Fetcher::new(blobs.clone(), vec![dir.join("feeds")]), blobs)
}

fn request(url: String) -> FetchRequest {
    FetchRequest {
        url,
        auth: Auth::None,
        headers: vec![],
        max_bytes: 1 << 20,
        timeout: Duration::from_secs(5),
        previous: Validators::default(),
    }
}

async fn read(blobs: &Arc<dyn BlobStore>, blob: &BlobRef) -> Vec<u8> {
    let mut out = Vec::new();
    blobs
        .open(blob)
        .await
        .expect("open")
        .read_to_end(&mut out)
        .await
        .expect("read");
    out
}

#[tokio::test]
async fn http_feed_lands_in_the_store_and_an_unchanged_etag_is_not_modified() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (fetcher, blobs) = fetcher(dir.path());
    let server = FeedServer::start();
    server.set_body("<offers/>", Some("\"v1\""));
    let FetchOutcome::Fetched(first) = fetcher.fetch(&request(server.url())).await.expect("fetch")
    else {
        panic!("expected a body")
    };
    assert_eq!(read(&blobs, &first.blob).await, b"<offers/>");
    assert_eq!(first.validators.etag.as_deref(), Some("\"v1\""));

    let mut again = request(server.url());
    again.previous = first.validators.clone();
    assert_eq!(
        fetcher.fetch(&again).await.expect("fetch"),
        FetchOutcome::NotModified
    );
    server.set_body("<offers>new</offers>", Some("\"v2\""));
    assert!(matches!(
        fetcher.fetch(&again).await.expect("fetch"),
        FetchOutcome::Fetched(f) if f.validators.etag.as_deref() == Some("\"v2\"")
    ));
}

#[tokio::test]
async fn bearer_auth_is_sent_and_refusals_are_not_retried() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (fetcher, _) = fetcher(dir.path());
    let server = FeedServer::start();
    server.set_body("ok", None);
    server.require_bearer("s3cret");
    let err = fetcher
        .fetch(&request(server.url()))
        .await
        .expect_err("401");
    assert!(
        matches!(err, FetchError::Status { status: 401, .. }),
        "{err}"
    );
    assert!(!err.is_retryable());
    let mut authed = request(server.url());
    authed.auth = Auth::Bearer("s3cret".into());
    assert!(fetcher.fetch(&authed).await.is_ok());
}

#[tokio::test]
async fn server_errors_and_refused_connections_are_retryable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (fetcher, _) = fetcher(dir.path());
    let server = FeedServer::start();
    server.force_status(Some(503));
    let err = fetcher
        .fetch(&request(server.url()))
        .await
        .expect_err("503");
    assert!(err.is_retryable(), "{err}");
    // A port nobody listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/feed", closed.local_addr().expect("addr"));
    drop(closed);
    let err = fetcher.fetch(&request(url)).await.expect_err("refused");
    assert!(
        matches!(err, FetchError::Network { .. }) && err.is_retryable(),
        "{err}"
    );
}

#[tokio::test]
async fn a_feed_over_the_limit_is_refused_and_nothing_is_stored() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (fetcher, _) = fetcher(dir.path());
    let server = FeedServer::start();
    server.set_body(vec![b'x'; 4096], None);
    let mut req = request(server.url());
    req.max_bytes = 1000;
    let err = fetcher.fetch(&req).await.expect_err("too large");
    assert!(
        matches!(err, FetchError::TooLarge { limit: 1000, .. }),
        "{err}"
    );
    assert!(!err.is_retryable());
    assert!(!dir.path().join("blobs/sha256").exists());
}

#[tokio::test]
async fn a_slow_server_times_out() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (fetcher, _) = fetcher(dir.path());
    let server = FeedServer::start();
    server.set_body("late", None);
    server.delay(Some(Duration::from_secs(2)));
    let mut req = request(server.url());
    req.timeout = Duration::from_millis(300);
    let err = fetcher.fetch(&req).await.expect_err("timeout");
    assert!(matches!(err, FetchError::Timeout { .. }), "{err}");
    assert!(err.is_retryable());
}

#[tokio::test]
async fn file_urls_only_inside_the_allowed_roots() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (fetcher, blobs) = fetcher(dir.path());
    std::fs::create_dir_all(dir.path().join("feeds")).expect("mkdir");
    std::fs::write(dir.path().join("feeds/a.xml"), "<a/>").expect("write");
    std::fs::write(dir.path().join("secret.txt"), "no").expect("write");
    let inside = url::Url::from_file_path(dir.path().join("feeds/a.xml")).expect("url");
    let FetchOutcome::Fetched(f) = fetcher
        .fetch(&request(inside.to_string()))
        .await
        .expect("fetch")
    else {
        panic!("expected a body")
    };
    assert_eq!(read(&blobs, &f.blob).await, b"<a/>");
    // `..` does not escape: the path is resolved before the check.
    let outside = format!("file://{}/feeds/../secret.txt", dir.path().display());
    let err = fetcher.fetch(&request(outside)).await.expect_err("outside");
    assert!(matches!(err, FetchError::FileOutsideRoots { .. }), "{err}");
    let err = fetcher
        .fetch(&request("ftp://example.com/x".into()))
        .await
        .expect_err("scheme");
    assert_eq!(err.type_name(), "InvalidFeedUrl");
}

#[test]
fn secrets_never_show_in_debug_or_in_urls() {
    assert_eq!(
        format!("{:?}", Auth::Bearer("tok".into())),
        "Bearer(<redacted>)"
    );
    let url = url::Url::parse("https://u:p@example.com/f.xml?key=abc").expect("url");
    let shown = redact(&url);
    assert!(!shown.contains("abc") && !shown.contains("u:p"), "{shown}");
}
