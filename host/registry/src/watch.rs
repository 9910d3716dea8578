//! Reloading when files in the modules directory change.
//!
//! Copying a component produces a burst of events (create, several writes, close), and a
//! build that renames into place produces another: reloading on each would compile half-written
//! files. So events only arm a timer, and the reload runs once the directory has been quiet
//! for the debounce period. Reads (including the reload's own) and metadata-only changes are
//! ignored, so a reload never triggers the next one.
//!
//! Notifications are not enough everywhere: network file systems may not deliver them, and a
//! deploy that re-points a symlinked modules directory leaves the watch on the old target. A
//! slow poll of the files' metadata (sizes, times, inodes, and where the directory resolves to)
//! covers both; it reloads only when that fingerprint changed, and moves the watch to a new
//! target.
//!
//! Files being written under a temporary name (`*.tmp`, `*.part`, editor backups, dot files
//! such as `tempfile`'s `.tmpXXXX`) are not modules: their events and their metadata are left
//! out, so writing one causes no reload, and the rename that lands it does. A reload runs only
//! when the fingerprint of what is left changed.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use contextworker_runtime::CancellationToken;
use notify::{EventKind, RecursiveMode, Watcher as _};
use tokio::sync::mpsc;

use crate::{LiveModules, RegistryError, ReloadCause};
use contextworker_manifest::is_scratch_name;

fn relevant(kind: &EventKind) -> bool {
    match kind {
        EventKind::Create(_) | EventKind::Remove(_) | EventKind::Any | EventKind::Other => true,
        EventKind::Modify(notify::event::ModifyKind::Metadata(_)) => false,
        EventKind::Modify(_) => true,
        EventKind::Access(notify::event::AccessKind::Close(notify::event::AccessMode::Write)) => {
            true
        }
        EventKind::Access(_) => false,
    }
}

/// A file written under a temporary name, to be renamed into place: never part of a module
/// (a manifest may not name one as its component).
fn is_scratch(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(is_scratch_name)
}

/// An event about scratch files alone (an event naming no path may be about anything).
fn only_scratch(paths: &[PathBuf]) -> bool {
    !paths.is_empty() && paths.iter().all(|p| is_scratch(p))
}

/// Where `dir` resolves to and the metadata of every file one level inside its module folders.
fn fingerprint(dir: &Path) -> (Option<PathBuf>, u64) {
    use std::os::unix::fs::MetadataExt as _;
    let target = std::fs::canonicalize(dir).ok();
    let mut files: Vec<(PathBuf, u64, i64, i64, u64)> = Vec::new();
    for folder in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        for file in std::fs::read_dir(folder.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            if let Ok(m) = file.metadata()
                && m.is_file()
                && !is_scratch(&file.path())
            {
                files.push((file.path(), m.len(), m.mtime(), m.mtime_nsec(), m.ino()));
            }
        }
    }
    files.sort();
    let mut h = std::collections::hash_map::DefaultHasher::new();
    files.hash(&mut h);
    (target, h.finish())
}

fn watch_error(dir: &Path, e: &notify::Error) -> RegistryError {
    RegistryError::Watch {
        path: dir.to_path_buf(),
        reason: e.to_string(),
    }
}

/// Watch `live`'s directory until `stop`: reload after `debounce` of quiet following a change
/// notification, and whenever a poll every `poll` finds the files changed. The returned task
/// ends when `stop` is cancelled.
pub fn watch(
    live: Arc<LiveModules>,
    debounce: Duration,
    poll: Duration,
    stop: CancellationToken,
) -> Result<tokio::task::JoinHandle<()>, RegistryError> {
    let dir = live.dir().to_path_buf();
    let (tx, mut rx) = mpsc::unbounded_channel::<()>();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        match event {
            Ok(event) if relevant(&event.kind) && !only_scratch(&event.paths) => {
                let _ = tx.send(());
            }
            Ok(_) => {}
            // Lost events (queue overflow): reload to be safe.
            Err(_) => {
                let _ = tx.send(());
            }
        }
    })
    .map_err(|e| watch_error(&dir, &e))?;
    watcher
        .watch(&dir, RecursiveMode::Recursive)
        .map_err(|e| watch_error(&dir, &e))?;
    // The baseline is taken here, not in the task: a change that lands between this call and the
    // task's first run would otherwise become the baseline and never be reloaded.
    let mut last = fingerprint(&dir);
    Ok(tokio::spawn(async move {
        let mut ticks = tokio::time::interval(poll);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticks.tick().await;
        loop {
            let cause = tokio::select! {
                () = stop.cancelled() => return,
                got = rx.recv() => if got.is_none() { return } else { ReloadCause::Watch },
                _ = ticks.tick() => ReloadCause::Poll,
            };
            if cause == ReloadCause::Watch {
                // Quiet period: every further event restarts it.
                loop {
                    tokio::select! {
                        () = stop.cancelled() => return,
                        () = tokio::time::sleep(debounce) => break,
                        got = rx.recv() => if got.is_none() { return },
                    }
                }
            }
            let now = {
                let dir = dir.clone();
                tokio::task::spawn_blocking(move || fingerprint(&dir))
                    .await
                    .unwrap_or_default()
            };
            if now == last {
                // Nothing a module is made of changed (a scratch file came and went, or the
                // poll found the directory as it was).
                continue;
            }
            if now.0 != last.0 {
                // The directory resolves elsewhere now (a re-pointed symlink): watch the new
                // target. Until that works, the poll keeps reloads coming.
                let _ = watcher.unwatch(&dir);
                if let Err(e) = watcher.watch(&dir, RecursiveMode::Recursive) {
                    tracing::warn!("{}", watch_error(&dir, &e));
                }
            }
            last = now;
            live.reload(cause).await;
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scratch_names_are_recognised_and_module_files_are_not() {
        for name in [
            "yml.wasm.tmp",
            ".tmpA1b2",
            "module.toml~",
            "yml.wasm.part",
            ".x.swp",
        ] {
            assert!(is_scratch(Path::new(name)), "{name}");
        }
        for name in ["yml.wasm", "module.toml", "tmp.wasm", "fixtures"] {
            assert!(!is_scratch(Path::new(name)), "{name}");
        }
    }
}
