//! Carrying a caller's trace id and the tenant from the workflow to its activities' log lines.
//!
//! The gRPC service records the request's `trace_id` and `unit_id` in the workflow's memo, and
//! every start records its tenant (`tenant_id`); this interceptor copies them into headers of the same
//! names on every activity the workflow schedules, and the activity dispatcher puts them on its
//! span. A header a caller set itself (a Python workflow's interceptor, say) is left as it is.
//! Both are labels for logs and traces only: what an activity does for a tenant is decided by
//! its checked input, never by a header.

use temporalio_common::protos::temporal::api::common::v1::Payload;
use temporalio_sdk::workflow_interceptors::{
    CancellableWorkflowOutboundFuture, ScheduleActivityInput, ScheduleActivityResult,
    WorkflowInterceptor, WorkflowInterceptorConstructor, WorkflowInterceptorContext, WorkflowNext,
};

pub use contextworker_temporal::TRACE_ID;
use contextworker_temporal::args::json_payload;
use contextworker_temporal::ids::{MEMO_TENANT, MEMO_UNIT};

struct TraceIdToActivities {
    trace: Option<Payload>,
    unit: Option<Payload>,
    tenant: Option<Payload>,
}

impl WorkflowInterceptor for TraceIdToActivities {
    fn schedule_activity(
        &self,
        _ctx: WorkflowInterceptorContext,
        mut input: ScheduleActivityInput,
        next: WorkflowNext<
            'static,
            ScheduleActivityInput,
            CancellableWorkflowOutboundFuture<ScheduleActivityResult>,
        >,
    ) -> CancellableWorkflowOutboundFuture<ScheduleActivityResult> {
        for (key, value) in [
            (TRACE_ID, &self.trace),
            (MEMO_UNIT, &self.unit),
            (MEMO_TENANT, &self.tenant),
        ] {
            if let Some(value) = value {
                input
                    .headers_mut()
                    .entry(key.to_owned())
                    .or_insert_with(|| value.clone());
            }
        }
        next.run(input)
    }
}

pub fn interceptor() -> WorkflowInterceptorConstructor {
    WorkflowInterceptorConstructor::new(|view| {
        let memo = |key| {
            view.memo()
                .get::<String>(key)
                .ok()
                .flatten()
                .filter(|t| !t.is_empty())
                .as_ref()
                .map(json_payload)
        };
        TraceIdToActivities {
            trace: memo(TRACE_ID),
            unit: memo(MEMO_UNIT),
            tenant: memo(MEMO_TENANT),
        }
    })
}

/// The trace id an activity was scheduled with, if any.
pub fn from_headers(headers: &std::collections::HashMap<String, Payload>) -> Option<String> {
    string_header(headers, TRACE_ID)
}

/// The `ContextUnit` id of the request that started the workflow, if it came over gRPC.
pub fn unit_from_headers(headers: &std::collections::HashMap<String, Payload>) -> Option<String> {
    string_header(headers, MEMO_UNIT)
}

/// The tenant of the workflow that scheduled an activity, if its start recorded one.
pub fn tenant_from_headers(headers: &std::collections::HashMap<String, Payload>) -> Option<String> {
    string_header(headers, MEMO_TENANT)
}

fn string_header(
    headers: &std::collections::HashMap<String, Payload>,
    key: &str,
) -> Option<String> {
    headers
        .get(key)
        .and_then(|p| serde_json::from_slice::<String>(&p.data).ok())
}
