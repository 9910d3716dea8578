//! Why a fetch failed, with its class and retry rule.

use std::path::PathBuf;
use std::time::Duration;

use contextworker_outbound::Refusal;
use contextworker_storage::BlobError;
use contextworker_types::{ErrorClass, Retry};

/// The HTTP client could not be built: its TLS backend failed to initialise (a broken build or
/// system certificate store), so the host cannot fetch at all.
#[derive(Debug, thiserror::Error)]
#[error("the HTTP client cannot start: {0}")]
pub struct ClientError(#[source] pub reqwest::Error);

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
