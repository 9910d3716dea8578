//! Every activity error becomes a Temporal `ApplicationFailure` whose type is its
//! [`ErrorClass`] name and whose retryability follows the cause: bad input and guest limits are
//! deterministic, so retrying them only repeats the failure; network, database and capacity
//! trouble may pass. The classes and their retry rules are listed once, in
//! `contextworker_types::ErrorClass` (and the README's failure table, checked against it).

use contextworker_registry::RegistryError;
use contextworker_runtime::CallError;
use contextworker_storage::BlobError;
use contextworker_types::{ErrorClass, Retry};
use temporalio_common::error::ApplicationFailure;
use temporalio_sdk::activities::ActivityError;

/// An activity failure before it is handed to the SDK.
#[derive(Debug)]
pub struct Failure {
    pub class: ErrorClass,
    pub message: String,
    pub retryable: bool,
}

impl Failure {
    /// A failure retried as its class says; a class whose rule depends on the case
    /// ([`Retry::Depends`]) needs [`Failure::with_retry`].
    pub fn new(class: ErrorClass, message: impl Into<String>) -> Self {
        debug_assert_ne!(class.retry(), Retry::Depends, "{class} needs with_retry");
        Self::with_retry(class, message, class.retry() == Retry::Yes)
    }

    pub fn with_retry(class: ErrorClass, message: impl Into<String>, retryable: bool) -> Self {
        Self {
            class,
            message: message.into(),
            retryable,
        }
    }

    /// A guest call's error. `input_kind` names what the guest was given ("feed" makes
    /// `InvalidInput` an `InvalidFeed`, the name harvest callers match on).
    pub fn from_call(e: &CallError, input_kind: InputKind) -> Self {
        let class = match (e.class(), input_kind) {
            (ErrorClass::InvalidInput, InputKind::Feed) => ErrorClass::InvalidFeed,
            (ErrorClass::UnsupportedInput, InputKind::Feed) => ErrorClass::UnsupportedFeed,
            (class, _) => class,
        };
        Self::with_retry(class, e.to_string(), e.is_retryable())
    }

    pub fn from_blob(e: &BlobError) -> Self {
        Self::with_retry(e.class(), e.to_string(), e.is_retryable())
    }

    /// A pinned version that could not be had: the fleet's store's own error when that is
    /// what failed (retried if the store is only unreachable), else not kept anywhere.
    pub fn from_version(e: &RegistryError, context: &str) -> Self {
        match e {
            RegistryError::Shared(blob) => {
                Self::with_retry(blob.class(), format!("{context}: {e}"), blob.is_retryable())
            }
            _ => Self::new(ErrorClass::ModuleVersionNotKept, format!("{context}: {e}")),
        }
    }

    pub fn into_activity_error(self) -> ActivityError {
        let failure = ApplicationFailure::builder(self.message)
            .type_name(self.class.name().to_owned())
            .non_retryable(!self.retryable)
            .build();
        ActivityError::application(failure)
    }
}

impl std::error::Error for Failure {}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.class, self.message)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    Feed,
    Data,
}

impl From<crate::args::ArgError> for Failure {
    fn from(e: crate::args::ArgError) -> Self {
        Self::new(ErrorClass::InvalidArguments, e.to_string())
    }
}

impl From<contextworker_fetch::FetchError> for Failure {
    fn from(e: contextworker_fetch::FetchError) -> Self {
        Self::with_retry(e.class(), e.to_string(), e.is_retryable())
    }
}

impl From<contextworker_staging::StagingError> for Failure {
    fn from(e: contextworker_staging::StagingError) -> Self {
        Self::with_retry(e.class(), e.to_string(), e.is_retryable())
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
        assert_eq!((f.class.name(), f.retryable), ("GuestTimeout", false));
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
            assert_eq!((f.class.name(), f.retryable), (expected, false), "{kind:?}");
        }
    }
}
