//! `schedules sync`: make Temporal's schedules match the configuration. A supplier file's
//! `schedule` becomes a harvest schedule `<tenant>:harvest-<code>`; each `[[schedule]]` of the
//! host config becomes one schedule per tenant it names.
//!
//! Sync owns the schedules it made (memo `managed_by = "sync"`) and only those: it creates
//! what is missing, updates what differs from its definition (by fingerprint, so a second run
//! changes nothing), and deletes its own schedules that the configuration no longer asks for.
//! A schedule made by hand, over gRPC or by another system is never changed or deleted, even
//! when it has an id sync wants; that is reported as a conflict.

use std::collections::BTreeSet;

use contextworker_config::{ConfiguredSchedule, HostConfig, Supplier};
use contextworker_types::{Overlap, TenantId};
use serde::Serialize;

use super::{Definition, Owner, ScheduleError, ScheduleView};
use crate::messages::names;
use crate::{Client, ids};

/// Workflows a schedule may start: the ones this host's workers serve.
pub const SCHEDULABLE: &[&str] = &[
    names::HARVEST_WORKFLOW,
    names::IMPORT_WORKFLOW,
    names::ENRICHMENT_WORKFLOW,
    names::GARDENER_WORKFLOW,
];

/// A schedule the configuration asks for, and where it asks.
#[derive(Debug, Clone, Serialize)]
pub struct Wanted {
    pub definition: Definition,
    /// `suppliers/demo.toml`, or `contextworker.toml [[schedule]] gardener-every-5min`.
    pub source: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PlanError {
    #[error(
        "{origin}: workflow {workflow:?} cannot be scheduled; schedulable: {}",
        SCHEDULABLE.join(", ")
    )]
    Workflow { origin: String, workflow: String },
    #[error("schedule {id} is asked for twice: by {first} and by {second}")]
    Duplicate {
        id: String,
        first: String,
        second: String,
    },
}

/// The definition for `workflow` run for `tenant` with `args`, named `name`.
#[allow(clippy::too_many_arguments)]
pub fn definition(
    tenant: &TenantId,
    name: &str,
    workflow: &str,
    args: Vec<serde_json::Value>,
    task_queue: String,
    spec: contextworker_types::ScheduleSpec,
    overlap: Overlap,
    description: String,
    owner: Owner,
) -> Definition {
    let id = ids::schedule(tenant.as_str(), name);
    let workflow_id = run_id_base(workflow, tenant.as_str(), &args, &id);
    Definition {
        id,
        tenant: tenant.clone(),
        workflow: workflow.to_owned(),
        args,
        task_queue,
        workflow_id,
        spec,
        overlap,
        description,
        owner,
    }
}

/// The base of each run's workflow id: the one a run started by hand would have, so runs of
/// one catalog share a prefix whoever started them (the server appends the scheduled time).
fn run_id_base(workflow: &str, tenant: &str, args: &[serde_json::Value], id: &str) -> String {
    match workflow {
        names::HARVEST_WORKFLOW => match args.first().and_then(serde_json::Value::as_str) {
            Some(code) if contextworker_types::SupplierCode::new(code).is_ok() => {
                ids::harvest(tenant, code)
            }
            _ => id.to_owned(),
        },
        names::GARDENER_WORKFLOW => ids::gardener(tenant),
        names::ENRICHMENT_WORKFLOW => ids::enrichment(tenant, None),
        _ => id.to_owned(),
    }
}

/// Everything the configuration asks for. `tenants` are those a `[[schedule]]` without a
/// `tenants` list is made for.
pub fn wanted(
    config: &HostConfig,
    suppliers: &[Supplier],
    tenants: &[TenantId],
) -> Result<Vec<Wanted>, PlanError> {
    let default_queue = config.worker.task_queues[0].clone();
    let mut out: Vec<Wanted> = Vec::new();
    for supplier in suppliers.iter().filter(|s| s.enabled) {
        let Some(spec) = &supplier.schedule else {
            continue;
        };
        let code = supplier.code.as_str();
        let tenant = &supplier.tenant;
        out.push(Wanted {
            definition: definition(
                tenant,
                &format!("harvest-{code}"),
                names::HARVEST_WORKFLOW,
                vec![serde_json::json!(code), serde_json::json!(tenant.as_str())],
                default_queue.clone(),
                spec.clone(),
                Overlap::Skip,
                format!("harvest of supplier {code}"),
                Owner::Sync,
            ),
            source: supplier.path.display().to_string(),
        });
    }
    let file = config
        .source
        .as_ref()
        .map_or_else(|| "the host config".to_owned(), |p| p.display().to_string());
    for schedule in &config.schedules {
        let source = format!("{file} [[schedule]] {}", schedule.name);
        if !SCHEDULABLE.contains(&schedule.workflow.as_str()) {
            return Err(PlanError::Workflow {
                origin: source,
                workflow: schedule.workflow.clone(),
            });
        }
        for tenant in schedule.tenants.as_deref().unwrap_or(tenants) {
            out.push(Wanted {
                definition: configured(schedule, tenant, &default_queue),
                source: source.clone(),
            });
        }
    }
    let mut seen: Vec<(&str, &str)> = Vec::new();
    for w in &out {
        if let Some((_, first)) = seen.iter().find(|(id, _)| *id == w.definition.id) {
            return Err(PlanError::Duplicate {
                id: w.definition.id.clone(),
                first: (*first).to_owned(),
                second: w.source.clone(),
            });
        }
        seen.push((&w.definition.id, &w.source));
    }
    Ok(out)
}

fn configured(s: &ConfiguredSchedule, tenant: &TenantId, default_queue: &str) -> Definition {
    definition(
        tenant,
        s.name.as_str(),
        &s.workflow,
        s.args_for(tenant),
        s.task_queue
            .clone()
            .unwrap_or_else(|| default_queue.to_owned()),
        s.spec.clone(),
        s.overlap,
        s.description.clone(),
        Owner::Sync,
    )
}

/// What sync does to one schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Create,
    Update,
    Delete,
    Unchanged,
    /// The id is taken by a schedule sync does not own: left alone.
    Conflict,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Update => "update",
            Self::Delete => "delete",
            Self::Unchanged => "unchanged",
            Self::Conflict => "conflict",
        }
    }
}

/// One line of the plan.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub action: Action,
    pub id: String,
    /// The timing wanted (or, for a delete, the one it had).
    pub spec: String,
    pub workflow: String,
    /// Where the configuration asks for it; for a delete, nowhere any more.
    pub source: Option<String>,
    /// For a conflict: who owns the schedule.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
}

/// Compare what is wanted with what the server has. Wanted ids are described one by one (a
/// listing can lag a fresh create); the listing finds sync's schedules no longer wanted.
pub async fn plan(client: &Client, wanted: &[Wanted]) -> Result<Vec<Step>, ScheduleError> {
    let mut steps = Vec::with_capacity(wanted.len());
    for w in wanted {
        let def = &w.definition;
        let (action, owner) = match super::describe(client, &def.id).await {
            Err(ScheduleError::NotFound { .. }) => (Action::Create, None),
            Err(e) => return Err(e),
            Ok(view) => (judge(&view, def), view.managed_by),
        };
        steps.push(Step {
            action,
            id: def.id.clone(),
            spec: def.spec.to_string(),
            workflow: def.workflow.clone(),
            source: Some(w.source.clone()),
            owner: (action == Action::Conflict).then(|| owner.unwrap_or_else(|| "unknown".into())),
        });
    }
    let wanted_ids: BTreeSet<&str> = wanted.iter().map(|w| w.definition.id.as_str()).collect();
    for view in super::list(client).await? {
        if view.managed_by.as_deref() == Some(Owner::Sync.as_str())
            && !wanted_ids.contains(view.id.as_str())
        {
            steps.push(Step {
                action: Action::Delete,
                id: view.id,
                spec: view.spec,
                workflow: view.workflow.unwrap_or_default(),
                source: None,
                owner: None,
            });
        }
    }
    Ok(steps)
}

fn judge(view: &ScheduleView, def: &Definition) -> Action {
    if view.managed_by.as_deref() != Some(Owner::Sync.as_str()) {
        Action::Conflict
    } else if view.definition.as_deref() == Some(def.fingerprint().as_str()) {
        Action::Unchanged
    } else {
        Action::Update
    }
}

/// Carry out `steps`. Each is tried; the first error of each is reported, the rest go on.
pub async fn apply(
    client: &Client,
    wanted: &[Wanted],
    steps: &[Step],
) -> Vec<(String, ScheduleError)> {
    let mut failed = Vec::new();
    for step in steps {
        let def = wanted
            .iter()
            .map(|w| &w.definition)
            .find(|d| d.id == step.id);
        let result = match (step.action, def) {
            (Action::Create, Some(def)) => super::create(client, def, false, "").await,
            (Action::Update, Some(def)) => super::update(client, def).await,
            (Action::Delete, _) => super::delete(client, &step.id).await,
            _ => Ok(()),
        };
        if let Err(e) = result {
            failed.push((step.id.clone(), e));
        }
    }
    failed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_run_of_a_known_workflow_is_named_as_a_run_started_by_hand() {
        let args = [serde_json::json!("demo"), serde_json::json!("acme")];
        assert_eq!(
            run_id_base(names::HARVEST_WORKFLOW, "acme", &args, "acme:h"),
            "harvest:acme:demo"
        );
        assert_eq!(
            run_id_base(names::GARDENER_WORKFLOW, "acme", &[], "acme:g"),
            "gardener:acme"
        );
        // A supplier code that is not one falls back to the schedule's id.
        let bad = [serde_json::json!("../x")];
        assert_eq!(
            run_id_base(names::HARVEST_WORKFLOW, "acme", &bad, "acme:h"),
            "acme:h"
        );
    }
}
