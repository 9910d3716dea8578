//! ExecuteCode: caller code in the sandbox's `code` world, within the server's caps.
//!
//! Code arrives as base64 of a WebAssembly component (only `.wasm` component bytes: the runtime
//! refuses core modules and precompiled artifacts). It is size-checked before anything else,
//! and run with limits the request may lower but never raise. A server-wide semaphore bounds
//! concurrent calls; a call that cannot get a slot soon is refused with RESOURCE_EXHAUSTED.
//!
//! Compiling is the expensive part a caller controls, so it is bounded on its own: a pre-scan
//! refuses components with too many or too large functions before the compiler sees them, and
//! `compile.rs` compiles identical code once, within the caller's slot and `compile_timeout`.
//! This file reads the request, runs it and writes the answer.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use contextworker_runtime::{
    CallOutcome, CallSpec, CancellationToken, CompileLimits, Data, Limits, MIB, Metering, Runtime,
};
use contextworker_types::{Digest, ErrorClass, World};
use serde_json::{Map, Value, json};
use tokio::sync::Semaphore;

use crate::compile::{Code, Compiler};

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
    caps: ExecCaps,
    /// The JavaScript engine component (the `js` module), when the modules directory has it.
    /// Its bytes are hashed once per version, not on every call; a hot swap of the module
    /// replaces it (`set_js_engine`), and calls already running keep the version they took.
    js_engine: std::sync::RwLock<Option<(Digest, Arc<Vec<u8>>)>>,
    slots: Arc<Semaphore>,
    compiler: Compiler,
    runtime: Arc<Runtime>,
}

impl std::fmt::Debug for Executor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Executor")
            .field("caps", &self.caps)
            .finish_non_exhaustive()
    }
}

/// A request read and checked: what to run, on what, within which limits.
struct Request {
    code: Code,
    input: Data,
    limits: Limits,
    metering: Metering,
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
        let compiler = Compiler::new(
            runtime.clone(),
            caps.compile_limits,
            caps.cached_components,
            caps.compile_timeout,
        );
        Self {
            js_engine: std::sync::RwLock::new(
                js_engine.map(|bytes| (Digest::of(&bytes), Arc::new(bytes))),
            ),
            slots,
            compiler,
            runtime,
            caps,
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
        let request = match self.read(payload, deadline) {
            Ok(request) => request,
            Err(refusal) => return refusal,
        };
        let waiting = contextworker_metrics::metrics().exec_waiting();
        let Ok(Ok(permit)) =
            tokio::time::timeout(self.caps.queue_wait, self.slots.clone().acquire_owned()).await
        else {
            return ExecOutcome::Busy;
        };
        drop(waiting);
        let (component, _slot) = match self
            .compiler
            .load(request.code, request.metering, permit)
            .await
        {
            Ok(loaded) => loaded,
            Err((error_type, message)) => return refused(error_type, message),
        };
        contextworker_metrics::metrics().compile_cache(component.stats().from_cache);
        let spec = CallSpec::new("submitted-code", "sha256", request.limits).with_cancel(cancel);
        let outcome = self
            .runtime
            .run_code(&component, &spec, request.input)
            .await;
        ExecOutcome::Done(answer(outcome, component.stats().from_cache))
    }

    /// The request's code, input and limits, the limits lowered to the server's caps and the
    /// gRPC deadline; or why it is refused.
    fn read(
        &self,
        payload: &Map<String, Value>,
        deadline: Option<Duration>,
    ) -> Result<Request, ExecOutcome> {
        let language = payload
            .get("language")
            .and_then(Value::as_str)
            .unwrap_or("wasm");
        let Some(code) = payload.get("code").and_then(Value::as_str) else {
            return Err(refused(
                "validation",
                "payload.code is required (base64 of a WebAssembly component, or JavaScript source)",
            ));
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
                    return Err(too_large());
                }
                let Ok(bytes) = STANDARD.decode(code.trim()) else {
                    return Err(refused("validation", "payload.code is not standard base64"));
                };
                if bytes.len() > self.caps.max_code_bytes {
                    return Err(too_large());
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
                    return Err(too_large());
                }
                let Some(engine) = self.current_js_engine() else {
                    return Err(refused(
                        "unsupported_language",
                        "javascript needs the `js` module in the modules directory",
                    ));
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
                return Err(refused(
                    "unsupported_language",
                    format!("language {other:?}: use `wasm` or `javascript`"),
                ));
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
        let metering = if fuel.is_some() {
            Metering::Fuel
        } else {
            Metering::Epoch
        };
        Ok(Request {
            code: bytes,
            input,
            limits,
            metering,
        })
    }
}

/// The payload of a call that ran: its result or error, what it printed, and its receipt.
fn answer(outcome: CallOutcome<Data>, compiled_from_cache: bool) -> Map<String, Value> {
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
            "compiled_from_cache": compiled_from_cache,
        }),
    );
    out
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
        C::ServiceUnavailable => "unavailable",
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
        | C::InvalidTenantConfig
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
        | C::BlobStoreMisconfigured
        | C::BlobMissing => "internal",
    }
}
