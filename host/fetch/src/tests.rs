use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use contextworker_outbound::OutboundPolicy;
use contextworker_storage::{BlobRef, BlobStore, FsBlobStore};

use super::*;
use crate::redact::redact;
use contextworker_test_support::feed_server::FeedServer;
use tokio::io::AsyncReadExt;

/// A fetcher whose policy admits the loopback test servers (127.0.0.1 only).
fn fetcher(dir: &Path) -> (Fetcher, Arc<dyn BlobStore>) {
    fetcher_with(dir, &["127.0.0.1/32"])
}

fn fetcher_with(dir: &Path, allow: &[&str]) -> (Fetcher, Arc<dyn BlobStore>) {
    let blobs: Arc<dyn BlobStore> = Arc::new(FsBlobStore::new(dir.join("blobs")));
    let allow: Vec<String> = allow.iter().map(|a| (*a).to_owned()).collect();
    let policy = OutboundPolicy::from_allow_list(&allow).expect("allow list");
    (
        Fetcher::new(blobs.clone(), vec![dir.join("feeds")], policy).expect("client"),
        blobs,
    )
}

/// A fetcher admitting loopback, its blob store, the temporary directory both live in, and
/// a loopback feed server.
fn loopback() -> (tempfile::TempDir, Fetcher, Arc<dyn BlobStore>, FeedServer) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (fetcher, blobs) = fetcher(dir.path());
    (dir, fetcher, blobs, FeedServer::start())
}

fn refused_rule(outcome: Result<FetchOutcome, FetchError>) -> contextworker_outbound::Rule {
    match outcome {
        Err(FetchError::Refused(r)) => r.rule,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn every_ssrf_form_is_refused_before_anything_is_sent() {
    use contextworker_outbound::Rule;
    let dir = tempfile::tempdir().expect("tempdir");
    // The default policy: public addresses only.
    let (fetcher, _) = fetcher_with(dir.path(), &[]);
    let server = FeedServer::start();
    server.set_body("<offers/>", None);
    let port = server
        .url()
        .rsplit(':')
        .next()
        .unwrap_or_default()
        .to_owned();
    let cases = [
        (server.url(), Rule::Loopback),
        (format!("http://localhost:{port}"), Rule::Loopback),
        (format!("http://localhost.:{port}"), Rule::Loopback),
        (format!("http://0x7f000001:{port}"), Rule::Loopback),
        (format!("http://2130706433:{port}"), Rule::Loopback),
        (format!("http://127.1:{port}"), Rule::Loopback),
        (format!("http://[::1]:{port}"), Rule::Loopback),
        (
            format!("http://[::ffff:127.0.0.1]:{port}"),
            Rule::Ipv4Mapped,
        ),
        (
            "http://169.254.169.254/latest/meta-data/".to_owned(),
            Rule::LinkLocal,
        ),
        ("http://10.1.2.3/feed".to_owned(), Rule::Private),
        ("http://192.168.0.1/feed".to_owned(), Rule::Private),
        (
            "http://100.64.0.1/feed".to_owned(),
            Rule::SharedAddressSpace,
        ),
        ("http://[fd00::1]/feed".to_owned(), Rule::UniqueLocal),
        ("http://0.0.0.0/feed".to_owned(), Rule::Unspecified),
    ];
    for (url, rule) in cases {
        let outcome = fetcher.fetch(&request(url.clone())).await;
        let err = outcome
            .as_ref()
            .err()
            .map(ToString::to_string)
            .unwrap_or_default();
        assert_eq!(refused_rule(outcome), rule, "{url}: {err}");
        let e = fetcher
            .fetch(&request(url.clone()))
            .await
            .expect_err("refused");
        assert_eq!(e.class().name(), "FeedUrlRefused");
        assert!(!e.is_retryable(), "{url}");
    }
    assert_eq!(server.requests(), 0, "nothing reached the loopback server");
}

#[tokio::test]
async fn redirects_are_checked_hop_by_hop_and_secrets_stay_with_their_origin() {
    use contextworker_outbound::Rule;
    let dir = tempfile::tempdir().expect("tempdir");
    let (fetcher, blobs) = fetcher(dir.path());
    let origin = FeedServer::start();
    let other = FeedServer::start();
    other.set_body("<offers>elsewhere</offers>", None);
    // A same-origin redirect keeps the credentials; a cross-origin one drops them.
    origin.redirect("/old", "/feed");
    origin.set_body("<offers>here</offers>", None);
    let mut req = request(format!("{}/old", origin.base_url()));
    req.auth = Auth::Bearer("supplier-token".into());
    req.headers = vec![("X-Api-Key".into(), "supplier-key".into())];
    assert_eq!(body(&fetcher, &blobs, &req).await, b"<offers>here</offers>");
    let seen = origin.seen();
    assert!(
        seen.iter().all(|(_, h)| h
            .iter()
            .any(|(n, v)| n == "x-api-key" && v == "supplier-key")),
        "{seen:?}"
    );
    origin.redirect("/away", &other.url());
    req.url = format!("{}/away", origin.base_url());
    assert_eq!(
        body(&fetcher, &blobs, &req).await,
        b"<offers>elsewhere</offers>"
    );
    let leaked: Vec<_> = other
        .seen()
        .into_iter()
        .flat_map(|(_, h)| h)
        .filter(|(n, _)| n == "authorization" || n == "x-api-key")
        .collect();
    assert!(
        leaked.is_empty(),
        "secrets followed the redirect: {leaked:?}"
    );

    // A redirect into a network the policy refuses stops there, whatever the first hop was.
    for (path, target, rule) in [
        (
            "/meta",
            "http://169.254.169.254/latest/meta-data/",
            Rule::LinkLocal,
        ),
        ("/loop2", "http://127.0.0.2:9/feed", Rule::Loopback),
        ("/mapped", "http://[::ffff:10.0.0.1]/", Rule::Ipv4Mapped),
        ("/file", "file:///etc/passwd", Rule::Scheme),
    ] {
        origin.redirect(path, target);
        let outcome = fetcher
            .fetch(&request(format!("{}{path}", origin.base_url())))
            .await;
        assert_eq!(refused_rule(outcome), rule, "{target}");
    }
    // A loop ends with a typed error.
    origin.redirect("/a", "/b");
    origin.redirect("/b", "/a");
    let err = fetcher
        .fetch(&request(format!("{}/a", origin.base_url())))
        .await
        .expect_err("loop");
    assert_eq!(err.class().name(), "FeedTooManyRedirects");
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

/// Fetch `req`, which must bring a body (not "not modified" nor an error).
async fn fetched(fetcher: &Fetcher, req: &FetchRequest) -> Fetched {
    match fetcher.fetch(req).await {
        Ok(FetchOutcome::Fetched(f)) => f,
        other => panic!("{}: expected a body, got {other:?}", req.url),
    }
}

/// Fetch `req`; the body it stored.
async fn body(fetcher: &Fetcher, blobs: &Arc<dyn BlobStore>, req: &FetchRequest) -> Vec<u8> {
    read(blobs, &fetched(fetcher, req).await.blob).await
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
    let (_dir, fetcher, blobs, server) = loopback();
    server.set_body("<offers/>", Some("\"v1\""));
    let first = fetched(&fetcher, &request(server.url())).await;
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
    let (_dir, fetcher, blobs, server) = loopback();
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
    assert_eq!(body(&fetcher, &blobs, &authed).await, b"ok");
}

#[tokio::test]
async fn server_errors_and_refused_connections_are_retryable() {
    let (_dir, fetcher, _, server) = loopback();
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
    let (dir, fetcher, _, server) = loopback();
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
    let (_dir, fetcher, _, server) = loopback();
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
    let inside = request(inside.to_string());
    assert_eq!(body(&fetcher, &blobs, &inside).await, b"<a/>");
    // `..` does not escape: the path is resolved before the check.
    let outside = format!("file://{}/feeds/../secret.txt", dir.path().display());
    let err = fetcher.fetch(&request(outside)).await.expect_err("outside");
    assert!(matches!(err, FetchError::FileOutsideRoots { .. }), "{err}");
    let err = fetcher
        .fetch(&request("ftp://example.com/x".into()))
        .await
        .expect_err("scheme");
    assert_eq!(err.class().name(), "InvalidFeedUrl");
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
