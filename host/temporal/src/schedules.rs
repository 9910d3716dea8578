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

use contextworker_types::{Digest, Overlap, ScheduleSpec, TenantId, Timing, format_duration};
use serde::Serialize;
use temporalio_client::grpc::WorkflowService;
use temporalio_client::schedules::{
    BackfillScheduleOptions, DeleteScheduleOptions, PauseScheduleOptions, ScheduleBackfill,
    ScheduleError as SdkError, ScheduleOverlapPolicy, TriggerScheduleOptions,
    UnpauseScheduleOptions,
};
use temporalio_client::tonic::{Code, IntoRequest};
use temporalio_client::{Client, NamespacedClient};
use temporalio_common::protos::temporal::api::common::v1::{Memo, Payload, Payloads, WorkflowType};
use temporalio_common::protos::temporal::api::schedule::v1 as proto;
use temporalio_common::protos::temporal::api::taskqueue::v1::TaskQueue;
use temporalio_common::protos::temporal::api::workflow::v1::NewWorkflowExecutionInfo;
use temporalio_common::protos::temporal::api::workflowservice::v1::{
    CreateScheduleRequest, DescribeScheduleRequest, DescribeScheduleResponse, ListSchedulesRequest,
    UpdateScheduleRequest,
};

pub mod sync;

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

fn overlap_name(value: i32) -> Option<&'static str> {
    let i = usize::try_from(value).ok()?.checked_sub(1)?;
    Overlap::NAMES.get(i).copied()
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

/// A schedule as `list` and `describe` show it. Fields a listing does not carry are empty.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ScheduleView {
    pub id: String,
    /// `managed_by` from the memo: `sync`, `cli`, `rpc`, or none for schedules made elsewhere.
    pub managed_by: Option<String>,
    pub tenant: Option<String>,
    pub workflow: Option<String>,
    pub task_queue: Option<String>,
    pub args: Option<Vec<serde_json::Value>>,
    /// The timing, e.g. `cron 0 */6 * * *` (as the server stores it: cron strings come back
    /// as calendars, printed here in cron form) or `every 6h`.
    pub spec: String,
    pub timezone: Option<String>,
    pub jitter: Option<String>,
    pub overlap: Option<String>,
    pub paused: bool,
    pub note: String,
    pub next_runs: Vec<String>,
    pub recent_runs: Vec<RunView>,
    pub running: Vec<String>,
    /// Runs started, skipped for overlap, and missed past the catch-up window.
    pub action_count: i64,
    pub overlap_skipped: i64,
    pub missed_catchup: i64,
    /// The fingerprint of the definition it was made from, if made here and not changed by
    /// hand since.
    pub definition: Option<String>,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
}

/// One run a schedule started.
#[derive(Debug, Clone, Serialize)]
pub struct RunView {
    pub scheduled_at: Option<String>,
    pub started_at: Option<String>,
    pub workflow_id: String,
    pub run_id: String,
    /// `running`, `completed`, `failed`, …, or `unknown` while the server has not said.
    pub status: String,
}

impl ScheduleView {
    fn from_description(id: &str, raw: &DescribeScheduleResponse) -> Self {
        let mut view = Self {
            id: id.to_owned(),
            ..Self::default()
        };
        view.read_memo(raw.memo.as_ref());
        if let Some(schedule) = &raw.schedule {
            if let Some(spec) = &schedule.spec {
                view.read_spec(spec);
            }
            if let Some(proto::schedule_action::Action::StartWorkflow(action)) =
                schedule.action.as_ref().and_then(|a| a.action.as_ref())
            {
                view.workflow = action.workflow_type.as_ref().map(|t| t.name.clone());
                view.task_queue = action.task_queue.as_ref().map(|q| q.name.clone());
                view.args = action.input.as_ref().map(|i| {
                    i.payloads
                        .iter()
                        .map(|p| serde_json::from_slice(&p.data).unwrap_or(serde_json::Value::Null))
                        .collect()
                });
                view.definition = action
                    .memo
                    .as_ref()
                    .and_then(|m| memo_string(m, MEMO_DEFINITION));
            }
            view.overlap = schedule
                .policies
                .as_ref()
                .and_then(|p| overlap_name(p.overlap_policy))
                .map(str::to_owned);
            if let Some(state) = &schedule.state {
                view.paused = state.paused;
                view.note = state.notes.clone();
            }
        }
        if let Some(info) = &raw.info {
            view.action_count = info.action_count;
            view.overlap_skipped = info.overlap_skipped;
            view.missed_catchup = info.missed_catchup_window;
            view.next_runs = info
                .future_action_times
                .iter()
                .filter_map(|t| time(t.seconds, t.nanos))
                .collect();
            view.recent_runs = info.recent_actions.iter().map(run_view).collect();
            view.running = info
                .running_workflows
                .iter()
                .map(|w| w.workflow_id.clone())
                .collect();
            view.created_at = info
                .create_time
                .as_ref()
                .and_then(|t| time(t.seconds, t.nanos));
            view.updated_at = info
                .update_time
                .as_ref()
                .and_then(|t| time(t.seconds, t.nanos));
        }
        view
    }

    fn from_entry(entry: &proto::ScheduleListEntry) -> Self {
        let mut view = Self {
            id: entry.schedule_id.clone(),
            ..Self::default()
        };
        view.read_memo(entry.memo.as_ref());
        if let Some(info) = &entry.info {
            if let Some(spec) = &info.spec {
                view.read_spec(spec);
            }
            view.workflow = info.workflow_type.as_ref().map(|t| t.name.clone());
            view.paused = info.paused;
            view.note = info.notes.clone();
            view.next_runs = info
                .future_action_times
                .iter()
                .filter_map(|t| time(t.seconds, t.nanos))
                .collect();
            view.recent_runs = info.recent_actions.iter().map(run_view).collect();
        }
        view
    }

    fn read_memo(&mut self, memo: Option<&Memo>) {
        if let Some(memo) = memo {
            self.managed_by = memo_string(memo, MEMO_MANAGED_BY);
            self.tenant = memo_string(memo, ids::MEMO_TENANT);
        }
    }

    fn read_spec(&mut self, spec: &proto::ScheduleSpec) {
        let mut parts: Vec<String> = spec
            .cron_string
            .iter()
            .map(|c| format!("cron {c}"))
            .collect();
        parts.extend(
            spec.structured_calendar
                .iter()
                .map(|c| format!("cron {}", calendar_as_cron(c))),
        );
        parts.extend(spec.interval.iter().map(|i| {
            let every = i
                .interval
                .and_then(|d| Duration::try_from(d).ok())
                .map_or_else(|| "?".to_owned(), format_duration);
            match i.phase.and_then(|d| Duration::try_from(d).ok()) {
                Some(phase) if !phase.is_zero() => {
                    format!("every {every} (offset {})", format_duration(phase))
                }
                _ => format!("every {every}"),
            }
        }));
        self.spec = parts.join("; ");
        self.timezone = Some(spec.timezone_name.clone()).filter(|t| !t.is_empty());
        self.jitter = spec
            .jitter
            .and_then(|d| Duration::try_from(d).ok())
            .filter(|d| !d.is_zero())
            .map(format_duration);
    }
}

fn memo_string(memo: &Memo, key: &str) -> Option<String> {
    let payload: &Payload = memo.fields.get(key)?;
    serde_json::from_slice::<String>(&payload.data).ok()
}

/// A protobuf timestamp as RFC 3339; `None` for one before 1970 or out of range.
fn time(seconds: i64, nanos: i32) -> Option<String> {
    let secs = u64::try_from(seconds).ok()?;
    let nanos = u32::try_from(nanos.clamp(0, 999_999_999)).ok()?;
    let at = SystemTime::UNIX_EPOCH.checked_add(Duration::new(secs, nanos))?;
    Some(humantime::format_rfc3339_seconds(at).to_string())
}

fn run_status(status: i32) -> &'static str {
    use temporalio_common::protos::temporal::api::enums::v1::WorkflowExecutionStatus as S;
    match S::try_from(status) {
        Ok(S::Running) => "running",
        Ok(S::Completed) => "completed",
        Ok(S::Failed) => "failed",
        Ok(S::Canceled) => "cancelled",
        Ok(S::Terminated) => "terminated",
        Ok(S::ContinuedAsNew) => "continued_as_new",
        Ok(S::TimedOut) => "timed_out",
        _ => "unknown",
    }
}

fn run_view(action: &proto::ScheduleActionResult) -> RunView {
    let started = action.start_workflow_result.as_ref();
    RunView {
        scheduled_at: action
            .schedule_time
            .as_ref()
            .and_then(|t| time(t.seconds, t.nanos)),
        started_at: action
            .actual_time
            .as_ref()
            .and_then(|t| time(t.seconds, t.nanos)),
        workflow_id: started.map(|w| w.workflow_id.clone()).unwrap_or_default(),
        run_id: started.map(|w| w.run_id.clone()).unwrap_or_default(),
        status: run_status(action.start_workflow_status).to_owned(),
    }
}

/// A structured calendar in cron's five fields (seconds and years are left out: schedules
/// made from cron strings have second 0 and every year).
fn calendar_as_cron(c: &proto::StructuredCalendarSpec) -> String {
    let field = |ranges: &[proto::Range], min: i32, max: i32| -> String {
        if ranges.is_empty() {
            return "*".to_owned();
        }
        ranges
            .iter()
            .map(|r| {
                let end = if r.end < r.start { r.start } else { r.end };
                let step = r.step.max(1);
                let base = if r.start == min && end == max {
                    "*".to_owned()
                } else if r.start == end {
                    r.start.to_string()
                } else {
                    format!("{}-{end}", r.start)
                };
                if step > 1 {
                    format!("{base}/{step}")
                } else {
                    base
                }
            })
            .collect::<Vec<_>>()
            .join(",")
    };
    [
        field(&c.minute, 0, 59),
        field(&c.hour, 0, 23),
        field(&c.day_of_month, 1, 31),
        field(&c.month, 1, 12),
        field(&c.day_of_week, 0, 6),
    ]
    .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(start: i32, end: i32, step: i32) -> proto::Range {
        proto::Range { start, end, step }
    }

    #[test]
    fn a_calendar_the_server_made_from_cron_prints_as_that_cron() {
        // What the server returns for `0 */6 * * *`.
        let c = proto::StructuredCalendarSpec {
            second: vec![range(0, 0, 1)],
            minute: vec![range(0, 0, 1)],
            hour: vec![range(0, 23, 6)],
            day_of_month: vec![range(1, 31, 1)],
            month: vec![range(1, 12, 1)],
            day_of_week: vec![range(0, 6, 1)],
            ..Default::default()
        };
        assert_eq!(calendar_as_cron(&c), "0 */6 * * *");
        let c = proto::StructuredCalendarSpec {
            minute: vec![range(15, 0, 0), range(45, 0, 0)],
            hour: vec![range(8, 18, 2)],
            day_of_week: vec![range(1, 5, 1)],
            ..Default::default()
        };
        assert_eq!(calendar_as_cron(&c), "15,45 8-18/2 * * 1-5");
    }

    #[test]
    fn a_fingerprint_changes_with_what_sync_would_change_and_only_then() {
        let def = Definition {
            id: "acme:harvest-demo".into(),
            tenant: TenantId::new("acme").unwrap(),
            workflow: "HarvestWorkflow".into(),
            args: vec![serde_json::json!("demo"), serde_json::json!("acme")],
            task_queue: "q".into(),
            workflow_id: "harvest:acme:demo".into(),
            spec: ScheduleSpec::parse("0 */6 * * *", None, None).unwrap(),
            overlap: Overlap::Skip,
            description: String::new(),
            owner: Owner::Sync,
        };
        let same = def.clone();
        assert_eq!(def.fingerprint(), same.fingerprint());
        let mut other = def.clone();
        other.spec = ScheduleSpec::parse("0 */4 * * *", None, None).unwrap();
        assert_ne!(def.fingerprint(), other.fingerprint());
        let mut other = def.clone();
        other.overlap = Overlap::BufferOne;
        assert_ne!(def.fingerprint(), other.fingerprint());
    }

    #[test]
    fn overlap_names_match_the_proto_numbers() {
        for (i, name) in Overlap::NAMES.iter().enumerate() {
            let o: Overlap = name.parse().unwrap();
            assert_eq!(overlap_proto(o).to_proto_i32(), i as i32 + 1);
            assert_eq!(overlap_name(i as i32 + 1), Some(*name));
        }
        assert_eq!(overlap_name(0), None);
    }
}
