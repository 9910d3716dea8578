//! The Temporal client surface every part that talks to Temporal shares: the names of the
//! workflows and activities, the JSON messages that cross Temporal, the one place workflow ids
//! are built, connecting to a cluster, and starting and describing workflows.
//!
//! The gRPC service and the CLI start workflows through this crate alone; only the worker
//! (which serves the workflows) depends on the sandbox, the fetcher and staging. As in
//! Temporal's own sdk-core, the client and the worker are separate parts.

pub mod args;
mod connect;
pub mod ids;
pub mod messages;
pub mod schedules;
pub mod starter;

pub use connect::{ConnectError, connect, default_identity, reachable};
pub use temporalio_client::Client;

/// Memo field and activity header: the trace id of the `ContextUnit` that started a workflow.
pub const TRACE_ID: &str = "trace_id";
