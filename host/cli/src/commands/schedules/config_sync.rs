//! `schedules sync` and `serve --sync-schedules`: make the server's schedules what the
//! configuration declares.

use contextworker_config::{HostConfig, Supplier};
use contextworker_temporal::schedules::ScheduleError;
use contextworker_temporal::schedules::sync::{self, Action};

use super::report;
use crate::cli::{CommonArgs, GlobalArgs};
use crate::commands::{EXIT_FAILED, EXIT_OK};
use crate::context;

/// What one sync found and did.
struct SyncRun {
    steps: Vec<sync::Step>,
    failed: Vec<(String, ScheduleError)>,
}

impl SyncRun {
    fn count(&self, a: Action) -> usize {
        self.steps.iter().filter(|s| s.action == a).count()
    }

    fn summary(&self, dry_run: bool) -> String {
        format!(
            "sync{}: {} to create, {} to update, {} to delete, {} unchanged, {} conflicts{}",
            if dry_run { " (dry run)" } else { "" },
            self.count(Action::Create),
            self.count(Action::Update),
            self.count(Action::Delete),
            self.count(Action::Unchanged),
            self.count(Action::Conflict),
            if self.failed.is_empty() {
                String::new()
            } else {
                format!(", {} failed", self.failed.len())
            }
        )
    }
}

/// Read the configuration, compare it with the server, and (unless `dry_run`) act. A broken
/// supplier file stops it before anything changes: read as "no schedule", it would delete one.
async fn sync_with(
    config: &HostConfig,
    client: &contextworker_temporal::Client,
    dry_run: bool,
) -> anyhow::Result<Result<SyncRun, ScheduleError>> {
    let (suppliers, broken) = Supplier::load_dir(&config.suppliers_dir)?;
    if let Some(first) = broken.first() {
        for e in &broken[1..] {
            eprintln!("error: {e}");
        }
        anyhow::bail!("{first}; fix the supplier files before syncing schedules");
    }
    let tenants = context::known_tenants(&suppliers, &config.tenants_dir);
    let wanted = sync::wanted(config, &suppliers, &tenants)?;
    let steps = match sync::plan(client, &wanted).await {
        Ok(steps) => steps,
        Err(e) => return Ok(Err(e)),
    };
    let failed = if dry_run {
        Vec::new()
    } else {
        sync::apply(client, &wanted, &steps).await
    };
    Ok(Ok(SyncRun { steps, failed }))
}

/// `serve --sync-schedules`: one sync before serving, reported in the log. A failure is
/// logged and the worker serves anyway: its schedules are as they were.
pub async fn sync_at_start(config: &HostConfig, client: &contextworker_temporal::Client) {
    match sync_with(config, client, false).await {
        Ok(Ok(run)) => {
            for step in run.steps.iter().filter(|s| s.action != Action::Unchanged) {
                eprintln!("schedules: {} {}", step.action.as_str(), step.id);
            }
            for (id, e) in &run.failed {
                eprintln!("schedules: {id}: {e}");
            }
            eprintln!("schedules: {}", run.summary(false));
        }
        Ok(Err(e)) => eprintln!("schedules: not synced: {e}"),
        Err(e) => eprintln!("schedules: not synced: {}", crate::commands::chain(&e)),
    }
}

pub(super) async fn run(
    args: &GlobalArgs,
    dry_run: bool,
    common: &CommonArgs,
) -> anyhow::Result<u8> {
    let config = context::client_config(args, &common.temporal)?;
    // Read the files before connecting: bad configuration exits 2 with no server needed.
    let (suppliers, broken) = Supplier::load_dir(&config.suppliers_dir)?;
    if let Some(first) = broken.first() {
        anyhow::bail!("{first}; fix the supplier files before syncing schedules");
    }
    sync::wanted(
        &config,
        &suppliers,
        &context::known_tenants(&suppliers, &config.tenants_dir),
    )?;
    let client = context::temporal_client(&config).await?;
    let run = match sync_with(&config, &client, dry_run).await? {
        Ok(run) => run,
        Err(e) => return Ok(report(&e)),
    };
    if common.json {
        let failed: Vec<_> = run
            .failed
            .iter()
            .map(|(id, e)| serde_json::json!({ "id": id, "error": e.to_string() }))
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "dry_run": dry_run, "steps": run.steps, "failed": failed,
            }))?
        );
    } else {
        let verb = if dry_run { "would " } else { "" };
        for step in &run.steps {
            let what = match step.action {
                Action::Unchanged => "unchanged".to_owned(),
                Action::Conflict => format!(
                    "conflict: made by {}, left alone",
                    step.owner.as_deref().unwrap_or("another system")
                ),
                other => format!("{verb}{}", other.as_str()),
            };
            let from = step.source.as_deref().unwrap_or("no longer configured");
            println!(
                "{what:<14} {}  {} {}  ({from})",
                step.id, step.workflow, step.spec
            );
        }
        for (id, e) in &run.failed {
            eprintln!("error: {id}: {e}");
        }
        println!("{}", run.summary(dry_run));
    }
    Ok(
        if run.failed.is_empty() && run.count(Action::Conflict) == 0 {
            EXIT_OK
        } else {
            EXIT_FAILED
        },
    )
}
