//! Temporal schedules: creating them as this host defines them, and reading any schedule back
//! as one [`ScheduleView`] for people (`schedules list`, `describe`) and tools (`--json`).
//!
//! Create, update, describe and list go through the raw gRPC calls: the SDK's builder cannot
//! set a memo, and a schedule needs two. The schedule's memo says who owns it (`managed_by`:
//! `sync`, `cli` or `rpc`) and for which tenant; the memo of the workflow each run starts
//! carries the tenant (so status reads stay scoped to it) and the [`Definition::fingerprint`]
//! of what was asked for. The server rewrites cron strings into calendars and refuses to
//! update a schedule's own memo, so the fingerprint in the action is how `sync` tells an
//! unchanged schedule from a changed one.

use std::time::{Duration, SystemTime};

use contextworker_types::{Digest, Overlap, ScheduleSpec, TenantId, Timing};
use serde::Serialize;
use temporalio_client::grpc::WorkflowService;
use temporalio_client::schedules::{
    BackfillScheduleOptions, DeleteScheduleOptions, PauseScheduleOptions, ScheduleBackfill,
    ScheduleError as SdkError, ScheduleOverlapPolicy, TriggerScheduleOptions,
    UnpauseScheduleOptions,
};
use temporalio_client::tonic::{Code, IntoRequest};
use temporalio_client::{Client, NamespacedClient};
use temporalio_common::protos::temporal::api::common::v1::{Memo, Payloads, WorkflowType};
use temporalio_common::protos::temporal::api::schedule::v1 as proto;
use temporalio_common::protos::temporal::api::taskqueue::v1::TaskQueue;
use temporalio_common::protos::temporal::api::workflow::v1::NewWorkflowExecutionInfo;
use temporalio_common::protos::temporal::api::workflowservice::v1::{
    CreateScheduleRequest, DescribeScheduleRequest, DescribeScheduleResponse, ListSchedulesRequest,
    UpdateScheduleRequest,
};

pub mod sync;
mod view;

pub use view::{RunView, ScheduleView};

use crate::args::json_payload;
use crate::ids;

/// Schedule memo: who made the schedule, and so who may change it.
pub const MEMO_MANAGED_BY: &str = "managed_by";
/// Action memo: the fingerprint of the definition the schedule was made from.
pub const MEMO_DEFINITION: &str = "schedule_definition";
/// Action memo: the schedule a run was started by.
pub const MEMO_SCHEDULE: &str = "schedule_id";

/// How long one scheduled run may take, as for runs started by hand.
const RUN_TIMEOUT: Duration = Duration::from_secs(24 * 3600);
/// Most schedules `list` reads (a page is 100).
const LIST_LIMIT: usize = 10_000;

#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    #[error("no schedule {id}")]
    NotFound { id: String },
    #[error("schedule {id} already exists")]
    AlreadyExists { id: String },
    #[error("the server refused schedule {id}: {reason}")]
    Invalid { id: String, reason: String },
    #[error("schedule {id}: {reason}")]
    Server { id: String, reason: String },
}

impl ScheduleError {
    fn from_status(id: &str, status: &temporalio_client::tonic::Status) -> Self {
        let id = id.to_owned();
        match status.code() {
            Code::NotFound => Self::NotFound { id },
            Code::AlreadyExists => Self::AlreadyExists { id },
            Code::InvalidArgument => Self::Invalid {
                id,
                reason: status.message().to_owned(),
            },
            _ => Self::Server {
                id,
                reason: format!("{:?}: {}", status.code(), status.message()),
            },
        }
    }

    fn from_sdk(id: &str, e: &SdkError) -> Self {
        match e {
            SdkError::Rpc(status) => Self::from_status(id, status),
            other => Self::Server {
                id: id.to_owned(),
                reason: other.to_string(),
            },
        }
    }
}

/// Who made a schedule. `sync` changes and deletes only its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Owner {
    /// `schedules sync`, from supplier files and the host config.
    Sync,
    /// `schedules create` by hand.
    Cli,
    /// The `RegisterSchedules` RPC.
    Rpc,
}

impl Owner {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sync => "sync",
            Self::Cli => "cli",
            Self::Rpc => "rpc",
        }
    }
}

/// A schedule as this host makes it: one workflow for one tenant, on one timing.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Definition {
    /// `<tenant>:<name>` ([`ids::schedule`]).
    pub id: String,
    pub tenant: TenantId,
    pub workflow: String,
    pub args: Vec<serde_json::Value>,
    pub task_queue: String,
    /// Each run's workflow id is this with the scheduled time appended by the server.
    pub workflow_id: String,
    pub spec: ScheduleSpec,
    pub overlap: Overlap,
    pub description: String,
    pub owner: Owner,
}

impl Definition {
    /// A digest of everything `update` would change: equal fingerprints, nothing to do.
    pub fn fingerprint(&self) -> String {
        let canonical = serde_json::json!([
            self.workflow,
            self.args,
            self.task_queue,
            self.workflow_id,
            self.spec,
            self.overlap,
            self.description,
            self.tenant,
        ]);
        Digest::of(canonical.to_string().as_bytes()).short()
    }

    fn schedule(&self, state: proto::ScheduleState) -> proto::Schedule {
        let memo = memo([
            (ids::MEMO_TENANT, self.tenant.as_str()),
            (MEMO_DEFINITION, &self.fingerprint()),
            (MEMO_SCHEDULE, &self.id),
        ]);
        let action = NewWorkflowExecutionInfo {
            workflow_id: self.workflow_id.clone(),
            workflow_type: Some(WorkflowType {
                name: self.workflow.clone(),
            }),
            task_queue: Some(TaskQueue {
                name: self.task_queue.clone(),
                ..Default::default()
            }),
            input: Some(Payloads {
                payloads: self.args.iter().map(json_payload).collect(),
            }),
            workflow_execution_timeout: RUN_TIMEOUT.try_into().ok(),
            memo: Some(memo),
            ..Default::default()
        };
        proto::Schedule {
            spec: Some(spec_proto(&self.spec)),
            action: Some(proto::ScheduleAction {
                action: Some(proto::schedule_action::Action::StartWorkflow(action)),
            }),
            policies: Some(proto::SchedulePolicies {
                overlap_policy: overlap_proto(self.overlap).to_proto_i32(),
                ..Default::default()
            }),
            state: Some(state),
        }
    }
}

fn memo<'a>(fields: impl IntoIterator<Item = (&'a str, &'a str)>) -> Memo {
    Memo {
        fields: fields
            .into_iter()
            .map(|(k, v)| (k.to_owned(), json_payload(&v)))
            .collect(),
    }
}

fn spec_proto(spec: &ScheduleSpec) -> proto::ScheduleSpec {
    let mut out = proto::ScheduleSpec {
        timezone_name: spec.timezone.clone().unwrap_or_default(),
        jitter: spec.jitter.and_then(|j| j.try_into().ok()),
        ..Default::default()
    };
    match &spec.timing {
        Timing::Cron(expr) => out.cron_string = vec![expr.clone()],
        Timing::Interval(every) => {
            out.interval = vec![proto::IntervalSpec {
                interval: (*every).try_into().ok(),
                phase: None,
            }];
        }
    }
    out
}

trait OverlapProto {
    fn to_proto_i32(self) -> i32;
}

impl OverlapProto for ScheduleOverlapPolicy {
    fn to_proto_i32(self) -> i32 {
        match self {
            Self::Skip => 1,
            Self::BufferOne => 2,
            Self::BufferAll => 3,
            Self::CancelOther => 4,
            Self::TerminateOther => 5,
            Self::AllowAll => 6,
            _ => 0,
        }
    }
}

fn overlap_proto(o: Overlap) -> ScheduleOverlapPolicy {
    match o {
        Overlap::Skip => ScheduleOverlapPolicy::Skip,
        Overlap::BufferOne => ScheduleOverlapPolicy::BufferOne,
        Overlap::BufferAll => ScheduleOverlapPolicy::BufferAll,
        Overlap::CancelOther => ScheduleOverlapPolicy::CancelOther,
        Overlap::TerminateOther => ScheduleOverlapPolicy::TerminateOther,
        Overlap::AllowAll => ScheduleOverlapPolicy::AllowAll,
    }
}

/// Create `def`, paused or not, with `note` as its state's note.
pub async fn create(
    client: &Client,
    def: &Definition,
    paused: bool,
    note: &str,
) -> Result<(), ScheduleError> {
    let request = CreateScheduleRequest {
        namespace: client.namespace(),
        schedule_id: def.id.clone(),
        schedule: Some(def.schedule(proto::ScheduleState {
            notes: note.to_owned(),
            paused,
            ..Default::default()
        })),
        memo: Some(memo([
            (MEMO_MANAGED_BY, def.owner.as_str()),
            (ids::MEMO_TENANT, def.tenant.as_str()),
        ])),
        identity: client.identity(),
        request_id: uuid::Uuid::new_v4().to_string(),
        ..Default::default()
    };
    WorkflowService::create_schedule(&mut client.clone(), request.into_request())
        .await
        .map(drop)
        .map_err(|s| ScheduleError::from_status(&def.id, &s))
}

/// Replace the schedule's timing, action and policies with `def`'s; its state (paused, note)
/// is kept, so an operator's pause survives.
pub async fn update(client: &Client, def: &Definition) -> Result<(), ScheduleError> {
    let current = describe_raw(client, &def.id).await?;
    let state = current.schedule.and_then(|s| s.state).unwrap_or_default();
    send_update(client, &def.id, def.schedule(state), current.conflict_token).await
}

/// Replace schedule `id` with `schedule`, if it is still the version `conflict_token` names.
async fn send_update(
    client: &Client,
    id: &str,
    schedule: proto::Schedule,
    conflict_token: Vec<u8>,
) -> Result<(), ScheduleError> {
    let request = UpdateScheduleRequest {
        namespace: client.namespace(),
        schedule_id: id.to_owned(),
        schedule: Some(schedule),
        conflict_token,
        identity: client.identity(),
        request_id: uuid::Uuid::new_v4().to_string(),
        ..Default::default()
    };
    WorkflowService::update_schedule(&mut client.clone(), request.into_request())
        .await
        .map(drop)
        .map_err(|s| ScheduleError::from_status(id, &s))
}

/// Change one part of a schedule made here, keeping the rest.
#[derive(Debug, Clone, Default)]
pub struct Changes {
    pub spec: Option<ScheduleSpec>,
    pub overlap: Option<Overlap>,
    pub args: Option<Vec<serde_json::Value>>,
    pub description: Option<String>,
}

/// Apply `changes` to schedule `id` (`schedules update`). Only schedules whose action this
/// host can read back (a workflow start) can be changed this way.
pub async fn change(client: &Client, id: &str, changes: Changes) -> Result<(), ScheduleError> {
    let current = describe_raw(client, id).await?;
    let conflict_token = current.conflict_token.clone();
    let mut schedule = current.schedule.unwrap_or_default();
    if let Some(spec) = &changes.spec {
        schedule.spec = Some(spec_proto(spec));
    }
    if let Some(overlap) = changes.overlap {
        schedule
            .policies
            .get_or_insert_with(Default::default)
            .overlap_policy = overlap_proto(overlap).to_proto_i32();
    }
    if let Some(Some(proto::schedule_action::Action::StartWorkflow(action))) =
        schedule.action.as_mut().map(|a| a.action.as_mut())
    {
        if let Some(args) = &changes.args {
            action.input = Some(Payloads {
                payloads: args.iter().map(json_payload).collect(),
            });
        }
        // A schedule changed by hand no longer matches the definition it was made from.
        if let Some(memo) = action.memo.as_mut() {
            memo.fields.remove(MEMO_DEFINITION);
        }
    }
    if let Some(description) = changes.description {
        schedule.state.get_or_insert_with(Default::default).notes = description;
    }
    send_update(client, id, schedule, conflict_token).await
}

async fn describe_raw(
    client: &Client,
    id: &str,
) -> Result<DescribeScheduleResponse, ScheduleError> {
    let request = DescribeScheduleRequest {
        namespace: client.namespace(),
        schedule_id: id.to_owned(),
    };
    WorkflowService::describe_schedule(&mut client.clone(), request.into_request())
        .await
        .map(temporalio_client::tonic::Response::into_inner)
        .map_err(|s| ScheduleError::from_status(id, &s))
}

/// Schedule `id` in full. The status of each recent run is read from the run itself: the
/// schedule's own record of it can still say `running` after the run has closed.
pub async fn describe(client: &Client, id: &str) -> Result<ScheduleView, ScheduleError> {
    let raw = describe_raw(client, id).await?;
    let mut view = ScheduleView::from_description(id, &raw);
    settle_runs(client, &mut view, usize::MAX).await;
    Ok(view)
}

/// Read the status of the last `last` recent runs the schedule records as running from the
/// runs themselves (a listing does not say which still run, so each is asked).
pub async fn settle_runs(client: &Client, view: &mut ScheduleView, last: usize) {
    let skip = view.recent_runs.len().saturating_sub(last);
    for run in view.recent_runs.iter_mut().skip(skip) {
        if run.status == "running"
            && !view.running.contains(&run.workflow_id)
            && let Ok(status) = crate::starter::describe(client, &run.workflow_id).await
        {
            run.status = status.status;
        }
    }
}

/// Every schedule in the namespace, sorted by id (at most [`LIST_LIMIT`]).
pub async fn list(client: &Client) -> Result<Vec<ScheduleView>, ScheduleError> {
    let mut out = Vec::new();
    let mut token = Vec::new();
    loop {
        let request = ListSchedulesRequest {
            namespace: client.namespace(),
            maximum_page_size: 100,
            next_page_token: token,
            query: String::new(),
        };
        let page = WorkflowService::list_schedules(&mut client.clone(), request.into_request())
            .await
            .map_err(|s| ScheduleError::from_status("(list)", &s))?
            .into_inner();
        out.extend(page.schedules.iter().map(ScheduleView::from_entry));
        if page.next_page_token.is_empty() || out.len() >= LIST_LIMIT {
            break;
        }
        token = page.next_page_token;
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(out)
}

pub async fn pause(client: &Client, id: &str, note: Option<&str>) -> Result<(), ScheduleError> {
    client
        .get_schedule_handle(id)
        .pause(note.map(str::to_owned), PauseScheduleOptions::default())
        .await
        .map_err(|e| ScheduleError::from_sdk(id, &e))
}

pub async fn unpause(client: &Client, id: &str, note: Option<&str>) -> Result<(), ScheduleError> {
    client
        .get_schedule_handle(id)
        .unpause(note.map(str::to_owned), UnpauseScheduleOptions::default())
        .await
        .map_err(|e| ScheduleError::from_sdk(id, &e))
}

/// Start a run now, `overlap` deciding what happens if one is running.
pub async fn trigger(client: &Client, id: &str, overlap: Overlap) -> Result<(), ScheduleError> {
    // The server accepts a trigger for a missing schedule without a word; say so instead.
    describe_raw(client, id).await?;
    client
        .get_schedule_handle(id)
        .trigger(overlap_proto(overlap), TriggerScheduleOptions::default())
        .await
        .map_err(|e| ScheduleError::from_sdk(id, &e))
}

/// Take the runs that would have started between `start` and `end`.
pub async fn backfill(
    client: &Client,
    id: &str,
    start: SystemTime,
    end: SystemTime,
    overlap: Overlap,
) -> Result<(), ScheduleError> {
    describe_raw(client, id).await?;
    let window = ScheduleBackfill::new(start, end)
        .overlap_policy(overlap_proto(overlap))
        .build();
    client
        .get_schedule_handle(id)
        .backfill([window], BackfillScheduleOptions::default())
        .await
        .map_err(|e| ScheduleError::from_sdk(id, &e))
}

pub async fn delete(client: &Client, id: &str) -> Result<(), ScheduleError> {
    client
        .get_schedule_handle(id)
        .delete(DeleteScheduleOptions::default())
        .await
        .map_err(|e| ScheduleError::from_sdk(id, &e))
}

#[cfg(test)]
mod tests;
