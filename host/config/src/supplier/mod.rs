//! `suppliers/<code>.toml`: who a supplier is, where its feed lives, which module parses it and
//! with what configuration. Secrets never live here: authentication names environment variables.
//!
//! ```toml
//! code = "demo"                  # must match the file name
//! name = "Demo supplier"
//! tenant = "demo"
//! url = "https://supplier.example/feed.xml"   # or file:///abs/path, or file:relative/to/this/file
//! module = "yml"
//! enabled = true                 # optional, default true
//! enrich = true                  # optional: enrich what each harvest created or changed
//!                                # (default: the tenant file's enrichment.after_harvest)
//! schedule = "0 */6 * * *"       # optional: harvest on this cron or interval ("6h"), once
//!                                # `schedules sync` has run; schedule_timezone = "Europe/Kyiv"
//! [auth]                         # optional
//! bearer_token_env = "DEMO_TOKEN"            # or basic_user_env + basic_password_env
//! headers = { "X-Api-Key" = "DEMO_API_KEY" }   # header name -> environment variable
//! [fetch]                        # optional
//! max_mb = 200
//! timeout_secs = 120
//! [config]                       # handed to the module, over its manifest defaults
//! language = "uk"
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use contextworker_types::{ModuleName, ScheduleSpec, SupplierCode, TenantId};
use serde::Deserialize;

use crate::toml_util::{FileError, scalar_table};

/// Errors in supplier files. Each names the file; fix it there.
#[derive(Debug, thiserror::Error)]
pub enum SupplierError {
    #[error("suppliers directory {}: {source}", path.display())]
    Directory {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    File(#[from] FileError),
    #[error("no supplier `{code}` in {}", dir.display())]
    NotFound { code: String, dir: PathBuf },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SupplierToml {
    code: String,
    name: String,
    tenant: String,
    url: String,
    module: String,
    enabled: Option<bool>,
    enrich: Option<bool>,
    schedule: Option<String>,
    schedule_timezone: Option<String>,
    auth: Option<AuthToml>,
    fetch: Option<FetchToml>,
    #[serde(default)]
    config: BTreeMap<String, toml::Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AuthToml {
    bearer_token_env: Option<String>,
    basic_user_env: Option<String>,
    basic_password_env: Option<String>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FetchToml {
    max_mb: Option<u64>,
    timeout_secs: Option<u64>,
}

/// Where the feed comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedSource {
    Http(String),
    File(PathBuf),
}

/// How to authenticate, by environment variable names (read when fetching, never stored): the
/// shape the harvest plan carries too.
pub use contextworker_types::Credentials;

/// A validated supplier.
#[derive(Debug, Clone)]
pub struct Supplier {
    pub path: PathBuf,
    pub code: SupplierCode,
    pub name: String,
    pub tenant: TenantId,
    pub source: FeedSource,
    pub module: ModuleName,
    pub enabled: bool,
    /// Whether a harvest starts an enrichment of what it created or changed; `None`: as the
    /// tenant's settings say.
    pub enrich: Option<bool>,
    /// When `schedules sync` has Temporal harvest it (`None`: only on request).
    pub schedule: Option<ScheduleSpec>,
    pub credentials: Credentials,
    /// Extra request headers: header name and the environment variable holding its value.
    pub header_envs: Vec<(String, String)>,
    pub max_bytes: u64,
    pub timeout: Duration,
    pub config: Vec<(String, String)>,
}

impl Supplier {
    /// Every environment variable this supplier's fetch will read.
    pub fn env_vars(&self) -> Vec<&str> {
        let mut vars = self.credentials.env_vars();
        vars.extend(self.header_envs.iter().map(|(_, env)| env.as_str()));
        vars
    }

    pub fn read(path: &Path) -> Result<Self, SupplierError> {
        let text = FileError::read_text(path)?;
        Self::parse(path, &text)
    }

    pub fn parse(path: &Path, text: &str) -> Result<Self, SupplierError> {
        let raw: SupplierToml = FileError::parse(path, text)?;
        let refused = FileError::invalid_in(path);
        let invalid = |field: &str, reason| SupplierError::File(refused(field, reason));
        let code = SupplierCode::new(raw.code).map_err(|e| invalid("code", e.to_string()))?;
        if path.file_stem().is_some_and(|stem| stem != code.as_str()) {
            return Err(invalid(
                "code",
                format!(
                    "`{code}` must match the file name ({code}.toml), so the supplier can be found by its code"
                ),
            ));
        }
        // `HarvestWorkflow("all", tenant)` means every supplier of the tenant.
        if code.as_str() == "all" {
            return Err(invalid(
                "code",
                "`all` is reserved: a harvest of `all` harvests every supplier of the tenant"
                    .to_owned(),
            ));
        }
        let tenant = TenantId::new(raw.tenant).map_err(|e| invalid("tenant", e.to_string()))?;
        let module = ModuleName::new(raw.module).map_err(|e| invalid("module", e.to_string()))?;
        let source = parse_source(&raw.url, path.parent().unwrap_or(Path::new(".")))
            .map_err(|r| invalid("url", r.to_string()))?;
        let auth = raw.auth.unwrap_or_default();
        let credentials = match (
            auth.bearer_token_env,
            auth.basic_user_env,
            auth.basic_password_env,
        ) {
            (None, None, None) => Credentials::None,
            (Some(token_env), None, None) => Credentials::Bearer {
                token_env: env_name(&token_env)
                    .map_err(|r| invalid("auth.bearer_token_env", r.to_string()))?,
            },
            (None, Some(user), Some(password)) => Credentials::Basic {
                user_env: env_name(&user)
                    .map_err(|r| invalid("auth.basic_user_env", r.to_string()))?,
                password_env: env_name(&password)
                    .map_err(|r| invalid("auth.basic_password_env", r.to_string()))?,
            },
            (Some(_), _, _) => {
                return Err(invalid(
                    "auth",
                    "use either a bearer token or basic auth, not both".to_owned(),
                ));
            }
            _ => {
                return Err(invalid(
                    "auth",
                    "basic auth needs both basic_user_env and basic_password_env".to_owned(),
                ));
            }
        };
        let header_envs = auth
            .headers
            .into_iter()
            .map(|(header, env)| {
                env_name(&env)
                    .map(|env| (header.clone(), env))
                    .map_err(|r| invalid(&format!("auth.headers.{header}"), r.to_string()))
            })
            .collect::<Result<_, _>>()?;
        let fetch = raw.fetch.unwrap_or_default();
        let max_mb = fetch.max_mb.unwrap_or(512);
        if !(1..=16 * 1024).contains(&max_mb) {
            return Err(invalid(
                "fetch.max_mb",
                format!("{max_mb} is outside 1..=16384"),
            ));
        }
        let timeout_secs = fetch.timeout_secs.unwrap_or(300);
        if !(1..=24 * 3600).contains(&timeout_secs) {
            return Err(invalid(
                "fetch.timeout_secs",
                format!("{timeout_secs} is outside 1..=86400"),
            ));
        }
        if raw.schedule.is_none() && raw.schedule_timezone.is_some() {
            return Err(invalid(
                "schedule_timezone",
                "set without `schedule`".to_owned(),
            ));
        }
        let schedule = raw
            .schedule
            .as_deref()
            .map(|when| ScheduleSpec::parse(when, raw.schedule_timezone.as_deref(), None))
            .transpose()
            .map_err(|e| invalid("schedule", e.to_string()))?;
        let config =
            scalar_table(&raw.config).map_err(|(k, r)| invalid(&format!("config.{k}"), r))?;
        Ok(Self {
            path: path.to_path_buf(),
            code,
            name: raw.name,
            tenant,
            source,
            module,
            enabled: raw.enabled.unwrap_or(true),
            enrich: raw.enrich,
            schedule,
            credentials,
            header_envs,
            max_bytes: max_mb << 20,
            timeout: Duration::from_secs(timeout_secs),
            config,
        })
    }

    /// Every `*.toml` in `dir`, sorted by file name; broken files are reported, not fatal.
    pub fn load_dir(dir: &Path) -> Result<(Vec<Supplier>, Vec<SupplierError>), SupplierError> {
        let entries = std::fs::read_dir(dir).map_err(|source| SupplierError::Directory {
            path: dir.to_path_buf(),
            source,
        })?;
        let mut paths: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
            .collect();
        paths.sort();
        let (mut ok, mut failed) = (Vec::new(), Vec::new());
        for path in paths {
            match Self::read(&path) {
                Ok(s) => ok.push(s),
                Err(e) => failed.push(e),
            }
        }
        Ok((ok, failed))
    }

    /// The supplier `code` from `dir`.
    pub fn load(dir: &Path, code: &str) -> Result<Supplier, SupplierError> {
        let path = dir.join(format!("{code}.toml"));
        if !path.is_file() {
            return Err(SupplierError::NotFound {
                code: code.to_owned(),
                dir: dir.to_path_buf(),
            });
        }
        Self::read(&path)
    }
}

/// Why a supplier's `url` is refused.
#[derive(Debug, thiserror::Error)]
enum UrlProblem {
    #[error("{url:?} has no host")]
    NoHost { url: String },
    #[error(
        "{url:?}: a file:// URL needs an absolute path; use file:relative/path for a path beside this file"
    )]
    RelativeFileUrl { url: String },
    #[error("{url:?} is not an http(s):// or file: URL")]
    Scheme { url: String },
}

/// A credential field that holds something other than a variable's name (likely the secret).
#[derive(Debug, thiserror::Error)]
#[error(
    "{name:?} is not an environment variable name (A-Z, 0-9, _): secrets go in the environment, not in this file"
)]
struct NotAnEnvName {
    name: String,
}

fn parse_source(url: &str, base: &Path) -> Result<FeedSource, UrlProblem> {
    let url = url.trim();
    if let Some(rest) = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
    {
        let host = rest.split(['/', '?', '#']).next().unwrap_or("");
        if host.is_empty() || host.contains(char::is_whitespace) {
            return Err(UrlProblem::NoHost {
                url: url.to_owned(),
            });
        }
        return Ok(FeedSource::Http(url.to_owned()));
    }
    if let Some(path) = url.strip_prefix("file://") {
        if !path.starts_with('/') {
            return Err(UrlProblem::RelativeFileUrl {
                url: url.to_owned(),
            });
        }
        return Ok(FeedSource::File(PathBuf::from(path)));
    }
    if let Some(path) = url.strip_prefix("file:") {
        return Ok(FeedSource::File(base.join(path)));
    }
    Err(UrlProblem::Scheme {
        url: url.to_owned(),
    })
}

fn env_name(name: &str) -> Result<String, NotAnEnvName> {
    let ok = name.starts_with(|c: char| c.is_ascii_uppercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(name.to_owned())
    } else {
        Err(NotAnEnvName {
            name: name.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests;
