//! `gc`: free the disk the host's caches hold, within the rules that keep running work safe.

use std::time::{Duration, SystemTime};

use contextworker_storage::FsBlobStore;
use serde_json::json;

use crate::cli::GlobalArgs;
use crate::commands::EXIT_OK;
use crate::context;

pub async fn run(args: &GlobalArgs, as_json: bool) -> anyhow::Result<u8> {
    let config = context::host_config(args)?;
    let data = &config.data_dir;
    // Blobs: every one not used within the keep window, which no running harvest can need
    // (a harvest writes and reads its blobs within its own 24 hours).
    let blobs = FsBlobStore::new(data.blobs())
        .collect(0, config.storage.blob_keep)
        .await;
    // Compiled components: back under the cap, least recently used first.
    let runtime = context::runtime(&config)?;
    let compiled = runtime
        .trim_compile_cache(config.sandbox.compile_cache_max_mb << 20)
        .unwrap_or_default();
    // Scratch files of activities that died: older than the keep window.
    let (tmp_removed, tmp_freed) = sweep(&data.scratch(), config.storage.blob_keep);
    if as_json {
        println!(
            "{}",
            json!({
                "blobs": {"removed": blobs.removed, "freed_bytes": blobs.freed_bytes,
                          "kept": blobs.kept, "kept_bytes": blobs.kept_bytes},
                "compiled": {"removed": compiled.removed, "freed_bytes": compiled.freed_bytes,
                             "kept": compiled.kept, "kept_bytes": compiled.kept_bytes},
                "tmp": {"removed": tmp_removed, "freed_bytes": tmp_freed},
            })
        );
    } else {
        let mib = |b: u64| b as f64 / f64::from(1 << 20);
        println!(
            "blobs: removed {} ({:.1} MiB), kept {} ({:.1} MiB)",
            blobs.removed,
            mib(blobs.freed_bytes),
            blobs.kept,
            mib(blobs.kept_bytes)
        );
        println!(
            "compiled components: removed {} ({:.1} MiB), kept {} ({:.1} MiB)",
            compiled.removed,
            mib(compiled.freed_bytes),
            compiled.kept,
            mib(compiled.kept_bytes)
        );
        println!(
            "temp files: removed {tmp_removed} ({:.1} MiB)",
            mib(tmp_freed)
        );
    }
    Ok(EXIT_OK)
}

fn sweep(dir: &std::path::Path, older_than: Duration) -> (u64, u64) {
    let now = SystemTime::now();
    let (mut removed, mut freed) = (0, 0);
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let Ok(meta) = entry.metadata() else { continue };
        let old = meta
            .modified()
            .is_ok_and(|t| now.duration_since(t).is_ok_and(|a| a >= older_than));
        if meta.is_file() && old && std::fs::remove_file(entry.path()).is_ok() {
            removed += 1;
            freed += meta.len();
        }
    }
    (removed, freed)
}
