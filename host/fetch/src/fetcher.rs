//! The [`Fetcher`]: one shared HTTP client and outbound policy, the directories `file:` URLs
//! may read, and the blob store every feed goes into. The two ways in are its children.

mod file;
mod http;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use contextworker_outbound::OutboundPolicy;
use contextworker_storage::{BlobError, BlobStore};

use crate::error::{ClientError, FetchError};
use crate::request::{FetchOutcome, FetchRequest};

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
    ) -> Result<Self, ClientError> {
        let http = policy
            .client_builder()
            .user_agent(concat!("contextworker-host/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(ClientError)?;
        let file_roots = file_roots
            .into_iter()
            .map(|r| r.canonicalize().unwrap_or(r))
            .collect();
        Ok(Self {
            http,
            policy,
            blobs,
            file_roots,
        })
    }

    pub async fn fetch(&self, req: &FetchRequest) -> Result<FetchOutcome, FetchError> {
        let url = url::Url::parse(&req.url).map_err(|e| FetchError::InvalidUrl {
            url: req.url.clone(),
            reason: e.to_string(),
        })?;
        // The scheme and host only: a feed URL's path and query often hold the supplier's
        // token, and spans leave the host.
        let span = tracing::info_span!(
            "fetch",
            otel.kind = "client",
            otel.status_code = tracing::field::Empty,
            url.scheme = url.scheme(),
            server.address = url.host_str().unwrap_or(""),
            bytes = tracing::field::Empty,
            not_modified = tracing::field::Empty,
        );
        let result = tracing::Instrument::instrument(
            async {
                match url.scheme() {
                    "http" | "https" => self.fetch_http(url.clone(), req).await,
                    "file" => self.fetch_file(&url, req).await,
                    _ => Err(FetchError::UnsupportedScheme {
                        url: req.url.clone(),
                    }),
                }
            },
            span.clone(),
        )
        .await;
        match &result {
            Ok(FetchOutcome::NotModified) => span.record("not_modified", true),
            Ok(FetchOutcome::Fetched(f)) => {
                span.record("bytes", i64::try_from(f.blob.size).unwrap_or(i64::MAX))
            }
            Err(_) => span.record("otel.status_code", "error"),
        };
        result
    }
}

/// A store error while saving the feed from `url`. Over the caller's limit is the feed's
/// fault and says so; anything else is the store's.
fn store_error(url: &str, e: BlobError) -> FetchError {
    match e {
        BlobError::TooLarge { limit } => FetchError::TooLarge {
            url: url.to_owned(),
            limit,
        },
        other => FetchError::Store(other),
    }
}
