//! One file per command. Each returns the process exit code.

mod diff;
mod exec;
mod first_run;
mod fleet;
mod gardener;
mod gc;
mod modules;
mod observe;
mod rpc;
mod schedules;
mod start;
mod suppliers;
mod swap;
mod token;
mod workflow;

use crate::cli::{Cli, Command, ModulesCommand, SuppliersCommand, WorkflowCommand};

/// The command did what was asked.
pub const EXIT_OK: u8 = 0;
/// The guest call or a check failed (a typed error was printed).
pub const EXIT_FAILED: u8 = 1;
/// The command could not start: bad arguments, a missing file, a component that does not load.
pub const EXIT_SETUP: u8 = 2;

pub async fn run(cli: Cli) -> u8 {
    let result = match cli.command {
        None => start::run(&cli.global, &cli.serve).await,
        Some(Command::Serve(serve)) => start::run(&cli.global, &serve).await,
        Some(Command::Modules(ModulesCommand::List {
            json,
            fleet: true,
            fleet_args,
        })) => fleet::list(&cli.global, &fleet_args, json).await,
        Some(Command::Modules(ModulesCommand::List { json, .. })) => {
            modules::list(&cli.global, json).await
        }
        Some(Command::Modules(ModulesCommand::Publish {
            module,
            timeout_secs,
            fleet_args,
        })) => {
            let change = fleet::Change::Publish;
            fleet::release(&cli.global, &fleet_args, change, &module, timeout_secs).await
        }
        Some(Command::Modules(ModulesCommand::Validate)) => modules::validate(&cli.global).await,
        Some(Command::Modules(ModulesCommand::Reload { timeout_secs })) => {
            swap::reload(&cli.global, timeout_secs).await
        }
        Some(Command::Modules(ModulesCommand::Rollback {
            module,
            timeout_secs,
            fleet: true,
            fleet_args,
            ..
        })) => {
            let change = fleet::Change::Rollback;
            fleet::release(&cli.global, &fleet_args, change, &module, timeout_secs).await
        }
        Some(Command::Modules(ModulesCommand::Rollback {
            module,
            to,
            timeout_secs,
            ..
        })) => swap::rollback(&cli.global, &module, to.as_deref(), timeout_secs).await,
        Some(Command::Modules(ModulesCommand::Diff(args))) => diff::run(&cli.global, args).await,
        Some(Command::Modules(ModulesCommand::Test(args))) => {
            modules::test(&cli.global, args).await
        }
        Some(Command::Suppliers(SuppliersCommand::List { json })) => {
            suppliers::list(&cli.global, json)
        }
        Some(Command::Suppliers(SuppliersCommand::Validate)) => {
            suppliers::validate(&cli.global).await
        }
        Some(Command::Exec(args)) => exec::run(&cli.global, args).await,
        Some(Command::Harvest(args)) => workflow::harvest(&cli.global, args).await,
        Some(Command::Import(args)) => workflow::import(&cli.global, args).await,
        Some(Command::Enrich(args)) => workflow::enrich(&cli.global, args).await,
        Some(Command::Schedules(command)) => schedules::run(&cli.global, command).await,
        Some(Command::Token(args)) => token::run(&args),
        Some(Command::Rpc(args)) => rpc::run(args).await,
        Some(Command::Gc { json }) => gc::run(&cli.global, json).await,
        Some(Command::Status { addr, json }) => observe::status(&addr, json).await,
        Some(Command::Workflow(WorkflowCommand::Status {
            id,
            wait,
            json,
            temporal,
        })) => workflow::status(&cli.global, &temporal, &id, wait, json).await,
    };
    result.unwrap_or_else(|e| {
        eprintln!("error: {}", chain(&e));
        EXIT_SETUP
    })
}

/// An error and its causes on one line, each cause once: anyhow's `{e:#}` would print a
/// cause again after a wrapper that already shows it (`modules directory …: No such file or
/// directory (os error 2): No such file or directory (os error 2)`).
fn chain(e: &anyhow::Error) -> String {
    contextworker_types::error_chain(&**e)
}

/// A token cancelled on Ctrl-C, so an interrupted guest stops cleanly and still reports.
fn cancel_on_ctrl_c() -> contextworker_runtime::CancellationToken {
    let token = contextworker_runtime::CancellationToken::new();
    let child = token.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            child.cancel();
        }
    });
    token
}
