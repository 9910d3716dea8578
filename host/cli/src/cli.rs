//! The command line: what each command and flag means.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "contextworker-host",
    version,
    about = "Runs supplier feed parsers, classifiers and submitted code as sandboxed WebAssembly components",
    long_about = "Runs supplier feed parsers, classifiers and submitted code as sandboxed WebAssembly components.\n\n\
                  Without a command it starts the host: discovers the modules directory, validates and loads every \
                  module, and reports one line per module."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
}

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
    /// Load only these modules (space- or comma-separated names).
    #[arg(long, global = true, num_args = 1.., value_delimiter = ',', value_name = "NAME")]
    pub modules: Option<Vec<String>>,
    /// Start a local Temporal dev server (`temporal server start-dev`) with its database in the
    /// data directory, and stop it on exit.
    #[arg(long, global = true)]
    pub dev: bool,
    /// The dev server's gRPC port.
    #[arg(long, global = true, default_value_t = 7233)]
    pub dev_port: u16,
    /// The dev server's web UI port.
    #[arg(long, global = true, default_value_t = 8233)]
    pub dev_ui_port: u16,
    /// More log output (-v debug, -vv trace). RUST_LOG overrides.
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
    /// Inspect, validate and try modules.
    #[command(subcommand)]
    Modules(ModulesCommand),
    /// Inspect and check supplier configurations.
    #[command(subcommand)]
    Suppliers(SuppliersCommand),
    /// Run a `code` component in the sandbox and print its output, error and receipt
    /// (the local twin of the ExecuteCode RPC).
    Exec(ExecArgs),
}

#[derive(Debug, Subcommand)]
pub enum ModulesCommand {
    /// List the modules of the modules directory: version, world, digest, load time.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Load every module and run its manifest's self-tests. Exits non-zero if any fails.
    Validate,
    /// Run a transformer on a local feed: products as NDJSON on stdout, a summary on stderr.
    Test(TestArgs),
}

#[derive(Debug, Subcommand)]
pub enum SuppliersCommand {
    /// List the suppliers: code, tenant, module, source, enabled.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Check every supplier: the file parses, its module exists and is a transformer, the
    /// environment variables its credentials name are set, and a local (file:) feed parses
    /// with its configuration. Exits non-zero if any check fails.
    Validate,
}

#[derive(Debug, Args)]
pub struct TestArgs {
    /// A module name from the modules directory, or a path to a transformer .wasm component.
    pub module: String,
    /// The feed file to parse.
    pub input: PathBuf,
    /// Module configuration, overriding the manifest's defaults (repeatable).
    #[arg(long = "config", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub config: Vec<(String, String)>,
}

#[derive(Debug, Args)]
pub struct ExecArgs {
    /// The `code` component to run (.wasm).
    pub component: PathBuf,
    /// Input: a string, or @FILE to read a file (bytes that are not UTF-8 are passed as binary).
    #[arg(long, value_name = "STRING|@FILE")]
    pub input: Option<String>,
    /// CPU deadline in milliseconds.
    #[arg(long, default_value_t = 5000)]
    pub timeout_ms: u64,
    /// Linear memory limit in MiB.
    #[arg(long, default_value_t = 64)]
    pub memory_mb: u64,
    /// Deterministic instruction budget (turns fuel metering on).
    #[arg(long)]
    pub fuel: Option<u64>,
    /// Output size limit in bytes.
    #[arg(long, default_value_t = 1 << 20)]
    pub max_output_bytes: u64,
    /// Configuration the component reads (repeatable).
    #[arg(long = "config", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub config: Vec<(String, String)>,
    /// Print one JSON document (output, stdout, stderr, error, receipt) instead of text.
    #[arg(long)]
    pub json: bool,
}

fn parse_key_value(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_owned(), v.to_owned())),
        _ => Err(format!("expected KEY=VALUE, got {s:?}")),
    }
}
