//! `schedules`: recurring harvests and gardener passes on Temporal schedules.

use clap::{Args, Subcommand};
use contextworker_types::defaults::DEFAULT_TENANT;

use super::TemporalArgs;

#[derive(Debug, Subcommand)]
pub enum SchedulesCommand {
    /// Create a schedule `<tenant>:<name>` that starts a workflow on a cron or an interval.
    Create(CreateArgs),
    /// Every schedule in the namespace: state, next run, last run.
    List {
        /// Only this tenant's.
        #[arg(long, value_parser = tenant_id)]
        tenant: Option<String>,
        #[command(flatten)]
        common: CommonArgs,
    },
    /// One schedule in full: timing, workflow and arguments, state and note, next runs, recent
    /// runs with their status, counts.
    Describe {
        /// The schedule id (`<tenant>:<name>`, as `list` shows it).
        id: String,
        #[command(flatten)]
        common: CommonArgs,
    },
    /// Stop starting runs until unpaused; the note says why and shows in `describe`.
    Pause {
        id: String,
        #[arg(long)]
        note: Option<String>,
        #[command(flatten)]
        common: CommonArgs,
    },
    /// Start runs again.
    Unpause {
        id: String,
        #[arg(long)]
        note: Option<String>,
        #[command(flatten)]
        common: CommonArgs,
    },
    /// Start one run now.
    Trigger {
        id: String,
        /// What to do if a run is going: by default start beside it.
        #[arg(long, default_value = "allow-all", value_parser = overlap)]
        overlap: contextworker_types::Overlap,
        #[command(flatten)]
        common: CommonArgs,
    },
    /// Change a schedule's timing, overlap policy, arguments or note; the rest stays.
    Update(UpdateArgs),
    /// Delete a schedule. Runs it started go on.
    Delete {
        id: String,
        #[command(flatten)]
        common: CommonArgs,
    },
    /// Take the runs the schedule would have started between two times (RFC 3339).
    Backfill {
        id: String,
        #[arg(long, value_parser = humantime::parse_rfc3339_weak)]
        start: std::time::SystemTime,
        #[arg(long, value_parser = humantime::parse_rfc3339_weak)]
        end: std::time::SystemTime,
        #[arg(long, default_value = "allow-all", value_parser = overlap)]
        overlap: contextworker_types::Overlap,
        #[command(flatten)]
        common: CommonArgs,
    },
    /// Make Temporal match the configuration: suppliers' `schedule` and the host config's
    /// `[[schedule]]` tables. Creates, updates and deletes only the schedules sync made.
    Sync {
        /// Print the plan; change nothing.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        common: CommonArgs,
    },
}

/// Flags every `schedules` command takes.
#[derive(Debug, Args)]
pub struct CommonArgs {
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// The Temporal web UI, for links in the output.
    #[arg(long, env = "TEMPORAL_UI_URL", default_value = "http://localhost:8233")]
    pub ui_url: String,
    #[command(flatten)]
    pub temporal: TemporalArgs,
}

/// When a schedule fires.
#[derive(Debug, Args)]
pub struct TimingArgs {
    /// A 5-field cron expression (`0 */6 * * *`), read in --timezone.
    #[arg(long, value_name = "EXPR", conflicts_with = "interval")]
    pub cron: Option<String>,
    /// An interval instead: `30m`, `6h`, `1d`, `1h30m`.
    #[arg(long, value_name = "DURATION")]
    pub interval: Option<String>,
    /// IANA time zone for --cron (default UTC).
    #[arg(long, value_name = "TZ")]
    pub timezone: Option<String>,
    /// Start each run up to this much later, at random (`30s`, `5m`).
    #[arg(long, value_name = "DURATION")]
    pub jitter: Option<String>,
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// The schedule's name within the tenant; its id is `<tenant>:<name>`.
    #[arg(value_parser = schedule_name)]
    pub name: String,
    /// The tenant the runs act for.
    #[arg(long, env = "CONTEXTWORKER_TENANT", default_value = DEFAULT_TENANT, value_parser = tenant_id)]
    pub tenant: String,
    /// Harvest this supplier (HarvestWorkflow; the supplier file must exist and be the tenant's).
    #[arg(long, conflicts_with_all = ["gardener", "workflow"])]
    pub supplier: Option<String>,
    /// A gardener pass over the tenant's pending products (GardenerWorkflow).
    #[arg(long, conflicts_with = "workflow")]
    pub gardener: bool,
    /// Another of the host's workflows by name, with --arg.
    #[arg(long)]
    pub workflow: Option<String>,
    /// A positional argument as JSON (repeatable); `{tenant}` stands for the tenant.
    #[arg(long = "arg", value_name = "JSON")]
    pub args: Vec<String>,
    #[command(flatten)]
    pub timing: TimingArgs,
    /// What to do when a run is due while the last still runs.
    #[arg(long, default_value = "skip", value_parser = overlap)]
    pub overlap: contextworker_types::Overlap,
    /// Create it paused.
    #[arg(long)]
    pub paused: bool,
    /// A note on its state (why it is paused, who made it).
    #[arg(long, default_value = "")]
    pub note: String,
    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(Debug, Args)]
pub struct UpdateArgs {
    pub id: String,
    #[command(flatten)]
    pub timing: TimingArgs,
    #[arg(long, value_parser = overlap)]
    pub overlap: Option<contextworker_types::Overlap>,
    /// Replace the positional arguments (JSON, repeatable).
    #[arg(long = "arg", value_name = "JSON")]
    pub args: Vec<String>,
    /// Replace the note.
    #[arg(long)]
    pub note: Option<String>,
    #[command(flatten)]
    pub common: CommonArgs,
}

fn tenant_id(s: &str) -> Result<String, contextworker_types::IdError> {
    contextworker_types::TenantId::new(s).map(|t| t.as_str().to_owned())
}

fn schedule_name(s: &str) -> Result<String, contextworker_types::IdError> {
    contextworker_types::ScheduleName::new(s).map(|t| t.as_str().to_owned())
}

fn overlap(s: &str) -> Result<contextworker_types::Overlap, contextworker_types::SpecError> {
    s.parse()
}
