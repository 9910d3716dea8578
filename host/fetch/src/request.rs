//! What a caller asks for (the URL, resolved credentials, bounds, the last validators) and
//! what a fetch produced.

use std::time::Duration;

use contextworker_storage::BlobRef;

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
