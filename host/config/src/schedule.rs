//! `[[schedule]]` in the host config: recurring workflows declared once for many tenants,
//! such as the original ContextWorker's `harvester-daily` and `gardener-every-5min`.
//!
//! ```toml
//! [[schedule]]
//! name = "gardener-every-5min"       # the schedule id is <tenant>:<name>
//! workflow = "GardenerWorkflow"
//! args = ["{tenant}", 50, 10]        # "{tenant}" becomes the tenant it runs for
//! cron = "*/5 * * * *"               # or interval = "5m"
//! timezone = "UTC"                   # optional; cron fields are read in it
//! jitter = "30s"                     # optional
//! overlap = "skip"                   # optional: skip, buffer-one, buffer-all, cancel-other,
//!                                    # terminate-other, allow-all
//! tenants = ["demo"]                 # optional; default every tenant with a supplier or
//!                                    # tenant file
//! task_queue = "contextworker"       # optional; default the first of [worker] task_queues
//! description = "gardener pass"      # optional; shown by `schedules describe`
//! ```
//!
//! `contextworker-host schedules sync` makes Temporal match these and the suppliers'
//! `schedule` fields. Which workflows may be scheduled is checked there, where the workflow
//! names live.

use std::path::Path;

use contextworker_types::{Overlap, ScheduleName, ScheduleSpec, TenantId};
use serde::Deserialize;

use crate::error::ConfigError;

/// The placeholder in `args` for the tenant a schedule is made for.
pub const TENANT_PLACEHOLDER: &str = "{tenant}";

/// `[[schedule]]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleToml {
    pub name: String,
    pub workflow: String,
    #[serde(default)]
    pub args: Vec<toml::Value>,
    pub cron: Option<String>,
    pub interval: Option<String>,
    pub timezone: Option<String>,
    pub jitter: Option<String>,
    pub overlap: Option<String>,
    pub tenants: Option<Vec<String>>,
    pub task_queue: Option<String>,
    #[serde(default)]
    pub description: String,
}

/// A validated `[[schedule]]`.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfiguredSchedule {
    pub name: ScheduleName,
    pub workflow: String,
    /// JSON arguments; the string `{tenant}` stands for the tenant.
    pub args: Vec<serde_json::Value>,
    pub spec: ScheduleSpec,
    pub overlap: Overlap,
    /// `None`: every tenant the host knows.
    pub tenants: Option<Vec<TenantId>>,
    pub task_queue: Option<String>,
    pub description: String,
}

impl ConfiguredSchedule {
    /// `args` for `tenant`: every string equal to `{tenant}` replaced.
    pub fn args_for(&self, tenant: &TenantId) -> Vec<serde_json::Value> {
        self.args
            .iter()
            .map(|a| match a {
                serde_json::Value::String(s) if s == TENANT_PLACEHOLDER => {
                    serde_json::json!(tenant.as_str())
                }
                other => other.clone(),
            })
            .collect()
    }
}

pub(crate) fn resolve(
    path: &Path,
    file: Vec<ScheduleToml>,
) -> Result<Vec<ConfiguredSchedule>, ConfigError> {
    let mut out: Vec<ConfiguredSchedule> = Vec::with_capacity(file.len());
    for table in file {
        let invalid = |key: &'static str, value: &str, reason: String| ConfigError::Invalid {
            path: path.to_path_buf(),
            key,
            value: format!("{value:?}"),
            reason,
        };
        let name = ScheduleName::new(table.name.clone())
            .map_err(|e| invalid("schedule.name", &table.name, e.to_string()))?;
        if out.iter().any(|s| s.name == name) {
            return Err(invalid(
                "schedule.name",
                &table.name,
                "two [[schedule]] tables have this name".to_owned(),
            ));
        }
        let (tz, jitter) = (table.timezone.as_deref(), table.jitter.as_deref());
        let spec = match (&table.cron, &table.interval) {
            (Some(cron), None) => ScheduleSpec::cron(cron, tz, jitter),
            (None, Some(interval)) => ScheduleSpec::interval(interval, tz, jitter),
            _ => {
                return Err(invalid(
                    "schedule.cron",
                    &table.name,
                    "give exactly one of `cron` and `interval`".to_owned(),
                ));
            }
        }
        .map_err(|e| invalid("schedule", &table.name, e.to_string()))?;
        let overlap = table
            .overlap
            .as_deref()
            .map(str::parse)
            .transpose()
            .map_err(|e: contextworker_types::SpecError| {
                invalid("schedule.overlap", &table.name, e.to_string())
            })?
            .unwrap_or_default();
        let tenants = table
            .tenants
            .map(|list| {
                list.into_iter()
                    .map(|t| {
                        TenantId::new(t.clone())
                            .map_err(|e| invalid("schedule.tenants", &t, e.to_string()))
                    })
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?;
        let args = table
            .args
            .iter()
            .map(serde_json::to_value)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| invalid("schedule.args", &table.name, e.to_string()))?;
        out.push(ConfiguredSchedule {
            name,
            workflow: table.workflow,
            args,
            spec,
            overlap,
            tenants,
            task_queue: table.task_queue,
            description: table.description,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{HostConfig, Overrides};

    fn load(text: &str) -> Result<HostConfig, String> {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("host.toml");
        std::fs::write(&path, text).expect("write");
        HostConfig::load(Overrides {
            config_file: Some(path),
            ..Overrides::default()
        })
        .map_err(|e| e.to_string())
    }

    #[test]
    fn the_originals_two_schedules_read_as_written() {
        let config = load(
            "[[schedule]]\nname = \"harvester-daily\"\nworkflow = \"HarvestWorkflow\"\n\
             args = [\"all\", \"{tenant}\"]\ncron = \"0 6 * * *\"\n\
             [[schedule]]\nname = \"gardener-every-5min\"\nworkflow = \"GardenerWorkflow\"\n\
             args = [\"{tenant}\", 50, 10]\ninterval = \"5m\"\ntenants = [\"acme\"]\noverlap = \"buffer-one\"\n",
        )
        .expect("loads");
        let [daily, gardener] = config.schedules.as_slice() else {
            panic!("two schedules: {:?}", config.schedules);
        };
        assert_eq!(daily.spec.to_string(), "cron 0 6 * * *");
        assert_eq!(daily.tenants, None);
        let acme = TenantId::new("acme").expect("tenant");
        assert_eq!(
            daily.args_for(&acme),
            vec![serde_json::json!("all"), serde_json::json!("acme")]
        );
        assert_eq!(
            gardener.args_for(&acme),
            vec![
                serde_json::json!("acme"),
                serde_json::json!(50),
                serde_json::json!(10)
            ]
        );
        assert_eq!(gardener.overlap, Overlap::BufferOne);
        assert_eq!(gardener.tenants, Some(vec![acme]));
    }

    #[test]
    fn a_bad_schedule_table_is_named() {
        let base = "[[schedule]]\nname = \"x\"\nworkflow = \"GardenerWorkflow\"\n";
        for (extra, want) in [
            ("", "give exactly one of `cron` and `interval`"),
            ("cron = \"* * *\"\ninterval = \"5m\"", "give exactly one"),
            ("cron = \"6h\"", "1 fields; a cron expression has 5"),
            ("interval = \"0 6 * * *\"", "duration"),
            ("interval = \"0m\"", "longer than zero"),
            (
                "cron = \"@daily\"\noverlap = \"maybe\"",
                "overlap policy \"maybe\"",
            ),
            (
                "cron = \"@daily\"\ntenants = [\"Not A Tenant\"]",
                "invalid tenant id",
            ),
            ("cron = \"@daily\"\nwhen = 1", "unknown field `when`"),
        ] {
            let err = load(&format!("{base}{extra}\n")).unwrap_err();
            assert!(err.contains(want), "{extra}: {err}");
        }
        let twice = format!("{base}cron = \"@daily\"\n{base}cron = \"@hourly\"\n");
        assert!(
            load(&twice)
                .unwrap_err()
                .contains("two [[schedule]] tables")
        );
    }
}
