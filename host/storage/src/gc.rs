//! Keeping the store within its disk bound: which blobs are old enough to go, least recently
//! used first, and the sweep of temp files left by writes that died.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// How much disk a blob store may use, and how long a blob is kept whatever the cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    pub max_bytes: u64,
    /// A blob written or read within this long is never evicted.
    pub keep_for: Duration,
}

impl Default for Retention {
    fn default() -> Self {
        Self {
            max_bytes: 20 << 30,
            keep_for: Duration::from_secs(24 * 3600),
        }
    }
}

/// What a collection pass found and did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GcReport {
    pub removed: u64,
    pub freed_bytes: u64,
    pub kept: u64,
    pub kept_bytes: u64,
}

/// One stored blob, as eviction sees it.
pub(crate) struct BlobFile {
    path: PathBuf,
    pub(crate) size: u64,
    used: SystemTime,
}

pub(crate) fn blob_files(root: &Path) -> Vec<BlobFile> {
    let mut out = Vec::new();
    let shards = std::fs::read_dir(root.join("sha256"))
        .into_iter()
        .flatten()
        .flatten();
    for shard in shards {
        for entry in std::fs::read_dir(shard.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            if let Ok(meta) = entry.metadata()
                && meta.is_file()
            {
                out.push(BlobFile {
                    path: entry.path(),
                    size: meta.len(),
                    used: meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
                });
            }
        }
    }
    out
}

/// Delete the least recently used blobs not used within `keep_for` until at most `target`
/// bytes remain. Temp files of writes that died are swept too.
pub(crate) fn evict(root: &Path, target: u64, keep_for: Duration) -> GcReport {
    let now = SystemTime::now();
    let old_enough = |t: SystemTime| now.duration_since(t).is_ok_and(|age| age >= keep_for);
    let mut files = blob_files(root);
    files.sort_by_key(|b| b.used);
    let mut total: u64 = files.iter().map(|b| b.size).sum();
    let mut report = GcReport::default();
    for blob in files {
        if total > target && old_enough(blob.used) && std::fs::remove_file(&blob.path).is_ok() {
            total -= blob.size;
            report.removed += 1;
            report.freed_bytes += blob.size;
        } else {
            report.kept += 1;
            report.kept_bytes += blob.size;
        }
    }
    // A write in progress touches its temp file continually; one untouched for an hour died.
    for entry in std::fs::read_dir(root.join("tmp"))
        .into_iter()
        .flatten()
        .flatten()
    {
        let stale = entry.metadata().and_then(|m| m.modified()).is_ok_and(|t| {
            now.duration_since(t)
                .is_ok_and(|a| a >= Duration::from_secs(3600))
        });
        if stale {
            let _ = std::fs::remove_file(entry.path());
        }
    }
    report
}
