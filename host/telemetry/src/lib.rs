//! Traces: a span for each gRPC request, workflow start, activity attempt, fetch, guest call
//! and staging batch, exported over OTLP when `OTEL_ENABLED` is set, and one trace per
//! request across every host that did part of it.
//!
//! The spans themselves are ordinary `tracing` spans written where the work happens; this
//! part only turns them into OpenTelemetry spans ([`Telemetry::layer`]) and carries the trace
//! across process boundaries: in from a `ContextUnit`'s `trace_id` ([`adopt_unit`]), out into a
//! workflow's memo as a W3C `traceparent` ([`current_traceparent`]), and back in on the worker
//! that runs an activity ([`adopt_traceparent`]). Without the layer installed every function
//! here is a cheap no-op, so callers need not know whether tracing is on.

mod context;
mod export;
mod json_log;
mod settings;

pub use context::{adopt_traceparent, adopt_unit, current_traceparent, trace_id_of};
pub use export::{Telemetry, TelemetryError};
pub use json_log::json_log_layer;
pub use settings::Settings;

/// Memo field and activity header that carry the W3C `traceparent` of a workflow's start.
pub const TRACEPARENT: &str = "traceparent";
