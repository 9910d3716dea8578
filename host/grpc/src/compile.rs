//! ExecuteCode's compiles: identical code compiles once however many requests carry it (one
//! compile per sha256 in flight, then an in-memory map in front of the runtime's on-disk
//! cache), and a compile holds the slot of the request that started it until the compile
//! really ends, even if that client gave up, so at most as many compiles run as there are
//! slots. A request waits at most the compile timeout for its compile.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use contextworker_runtime::{CompileLimits, LoadError, LoadedComponent, Metering, Runtime};
use contextworker_types::{Digest, World};
use futures::FutureExt as _;
use futures::future::{BoxFuture, Shared};
use tokio::sync::OwnedSemaphorePermit;

/// What to run: submitted bytes (hashed per call), or a component the server holds with its
/// digest already known.
pub(crate) enum Code {
    Submitted(Vec<u8>),
    Known(Digest, Arc<Vec<u8>>),
}

/// Why a component could not be had: ExecuteCode's `error_type` and the message. Shared by
/// every request waiting on the same compile (`LoadError` holds an `io::Error` and is not
/// `Clone`).
pub(crate) type Refusal = (&'static str, String);

/// A component by digest and metering class (fuel-metered code compiles differently).
type Key = (Digest, bool);

/// A compile every request for the same code can wait on.
type Compile = Shared<BoxFuture<'static, Result<Arc<LoadedComponent>, Refusal>>>;

/// The compiled components ExecuteCode keeps, and the compiles in flight.
pub(crate) struct Compiler {
    runtime: Arc<Runtime>,
    limits: CompileLimits,
    /// Compiled components kept in memory.
    cached_components: usize,
    timeout: Duration,
    compiled: Arc<Mutex<HashMap<Key, Arc<LoadedComponent>>>>,
    /// Compiles in flight, by what they compile: a second request for the same code waits
    /// for the first one's compile instead of starting another.
    compiling: Arc<Mutex<HashMap<Key, Compile>>>,
}

impl Compiler {
    pub(crate) fn new(
        runtime: Arc<Runtime>,
        limits: CompileLimits,
        cached_components: usize,
        timeout: Duration,
    ) -> Self {
        Self {
            runtime,
            limits,
            cached_components,
            timeout,
            compiled: Arc::new(Mutex::new(HashMap::new())),
            compiling: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// The compiled component for `code`, with the request's slot. A compile this request
    /// starts takes the slot along and hands it back when it ends; if the request is gone by
    /// then (it timed out, the client left), the slot is freed only then.
    pub(crate) async fn load(
        &self,
        code: Code,
        metering: Metering,
        slot: OwnedSemaphorePermit,
    ) -> Result<(Arc<LoadedComponent>, OwnedSemaphorePermit), Refusal> {
        let digest = match &code {
            Code::Submitted(bytes) => Digest::of(bytes),
            Code::Known(digest, _) => *digest,
        };
        let key = (digest, metering == Metering::Fuel);
        if let Some(hit) = lock(&self.compiled).get(&key) {
            return Ok((hit.clone(), slot));
        }
        let (compile, ours) = {
            let mut compiling = lock(&self.compiling);
            match compiling.get(&key) {
                // Someone compiles this already: wait for it, keep our slot.
                Some(running) => (running.clone(), Ok(slot)),
                None => {
                    let (back, returned) = tokio::sync::oneshot::channel();
                    let compile = self.spawn_compile(key, code, metering, slot, back);
                    compiling.insert(key, compile.clone());
                    (compile, Err(returned))
                }
            }
        };
        let component = match tokio::time::timeout(self.timeout, compile).await {
            Ok(result) => result?,
            Err(_) => {
                return Err(load_error(&LoadError::CompileTimeout {
                    origin: "submitted code".to_owned(),
                    limit: self.timeout,
                }));
            }
        };
        let slot = match ours {
            Ok(slot) => slot,
            Err(returned) => returned
                .await
                .map_err(|_| ("internal", "the compile kept its slot".to_owned()))?,
        };
        Ok((component, slot))
    }

    /// Compile on a task of its own that holds `slot` until the compile ends, whether or not
    /// anyone still waits for it, then publishes the result and leaves the in-flight map.
    fn spawn_compile(
        &self,
        key: Key,
        code: Code,
        metering: Metering,
        slot: OwnedSemaphorePermit,
        back: tokio::sync::oneshot::Sender<OwnedSemaphorePermit>,
    ) -> Compile {
        let runtime = self.runtime.clone();
        let (compiled, compiling) = (self.compiled.clone(), self.compiling.clone());
        let (limits, cached_components) = (self.limits, self.cached_components);
        let task = tokio::spawn(async move {
            let loaded = match code {
                Code::Submitted(bytes) => {
                    runtime
                        .load_submitted("submitted code", bytes, World::Code, metering, &limits)
                        .await
                }
                // The operator's own module: trusted, but still compiled once.
                Code::Known(_, bytes) => {
                    runtime
                        .load(
                            "the js module",
                            bytes.as_ref().clone(),
                            World::Code,
                            metering,
                        )
                        .await
                }
            };
            let result = match loaded {
                Ok(component) => {
                    let mut map = lock(&compiled);
                    if map.len() >= cached_components {
                        // Any entry will do: the disk cache makes a reload cheap.
                        if let Some(victim) = map.keys().next().copied() {
                            map.remove(&victim);
                        }
                    }
                    map.insert(key, component.clone());
                    Ok(component)
                }
                Err(e) => Err(load_error(&e)),
            };
            lock(&compiling).remove(&key);
            // Back to the request that started the compile, or freed if it is gone.
            let _ = back.send(slot);
            result
        });
        async move {
            task.await
                .unwrap_or_else(|e| Err(("internal", format!("the compile task failed: {e}"))))
        }
        .boxed()
        .shared()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn load_error(e: &LoadError) -> Refusal {
    let error_type = match e {
        LoadError::WrongWorld { .. } => "wrong_world",
        LoadError::TooLarge { .. } | LoadError::TooComplex { .. } => "code_too_large",
        LoadError::CompileTimeout { .. } => "compile_timeout",
        LoadError::FeatureRefused { .. } => "feature_refused",
        LoadError::Precompiled { .. } => "precompiled_refused",
        _ => "invalid_component",
    };
    (error_type, e.to_string())
}
