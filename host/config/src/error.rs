//! Errors reading the host configuration.

use std::path::PathBuf;

use crate::FileError;

/// Errors reading the host configuration. Each names the file; fix the file and restart.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Unreadable, not TOML, or a key refused; names the file. Transparent: the file error
    /// already starts with the path, and wrapping it would print it twice in an error chain.
    #[error(transparent)]
    File(#[from] FileError),
    #[error("config file {}: `{key}` = {value}: {reason}", path.display())]
    Invalid {
        path: PathBuf,
        key: &'static str,
        value: String,
        reason: String,
    },
}
