//! The resource receipt every guest call reports, success or failure.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::Digest;

/// What one call cost and which code ran. Attached to results, failures, logs and metrics.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    /// The module's name, or the file name for an ad-hoc component.
    pub module: String,
    pub version: String,
    pub digest: Digest,
    /// Wall time of the call: store creation, instantiation, the guest's run.
    #[serde(with = "duration_micros", rename = "wall_time_us")]
    pub wall_time: Duration,
    /// Fuel consumed, when the call was metered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fuel_used: Option<u64>,
    /// The largest size any linear memory of the instance reached.
    pub peak_memory_bytes: u64,
    /// Feed bytes the guest pulled (transformers).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub input_bytes: u64,
    /// Products, classifications or output bytes the guest returned.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub output_items: u64,
    /// Outbound HTTP the guest made through `wasi:http` (modules granted it only).
    #[serde(default, skip_serializing_if = "crate::HttpUsage::is_empty")]
    pub http: crate::HttpUsage,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl std::fmt::Display for Receipt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}@{} ({}) {:.1} ms, peak memory {:.1} MiB",
            self.module,
            self.version,
            self.digest.short(),
            self.wall_time.as_secs_f64() * 1000.0,
            self.peak_memory_bytes as f64 / f64::from(1 << 20)
        )?;
        if let Some(fuel) = self.fuel_used {
            write!(f, ", fuel {fuel}")?;
        }
        let http = &self.http;
        if !http.is_empty() {
            write!(
                f,
                ", http {} request(s) ({} refused), {} B out, {} B in",
                http.requests, http.refused, http.bytes_sent, http.bytes_received
            )?;
            if http.tokens() > 0 {
                write!(f, ", {} LLM tokens", http.tokens())?;
            }
        }
        Ok(())
    }
}

mod duration_micros {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_micros)
    }
}
