//! The module registry: what `modules/` holds, validated and loaded.
//!
//! A module is a directory with a `module.toml` manifest and a component file. Discovery
//! reads every manifest, refuses broken ones with a message naming the file and the reason,
//! and loads the rest through the runtime (compiled once, cached on disk).

mod diff;
mod error;
mod live;
mod registry;
mod scan;
mod selftest;
mod store;
mod watch;

/// Manifests have a crate of their own (parsing without the sandbox, so it can be fuzzed).
pub use contextworker_manifest::{
    Detect, Detected, FeedHead, MANIFEST_FILE, Manifest, ManifestError, SNIFF_BYTES, SelfTest,
    SelfTestExpectation, detect,
};
pub use diff::{ChangedField, ChangedRecord, DiffError, DiffReport, diff_ndjson};
pub use error::RegistryError;
pub use live::{
    ActiveModule, Counters, FollowedVersion, LiveModules, LiveStatus, Refusal, ReloadCause,
    ReloadReport, Swap, VersionBrief, check_compatible, format_ms, running_workers,
};
pub use registry::{Discovery, Module, Registry};
pub use scan::{Refused, Scan, scan};
pub use selftest::{SelfTestOutcome, run_self_tests};
pub use store::{
    KEEP_VERSIONS, MODULE_VERSIONS_FOLDER, VersionRecord, VersionStore, now_ms as now_millis,
};
pub use watch::watch;
