//! The Temporal side of the host: the harvest workflows, every activity (native steps and
//! modules) served by name through one dispatcher, the worker loop with graceful shutdown,
//! and the starter used by the CLI.
//!
//! Dependencies point one way: this crate uses the runtime, registry, fetch, staging and
//! storage crates; none of them knows about Temporal.

mod activities;
mod args;
mod connect;
mod detect;
mod failure;
pub mod ids;
pub mod messages;
#[cfg(feature = "native-parsers")]
mod native;
mod services;
mod slots;
pub mod starter;
mod trace;
mod worker;
mod workflows;

pub use activities::{ActivityHost, HEARTBEAT_EVERY};
pub use connect::{ConnectError, connect, default_identity};
pub use detect::detect_module;
pub use services::{DATABASE_URL_ENV, Services, ServicesError};
pub use slots::MAX_ACTIVITIES;
pub use temporalio_client::Client;
pub use trace::TRACE_ID;
pub use worker::{DEFAULT_TASK_QUEUE, WorkerError, WorkerSettings, serve};
pub use workflows::{HarvestWorkflow, HarvesterImportWorkflow};
