//! Errors reading the host configuration.

use std::path::PathBuf;

use crate::FileError;

/// Errors reading the host configuration. Each names the file; fix the file and restart.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config file {0}")]
    File(#[from] FileError),
    #[error("config file {}: `{key}` = {value}: {reason}", path.display())]
    Invalid {
        path: PathBuf,
        key: &'static str,
        value: String,
        reason: String,
    },
}
