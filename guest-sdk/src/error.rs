//! Errors and warnings a module reports, with the place in the input they refer to.

use std::fmt;

/// Where in the input something was found. Set what the format knows.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Location {
    pub byte_offset: Option<u64>,
    pub line: Option<u32>,
    pub column: Option<u32>,
    pub record_index: Option<u32>,
    pub path: Option<String>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        match (self.line, self.column) {
            (Some(l), Some(c)) => parts.push(format!("line {l}, column {c}")),
            (Some(l), None) => parts.push(format!("line {l}")),
            _ => {}
        }
        if let Some(r) = self.record_index {
            parts.push(format!("record {r}"));
        }
        if let Some(o) = self.byte_offset {
            parts.push(format!("byte {o}"));
        }
        if let Some(p) = &self.path {
            parts.push(format!("at {p}"));
        }
        f.write_str(&parts.join(", "))
    }
}

/// Why a call failed, from the module's side. The host turns each kind into a retry decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModuleError {
    /// The input is bad. Never retried.
    InvalidInput {
        message: String,
        location: Option<Location>,
    },
    /// Well-formed input of a kind this module does not handle.
    Unsupported(String),
    /// A bug in the module.
    Internal(String),
}

impl ModuleError {
    pub fn invalid_input(message: impl Into<String>) -> Self {
        Self::InvalidInput {
            message: message.into(),
            location: None,
        }
    }

    pub fn unsupported(message: impl Into<String>) -> Self {
        Self::Unsupported(message.into())
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::Internal(message.into())
    }

    /// Attach a location (only meaningful for `InvalidInput`; others are returned unchanged).
    #[must_use]
    pub fn at(self, location: Location) -> Self {
        match self {
            Self::InvalidInput { message, .. } => Self::InvalidInput {
                message,
                location: Some(location),
            },
            other => other,
        }
    }

    #[must_use]
    pub fn at_line(self, line: u32, column: u32) -> Self {
        self.at(Location {
            line: Some(line),
            column: Some(column),
            ..Location::default()
        })
    }

    #[must_use]
    pub fn at_offset(self, byte_offset: u64) -> Self {
        self.at(Location {
            byte_offset: Some(byte_offset),
            ..Location::default()
        })
    }

    #[must_use]
    pub fn at_record(self, record_index: usize) -> Self {
        self.at(Location {
            record_index: Some(saturate(record_index)),
            ..Location::default()
        })
    }
}

impl fmt::Display for ModuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidInput {
                message,
                location: Some(l),
            } => write!(f, "invalid input at {l}: {message}"),
            Self::InvalidInput {
                message,
                location: None,
            } => write!(f, "invalid input: {message}"),
            Self::Unsupported(m) => write!(f, "unsupported: {m}"),
            Self::Internal(m) => write!(f, "internal module error: {m}"),
        }
    }
}

impl std::error::Error for ModuleError {}

/// A problem the module survived (a skipped record, a duplicate offer id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub message: String,
    pub location: Option<Location>,
    pub offer_id: Option<String>,
}

impl Warning {
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            location: None,
            offer_id: None,
        }
    }

    #[must_use]
    pub fn at(mut self, location: Location) -> Self {
        self.location = Some(location);
        self
    }

    #[must_use]
    pub fn offer(mut self, offer_id: impl Into<String>) -> Self {
        self.offer_id = Some(offer_id.into());
        self
    }
}

pub(crate) fn saturate(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}
