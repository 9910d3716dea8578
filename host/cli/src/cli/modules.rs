//! The flags of the commands about modules and suppliers: `modules`, `suppliers`, `exec`.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::parse_key_value;

#[derive(Debug, Subcommand)]
pub enum ModulesCommand {
    /// List the modules: with a worker running on this data directory, what it serves (active
    /// version, digest, since when, staged candidate, refusals); else what the modules
    /// directory holds. Previous versions come from the version store.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// The fleet's view instead: each module's release and history, and what every host
        /// serves and refused (from the fleet's database).
        #[arg(long)]
        fleet: bool,
        #[command(flatten)]
        fleet_args: FleetArgs,
    },
    /// Release the module in the modules directory to the whole fleet: it is validated here
    /// (loads, its world, compatibility with the current release, its self-tests), put in the
    /// fleet's bucket by digest and made the release; every host validates it too and swaps,
    /// or refuses and says why. Waits for every host and prints what each did.
    Publish {
        /// The module, as the modules directory defines it.
        module: String,
        /// Give up waiting for the hosts after this many seconds.
        #[arg(long, default_value_t = 30)]
        timeout_secs: u64,
        #[command(flatten)]
        fleet_args: FleetArgs,
    },
    /// Ask the running workers of this data directory to read the modules directory again
    /// (as SIGHUP does) and print what each swapped or refused.
    Reload {
        /// Give up waiting for a worker after this many seconds.
        #[arg(long, default_value_t = 60)]
        timeout_secs: u64,
    },
    /// Go back to a kept version of a module: it is written back into the modules directory
    /// (so a restart keeps it) and the running workers switch to it.
    Rollback {
        /// The module.
        module: String,
        /// The version to go back to: a digest or a unique prefix of its hex digits. Default:
        /// the version that was active before the current one.
        #[arg(long, value_name = "DIGEST", conflicts_with = "fleet")]
        to: Option<String>,
        /// Give up waiting for a worker after this many seconds.
        #[arg(long, default_value_t = 60)]
        timeout_secs: u64,
        /// Roll the whole fleet back: the release before the current one becomes the release
        /// again (recorded in the history), and every host swaps to it.
        #[arg(long)]
        fleet: bool,
        #[command(flatten)]
        fleet_args: FleetArgs,
    },
    /// Run the active version of a transformer and a candidate component on the same feed and
    /// print what differs, record by record. Exits 0 when the outputs are the same, 1 when
    /// they differ, 2 when either cannot run.
    Diff(DiffArgs),
    /// Load every module and run its manifest's self-tests. Exits non-zero if any fails.
    Validate,
    /// Run a transformer on a local feed: products as NDJSON on stdout, a summary on stderr.
    Test(TestArgs),
}

/// Where the fleet's shared state is, as `serve` takes it (or the host config file's values).
#[derive(Debug, Args)]
pub struct FleetArgs {
    /// The fleet's PostgreSQL database (releases and hosts live beside the staging tables).
    #[arg(long, env = "DATABASE_URL", value_name = "URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// The fleet's bucket, `s3://bucket/prefix` (credentials and endpoint from AWS_*).
    #[arg(long, env = "CONTEXTWORKER_BLOB_STORE", value_name = "URL")]
    pub blob_store: Option<String>,
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
    /// A module name from the modules directory, or a path to a .wasm component (a
    /// transformer or an enricher).
    pub module: String,
    /// The feed file to parse; for an enricher, products as NDJSON.
    pub input: PathBuf,
    /// Module configuration, overriding the manifest's defaults (repeatable).
    #[arg(long = "config", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub config: Vec<(String, String)>,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The module, as the modules directory defines it (its active version is compared).
    pub module: String,
    /// The candidate component (.wasm), run with the module's manifest.
    pub candidate: PathBuf,
    /// The feed file both parse.
    pub feed: PathBuf,
    /// Configuration for both runs, overriding the manifest's defaults (repeatable).
    #[arg(long = "config", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub config: Vec<(String, String)>,
    /// Configuration for the candidate only, on top of --config (repeatable).
    #[arg(long = "candidate-config", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub candidate_config: Vec<(String, String)>,
    /// How many records of each kind (added, removed, changed) to print.
    #[arg(long, default_value_t = 20)]
    pub samples: usize,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ExecArgs {
    /// The `code` component to run (.wasm).
    #[arg(required_unless_present = "js")]
    pub component: Option<PathBuf>,
    /// Run this JavaScript file instead, in the modules directory's `js` module (the engine
    /// behind ExecuteCode's `javascript`); --input is given to it as `input` (parsed as JSON
    /// when it is JSON).
    #[arg(long, value_name = "FILE", conflicts_with = "component")]
    pub js: Option<PathBuf>,
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
