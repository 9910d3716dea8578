//! The product set of a parse: written once as NDJSON into a scratch file while the guest
//! emits, each product checked against what staging can hold, repeated offer ids noted so the
//! later one wins (as the README promises; the module has usually warned), and the result put
//! into the blob store by reference.

use std::collections::HashMap;
use std::path::Path;

use contextworker_runtime::ProductSink;
use contextworker_storage::BlobRef;
use contextworker_types::{ErrorClass, Product, Warning};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufWriter};

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
    out: BufWriter<tokio::fs::File>,
    last: HashMap<String, usize>,
    collected: Collected,
    progress: Progress,
    line: Vec<u8>,
}

impl ParsedProducts {
    pub async fn create(path: &Path, progress: Progress) -> Result<Self, Failure> {
        let file = tokio::fs::File::create(path).await.map_err(scratch_io)?;
        Ok(Self {
            out: BufWriter::with_capacity(256 * 1024, file),
            last: HashMap::new(),
            collected: Collected::default(),
            progress,
            line: Vec::with_capacity(1024),
        })
    }

    pub async fn finish(mut self) -> Result<Collected, Failure> {
        self.out.flush().await.map_err(scratch_io)?;
        self.collected.products = self.last.len() as u64;
        Ok(self.collected)
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
    scratch: tempfile::NamedTempFile,
    collected: &Collected,
) -> Result<BlobRef, Failure> {
    let final_path = if collected.duplicates > 0 {
        let deduped = tempfile::NamedTempFile::new_in(&services.scratch_dir).map_err(scratch_io)?;
        keep_lines(scratch.path(), &collected.keep, deduped.path()).await?;
        deduped.into_temp_path()
    } else {
        scratch.into_temp_path()
    };
    let file = tokio::fs::File::open(&final_path)
        .await
        .map_err(scratch_io)?;
    services
        .blobs
        .put(Box::new(file), u64::MAX)
        .await
        .map_err(|e| Failure::from_blob(&e))
}

pub(super) fn scratch_io(e: impl std::fmt::Display) -> Failure {
    Failure::new(ErrorClass::HostError, format!("scratch file: {e}"))
}

/// Copy the lines of `from` whose `keep` flag is set to `to`.
async fn keep_lines(from: &Path, keep: &[bool], to: &Path) -> Result<(), Failure> {
    let input = tokio::fs::File::open(from).await.map_err(scratch_io)?;
    let mut lines = tokio::io::BufReader::with_capacity(256 * 1024, input).lines();
    let output = tokio::fs::File::create(to).await.map_err(scratch_io)?;
    let mut out = BufWriter::with_capacity(256 * 1024, output);
    let mut index = 0;
    while let Some(line) = lines.next_line().await.map_err(scratch_io)? {
        if keep.get(index).copied().unwrap_or(false) {
            out.write_all(line.as_bytes()).await.map_err(scratch_io)?;
            out.write_all(b"\n").await.map_err(scratch_io)?;
        }
        index += 1;
    }
    out.flush().await.map_err(scratch_io)
}
