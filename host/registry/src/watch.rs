//! Reloading when files in the modules directory change.
//!
//! Copying a component produces a burst of events (create, several writes, close), and a
//! build that renames into place produces another: reloading on each would compile half-written
//! files. So events only arm a timer, and the reload runs once the directory has been quiet
//! for the debounce period. Reads (including the reload's own) and metadata-only changes are
//! ignored, so a reload never triggers the next one.

use std::sync::Arc;
use std::time::Duration;

use contextworker_runtime::CancellationToken;
use notify::{EventKind, RecursiveMode, Watcher as _};
use tokio::sync::mpsc;

use crate::{LiveModules, RegistryError};

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

/// Watch `live`'s directory until `stop`, reloading after `debounce` of quiet following a
/// change. The returned task ends when `stop` is cancelled.
pub fn watch(
    live: Arc<LiveModules>,
    debounce: Duration,
    stop: CancellationToken,
) -> Result<tokio::task::JoinHandle<()>, RegistryError> {
    let (tx, mut rx) = mpsc::unbounded_channel::<()>();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        match event {
            Ok(event) if relevant(&event.kind) => {
                let _ = tx.send(());
            }
            Ok(_) => {}
            // Lost events (queue overflow): reload to be safe.
            Err(_) => {
                let _ = tx.send(());
            }
        }
    })
    .map_err(|e| RegistryError::Watch {
        path: live.dir().to_path_buf(),
        reason: e.to_string(),
    })?;
    watcher
        .watch(live.dir(), RecursiveMode::Recursive)
        .map_err(|e| RegistryError::Watch {
            path: live.dir().to_path_buf(),
            reason: e.to_string(),
        })?;
    Ok(tokio::spawn(async move {
        // The watcher stops when dropped: keep it for the life of the task.
        let _watcher = watcher;
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                got = rx.recv() => if got.is_none() { return },
            }
            // Quiet period: every further event restarts it.
            loop {
                tokio::select! {
                    () = stop.cancelled() => return,
                    () = tokio::time::sleep(debounce) => break,
                    got = rx.recv() => if got.is_none() { return },
                }
            }
            live.reload("watch").await;
        }
    }))
}
