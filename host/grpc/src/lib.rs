//! The gRPC `contextunity.worker.WorkerService`: `StartWorkflow`, `GetTaskStatus` and
//! `ExecuteCode`, each `ContextUnit` → `ContextUnit`, wire-compatible with the ContextUnity
//! clients (protos in `proto/`). Authentication is the ecosystem's signed token; ExecuteCode is
//! the sandbox's `code` world behind server-wide caps.

mod answer;
mod authenticate;
mod compile;
pub mod exec;
mod schedules;
mod server;
mod service;
pub mod start;

/// The ContextUnit envelope and its JSON conversion (their own crate, for fuzzing).
pub use contextworker_unit::unit;

/// Generated from `proto/` by `build.rs`; the core messages from `contextworker-unit`.
pub mod pb {
    pub use contextworker_unit::pb::core;
    pub mod worker {
        #![allow(clippy::all, clippy::pedantic, unused_qualifications, missing_docs)]
        tonic::include_proto!("contextunity.worker");
    }
}

pub use authenticate::{Authenticator, UNAUTHENTICATED};
/// Tokens: the verifier, claims and minting (their own crate, so the parser can be fuzzed
/// without the rest of the host).
pub use contextworker_auth as auth;
pub use server::{MAX_MESSAGE_BYTES, ServeError, ServerSettings, bind, serve};
pub use service::{RateLimits, Service, TemporalSide};
/// The tonic version the generated client and server use.
pub use tonic;
/// The health service's generated client, for callers that probe readiness.
pub use tonic_health;
