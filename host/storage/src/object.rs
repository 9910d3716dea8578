//! [`ObjectBlobStore`]: blobs in an S3-compatible object store shared by a fleet, with a local
//! directory in front of it.
//!
//! The local directory is an [`FsBlobStore`] with its size cap, and does two jobs: a write lands
//! there first (hashed on the way, so the object's key, its digest, is known before the upload
//! starts) and is then streamed to the bucket from the file, never held whole in memory; a read
//! is served from there when the blob is present (the host that fetched a feed parses it without
//! downloading it again) and otherwise downloaded into it, re-hashed, and refused if the bytes
//! do not hash to the name. Nothing another host needs lives only in the local directory: a
//! write returns after the object is in the bucket.

use std::sync::Arc;

use futures::TryStreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, RetryConfig};
use tokio::io::AsyncWriteExt;

use crate::blob::{BlobReader, BlobRef, BlobStore, BoxFuture};
use crate::error::BlobError;
use crate::fs::FsBlobStore;
use crate::writer::HashedFile;
use contextworker_types::{BucketUrl, Digest};

/// Parts of a multipart upload: large enough that a 100 MB feed is a dozen requests, small
/// enough that a few uploads at once stay a few tens of MiB of buffers.
const PART_BYTES: usize = 8 * 1024 * 1024;
/// Parts of one upload in flight at once.
const UPLOAD_CONCURRENCY: usize = 4;

/// How long one request keeps retrying a store that does not answer (a restart, a failover, a
/// network blip) before the step fails, retryably, naming the store. Riding an outage out
/// inside the step keeps the work it has done: a fetch does not download the feed from the
/// supplier again, a parse does not parse again, only the request is repeated. Past this, the
/// step's own retry policy takes over (each attempt waits this long again).
pub const RIDE_OUT: std::time::Duration = std::time::Duration::from_secs(60);

/// Blobs in an object store, through a bounded local directory.
#[derive(Debug)]
pub struct ObjectBlobStore {
    store: Arc<dyn ObjectStore>,
    url: BucketUrl,
    local: FsBlobStore,
}

impl ObjectBlobStore {
    /// An S3-compatible store at `url`, configured from the standard `AWS_*` variables
    /// (`AWS_ENDPOINT_URL`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`,
    /// `AWS_ALLOW_HTTP` for a local server), with `local` as its read-through directory.
    pub fn s3(url: BucketUrl, local: FsBlobStore) -> Result<Self, BlobError> {
        Self::s3_with(env_builder(), url, local, RIDE_OUT)
    }

    /// The same with the client's settings given (tests, tools), and how long a request rides
    /// out a store that does not answer ([`RIDE_OUT`] for a host). The bucket and the retry
    /// rule are set here.
    pub fn s3_with(
        builder: AmazonS3Builder,
        url: BucketUrl,
        local: FsBlobStore,
        ride_out: std::time::Duration,
    ) -> Result<Self, BlobError> {
        Ok(Self::new(client(builder, &url, ride_out)?, url, local))
    }

    pub fn new(store: Arc<dyn ObjectStore>, url: BucketUrl, local: FsBlobStore) -> Self {
        Self { store, url, local }
    }

    /// The local directory in front of the bucket.
    pub fn local(&self) -> &FsBlobStore {
        &self.local
    }

    fn key(&self, digest: &Digest) -> ObjectPath {
        let hex = digest.hex();
        let key = if self.url.prefix().is_empty() {
            format!("sha256/{}/{hex}", &hex[..2])
        } else {
            format!("{}/sha256/{}/{hex}", self.url.prefix(), &hex[..2])
        };
        ObjectPath::from(key)
    }

    fn remote(&self, digest: &Digest) -> impl FnOnce(object_store::Error) -> BlobError + '_ {
        let digest = *digest;
        move |source| match source {
            object_store::Error::NotFound { .. } => BlobError::Missing(digest),
            other => BlobError::remote(&self.url, other),
        }
    }

    /// Put a blob that is in the local directory into the bucket, unless it is there already
    /// (content-addressed: same key, same bytes).
    async fn upload(&self, blob: &BlobRef) -> Result<(), BlobError> {
        let key = self.key(&blob.digest);
        match self.store.head(&key).await {
            Ok(meta) if meta.size == blob.size => return Ok(()),
            Ok(_) | Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => return Err(BlobError::remote(&self.url, e)),
        }
        let mut reader = self.local.open(blob).await?;
        let mut writer = object_store::buffered::BufWriter::with_capacity(
            Arc::clone(&self.store),
            key,
            PART_BYTES,
        )
        .with_max_concurrency(UPLOAD_CONCURRENCY);
        let copied = tokio::io::copy(&mut reader, &mut writer).await;
        let finished = match copied {
            Ok(_) => writer.shutdown().await,
            Err(e) => {
                // An unfinished multipart upload holds parts in the bucket until aborted.
                let _ = writer.abort().await;
                Err(e)
            }
        };
        finished.map_err(|e| self.remote_io(e))
    }

    /// An upload's error: the object store's own when it is one (the buffered writer wraps
    /// them in `io::Error`), else the local read's.
    fn remote_io(&self, error: std::io::Error) -> BlobError {
        match unwrap_io::<object_store::Error>(error) {
            Ok(source) => BlobError::remote(&self.url, source),
            Err(source) => BlobError::Io {
                path: self.url.to_string().into(),
                source,
            },
        }
    }

    /// Download a blob into the local directory, checking it hashes to its name.
    async fn download(&self, blob: &BlobRef) -> Result<(), BlobError> {
        let key = self.key(&blob.digest);
        let got = self
            .store
            .get(&key)
            .await
            .map_err(self.remote(&blob.digest))?;
        let store = self.url.to_string();
        let stream = got
            .into_stream()
            .map_err(move |e| std::io::Error::other(BlobError::remote(&store, e)));
        let reader = tokio_util::io::StreamReader::new(stream);
        // No more than the reference says: a larger object is not this blob.
        let stored = match self.local.put(Box::new(reader), blob.size).await {
            // The download's own error, not the local file's.
            Err(BlobError::Io { path, source }) => match unwrap_io::<BlobError>(source) {
                Ok(remote) => return Err(remote),
                Err(source) => return Err(BlobError::Io { path, source }),
            },
            other => other?,
        };
        if stored.digest != blob.digest {
            return Err(BlobError::Corrupt {
                expected: blob.digest,
                actual: stored.digest,
            });
        }
        Ok(())
    }

    async fn open_impl(&self, blob: &BlobRef) -> Result<BlobReader, BlobError> {
        match self.local.open(blob).await {
            Err(BlobError::Missing(_)) => {
                self.download(blob).await?;
                self.local.open(blob).await
            }
            other => other,
        }
    }
}

impl BlobStore for ObjectBlobStore {
    fn local_bytes(&self) -> u64 {
        self.local.used_bytes()
    }

    fn put<'a>(
        &'a self,
        reader: BlobReader,
        limit: u64,
    ) -> BoxFuture<'a, Result<BlobRef, BlobError>> {
        Box::pin(async move {
            let blob = self.local.put(reader, limit).await?;
            self.upload(&blob).await?;
            Ok(blob)
        })
    }

    fn put_file<'a>(&'a self, file: HashedFile) -> BoxFuture<'a, Result<BlobRef, BlobError>> {
        Box::pin(async move {
            let blob = self.local.put_file(file).await?;
            self.upload(&blob).await?;
            Ok(blob)
        })
    }

    fn open<'a>(&'a self, blob: &'a BlobRef) -> BoxFuture<'a, Result<BlobReader, BlobError>> {
        Box::pin(self.open_impl(blob))
    }

    fn verify<'a>(&'a self, blob: &'a BlobRef) -> BoxFuture<'a, Result<(), BlobError>> {
        Box::pin(async move {
            match self.local.verify(blob).await {
                Err(BlobError::Missing(_)) => self.download(blob).await,
                other => other,
            }
        })
    }
}

/// A client's settings from the standard `AWS_*` variables.
pub(crate) fn env_builder() -> AmazonS3Builder {
    let builder = AmazonS3Builder::from_env();
    // Local S3 servers (SeaweedFS, MinIO) accept any region; AWS itself needs the real one.
    if std::env::var_os("AWS_REGION").is_none() && std::env::var_os("AWS_DEFAULT_REGION").is_none()
    {
        return builder.with_region("us-east-1");
    }
    builder
}

/// The client for `url`'s bucket.
pub(crate) fn client(
    builder: AmazonS3Builder,
    url: &BucketUrl,
    ride_out: std::time::Duration,
) -> Result<Arc<dyn ObjectStore>, BlobError> {
    let store = builder
        .with_bucket_name(url.bucket())
        // Exponential backoff from 100 ms, capped at 15 s per wait (the crate's defaults),
        // until `ride_out` has passed; the retry count only needs to be out of the way.
        .with_retry(RetryConfig {
            max_retries: 100,
            retry_timeout: ride_out,
            ..RetryConfig::default()
        })
        .build()
        .map_err(|e| BlobError::Config {
            store: url.to_string(),
            reason: e.to_string(),
        })?;
    Ok(Arc::new(store))
}

/// The error of type `E` an `io::Error` carries, or the `io::Error` itself.
fn unwrap_io<E: std::error::Error + Send + Sync + 'static>(
    error: std::io::Error,
) -> Result<E, std::io::Error> {
    if !error.get_ref().is_some_and(|inner| inner.is::<E>()) {
        return Err(error);
    }
    match error.into_inner().map(|inner| inner.downcast::<E>()) {
        Some(Ok(inner)) => Ok(*inner),
        // Checked above; kept total without a panic.
        Some(Err(other)) => Err(std::io::Error::other(other)),
        None => Err(std::io::Error::other("an I/O error without its cause")),
    }
}
