//! The harvest steps: resolve the supplier, fetch the feed, parse it in the sandbox, stage
//! the products. Feeds and products travel between steps as blob references, so no payload
//! grows with the feed.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use contextworker_config::{Credentials, FeedSource, Supplier, SupplierError};
use contextworker_fetch::{Auth, FetchOutcome, FetchRequest, Validators};
use contextworker_registry::Module;
use contextworker_runtime::{CancellationToken, FeedInput, SinkFailed};
use contextworker_staging::{FeedKey, FeedState};
use contextworker_storage::BlobRef;
use contextworker_types::{ErrorClass, Product, SupplierCode, World};
use temporalio_common::data_converters::RawValue;
use temporalio_sdk::activities::ActivityContext;
use tokio::io::{AsyncBufReadExt, AsyncReadExt};

use super::parsed::{ParsedProducts, scratch_io, store_parsed};
use super::supervise::{Progress, supervise};
use super::{Outcome, call_failed};
use crate::args::{encode, from_args};
use crate::detect::{SNIFF_BYTES, detect_module};
use crate::failure::{Failure, InputKind};
use crate::messages::{
    AuthRef, FetchInput, FetchOutput, HarvestArgs, ModuleUsed, ParseInput, ParseOutput, PinInput,
    StageInput, StageOutput, SupplierPlan,
};
use crate::services::Services;

type Result<T> = std::result::Result<T, Outcome>;

fn millis(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX)
}

pub(super) async fn resolve_supplier(services: &Services, input: &RawValue) -> Result<RawValue> {
    let args: HarvestArgs = from_args(
        input,
        &["supplier_code", "tenant_id"],
        "(supplier_code, tenant_id?)",
    )?;
    // The code becomes a file name: refuse anything that is not a plain code first.
    let code = SupplierCode::new(args.supplier_code.as_str()).map_err(|e| {
        Failure::new(
            ErrorClass::UnknownSupplier,
            format!("supplier code {:?}: {e}", args.supplier_code),
        )
    })?;
    let unknown = || match args.tenant_id.as_deref() {
        Some(tenant) => format!("no supplier `{}` for tenant {tenant:?}", code.as_str()),
        None => format!("no supplier `{}`", code.as_str()),
    };
    let supplier = Supplier::load(&services.suppliers_dir, code.as_str()).map_err(|e| match e {
        SupplierError::NotFound { .. } => Failure::new(ErrorClass::UnknownSupplier, unknown()),
        SupplierError::Directory { .. } | SupplierError::Read { .. } => {
            Failure::new(ErrorClass::SupplierConfigUnreadable, e.to_string())
        }
        SupplierError::Parse { .. } | SupplierError::Invalid { .. } => {
            Failure::new(ErrorClass::InvalidSupplierConfig, e.to_string())
        }
    })?;
    // A tenant may only harvest its own suppliers: with another tenant's code it would stage
    // that supplier's feed (fetched with its credentials) under its own catalog. The caller is
    // told what it would be told for a code that does not exist, so it learns nothing about
    // other tenants; the log says why.
    if let Some(requested) = args.tenant_id.as_deref()
        && requested != supplier.tenant.as_str()
    {
        tracing::warn!(
            supplier = code.as_str(),
            requested_tenant = ?requested,
            "refused: the supplier belongs to another tenant"
        );
        return Err(Failure::new(ErrorClass::UnknownSupplier, unknown()).into());
    }
    for var in supplier.env_vars() {
        services.secrets.check(var).map_err(|e| {
            Failure::new(
                ErrorClass::CredentialNotAllowed,
                format!("{}: {e}", supplier.path.display()),
            )
        })?;
    }
    if !supplier.enabled {
        return Err(Failure::new(
            ErrorClass::SupplierDisabled,
            format!(
                "supplier `{}` is disabled (enabled = false in {})",
                supplier.code.as_str(),
                supplier.path.display()
            ),
        )
        .into());
    }
    let url = match &supplier.source {
        FeedSource::Http(url) => url.clone(),
        FeedSource::File(path) => file_url(path)?,
    };
    let plan = SupplierPlan {
        supplier: supplier.code.as_str().to_owned(),
        name: supplier.name.clone(),
        tenant: supplier.tenant.as_str().to_owned(),
        url,
        module: Some(supplier.module.as_str().to_owned()),
        config: supplier.config.clone(),
        auth: match &supplier.credentials {
            Credentials::None => AuthRef::None,
            Credentials::Bearer { token_env } => AuthRef::Bearer {
                token_env: token_env.clone(),
            },
            Credentials::Basic {
                user_env,
                password_env,
            } => AuthRef::Basic {
                user_env: user_env.clone(),
                password_env: password_env.clone(),
            },
        },
        header_envs: supplier.header_envs.clone(),
        max_bytes: supplier.max_bytes,
        timeout_secs: supplier.timeout.as_secs().max(1),
    };
    Ok(encode(&plan))
}

fn file_url(path: &Path) -> std::result::Result<String, Failure> {
    let absolute = path.canonicalize().map_err(|e| {
        Failure::with_retry(
            ErrorClass::FeedFileUnreadable,
            format!("feed file {}: {e}", path.display()),
            e.kind() != std::io::ErrorKind::NotFound,
        )
    })?;
    url::Url::from_file_path(&absolute)
        .map(|u| u.to_string())
        .map_err(|()| {
            Failure::new(
                ErrorClass::InvalidFeedUrl,
                format!("{} is not a local path", absolute.display()),
            )
        })
}

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

pub(super) async fn download_feed(
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

async fn sniff(services: &Services, feed: &BlobRef) -> std::result::Result<Vec<u8>, Failure> {
    let reader = services
        .blobs
        .open(feed)
        .await
        .map_err(|e| Failure::from_blob(&e))?;
    let mut head = Vec::with_capacity(SNIFF_BYTES);
    reader
        .take(SNIFF_BYTES as u64)
        .read_to_end(&mut head)
        .await
        .map_err(|e| Failure::new(ErrorClass::BlobStoreError, e.to_string()))?;
    Ok(head)
}

/// The transformer `name`, or the one the feed's first bytes point to, as active now.
async fn choose_transformer(
    services: &Services,
    feed: &BlobRef,
    name: Option<&str>,
) -> Result<Arc<Module>> {
    let name = match name {
        Some(name) => name.to_owned(),
        None => detect_module(&sniff(services, feed).await?)
            .ok_or_else(|| {
                Failure::new(ErrorClass::ModuleNotDetected,
                    "the feed's format was not recognised; name the module (--module, or `module` in the arguments)",
                )
            })?
            .to_owned(),
    };
    let module = services.module(&name).ok_or_else(|| {
        Failure::new(
            ErrorClass::UnknownModule,
            format!("no module `{name}` is loaded on this worker"),
        )
    })?;
    transformer_only(module)
}

fn transformer_only(module: Arc<Module>) -> Result<Arc<Module>> {
    if module.manifest.world != World::Transformer {
        return Err(Failure::new(
            ErrorClass::WrongModuleKind,
            format!(
                "module `{}` is a {} module; parsing needs a transformer",
                module.name(),
                module.manifest.world.as_str()
            ),
        )
        .into());
    }
    Ok(module)
}

fn module_used(module: &Module) -> ModuleUsed {
    ModuleUsed {
        name: module.manifest.name.as_str().to_owned(),
        version: module.manifest.version.to_string(),
        digest: module.component.digest(),
    }
}

/// `pin_module(feed, module?)`: the version that will parse this feed, decided once.
pub(super) async fn pin_module(services: &Services, input: &RawValue) -> Result<RawValue> {
    let args: PinInput = from_args(input, &["feed", "module"], "(feed, module?)")?;
    #[cfg(feature = "native-parsers")]
    if let Some(name) = args
        .module
        .as_deref()
        .filter(|n| crate::native::is_native(n))
    {
        return Ok(encode(&crate::native::module_used(name)));
    }
    let module = choose_transformer(services, &args.feed, args.module.as_deref()).await?;
    Ok(encode(&module_used(&module)))
}

pub(super) async fn parse_products(
    services: &Arc<Services>,
    ctx: &ActivityContext,
    input: &RawValue,
) -> Result<RawValue> {
    let args: ParseInput = from_args(
        input,
        &["feed", "module", "config", "module_digest"],
        "(feed, module?, config?, module_digest?)",
    )?;
    #[cfg(feature = "native-parsers")]
    if let Some(name) = args
        .module
        .as_deref()
        .filter(|n| crate::native::is_native(n))
    {
        let name = name.to_owned();
        return parse_natively(services, ctx, &args, &name).await;
    }
    let module = match (&args.module, &args.module_digest) {
        (Some(name), Some(digest)) => {
            let module = services.module_version(name, digest).await.map_err(|e| {
                Failure::new(
                    ErrorClass::ModuleVersionNotKept,
                    format!("the harvest pinned `{name}` {digest}: {e}"),
                )
            })?;
            transformer_only(module)?
        }
        (name, _) => choose_transformer(services, &args.feed, name.as_deref()).await?,
    };
    let reader = services
        .blobs
        .open(&args.feed)
        .await
        .map_err(|e| Failure::from_blob(&e))?;
    let feed = FeedInput::from_reader(reader, Some(args.feed.size));
    let cancel = CancellationToken::new();
    let spec = module.call_spec(&args.config).with_cancel(cancel.clone());
    let progress = Progress::default();
    let started = Instant::now();
    let scratch = tempfile::NamedTempFile::new_in(&services.scratch_dir).map_err(scratch_io)?;
    let sink = ParsedProducts::create(scratch.path(), progress.clone()).await?;
    let call = services
        .runtime
        .transform_into(&module.component, &spec, feed, sink);
    let (outcome, sink) = supervise(ctx, "parse_products", &progress, &cancel, call).await?;
    // The sink's verdict first: a refused product stops the guest, which then reports only
    // that its output was closed.
    let collected = match sink {
        Ok(sink) => sink.finish().await?,
        Err(SinkFailed::Sink(failure)) => return Err(failure.into()),
        Err(SinkFailed::Cancelled) => {
            return Err(
                Failure::new(ErrorClass::HostError, "the product consumer was cancelled").into(),
            );
        }
    };
    if let Err(e) = outcome.result {
        return Err(call_failed(e, InputKind::Feed));
    }
    let products = store_parsed(services, scratch, &collected).await?;
    let output = ParseOutput {
        products,
        parsed: collected.products,
        duplicates: collected.duplicates,
        warnings: collected.warnings,
        warning_samples: collected.samples,
        module: module_used(&module),
        fuel_used: outcome.receipt.fuel_used,
        peak_memory_bytes: outcome.receipt.peak_memory_bytes,
        duration_ms: millis(started),
    };
    if let Some(candidate) = services
        .registry()
        .candidate(module.name().as_str())
        .filter(|c| c.component.digest() != module.component.digest())
    {
        super::shadow::spawn(
            services,
            candidate,
            output.module.clone(),
            args.feed,
            args.config.clone(),
            output.products,
        );
    }
    tracing::info!(
        module = %output.module.name,
        parsed = output.parsed,
        duplicates = output.duplicates,
        warnings = output.warnings,
        "feed parsed"
    );
    Ok(encode(&output))
}

/// The same step with a parser linked into the host instead of a component: only for the
/// end-to-end benchmark, which compares the two through the whole pipeline.
#[cfg(feature = "native-parsers")]
async fn parse_natively(
    services: &Services,
    ctx: &ActivityContext,
    args: &ParseInput,
    name: &str,
) -> Result<RawValue> {
    let reader = services
        .blobs
        .open(&args.feed)
        .await
        .map_err(|e| Failure::from_blob(&e))?;
    let progress = Progress::default();
    let cancel = CancellationToken::new();
    let started = Instant::now();
    let scratch = tempfile::NamedTempFile::new_in(&services.scratch_dir).map_err(scratch_io)?;
    let mut sink = ParsedProducts::create(scratch.path(), progress.clone()).await?;
    let (tx, rx) = contextworker_runtime::sink_channel();
    let call = crate::native::transform(name, reader, args.config.clone(), tx);
    let (parsed, drained) = supervise(ctx, "parse_products", &progress, &cancel, async {
        tokio::join!(call, contextworker_runtime::drain_into(rx, &mut sink))
    })
    .await?;
    drained?;
    let collected = sink.finish().await?;
    parsed.map_err(|e| Failure::new(ErrorClass::InvalidFeed, e))?;
    let products = store_parsed(services, scratch, &collected).await?;
    Ok(encode(&ParseOutput {
        products,
        parsed: collected.products,
        duplicates: collected.duplicates,
        warnings: collected.warnings,
        warning_samples: collected.samples,
        module: crate::native::module_used(name),
        fuel_used: None,
        peak_memory_bytes: 0,
        duration_ms: millis(started),
    }))
}

pub(super) async fn store_products(
    services: &Services,
    ctx: &ActivityContext,
    input: &RawValue,
) -> Result<RawValue> {
    let args: StageInput = from_args(
        input,
        &["tenant", "supplier", "run_id", "products"],
        "a StageInput object {tenant, supplier, products, run_id?, url?, etag?, last_modified?}",
    )?;
    let info = ctx.info();
    let run_id = args
        .run_id
        .clone()
        .or_else(|| info.workflow_run_id.clone())
        .unwrap_or_else(|| info.activity_id.clone());
    let key = FeedKey {
        tenant: args.tenant.clone(),
        supplier: args.supplier.clone(),
    };
    let started = Instant::now();
    let progress = Progress::default();
    let cancel = CancellationToken::new();
    let staged = supervise(
        ctx,
        "store_products",
        &progress,
        &cancel,
        stage_blob(services, &key, &run_id, &args.products, &progress),
    )
    .await??;
    if staged == 0 && services.staging.listed_count(&key).await? > 0 {
        // Marking a whole catalog missing because a feed came back empty is almost always a
        // supplier outage, not a real clearance: refuse and keep the catalog.
        return Err(Failure::new(ErrorClass::EmptyFeed,
            format!(
                "the feed has no products, but {}/{} has listed products; nothing was marked missing",
                key.tenant, key.supplier
            ),
        )
        .into());
    }
    let counts = services
        .staging
        .finish_run(
            &key,
            &run_id,
            &FeedState {
                url: args.url.clone().unwrap_or_default(),
                etag: args.etag.clone(),
                last_modified: args.last_modified.clone(),
                feed_digest: args.feed_digest.map(|d| d.to_string()),
            },
        )
        .await?;
    let output = StageOutput {
        run_id,
        staged,
        created: counts.created,
        updated: counts.updated,
        unchanged: counts.unchanged,
        missing: counts.missing,
        duration_ms: millis(started),
    };
    tracing::info!(
        tenant = ?key.tenant,
        supplier = ?key.supplier,
        staged,
        created = output.created,
        updated = output.updated,
        unchanged = output.unchanged,
        missing = output.missing,
        "products staged"
    );
    Ok(encode(&output))
}

/// Stream the NDJSON blob into the staging database in batches; returns the product count.
async fn stage_blob(
    services: &Services,
    key: &FeedKey,
    run_id: &str,
    products: &BlobRef,
    progress: &Progress,
) -> Result<u64> {
    let reader = services
        .blobs
        .open(products)
        .await
        .map_err(|e| Failure::from_blob(&e))?;
    let mut lines = tokio::io::BufReader::with_capacity(256 * 1024, reader).lines();
    let mut batch: Vec<Product> = Vec::with_capacity(contextworker_staging::BATCH_ROWS);
    let (mut staged, mut line_no) = (0u64, 0u64);
    loop {
        let line = lines
            .next_line()
            .await
            .map_err(|e| Failure::new(ErrorClass::BlobStoreError, e.to_string()))?;
        let Some(line) = line else { break };
        line_no += 1;
        if line.trim().is_empty() {
            continue;
        }
        let product: Product = serde_json::from_str(&line).map_err(|e| {
            Failure::new(
                ErrorClass::InvalidProducts,
                format!("products blob {}, line {line_no}: {e}", products.digest),
            )
        })?;
        batch.push(product);
        if batch.len() == contextworker_staging::BATCH_ROWS {
            services.staging.stage_batch(key, run_id, &batch).await?;
            staged += batch.len() as u64;
            progress.add(batch.len() as u64);
            batch.clear();
        }
    }
    if !batch.is_empty() {
        services.staging.stage_batch(key, run_id, &batch).await?;
        staged += batch.len() as u64;
        progress.add(batch.len() as u64);
    }
    Ok(staged)
}
