//! [`NamedObjects`]: files a fleet shares by name in its bucket, beside the content-addressed
//! blobs: what a host must find by a key it already knows (a module version's record by the
//! component's digest) rather than by the hash of the bytes themselves.
//!
//! They live under their own folder of the bucket's prefix, so an operator's lifecycle rule
//! that expires old feeds (`<prefix>/sha256/`) never touches them.

use std::sync::Arc;

use object_store::aws::AmazonS3Builder;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

use crate::error::BlobError;
use crate::object::{client, env_builder};
use contextworker_types::BucketUrl;

/// Named files under `<prefix>/<folder>/` of a bucket.
#[derive(Debug, Clone)]
pub struct NamedObjects {
    store: Arc<dyn ObjectStore>,
    url: BucketUrl,
    folder: String,
}

impl NamedObjects {
    /// The folder `folder` of the bucket at `url`, the client configured from the standard
    /// `AWS_*` variables as for [`crate::ObjectBlobStore::s3`].
    pub fn s3(url: BucketUrl, folder: &str) -> Result<Self, BlobError> {
        Self::s3_with(env_builder(), url, folder, crate::RIDE_OUT)
    }

    /// The same with the client's settings given (tests, tools), and how long a request rides
    /// out a store that does not answer.
    pub fn s3_with(
        builder: AmazonS3Builder,
        url: BucketUrl,
        folder: &str,
        ride_out: std::time::Duration,
    ) -> Result<Self, BlobError> {
        let store = client(builder, &url, ride_out)?;
        Ok(Self {
            store,
            url,
            folder: folder.trim_matches('/').to_owned(),
        })
    }

    fn path(&self, name: &str) -> ObjectPath {
        let key = if self.url.prefix().is_empty() {
            format!("{}/{name}", self.folder)
        } else {
            format!("{}/{}/{name}", self.url.prefix(), self.folder)
        };
        ObjectPath::from(key)
    }

    /// `s3://bucket/prefix/folder/name`, for messages.
    pub fn describe(&self, name: &str) -> String {
        format!("s3://{}/{}", self.url.bucket(), self.path(name))
    }

    fn remote(&self, source: object_store::Error) -> BlobError {
        BlobError::remote(&self.url, source)
    }

    /// Whether `name` is there.
    pub async fn exists(&self, name: &str) -> Result<bool, BlobError> {
        match self.store.head(&self.path(name)).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(self.remote(e)),
        }
    }

    /// Write `name` whole in one request: the files kept here are small enough (a component
    /// is at most the sandbox's `max_component_mb`) that a multipart upload would only add
    /// round trips. A reader sees the old object or the new one, never part of one.
    pub async fn put(&self, name: &str, bytes: Vec<u8>) -> Result<(), BlobError> {
        self.store
            .put(&self.path(name), PutPayload::from(bytes))
            .await
            .map(drop)
            .map_err(|e| self.remote(e))
    }

    /// `name`'s bytes, or `None` when there is no such object. An object over `limit` bytes
    /// is refused before its body is read.
    pub async fn get(&self, name: &str, limit: u64) -> Result<Option<Vec<u8>>, BlobError> {
        let got = match self.store.get(&self.path(name)).await {
            Ok(got) => got,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(self.remote(e)),
        };
        if got.meta.size > limit {
            return Err(BlobError::TooLarge { limit });
        }
        let bytes = got.bytes().await.map_err(|e| self.remote(e))?;
        Ok(Some(bytes.to_vec()))
    }
}
