//! How a WorkerService request ends, in one place: an answer (its payload, or a typed error in
//! it) or a gRPC status, each counted in the metrics by method and outcome; and the span the
//! request's work runs in.

use std::time::Instant;

use serde_json::{Map, Value};
use tonic::{Response, Status};

use crate::pb::core::ContextUnit;
use crate::unit::{error_payload, respond};

pub(crate) type RpcResult = Result<Response<ContextUnit>, Status>;
/// A handler's result: the answer's payload, or `(error_type, message)`.
pub(crate) type Answer = Result<Map<String, Value>, (&'static str, String)>;

pub(crate) fn answer(
    span: &tracing::Span,
    request: &ContextUnit,
    label: &str,
    started: Instant,
    result: Answer,
) -> RpcResult {
    let outcome = result.as_ref().err().map_or("ok", |(kind, _)| kind);
    observe(label, outcome, started);
    span.record("outcome", outcome);
    if outcome != "ok" {
        span.record("otel.status_code", "error");
    }
    let payload = result.unwrap_or_else(|(kind, message)| error_payload(kind, &message));
    Ok(Response::new(respond(request, label, started, &payload)))
}

/// A request that ends in a gRPC status rather than an answer (a malformed unit, a rate
/// limit, no free slot): counted under the status's code.
pub(crate) fn refuse(label: &str, started: Instant, status: Status) -> Status {
    observe(label, &code_name(status.code()), started);
    status
}

/// `ResourceExhausted` → `resource_exhausted`, as gRPC's own documents spell the codes.
fn code_name(code: tonic::Code) -> String {
    let mut name = String::new();
    for (i, c) in format!("{code:?}").chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            name.push('_');
        }
        name.push(c.to_ascii_lowercase());
    }
    name
}

/// The span of one request's work: its method and the caller's unit and trace ids (escaped:
/// the caller chose them), so the log lines it causes say which request they belong to. When
/// traces are exported, the unit's `trace_id` is the trace's id (`contextworker-telemetry`).
pub(crate) fn request_span(label: &str, unit: &ContextUnit) -> tracing::Span {
    let span = tracing::info_span!(
        "rpc",
        otel.name = %format_args!("WorkerService/{}", label.trim_start_matches("worker:")),
        otel.kind = "server",
        otel.status_code = tracing::field::Empty,
        method = label,
        unit_id = %unit.unit_id.escape_debug(),
        trace_id = %unit.trace_id.escape_debug(),
        outcome = tracing::field::Empty,
    );
    contextworker_telemetry::adopt_unit(&span, &unit.trace_id, &unit.unit_id);
    span
}

fn observe(label: &str, outcome: &str, started: Instant) {
    contextworker_metrics::metrics().grpc_request(label, outcome, started.elapsed());
}
