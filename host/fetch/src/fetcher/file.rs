//! `file:` fetches: only inside the directories the fetcher was given, resolved through
//! symlinks before the check.

use std::path::{Path, PathBuf};

use super::{Fetcher, store_error};
use crate::error::FetchError;
use crate::request::{FetchOutcome, FetchRequest, Fetched, Validators};

impl Fetcher {
    pub(super) async fn fetch_file(
        &self,
        url: &url::Url,
        req: &FetchRequest,
    ) -> Result<FetchOutcome, FetchError> {
        let path = url.to_file_path().map_err(|()| FetchError::InvalidUrl {
            url: req.url.clone(),
            reason: "not an absolute local path".to_owned(),
        })?;
        let path = self.allowed(&path)?;
        let file = tokio::fs::File::open(&path)
            .await
            .map_err(|source| FetchError::File {
                path: path.clone(),
                source,
            })?;
        let blob = self
            .blobs
            .put(Box::new(file), req.max_bytes)
            .await
            .map_err(|e| store_error(&req.url, e))?;
        Ok(FetchOutcome::Fetched(Fetched {
            blob,
            validators: Validators::default(),
            content_type: None,
        }))
    }

    fn allowed(&self, path: &Path) -> Result<PathBuf, FetchError> {
        let resolved = path.canonicalize().map_err(|source| FetchError::File {
            path: path.to_path_buf(),
            source,
        })?;
        if self
            .file_roots
            .iter()
            .any(|root| resolved.starts_with(root))
        {
            Ok(resolved)
        } else {
            Err(FetchError::FileOutsideRoots {
                path: path.to_path_buf(),
                roots: self.file_roots.clone(),
            })
        }
    }
}
