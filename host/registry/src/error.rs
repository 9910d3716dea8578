//! Registry errors. Each names the file it is about; the fix is in that file.

use std::path::PathBuf;

use contextworker_runtime::LoadError;

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The modules directory itself is missing or unreadable.
    #[error("modules directory {}: {source}", path.display())]
    Directory {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A manifest could not be read, parsed or validated.
    #[error(transparent)]
    Manifest(#[from] contextworker_manifest::ManifestError),
    /// The manifest's component file does not exist (the module was not built or copied).
    #[error(
        "{}: component file {} not found; build the module for wasm32-wasip2 and copy the .wasm there",
        manifest.display(),
        component.display()
    )]
    MissingComponent {
        manifest: PathBuf,
        component: PathBuf,
    },
    /// Two manifests claim the same module name.
    #[error("{}: module `{name}` is already defined by {}", path.display(), first.display())]
    Duplicate {
        name: String,
        path: PathBuf,
        first: PathBuf,
    },
    /// `--modules` named a module the directory does not have.
    #[error("module `{name}` was requested but {} has no module of that name", dir.display())]
    NotFound { name: String, dir: PathBuf },
    /// The component failed to load (not a component, wrong world, cannot link, ...).
    #[error("{}: {source}", manifest.display())]
    Load {
        manifest: PathBuf,
        #[source]
        source: LoadError,
    },
    /// A candidate version would break callers of the active one.
    #[error("{}: not compatible with the active version: {reason}", manifest.display())]
    Incompatible { manifest: PathBuf, reason: String },
    /// A candidate version failed one of its manifest's self-tests.
    #[error("{}: self-test {} failed: {reason}", manifest.display(), input.display())]
    SelfTestFailed {
        manifest: PathBuf,
        input: PathBuf,
        reason: String,
    },
    /// A pinned or requested version is not kept (any more) by the version store.
    #[error(
        "module `{name}` version {digest} is not kept {} (kept here: {})",
        if *shared { "on this host or in the fleet's store" } else { "on this host" },
        if kept.is_empty() { "none".to_owned() } else { kept.join(", ") }
    )]
    VersionNotKept {
        name: String,
        digest: String,
        kept: Vec<String>,
        /// Whether the fleet's store was asked too.
        shared: bool,
    },
    /// A digest prefix names more than one kept version.
    #[error("`{prefix}` matches more than one kept version of `{name}`; give more digits")]
    AmbiguousDigest { name: String, prefix: String },
    /// The fleet's shared store could not be reached or refused the request.
    #[error("the fleet's shared module versions: {0}")]
    Shared(#[from] contextworker_storage::BlobError),
    /// The version store could not be written or read.
    #[error("version store {}: {reason}", path.display())]
    Store { path: PathBuf, reason: String },
    /// The modules directory cannot be watched (reload with SIGHUP or `modules reload`).
    #[error("cannot watch {}: {reason}; reload with SIGHUP or `contextworker-host modules reload` instead", path.display())]
    Watch { path: PathBuf, reason: String },
}
