//! `module.toml`: what a module is and needs. Parsed strictly (unknown keys are errors, so a
//! typo never silently falls back to a default), then resolved into a validated [`Manifest`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use contextworker_types::{Limits, MIB, Metering, ModuleName, World};
use serde::Deserialize;

mod detect;
mod http;

pub use detect::{Detect, Detected, FeedHead, SNIFF_BYTES, detect};

/// A manifest that cannot be used. Each names the file; the fix is in that file.
pub type ManifestError = contextworker_config::FileError;

pub const MANIFEST_FILE: &str = "module.toml";

/// A file name editors and copy tools use for a file being written, to be renamed into place
/// (`.x`, `x~`, `x.tmp`, `x.part`, `x.swp`). The watcher ignores such files, so a component
/// may not have such a name: a swap of it would go unseen.
pub fn is_scratch_name(name: &str) -> bool {
    name.starts_with('.')
        || name.ends_with('~')
        || [".tmp", ".part", ".swp"]
            .iter()
            .any(|suffix| name.ends_with(suffix))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ManifestToml {
    name: String,
    version: String,
    world: String,
    description: String,
    component: Option<PathBuf>,
    #[serde(default)]
    limits: LimitsToml,
    #[serde(default)]
    config: BTreeMap<String, toml::Value>,
    #[serde(default)]
    self_test: Vec<SelfTestToml>,
    #[serde(default)]
    rollout: RolloutToml,
    detect: Option<detect::DetectToml>,
    http: Option<http::HttpToml>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RolloutToml {
    #[serde(default)]
    shadow: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitsToml {
    memory_mb: Option<u64>,
    timeout_ms: Option<u64>,
    fuel: Option<u64>,
    max_output_mb: Option<u64>,
    max_table_elements: Option<u32>,
    max_instances: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SelfTestToml {
    input: PathBuf,
    products: Option<u64>,
    warnings: Option<u64>,
    output_contains: Option<String>,
    classified: Option<u64>,
    #[serde(default)]
    config: BTreeMap<String, toml::Value>,
}

/// A validated manifest.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// The `module.toml` file.
    pub path: PathBuf,
    pub name: ModuleName,
    pub version: semver::Version,
    pub world: World,
    pub description: String,
    /// Absolute or manifest-relative path of the component, resolved.
    pub component: PathBuf,
    pub limits: Limits,
    /// Fuel metering is on when the manifest sets a fuel budget.
    pub metering: Metering,
    /// Configuration defaults; supplier or caller configuration overlays them.
    pub config: Vec<(String, String)>,
    pub self_tests: Vec<SelfTest>,
    /// `[rollout] shadow = true`: a new version of this module is staged next to the active
    /// one, not promoted; real parses run on both and their difference is recorded.
    pub shadow: bool,
    /// `[detect]`: how this transformer recognises its feeds when a harvest names no module.
    pub detect: Option<Detect>,
    /// `[http]`: the outbound HTTP the module asks for, as written (the operator's
    /// configuration may narrow it when the module loads). `None`: no network at all.
    pub http: Option<contextworker_types::HttpGrant>,
    /// The manifest as written, kept with every version so a kept version can be restored.
    pub text: String,
}

/// What a self-test expects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SelfTestExpectation {
    /// A transformer yields exactly this many products (and warnings, when given).
    Products {
        products: u64,
        warnings: Option<u64>,
    },
    /// A code module's output contains this text.
    OutputContains(String),
    /// An enricher classifies exactly this many of the input's products.
    Classified(u64),
    /// The call succeeds.
    Succeeds,
}

#[derive(Debug, Clone)]
pub struct SelfTest {
    pub input: PathBuf,
    pub expect: SelfTestExpectation,
    pub config: Vec<(String, String)>,
}

impl Manifest {
    /// Read and validate `path`. `memory_ceiling` is the runtime's largest allowed memory.
    pub fn read(path: &Path, memory_ceiling: u64) -> Result<Self, ManifestError> {
        let text = ManifestError::read_text(path)?;
        Self::parse(path, &text, memory_ceiling)
    }

    pub fn parse(path: &Path, text: &str, memory_ceiling: u64) -> Result<Self, ManifestError> {
        let raw: ManifestToml = ManifestError::parse(path, text)?;
        let invalid = ManifestError::invalid_in(path);
        let name = ModuleName::new(raw.name).map_err(|e| invalid("name", e.to_string()))?;
        let version = semver::Version::parse(&raw.version).map_err(|e| {
            invalid(
                "version",
                format!(
                    "{:?} is not a semantic version (like 1.2.0): {e}",
                    raw.version
                ),
            )
        })?;
        let world: World = raw
            .world
            .parse()
            .map_err(|e: contextworker_types::WorldParseError| invalid("world", e.to_string()))?;
        let dir = path.parent().unwrap_or(Path::new("."));
        let component = dir.join(
            raw.component
                .unwrap_or_else(|| PathBuf::from(format!("{name}.wasm"))),
        );
        if component
            .file_name()
            .and_then(|n| n.to_str())
            .is_none_or(is_scratch_name)
        {
            return Err(invalid(
                "component",
                format!(
                    "{}: a temporary file's name (dot first, or ending in ~, .tmp, .part, \
                     .swp), which the modules watcher ignores; rename the component",
                    component.display()
                ),
            ));
        }
        let limits =
            resolve_limits(&raw.limits, world, memory_ceiling).map_err(|(f, r)| invalid(f, r))?;
        let metering = if limits.fuel.is_some() {
            Metering::Fuel
        } else {
            Metering::Epoch
        };
        let config = contextworker_config::scalar_table(&raw.config)
            .map_err(|(k, r)| invalid(&format!("config.{k}"), r))?;
        let self_tests = raw
            .self_test
            .into_iter()
            .enumerate()
            .map(|(i, t)| {
                resolve_self_test(t, world, dir)
                    .map_err(|(f, r)| invalid(&format!("self_test[{i}].{f}"), r))
            })
            .collect::<Result<_, _>>()?;
        let detect = match raw.detect {
            Some(_) if world != World::Transformer => {
                return Err(invalid(
                    "detect",
                    format!("only transformers parse feeds; this is a {world} module"),
                ));
            }
            Some(table) => Some(Detect::resolve(table).map_err(|(f, r)| invalid(f, r))?),
            None => None,
        };
        let http = raw
            .http
            .map(|t| http::resolve(&t, world))
            .transpose()
            .map_err(|(f, r)| invalid(&f, r))?;
        Ok(Self {
            path: path.to_path_buf(),
            name,
            version,
            world,
            description: raw.description,
            component,
            limits,
            metering,
            config,
            self_tests,
            shadow: raw.rollout.shadow,
            detect,
            http,
            text: text.to_owned(),
        })
    }

    /// The manifest's configuration with `overrides` applied on top.
    pub fn config_with(&self, overrides: &[(String, String)]) -> Vec<(String, String)> {
        let mut merged: BTreeMap<String, String> = self.config.iter().cloned().collect();
        merged.extend(overrides.iter().cloned());
        merged.into_iter().collect()
    }
}

fn resolve_limits(
    raw: &LimitsToml,
    world: World,
    memory_ceiling: u64,
) -> Result<Limits, (&'static str, String)> {
    let mut limits = Limits::for_world(world);
    if let Some(mb) = raw.memory_mb {
        let bytes = mb.saturating_mul(MIB);
        if mb == 0 || bytes > memory_ceiling {
            return Err((
                "limits.memory_mb",
                format!(
                    "{mb} is outside 1..={} (the host's sandbox.max_memory_mb)",
                    memory_ceiling / MIB
                ),
            ));
        }
        limits.memory_bytes = bytes;
    }
    if let Some(ms) = raw.timeout_ms {
        if !(1..=24 * 3600 * 1000).contains(&ms) {
            return Err(("limits.timeout_ms", format!("{ms} is outside 1..=86400000")));
        }
        limits.timeout = Duration::from_millis(ms);
    }
    if let Some(fuel) = raw.fuel {
        if fuel == 0 {
            return Err((
                "limits.fuel",
                "must be positive; leave it out to run without fuel metering".to_owned(),
            ));
        }
        limits.fuel = Some(fuel);
    }
    if let Some(mb) = raw.max_output_mb {
        if mb == 0 {
            return Err(("limits.max_output_mb", "must be positive".to_owned()));
        }
        limits.max_output_bytes = mb.saturating_mul(MIB);
    }
    if let Some(n) = raw.max_table_elements {
        limits.max_table_elements = n;
    }
    if let Some(n) = raw.max_instances {
        limits.max_instances = n;
    }
    Ok(limits)
}

fn resolve_self_test(
    raw: SelfTestToml,
    world: World,
    dir: &Path,
) -> Result<SelfTest, (&'static str, String)> {
    if raw.classified.is_some() && world != World::Enricher {
        return Err((
            "classified",
            format!("only enrichers classify products; this is a {world} module"),
        ));
    }
    let expect = match (world, raw.products, raw.output_contains) {
        (World::Transformer, Some(products), None) => SelfTestExpectation::Products {
            products,
            warnings: raw.warnings,
        },
        (World::Transformer, None, _) => {
            return Err((
                "products",
                "a transformer self-test must say how many products it expects".to_owned(),
            ));
        }
        (World::Code, None, Some(text)) => SelfTestExpectation::OutputContains(text),
        (World::Enricher, None, None) if raw.classified.is_some() => {
            SelfTestExpectation::Classified(raw.classified.unwrap_or_default())
        }
        (World::Code | World::Classifier | World::Enricher, None, None) => {
            SelfTestExpectation::Succeeds
        }
        (_, Some(_), _) => {
            return Err((
                "products",
                format!("only transformers emit products; this is a {world} module"),
            ));
        }
        (_, _, Some(_)) => {
            return Err((
                "output_contains",
                "only code modules return output".to_owned(),
            ));
        }
    };
    let config = contextworker_config::scalar_table(&raw.config).map_err(|(_, r)| ("config", r))?;
    Ok(SelfTest {
        input: dir.join(raw.input),
        expect,
        config,
    })
}

#[cfg(test)]
mod tests;
