//! What a RegisterSchedules request may create, decided from the token and the host's start
//! policy before anything reaches Temporal.
//!
//! The payload is the later WorkerService's: `{project_id, tenant_id, schedules: [{schedule_id,
//! workflow_name, task_queue, cron, args?, description?, timezone?}]}`. The tenant must be the
//! token's, the permission is `worker:schedule`, only the workflow types and task queues open
//! to StartWorkflow may be scheduled, and the arguments are rebuilt as StartWorkflow builds
//! them. A schedule's id is `<tenant>:<schedule_id>`, so tenants cannot reach each other's.
//! Every schedule is checked before any is created: one bad cron refuses the whole request.

use contextworker_auth::{self as auth, Claims};
use contextworker_temporal::schedules::sync::definition;
use contextworker_temporal::schedules::{Definition, Owner};
use contextworker_types::{Overlap, ScheduleName, ScheduleSpec, TenantId};
use serde_json::{Map, Value};

use crate::start::{Refused, StartPolicy, denied, str_field, validation};

/// Most schedules one request may register.
pub const MAX_SCHEDULES: usize = 100;
/// Longest `project_id` and `description` kept.
const MAX_PROJECT_ID: usize = 128;
const MAX_DESCRIPTION: usize = 1024;

/// The schedules `payload` asks for, each checked, or why none may be made.
pub fn plan(
    policy: &StartPolicy,
    claims: &Claims,
    payload: &Map<String, Value>,
) -> Result<(TenantId, Vec<Definition>), Refused> {
    claims.require(auth::SCHEDULE).map_err(|e| denied(&e))?;
    let project = str_field(payload, "project_id");
    let named_tenant = str_field(payload, "tenant_id");
    if project.is_none() || named_tenant.is_none() {
        return Err(validation("project_id and tenant_id are required"));
    }
    if project.is_some_and(|p| p.len() > MAX_PROJECT_ID) {
        return Err(validation(format!(
            "project_id is longer than {MAX_PROJECT_ID} bytes"
        )));
    }
    let tenant = claims.tenant(named_tenant).map_err(|e| denied(&e))?;
    let tenant = TenantId::new(tenant).map_err(|e| validation(format!("tenant_id: {e}")))?;
    let list = match payload.get("schedules") {
        Some(Value::Array(list)) if !list.is_empty() && list.len() <= MAX_SCHEDULES => list,
        _ => {
            return Err(validation(format!(
                "schedules must be a list of 1 to {MAX_SCHEDULES} schedules"
            )));
        }
    };
    let mut out: Vec<Definition> = Vec::with_capacity(list.len());
    for (i, item) in list.iter().enumerate() {
        let at = |e: Refused| Refused {
            error_type: e.error_type,
            message: format!("schedules[{i}]: {}", e.message),
        };
        let def = one(policy, &tenant, item).map_err(at)?;
        if out.iter().any(|d| d.id == def.id) {
            return Err(at(validation(format!(
                "schedule_id {:?} is given twice",
                def.id
            ))));
        }
        out.push(def);
    }
    Ok((tenant, out))
}

fn one(policy: &StartPolicy, tenant: &TenantId, item: &Value) -> Result<Definition, Refused> {
    let Value::Object(s) = item else {
        return Err(validation("each schedule must be an object"));
    };
    let required =
        |key: &str| str_field(s, key).ok_or_else(|| validation(format!("{key} is required")));
    let name = ScheduleName::new(required("schedule_id")?)
        .map_err(|e| validation(format!("schedule_id: {e}")))?;
    let workflow = required("workflow_name")?;
    if !policy.opened(workflow) {
        return Err(Refused::denied(format!(
            "workflow {workflow:?} is not open to schedules on this host"
        )));
    }
    let queue = policy.queue(Some(required("task_queue")?), "RegisterSchedules")?;
    let spec = ScheduleSpec::cron(required("cron")?, str_field(s, "timezone"), None)
        .map_err(|e| validation(e.to_string()))?;
    let args = match s.get("args") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a.clone(),
        Some(_) => return Err(validation("args must be a list")),
    };
    let args = policy.scheduled_args(workflow, &args, tenant.as_str())?;
    let description = match s.get("description") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(d)) if d.len() <= MAX_DESCRIPTION => d.clone(),
        Some(_) => {
            return Err(validation(format!(
                "description must be a string of at most {MAX_DESCRIPTION} bytes"
            )));
        }
    };
    Ok(definition(
        tenant,
        name.as_str(),
        workflow,
        args,
        queue,
        spec,
        Overlap::Skip,
        description,
        Owner::Rpc,
    ))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn claims(tenants: &[&str], permissions: &[&str]) -> Claims {
        Claims::new("t", permissions, tenants, None)
    }

    fn payload(schedules: Value) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("project_id".into(), json!("p"));
        m.insert("tenant_id".into(), json!("acme"));
        m.insert("schedules".into(), schedules);
        m
    }

    fn policy() -> StartPolicy {
        StartPolicy::new(None, vec!["harvester-tasks".into()]).expect("policy")
    }

    fn refusal(schedules: Value) -> Refused {
        plan(
            &policy(),
            &claims(&["acme"], &["worker:schedule"]),
            &payload(schedules),
        )
        .expect_err("refused")
    }

    #[test]
    fn the_originals_schedules_become_this_tenants() {
        let (tenant, defs) = plan(
            &policy(),
            &claims(&["acme"], &["worker:schedule"]),
            &payload(json!([
                {"schedule_id": "harvester-daily", "workflow_name": "HarvestWorkflow",
                 "task_queue": "harvester-tasks", "cron": "0 6 * * *", "args": ["all", "acme"]},
                {"schedule_id": "gardener-every-5min", "workflow_name": "GardenerWorkflow",
                 "task_queue": "harvester-tasks", "cron": "*/5 * * * *", "args": ["acme", 50, 10],
                 "description": "gardener"},
            ])),
        )
        .expect("allowed");
        assert_eq!(tenant.as_str(), "acme");
        assert_eq!(defs[0].id, "acme:harvester-daily");
        assert_eq!(defs[0].args, vec![json!("all"), json!("acme")]);
        assert_eq!(defs[0].owner, Owner::Rpc);
        assert_eq!(defs[1].args, vec![json!("acme"), json!(50), json!(10)]);
        assert_eq!(defs[1].workflow_id, "gardener:acme");
    }

    #[test]
    fn refusals_say_which_schedule_and_why() {
        let base = json!({"schedule_id": "s", "workflow_name": "GardenerWorkflow",
                          "task_queue": "harvester-tasks", "cron": "@daily"});
        let with = |k: &str, v: Value| {
            let mut s = base.clone();
            s[k] = v;
            json!([s])
        };
        let cases = [
            (
                with("args", json!(["beta"])),
                "permission_denied",
                "name tenant \"beta\"",
            ),
            (
                with("workflow_name", json!("DropTables")),
                "permission_denied",
                "not open to schedules",
            ),
            (
                with("task_queue", json!("other")),
                "permission_denied",
                "task queue \"other\"",
            ),
            (
                with("cron", json!("0 25 * * *")),
                "validation",
                "field 2 (hour)",
            ),
            (
                with("schedule_id", json!("../x")),
                "validation",
                "schedule_id: invalid schedule name",
            ),
            (
                with("args", json!("x")),
                "validation",
                "args must be a list",
            ),
            (
                json!([base, base]),
                "validation",
                "schedules[1]: schedule_id \"acme:s\" is given twice",
            ),
            (json!([]), "validation", "1 to 100"),
        ];
        for (schedules, kind, needle) in cases {
            let r = refusal(schedules);
            assert_eq!(r.error_type, kind, "{}", r.message);
            assert!(r.message.contains(needle), "{}", r.message);
        }
        let other = plan(
            &policy(),
            &claims(&["acme"], &["worker:schedule"]),
            &match json!({"project_id": "p", "tenant_id": "beta", "schedules": [base]}) {
                Value::Object(m) => m,
                _ => unreachable!(),
            },
        )
        .expect_err("another tenant");
        assert_eq!(other.error_type, "permission_denied");
        let no_permission = plan(
            &policy(),
            &claims(&["acme"], &["worker:execute"]),
            &payload(json!([base])),
        )
        .expect_err("needs worker:schedule");
        assert!(
            no_permission.message.contains("worker:schedule"),
            "{}",
            no_permission.message
        );
    }
}
