//! Starting workflows and reading their outcome: what `harvest`, `import` and
//! `workflow status` do, and what the gRPC service will do next.

use std::time::Duration;

use serde::Serialize;
use temporalio_client::errors::{WorkflowGetResultError, WorkflowStartError};
use temporalio_client::{
    Client, UntypedWorkflow, WorkflowExecutionStatus, WorkflowGetResultOptions,
    WorkflowIdConflictPolicy, WorkflowIdReusePolicy, WorkflowStartOptions,
};
use temporalio_common::MemoValues;
use temporalio_common::data_converters::RawValue;
use temporalio_common::error::IncomingError;

use crate::args::{decode, json_payload};
use crate::ids;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("starting {workflow} ({id}): {reason}")]
    Start {
        workflow: String,
        id: String,
        reason: String,
    },
    #[error("workflow {id}: {reason}")]
    Query { id: String, reason: String },
    #[error("{workflow} {id} is already running (run {run_id}); wait for it or cancel it")]
    AlreadyRunning {
        workflow: String,
        id: String,
        run_id: String,
    },
}

/// A started workflow.
#[derive(Debug, Clone, Serialize)]
pub struct Started {
    pub workflow_id: String,
    pub run_id: String,
    pub workflow_type: String,
    pub task_queue: String,
}

/// Start `workflow` with positional JSON `args`, recording `extras` in its memo, in a
/// `workflow.start` span whose W3C trace context the memo carries too, so the workers that run
/// the workflow's activities continue the caller's trace.
pub async fn start(
    client: &Client,
    workflow: &str,
    args: &[serde_json::Value],
    workflow_id: &str,
    task_queue: &str,
    extras: &StartExtras,
) -> Result<Started, StartError> {
    let span = tracing::info_span!(
        "workflow.start",
        otel.kind = "client",
        otel.status_code = tracing::field::Empty,
        workflow = %workflow.escape_debug(),
        workflow_id = %workflow_id.escape_debug(),
        task_queue = %task_queue.escape_debug(),
        run_id = tracing::field::Empty,
    );
    let result = tracing::Instrument::instrument(
        async {
            let started = |run_id: String| Started {
                workflow_id: workflow_id.to_owned(),
                run_id,
                workflow_type: workflow.to_owned(),
                task_queue: task_queue.to_owned(),
            };
            // A retried request whose run already closed: that run, not a new one, as long as it is
            // the latest under this id.
            if let (Reuse::Exclusive, Some(request)) = (extras.reuse, extras.request_id.as_deref())
                && let Ok(existing) = describe(client, workflow_id).await
                && existing.memo.get(ids::MEMO_REQUEST).map(String::as_str) == Some(request)
            {
                return Ok(started(existing.run_id));
            }
            let input = RawValue::new(args.iter().map(json_payload).collect());
            let mut memo = MemoValues::new();
            memo.insert(
                ids::MEMO_TENANT.to_owned(),
                serde_json::json!(extras.tenant),
            );
            if let Some(trace) = extras.trace_id.as_deref().filter(|t| !t.is_empty()) {
                memo.insert(crate::TRACE_ID.to_owned(), serde_json::json!(trace));
            }
            if let Some(request) = &extras.request_id {
                memo.insert(ids::MEMO_REQUEST.to_owned(), serde_json::json!(request));
            }
            if let Some(unit) = &extras.unit_id {
                memo.insert(ids::MEMO_UNIT.to_owned(), serde_json::json!(unit));
            }
            if let Some(parent) = contextworker_telemetry::current_traceparent() {
                memo.insert(ids::MEMO_TRACEPARENT.to_owned(), serde_json::json!(parent));
            }
            let mut options = WorkflowStartOptions::new(task_queue, workflow_id)
                .execution_timeout(Duration::from_secs(24 * 3600))
                .memo(memo)
                .build();
            match extras.reuse {
                Reuse::Exclusive => {
                    options.id_conflict_policy = WorkflowIdConflictPolicy::Fail;
                    options.id_reuse_policy = WorkflowIdReusePolicy::AllowDuplicate;
                }
                Reuse::Request => {
                    options.id_conflict_policy = WorkflowIdConflictPolicy::UseExisting;
                    options.id_reuse_policy = WorkflowIdReusePolicy::RejectDuplicate;
                }
            }
            match client
                .start_workflow(UntypedWorkflow::new(workflow), input, options)
                .await
            {
                Ok(handle) => {
                    let info = handle.info();
                    Ok(started(
                        info.run_id
                            .clone()
                            .or_else(|| info.first_execution_run_id.clone())
                            .unwrap_or_default(),
                    ))
                }
                Err(WorkflowStartError::AlreadyStarted { .. }) => {
                    let existing = describe(client, workflow_id).await?;
                    let same_request = extras.request_id.is_some()
                        && existing.memo.get(ids::MEMO_REQUEST) == extras.request_id.as_ref();
                    match extras.reuse {
                        // A closed run with this request's id: the earlier start of the same request.
                        Reuse::Request => Ok(started(existing.run_id)),
                        Reuse::Exclusive if same_request => Ok(started(existing.run_id)),
                        Reuse::Exclusive => Err(StartError::AlreadyRunning {
                            workflow: workflow.to_owned(),
                            id: workflow_id.to_owned(),
                            run_id: existing.run_id,
                        }),
                    }
                }
                Err(e) => Err(StartError::Start {
                    workflow: workflow.to_owned(),
                    id: workflow_id.to_owned(),
                    reason: contextworker_types::error_chain(&e),
                }),
            }
        },
        span.clone(),
    )
    .await;
    match &result {
        Ok(started) => span.record("run_id", started.run_id.as_str()),
        Err(_) => span.record("otel.status_code", "error"),
    };
    result
}

/// What a start records and how it treats an id already in use.
#[derive(Debug, Clone)]
pub struct StartExtras {
    /// The tenant the workflow acts for (memo `tenant_id`): every workflow this host starts
    /// carries one, so status reads can be scoped to it.
    pub tenant: String,
    /// The caller's trace id, carried into the activities' log lines.
    pub trace_id: Option<String>,
    /// The caller's `ContextUnit` id (memo `unit_id`), carried the same way.
    pub unit_id: Option<String>,
    /// The client's request id (memo `request_id`).
    pub request_id: Option<String>,
    pub reuse: Reuse,
}

impl StartExtras {
    /// A start for `tenant` with no trace or request id, one run at a time per id.
    pub fn exclusive(tenant: &str) -> Self {
        Self {
            tenant: tenant.to_owned(),
            trace_id: None,
            unit_id: None,
            request_id: None,
            reuse: Reuse::Exclusive,
        }
    }
}

/// How a start treats a workflow id that is already in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reuse {
    /// The id is a lock (one harvest per catalog): refused while a run is open, unless that
    /// run was started by the same request id; free again once it closes.
    Exclusive,
    /// The id names one request: a repeated start returns its run, open or closed.
    Request,
}

/// How a workflow ended, or that it has not.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    pub workflow_id: String,
    pub run_id: String,
    pub workflow_type: String,
    /// `running`, `completed`, `failed`, `cancelled`, `terminated`, `timed_out`,
    /// `continued_as_new`.
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<FailureSummary>,
    /// The memo's string fields (`tenant_id`, `trace_id` for workflows started over gRPC).
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub memo: std::collections::BTreeMap<String, String>,
}

/// The failure chain of a failed workflow, outermost first; `type_name` of the root cause is
/// what callers match on (e.g. `InvalidFeed`).
#[derive(Debug, Clone, Serialize)]
pub struct FailureSummary {
    pub message: String,
    pub type_name: Option<String>,
    pub non_retryable: bool,
    pub chain: Vec<String>,
}

impl FailureSummary {
    fn from_error(e: &IncomingError) -> Self {
        let mut chain = Vec::new();
        let (mut type_name, mut non_retryable) = (None, false);
        let mut current = Some(e);
        while let Some(err) = current {
            let failure = err.failure();
            let label = match err {
                IncomingError::Application(app) => {
                    if let Some(t) = app.type_name() {
                        type_name = Some(t.to_owned());
                        non_retryable = app.is_non_retryable();
                    }
                    format!(
                        "{}: {}",
                        app.type_name().unwrap_or("ApplicationError"),
                        failure.message
                    )
                }
                _ => failure.message.clone(),
            };
            chain.push(label);
            current = err.cause();
        }
        Self {
            message: chain.last().cloned().unwrap_or_default(),
            type_name,
            non_retryable,
            chain,
        }
    }
}

fn status_name(status: WorkflowExecutionStatus) -> &'static str {
    match status {
        WorkflowExecutionStatus::Running => "running",
        WorkflowExecutionStatus::Completed => "completed",
        WorkflowExecutionStatus::Failed => "failed",
        WorkflowExecutionStatus::Canceled => "cancelled",
        WorkflowExecutionStatus::Terminated => "terminated",
        WorkflowExecutionStatus::ContinuedAsNew => "continued_as_new",
        WorkflowExecutionStatus::TimedOut => "timed_out",
        _ => "unknown",
    }
}

/// Describe workflow `id` (its latest run); for a closed run, include its result or failure.
pub async fn status(client: &Client, id: &str) -> Result<Status, StartError> {
    let mut out = describe(client, id).await?;
    if out.status != "running" {
        let handle = client.get_workflow_handle::<UntypedWorkflow>(id);
        let result = handle.get_result(WorkflowGetResultOptions::default()).await;
        fill_outcome(id, &mut out, result)?;
    }
    Ok(out)
}

/// Wait for workflow `id` to close and report how.
pub async fn wait(client: &Client, id: &str) -> Result<Status, StartError> {
    let handle = client.get_workflow_handle::<UntypedWorkflow>(id);
    let result = handle.get_result(WorkflowGetResultOptions::default()).await;
    // Describing after the wait gives the final run's identity; the result is the one waited
    // for, not fetched a second time.
    let mut out = describe(client, id).await?;
    fill_outcome(id, &mut out, result)?;
    Ok(out)
}

/// The workflow's identity, status and memo, without its outcome.
pub(crate) async fn describe(client: &Client, id: &str) -> Result<Status, StartError> {
    let query = |e: &dyn std::error::Error| StartError::Query {
        id: id.to_owned(),
        reason: contextworker_types::error_chain(e),
    };
    let handle = client.get_workflow_handle::<UntypedWorkflow>(id);
    let description = handle
        .describe(Default::default())
        .await
        .map_err(|e| query(&e))?;
    let mut out = Status {
        workflow_id: description.id().to_owned(),
        run_id: description.run_id().to_owned(),
        workflow_type: description.workflow_type().to_owned(),
        status: status_name(description.status()).to_owned(),
        result: None,
        failure: None,
        memo: Default::default(),
    };
    let memo = description.memo();
    for key in memo.keys().map(str::to_owned).collect::<Vec<_>>() {
        if let Ok(Some(value)) = memo.get::<String>(&key) {
            out.memo.insert(key, value);
        }
    }
    Ok(out)
}

fn fill_outcome(
    id: &str,
    out: &mut Status,
    result: Result<RawValue, WorkflowGetResultError>,
) -> Result<(), StartError> {
    match result {
        Ok(raw) => {
            out.result = decode(&raw)
                .ok()
                .and_then(|mut v| (!v.is_empty()).then(|| v.remove(0)));
        }
        Err(WorkflowGetResultError::Failed(e)) => {
            out.failure = Some(FailureSummary::from_error(&e));
        }
        Err(WorkflowGetResultError::NotFound(e)) => {
            return Err(StartError::Query {
                id: id.to_owned(),
                reason: e.message().to_owned(),
            });
        }
        Err(_) => {}
    }
    Ok(())
}
