//! Small TOML helpers every configuration file shares.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// An operator's TOML file that cannot be used: a module manifest, a supplier or a tenant
/// file. Each names the file; the fix is in that file.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// The file could not be read.
    #[error("{}: cannot read: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Larger than [`MAX_FILE_BYTES`]: not a configuration file (a wrong path, a feed saved under
    /// the file's name). Nothing past the limit is read.
    #[error("{}: larger than {limit} bytes, which no configuration file needs", path.display())]
    TooLarge { path: PathBuf, limit: u64 },
    /// Not valid TOML, or unknown or mistyped keys.
    #[error("{}: {message}", path.display())]
    Parse { path: PathBuf, message: String },
    /// A value out of range or inconsistent.
    #[error("{}: `{field}`: {reason}", path.display())]
    Invalid {
        path: PathBuf,
        field: String,
        reason: String,
    },
}

/// The most an operator's file may hold. Real ones are a few KiB; the cap keeps a wrong path
/// (a feed, a log) from being read whole into memory by every worker that loads the directory.
pub const MAX_FILE_BYTES: u64 = 1 << 20;

impl FileError {
    /// `path`'s text (at most [`MAX_FILE_BYTES`], valid UTF-8), or the error naming it.
    pub fn read_text(path: &Path) -> Result<String, Self> {
        use std::io::Read;
        let read_error = |source| FileError::Read {
            path: path.to_path_buf(),
            source,
        };
        let file = std::fs::File::open(path).map_err(read_error)?;
        let mut text = String::new();
        file.take(MAX_FILE_BYTES + 1)
            .read_to_string(&mut text)
            .map_err(read_error)?;
        if text.len() as u64 > MAX_FILE_BYTES {
            return Err(FileError::TooLarge {
                path: path.to_path_buf(),
                limit: MAX_FILE_BYTES,
            });
        }
        Ok(text)
    }

    /// The file is not there (as opposed to unreadable or refused).
    pub fn is_missing(&self) -> bool {
        matches!(self, FileError::Read { source, .. } if source.kind() == std::io::ErrorKind::NotFound)
    }

    /// `text` (read from `path`) as `T`, or the error naming the file, line and column.
    pub fn parse<T: serde::de::DeserializeOwned>(path: &Path, text: &str) -> Result<T, Self> {
        toml::from_str(text).map_err(|e| FileError::Parse {
            path: path.to_path_buf(),
            message: one_line_error(text, &e),
        })
    }

    /// The constructor a validator calls for each field of `path` it refuses.
    pub fn invalid_in(path: &Path) -> impl Fn(&str, String) -> Self + '_ {
        move |field, reason| FileError::Invalid {
            path: path.to_path_buf(),
            field: field.to_owned(),
            reason,
        }
    }
}

/// "line L, column C: message" on one line (toml's own rendering spans several lines).
pub fn one_line_error(text: &str, e: &toml::de::Error) -> String {
    let message = e.message().trim();
    match e.span() {
        Some(span) => {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
            format!("line {line}, column {column}: {message}")
        }
        None => message.to_owned(),
    }
}

/// A `[config]` table as the key/value strings a module reads. Scalars are written in their
/// TOML form; arrays and tables are refused (`Err((key, reason))`).
pub fn scalar_table(
    raw: &BTreeMap<String, toml::Value>,
) -> Result<Vec<(String, String)>, (String, String)> {
    raw.iter()
        .map(|(k, v)| {
            let text = match v {
                toml::Value::String(s) => s.clone(),
                toml::Value::Integer(i) => i.to_string(),
                toml::Value::Float(f) => f.to_string(),
                toml::Value::Boolean(b) => b.to_string(),
                other => {
                    return Err((
                        k.clone(),
                        format!(
                            "a {} is not allowed: use a string, number or boolean",
                            other.type_str()
                        ),
                    ));
                }
            };
            Ok((k.clone(), text))
        })
        .collect()
}
