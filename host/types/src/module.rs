//! Module identity: a validated name and the world a module implements.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A module's name: lowercase letters, digits and `-`, starting with a letter, at most 64
/// characters. The same rules make it safe as a file name, a metric label and an activity name.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ModuleName(String);

#[derive(Debug, thiserror::Error)]
#[error(
    "invalid module name {name:?}: use lowercase letters, digits and `-`, start with a letter, at most 64 characters"
)]
pub struct ModuleNameError {
    name: String,
}

impl ModuleName {
    pub fn new(name: impl Into<String>) -> Result<Self, ModuleNameError> {
        let name = name.into();
        let valid = (1..=64).contains(&name.len())
            && name.starts_with(|c: char| c.is_ascii_lowercase())
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !name.ends_with('-');
        if valid {
            Ok(Self(name))
        } else {
            Err(ModuleNameError { name })
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ModuleName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.0)
    }
}

impl fmt::Debug for ModuleName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ModuleName({})", self.0)
    }
}

impl TryFrom<String> for ModuleName {
    type Error = ModuleNameError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::new(s)
    }
}

impl From<ModuleName> for String {
    fn from(n: ModuleName) -> Self {
        n.0
    }
}

impl FromStr for ModuleName {
    type Err = ModuleNameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

/// The WIT world a module implements: what the host may call on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum World {
    Transformer,
    Classifier,
    /// Added in contract 0.1.1: the gardener's richer classification.
    Enricher,
    Code,
}

impl World {
    pub const ALL: [World; 4] = [
        World::Transformer,
        World::Classifier,
        World::Enricher,
        World::Code,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Transformer => "transformer",
            Self::Classifier => "classifier",
            Self::Enricher => "enricher",
            Self::Code => "code",
        }
    }

    /// The export that identifies the world in a component.
    pub fn entry_point(self) -> &'static str {
        match self {
            Self::Transformer => "transform",
            Self::Classifier => "classify",
            Self::Enricher => "enrich",
            Self::Code => "run",
        }
    }
}

impl fmt::Display for World {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("unknown world {0:?}: expected one of transformer, classifier, enricher, code")]
pub struct WorldParseError(String);

impl FromStr for World {
    type Err = WorldParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        World::ALL
            .into_iter()
            .find(|w| w.as_str() == s)
            .ok_or_else(|| WorldParseError(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_names() {
        for good in ["google-merchant", "yml2"] {
            let name = ModuleName::new(good).unwrap_or_else(|e| panic!("{good:?} refused: {e}"));
            assert_eq!(name.as_str(), good);
        }
        for bad in ["", "Yml", "1yml", "y_ml", "yml-", "../etc", &"a".repeat(65)] {
            assert!(ModuleName::new(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn worlds_parse() {
        assert_eq!("code".parse::<World>().ok(), Some(World::Code));
        assert!("codes".parse::<World>().is_err());
    }
}
