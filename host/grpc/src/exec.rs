//! ExecuteCode: caller code in the sandbox's `code` world, within the server's caps.
//!
//! Code arrives as base64 of a WebAssembly component (only `.wasm` component bytes: the runtime
//! refuses core modules and precompiled artifacts). It is size-checked before anything else,
//! and run with limits the request may lower but never raise. A server-wide semaphore bounds
//! concurrent calls; a call that cannot get a slot soon is refused with RESOURCE_EXHAUSTED.
//!
//! Compiling is the expensive part a caller controls, so it is bounded on its own: a pre-scan
//! refuses components with too many or too large functions before the compiler sees them;
//! identical code compiles once however many requests carry it (one compile per sha256 in
//! flight, then an in-memory map in front of the runtime's on-disk cache); a compile holds the
//! slot of the request that started it until the compile really ends, even if that client
//! gave up, so at most `max_concurrent` compiles ever run; and a request waits at most
//! `compile_timeout` for its compile.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use contextworker_runtime::{
    CallSpec, CancellationToken, CompileLimits, Data, Limits, LoadError, LoadedComponent, MIB,
    Metering, Runtime,
};
use contextworker_types::{Digest, ErrorClass, World};
use futures::FutureExt as _;
use futures::future::{BoxFuture, Shared};
use serde_json::{Map, Value, json};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The server's ceilings for ExecuteCode.
#[derive(Debug, Clone)]
pub struct ExecCaps {
    /// Largest component accepted, checked on the decoded bytes before compiling.
    pub max_code_bytes: usize,
    pub max_timeout: Duration,
    pub default_timeout: Duration,
    pub max_memory_bytes: u64,
    pub max_output_bytes: u64,
    /// Calls running at once, server-wide.
    pub max_concurrent: usize,
    /// How long a call may wait for a free slot before RESOURCE_EXHAUSTED.
    pub queue_wait: Duration,
    /// Compiled components kept in memory.
    pub cached_components: usize,
    /// The pre-scan's ceilings for submitted components.
    pub compile_limits: CompileLimits,
    /// How long a request waits for its compile before `compile_timeout`.
    pub compile_timeout: Duration,
}

impl Default for ExecCaps {
    fn default() -> Self {
        Self {
            max_code_bytes: 3 * 1024 * 1024,
            max_timeout: Duration::from_secs(30),
            default_timeout: Duration::from_secs(5),
            max_memory_bytes: 64 * MIB,
            max_output_bytes: MIB,
            max_concurrent: 8,
            queue_wait: Duration::from_millis(200),
            cached_components: 64,
            compile_limits: CompileLimits::default(),
            compile_timeout: Duration::from_secs(20),
        }
    }
}

/// Why an ExecuteCode request was not run or failed.
#[derive(Debug)]
pub enum ExecOutcome {
    /// Ran (successfully or with a guest error): the payload to return.
    Done(Map<String, Value>),
    /// The request itself is wrong: `{error, error_type}`.
    Refused {
        error_type: &'static str,
        message: String,
    },
    /// No slot within the queue wait.
    Busy,
}

pub struct Executor {
    runtime: Arc<Runtime>,
    caps: ExecCaps,
    /// The JavaScript engine component (the `js` module), when the modules directory has it.
    /// Its bytes are hashed once per version, not on every call; a hot swap of the module
    /// replaces it (`set_js_engine`), and calls already running keep the version they took.
    js_engine: std::sync::RwLock<Option<(Digest, Arc<Vec<u8>>)>>,
    slots: Arc<Semaphore>,
    compiled: Arc<Mutex<HashMap<Key, Arc<LoadedComponent>>>>,
    /// Compiles in flight, by what they compile: a second request for the same code waits
    /// for the first one's compile instead of starting another.
    compiling: Arc<Mutex<HashMap<Key, Compile>>>,
}

/// A component by digest and metering class (fuel-metered code compiles differently).
type Key = (Digest, bool);

/// A compile every request for the same code can wait on. The error is shared as its type
/// and message: `LoadError` holds an `io::Error` and is not `Clone`.
type Compile = Shared<BoxFuture<'static, Result<Arc<LoadedComponent>, (&'static str, String)>>>;

impl std::fmt::Debug for Executor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Executor")
            .field("caps", &self.caps)
            .finish_non_exhaustive()
    }
}

/// What to run: submitted bytes (hashed per call), or a component the server holds with its
/// digest already known.
enum Code {
    Submitted(Vec<u8>),
    Known(Digest, Arc<Vec<u8>>),
}

fn refused(error_type: &'static str, message: impl Into<String>) -> ExecOutcome {
    ExecOutcome::Refused {
        error_type,
        message: message.into(),
    }
}

fn as_u64(v: Option<&Value>) -> Option<u64> {
    v.and_then(|v| v.as_u64().or_else(|| v.as_f64().map(|f| f.max(0.0) as u64)))
}

impl Executor {
    /// `js_engine`: the bytes of the JavaScript engine component that runs `javascript`
    /// requests (compiled once, like any submitted component).
    pub fn new(runtime: Arc<Runtime>, caps: ExecCaps, js_engine: Option<Vec<u8>>) -> Self {
        let slots = Arc::new(Semaphore::new(caps.max_concurrent.max(1)));
        Self {
            runtime,
            caps,
            js_engine: std::sync::RwLock::new(
                js_engine.map(|bytes| (Digest::of(&bytes), Arc::new(bytes))),
            ),
            slots,
            compiled: Arc::new(Mutex::new(HashMap::new())),
            compiling: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    pub fn caps(&self) -> &ExecCaps {
        &self.caps
    }

    /// The digest of the JavaScript engine new calls run on.
    pub fn js_engine_digest(&self) -> Option<Digest> {
        self.current_js_engine().map(|(d, _)| d)
    }

    /// Run `javascript` on these engine bytes from now on (`None`: no JavaScript).
    pub fn set_js_engine(&self, bytes: Option<Vec<u8>>) {
        let next = bytes.map(|b| (Digest::of(&b), Arc::new(b)));
        let mut slot = self
            .js_engine
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *slot = next;
    }

    fn current_js_engine(&self) -> Option<(Digest, Arc<Vec<u8>>)> {
        self.js_engine
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Run one request. `deadline` is the gRPC deadline, if the client set one; `cancel`
    /// fires when the client goes away.
    pub async fn execute(
        &self,
        payload: &Map<String, Value>,
        deadline: Option<Duration>,
        cancel: CancellationToken,
    ) -> ExecOutcome {
        let language = payload
            .get("language")
            .and_then(Value::as_str)
            .unwrap_or("wasm");
        let Some(code) = payload.get("code").and_then(Value::as_str) else {
            return refused(
                "validation",
                "payload.code is required (base64 of a WebAssembly component, or JavaScript source)",
            );
        };
        let too_large = || {
            refused(
                "code_too_large",
                format!("code is over the {}-byte limit", self.caps.max_code_bytes),
            )
        };
        let (bytes, input) = match language {
            "wasm" => {
                // Base64 is 4/3 of the bytes: refuse before decoding anything too large.
                if code.len() / 4 * 3 > self.caps.max_code_bytes + 3 {
                    return too_large();
                }
                let Ok(bytes) = STANDARD.decode(code.trim()) else {
                    return refused("validation", "payload.code is not standard base64");
                };
                if bytes.len() > self.caps.max_code_bytes {
                    return too_large();
                }
                let bytes = Code::Submitted(bytes);
                let input = match payload.get("input") {
                    None | Some(Value::Null) => Data::Text(String::new()),
                    Some(Value::String(s)) => Data::Text(s.clone()),
                    Some(other) => Data::Text(other.to_string()),
                };
                (bytes, input)
            }
            "javascript" | "js" => {
                if code.len() > self.caps.max_code_bytes {
                    return too_large();
                }
                let Some(engine) = self.current_js_engine() else {
                    return refused(
                        "unsupported_language",
                        "javascript needs the `js` module in the modules directory",
                    );
                };
                let request = json!({
                    "source": code,
                    "input": payload.get("input").cloned().unwrap_or(Value::Null),
                });
                (
                    Code::Known(engine.0, engine.1),
                    Data::Text(request.to_string()),
                )
            }
            other => {
                return refused(
                    "unsupported_language",
                    format!("language {other:?}: use `wasm` or `javascript`"),
                );
            }
        };
        let limits = payload.get("limits").and_then(Value::as_object);
        let fuel = as_u64(limits.and_then(|l| l.get("fuel")));
        let memory = as_u64(limits.and_then(|l| l.get("memory_mb"))).map(|m| m.saturating_mul(MIB));
        let requested = as_u64(payload.get("timeout_ms")).map(Duration::from_millis);
        let mut timeout = requested
            .unwrap_or(self.caps.default_timeout)
            .min(self.caps.max_timeout);
        if let Some(d) = deadline {
            timeout = timeout.min(d);
        }
        let limits = Limits {
            memory_bytes: memory.map_or(self.caps.max_memory_bytes, |m| {
                m.min(self.caps.max_memory_bytes)
            }),
            timeout,
            fuel,
            max_output_bytes: as_u64(limits.and_then(|l| l.get("max_output_bytes")))
                .map_or(self.caps.max_output_bytes, |m| {
                    m.min(self.caps.max_output_bytes)
                }),
            ..Limits::for_world(World::Code)
        };

        let Ok(Ok(permit)) =
            tokio::time::timeout(self.caps.queue_wait, self.slots.clone().acquire_owned()).await
        else {
            return ExecOutcome::Busy;
        };
        let metering = if fuel.is_some() {
            Metering::Fuel
        } else {
            Metering::Epoch
        };
        let (component, _slot) = match self.load(bytes, metering, permit).await {
            Ok(loaded) => loaded,
            Err((error_type, message)) => return refused(error_type, message),
        };
        let spec = CallSpec::new("submitted-code", "sha256", limits).with_cancel(cancel);
        let outcome = self.runtime.run_code(&component, &spec, input).await;
        let mut out = Map::new();
        match outcome.result {
            Ok(Data::Text(text)) => {
                out.insert("result".into(), Value::String(text));
            }
            Ok(Data::Binary(bytes)) => {
                out.insert(
                    "result_base64".into(),
                    Value::String(STANDARD.encode(bytes)),
                );
            }
            Err(e) => {
                out.insert("error".into(), Value::String(e.to_string()));
                out.insert(
                    "error_type".into(),
                    Value::String(error_type(e.class()).to_owned()),
                );
            }
        }
        out.insert("stdout".into(), Value::String(outcome.stdout.text()));
        out.insert(
            "stdout_truncated".into(),
            Value::Bool(outcome.stdout.truncated),
        );
        out.insert("stderr".into(), Value::String(outcome.stderr.text()));
        out.insert(
            "stderr_truncated".into(),
            Value::Bool(outcome.stderr.truncated),
        );
        let r = &outcome.receipt;
        out.insert(
            "receipt".into(),
            json!({
                "code_sha256": r.digest.hex(),
                "duration_ms": r.wall_time.as_secs_f64() * 1000.0,
                "fuel_used": r.fuel_used,
                "peak_memory_bytes": r.peak_memory_bytes,
                "compiled_from_cache": component.stats().from_cache,
            }),
        );
        ExecOutcome::Done(out)
    }

    /// The compiled component for `code`, with the request's slot. A compile this request
    /// starts takes the slot along and hands it back when it ends; if the request is gone by
    /// then (it timed out, the client left), the slot is freed only then.
    async fn load(
        &self,
        code: Code,
        metering: Metering,
        slot: OwnedSemaphorePermit,
    ) -> Result<(Arc<LoadedComponent>, OwnedSemaphorePermit), (&'static str, String)> {
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
        let component = match tokio::time::timeout(self.caps.compile_timeout, compile).await {
            Ok(result) => result?,
            Err(_) => {
                return Err(load_error(&LoadError::CompileTimeout {
                    origin: "submitted code".to_owned(),
                    limit: self.caps.compile_timeout,
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
        let (limits, cached_components) = (self.caps.compile_limits, self.caps.cached_components);
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

/// ExecuteCode's `error_type`: snake case in the clients' convention, one answer per class.
/// Every class is listed so a new one cannot fall into "internal" unnoticed.
pub fn error_type(class: ErrorClass) -> &'static str {
    use ErrorClass as C;
    match class {
        C::GuestTimeout => "timeout",
        C::GuestOutOfMemory => "out_of_memory",
        C::GuestStackOverflow => "stack_overflow",
        C::GuestOutOfFuel => "out_of_fuel",
        C::GuestOutputTooLarge => "output_too_large",
        C::GuestTrap => "trap",
        C::InvalidInput => "invalid_input",
        C::UnsupportedInput => "unsupported_input",
        C::GuestInternalError => "guest_error",
        C::Cancelled => "cancelled",
        C::SandboxBusy => "resource_exhausted",
        C::PayloadTooLarge => "payload_too_large",
        // Host-side trouble a caller cannot act on beyond retrying.
        C::HostError | C::InputReadFailed | C::SinkClosed => "internal",
        // Harvest classes: a code call never raises them; if one ever did, the caller gets
        // the generic answer and the host's log has the class.
        C::InvalidArguments
        | C::InvalidActivityResult
        | C::UnknownSupplier
        | C::InvalidSupplierConfig
        | C::SupplierDisabled
        | C::SupplierConfigUnreadable
        | C::MissingCredential
        | C::CredentialNotAllowed
        | C::UnknownModule
        | C::WrongModuleKind
        | C::ModuleNotDetected
        | C::ModuleVersionNotKept
        | C::InvalidFeed
        | C::UnsupportedFeed
        | C::EmptyFeed
        | C::InvalidProducts
        | C::FeedHttpStatus
        | C::FeedTimeout
        | C::FeedUnreachable
        | C::FeedTooLarge
        | C::InvalidFeedUrl
        | C::FeedFileNotAllowed
        | C::FeedFileUnreadable
        | C::FeedUrlRefused
        | C::FeedTooManyRedirects
        | C::StagingUnavailable
        | C::StagingRejected
        | C::StagingMisconfigured
        | C::StagingMigrationFailed
        | C::BlobStoreError
        | C::BlobStoreFull
        | C::BlobMissing => "internal",
    }
}

fn load_error(e: &LoadError) -> (&'static str, String) {
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
