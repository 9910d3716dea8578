//! Errors of the sandbox: loading a component, and calling one.

use std::path::PathBuf;
use std::time::Duration;

use contextworker_types::{ErrorClass, Location, Retry, World};

/// A component could not be made ready to call. The `origin` names the file or the caller.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read. Fix the path or permissions.
    #[error("{origin}: cannot read the file: {source}")]
    Read {
        origin: String,
        #[source]
        source: std::io::Error,
    },
    /// Over the size cap; nothing was compiled. Shrink the component or raise the cap.
    #[error("{origin}: {size} bytes is over the {limit}-byte limit for components")]
    TooLarge {
        origin: String,
        size: u64,
        limit: u64,
    },
    /// Not WebAssembly at all, or a core module rather than a component.
    #[error("{origin}: not a WebAssembly component: {reason}")]
    NotAComponent { origin: String, reason: String },
    /// A pre-scan found more code than this caller may have compiled (functions, body size):
    /// refused before the compiler saw it.
    #[error("{origin}: {reason}")]
    TooComplex { origin: String, reason: String },
    /// The component uses a feature this caller's code may not (see the reason).
    #[error("{origin}: {reason}")]
    FeatureRefused { origin: String, reason: String },
    /// Compiling did not finish within the caller's deadline (the compile itself runs on to
    /// its end on its own thread, holding its slot, and its result is cached).
    #[error("{origin}: compiling took longer than {} s", limit.as_secs_f64())]
    CompileTimeout { origin: String, limit: Duration },
    /// A precompiled artifact was offered; only `.wasm` components are accepted, because
    /// deserializing foreign machine code is not memory-safe.
    #[error(
        "{origin}: precompiled artifacts (.cwasm) are not accepted; pass the .wasm component itself"
    )]
    Precompiled { origin: String },
    /// wasmtime rejected the component (invalid or uses disabled features).
    #[error("{origin}: the component does not compile: {message}")]
    Compile { origin: String, message: String },
    /// The component implements another world than the caller needs.
    #[error("{origin}: {}", describe_wrong_world(*expected, *found))]
    WrongWorld {
        origin: String,
        expected: World,
        found: Option<World>,
    },
    /// The component imports something this host does not grant (a filesystem-free host
    /// offers no `wasi:http`, for one).
    #[error("{origin}: cannot link: {message}")]
    Link { origin: String, message: String },
    /// The sandbox's engine cannot be created (the instance pool cannot be reserved, say);
    /// nothing can be loaded. The reason names the setting to change; fix it and restart.
    #[error("cannot start the sandbox: {reason}")]
    Engine { reason: String },
    /// The on-disk cache of compiled components is unusable; the message says why.
    #[error("compiled-component cache {}: {reason}", path.display())]
    Cache { path: PathBuf, reason: String },
}

fn describe_wrong_world(expected: World, found: Option<World>) -> String {
    match found {
        Some(found) => format!(
            "this component implements the `{found}` world (it exports `{}`), but a `{expected}` component is required (exporting `{}`)",
            found.entry_point(),
            expected.entry_point()
        ),
        None => format!(
            "this component implements none of the contextworker worlds; a `{expected}` component must export `{}`",
            expected.entry_point()
        ),
    }
}

/// The kind of error a guest reported itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuestErrorKind {
    /// The input is bad; retrying cannot help.
    InvalidInput,
    /// Input of a kind the module does not handle.
    Unsupported,
    /// A bug in the module.
    Internal,
    /// A service the module depends on is unavailable (an enricher's `unavailable`): retry later.
    Unavailable,
}

/// Longest guest error message kept (a guest's own `module-error` text, a trap's message):
/// an answer carrying it must always fit the transport (4 MiB gRPC messages, Temporal
/// failures), whatever the guest wrote.
pub const MAX_ERROR_MESSAGE_BYTES: usize = 16 * 1024;

/// `text` cut to at most [`MAX_ERROR_MESSAGE_BYTES`], marked when cut.
pub(crate) fn capped_message(mut text: String) -> String {
    crate::text::truncate_marked(&mut text, MAX_ERROR_MESSAGE_BYTES);
    text
}

/// An error the guest returned through its `module-error` result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuestError {
    pub kind: GuestErrorKind,
    pub message: String,
    pub location: Option<Location>,
}

impl std::fmt::Display for GuestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.kind {
            GuestErrorKind::InvalidInput => "invalid input",
            GuestErrorKind::Unsupported => "unsupported input",
            GuestErrorKind::Internal => "internal module error",
            GuestErrorKind::Unavailable => "service unavailable",
        };
        match &self.location {
            Some(l) => write!(f, "{kind} at {l}: {}", self.message),
            None => write!(f, "{kind}: {}", self.message),
        }
    }
}

/// Why a call did not produce a result. Every variant says what the caller should do.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CallError {
    /// The call ran past its deadline and was interrupted. Deterministic for a given input and
    /// budget in practice: do not retry with the same budget.
    #[error("the guest ran past its {} ms deadline and was stopped", limit.as_millis())]
    Timeout { limit: Duration },
    /// The guest needed more linear memory than allowed. Raise the module's memory limit or fix the guest.
    #[error("the guest hit its memory limit of {} MiB", limit / (1 << 20))]
    OutOfMemory { limit: u64 },
    /// Unbounded or too deep recursion. A guest bug.
    #[error("the guest overflowed its stack (recursion too deep)")]
    StackOverflow,
    /// The deterministic instruction budget ran out.
    #[error("the guest used up its fuel budget of {budget}")]
    OutOfFuel { budget: u64 },
    /// The guest returned more than the output cap.
    #[error("the guest's output of {attempted} bytes is over the limit of {limit} bytes")]
    OutputTooLarge { limit: u64, attempted: u64 },
    /// The guest handed the host more than `limit` bytes in one crossing (one import call,
    /// or its result): refused while lifting, before the host copied it.
    #[error("the guest passed more than {limit} bytes to the host in one call")]
    TransferTooLarge { limit: u64 },
    /// The guest trapped (a panic, an unreachable, an out-of-bounds access). A guest bug.
    #[error("the guest trapped: {message}{}", stderr_tail.as_deref().map(|t| format!("\nguest stderr: {t}")).unwrap_or_default())]
    Trap {
        message: String,
        backtrace: Option<String>,
        stderr_tail: Option<String>,
    },
    /// The guest returned its own error.
    #[error("{0}")]
    Guest(GuestError),
    /// The caller cancelled the call.
    #[error("the call was cancelled")]
    Cancelled,
    /// The feed could not be read from its source (network, disk). Retry.
    #[error("reading the input failed: {0}")]
    InputRead(String),
    /// The consumer of the products stopped (its own error is reported separately).
    #[error("the consumer of the products stopped before the guest finished")]
    SinkClosed,
    /// No sandbox slot was free (the instance pool is exhausted). Retry shortly.
    #[error("the sandbox is busy: {0}")]
    Busy(String),
    /// Something failed on the host's side. Retry; report it if it persists.
    #[error("host error: {0}")]
    Host(String),
}

impl CallError {
    pub fn class(&self) -> ErrorClass {
        match self {
            Self::Timeout { .. } => ErrorClass::GuestTimeout,
            Self::OutOfMemory { .. } => ErrorClass::GuestOutOfMemory,
            Self::StackOverflow => ErrorClass::GuestStackOverflow,
            Self::OutOfFuel { .. } => ErrorClass::GuestOutOfFuel,
            Self::OutputTooLarge { .. } | Self::TransferTooLarge { .. } => {
                ErrorClass::GuestOutputTooLarge
            }
            Self::Trap { .. } => ErrorClass::GuestTrap,
            Self::Guest(g) => match g.kind {
                GuestErrorKind::InvalidInput => ErrorClass::InvalidInput,
                GuestErrorKind::Unsupported => ErrorClass::UnsupportedInput,
                GuestErrorKind::Internal => ErrorClass::GuestInternalError,
                GuestErrorKind::Unavailable => ErrorClass::ServiceUnavailable,
            },
            Self::Cancelled => ErrorClass::Cancelled,
            Self::InputRead(_) => ErrorClass::InputReadFailed,
            Self::SinkClosed => ErrorClass::SinkClosed,
            Self::Busy(_) => ErrorClass::SandboxBusy,
            Self::Host(_) => ErrorClass::HostError,
        }
    }

    /// Whether running the same call again may succeed. Limits and guest errors are
    /// deterministic for the same input and module; I/O and capacity are not.
    pub fn is_retryable(&self) -> bool {
        self.class().retry() == Retry::Yes
    }
}
