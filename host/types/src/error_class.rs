//! The one list of failure classes. Every error a step can end with belongs to one class; the
//! class's name is the Temporal `ApplicationFailure` type callers match on, and its retry rule
//! says whether running the step again may help. The worker maps a class to a Temporal failure
//! once, the gRPC service to its answer once, and the README's failure table is checked against
//! [`ErrorClass::ALL`] by a test, so the three cannot drift apart.

/// Whether another attempt at the same step may succeed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// Capacity, network or I/O trouble that may pass.
    Yes,
    /// Deterministic for the same input: another attempt repeats the failure.
    No,
    /// Decided by the error itself (an HTTP status, whether a file exists).
    Depends,
}

impl Retry {
    /// The word the README's failure table uses in its "retried" column.
    pub fn word(self) -> &'static str {
        match self {
            Self::Yes => "yes",
            Self::No => "no",
            Self::Depends => "depends",
        }
    }
}

macro_rules! classes {
    ($($(#[doc = $doc:literal])* $variant:ident => $retry:ident,)*) => {
        /// What went wrong, as callers see it. The variant's name is the wire name.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorClass {
            $($(#[doc = $doc])* $variant,)*
        }

        impl ErrorClass {
            /// Every class, in the order of the README's table.
            pub const ALL: &'static [ErrorClass] = &[$(Self::$variant,)*];

            /// The stable name: Temporal's failure type, `error[...]` in the CLI, logs.
            pub const fn name(self) -> &'static str {
                match self {
                    $(Self::$variant => stringify!($variant),)*
                }
            }

            /// Whether the class as a whole is retried (see [`Retry::Depends`]).
            pub const fn retry(self) -> Retry {
                match self {
                    $(Self::$variant => Retry::$retry,)*
                }
            }
        }
    };
}

classes! {
    /// The caller's arguments do not fit the workflow or activity.
    InvalidArguments => No,
    /// An activity returned something its workflow cannot read (a worker version mismatch).
    InvalidActivityResult => No,
    /// Input over a configured limit.
    PayloadTooLarge => No,
    /// No such supplier file, or not one of the requested tenant's.
    UnknownSupplier => No,
    /// The supplier file is malformed.
    InvalidSupplierConfig => No,
    /// The supplier file says `enabled = false`.
    SupplierDisabled => No,
    /// The suppliers directory could not be read.
    SupplierConfigUnreadable => Yes,
    /// The tenant file (`tenants/<tenant>.toml`) is malformed or unreadable.
    InvalidTenantConfig => No,
    /// An environment variable the supplier file names is unset on the worker.
    MissingCredential => No,
    /// The variable is not one the operator allowed as a secret.
    CredentialNotAllowed => No,
    /// No module of that name in the modules directory.
    UnknownModule => No,
    /// The module exists but has another world.
    WrongModuleKind => No,
    /// No module's detection rule matches the feed.
    ModuleNotDetected => No,
    /// A pinned module version is no longer kept on this host.
    ModuleVersionNotKept => No,
    /// The feed's content is malformed (with the line and column).
    InvalidFeed => No,
    /// The feed is of a kind the module does not handle.
    UnsupportedFeed => No,
    /// The feed parsed but held no products.
    EmptyFeed => No,
    /// A product the staging database cannot hold (NUL, an unusable offer id).
    InvalidProducts => No,
    /// The guest ran past its deadline (epoch interruption).
    GuestTimeout => No,
    /// The guest needed more linear memory than its limit.
    GuestOutOfMemory => No,
    /// Recursion too deep (the wasm stack or the guest's shadow stack).
    GuestStackOverflow => No,
    /// The guest used up its fuel budget.
    GuestOutOfFuel => No,
    /// The guest returned or emitted more than the output cap.
    GuestOutputTooLarge => No,
    /// Panic, `unreachable`, out-of-bounds access.
    GuestTrap => No,
    /// The guest's own error for its input (not a feed).
    InvalidInput => No,
    /// The guest does not handle this input (not a feed).
    UnsupportedInput => No,
    /// The guest failed for a reason of its own.
    GuestInternalError => No,
    /// A service an enricher depends on was unavailable or asked it to slow down (a 429, a
    /// 5xx, a timeout): the batch is tried again later.
    ServiceUnavailable => Yes,
    /// No sandbox slot or memory budget was free.
    SandboxBusy => Yes,
    /// Something failed on the host's side.
    HostError => Yes,
    /// The input could not be read from its source.
    InputReadFailed => Yes,
    /// The consumer of the products stopped before the guest finished.
    SinkClosed => Yes,
    /// The call was cancelled.
    Cancelled => Yes,
    /// The supplier's server answered with an error status: 5xx, 408, 425 and 429 are retried.
    FeedHttpStatus => Depends,
    /// The supplier's server took too long.
    FeedTimeout => Yes,
    /// The supplier's server could not be reached.
    FeedUnreachable => Yes,
    /// The feed is larger than the fetch limit.
    FeedTooLarge => No,
    /// The feed URL is malformed or of an unsupported scheme.
    InvalidFeedUrl => No,
    /// A `file:` feed outside the allowed roots.
    FeedFileNotAllowed => No,
    /// A `file:` feed could not be read: retried unless the file is missing.
    FeedFileUnreadable => Depends,
    /// The outbound policy refused the address (names the rule).
    FeedUrlRefused => No,
    /// More redirects than the fetcher follows.
    FeedTooManyRedirects => No,
    /// The staging database is unreachable or a statement failed for a passing reason.
    StagingUnavailable => Yes,
    /// The staging database refused the data (SQLSTATE classes 22, 23, 54).
    StagingRejected => No,
    /// The staging database URL is unusable.
    StagingMisconfigured => No,
    /// The staging schema could not be brought up to date.
    StagingMigrationFailed => No,
    /// The blob store could not be read or written.
    BlobStoreError => Yes,
    /// The blob store is full of blobs recent harvests need.
    BlobStoreFull => Yes,
    /// The shared object store refused this host: credentials, permissions, bucket settings.
    BlobStoreMisconfigured => No,
    /// A reference to a blob that is not in the store (or no longer matches its digest).
    BlobMissing => No,
}

impl ErrorClass {
    /// The class of a name, as it comes back from Temporal.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|c| c.name() == name)
    }
}

impl std::fmt::Display for ErrorClass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// The README's "### Failures" table: every class named once, with its retry word.
    fn readme_table() -> BTreeMap<String, String> {
        let readme = include_str!("../../../README.md");
        let section = readme
            .split("\n### Failures\n")
            .nth(1)
            .expect("the README has a ### Failures section");
        let mut rows = BTreeMap::new();
        for line in section
            .lines()
            .skip_while(|l| !l.starts_with('|'))
            .take_while(|l| l.starts_with('|'))
            .skip(2)
        {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let (names, retried) = (cells[1], cells[2]);
            let word = retried.split([':', ' ']).next().unwrap_or_default();
            for name in names.split('`').skip(1).step_by(2) {
                let before = rows.insert(name.to_owned(), word.to_owned());
                assert!(before.is_none(), "{name} is in the README's table twice");
            }
        }
        rows
    }

    #[test]
    fn the_readme_failure_table_lists_every_class_with_its_retry_rule() {
        let table = readme_table();
        for class in ErrorClass::ALL {
            let word = table
                .get(class.name())
                .unwrap_or_else(|| panic!("the README's failure table misses {class}"));
            assert_eq!(word, class.retry().word(), "retried column of {class}");
        }
        for name in table.keys() {
            assert!(
                ErrorClass::from_name(name).is_some(),
                "the README's failure table names {name}, which is no class"
            );
        }
    }

    #[test]
    fn names_are_unique_and_round_trip() {
        for class in ErrorClass::ALL {
            assert_eq!(ErrorClass::from_name(class.name()), Some(*class));
        }
        assert_eq!(ErrorClass::from_name("NoSuchClass"), None);
        assert_eq!(ErrorClass::GuestTimeout.to_string(), "GuestTimeout");
    }
}
