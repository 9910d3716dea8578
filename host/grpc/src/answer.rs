//! How a WorkerService request ends, in one place: an answer (its payload, or a typed error in
//! it) or a gRPC status, each counted in the metrics by method and outcome; and the span the
//! request's work runs in.

use std::time::Instant;

use contextworker_auth::Claims;
use governor::DefaultKeyedRateLimiter;
use serde_json::{Map, Value};
use tonic::{Request, Response, Status};

use crate::authenticate::UNAUTHENTICATED;
use crate::pb::core::ContextUnit;
use crate::unit::{error_payload, respond, struct_to_json};

pub(crate) type RpcResult = Result<Response<ContextUnit>, Status>;
/// A handler's result: the answer's payload, or `(error_type, message)`.
pub(crate) type Answer = Result<Map<String, Value>, (&'static str, String)>;

/// One request from its arrival to its end. Every method opens one first and ends through it,
/// so every request is counted by method and outcome, timed and traced the same way.
pub(crate) struct Rpc {
    label: &'static str,
    started: Instant,
    pub claims: Claims,
    pub unit: ContextUnit,
    pub payload: Map<String, Value>,
}

impl Rpc {
    /// The request's claims (put there by the `Authenticator`) and its unit's payload as JSON.
    pub fn open(label: &'static str, request: Request<ContextUnit>) -> Result<Self, Status> {
        let started = Instant::now();
        let Some(claims) = request.extensions().get::<Claims>().cloned() else {
            return Err(refuse(
                label,
                started,
                Status::unauthenticated(UNAUTHENTICATED),
            ));
        };
        let unit = request.into_inner();
        let payload = unit
            .payload
            .as_ref()
            .map(struct_to_json)
            .unwrap_or_default();
        Ok(Self {
            label,
            started,
            claims,
            unit,
            payload,
        })
    }

    /// One bucket per token: a token over its rate is told to slow down, others are not
    /// affected.
    pub fn limit(&self, limiter: &DefaultKeyedRateLimiter<String>) -> Result<(), Status> {
        limiter.check_key(&self.claims.token_id).map_err(|_| {
            self.refuse(Status::resource_exhausted(
                "this token is over its rate for this RPC; retry shortly",
            ))
        })
    }

    /// The span the request's work runs in; made only once the request is admitted.
    pub fn span(&self) -> tracing::Span {
        request_span(self.label, &self.unit)
    }

    /// The answer: the payload, or the typed error in it.
    pub fn answer(&self, span: &tracing::Span, result: Answer) -> RpcResult {
        answer(span, &self.unit, self.label, self.started, result)
    }

    /// The end of a request that gets no answer, only a gRPC status.
    pub fn refuse(&self, status: Status) -> Status {
        refuse(self.label, self.started, status)
    }
}

fn answer(
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
fn refuse(label: &str, started: Instant, status: Status) -> Status {
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
fn request_span(label: &str, unit: &ContextUnit) -> tracing::Span {
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
