//! http(s) fetches: redirects followed by hand under the outbound policy, a conditional GET,
//! and the body streamed into the blob store with network errors kept apart from store errors.

use std::time::Duration;

use contextworker_storage::BlobError;
use futures::TryStreamExt;
use tokio_util::io::StreamReader;

use super::{Fetcher, MAX_REDIRECTS, store_error};
use crate::error::FetchError;
use crate::redact::redact;
use crate::request::{Auth, FetchOutcome, FetchRequest, Fetched, Validators};

impl Fetcher {
    /// GET `url`, following redirects by hand: each hop is checked by the outbound policy
    /// (https → http refused), and credentials and custom headers go only to the origin the
    /// supplier file named, never across a redirect to another one.
    pub(super) async fn fetch_http(
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
                BlobError::Io { source, .. } if is_body_error(&source) => {
                    body_error(&shown, req.timeout, source)
                }
                other => store_error(&shown, other),
            })?;
        Ok(FetchOutcome::Fetched(Fetched {
            blob,
            validators,
            content_type,
        }))
    }
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
