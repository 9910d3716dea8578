//! What activities work with: the sandbox and its modules, the blob store, the fetcher, the
//! staging database, the supplier files. Built once per process and shared.

use std::path::PathBuf;
use std::sync::Arc;

use contextworker_config::{HostConfig, SecretPolicy};
use contextworker_fetch::Fetcher;
use contextworker_registry::{LiveModules, Module, Registry, RegistryError};
use contextworker_runtime::Runtime;
use contextworker_staging::Staging;
use contextworker_storage::{
    BlobError, BlobReader, BlobRef, BlobStore, FsBlobStore, ObjectBlobStore, Retention,
};
use contextworker_types::Digest;

use crate::failure::Failure;

/// The environment variable that selects the staging database.
pub const DATABASE_URL_ENV: &str = "DATABASE_URL";

#[derive(Debug, thiserror::Error)]
pub enum ServicesError {
    #[error("data directory {}: {source}", path.display())]
    DataDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Staging(#[from] contextworker_staging::StagingError),
    #[error(transparent)]
    Outbound(#[from] contextworker_outbound::PolicyError),
    #[error(transparent)]
    Fetcher(#[from] contextworker_fetch::ClientError),
    #[error(transparent)]
    BlobStore(#[from] BlobError),
}

pub struct Services {
    pub runtime: Arc<Runtime>,
    /// The modules, replaceable while the worker runs.
    pub modules: Arc<LiveModules>,
    pub blobs: Arc<dyn BlobStore>,
    pub fetcher: Fetcher,
    pub staging: Staging,
    pub suppliers_dir: PathBuf,
    /// Per-tenant enrichment settings (`<tenant>.toml`; a tenant without one gets defaults).
    pub tenants_dir: PathBuf,
    /// Which environment variables activities may read as supplier secrets.
    pub secrets: SecretPolicy,
    /// Temporary files of running activities (parsed products before they become a blob).
    pub scratch_dir: PathBuf,
    /// Where shadow-run summaries are kept, one directory per module.
    pub shadow_dir: PathBuf,
    /// One shadow run at a time: each doubles the parsing work of a harvest.
    pub shadow_permits: Arc<tokio::sync::Semaphore>,
    /// The activities running now and the last failures, for `status`.
    pub board: crate::board::Board,
}

impl std::fmt::Debug for Services {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Services")
            .field("staging", &self.staging.url())
            .field("suppliers_dir", &self.suppliers_dir)
            .finish_non_exhaustive()
    }
}

impl Services {
    /// Open the blob store and the staging database (`database_url`, else an SQLite file in
    /// the data directory) for a host configured by `config`.
    pub async fn open(
        config: &HostConfig,
        runtime: Arc<Runtime>,
        modules: Arc<LiveModules>,
        database_url: Option<&str>,
    ) -> Result<Arc<Self>, ServicesError> {
        let data_dir = &config.data_dir;
        std::fs::create_dir_all(data_dir).map_err(|source| ServicesError::DataDir {
            path: data_dir.root().to_path_buf(),
            source,
        })?;
        let local = FsBlobStore::with_retention(
            data_dir.blobs(),
            Retention {
                max_bytes: config.storage.blob_max_bytes,
                keep_for: config.storage.blob_keep,
            },
        );
        let blobs: Arc<dyn BlobStore> = match &config.storage.shared {
            Some(url) => Arc::new(ObjectBlobStore::s3(url.clone(), local)?),
            None => Arc::new(local),
        };
        // file:// feeds may come from the suppliers directory (the demo's local feed) or
        // from <data>/import, where operators drop files for ad-hoc imports.
        let import_dir = data_dir.import();
        std::fs::create_dir_all(&import_dir).map_err(|source| ServicesError::DataDir {
            path: import_dir.clone(),
            source,
        })?;
        let policy =
            contextworker_outbound::OutboundPolicy::from_allow_list(&config.outbound_allow)?;
        let fetcher = Fetcher::new(
            blobs.clone(),
            vec![config.suppliers_dir.clone(), import_dir],
            policy,
        )?;
        let scratch_dir = data_dir.scratch();
        std::fs::create_dir_all(&scratch_dir).map_err(|source| ServicesError::DataDir {
            path: scratch_dir.clone(),
            source,
        })?;
        let url = match database_url {
            Some(url) => url.to_owned(),
            None => Staging::sqlite_url(&data_dir.staging_db()),
        };
        let staging = Staging::open(&url).await?;
        Ok(Arc::new(Self {
            runtime,
            modules,
            blobs,
            fetcher,
            staging,
            suppliers_dir: config.suppliers_dir.clone(),
            tenants_dir: config.tenants_dir.clone(),
            secrets: config.secrets.clone(),
            scratch_dir,
            shadow_dir: data_dir.shadow_runs(),
            shadow_permits: Arc::new(tokio::sync::Semaphore::new(1)),
            board: crate::board::Board::default(),
        }))
    }

    /// The modules as they are now. A call keeps the snapshot it started with.
    pub fn registry(&self) -> Arc<Registry> {
        self.modules.snapshot()
    }

    pub fn module(&self, name: &str) -> Option<Arc<Module>> {
        self.modules.get(name)
    }

    /// A pinned version of a module: the one a harvest started parsing with.
    pub async fn module_version(
        &self,
        name: &str,
        digest: &Digest,
    ) -> Result<Arc<Module>, RegistryError> {
        self.modules.version(name, digest).await
    }

    /// Open a blob an activity was given; a blob that cannot be read fails the activity.
    pub(crate) async fn open_blob(&self, blob: &BlobRef) -> Result<BlobReader, Failure> {
        self.blobs
            .open(blob)
            .await
            .map_err(|e| Failure::from_blob(&e))
    }

    /// Make sure every host of the fleet can load `module`'s version (see
    /// `LiveModules::ensure_shared`).
    pub async fn ensure_shared(&self, module: &Module) -> Result<(), RegistryError> {
        self.modules.ensure_shared(module).await
    }
}
