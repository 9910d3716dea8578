//! Turning a command's flags into the resolved configuration, the logger and the sandbox.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use contextworker_config::{GrpcConfig, GrpcOverrides, HostConfig, Overrides, TemporalInput};
use contextworker_runtime::{MIB, Runtime, RuntimeConfig};

use crate::cli::{FleetArgs, GlobalArgs, ServeArgs, TemporalArgs};

/// The configuration for commands that need only the host's files.
pub fn host_config(args: &GlobalArgs) -> anyhow::Result<HostConfig> {
    Ok(HostConfig::load(file_overrides(args))?)
}

/// The configuration for commands that talk to Temporal (start, read workflows).
pub fn client_config(args: &GlobalArgs, temporal: &TemporalArgs) -> anyhow::Result<HostConfig> {
    let mut overrides = file_overrides(args);
    apply_temporal(&mut overrides, temporal);
    Ok(HostConfig::load(overrides)?)
}

/// The configuration for `serve`: everything.
pub fn serve_config(args: &GlobalArgs, serve: &ServeArgs) -> anyhow::Result<HostConfig> {
    let mut overrides = file_overrides(args);
    apply_temporal(&mut overrides, &serve.temporal);
    overrides.database_url = serve.database_url.clone();
    overrides.blob_store = serve.blob_store.clone();
    overrides.max_concurrent = serve.worker.max_concurrent;
    overrides.graceful_shutdown_secs = serve.worker.shutdown_grace_secs;
    overrides.outbound_allow = serve.outbound_allow.clone();
    let grpc = &serve.grpc;
    overrides.grpc = GrpcOverrides {
        addr: grpc.grpc_addr,
        disabled: grpc.no_grpc,
        allow_unsigned_tokens: grpc.allow_unsigned_tokens,
        hmac_keys: grpc.token_hmac_keys.clone(),
        ed25519_keys: grpc.token_ed25519_keys.clone(),
        exec_concurrency: grpc.exec_concurrency,
        tls_cert: grpc.grpc_tls_cert.clone(),
        tls_key: grpc.grpc_tls_key.clone(),
        tls_client_ca: grpc.grpc_tls_client_ca.clone(),
    };
    Ok(HostConfig::load(overrides)?)
}

/// The configuration for commands about the fleet: the host's files, and the fleet's database
/// and bucket as `serve` would take them.
pub fn fleet_config(args: &GlobalArgs, fleet: &FleetArgs) -> anyhow::Result<HostConfig> {
    let mut overrides = file_overrides(args);
    overrides.database_url = fleet.database_url.clone();
    overrides.blob_store = fleet.blob_store.clone();
    Ok(HostConfig::load(overrides)?)
}

fn file_overrides(args: &GlobalArgs) -> Overrides {
    Overrides {
        config_file: args.host_config.clone(),
        data_dir: args.data_dir.clone(),
        modules_dir: args.modules_dir.clone(),
        suppliers_dir: args.suppliers_dir.clone(),
        modules: args.modules.clone(),
        ..Overrides::default()
    }
}

fn apply_temporal(overrides: &mut Overrides, args: &TemporalArgs) {
    overrides.temporal = TemporalInput {
        // TEMPORAL_HOST is what the original Python worker read.
        address: args.temporal_address.clone().or_else(|| {
            std::env::var("TEMPORAL_HOST")
                .ok()
                .filter(|v| !v.is_empty())
        }),
        namespace: args.temporal_namespace.clone(),
        api_key: args.temporal_api_key.clone(),
        tls_cert: args.temporal_tls_cert.clone(),
        tls_key: args.temporal_tls_key.clone(),
    };
    overrides.task_queues = args.task_queues.clone();
    overrides.identity = args.identity.clone();
}

/// Validate the Temporal settings and connect.
pub async fn temporal_client(
    config: &HostConfig,
) -> anyhow::Result<contextworker_temporal::Client> {
    let settings = config.temporal.clone().resolve()?;
    let identity = config
        .worker
        .identity
        .clone()
        .unwrap_or_else(contextworker_temporal::default_identity);
    Ok(contextworker_temporal::connect(&settings, &identity).await?)
}

pub fn runtime(config: &HostConfig) -> anyhow::Result<Arc<Runtime>> {
    let sandbox = &config.sandbox;
    let runtime = Runtime::new(RuntimeConfig {
        cache_dir: config.compile_cache_dir(),
        cache_max_bytes: sandbox.compile_cache_max_mb * MIB,
        max_concurrent_instances: sandbox.max_concurrent_instances,
        max_memory_bytes: sandbox.max_memory_mb * MIB,
        max_component_bytes: sandbox.max_component_mb * MIB,
        epoch_tick: Duration::from_millis(sandbox.epoch_tick_ms),
        pooling: sandbox.pooling,
        allow_on_demand_fallback: sandbox.allow_on_demand_fallback,
        // A call's memory limit never exceeds max_memory_mb, so a smaller budget would only
        // make every large call wait; the budget is at least one such call.
        memory_budget_bytes: sandbox.memory_budget_mb.max(sandbox.max_memory_mb) * MIB,
        memory_wait: Duration::from_secs(2),
        epoch_interruption: true,
        http: http_host(config)?,
    })
    .context("cannot start the sandbox")?;
    Ok(runtime)
}

/// Modules' outbound HTTP: the operator's narrowing and networks, and the secret headers with
/// their values read from the environment now (a missing secret stops the start, rather than
/// surfacing later as a refused request).
fn http_host(config: &HostConfig) -> anyhow::Result<contextworker_runtime::HttpHostConfig> {
    let secrets = config
        .http_secrets
        .iter()
        .map(|s| {
            let value = std::env::var(&s.env).map_err(|_| {
                anyhow::anyhow!(
                    "[[http_secret]] for {}://{}:{}: the environment variable {} is not set",
                    s.scheme.as_str(),
                    s.host,
                    s.port,
                    s.env
                )
            })?;
            let mut value = http::HeaderValue::try_from(format!("{}{value}", s.prefix))
                .map_err(|_| anyhow::anyhow!("{} is not a valid header value", s.env))?;
            value.set_sensitive(true);
            Ok(contextworker_runtime::SecretHeader {
                scheme: s.scheme,
                host: s.host.clone(),
                port: s.port,
                header: http::HeaderName::try_from(s.header.as_str())
                    .map_err(|_| anyhow::anyhow!("`{}` is not a header name", s.header))?,
                value,
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(contextworker_runtime::HttpHostConfig {
        outbound_allow: config.outbound_allow.clone(),
        narrowing: config.http_narrowing.clone(),
        secrets,
    })
}

/// The token verifier from the configured keys (flags, then the file's `[grpc]` tables).
pub fn token_verifier(args: &GrpcConfig) -> anyhow::Result<contextworker_grpc::auth::Verifier> {
    use contextworker_grpc::auth::{Key, Verifier};
    let mut keys = std::collections::HashMap::new();
    for (kid, var) in &args.hmac_keys {
        let key = Key::hmac_from_env(var)
            .map_err(|e| anyhow::anyhow!("--token-hmac-key {kid}={var}: {e}"))?;
        keys.insert(kid.clone(), key);
    }
    for (kid, public) in &args.ed25519_keys {
        let key = Key::ed25519_base64(public)
            .map_err(|e| anyhow::anyhow!("--token-ed25519-key {kid}: {e}"))?;
        keys.insert(kid.clone(), key);
    }
    Ok(Verifier::new(keys, args.allow_unsigned_tokens)
        .with_max_lifetime(args.max_token_lifetime_secs))
}

/// Every tenant named by a tenant file (`<tenant>.toml`) or an enabled supplier, sorted, once
/// each: the tenants a gardener pass or a tenant-wide schedule is for.
pub fn known_tenants(
    suppliers: &[contextworker_config::Supplier],
    tenants_dir: &std::path::Path,
) -> Vec<contextworker_types::TenantId> {
    let mut out: Vec<contextworker_types::TenantId> = suppliers
        .iter()
        .filter(|s| s.enabled)
        .map(|s| s.tenant.clone())
        .collect();
    if let Ok(entries) = std::fs::read_dir(tenants_dir) {
        out.extend(
            entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "toml"))
                .filter_map(|p| {
                    let stem = p.file_stem()?.to_str()?;
                    contextworker_types::TenantId::new(stem).ok()
                }),
        );
    }
    out.sort();
    out.dedup();
    out
}
