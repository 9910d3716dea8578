//! A numeric setting: its key in the file, its default and the values it may take, so the
//! range check and its message are written once for every such setting.

use std::ops::RangeInclusive;
use std::path::Path;

use crate::error::ConfigError;

pub(crate) struct Setting {
    key: &'static str,
    default: u64,
    range: RangeInclusive<u64>,
}

impl Setting {
    pub(crate) const fn new(key: &'static str, default: u64, range: RangeInclusive<u64>) -> Self {
        Self {
            key,
            default,
            range,
        }
    }

    /// The value the file gives, or the default, when it lies in the range.
    pub(crate) fn resolve(&self, path: &Path, value: Option<u64>) -> Result<u64, ConfigError> {
        self.check(path, value.unwrap_or(self.default))
    }

    /// `value` when it lies in the range, else an error naming the file, the key and the range.
    pub(crate) fn check(&self, path: &Path, value: u64) -> Result<u64, ConfigError> {
        if self.range.contains(&value) {
            Ok(value)
        } else {
            Err(ConfigError::Invalid {
                path: path.to_path_buf(),
                key: self.key,
                value: value.to_string(),
                reason: format!(
                    "must be between {} and {}",
                    self.range.start(),
                    self.range.end()
                ),
            })
        }
    }
}
