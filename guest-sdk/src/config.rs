//! Read-only module configuration: manifest defaults overlaid with the supplier's or caller's.

use std::collections::BTreeMap;
use std::str::FromStr;

use crate::ModuleError;

/// Key/value configuration handed to a call. Read it with the typed getters, which name the
/// key in their error so a supplier config mistake is easy to find.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Config {
    values: BTreeMap<String, String>,
}

impl Config {
    pub fn new(values: impl IntoIterator<Item = (impl Into<String>, impl Into<String>)>) -> Self {
        Self {
            values: values
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(String::as_str)
    }

    pub fn get_or<'a>(&'a self, key: &str, default: &'a str) -> &'a str {
        self.get(key).unwrap_or(default)
    }

    /// Parse a value; a value that does not parse is an `invalid-input` error naming the key.
    pub fn parse<T: FromStr>(&self, key: &str) -> Result<Option<T>, ModuleError>
    where
        T::Err: std::fmt::Display,
    {
        self.get(key)
            .map(|raw| {
                raw.parse::<T>().map_err(|e| {
                    ModuleError::invalid_input(format!("config key `{key}` = {raw:?}: {e}"))
                })
            })
            .transpose()
    }

    /// `true`/`false`/`yes`/`no`/`1`/`0`.
    pub fn flag(&self, key: &str, default: bool) -> Result<bool, ModuleError> {
        match self.get(key).map(str::to_ascii_lowercase).as_deref() {
            None => Ok(default),
            Some("true" | "yes" | "1" | "on") => Ok(true),
            Some("false" | "no" | "0" | "off") => Ok(false),
            Some(other) => Err(ModuleError::invalid_input(format!(
                "config key `{key}` = {other:?}: expected true or false"
            ))),
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.values.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    #[cfg(guest_bindings)]
    pub(crate) fn from_host() -> Self {
        Self::new(crate::bindings::active::contextworker::module::config::get_all())
    }
}
