//! `contextunity.worker.WorkerService`: each RPC reads its payload, acts, and answers with a
//! `ContextUnit` (errors as `{error, error_type}` in the payload, gRPC statuses only where the
//! RPC cannot answer at all). Authentication happens before any of this, in
//! [`Authenticator`], so an unauthenticated request never has its body decoded.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use contextworker_auth::{self as auth, Claims};
use contextworker_runtime::CancellationToken;
use contextworker_temporal::Client;
use contextworker_temporal::ids;
use contextworker_temporal::schedules::{self, Owner, ScheduleError};
use contextworker_temporal::starter;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use serde_json::{Map, Value, json};
use tonic::{Request, Status};
use tracing::{Instrument as _, Span};

use crate::answer::{Answer, Rpc, RpcResult};
use crate::exec::{ExecOutcome, Executor};
use crate::pb::core::ContextUnit;
use crate::pb::worker::worker_service_server::WorkerService;
use crate::start::StartPolicy;

/// The Temporal side the service starts and reads workflows with.
#[derive(Clone)]
pub struct TemporalSide {
    pub client: Client,
}

/// Calls per token: StartWorkflow and ExecuteCode each have a bucket per token id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    pub per_second: u32,
    pub burst: u32,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            per_second: 20,
            burst: 40,
        }
    }
}

/// Schedules a tenant may hold through RegisterSchedules unless configured.
pub const DEFAULT_SCHEDULES_PER_TENANT: usize = 100;

pub struct Service {
    temporal: Option<TemporalSide>,
    executor: Arc<Executor>,
    policy: StartPolicy,
    start_limit: DefaultKeyedRateLimiter<String>,
    exec_limit: DefaultKeyedRateLimiter<String>,
    /// Schedules one tenant may hold through RegisterSchedules.
    schedules_per_tenant: usize,
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service")
            .field("temporal", &self.temporal.is_some())
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

/// The longest unit id carried into a workflow's memo (a UUID is 36 bytes).
const MAX_UNIT_ID: usize = 128;

/// The `grpc-timeout` header (`<n><unit>`), if the client set a deadline.
fn deadline(metadata: &tonic::metadata::MetadataMap) -> Option<Duration> {
    let v = metadata.get("grpc-timeout")?.to_str().ok()?;
    let (n, unit) = v.split_at(v.len().checked_sub(1)?);
    let n: u64 = n.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(n.saturating_mul(3600)),
        "M" => Duration::from_secs(n.saturating_mul(60)),
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

fn limiter(limits: RateLimits) -> DefaultKeyedRateLimiter<String> {
    let per_second = NonZeroU32::new(limits.per_second.max(1)).unwrap_or(NonZeroU32::MIN);
    let burst = NonZeroU32::new(limits.burst.max(1)).unwrap_or(NonZeroU32::MIN);
    RateLimiter::keyed(Quota::per_second(per_second).allow_burst(burst))
}

impl Service {
    pub fn new(
        temporal: Option<TemporalSide>,
        executor: Arc<Executor>,
        policy: StartPolicy,
        rate: RateLimits,
    ) -> Self {
        Self {
            temporal,
            executor,
            policy,
            start_limit: limiter(rate),
            exec_limit: limiter(rate),
            schedules_per_tenant: DEFAULT_SCHEDULES_PER_TENANT,
        }
    }

    /// At most `n` schedules per tenant through RegisterSchedules (default 100).
    #[must_use]
    pub fn schedules_per_tenant(mut self, n: usize) -> Self {
        self.schedules_per_tenant = n;
        self
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
    ) -> Answer {
        let mut plan = self
            .policy
            .plan(claims, p, &request.trace_id)
            .map_err(|r| (r.error_type, r.message))?;
        // The request's unit id goes with the workflow to its activities' log lines; an id
        // longer than any UUID is the caller's noise, not worth a memo.
        plan.extras.unit_id =
            Some(request.unit_id.clone()).filter(|u| !u.is_empty() && u.len() <= MAX_UNIT_ID);
        let temporal = self.temporal()?;
        let started = starter::start(
            &temporal.client,
            &plan.workflow,
            &plan.args,
            &plan.workflow_id,
            &plan.queue,
            &plan.extras,
        )
        .await
        .map_err(|e| match e {
            starter::StartError::AlreadyRunning { .. } => ("already_running", e.to_string()),
            other => ("start_failed", other.to_string()),
        })?;
        tracing::info!(
            tenant = %plan.extras.tenant,
            workflow_id = %started.workflow_id.escape_debug(),
            workflow = %plan.workflow.escape_debug(),
            "workflow started over gRPC"
        );
        let mut out = Map::new();
        out.insert("workflow_id".into(), json!(started.workflow_id));
        out.insert("run_id".into(), json!(started.run_id));
        out.insert("workflow_type".into(), json!(plan.workflow));
        out.insert("status".into(), json!("started"));
        Ok(out)
    }

    async fn status(&self, claims: &Claims, p: &Map<String, Value>) -> Answer {
        claims.require(auth::READ).map_err(denied)?;
        claims.tenant(str_field(p, "tenant_id")).map_err(denied)?;
        let temporal = self.temporal()?;
        let id = str_field(p, "workflow_id")
            .ok_or(("validation", "payload.workflow_id is required".to_owned()))?;
        // One answer for "does not exist" and "is not yours", so ids of other tenants' runs
        // cannot be probed.
        let not_found = || ("not_found", format!("no workflow {id:?}"));
        let status = starter::status(&temporal.client, id)
            .await
            .map_err(|_| not_found())?;
        // A workflow without a tenant (started by another Temporal client) belongs to no
        // tenant: only an admin's token reads it.
        let owner = status.memo.get(ids::MEMO_TENANT).map_or("", String::as_str);
        if !(claims.allows_tenant(owner) || claims.is_admin()) {
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

impl Service {
    /// RegisterSchedules: create each schedule; one this tenant registered before is updated
    /// to what is asked now. A schedule made any other way under the same id is left alone
    /// and reported.
    async fn register(&self, claims: &Claims, p: &Map<String, Value>) -> Answer {
        let (tenant, definitions) = crate::schedules::plan(&self.policy, claims, p)
            .map_err(|r| (r.error_type, r.message))?;
        let temporal = self.temporal()?;
        let client = &temporal.client;
        // Schedules outlive the request: a tenant's count is bounded, counted from a listing
        // (which can trail the newest creates by a moment).
        let held: std::collections::BTreeSet<String> = schedules::list(client)
            .await
            .map_err(|e| ("unavailable", e.to_string()))?
            .into_iter()
            .filter(|v| {
                v.tenant.as_deref() == Some(tenant.as_str())
                    && v.managed_by.as_deref() == Some(Owner::Rpc.as_str())
            })
            .map(|v| v.id)
            .collect();
        let new = definitions.iter().filter(|d| !held.contains(&d.id)).count();
        if held.len() + new > self.schedules_per_tenant {
            return Err((
                "limit",
                format!(
                    "tenant {tenant} holds {} schedules; {new} more would pass its limit of {}",
                    held.len(),
                    self.schedules_per_tenant
                ),
            ));
        }
        let (mut registered, mut failed) = (Vec::new(), Vec::new());
        for def in &definitions {
            let result = match schedules::create(client, def, false, "").await {
                Err(ScheduleError::AlreadyExists { .. }) => {
                    match schedules::describe(client, &def.id).await {
                        Ok(view)
                            if view.managed_by.as_deref() == Some(Owner::Rpc.as_str())
                                && view.tenant.as_deref() == Some(tenant.as_str()) =>
                        {
                            schedules::update(client, def).await
                        }
                        Ok(_) => Err(ScheduleError::AlreadyExists { id: def.id.clone() }),
                        Err(e) => Err(e),
                    }
                }
                other => other,
            };
            match result {
                Ok(()) => registered.push(def.id.clone()),
                Err(e) => failed.push(json!({"schedule_id": def.id, "error": e.to_string()})),
            }
        }
        tracing::info!(
            tenant = %tenant,
            registered = registered.len(),
            failed = failed.len(),
            "schedules registered over gRPC"
        );
        let mut out = Map::new();
        let status = if failed.is_empty() { "ok" } else { "partial" };
        out.insert("status".into(), json!(status));
        out.insert("registered_count".into(), json!(registered.len()));
        out.insert("schedules".into(), json!(registered));
        out.insert("failed".into(), json!(failed));
        Ok(out)
    }
}

fn denied(e: impl std::fmt::Display) -> (&'static str, String) {
    ("permission_denied", e.to_string())
}

#[tonic::async_trait]
impl WorkerService for Service {
    async fn start_workflow(&self, request: Request<ContextUnit>) -> RpcResult {
        let rpc = Rpc::open("worker:start_workflow", request)?;
        rpc.limit(&self.start_limit)?;
        let span = rpc.span();
        let work = self.start(&rpc.claims, &rpc.unit, &rpc.payload);
        let result = work.instrument(span.clone()).await;
        rpc.answer(&span, result)
    }

    async fn get_task_status(&self, request: Request<ContextUnit>) -> RpcResult {
        let rpc = Rpc::open("worker:get_task_status", request)?;
        let span = rpc.span();
        let work = self.status(&rpc.claims, &rpc.payload);
        let result = work.instrument(span.clone()).await;
        rpc.answer(&span, result)
    }

    async fn register_schedules(&self, request: Request<ContextUnit>) -> RpcResult {
        let rpc = Rpc::open("worker:register_schedules", request)?;
        rpc.limit(&self.start_limit)?;
        let span = rpc.span();
        let work = self.register(&rpc.claims, &rpc.payload);
        let result = work.instrument(span.clone()).await;
        rpc.answer(&span, result)
    }

    async fn execute_code(&self, request: Request<ContextUnit>) -> RpcResult {
        let deadline = deadline(request.metadata());
        let rpc = Rpc::open("worker:execute_code", request)?;
        if let Err(e) = rpc.claims.require(auth::EXECUTE) {
            return rpc.answer(&Span::none(), Err(denied(e)));
        }
        // Code runs for no tenant in particular; a tenant it names must be the token's.
        let named = str_field(&rpc.payload, "tenant_id");
        if let Some(Err(e)) = named.map(|t| rpc.claims.tenant(Some(t))) {
            return rpc.answer(&Span::none(), Err(denied(e)));
        }
        rpc.limit(&self.exec_limit)?;
        let cancel = CancellationToken::new();
        let _guard = CancelOnDrop(cancel.clone());
        let span = rpc.span();
        let run = self
            .executor
            .execute(&rpc.payload, deadline, cancel)
            .instrument(span.clone());
        let result = match run.await {
            ExecOutcome::Done(out) => Ok(out),
            ExecOutcome::Refused {
                error_type,
                message,
            } => Err((error_type, message)),
            ExecOutcome::Busy => {
                let status = Status::resource_exhausted(format!(
                    "all {} ExecuteCode slots are busy; retry shortly",
                    self.executor.caps().max_concurrent
                ));
                return Err(rpc.refuse(status));
            }
        };
        tracing::info!(trace_id = ?rpc.unit.trace_id, ok = result.as_ref().is_ok_and(|o| !o.contains_key("error")), "ExecuteCode");
        rpc.answer(&span, result)
    }
}
