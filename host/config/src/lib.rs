//! The host's own configuration (never a module's: those are `module.toml` files).
//!
//! Sources, highest precedence first: command-line flags, environment variables, the TOML
//! file (`--config`, or `contextworker.toml` in the working directory when present),
//! built-in defaults. Flags and environment are merged by the CLI (clap's `env`), which
//! hands the result here as [`Overrides`]; this crate reads the file and resolves paths.
//!
//! | variable                       | flag                  | file key                      | default            |
//! |--------------------------------|-----------------------|-------------------------------|--------------------|
//! | `CONTEXTWORKER_CONFIG`         | `--config`            |                               | `contextworker.toml` if present |
//! | `CONTEXTWORKER_DATA_DIR`       | `--data-dir`          | `data_dir`                    | `data/` beside the config file |
//! | `CONTEXTWORKER_MODULES_DIR`    | `--modules-dir`       | `modules_dir`                 | `modules/`         |
//! | `CONTEXTWORKER_SUPPLIERS_DIR`  | `--suppliers-dir`     | `suppliers_dir`               | `suppliers/`       |
//! |                                | `--modules a b`       | `modules = ["a", "b"]`        | all                |
//! |                                |                       | `[sandbox] max_concurrent_instances` | 64          |
//! |                                |                       | `[sandbox] max_memory_mb`     | 1024               |
//! |                                |                       | `[sandbox] max_component_mb`  | 64                 |
//! |                                |                       | `[sandbox] epoch_tick_ms`     | 10                 |
//! |                                |                       | `[sandbox] pooling`           | true               |
//! |                                |                       | `[sandbox] compile_cache`     | true               |
//! | `RUST_LOG`                     | `-v`, `-q`            |                               | `info`             |

mod file;
mod supplier;
mod temporal;
mod toml_util;

use std::path::{Path, PathBuf};

pub use file::{HostConfigToml, SandboxToml};
pub use supplier::{Credentials, FeedSource, Supplier, SupplierError};
pub use temporal::{TemporalAuth, TemporalConfigError, TemporalInput, TemporalSettings};
pub use toml_util::{one_line_error, scalar_table};

/// Errors reading the host configuration. Each names the file; fix the file and restart.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("config file {}: {message}", path.display())]
    Parse { path: PathBuf, message: String },
    #[error("config file {}: `{key}` = {value}: {reason}", path.display())]
    Invalid {
        path: PathBuf,
        key: &'static str,
        value: String,
        reason: String,
    },
}

/// Values given on the command line or in the environment; `None` falls through to the file.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub config_file: Option<PathBuf>,
    pub data_dir: Option<PathBuf>,
    pub modules_dir: Option<PathBuf>,
    pub suppliers_dir: Option<PathBuf>,
    pub modules: Option<Vec<String>>,
}

/// Sandbox sizing, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxSettings {
    pub max_concurrent_instances: u32,
    pub max_memory_mb: u64,
    pub max_component_mb: u64,
    pub epoch_tick_ms: u64,
    pub pooling: bool,
    pub compile_cache: bool,
}

/// The resolved configuration every part of the host reads.
#[derive(Debug, Clone)]
pub struct HostConfig {
    /// The file it came from, if any.
    pub source: Option<PathBuf>,
    pub data_dir: PathBuf,
    pub modules_dir: PathBuf,
    /// One `<code>.toml` per supplier.
    pub suppliers_dir: PathBuf,
    /// Load only these modules (`None`: all).
    pub modules: Option<Vec<String>>,
    pub sandbox: SandboxSettings,
}

impl HostConfig {
    /// Where compiled components are cached.
    pub fn compile_cache_dir(&self) -> Option<PathBuf> {
        self.sandbox
            .compile_cache
            .then(|| self.data_dir.join("compiled"))
    }

    /// Resolve the configuration from `overrides` and the config file.
    pub fn load(overrides: Overrides) -> Result<Self, ConfigError> {
        let (source, file) = match &overrides.config_file {
            Some(path) => (Some(path.clone()), HostConfigToml::read(path)?),
            None => {
                let default = Path::new("contextworker.toml");
                if default.is_file() {
                    (Some(default.to_path_buf()), HostConfigToml::read(default)?)
                } else {
                    (None, HostConfigToml::default())
                }
            }
        };
        // Relative paths in the file are relative to the file, not to the working directory.
        let base = source
            .as_deref()
            .and_then(Path::parent)
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let from_file = |p: Option<PathBuf>| p.map(|p| base.join(p));
        let data_dir = overrides
            .data_dir
            .or_else(|| from_file(file.data_dir.clone()))
            .unwrap_or_else(|| base.join("data"));
        let modules_dir = overrides
            .modules_dir
            .or_else(|| from_file(file.modules_dir.clone()))
            .unwrap_or_else(|| base.join("modules"));
        let suppliers_dir = overrides
            .suppliers_dir
            .or_else(|| from_file(file.suppliers_dir.clone()))
            .unwrap_or_else(|| base.join("suppliers"));
        let sandbox = file
            .sandbox
            .unwrap_or_default()
            .resolve(source.as_deref().unwrap_or(Path::new("(defaults)")))?;
        Ok(Self {
            source,
            data_dir,
            modules_dir,
            suppliers_dir,
            modules: overrides.modules.or(file.modules),
            sandbox,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_win_over_the_file_and_file_paths_are_relative_to_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("host.toml");
        std::fs::write(
            &path,
            "data_dir = \"state\"\nmodules_dir = \"mods\"\n[sandbox]\nmax_memory_mb = 256\n",
        )
        .expect("write");
        let config = HostConfig::load(Overrides {
            config_file: Some(path.clone()),
            modules_dir: Some(PathBuf::from("/elsewhere")),
            ..Overrides::default()
        })
        .expect("loads");
        assert_eq!(config.data_dir, dir.path().join("state"));
        assert_eq!(config.modules_dir, PathBuf::from("/elsewhere"));
        assert_eq!(config.sandbox.max_memory_mb, 256);
        assert_eq!(
            config.compile_cache_dir(),
            Some(dir.path().join("state/compiled"))
        );
    }

    #[test]
    fn unknown_keys_are_refused_with_the_file_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("host.toml");
        std::fs::write(&path, "modules_dri = \"x\"\n").expect("write");
        let err = HostConfig::load(Overrides {
            config_file: Some(path),
            ..Overrides::default()
        })
        .expect_err("refused");
        let text = err.to_string();
        assert!(
            text.contains("host.toml") && text.contains("modules_dri"),
            "{text}"
        );
    }

    #[test]
    fn out_of_range_values_say_what_is_allowed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("host.toml");
        std::fs::write(&path, "[sandbox]\nepoch_tick_ms = 0\n").expect("write");
        let err = HostConfig::load(Overrides {
            config_file: Some(path),
            ..Overrides::default()
        })
        .expect_err("refused");
        assert!(err.to_string().contains("epoch_tick_ms"), "{err}");
    }
}
