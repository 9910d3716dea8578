//! The epoch ticker: one background thread that advances every engine's epoch on a fixed
//! tick, which is what lets deadlines, cancellation and yielding reach a running guest.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use wasmtime::Engine;

/// Advances every engine's epoch on a fixed tick from one background thread.
pub(crate) struct Ticker {
    engines: Mutex<Vec<Engine>>,
    stop: AtomicBool,
}

impl Ticker {
    pub(crate) fn start(tick: Duration, first: Engine) -> Arc<Self> {
        let ticker = Arc::new(Self {
            engines: Mutex::new(vec![first]),
            stop: AtomicBool::new(false),
        });
        let shared = Arc::clone(&ticker);
        let spawned = std::thread::Builder::new()
            .name("wasm-epoch".into())
            .spawn(move || {
                while !shared.stop.load(Ordering::Relaxed) {
                    std::thread::sleep(tick);
                    for engine in shared
                        .engines
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .iter()
                    {
                        engine.increment_epoch();
                    }
                }
            });
        if let Err(e) = spawned {
            // Without the ticker deadlines never fire; the outer wall-clock timer still does.
            tracing::error!(
                "cannot start the epoch thread: {e}; guest deadlines fall back to the outer timer"
            );
        }
        ticker
    }

    pub(crate) fn add(&self, engine: Engine) {
        self.engines
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(engine);
    }

    /// Stop the thread at its next tick.
    pub(crate) fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}
