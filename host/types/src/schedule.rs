//! When a schedule fires: a 5-field cron expression read in a time zone, or a fixed interval,
//! with optional jitter. Checked here, before anything reaches Temporal, so a bad supplier file
//! or command line names the field at fault and nothing is created.
//!
//! The cron dialect is the part of Temporal's that the original ContextWorker used:
//! `minute hour day-of-month month day-of-week`, each field `*`, a number or name, a range
//! `a-b`, a step `*/n` or `a-b/n`, or a comma list of those; and the macros `@hourly`,
//! `@daily`, `@weekly`, `@monthly`, `@yearly`. Whether a time zone name exists is the
//! server's to say (its database is the one the schedule runs by); here only its form is
//! checked.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Why a schedule's timing was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    #[error("cron {expr:?}: {reason}")]
    Cron { expr: String, reason: String },
    #[error("duration {value:?}: {reason}")]
    Duration { value: String, reason: String },
    #[error("interval {value:?}: an interval must be longer than zero")]
    ZeroInterval { value: String },
    #[error("time zone {value:?}: not an IANA name such as `Europe/Kyiv` or `UTC`")]
    Timezone { value: String },
    #[error("overlap policy {value:?}: use one of {}", Overlap::NAMES.join(", "))]
    Overlap { value: String },
}

/// What fires the schedule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Timing {
    /// A validated cron expression, fields separated by single spaces.
    Cron(String),
    /// Every this long, counted from the Unix epoch (so `6h` fires at 00:00, 06:00, … UTC).
    Interval(#[serde(with = "secs")] Duration),
}

/// A schedule's timing as a user writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduleSpec {
    pub timing: Timing,
    /// IANA name; `None` is UTC. Applies to cron timings.
    pub timezone: Option<String>,
    /// Each run starts up to this much later, at random, so many schedules with one spec do
    /// not start at the same instant.
    #[serde(with = "opt_secs")]
    pub jitter: Option<Duration>,
}

/// Longest interval or jitter accepted: a year.
const MAX_DURATION: Duration = Duration::from_secs(366 * 24 * 3600);

impl ScheduleSpec {
    /// `when` is a cron expression (it has spaces or starts with `@`) or an interval
    /// (`30m`, `6h`, `1h30m`, `1d`).
    pub fn parse(
        when: &str,
        timezone: Option<&str>,
        jitter: Option<&str>,
    ) -> Result<Self, SpecError> {
        let when = when.trim();
        if when.starts_with('@') || when.contains(char::is_whitespace) {
            Self::cron(when, timezone, jitter)
        } else {
            Self::interval(when, timezone, jitter)
        }
    }

    /// A cron expression, whatever it looks like (`6h` is refused as a cron, not taken as an
    /// interval).
    pub fn cron(
        expr: &str,
        timezone: Option<&str>,
        jitter: Option<&str>,
    ) -> Result<Self, SpecError> {
        Self::with(Timing::Cron(parse_cron(expr.trim())?), timezone, jitter)
    }

    /// An interval (`30m`, `6h`, `1h30m`, `1d`); zero is refused.
    pub fn interval(
        every: &str,
        timezone: Option<&str>,
        jitter: Option<&str>,
    ) -> Result<Self, SpecError> {
        let every_text = every.trim();
        let every = parse_duration(every_text)?;
        if every.is_zero() {
            return Err(SpecError::ZeroInterval {
                value: every_text.to_owned(),
            });
        }
        Self::with(Timing::Interval(every), timezone, jitter)
    }

    fn with(
        timing: Timing,
        timezone: Option<&str>,
        jitter: Option<&str>,
    ) -> Result<Self, SpecError> {
        let timezone = timezone
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(check_timezone)
            .transpose()?;
        let jitter = jitter
            .map(parse_duration)
            .transpose()?
            .filter(|j| !j.is_zero());
        Ok(Self {
            timing,
            timezone,
            jitter,
        })
    }
}

impl fmt::Display for ScheduleSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.timing {
            Timing::Cron(expr) => write!(f, "cron {expr}")?,
            Timing::Interval(every) => write!(f, "every {}", format_duration(*every))?,
        }
        if let Some(tz) = &self.timezone {
            write!(f, " ({tz})")?;
        }
        if let Some(jitter) = self.jitter {
            write!(f, ", jitter {}", format_duration(jitter))?;
        }
        Ok(())
    }
}

/// What a schedule does when a run is due while the last one still runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Overlap {
    /// Do not start it (the default: a harvest that runs long is never doubled).
    #[default]
    Skip,
    /// Start it once the running one ends; at most one waits.
    BufferOne,
    /// Start every missed run, one after another.
    BufferAll,
    /// Cancel the running one, then start.
    CancelOther,
    /// Terminate the running one, then start.
    TerminateOther,
    /// Start it beside the running one.
    AllowAll,
}

impl Overlap {
    pub const NAMES: &[&str] = &[
        "skip",
        "buffer-one",
        "buffer-all",
        "cancel-other",
        "terminate-other",
        "allow-all",
    ];
    const ALL: [Overlap; 6] = [
        Self::Skip,
        Self::BufferOne,
        Self::BufferAll,
        Self::CancelOther,
        Self::TerminateOther,
        Self::AllowAll,
    ];

    pub fn as_str(self) -> &'static str {
        Self::NAMES[Self::ALL.iter().position(|o| *o == self).unwrap_or(0)]
    }
}

impl FromStr for Overlap {
    type Err = SpecError;
    fn from_str(s: &str) -> Result<Self, SpecError> {
        Self::NAMES
            .iter()
            .position(|n| *n == s)
            .map(|i| Self::ALL[i])
            .ok_or_else(|| SpecError::Overlap {
                value: s.to_owned(),
            })
    }
}

impl fmt::Display for Overlap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

const MACROS: &[&str] = &["@hourly", "@daily", "@weekly", "@monthly", "@yearly"];
const MONTHS: &[&str] = &[
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const DAYS: &[&str] = &["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

struct Field {
    name: &'static str,
    min: u32,
    max: u32,
    /// Names for the values from `min` on.
    names: &'static [&'static str],
}

const FIELDS: [Field; 5] = [
    Field {
        name: "minute",
        min: 0,
        max: 59,
        names: &[],
    },
    Field {
        name: "hour",
        min: 0,
        max: 23,
        names: &[],
    },
    Field {
        name: "day of month",
        min: 1,
        max: 31,
        names: &[],
    },
    Field {
        name: "month",
        min: 1,
        max: 12,
        names: MONTHS,
    },
    Field {
        name: "day of week",
        min: 0,
        max: 6,
        names: DAYS,
    },
];

/// Longest cron expression read (the longest sensible one, every value of every field
/// listed, is under 200 characters).
const MAX_CRON_LEN: usize = 256;

/// Check a cron expression; return it with its fields separated by single spaces.
fn parse_cron(expr: &str) -> Result<String, SpecError> {
    if expr.len() > MAX_CRON_LEN {
        return Err(SpecError::Cron {
            expr: format!("{}…", expr.chars().take(32).collect::<String>()),
            reason: format!("longer than {MAX_CRON_LEN} characters"),
        });
    }
    let fail = |reason: String| SpecError::Cron {
        expr: expr.to_owned(),
        reason,
    };
    if expr.starts_with('@') {
        let lower = expr.to_ascii_lowercase();
        return match MACROS.iter().find(|m| **m == lower) {
            Some(m) => Ok((*m).to_owned()),
            None => Err(fail(format!(
                "unknown macro; use one of {} (or an interval such as `6h`)",
                MACROS.join(", ")
            ))),
        };
    }
    let parts: Vec<&str> = expr.split_whitespace().collect();
    if parts.len() != FIELDS.len() {
        return Err(fail(format!(
            "{} fields; a cron expression has 5: minute hour day-of-month month day-of-week",
            parts.len()
        )));
    }
    for (index, (part, field)) in parts.iter().zip(&FIELDS).enumerate() {
        check_field(part, field)
            .map_err(|reason| fail(format!("field {} ({}): {reason}", index + 1, field.name)))?;
    }
    Ok(parts.join(" "))
}

fn check_field(text: &str, field: &Field) -> Result<(), String> {
    for item in text.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((range, step)) => (range, Some(step)),
            None => (item, None),
        };
        let (low, high) = match range {
            "*" => (field.min, field.max),
            _ => match range.split_once('-') {
                Some((a, b)) => (value(a, field)?, value(b, field)?),
                None => {
                    let v = value(range, field)?;
                    // `a/n` means from a to the end, stepping n.
                    (v, if step.is_some() { field.max } else { v })
                }
            },
        };
        if low > high {
            return Err(format!("range {range:?} runs backwards"));
        }
        if let Some(step) = step {
            let n: u32 = step
                .parse()
                .map_err(|_| format!("step {step:?} is not a number"))?;
            if n == 0 || n > field.max - field.min + 1 {
                return Err(format!(
                    "step {n} is outside 1-{}",
                    field.max - field.min + 1
                ));
            }
        }
    }
    Ok(())
}

fn value(text: &str, field: &Field) -> Result<u32, String> {
    let lower = text.to_ascii_lowercase();
    if let Some(i) = field.names.iter().position(|n| *n == lower) {
        return Ok(field.min + i as u32);
    }
    let v: u32 = text.parse().map_err(|_| {
        if text.is_empty() {
            "an empty value".to_owned()
        } else {
            format!("{text:?} is not a number")
        }
    })?;
    if !(field.min..=field.max).contains(&v) {
        return Err(format!("{v} is outside {}-{}", field.min, field.max));
    }
    Ok(v)
}

fn check_timezone(tz: &str) -> Result<String, SpecError> {
    let ok = tz.len() <= 64
        && tz.starts_with(|c: char| c.is_ascii_alphabetic())
        && !tz.contains("..")
        && tz
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '_' | '-' | '+'));
    if ok {
        Ok(tz.to_owned())
    } else {
        Err(SpecError::Timezone {
            value: tz.to_owned(),
        })
    }
}

/// `90s`, `30m`, `6h`, `1d`, or several (`1h30m`).
pub fn parse_duration(text: &str) -> Result<Duration, SpecError> {
    let fail = |reason: &str| SpecError::Duration {
        value: text.to_owned(),
        reason: reason.to_owned(),
    };
    let mut total: u64 = 0;
    let mut digits = String::new();
    if text.is_empty() {
        return Err(fail("empty; write e.g. 30m, 6h or 1d"));
    }
    for c in text.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => return Err(fail("use a number and a unit: s, m, h or d (e.g. 30m, 6h)")),
        };
        let n: u64 = digits
            .parse()
            .map_err(|_| fail("each unit needs a number before it"))?;
        digits.clear();
        total = n
            .checked_mul(unit)
            .and_then(|s| total.checked_add(s))
            .filter(|t| *t <= MAX_DURATION.as_secs())
            .ok_or_else(|| fail("longer than a year"))?;
    }
    if !digits.is_empty() {
        return Err(fail("a number needs a unit: s, m, h or d"));
    }
    Ok(Duration::from_secs(total))
}

/// The shortest text [`parse_duration`] reads back as `d` (whole seconds).
pub fn format_duration(d: Duration) -> String {
    let mut secs = d.as_secs();
    if secs == 0 {
        return "0s".to_owned();
    }
    let mut out = String::new();
    for (unit, name) in [(86_400, 'd'), (3600, 'h'), (60, 'm'), (1, 's')] {
        if secs >= unit {
            out.push_str(&format!("{}{name}", secs / unit));
            secs %= unit;
        }
    }
    out
}

mod secs {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_secs())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_secs)
    }
}

mod opt_secs {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_some(&d.as_secs()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        Option::<u64>::deserialize(d).map(|o| o.map(Duration::from_secs))
    }
}

#[cfg(test)]
mod tests;
