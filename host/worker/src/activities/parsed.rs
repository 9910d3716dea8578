//! The product set of a parse: written once as NDJSON into a scratch file while the guest
//! emits, hashed on the way, each product checked against what staging can hold, repeated offer
//! ids noted so the later one wins (as the README promises; the module has usually warned). The
//! file then becomes the blob (a store on the same disk adopts it by rename); only a feed with
//! repeated offer ids is written a second time, without the earlier ones, because which product
//! a later one replaces is known only when the later one arrives.

use std::collections::HashMap;
use std::path::Path;

use contextworker_runtime::ProductSink;
use contextworker_storage::{BlobRef, BlobWriter, HashedFile};
use contextworker_types::{ErrorClass, Product, Warning};
use tokio::io::AsyncBufReadExt;

use super::supervise::Progress;
use crate::failure::Failure;
use crate::messages::WARNING_SAMPLES;
use crate::services::Services;

/// What a parse produced, once its sink is finished.
#[derive(Debug, Default)]
pub(super) struct Collected {
    /// Distinct offer ids.
    pub products: u64,
    /// Per emitted product: false when a later product has the same offer id.
    keep: Vec<bool>,
    pub duplicates: u64,
    pub warnings: u64,
    pub samples: Vec<Warning>,
}

/// The sink of a parse step (and of a shadow run's candidate).
pub(super) struct ParsedProducts {
    out: BlobWriter,
    last: HashMap<String, usize>,
    collected: Collected,
    progress: Progress,
    line: Vec<u8>,
}

impl ParsedProducts {
    /// A sink writing into a new scratch file in `dir`.
    pub async fn create(dir: &Path, progress: Progress) -> Result<Self, Failure> {
        Ok(Self {
            out: BlobWriter::create_in(dir).await.map_err(scratch_io)?,
            last: HashMap::new(),
            collected: Collected::default(),
            progress,
            line: Vec::with_capacity(1024),
        })
    }

    /// The products written (every one emitted, repeated ids included) and what was seen.
    pub async fn finish(mut self) -> Result<(HashedFile, Collected), Failure> {
        let file = self.out.finish().await.map_err(scratch_io)?;
        self.collected.products = self.last.len() as u64;
        Ok((file, self.collected))
    }
}

impl ProductSink for ParsedProducts {
    type Error = Failure;

    async fn products(&mut self, batch: Vec<Product>) -> Result<(), Failure> {
        let collected = &mut self.collected;
        self.line.clear();
        for product in batch {
            // Refuse here, before anything is staged: a product the database cannot hold
            // fails the harvest once, clearly, instead of a batch at a time.
            contextworker_staging::check_product(&product).map_err(|e| {
                Failure::new(
                    ErrorClass::InvalidProducts,
                    format!("product {}: {e}", collected.keep.len() + 1),
                )
            })?;
            let index = collected.keep.len();
            if let Some(earlier) = self.last.insert(product.offer_id.clone(), index) {
                collected.keep[earlier] = false;
                collected.duplicates += 1;
            }
            collected.keep.push(true);
            serde_json::to_writer(&mut self.line, &product)
                .map_err(|e| Failure::new(ErrorClass::HostError, e.to_string()))?;
            self.line.push(b'\n');
        }
        self.out.write_all(&self.line).await.map_err(scratch_io)?;
        self.progress.set(collected.keep.len() as u64);
        Ok(())
    }

    async fn warnings(&mut self, batch: Vec<Warning>) -> Result<(), Failure> {
        let collected = &mut self.collected;
        collected.warnings += batch.len() as u64;
        let room = WARNING_SAMPLES.saturating_sub(collected.samples.len());
        collected.samples.extend(batch.into_iter().take(room));
        Ok(())
    }
}

/// The parsed products as a blob: the scratch file, without the earlier of repeated ids.
pub(super) async fn store_parsed(
    services: &Services,
    written: HashedFile,
    collected: &Collected,
) -> Result<BlobRef, Failure> {
    let file = if collected.duplicates > 0 {
        keep_lines(written.path(), &collected.keep, &services.scratch_dir).await?
    } else {
        written
    };
    services
        .blobs
        .put_file(file)
        .await
        .map_err(|e| Failure::from_blob(&e))
}

pub(super) fn scratch_io(e: impl std::fmt::Display) -> Failure {
    Failure::new(ErrorClass::HostError, format!("scratch file: {e}"))
}

/// The lines of `from` whose `keep` flag is set, in a new scratch file in `dir`.
async fn keep_lines(from: &Path, keep: &[bool], dir: &Path) -> Result<HashedFile, Failure> {
    let input = tokio::fs::File::open(from).await.map_err(scratch_io)?;
    let mut lines = tokio::io::BufReader::with_capacity(256 * 1024, input).lines();
    let mut out = BlobWriter::create_in(dir).await.map_err(scratch_io)?;
    let mut index = 0;
    while let Some(line) = lines.next_line().await.map_err(scratch_io)? {
        if keep.get(index).copied().unwrap_or(false) {
            out.write_all(line.as_bytes()).await.map_err(scratch_io)?;
            out.write_all(b"\n").await.map_err(scratch_io)?;
        }
        index += 1;
    }
    out.finish().await.map_err(scratch_io)
}
