//! Carrying a caller's trace id from the workflow to its activities' log lines.
//!
//! The gRPC service records the request's `trace_id` in the workflow's memo; this interceptor
//! copies it into a `trace_id` header on every activity the workflow schedules, and the
//! activity dispatcher puts it on its span. A header a caller set itself (a Python workflow's
//! interceptor, say) is left as it is.

use temporalio_common::protos::temporal::api::common::v1::Payload;
use temporalio_sdk::workflow_interceptors::{
    CancellableWorkflowOutboundFuture, ScheduleActivityInput, ScheduleActivityResult,
    WorkflowInterceptor, WorkflowInterceptorConstructor, WorkflowInterceptorContext, WorkflowNext,
};

pub use contextworker_temporal::TRACE_ID;
use contextworker_temporal::args::json_payload;

struct TraceIdToActivities(Option<Payload>);

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
        if let Some(trace) = &self.0 {
            input
                .headers_mut()
                .entry(TRACE_ID.to_owned())
                .or_insert_with(|| trace.clone());
        }
        next.run(input)
    }
}

pub fn interceptor() -> WorkflowInterceptorConstructor {
    WorkflowInterceptorConstructor::new(|view| {
        let trace = view
            .memo()
            .get::<String>(TRACE_ID)
            .ok()
            .flatten()
            .filter(|t| !t.is_empty());
        TraceIdToActivities(trace.as_ref().map(json_payload))
    })
}

/// The trace id an activity was scheduled with, if any.
pub fn from_headers(headers: &std::collections::HashMap<String, Payload>) -> Option<String> {
    headers
        .get(TRACE_ID)
        .and_then(|p| serde_json::from_slice::<String>(&p.data).ok())
}
