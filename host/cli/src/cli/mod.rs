//! The command line: what each command and flag means.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

mod client;
mod modules;
mod schedules;
mod serve;

pub use client::{
    EnrichArgs, HarvestArgs, ImportArgs, RpcArgs, RpcCall, TokenArgs, WaitArgs, WorkflowCommand,
};
pub use modules::{DiffArgs, ExecArgs, FleetArgs, ModulesCommand, SuppliersCommand, TestArgs};
pub use schedules::{CommonArgs, CreateArgs, SchedulesCommand, TimingArgs, UpdateArgs};
pub use serve::{ServeArgs, TemporalArgs};

#[derive(Debug, Parser)]
#[command(
    name = "contextworker-host",
    version,
    about = "Runs supplier feed parsers, classifiers and submitted code as sandboxed WebAssembly components",
    long_about = "Runs supplier feed parsers, classifiers and submitted code as sandboxed WebAssembly components.\n\n\
                  `serve` (also the default without a command) runs the Temporal worker: loads the modules, opens the \
                  staging database and serves the harvest workflows and every module as an activity until \
                  SIGINT/SIGTERM. With --dev it first starts a local Temporal dev server and harvests every enabled \
                  supplier once."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    /// `serve`'s flags, for the bare form.
    #[command(flatten)]
    pub serve: ServeArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// What every command reads: where the host's files are, which modules, and how it logs.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Host configuration file (TOML). Default: contextworker.toml in the working directory, if present.
    #[arg(long, global = true, env = "CONTEXTWORKER_CONFIG", value_name = "FILE")]
    pub host_config: Option<PathBuf>,
    /// Where the host keeps its state: the compiled-component cache, databases, blobs.
    #[arg(
        long,
        global = true,
        env = "CONTEXTWORKER_DATA_DIR",
        value_name = "DIR"
    )]
    pub data_dir: Option<PathBuf>,
    /// The directory of modules: one folder per module with a module.toml and its component.
    #[arg(
        long,
        global = true,
        env = "CONTEXTWORKER_MODULES_DIR",
        value_name = "DIR"
    )]
    pub modules_dir: Option<PathBuf>,
    /// The directory of supplier files (`<code>.toml`).
    #[arg(
        long,
        global = true,
        env = "CONTEXTWORKER_SUPPLIERS_DIR",
        value_name = "DIR"
    )]
    pub suppliers_dir: Option<PathBuf>,
    /// Load only these modules (comma-separated, or the flag repeated): what `serve` loads and
    /// what `modules list` and `validate` show.
    // One value per flag (comma-separated or repeated): with `num_args = 1..` a following
    // subcommand was taken for a module name (`--modules yml modules list` started the worker).
    #[arg(long, global = true, value_delimiter = ',', value_name = "NAME")]
    pub modules: Option<Vec<String>>,
    /// More log output (-v debug, -vv trace). RUST_LOG overrides; without -v/-q, LOG_LEVEL
    /// (DEBUG, INFO, WARNING, ERROR) sets the level.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only warnings and errors in the log.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Log as JSON lines instead of text.
    #[arg(long, global = true)]
    pub log_json: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the Temporal worker and the gRPC service (the default without a command).
    Serve(ServeArgs),
    /// Inspect, validate and try modules.
    #[command(subcommand)]
    Modules(ModulesCommand),
    /// Inspect and check supplier configurations.
    #[command(subcommand)]
    Suppliers(SuppliersCommand),
    /// Run a `code` component in the sandbox and print its output, error and receipt
    /// (the local twin of the ExecuteCode RPC).
    Exec(ExecArgs),
    /// Start HarvestWorkflow for a supplier (fetch → parse → stage) on a running worker.
    Harvest(HarvestArgs),
    /// Start HarvesterImportWorkflow: import one feed URL ad hoc.
    Import(ImportArgs),
    /// Start EnrichmentWorkflow: classify a tenant's pending products with its classifier.
    Enrich(EnrichArgs),
    /// Recurring harvests and gardener passes on Temporal schedules: create, list, describe,
    /// pause, unpause, trigger, update, delete, backfill, and sync from configuration.
    #[command(subcommand)]
    Schedules(SchedulesCommand),
    /// Workflows: status and results.
    #[command(subcommand)]
    Workflow(WorkflowCommand),
    /// Mint a ContextUnity token for the gRPC service (HMAC-signed, or unsigned for development).
    Token(TokenArgs),
    /// Call a running host's gRPC WorkerService.
    Rpc(RpcArgs),
    /// A running worker now: task queues and slots, activities running with their elapsed
    /// time, module versions, recent failures and refusals (from its `--metrics-addr`).
    Status {
        /// The worker's metrics address (`serve --metrics-addr`).
        #[arg(
            long,
            env = "CONTEXTWORKER_METRICS_ADDR",
            default_value = "127.0.0.1:9464"
        )]
        addr: String,
        /// The worker's document as JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Free disk: blobs no running harvest can need (unused for `[storage] blob_keep_hours`),
    /// the compile cache down to its cap, dead temp files. Safe while workers run.
    Gc {
        /// One JSON document instead of text.
        #[arg(long)]
        json: bool,
    },
}

impl Cli {
    /// Parse the command line. The bare form is `serve`: its flags stand before no command,
    /// and a command takes only its own flags, so `--dev modules list` is an error rather than
    /// a worker. (clap's `args_conflicts_with_subcommands` would refuse the global flags too.)
    pub fn parse_scoped() -> Self {
        use clap::{CommandFactory as _, FromArgMatches as _};
        let mut command = Self::command();
        let matches = command.get_matches_mut();
        if let Some((name, _)) = matches.subcommand() {
            let serve_only = ServeArgs::augment_args(clap::Command::new("serve"));
            for arg in serve_only.get_arguments() {
                let id = arg.get_id().as_str();
                if matches.value_source(id) == Some(clap::parser::ValueSource::CommandLine) {
                    let flag = arg.get_long().unwrap_or(id);
                    command
                        .error(
                            clap::error::ErrorKind::ArgumentConflict,
                            format!(
                                "--{flag} is a flag of `serve`, not of `{name}`; \
                                 write it after the command that takes it"
                            ),
                        )
                        .exit();
                }
            }
        }
        Self::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
    }
}

pub(crate) fn parse_key_value(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_owned(), v.to_owned())),
        _ => Err(format!("expected KEY=VALUE, got {s:?}")),
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    #[test]
    fn every_command_line_definition_is_consistent() {
        // clap checks flag clashes only when a command is first built; this builds them all.
        super::Cli::command().debug_assert();
    }
}
