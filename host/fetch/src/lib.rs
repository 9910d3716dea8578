//! Fetching a supplier's feed into the blob store.
//!
//! A fetch streams the body straight into the content-addressed store, so a 500 MB feed never
//! sits in memory and the pipeline passes on a 70-byte reference. Secrets (auth, headers) come
//! in resolved by the caller from environment variables the supplier file names; this crate
//! never logs them.
//!
//! Conditional GET: the caller passes the validators of the last successful harvest; a `304`
//! ends the fetch with [`FetchOutcome::NotModified`] and nothing is stored.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use contextworker_outbound::{OutboundPolicy, Refusal};
use contextworker_storage::{BlobError, BlobRef, BlobStore};
use contextworker_types::{ErrorClass, Retry};
use futures::TryStreamExt;
use tokio_util::io::StreamReader;

/// How to authenticate an HTTP fetch, with the secret values already resolved.
#[derive(Clone, Default)]
pub enum Auth {
    #[default]
    None,
    Bearer(String),
    Basic {
        user: String,
        password: String,
    },
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print a secret, not even in a debug log.
        f.write_str(match self {
            Self::None => "None",
            Self::Bearer(_) => "Bearer(<redacted>)",
            Self::Basic { .. } => "Basic(<redacted>)",
        })
    }
}

/// Validators of an earlier successful fetch, for a conditional GET.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

impl Validators {
    pub fn is_empty(&self) -> bool {
        self.etag.is_none() && self.last_modified.is_none()
    }
}

/// One fetch.
#[derive(Debug, Clone)]
pub struct FetchRequest {
    pub url: String,
    pub auth: Auth,
    /// Extra headers (name, value). Values may be secrets.
    pub headers: Vec<(String, String)>,
    pub max_bytes: u64,
    pub timeout: Duration,
    pub previous: Validators,
}

/// What a fetch produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchOutcome {
    /// The server said the feed has not changed since `previous`.
    NotModified,
    Fetched(Fetched),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    pub blob: BlobRef,
    pub validators: Validators,
    pub content_type: Option<String>,
}

/// Why a fetch failed. [`FetchError::is_retryable`] says whether another attempt can help.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("feed URL {url:?} is not valid: {reason}")]
    InvalidUrl { url: String, reason: String },
    #[error("feed URL {url:?}: only http, https and file URLs can be fetched")]
    UnsupportedScheme { url: String },
    #[error(
        "feed file {} is outside the directories feeds may be read from ({})",
        path.display(),
        roots.iter().map(|r| r.display().to_string()).collect::<Vec<_>>().join(", ")
    )]
    FileOutsideRoots { path: PathBuf, roots: Vec<PathBuf> },
    #[error("feed file {}: {source}", path.display())]
    File {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{url} answered HTTP {status}")]
    Status { url: String, status: u16 },
    #[error("{url}: no complete answer within {}s", timeout.as_secs_f64())]
    Timeout { url: String, timeout: Duration },
    #[error("{url}: {reason}")]
    Network { url: String, reason: String },
    #[error(
        "{url}: the feed is over the {limit}-byte limit (raise fetch.max_mb in the supplier file)"
    )]
    TooLarge { url: String, limit: u64 },
    #[error("storing the feed: {0}")]
    Store(#[source] BlobError),
    /// The URL, a redirect, or every address its host resolves to is outside what this host
    /// may reach (loopback, private networks, cloud metadata, ...). Nothing was sent there.
    #[error("{0}")]
    Refused(#[source] Refusal),
    #[error("{url}: more than {limit} redirects")]
    TooManyRedirects { url: String, limit: usize },
}

impl FetchError {
    /// Network trouble, server errors, throttling and storage I/O are worth a retry; a bad URL,
    /// a refused request (4xx) or a feed over its limit are not.
    pub fn is_retryable(&self) -> bool {
        match (self, self.class().retry()) {
            (Self::Status { status, .. }, _) => *status >= 500 || matches!(status, 408 | 425 | 429),
            (Self::File { source, .. }, _) => source.kind() != std::io::ErrorKind::NotFound,
            (_, retry) => retry == Retry::Yes,
        }
    }

    pub fn class(&self) -> ErrorClass {
        match self {
            Self::InvalidUrl { .. } | Self::UnsupportedScheme { .. } => ErrorClass::InvalidFeedUrl,
            Self::FileOutsideRoots { .. } => ErrorClass::FeedFileNotAllowed,
            Self::File { .. } => ErrorClass::FeedFileUnreadable,
            Self::Status { .. } => ErrorClass::FeedHttpStatus,
            Self::Timeout { .. } => ErrorClass::FeedTimeout,
            Self::Network { .. } => ErrorClass::FeedUnreachable,
            Self::TooLarge { .. } => ErrorClass::FeedTooLarge,
            Self::Store(e) => e.class(),
            Self::Refused(_) => ErrorClass::FeedUrlRefused,
            Self::TooManyRedirects { .. } => ErrorClass::FeedTooManyRedirects,
        }
    }
}

/// Fetches feeds into a blob store. Cheap to clone; share one per process (it pools HTTP
/// connections).
#[derive(Clone)]
pub struct Fetcher {
    http: reqwest::Client,
    policy: OutboundPolicy,
    blobs: Arc<dyn BlobStore>,
    file_roots: Vec<PathBuf>,
}

/// Redirects followed before a fetch gives up (browsers stop at about 20; feeds need few).
pub const MAX_REDIRECTS: usize = 10;

impl std::fmt::Debug for Fetcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fetcher")
            .field("file_roots", &self.file_roots)
            .finish_non_exhaustive()
    }
}

impl Fetcher {
    /// `file_roots`: the only directories `file://` URLs may point into. Anyone who can start
    /// a workflow can name a URL, so an unrestricted `file://` would read any host file.
    /// `policy`: where http(s) fetches may connect, checked on every address and redirect.
    pub fn new(
        blobs: Arc<dyn BlobStore>,
        file_roots: Vec<PathBuf>,
        policy: OutboundPolicy,
    ) -> Self {
        let http = policy
            .client_builder()
            .user_agent(concat!("contextworker-host/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(10))
            .build()
            // Only fails when the TLS backend cannot initialise, which is a build defect.
            .expect("the HTTP client builds with the compiled-in TLS backend");
        let file_roots = file_roots
            .into_iter()
            .map(|r| r.canonicalize().unwrap_or(r))
            .collect();
        Self {
            http,
            policy,
            blobs,
            file_roots,
        }
    }

    pub async fn fetch(&self, req: &FetchRequest) -> Result<FetchOutcome, FetchError> {
        let url = url::Url::parse(&req.url).map_err(|e| FetchError::InvalidUrl {
            url: req.url.clone(),
            reason: e.to_string(),
        })?;
        match url.scheme() {
            "http" | "https" => self.fetch_http(url, req).await,
            "file" => self.fetch_file(&url, req).await,
            _ => Err(FetchError::UnsupportedScheme {
                url: req.url.clone(),
            }),
        }
    }

    /// GET `url`, following redirects by hand: each hop is checked by the outbound policy
    /// (https → http refused), and credentials and custom headers go only to the origin the
    /// supplier file named, never across a redirect to another one.
    async fn fetch_http(
        &self,
        url: url::Url,
        req: &FetchRequest,
    ) -> Result<FetchOutcome, FetchError> {
        let deadline = tokio::time::Instant::now() + req.timeout;
        let first = redact(&url);
        let mut current = url;
        let mut credentials = true;
        let mut hops = 0;
        let response = loop {
            let shown = redact(&current);
            self.policy
                .check_url(&current)
                .map_err(FetchError::Refused)?;
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let mut builder = self.http.get(current.clone()).timeout(left);
            if credentials {
                builder = match &req.auth {
                    Auth::None => builder,
                    Auth::Bearer(token) => builder.bearer_auth(token),
                    Auth::Basic { user, password } => builder.basic_auth(user, Some(password)),
                };
                for (name, value) in &req.headers {
                    builder = builder.header(name, value);
                }
            }
            if let Some(etag) = &req.previous.etag {
                builder = builder.header(reqwest::header::IF_NONE_MATCH, etag);
            }
            if let Some(date) = &req.previous.last_modified {
                builder = builder.header(reqwest::header::IF_MODIFIED_SINCE, date);
            }
            let response = builder
                .send()
                .await
                .map_err(|e| classify(&shown, req.timeout, &e))?;
            let status = response.status();
            if !status.is_redirection() || status == reqwest::StatusCode::NOT_MODIFIED {
                break (response, shown);
            }
            let Some(location) = response
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
            else {
                return Err(FetchError::Status {
                    url: shown,
                    status: status.as_u16(),
                });
            };
            let next = current.join(location).map_err(|e| FetchError::InvalidUrl {
                url: format!("redirect from {shown}"),
                reason: e.to_string(),
            })?;
            hops += 1;
            if hops > MAX_REDIRECTS {
                return Err(FetchError::TooManyRedirects {
                    url: first.clone(),
                    limit: MAX_REDIRECTS,
                });
            }
            if self
                .policy
                .check_redirect(&current, &next)
                .map_err(FetchError::Refused)?
                .is_cross()
            {
                credentials = false;
            }
            current = next;
        };
        let (response, shown) = response;
        let status = response.status();
        if status == reqwest::StatusCode::NOT_MODIFIED {
            return Ok(FetchOutcome::NotModified);
        }
        if !status.is_success() {
            return Err(FetchError::Status {
                url: shown,
                status: status.as_u16(),
            });
        }
        if response.content_length().is_some_and(|n| n > req.max_bytes) {
            return Err(FetchError::TooLarge {
                url: shown,
                limit: req.max_bytes,
            });
        }
        let header = |name| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let validators = Validators {
            etag: header(reqwest::header::ETAG),
            last_modified: header(reqwest::header::LAST_MODIFIED),
        };
        let content_type = header(reqwest::header::CONTENT_TYPE);
        // Body errors surface through the reader as io::Error; keep the reqwest error inside
        // so a timeout mid-body is still reported as a timeout.
        let body = response.bytes_stream().map_err(std::io::Error::other);
        let reader = StreamReader::new(body);
        let blob = self
            .blobs
            .put(Box::new(reader), req.max_bytes)
            .await
            .map_err(|e| match e {
                BlobError::TooLarge { limit } => FetchError::TooLarge {
                    url: shown.clone(),
                    limit,
                },
                BlobError::Io { source, .. } if is_body_error(&source) => {
                    body_error(&shown, req.timeout, source)
                }
                other => FetchError::Store(other),
            })?;
        Ok(FetchOutcome::Fetched(Fetched {
            blob,
            validators,
            content_type,
        }))
    }

    async fn fetch_file(
        &self,
        url: &url::Url,
        req: &FetchRequest,
    ) -> Result<FetchOutcome, FetchError> {
        let path = url.to_file_path().map_err(|()| FetchError::InvalidUrl {
            url: req.url.clone(),
            reason: "not an absolute local path".to_owned(),
        })?;
        let path = self.allowed(&path)?;
        let file = tokio::fs::File::open(&path)
            .await
            .map_err(|source| FetchError::File {
                path: path.clone(),
                source,
            })?;
        let blob = self
            .blobs
            .put(Box::new(file), req.max_bytes)
            .await
            .map_err(|e| match e {
                BlobError::TooLarge { limit } => FetchError::TooLarge {
                    url: req.url.clone(),
                    limit,
                },
                other => FetchError::Store(other),
            })?;
        Ok(FetchOutcome::Fetched(Fetched {
            blob,
            validators: Validators::default(),
            content_type: None,
        }))
    }

    fn allowed(&self, path: &Path) -> Result<PathBuf, FetchError> {
        let resolved = path.canonicalize().map_err(|source| FetchError::File {
            path: path.to_path_buf(),
            source,
        })?;
        if self
            .file_roots
            .iter()
            .any(|root| resolved.starts_with(root))
        {
            Ok(resolved)
        } else {
            Err(FetchError::FileOutsideRoots {
                path: path.to_path_buf(),
                roots: self.file_roots.clone(),
            })
        }
    }
}

/// A URL as it may be logged or shown: no user info, no query (tokens often travel there).
/// Text that does not parse as a URL is shown only as its length.
pub fn redact_url(text: &str) -> String {
    match url::Url::parse(text) {
        Ok(url) => redact(&url),
        Err(_) => format!("<{} bytes that are not a URL>", text.len()),
    }
}

/// The URL as it may be logged: no user info, no query (tokens often travel there).
fn redact(url: &url::Url) -> String {
    let mut shown = url.clone();
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    if shown.query().is_some() {
        shown.set_query(Some("…"));
    }
    shown.to_string()
}

fn classify(url: &str, timeout: Duration, e: &reqwest::Error) -> FetchError {
    if let Some(refusal) = contextworker_outbound::find_refusal(e) {
        return FetchError::Refused(refusal.clone());
    }
    if e.is_timeout() {
        FetchError::Timeout {
            url: url.to_owned(),
            timeout,
        }
    } else {
        FetchError::Network {
            url: url.to_owned(),
            // reqwest's own message is "error sending request"; the causes say what happened.
            reason: contextworker_types::error_chain(e),
        }
    }
}

fn is_body_error(e: &std::io::Error) -> bool {
    e.get_ref()
        .is_some_and(|inner| inner.is::<reqwest::Error>())
}

fn body_error(url: &str, timeout: Duration, e: std::io::Error) -> FetchError {
    match e
        .into_inner()
        .map(|inner| inner.downcast::<reqwest::Error>())
    {
        Some(Ok(re)) => classify(url, timeout, &re),
        Some(Err(other)) => FetchError::Network {
            url: url.to_owned(),
            reason: other.to_string(),
        },
        None => FetchError::Network {
            url: url.to_owned(),
            reason: "the connection failed while reading the body".to_owned(),
        },
    }
}

#[cfg(test)]
mod tests;
