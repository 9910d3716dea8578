//! The layout of the data directory, in one place. Every part that keeps state on the host's
//! disk asks this type for its path, so moving or documenting a directory is one edit.
//!
//! ```text
//! <data>/
//!   blobs/              content-addressed feeds and product sets (storage)
//!   compiled/           the compile cache of components (runtime)
//!   import/             files operators drop for ad-hoc imports (fetch roots)
//!   tmp/                scratch files of running steps (worker), swept by `gc`
//!   staging.db          the SQLite staging database when no URL is given
//!   modules/versions/   kept module versions, by digest (registry)
//!   modules/workers/    one status file per running worker (registry)
//!   modules/shadow/     products of shadow runs (worker)
//!   temporal-dev.db     the dev server's state (`--dev`), and its log
//! ```

use std::path::{Path, PathBuf};

/// A data directory. Cheap to clone; creates nothing by itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataDir {
    root: PathBuf,
}

impl DataDir {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn blobs(&self) -> PathBuf {
        self.root.join("blobs")
    }

    pub fn compiled(&self) -> PathBuf {
        self.root.join("compiled")
    }

    pub fn import(&self) -> PathBuf {
        self.root.join("import")
    }

    pub fn scratch(&self) -> PathBuf {
        self.root.join("tmp")
    }

    pub fn staging_db(&self) -> PathBuf {
        self.root.join("staging.db")
    }

    pub fn module_versions(&self) -> PathBuf {
        self.root.join("modules").join("versions")
    }

    pub fn worker_status(&self) -> PathBuf {
        self.root.join("modules").join("workers")
    }

    pub fn shadow_runs(&self) -> PathBuf {
        self.root.join("modules").join("shadow")
    }

    pub fn temporal_dev_db(&self) -> PathBuf {
        self.root.join("temporal-dev.db")
    }

    pub fn temporal_dev_log(&self) -> PathBuf {
        self.root.join("temporal-dev.log")
    }
}

impl AsRef<Path> for DataDir {
    fn as_ref(&self) -> &Path {
        &self.root
    }
}
