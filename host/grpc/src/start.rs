//! What a StartWorkflow request may start, decided from the token and the host's policy before
//! anything reaches Temporal.
//!
//! A tenant's token starts only the workflow types the operator opened (by default the
//! harvest, the import, the enrichment and the gardener's pass); for those the server builds the arguments itself and puts the
//! token's tenant in them, so nothing a caller writes can name another tenant's catalog. Any
//! other type, started by name with the caller's own arguments, needs `worker:admin`. The
//! task queue must be one the host lists, and the workflow id comes from [`ids`], never from
//! the request envelope.

use contextworker_auth::{self as auth, Claims};
use contextworker_temporal::ids;
use contextworker_temporal::messages::names;
use contextworker_temporal::starter::{Reuse, StartExtras};
use contextworker_types::{ModuleName, ProductRef, SupplierCode};
use serde_json::{Map, Value, json};

/// Workflow types whose arguments the server knows how to build.
pub const TENANT_WORKFLOWS: &[&str] = &[
    names::HARVEST_WORKFLOW,
    names::IMPORT_WORKFLOW,
    names::ENRICHMENT_WORKFLOW,
    names::GARDENER_WORKFLOW,
];

/// Product ids one StartWorkflow may name (the workflow's own limit).
const MAX_PRODUCT_IDS: usize = 10_000;

/// Longest client request id kept (it is stored in the memo; the id uses its hash).
const MAX_REQUEST_ID: usize = 256;

/// The operator's rules for StartWorkflow.
#[derive(Debug, Clone)]
pub struct StartPolicy {
    tenant_workflows: Vec<&'static str>,
    /// The first is the default.
    queues: Vec<String>,
}

/// A start policy that cannot be built from the configuration.
#[derive(Debug, thiserror::Error)]
#[error(
    "grpc.start_workflows: {0:?} is not a workflow whose arguments the server builds (known: {known})",
    known = TENANT_WORKFLOWS.join(", ")
)]
pub struct UnknownWorkflow(pub String);

impl StartPolicy {
    /// `tenant_workflows`: `None` opens every type in [`TENANT_WORKFLOWS`].
    pub fn new(
        tenant_workflows: Option<&[String]>,
        queues: Vec<String>,
    ) -> Result<Self, UnknownWorkflow> {
        let tenant_workflows = match tenant_workflows {
            None => TENANT_WORKFLOWS.to_vec(),
            Some(list) => list
                .iter()
                .map(|name| {
                    TENANT_WORKFLOWS
                        .iter()
                        .find(|known| **known == name.as_str())
                        .copied()
                        .ok_or_else(|| UnknownWorkflow(name.clone()))
                })
                .collect::<Result<_, _>>()?,
        };
        Ok(Self {
            tenant_workflows,
            queues,
        })
    }

    pub(crate) fn opened(&self, workflow: &str) -> bool {
        self.tenant_workflows.contains(&workflow)
    }

    /// The task queue a caller names, if the host lists it; the first by default.
    pub(crate) fn queue(&self, named: Option<&str>, rpc: &str) -> Result<String, Refused> {
        match named {
            None => Ok(self.queues[0].clone()),
            Some(q) if self.queues.iter().any(|open| open == q) => Ok(q.to_owned()),
            Some(q) => Err(Refused::denied(format!(
                "task queue {q:?} is not open to {rpc} on this host"
            ))),
        }
    }

    /// A scheduled run's arguments, from the positional `args` the original's
    /// RegisterSchedules took (`["all", tenant]`, `[tenant, 50, 10]`): read into the fields
    /// StartWorkflow takes, then built by the same code, so the token's tenant is the one in
    /// them. An argument naming another tenant is refused, not ignored: a schedule runs
    /// unattended, and its owner should learn at once that it would not do what it says.
    pub(crate) fn scheduled_args(
        &self,
        workflow: &str,
        args: &[Value],
        tenant: &str,
    ) -> Result<Vec<Value>, Refused> {
        let other_tenant = |v: Option<&Value>| match v {
            None | Some(Value::Null) => Ok(()),
            Some(Value::String(t)) if t == tenant => Ok(()),
            Some(other) => Err(Refused::denied(format!(
                "the arguments name tenant {other}; this token registers schedules for {tenant:?}"
            ))),
        };
        let object = |v: Option<&Value>| match v {
            None | Some(Value::Null) => Ok(Map::new()),
            Some(Value::Object(m)) => Ok(m.clone()),
            Some(_) => Err(validation(format!("{workflow} takes one object argument"))),
        };
        let mut p = Map::new();
        let built = match workflow {
            names::HARVEST_WORKFLOW => {
                if let Some(code) = args.first() {
                    p.insert("supplier_code".into(), code.clone());
                }
                other_tenant(args.get(1))?;
                harvest_args(&p, tenant)?
            }
            names::GARDENER_WORKFLOW => {
                other_tenant(args.first())?;
                for (i, key) in [(1, "batch_size"), (2, "max_batches")] {
                    if let Some(v) = args.get(i) {
                        p.insert(key.into(), v.clone());
                    }
                }
                gardener_args(&p, tenant)?
            }
            names::ENRICHMENT_WORKFLOW => {
                p = object(args.first())?;
                other_tenant(p.get("tenant_id"))?;
                enrichment_args(&p, tenant)?
            }
            names::IMPORT_WORKFLOW => {
                p = match args.first() {
                    Some(Value::String(url)) => {
                        let mut m = Map::new();
                        m.insert("url".into(), json!(url));
                        m
                    }
                    other => object(other)?,
                };
                other_tenant(p.get("tenant_id"))?;
                import_args(&p, tenant)?
            }
            other => {
                return Err(Refused::denied(format!(
                    "workflow {other:?} is not open to schedules on this host"
                )));
            }
        };
        Ok(built.0)
    }

    /// Decide what `payload` starts for the holder of `claims`, or why it may not.
    pub fn plan(
        &self,
        claims: &Claims,
        payload: &Map<String, Value>,
        trace_id: &str,
    ) -> Result<Plan, Refused> {
        claims.require(auth::EXECUTE).map_err(|e| denied(&e))?;
        let tenant = claims
            .tenant(str_field(payload, "tenant_id"))
            .map_err(|e| denied(&e))?;
        let kind = str_field(payload, "workflow_type")
            .ok_or_else(|| validation("payload.workflow_type is required"))?;
        let queue = self.queue(str_field(payload, "task_queue"), "StartWorkflow")?;
        let request_id = match payload.get("request_id") {
            None | Some(Value::Null) => None,
            Some(Value::String(r)) if r.is_empty() => None,
            Some(Value::String(r)) if r.len() <= MAX_REQUEST_ID => Some(r.clone()),
            Some(_) => {
                return Err(validation(format!(
                    "payload.request_id must be a string of at most {MAX_REQUEST_ID} bytes"
                )));
            }
        };
        let url = str_field(payload, "url");
        let workflow = match (kind, url) {
            ("harvest" | names::HARVEST_WORKFLOW, None) => names::HARVEST_WORKFLOW,
            ("harvest" | "import" | names::IMPORT_WORKFLOW, _) => names::IMPORT_WORKFLOW,
            ("enrich" | names::ENRICHMENT_WORKFLOW, _) => names::ENRICHMENT_WORKFLOW,
            ("gardener" | names::GARDENER_WORKFLOW, _) => names::GARDENER_WORKFLOW,
            (other, _) => other,
        };
        let mut extras = StartExtras {
            tenant: tenant.clone(),
            trace_id: (!trace_id.is_empty()).then(|| trace_id.to_owned()),
            unit_id: None,
            request_id,
            reuse: Reuse::Exclusive,
        };
        if self.opened(workflow) {
            let (args, workflow_id) = match workflow {
                names::HARVEST_WORKFLOW => harvest_args(payload, &tenant)?,
                names::IMPORT_WORKFLOW => import_args(payload, &tenant)?,
                names::ENRICHMENT_WORKFLOW => enrichment_args(payload, &tenant)?,
                _ => gardener_args(payload, &tenant)?,
            };
            return Ok(Plan {
                workflow: workflow.to_owned(),
                args,
                workflow_id,
                queue,
                extras,
            });
        }
        if !claims.is_admin() {
            return Err(Refused::denied(format!(
                "workflow type {workflow:?} is not open to tenants on this host; starting it by name needs {}",
                auth::ADMIN
            )));
        }
        let args = match payload.get("args") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(a)) => a.clone(),
            Some(_) => return Err(validation("payload.args must be a list")),
        };
        extras.reuse = Reuse::Request;
        Ok(Plan {
            workflow: workflow.to_owned(),
            args,
            workflow_id: ids::per_request(workflow, &tenant, extras.request_id.as_deref()),
            queue,
            extras,
        })
    }
}

/// A start the policy allows.
#[derive(Debug, Clone)]
pub struct Plan {
    pub workflow: String,
    pub args: Vec<Value>,
    pub workflow_id: String,
    pub queue: String,
    pub extras: StartExtras,
}

/// Why a request may not start anything: `{error_type, error}` for the answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub error_type: &'static str,
    pub message: String,
}

impl Refused {
    pub(crate) fn denied(message: String) -> Self {
        Self {
            error_type: "permission_denied",
            message,
        }
    }
}

pub(crate) fn denied(e: &auth::AuthError) -> Refused {
    Refused::denied(e.to_string())
}

pub(crate) fn validation(message: impl Into<String>) -> Refused {
    Refused {
        error_type: "validation",
        message: message.into(),
    }
}

pub(crate) fn str_field<'a>(p: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    p.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// `HarvestWorkflow(supplier_code, tenant)`: the supplier's tenant is checked against the
/// token's by the worker (`resolve_supplier`), before anything is fetched.
fn harvest_args(p: &Map<String, Value>, tenant: &str) -> Result<(Vec<Value>, String), Refused> {
    let supplier = str_field(p, "supplier_code").ok_or_else(|| {
        validation("payload.supplier_code is required for a harvest (or give a url for an import)")
    })?;
    let code = SupplierCode::new(supplier)
        .map_err(|e| validation(format!("payload.supplier_code: {e}")))?;
    Ok((
        vec![json!(code.as_str()), json!(tenant)],
        ids::harvest(tenant, code.as_str()),
    ))
}

/// `HarvesterImportWorkflow({url, module?, tenant_id, supplier_code})`. Only http(s) URLs: a
/// `file://` import would read the host's files (the supplier and import directories).
fn import_args(p: &Map<String, Value>, tenant: &str) -> Result<(Vec<Value>, String), Refused> {
    let url =
        str_field(p, "url").ok_or_else(|| validation("payload.url is required for an import"))?;
    let parsed = url::Url::parse(url).map_err(|e| validation(format!("payload.url: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(validation(
            "payload.url: imports over gRPC fetch http:// and https:// URLs only",
        ));
    }
    let module = module_field(p, "module")?;
    let catalog = ids::import_catalog(parsed.as_str());
    Ok((
        vec![json!({
            "url": parsed.as_str(),
            "module": module,
            "tenant_id": tenant,
            "supplier_code": catalog,
        })],
        ids::harvest(tenant, &catalog),
    ))
}

/// A module a caller may name: a valid module name, or absent.
fn module_field(p: &Map<String, Value>, key: &str) -> Result<Option<String>, Refused> {
    str_field(p, key)
        .map(|m| {
            ModuleName::new(m)
                .map(|name| name.as_str().to_owned())
                .map_err(|e| validation(format!("payload.{key}: {e}")))
        })
        .transpose()
}

/// A count a caller may give (`batch_size`, `max_batches`): a positive integer, checked again
/// by the workflow against the tenant's limits.
fn count_field(p: &Map<String, Value>, key: &str) -> Result<Option<u32>, Refused> {
    match p.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .filter(|n| *n > 0)
            .map(Some)
            .ok_or_else(|| validation(format!("payload.{key} must be a positive integer"))),
    }
}

/// `EnrichmentWorkflow({tenant_id, product_ids?, supplier_code?, batch_size?, max_batches?,
/// classifier?})`: the token's tenant's products only (staging reads are confined to it).
fn enrichment_args(p: &Map<String, Value>, tenant: &str) -> Result<(Vec<Value>, String), Refused> {
    let supplier = match str_field(p, "supplier_code") {
        Some(s) => Some(
            SupplierCode::new(s)
                .map_err(|e| validation(format!("payload.supplier_code: {e}")))?
                .as_str()
                .to_owned(),
        ),
        None => None,
    };
    let classifier = module_field(p, "classifier")?;
    let product_ids = match p.get("product_ids") {
        None | Some(Value::Null) => None,
        Some(Value::Array(ids)) if ids.len() <= MAX_PRODUCT_IDS => Some(
            ids.iter()
                .map(|id| {
                    id.as_str()
                        .ok_or_else(|| "not a string".to_owned())
                        .and_then(|s| s.parse::<ProductRef>())
                        .map(|r| json!(r.to_string()))
                })
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| validation(format!("payload.product_ids: {e}")))?,
        ),
        Some(_) => {
            return Err(validation(format!(
                "payload.product_ids must be a list of at most {MAX_PRODUCT_IDS} SUPPLIER/SKU strings"
            )));
        }
    };
    Ok((
        vec![json!({
            "tenant_id": tenant,
            "product_ids": product_ids,
            "supplier_code": supplier,
            "classifier": classifier,
            "batch_size": count_field(p, "batch_size")?,
            "max_batches": count_field(p, "max_batches")?,
        })],
        ids::enrichment(tenant, supplier.as_deref()),
    ))
}

/// `GardenerWorkflow(tenant_id, batch_size?, max_batches?)`, as the original's gRPC started it.
fn gardener_args(p: &Map<String, Value>, tenant: &str) -> Result<(Vec<Value>, String), Refused> {
    Ok((
        vec![
            json!(tenant),
            json!(count_field(p, "batch_size")?),
            json!(count_field(p, "max_batches")?),
        ],
        ids::gardener(tenant),
    ))
}

#[cfg(test)]
mod tests;
