//! Carrying a caller's trace and the tenant from the workflow to its activities' log lines and
//! spans, and on to the workflows it starts.
//!
//! The gRPC service records the request's `trace_id` and `unit_id` in the workflow's memo, and
//! every start records its tenant (`tenant_id`) and, when traces are exported, the W3C
//! `traceparent` of the span that started it. This interceptor copies them into headers of the
//! same names on every activity the workflow schedules and every child workflow it starts (a
//! child has no memo of ours: it reads them from its start headers instead), and the activity
//! dispatcher puts them on its span. A header a caller set itself (a Python workflow's
//! interceptor, say) is left as it is. All of them are labels for logs and traces only: what
//! an activity does for a tenant is decided by its checked input, never by a header.

use std::cell::RefCell;
use std::collections::HashMap;

use temporalio_common::protos::temporal::api::common::v1::Payload;
use temporalio_sdk::workflow_interceptors::{
    CancellableWorkflowOutboundFuture, ExecuteWorkflowInput, ExecuteWorkflowResult,
    ScheduleActivityInput, ScheduleActivityResult, StartChildWorkflowInput,
    StartChildWorkflowResult, WorkflowInterceptor, WorkflowInterceptorConstructor,
    WorkflowInterceptorContext, WorkflowInterceptorFuture, WorkflowNext,
};

pub use contextworker_temporal::TRACE_ID;
use contextworker_temporal::args::json_payload;
use contextworker_temporal::ids::{MEMO_TENANT, MEMO_TRACEPARENT, MEMO_UNIT};

/// What travels, by memo field and header name.
const CARRIED: [&str; 4] = [TRACE_ID, MEMO_UNIT, MEMO_TENANT, MEMO_TRACEPARENT];
/// A header value longer than this is not one of ours, whoever wrote it.
const MAX_CARRIED: usize = 1024;

struct CarryToActivities {
    /// From the memo at construction; a child's gaps are filled from its start headers.
    carried: RefCell<HashMap<&'static str, Payload>>,
}

impl CarryToActivities {
    fn stamp(&self, headers: &mut HashMap<String, Payload>) {
        for (key, value) in self.carried.borrow().iter() {
            headers
                .entry((*key).to_owned())
                .or_insert_with(|| value.clone());
        }
    }
}

impl WorkflowInterceptor for CarryToActivities {
    fn execute<'a>(
        &'a self,
        _ctx: WorkflowInterceptorContext,
        input: ExecuteWorkflowInput,
        next: WorkflowNext<
            'a,
            ExecuteWorkflowInput,
            WorkflowInterceptorFuture<'a, ExecuteWorkflowResult>,
        >,
    ) -> WorkflowInterceptorFuture<'a, ExecuteWorkflowResult> {
        {
            let mut carried = self.carried.borrow_mut();
            for key in CARRIED {
                if !carried.contains_key(key)
                    && let Some(value) = self::carried(input.headers(), key)
                {
                    carried.insert(key, json_payload(&value));
                }
            }
        }
        next.run(input)
    }

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
        self.stamp(input.headers_mut());
        next.run(input)
    }

    fn start_child_workflow(
        &self,
        _ctx: WorkflowInterceptorContext,
        mut input: StartChildWorkflowInput,
        next: WorkflowNext<
            'static,
            StartChildWorkflowInput,
            CancellableWorkflowOutboundFuture<StartChildWorkflowResult>,
        >,
    ) -> CancellableWorkflowOutboundFuture<StartChildWorkflowResult> {
        self.stamp(input.headers_mut());
        next.run(input)
    }
}

pub fn interceptor() -> WorkflowInterceptorConstructor {
    WorkflowInterceptorConstructor::new(|view| {
        let memo = view.memo();
        let carried = CARRIED
            .into_iter()
            .filter_map(|key| {
                let value = memo.get::<String>(key).ok().flatten()?;
                usable(&value).then(|| (key, json_payload(&value)))
            })
            .collect();
        CarryToActivities {
            carried: RefCell::new(carried),
        }
    })
}

/// One of the [`CARRIED`] values a workflow's activity or child was started with (`key`:
/// `trace_id`, `unit_id`, `tenant_id` or `traceparent`), if it carries a usable one.
pub fn carried(headers: &HashMap<String, Payload>, key: &str) -> Option<String> {
    headers
        .get(key)
        .filter(|p| p.data.len() <= MAX_CARRIED + 2)
        .and_then(|p| serde_json::from_slice::<String>(&p.data).ok())
        .filter(|v| usable(v))
}

fn usable(value: &str) -> bool {
    !value.is_empty() && value.len() <= MAX_CARRIED
}
