//! `tenants/<tenant>.toml`: how one tenant's products are enriched. Optional: a tenant without
//! a file is enriched by `taxonomy-rules` with its built-in taxonomy, on request only.
//!
//! ```toml
//! tenant = "demo"                    # must match the file name
//! [enrichment]
//! classifier = "taxonomy-rules"      # an enricher module
//! after_harvest = true               # enrich what each harvest created or changed
//! batch_size = 50                    # products per classifier call (1..=200)
//! parallel_batches = 2               # classifier calls at once (1..=16)
//! retry_max = 3                      # runs a failing product is tried in (1..=20)
//! timeout_secs = 30                  # one classifier call (1..=600)
//! [enrichment.config]                # handed to the classifier, over its manifest defaults
//! threshold = 0.6
//! ```
//!
//! The defaults are the original gardener's (`GARDENER_BATCH_SIZE` 50,
//! `GARDENER_PARALLEL_BATCHES` 2, `GARDENER_RETRY_MAX` 3, `GARDENER_LLM_TIMEOUT` 30).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use contextworker_types::{ModuleName, TenantId};
use serde::Deserialize;

use crate::toml_util::{FileError, scalar_table};

/// The classifier a tenant without a file gets.
pub const DEFAULT_CLASSIFIER: &str = "taxonomy-rules";

/// Errors in tenant files. Each names the file; fix it there.
pub type TenantError = FileError;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TenantToml {
    tenant: String,
    #[serde(default)]
    enrichment: EnrichmentToml,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct EnrichmentToml {
    classifier: Option<String>,
    after_harvest: Option<bool>,
    batch_size: Option<u32>,
    parallel_batches: Option<u32>,
    retry_max: Option<u32>,
    timeout_secs: Option<u64>,
    #[serde(default)]
    config: BTreeMap<String, toml::Value>,
}

/// How a tenant's products are enriched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnrichmentSettings {
    pub classifier: ModuleName,
    /// Config pairs for the classifier, over its manifest defaults.
    pub config: Vec<(String, String)>,
    pub after_harvest: bool,
    pub batch_size: u32,
    pub parallel_batches: u32,
    pub retry_max: u32,
    pub timeout: Duration,
}

impl Default for EnrichmentSettings {
    fn default() -> Self {
        Self {
            // A module name the type accepts, checked by the test below.
            classifier: ModuleName::new(DEFAULT_CLASSIFIER).unwrap_or_else(|_| unreachable!()),
            config: Vec::new(),
            after_harvest: false,
            batch_size: 50,
            parallel_batches: 2,
            retry_max: 3,
            timeout: Duration::from_secs(30),
        }
    }
}

/// A tenant's settings, from its file in `dir`, or the defaults when it has none.
pub fn tenant_enrichment(dir: &Path, tenant: &TenantId) -> Result<EnrichmentSettings, TenantError> {
    let path = dir.join(format!("{}.toml", tenant.as_str()));
    let text = match FileError::read_text(&path) {
        Ok(text) => text,
        Err(e) if e.is_missing() => return Ok(EnrichmentSettings::default()),
        Err(e) => return Err(e),
    };
    parse(&path, tenant, &text)
}

fn parse(path: &Path, tenant: &TenantId, text: &str) -> Result<EnrichmentSettings, TenantError> {
    let raw: TenantToml = FileError::parse(path, text)?;
    let invalid = FileError::invalid_in(path);
    if raw.tenant != tenant.as_str() {
        return Err(invalid(
            "tenant",
            format!(
                "{:?} must match the file name ({}.toml)",
                raw.tenant,
                tenant.as_str()
            ),
        ));
    }
    let e = raw.enrichment;
    let defaults = EnrichmentSettings::default();
    let bounded = |field: &str, value: Option<u32>, default: u32, max: u32| match value {
        None => Ok(default),
        Some(v) if (1..=max).contains(&v) => Ok(v),
        Some(v) => Err(invalid(field, format!("{v} is outside 1..={max}"))),
    };
    let timeout_secs = match e.timeout_secs {
        None => defaults.timeout.as_secs(),
        Some(v) if (1..=600).contains(&v) => v,
        Some(v) => {
            return Err(invalid(
                "enrichment.timeout_secs",
                format!("{v} is outside 1..=600"),
            ));
        }
    };
    Ok(EnrichmentSettings {
        classifier: match e.classifier {
            Some(name) => ModuleName::new(name)
                .map_err(|err| invalid("enrichment.classifier", err.to_string()))?,
            None => defaults.classifier,
        },
        config: scalar_table(&e.config)
            .map_err(|(k, r)| invalid(&format!("enrichment.config.{k}"), r))?,
        after_harvest: e.after_harvest.unwrap_or(false),
        batch_size: bounded(
            "enrichment.batch_size",
            e.batch_size,
            defaults.batch_size,
            MAX_BATCH_SIZE,
        )?,
        parallel_batches: bounded(
            "enrichment.parallel_batches",
            e.parallel_batches,
            defaults.parallel_batches,
            16,
        )?,
        retry_max: bounded("enrichment.retry_max", e.retry_max, defaults.retry_max, 20)?,
        timeout: Duration::from_secs(timeout_secs),
    })
}

/// The most products one classifier call may carry.
pub const MAX_BATCH_SIZE: u32 = 200;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::toml_util::MAX_FILE_BYTES;

    fn tenant() -> TenantId {
        TenantId::new("demo").expect("valid")
    }

    #[test]
    fn a_tenant_without_a_file_gets_the_gardener_defaults() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = tenant_enrichment(dir.path(), &tenant()).expect("defaults");
        assert_eq!(s, EnrichmentSettings::default());
        assert_eq!(s.classifier.as_str(), DEFAULT_CLASSIFIER);
        assert_eq!((s.batch_size, s.parallel_batches, s.retry_max), (50, 2, 3));
    }

    #[test]
    fn a_file_over_the_size_cap_is_refused_unread() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("demo.toml");
        let head = "tenant = \"demo\"\n#";
        let limit = usize::try_from(MAX_FILE_BYTES).expect("fits");
        // Exactly at the cap: read and parsed (the padding is one TOML comment).
        let at_cap = format!("{head}{}\n", "x".repeat(limit - head.len() - 1));
        std::fs::write(&path, &at_cap).expect("write");
        assert_eq!(
            tenant_enrichment(dir.path(), &tenant()).expect("at the cap"),
            EnrichmentSettings::default()
        );
        // One byte over: refused, naming the file and the cap.
        std::fs::write(&path, format!("{at_cap}\n")).expect("write");
        let e = tenant_enrichment(dir.path(), &tenant()).expect_err("over the cap");
        assert!(
            matches!(&e, FileError::TooLarge { path: p, limit } if *p == path && *limit == MAX_FILE_BYTES),
            "{e:?}"
        );
        assert!(
            e.to_string()
                .contains("demo.toml: larger than 1048576 bytes"),
            "{e}"
        );
        // Not text: still a read error, not a parse of replacement characters.
        std::fs::write(&path, b"tenant = \"\xff\"\n").expect("write");
        let e = tenant_enrichment(dir.path(), &tenant()).expect_err("not UTF-8");
        assert!(matches!(e, FileError::Read { .. }), "{e:?}");
    }

    #[test]
    fn a_tenant_file_sets_the_classifier_and_its_config() {
        let text = "tenant = \"demo\"\n[enrichment]\nclassifier = \"llm-classifier\"\nafter_harvest = true\nbatch_size = 20\n[enrichment.config]\nthreshold = 0.5\n";
        let s = parse(Path::new("demo.toml"), &tenant(), text).expect("parses");
        assert_eq!(s.classifier.as_str(), "llm-classifier");
        assert!(s.after_harvest);
        assert_eq!(s.batch_size, 20);
        assert_eq!(s.config, vec![("threshold".to_owned(), "0.5".to_owned())]);
    }

    #[test]
    fn bad_tenant_files_name_the_field() {
        for (text, field) in [
            ("tenant = \"other\"\n", "`tenant`"),
            (
                "tenant = \"demo\"\n[enrichment]\nbatch_size = 0\n",
                "enrichment.batch_size",
            ),
            (
                "tenant = \"demo\"\n[enrichment]\nbatch_size = 201\n",
                "enrichment.batch_size",
            ),
            (
                "tenant = \"demo\"\n[enrichment]\nclassifier = \"../x\"\n",
                "enrichment.classifier",
            ),
            (
                "tenant = \"demo\"\n[enrichment]\nretry_max = 99\n",
                "enrichment.retry_max",
            ),
            (
                "tenant = \"demo\"\n[enrichment.config]\nlist = [1]\n",
                "enrichment.config.list",
            ),
            ("tenant = \"demo\"\nsurprise = 1\n", "surprise"),
        ] {
            let e = parse(Path::new("demo.toml"), &tenant(), text).expect_err(text);
            assert!(e.to_string().contains(field), "{text}: {e}");
        }
    }
}
