//! A schedule read back for people and tools: the server's description or listing entry,
//! turned into one [`ScheduleView`].

use std::time::{Duration, SystemTime};

use contextworker_types::{Overlap, format_duration};
use serde::Serialize;
use temporalio_common::protos::temporal::api::common::v1::{Memo, Payload};
use temporalio_common::protos::temporal::api::schedule::v1 as proto;
use temporalio_common::protos::temporal::api::workflowservice::v1::DescribeScheduleResponse;

use super::{MEMO_DEFINITION, MEMO_MANAGED_BY};
use crate::ids;

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
    pub(super) fn from_description(id: &str, raw: &DescribeScheduleResponse) -> Self {
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
            let next = info
                .future_action_times
                .iter()
                .map(|t| (t.seconds, t.nanos));
            view.read_runs(next, &info.recent_actions);
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

    pub(super) fn from_entry(entry: &proto::ScheduleListEntry) -> Self {
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
            let next = info
                .future_action_times
                .iter()
                .map(|t| (t.seconds, t.nanos));
            view.read_runs(next, &info.recent_actions);
        }
        view
    }

    /// The runs to come and the last runs, which a description and a list entry both carry.
    fn read_runs(
        &mut self,
        next: impl Iterator<Item = (i64, i32)>,
        recent: &[proto::ScheduleActionResult],
    ) {
        self.next_runs = next.filter_map(|(s, n)| time(s, n)).collect();
        self.recent_runs = recent.iter().map(run_view).collect();
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
pub(super) fn calendar_as_cron(c: &proto::StructuredCalendarSpec) -> String {
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

pub(super) fn overlap_name(value: i32) -> Option<&'static str> {
    let i = usize::try_from(value).ok()?.checked_sub(1)?;
    Overlap::NAMES.get(i).copied()
}
