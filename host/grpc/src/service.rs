//! `contextunity.worker.WorkerService`: each RPC authenticates, reads its payload, acts, and
//! answers with a `ContextUnit` (errors as `{error, error_type}` in the payload, gRPC statuses
//! only where the RPC cannot answer at all).

use std::sync::Arc;
use std::time::{Duration, Instant};

use contextworker_runtime::CancellationToken;
use contextworker_worker::Client;
use contextworker_worker::messages::names;
use contextworker_worker::starter::{self, StartExtras};
use serde_json::{Map, Value, json};
use tonic::{Request, Response, Status};

use crate::auth::{self, AuthError, Claims, Verifier};
use crate::exec::{ExecOutcome, Executor};
use crate::pb::core::ContextUnit;
use crate::pb::worker::worker_service_server::WorkerService;
use crate::unit::{error_payload, respond, struct_to_json};

/// The Temporal side the service starts and reads workflows with.
#[derive(Clone)]
pub struct TemporalSide {
    pub client: Client,
    pub default_queue: String,
}

pub struct Service {
    temporal: Option<TemporalSide>,
    executor: Arc<Executor>,
    verifier: Arc<Verifier>,
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service")
            .field("temporal", &self.temporal.is_some())
            .finish_non_exhaustive()
    }
}

type RpcResult = Result<Response<ContextUnit>, Status>;

fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// The `grpc-timeout` header (`<n><unit>`), if the client set a deadline.
fn deadline(metadata: &tonic::metadata::MetadataMap) -> Option<Duration> {
    let v = metadata.get("grpc-timeout")?.to_str().ok()?;
    let (n, unit) = v.split_at(v.len().checked_sub(1)?);
    let n: u64 = n.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(n * 3600),
        "M" => Duration::from_secs(n * 60),
        "S" => Duration::from_secs(n),
        "m" => Duration::from_millis(n),
        "u" => Duration::from_micros(n),
        "n" => Duration::from_nanos(n),
        _ => return None,
    })
}

fn str_field<'a>(p: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    p.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// Cancels its token when dropped: tonic drops the handler future when the client goes away.
struct CancelOnDrop(CancellationToken);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

impl Service {
    pub fn new(
        temporal: Option<TemporalSide>,
        executor: Arc<Executor>,
        verifier: Arc<Verifier>,
    ) -> Self {
        Self {
            temporal,
            executor,
            verifier,
        }
    }

    fn authenticate(&self, metadata: &tonic::metadata::MetadataMap) -> Result<Claims, Status> {
        let token = metadata
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .or_else(|| {
                metadata
                    .get("x-context-token")
                    .and_then(|v| v.to_str().ok())
            });
        let Some(token) = token else {
            return Err(Status::unauthenticated(AuthError::Missing.to_string()));
        };
        self.verifier
            .verify(token, unix_now())
            .map_err(|e| Status::unauthenticated(e.to_string()))
    }

    /// Authenticate a request and read its unit's payload as JSON.
    fn open(
        &self,
        request: Request<ContextUnit>,
    ) -> Result<(Claims, ContextUnit, Map<String, Value>), Status> {
        let claims = self.authenticate(request.metadata())?;
        let unit = request.into_inner();
        let payload = unit
            .payload
            .as_ref()
            .map(struct_to_json)
            .unwrap_or_default();
        Ok((claims, unit, payload))
    }

    fn temporal(&self) -> Result<&TemporalSide, (&'static str, String)> {
        self.temporal.as_ref().ok_or((
            "unavailable",
            "this host runs without Temporal (--no-temporal)".to_owned(),
        ))
    }

    async fn start(
        &self,
        claims: &Claims,
        request: &ContextUnit,
        p: &Map<String, Value>,
    ) -> Result<Map<String, Value>, (&'static str, String)> {
        claims.require(auth::EXECUTE).map_err(denied)?;
        let tenant = claims.tenant(str_field(p, "tenant_id")).map_err(denied)?;
        let temporal = self.temporal()?;
        let kind = str_field(p, "workflow_type")
            .ok_or(("validation", "payload.workflow_type is required".to_owned()))?;
        let url = str_field(p, "url");
        let (workflow, args, default_id): (String, Vec<Value>, String) = match (kind, url) {
            ("harvest", None) => {
                let supplier = str_field(p, "supplier_code").ok_or((
                    "validation",
                    "payload.supplier_code is required for a harvest (or give a url for an import)"
                        .to_owned(),
                ))?;
                (
                    names::HARVEST_WORKFLOW.to_owned(),
                    vec![json!(supplier), json!(tenant)],
                    format!("harvest-{supplier}-{tenant}"),
                )
            }
            ("harvest" | "import", Some(url)) => (
                names::IMPORT_WORKFLOW.to_owned(),
                vec![json!({"url": url, "module": p.get("module"), "tenant_id": tenant})],
                format!("harvest-{}", request.unit_id),
            ),
            ("import", None) => {
                return Err(("validation", "url is required for an import".to_owned()));
            }
            (other, _) => (
                other.to_owned(),
                p.get("args")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default(),
                format!("{other}-{}", request.unit_id),
            ),
        };
        let request_id = str_field(p, "request_id");
        // A request id makes the start idempotent: the id depends only on tenant and request.
        let workflow_id = match request_id {
            Some(r) => format!("{workflow}-{tenant}-{r}"),
            None if request.unit_id.is_empty() && !default_id.starts_with("harvest-") => {
                format!("{workflow}-{}", uuid::Uuid::new_v4())
            }
            None => default_id,
        };
        let queue = str_field(p, "task_queue").unwrap_or(&temporal.default_queue);
        let extras = StartExtras {
            memo: vec![
                ("tenant_id".to_owned(), json!(tenant)),
                (
                    contextworker_worker::TRACE_ID.to_owned(),
                    json!(request.trace_id),
                ),
            ],
            idempotent: request_id.is_some(),
        };
        let started = starter::start_with(
            &temporal.client,
            &workflow,
            &args,
            &workflow_id,
            queue,
            &extras,
        )
        .await
        .map_err(|e| ("start_failed", e.to_string()))?;
        tracing::info!(trace_id = %request.trace_id, workflow_id = %started.workflow_id, workflow = %workflow, "workflow started over gRPC");
        let mut out = Map::new();
        out.insert("workflow_id".into(), json!(started.workflow_id));
        out.insert("run_id".into(), json!(started.run_id));
        out.insert("workflow_type".into(), json!(workflow));
        out.insert("status".into(), json!("started"));
        Ok(out)
    }

    async fn status(
        &self,
        claims: &Claims,
        p: &Map<String, Value>,
    ) -> Result<Map<String, Value>, (&'static str, String)> {
        claims.require(auth::READ).map_err(denied)?;
        claims.tenant(str_field(p, "tenant_id")).map_err(denied)?;
        let temporal = self.temporal()?;
        let id = str_field(p, "workflow_id")
            .ok_or(("validation", "payload.workflow_id is required".to_owned()))?;
        let not_found = || ("not_found", format!("no workflow {id}"));
        let status = starter::status(&temporal.client, id)
            .await
            .map_err(|_| not_found())?;
        // Tenants see only their own workflows; one without a tenant memo (started outside
        // this service) is visible to tokens for any tenant only if the token allows `*`.
        let owner = status.memo.get("tenant_id").map_or("", String::as_str);
        if claims.tenant(Some(owner)).is_err() {
            return Err(not_found());
        }
        if str_field(p, "run_id").is_some_and(|run| run != status.run_id) {
            return Err(not_found());
        }
        let mut out = Map::new();
        out.insert("workflow_id".into(), json!(status.workflow_id));
        out.insert("run_id".into(), json!(status.run_id));
        let mapped = match status.status.as_str() {
            "running" | "continued_as_new" => "running",
            "completed" => "completed",
            "failed" | "timed_out" => "failed",
            "cancelled" => "cancelled",
            "terminated" => "terminated",
            _ => "unknown",
        };
        out.insert("status".into(), json!(mapped));
        if let Some(result) = status.result {
            out.insert("result".into(), result);
        }
        if let Some(f) = status.failure {
            out.insert("error".into(), json!(f.message));
            out.insert("error_type".into(), json!(f.type_name));
        }
        Ok(out)
    }
}

fn denied(e: impl std::fmt::Display) -> (&'static str, String) {
    ("permission_denied", e.to_string())
}

fn answer(
    request: &ContextUnit,
    label: &str,
    started: Instant,
    result: Result<Map<String, Value>, (&'static str, String)>,
) -> RpcResult {
    let payload = result.unwrap_or_else(|(kind, message)| error_payload(kind, &message));
    Ok(Response::new(respond(request, label, started, &payload)))
}

#[tonic::async_trait]
impl WorkerService for Service {
    async fn start_workflow(&self, request: Request<ContextUnit>) -> RpcResult {
        let started = Instant::now();
        let (claims, unit, payload) = self.open(request)?;
        let result = self.start(&claims, &unit, &payload).await;
        answer(&unit, "worker:start_workflow", started, result)
    }

    async fn get_task_status(&self, request: Request<ContextUnit>) -> RpcResult {
        let started = Instant::now();
        let (claims, unit, payload) = self.open(request)?;
        let result = self.status(&claims, &payload).await;
        answer(&unit, "worker:get_task_status", started, result)
    }

    async fn execute_code(&self, request: Request<ContextUnit>) -> RpcResult {
        let started = Instant::now();
        let deadline = deadline(request.metadata());
        let (claims, unit, payload) = self.open(request)?;
        if let Err(e) = claims.require(auth::EXECUTE) {
            return answer(&unit, "worker:execute_code", started, Err(denied(e)));
        }
        // Code runs for no tenant in particular; a tenant it names must be the token's.
        if let Some(Err(e)) = str_field(&payload, "tenant_id").map(|t| claims.tenant(Some(t))) {
            return answer(&unit, "worker:execute_code", started, Err(denied(e)));
        }
        let cancel = CancellationToken::new();
        let _guard = CancelOnDrop(cancel.clone());
        let result = match self.executor.execute(&payload, deadline, cancel).await {
            ExecOutcome::Done(out) => Ok(out),
            ExecOutcome::Refused {
                error_type,
                message,
            } => Err((error_type, message)),
            ExecOutcome::Busy => {
                return Err(Status::resource_exhausted(format!(
                    "all {} ExecuteCode slots are busy; retry shortly",
                    self.executor.caps().max_concurrent
                )));
            }
        };
        tracing::info!(trace_id = %unit.trace_id, ok = result.as_ref().is_ok_and(|o| !o.contains_key("error")), "ExecuteCode");
        answer(&unit, "worker:execute_code", started, result)
    }
}
