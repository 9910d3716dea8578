//! `resolve_supplier`: the supplier file of the requested tenant, as a plan the other steps
//! follow (URL, module, configuration, and the names of the variables that hold secrets).

use std::path::Path;

use contextworker_config::{FeedSource, FileError, Supplier, SupplierError, tenant_enrichment};
use contextworker_staging::FeedKey;
use contextworker_types::{ErrorClass, SupplierCode};
use temporalio_common::data_converters::RawValue;

use crate::args::encode;
use crate::failure::Failure;
use crate::messages::{FeedValidators, HarvestArgs, SupplierList, SupplierPlan};
use crate::services::Services;

use super::Result;

pub(in crate::activities) async fn resolve_supplier(
    services: &Services,
    args: HarvestArgs,
) -> Result<RawValue> {
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
        SupplierError::Directory { .. } | SupplierError::File(FileError::Read { .. }) => {
            Failure::new(ErrorClass::SupplierConfigUnreadable, e.to_string())
        }
        SupplierError::File(
            FileError::TooLarge { .. } | FileError::Parse { .. } | FileError::Invalid { .. },
        ) => Failure::new(ErrorClass::InvalidSupplierConfig, e.to_string()),
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
        auth: supplier.credentials.clone(),
        header_envs: supplier.header_envs.clone(),
        max_bytes: supplier.max_bytes,
        timeout_secs: supplier.timeout.as_secs().max(1),
        previous: FeedValidators::default(),
        enrich: match supplier.enrich {
            Some(enrich) => enrich,
            None => {
                tenant_enrichment(&services.tenants_dir, &supplier.tenant)
                    .map_err(|e| Failure::new(ErrorClass::InvalidTenantConfig, e.to_string()))?
                    .after_harvest
            }
        },
    };
    let plan = SupplierPlan {
        previous: last_validators(services, &plan).await?,
        ..plan
    };
    Ok(encode(&plan))
}

/// `list_suppliers`: the tenant's enabled suppliers, sorted by code. A file that does not
/// read is logged and left out: one broken supplier does not stop the others' harvests.
pub(in crate::activities) async fn list_suppliers(
    services: &Services,
    args: SupplierList,
) -> Result<RawValue> {
    let tenant = contextworker_types::TenantId::new(args.tenant_id.as_str())
        .map_err(|e| Failure::new(ErrorClass::InvalidArguments, e.to_string()))?;
    let (suppliers, broken) = Supplier::load_dir(&services.suppliers_dir)
        .map_err(|e| Failure::new(ErrorClass::SupplierConfigUnreadable, e.to_string()))?;
    for e in &broken {
        tracing::warn!("list_suppliers: left out: {e}");
    }
    let suppliers = suppliers
        .into_iter()
        .filter(|s| s.enabled && s.tenant == tenant)
        .map(|s| s.code.as_str().to_owned())
        .collect();
    Ok(encode(&SupplierList {
        tenant_id: tenant.as_str().to_owned(),
        suppliers,
    }))
}

/// The validators of the last feed staged completely for this supplier, when it came from the
/// same URL (a changed URL is a new feed: its first download is unconditional).
async fn last_validators(
    services: &Services,
    plan: &SupplierPlan,
) -> std::result::Result<FeedValidators, Failure> {
    let key = FeedKey {
        tenant: plan.tenant.clone(),
        supplier: plan.supplier.clone(),
    };
    Ok(services
        .staging
        .feed_state(&key)
        .await?
        .filter(|state| state.url == plan.url)
        .map(|state| FeedValidators {
            etag: state.etag,
            last_modified: state.last_modified,
        })
        .unwrap_or_default())
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
