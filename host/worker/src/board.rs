//! What this worker is doing now, for `contextworker-host status`: the activities running, with
//! their start, and the last failures. Bounded: running entries are as many as the slots, and
//! the failure list keeps the newest [`KEPT_FAILURES`], each message capped.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// Failures kept for `status`.
pub const KEPT_FAILURES: usize = 20;
/// A failure's message as kept: enough to recognise it; the whole one is in the log and in
/// Temporal's history.
const MESSAGE_CHARS: usize = 300;

#[derive(Debug, Default)]
pub struct Board {
    next: AtomicU64,
    running: Mutex<BTreeMap<u64, Entry>>,
    failures: Mutex<VecDeque<FailureNote>>,
}

#[derive(Debug, Clone)]
struct Entry {
    activity: String,
    workflow_id: String,
    attempt: u32,
    started: Instant,
    started_ms: u64,
}

/// One running activity as `status` shows it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RunningActivity {
    pub activity: String,
    pub workflow_id: String,
    pub attempt: u32,
    pub started_ms: u64,
    pub elapsed_ms: u64,
}

/// One failed activity attempt.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct FailureNote {
    pub at_ms: u64,
    pub activity: String,
    pub workflow_id: String,
    pub attempt: u32,
    pub failure_type: String,
    pub message: String,
}

/// The board at one moment.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct BoardView {
    pub running: Vec<RunningActivity>,
    pub recent_failures: Vec<FailureNote>,
}

/// Takes its activity off the board when dropped (finished, failed or cancelled alike).
#[derive(Debug)]
pub struct OnBoard<'a> {
    board: &'a Board,
    key: u64,
}

impl Drop for OnBoard<'_> {
    fn drop(&mut self) {
        lock(&self.board.running).remove(&self.key);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl Board {
    /// An activity attempt starts; it stays on the board while the guard lives.
    pub fn start(&self, activity: &str, workflow_id: &str, attempt: u32) -> OnBoard<'_> {
        let key = self.next.fetch_add(1, Ordering::Relaxed);
        lock(&self.running).insert(
            key,
            Entry {
                activity: activity.to_owned(),
                workflow_id: workflow_id.to_owned(),
                attempt,
                started: Instant::now(),
                started_ms: now_ms(),
            },
        );
        OnBoard { board: self, key }
    }

    pub fn failed(
        &self,
        activity: &str,
        workflow_id: &str,
        attempt: u32,
        failure_type: &str,
        message: &str,
    ) {
        let mut failures = lock(&self.failures);
        if failures.len() == KEPT_FAILURES {
            failures.pop_front();
        }
        failures.push_back(FailureNote {
            at_ms: now_ms(),
            activity: activity.to_owned(),
            workflow_id: workflow_id.to_owned(),
            attempt,
            failure_type: failure_type.to_owned(),
            message: message.chars().take(MESSAGE_CHARS).collect(),
        });
    }

    pub fn view(&self) -> BoardView {
        let running = lock(&self.running)
            .values()
            .map(|e| RunningActivity {
                activity: e.activity.clone(),
                workflow_id: e.workflow_id.clone(),
                attempt: e.attempt,
                started_ms: e.started_ms,
                elapsed_ms: u64::try_from(e.started.elapsed().as_millis()).unwrap_or(u64::MAX),
            })
            .collect();
        BoardView {
            running,
            recent_failures: lock(&self.failures).iter().rev().cloned().collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_leave_with_their_guard_and_failures_stay_bounded() {
        let board = Board::default();
        let first = board.start("parse_products", "harvest:acme:shop", 1);
        let second = board.start("store_products", "harvest:acme:shop", 2);
        assert_eq!(board.view().running.len(), 2);
        drop(first);
        let view = board.view();
        assert_eq!(view.running.len(), 1);
        assert_eq!(view.running[0].activity, "store_products");
        drop(second);
        assert!(board.view().running.is_empty());
        for i in 0..(KEPT_FAILURES + 5) {
            board.failed(
                "download_feed",
                &format!("w{i}"),
                1,
                "FetchFailed",
                &"x".repeat(1000),
            );
        }
        let failures = board.view().recent_failures;
        assert_eq!(failures.len(), KEPT_FAILURES);
        assert_eq!(
            failures[0].workflow_id,
            format!("w{}", KEPT_FAILURES + 4),
            "newest first"
        );
        assert_eq!(failures[0].message.len(), MESSAGE_CHARS);
    }
}
