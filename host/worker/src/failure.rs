//! Every activity error becomes a Temporal `ApplicationFailure` with a stable type name and a
//! retryability that follows the cause: bad input and guest limits are deterministic, so
//! retrying them only repeats the failure; network, database and capacity trouble may pass.
//!
//! | type | retryable | cause |
//! |---|---|---|
//! | `InvalidArguments` | no | the caller's arguments do not fit the activity |
//! | `UnknownSupplier` | no | no such supplier file, or not one of the requested tenant's |
//! | `InvalidSupplierConfig`, `SupplierDisabled` | no | the supplier file |
//! | `SupplierConfigUnreadable` | yes | the suppliers directory could not be read |
//! | `MissingCredential` | no | an environment variable the supplier file names is unset |
//! | `CredentialNotAllowed` | no | the variable is not one the operator allowed as a secret |
//! | `UnknownModule`, `WrongModuleKind`, `ModuleNotDetected`, `ModuleVersionNotKept` | no | the modules directory |
//! | `InvalidFeed`, `UnsupportedFeed`, `EmptyFeed` | no | the feed's content |
//! | `InvalidProducts` | no | a product the staging database cannot hold (NUL, an unusable offer id) |
//! | `GuestTimeout`, `GuestOutOfMemory`, `GuestStackOverflow`, `GuestOutOfFuel`, `GuestOutputTooLarge`, `GuestTrap`, `GuestInternalError` | no | the module hit a limit or failed |
//! | `SandboxBusy`, `HostError`, `InputReadFailed`, `SinkClosed` | yes | this host's capacity or I/O |
//! | `FeedHttpStatus` (5xx, 408, 425, 429), `FeedTimeout`, `FeedUnreachable` | yes | the supplier's server |
//! | `FeedHttpStatus` (other 4xx), `FeedTooLarge`, `InvalidFeedUrl`, `FeedFileNotAllowed`, `FeedUrlRefused`, `FeedTooManyRedirects` | no | the request itself |
//! | `FeedFileUnreadable` | yes, unless the file is missing | a `file:` feed |
//! | `StagingUnavailable`, `BlobStoreError`, `BlobStoreFull` | yes | the database or the blob store (full of blobs recent harvests need) |
//! | `StagingRejected`, `StagingMisconfigured`, `StagingMigrationFailed` | no | the data, or the database setup |
//! | `BlobMissing`, `PayloadTooLarge` | no | a reference to a blob that is not in the store; input over a limit |

use contextworker_runtime::CallError;
use contextworker_storage::BlobError;
use temporalio_common::error::ApplicationFailure;
use temporalio_sdk::activities::ActivityError;

/// An activity failure before it is handed to the SDK.
#[derive(Debug)]
pub struct Failure {
    pub type_name: &'static str,
    pub message: String,
    pub retryable: bool,
}

impl Failure {
    pub fn fatal(type_name: &'static str, message: impl Into<String>) -> Self {
        Self {
            type_name,
            message: message.into(),
            retryable: false,
        }
    }

    pub fn retryable(type_name: &'static str, message: impl Into<String>) -> Self {
        Self {
            type_name,
            message: message.into(),
            retryable: true,
        }
    }

    /// A guest call's error. `input_kind` names what the guest was given ("feed" makes
    /// `InvalidInput` an `InvalidFeed`, the name harvest callers match on).
    pub fn from_call(e: &CallError, input_kind: InputKind) -> Self {
        let type_name = match (e.type_name(), input_kind) {
            ("InvalidInput", InputKind::Feed) => "InvalidFeed",
            ("UnsupportedInput", InputKind::Feed) => "UnsupportedFeed",
            (name, _) => name,
        };
        Self {
            type_name,
            message: e.to_string(),
            retryable: e.is_retryable(),
        }
    }

    pub fn from_blob(e: &BlobError) -> Self {
        match e {
            BlobError::Io { .. } => Self::retryable("BlobStoreError", e.to_string()),
            BlobError::Missing(_) | BlobError::Corrupt { .. } => {
                Self::fatal("BlobMissing", e.to_string())
            }
            BlobError::TooLarge { .. } => Self::fatal("PayloadTooLarge", e.to_string()),
            BlobError::Full { .. } => Self::retryable("BlobStoreFull", e.to_string()),
        }
    }

    pub fn into_activity_error(self) -> ActivityError {
        let failure = ApplicationFailure::builder(self.message)
            .type_name(self.type_name.to_owned())
            .non_retryable(!self.retryable)
            .build();
        ActivityError::application(failure)
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.type_name, self.message)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    Feed,
    Data,
}

impl From<crate::args::ArgError> for Failure {
    fn from(e: crate::args::ArgError) -> Self {
        Self::fatal("InvalidArguments", e.to_string())
    }
}

impl From<contextworker_fetch::FetchError> for Failure {
    fn from(e: contextworker_fetch::FetchError) -> Self {
        Self {
            type_name: e.type_name(),
            retryable: e.is_retryable(),
            message: e.to_string(),
        }
    }
}

impl From<contextworker_staging::StagingError> for Failure {
    fn from(e: contextworker_staging::StagingError) -> Self {
        Self {
            type_name: e.type_name(),
            retryable: e.is_retryable(),
            message: e.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guest_errors_keep_their_names_and_feeds_get_feed_names() {
        let timeout = CallError::Timeout {
            limit: std::time::Duration::from_millis(100),
        };
        let f = Failure::from_call(&timeout, InputKind::Feed);
        assert_eq!((f.type_name, f.retryable), ("GuestTimeout", false));
        let busy = CallError::Busy("pool".into());
        assert!(Failure::from_call(&busy, InputKind::Data).retryable);
        // A guest's own verdict on a feed gets the feed's name; on other input its own.
        let guest = |kind| {
            CallError::Guest(contextworker_runtime::GuestError {
                kind,
                message: "bad".into(),
                location: None,
            })
        };
        use contextworker_runtime::GuestErrorKind::{Internal, InvalidInput, Unsupported};
        let cases = [
            (InvalidInput, InputKind::Feed, "InvalidFeed"),
            (Unsupported, InputKind::Feed, "UnsupportedFeed"),
            (InvalidInput, InputKind::Data, "InvalidInput"),
            (Unsupported, InputKind::Data, "UnsupportedInput"),
            (Internal, InputKind::Feed, "GuestInternalError"),
        ];
        for (kind, input, expected) in cases {
            let f = Failure::from_call(&guest(kind), input);
            assert_eq!((f.type_name, f.retryable), (expected, false), "{kind:?}");
        }
    }
}
