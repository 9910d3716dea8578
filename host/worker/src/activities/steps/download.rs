//! `download_feed`: the feed into the blob store, conditionally on the last run's validators,
//! with the secrets the operator allowed.

use std::time::Instant;

use contextworker_fetch::{Auth, FetchOutcome, FetchRequest, Validators};
use contextworker_runtime::CancellationToken;
use contextworker_staging::FeedKey;
use contextworker_types::ErrorClass;
use temporalio_common::data_converters::RawValue;
use temporalio_sdk::activities::ActivityContext;

use crate::activities::supervise::{Progress, supervise};
use crate::args::{encode, from_args};
use crate::failure::Failure;
use crate::messages::{AuthRef, FetchInput, FetchOutput};
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

pub(in crate::activities) async fn download_feed(
    services: &Services,
    ctx: &ActivityContext,
    input: &RawValue,
) -> Result<RawValue> {
    let args: FetchInput = from_args(input, &["url"], "(url) or a FetchInput object")?;
    let auth = match &args.auth {
        AuthRef::None => Auth::None,
        AuthRef::Bearer { token_env } => Auth::Bearer(env_secret(services, token_env)?),
        AuthRef::Basic {
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
    let previous = match (&args.tenant, &args.supplier) {
        (Some(tenant), Some(supplier)) => services
            .staging
            .feed_state(&FeedKey {
                tenant: tenant.clone(),
                supplier: supplier.clone(),
            })
            .await?
            .filter(|state| state.url == args.url)
            .map(|state| Validators {
                etag: state.etag,
                last_modified: state.last_modified,
            })
            .unwrap_or_default(),
        _ => Validators::default(),
    };
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
    tracing::info!(
        url = ?contextworker_fetch::redact_url(&args.url),
        bytes = output.bytes,
        not_modified = output.not_modified,
        "feed fetched"
    );
    Ok(encode(&output))
}
