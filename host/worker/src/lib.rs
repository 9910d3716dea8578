//! The Temporal worker: the harvest workflows, every activity (native steps and modules)
//! served by name through one dispatcher, and the worker loop with graceful shutdown. Names,
//! messages, ids and the starter are the client surface in `contextworker-temporal`.
//!
//! Dependencies point one way: this crate uses the runtime, registry, fetch, staging and
//! storage crates; none of them knows about Temporal.

mod activities;
pub mod board;
mod failure;
#[cfg(feature = "native-parsers")]
mod native;
mod positional;
mod services;
mod slots;
mod trace;
mod worker;
mod workflows;

pub use activities::{ActivityHost, HEARTBEAT_EVERY};
pub use services::{DATABASE_URL_ENV, Services, ServicesError};
pub use slots::MAX_ACTIVITIES;
pub use worker::{SdkMeter, SdkMetrics, WorkerError, WorkerSettings, serve, start_sdk_metrics};
pub use workflows::{
    EnrichmentWorkflow, GardenerWorkflow, HarvestWorkflow, HarvesterImportWorkflow,
};

// The client surface under the names the worker's modules use.
use contextworker_temporal::{args, ids, messages};
