//! Identifiers that cross every boundary (Temporal payloads, database keys, gRPC): validated
//! once where they enter, so nothing downstream handles a malformed one.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error)]
#[error(
    "invalid {kind} {value:?}: use lowercase letters, digits, `-` and `_`, start with a letter or digit, at most 64 characters"
)]
pub struct IdError {
    kind: &'static str,
    value: String,
}

fn valid(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $kind:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn new(value: impl Into<String>) -> Result<Self, IdError> {
                let value = value.into();
                if valid(&value) { Ok(Self(value)) } else { Err(IdError { kind: $kind, value }) }
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.pad(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                Self::new(s)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> Self {
                id.0
            }
        }

        impl FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::new(s)
            }
        }
    };
}

id_type!(
    /// A supplier's code: its file name in `suppliers/` and its key in the staging tables.
    SupplierCode,
    "supplier code"
);
id_type!(
    /// A tenant: whose data a row or a workflow is.
    TenantId,
    "tenant id"
);
id_type!(
    /// A schedule's name within its tenant: the schedule's id is `<tenant>:<name>`.
    ScheduleName,
    "schedule name"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_validated() {
        let code = SupplierCode::new("acme-pumps_2").expect("a valid supplier code");
        assert_eq!(code.as_str(), "acme-pumps_2");
        assert_eq!(TenantId::new("7").expect("a valid tenant id").as_str(), "7");
        for bad in ["", "Acme", "a b", "../x", "-x", &"a".repeat(65)] {
            assert!(SupplierCode::new(bad).is_err(), "{bad:?}");
        }
        let err = TenantId::new("A").unwrap_err().to_string();
        assert!(err.starts_with("invalid tenant id \"A\""), "{err}");
    }
}
