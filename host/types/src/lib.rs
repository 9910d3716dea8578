//! Types every part of the host shares: products as the host stores and prints them, module
//! identity (names, versions, digests, worlds) and the resource receipt of a guest call.
//!
//! This crate has no heavy dependencies on purpose: Temporal, gRPC and storage code depend on
//! it without pulling in wasmtime.

mod as_text;
mod bucket;
mod chain;
mod credentials;
mod data_dir;
pub mod defaults;
mod digest;
mod enrichment;
mod error_class;
mod http;
mod ids;
mod limits;
mod module;
mod product;
mod product_copy;
mod receipt;
mod schedule;

pub use bucket::{BucketUrl, BucketUrlError};

/// The `tracing` target of spans made for traces alone (each guest call's): they are at debug
/// level, so a log at its usual level never sees or formats them, and the trace exporter takes
/// them whenever tracing is on. A call's log lines carry what those spans would have lent them
/// (module, version, digest) themselves.
pub const TRACE_ONLY_TARGET: &str = "contextworker::trace";
pub use chain::error_chain;
pub use credentials::Credentials;
pub use data_dir::DataDir;
pub use digest::{Digest, DigestParseError};
pub use enrichment::{
    Facets, Gender, ProductEnrichment, ProductRef, TAXONOMY_TASK, TaskContext, TaskRecord,
    TaskStatus, Verdict,
};
pub use error_class::{ErrorClass, Retry};
pub use http::{HttpCaps, HttpGrant, HttpRule, HttpRuleError, HttpScheme, HttpTarget, HttpUsage};
pub use ids::{IdError, ScheduleName, SupplierCode, TenantId};
pub use limits::{Limits, MIB, Metering};
pub use module::{ModuleName, ModuleNameError, World, WorldParseError};
pub use product::{Attribute, Availability, Location, Product, Warning};
pub use receipt::Receipt;
pub use schedule::{Overlap, ScheduleSpec, SpecError, Timing, format_duration, parse_duration};
