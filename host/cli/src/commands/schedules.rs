//! `schedules …`: create and control Temporal schedules, and `sync` them from configuration.
//!
//! Bad input (a cron, a time zone, an interval, an unknown supplier, a workflow the host does
//! not serve) is refused before anything is sent, with exit code 2; so is a spec the server
//! refuses (it knows the time zones). A schedule that does not exist, or a sync step that
//! failed, exits 1.

use contextworker_config::{HostConfig, Supplier, TENANT_PLACEHOLDER};
use contextworker_temporal::messages::names;
use contextworker_temporal::schedules::sync::{self, SCHEDULABLE};
use contextworker_temporal::schedules::{self, Changes, Owner, ScheduleError, ScheduleView};
use contextworker_types::defaults::DEFAULT_NAMESPACE;
use contextworker_types::{ScheduleSpec, TenantId};

use crate::cli::{CommonArgs, CreateArgs, GlobalArgs, SchedulesCommand, TimingArgs, UpdateArgs};
use crate::commands::{EXIT_FAILED, EXIT_OK, EXIT_SETUP};
use crate::context;

mod config_sync;

pub use config_sync::sync_at_start;

pub async fn run(args: &GlobalArgs, command: SchedulesCommand) -> anyhow::Result<u8> {
    match command {
        SchedulesCommand::Create(create) => self::create(args, create).await,
        SchedulesCommand::List { tenant, common } => list(args, tenant.as_deref(), &common).await,
        SchedulesCommand::Describe { id, common } => {
            let (_, client) = connect(args, &common).await?;
            match schedules::describe(&client, &id).await {
                Ok(view) => {
                    print_view(&view, &common);
                    Ok(EXIT_OK)
                }
                Err(e) => Ok(report(&e)),
            }
        }
        SchedulesCommand::Pause { id, note, common } => {
            let (_, client) = connect(args, &common).await?;
            let result = schedules::pause(&client, &id, note.as_deref()).await;
            done(result, &common, &id, "paused")
        }
        SchedulesCommand::Unpause { id, note, common } => {
            let (_, client) = connect(args, &common).await?;
            let result = schedules::unpause(&client, &id, note.as_deref()).await;
            done(result, &common, &id, "unpaused")
        }
        SchedulesCommand::Trigger {
            id,
            overlap,
            common,
        } => {
            let (_, client) = connect(args, &common).await?;
            let result = schedules::trigger(&client, &id, overlap).await;
            done(result, &common, &id, "triggered")
        }
        SchedulesCommand::Update(update) => self::update(args, update).await,
        SchedulesCommand::Delete { id, common } => {
            let (_, client) = connect(args, &common).await?;
            let result = schedules::delete(&client, &id).await;
            done(result, &common, &id, "deleted")
        }
        SchedulesCommand::Backfill {
            id,
            start,
            end,
            overlap,
            common,
        } => {
            if end <= start {
                anyhow::bail!("--end must be after --start");
            }
            let (_, client) = connect(args, &common).await?;
            let result = schedules::backfill(&client, &id, start, end, overlap).await;
            done(result, &common, &id, "backfilled")
        }
        SchedulesCommand::Sync { dry_run, common } => {
            config_sync::run(args, dry_run, &common).await
        }
    }
}

async fn connect(
    args: &GlobalArgs,
    common: &CommonArgs,
) -> anyhow::Result<(HostConfig, contextworker_temporal::Client)> {
    let config = context::client_config(args, &common.temporal)?;
    let client = context::temporal_client(&config).await?;
    Ok((config, client))
}

/// The exit code for a schedule operation's error, after printing it.
fn report(e: &ScheduleError) -> u8 {
    eprintln!("error: {e}");
    match e {
        ScheduleError::Invalid { .. } => EXIT_SETUP,
        _ => EXIT_FAILED,
    }
}

fn done(
    result: Result<(), ScheduleError>,
    common: &CommonArgs,
    id: &str,
    what: &str,
) -> anyhow::Result<u8> {
    match result {
        Ok(()) => {
            if common.json {
                println!("{}", serde_json::json!({ "id": id, "done": what }));
            } else {
                println!("{what} schedule {id}");
            }
            Ok(EXIT_OK)
        }
        Err(e) => Ok(report(&e)),
    }
}

fn timing(t: &TimingArgs) -> anyhow::Result<Option<ScheduleSpec>> {
    let (tz, jitter) = (t.timezone.as_deref(), t.jitter.as_deref());
    Ok(Some(match (&t.cron, &t.interval) {
        (Some(cron), _) => ScheduleSpec::cron(cron, tz, jitter)?,
        (None, Some(interval)) => ScheduleSpec::interval(interval, tz, jitter)?,
        (None, None) if tz.is_none() && jitter.is_none() => return Ok(None),
        (None, None) => anyhow::bail!("--timezone and --jitter go with --cron or --interval"),
    }))
}

fn json_args(args: &[String], tenant: &str) -> anyhow::Result<Vec<serde_json::Value>> {
    args.iter()
        .enumerate()
        .map(|(i, a)| {
            let v: serde_json::Value = serde_json::from_str(a).map_err(|e| {
                anyhow::anyhow!(
                    "--arg {} ({a:?}) is not JSON: {e}; quote strings: '\"demo\"'",
                    i + 1
                )
            })?;
            Ok(match v {
                serde_json::Value::String(s) if s == TENANT_PLACEHOLDER => {
                    serde_json::json!(tenant)
                }
                other => other,
            })
        })
        .collect()
}

async fn create(args: &GlobalArgs, create: CreateArgs) -> anyhow::Result<u8> {
    let Some(spec) = timing(&create.timing)? else {
        anyhow::bail!("say when: --cron EXPR or --interval DURATION");
    };
    let config = context::client_config(args, &create.common.temporal)?;
    let tenant = TenantId::new(create.tenant.clone())?;
    let (workflow, args_json) = match (&create.supplier, create.gardener, &create.workflow) {
        (Some(code), _, _) => {
            let supplier = Supplier::load(&config.suppliers_dir, code)?;
            if supplier.tenant != tenant {
                anyhow::bail!(
                    "supplier {code} belongs to tenant {}, not {tenant}",
                    supplier.tenant
                );
            }
            (
                names::HARVEST_WORKFLOW.to_owned(),
                vec![serde_json::json!(code), serde_json::json!(tenant.as_str())],
            )
        }
        (None, true, _) => {
            let args = if create.args.is_empty() {
                vec![serde_json::json!(tenant.as_str())]
            } else {
                json_args(&create.args, tenant.as_str())?
            };
            (names::GARDENER_WORKFLOW.to_owned(), args)
        }
        (None, false, Some(workflow)) => {
            if !SCHEDULABLE.contains(&workflow.as_str()) {
                anyhow::bail!(
                    "workflow {workflow:?} is not one this host serves; use one of {}",
                    SCHEDULABLE.join(", ")
                );
            }
            (workflow.clone(), json_args(&create.args, tenant.as_str())?)
        }
        (None, false, None) => {
            anyhow::bail!("say what runs: --supplier CODE, --gardener, or --workflow NAME --arg …")
        }
    };
    // --task-queue (shared with the other client commands) sets the worker queues' first.
    let task_queue = config.worker.task_queues[0].clone();
    let def = sync::definition(
        &tenant,
        &create.name,
        &workflow,
        args_json,
        task_queue,
        spec,
        create.overlap,
        String::new(),
        Owner::Cli,
    );
    let client = context::temporal_client(&config).await?;
    if let Err(e) = schedules::create(&client, &def, create.paused, &create.note).await {
        return Ok(report(&e));
    }
    let link = ui_link(&config, &create.common.ui_url, &def.id);
    if create.common.json {
        println!(
            "{}",
            serde_json::json!({ "id": def.id, "created": def, "ui": link })
        );
    } else {
        println!(
            "created schedule {} ({}): {} {} on {}{}\n  {link}",
            def.id,
            def.spec,
            def.workflow,
            serde_json::Value::from(def.args.clone()),
            def.task_queue,
            if create.paused { ", paused" } else { "" },
        );
    }
    Ok(EXIT_OK)
}

async fn update(args: &GlobalArgs, update: UpdateArgs) -> anyhow::Result<u8> {
    let spec = timing(&update.timing)?;
    let tenant = update.id.split_once(':').map_or("", |(t, _)| t).to_owned();
    let changes = Changes {
        spec,
        overlap: update.overlap,
        args: (!update.args.is_empty())
            .then(|| json_args(&update.args, &tenant))
            .transpose()?,
        description: update.note,
    };
    if changes.spec.is_none()
        && changes.overlap.is_none()
        && changes.args.is_none()
        && changes.description.is_none()
    {
        anyhow::bail!("nothing to change: give --cron, --interval, --overlap, --arg or --note");
    }
    let (_, client) = connect(args, &update.common).await?;
    let result = schedules::change(&client, &update.id, changes).await;
    done(result, &update.common, &update.id, "updated")
}

async fn list(args: &GlobalArgs, tenant: Option<&str>, common: &CommonArgs) -> anyhow::Result<u8> {
    let (_, client) = connect(args, common).await?;
    let all = match schedules::list(&client).await {
        Ok(all) => all,
        Err(e) => return Ok(report(&e)),
    };
    let mut shown: Vec<ScheduleView> = all
        .into_iter()
        .filter(|v| tenant.is_none() || v.tenant.as_deref() == tenant)
        .collect();
    for view in &mut shown {
        schedules::settle_runs(&client, view, 1).await;
    }
    if common.json {
        println!("{}", serde_json::to_string_pretty(&shown)?);
        return Ok(EXIT_OK);
    }
    if shown.is_empty() {
        println!("no schedules");
        return Ok(EXIT_OK);
    }
    let rows: Vec<[String; 6]> = shown
        .iter()
        .map(|v| {
            let last = v.recent_runs.last().map_or_else(
                || "-".to_owned(),
                |r| format!("{} {}", r.started_at.as_deref().unwrap_or("?"), r.status),
            );
            [
                v.id.clone(),
                v.workflow.clone().unwrap_or_else(|| "-".into()),
                with_zone(&v.spec, v.timezone.as_deref()),
                if v.paused { "paused" } else { "active" }.to_owned(),
                v.next_runs.first().cloned().unwrap_or_else(|| "-".into()),
                last,
            ]
        })
        .collect();
    print_table(
        &["ID", "WORKFLOW", "WHEN", "STATE", "NEXT RUN", "LAST RUN"],
        &rows,
    );
    Ok(EXIT_OK)
}

fn with_zone(spec: &str, tz: Option<&str>) -> String {
    match tz {
        Some(tz) => format!("{spec} ({tz})"),
        None => spec.to_owned(),
    }
}

fn print_table<const N: usize>(header: &[&str; N], rows: &[[String; N]]) {
    let mut widths = header.map(str::len);
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        println!("{}", padded.join("  ").trim_end());
    };
    line(header.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
}

fn print_view(view: &ScheduleView, common: &CommonArgs) {
    if common.json {
        println!("{}", serde_json::to_string_pretty(view).unwrap_or_default());
        return;
    }
    println!("schedule {}", view.id);
    let opt = |o: &Option<String>| o.clone().unwrap_or_else(|| "-".into());
    println!(
        "  when:       {}",
        with_zone(&view.spec, view.timezone.as_deref())
    );
    if let Some(jitter) = &view.jitter {
        println!("  jitter:     {jitter}");
    }
    println!(
        "  workflow:   {} on {}",
        opt(&view.workflow),
        opt(&view.task_queue)
    );
    if let Some(args) = &view.args {
        println!("  arguments:  {}", serde_json::Value::from(args.clone()));
    }
    println!("  tenant:     {}", opt(&view.tenant));
    println!("  made by:    {}", opt(&view.managed_by));
    println!("  overlap:    {}", opt(&view.overlap));
    let state = if view.paused { "paused" } else { "active" };
    if view.note.is_empty() {
        println!("  state:      {state}");
    } else {
        println!("  state:      {state}: {}", view.note);
    }
    println!(
        "  runs:       {} started, {} skipped (overlap), {} missed",
        view.action_count, view.overlap_skipped, view.missed_catchup
    );
    if !view.running.is_empty() {
        println!("  running:    {}", view.running.join(", "));
    }
    // Five are enough to see the timing; --json has all the server gives (ten).
    println!(
        "  next runs:  {}",
        list_or_none(&view.next_runs[..view.next_runs.len().min(5)])
    );
    if view.recent_runs.is_empty() {
        println!("  last runs:  none");
    } else {
        println!("  last runs:");
        for run in &view.recent_runs {
            println!(
                "    {}  {}  {} (run {})",
                run.started_at.as_deref().unwrap_or("?"),
                run.status,
                run.workflow_id,
                run.run_id
            );
        }
    }
}

fn list_or_none(items: &[String]) -> String {
    if items.is_empty() {
        "none".to_owned()
    } else {
        items.join(", ")
    }
}

fn ui_link(config: &HostConfig, ui: &str, id: &str) -> String {
    let namespace = config
        .temporal
        .namespace
        .as_deref()
        .unwrap_or(DEFAULT_NAMESPACE);
    format!(
        "{}/namespaces/{namespace}/schedules/{}",
        ui.trim_end_matches('/'),
        super::workflow::path_segment(id)
    )
}
