//! `download_feed`: the feed into the blob store, conditionally on the last run's validators,
//! with the secrets the operator allowed.

use std::time::Instant;

use contextworker_fetch::{Auth, FetchOutcome, FetchRequest, Validators};
use contextworker_runtime::CancellationToken;
use contextworker_types::ErrorClass;
use temporalio_common::data_converters::RawValue;
use temporalio_sdk::activities::ActivityContext;

use crate::activities::supervise::{Progress, supervise};
use crate::args::encode;
use crate::failure::Failure;
use crate::messages::{Credentials, FeedValidators, FetchInput, FetchOutput};
use crate::services::Services;

use super::{Result, millis};

/// A secret from this worker's environment. The name comes from the activity's input, which
/// any Temporal client can write, so the operator's policy decides what may be read.
fn env_secret(services: &Services, var: &str) -> std::result::Result<String, Failure> {
    services
        .secrets
        .check(var)
        .map_err(|e| Failure::new(ErrorClass::CredentialNotAllowed, e.to_string()))?;
    std::env::var(var).map_err(|_| {
        Failure::new(
            ErrorClass::MissingCredential,
            format!(
                "environment variable {var} (named by the supplier file) is not set on this worker"
            ),
        )
    })
}

/// Validators become request headers, and they come from the activity's input: anything that
/// is not a plain header value is refused here, naming the field, instead of failing deep in
/// the HTTP client as a network error.
fn validators(given: &FeedValidators) -> std::result::Result<Validators, Failure> {
    const MAX_VALIDATOR_BYTES: usize = 1024;
    for (field, value) in [
        ("previous.etag", &given.etag),
        ("previous.last_modified", &given.last_modified),
    ] {
        if let Some(value) = value
            && (value.len() > MAX_VALIDATOR_BYTES
                || !value
                    .bytes()
                    .all(|b| b == b'\t' || (b' '..=b'~').contains(&b)))
        {
            return Err(Failure::new(
                ErrorClass::InvalidArguments,
                format!(
                    "download_feed: `{field}` must be at most {MAX_VALIDATOR_BYTES} bytes of \
                     visible ASCII (it becomes a request header)"
                ),
            ));
        }
    }
    Ok(Validators {
        etag: given.etag.clone(),
        last_modified: given.last_modified.clone(),
    })
}

pub(in crate::activities) async fn download_feed(
    services: &Services,
    ctx: &ActivityContext,
    args: FetchInput,
) -> Result<RawValue> {
    let auth = match &args.auth {
        Credentials::None => Auth::None,
        Credentials::Bearer { token_env } => Auth::Bearer(env_secret(services, token_env)?),
        Credentials::Basic {
            user_env,
            password_env,
        } => Auth::Basic {
            user: env_secret(services, user_env)?,
            password: env_secret(services, password_env)?,
        },
    };
    let headers = args
        .header_envs
        .iter()
        .map(|(name, var)| Ok((name.clone(), env_secret(services, var)?)))
        .collect::<std::result::Result<Vec<_>, Failure>>()?;
    let previous = validators(&args.previous)?;
    let request = FetchRequest {
        url: args.url.clone(),
        auth,
        headers,
        max_bytes: args.max_bytes,
        timeout: std::time::Duration::from_secs(args.timeout_secs.max(1)),
        previous,
    };
    let started = Instant::now();
    let cancel = CancellationToken::new();
    let outcome = supervise(
        ctx,
        "download_feed",
        &Progress::default(),
        &cancel,
        services.fetcher.fetch(&request),
    )
    .await??;
    let output = match outcome {
        FetchOutcome::NotModified => FetchOutput {
            not_modified: true,
            feed: None,
            bytes: 0,
            etag: request.previous.etag,
            last_modified: request.previous.last_modified,
            content_type: None,
            duration_ms: millis(started),
        },
        FetchOutcome::Fetched(f) => FetchOutput {
            not_modified: false,
            feed: Some(f.blob),
            bytes: f.blob.size,
            etag: f.validators.etag,
            last_modified: f.validators.last_modified,
            content_type: f.content_type,
            duration_ms: millis(started),
        },
    };
    let metrics = contextworker_metrics::metrics();
    metrics.fetched(output.bytes);
    metrics.step("fetch", started.elapsed());
    tracing::info!(
        url = ?contextworker_fetch::redact_url(&args.url),
        bytes = output.bytes,
        not_modified = output.not_modified,
        "feed fetched"
    );
    Ok(encode(&output))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validators_from_the_input_must_be_plain_header_values() {
        let given = FeedValidators {
            etag: Some("\"v1\"".into()),
            last_modified: Some("Tue, 01 Dec 2026 07:00:00 GMT".into()),
        };
        let ok = validators(&given).expect("plain values pass");
        assert_eq!(ok.etag.as_deref(), Some("\"v1\""));
        for (etag, last_modified, field) in [
            (Some("a\r\nX-Injected: 1".to_owned()), None, "previous.etag"),
            (None, Some("x".repeat(1025)), "previous.last_modified"),
        ] {
            let failure = validators(&FeedValidators {
                etag,
                last_modified,
            })
            .expect_err("refused");
            assert_eq!(failure.class, ErrorClass::InvalidArguments);
            assert!(failure.message.contains(field), "{}", failure.message);
        }
    }
}
