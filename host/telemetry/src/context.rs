//! Trace context across process boundaries: a `ContextUnit`'s ids in, W3C `traceparent` out
//! through a workflow's memo and back in from an activity's headers.
//!
//! All of it is input from whoever called: a `trace_id` any token holder chose, a memo any
//! Temporal client wrote. None of it is trusted beyond naming a trace: a value that does not
//! parse is ignored (or, for a unit's `trace_id`, hashed), never an error.

use std::collections::HashMap;

use opentelemetry::Context;
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use sha2::{Digest, Sha256};
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::TRACEPARENT;

/// A `traceparent` is 55 characters; anything much longer is not one.
const MAX_TRACEPARENT: usize = 256;

/// The W3C `traceparent` of the current span, to hand to another process; `None` when
/// tracing is off (or the span is not exported).
pub fn current_traceparent() -> Option<String> {
    let cx = tracing::Span::current().context();
    if !cx.span().span_context().is_valid() {
        return None;
    }
    let mut carrier = HashMap::new();
    TraceContextPropagator::new().inject_context(&cx, &mut carrier);
    carrier.remove(TRACEPARENT)
}

/// Make `span` (not yet entered) a child of the remote span `traceparent` names. Returns
/// whether it did: a malformed value, or tracing being off, leaves the span a root.
pub fn adopt_traceparent(span: &tracing::Span, traceparent: &str) -> bool {
    if traceparent.len() > MAX_TRACEPARENT {
        return false;
    }
    let carrier = HashMap::from([(TRACEPARENT.to_owned(), traceparent.to_owned())]);
    let cx = TraceContextPropagator::new().extract(&carrier);
    cx.span().span_context().is_valid() && span.set_parent(cx).is_ok()
}

/// Make `span` (not yet entered) part of the trace a `ContextUnit` names: its `trace_id`
/// becomes the trace's id, and the unit itself the remote parent (a span id derived from
/// `unit_id`), so a caller that knows its unit can find the spans it caused. An empty
/// `trace_id` leaves the span the root of a new trace.
pub fn adopt_unit(span: &tracing::Span, trace_id: &str, unit_id: &str) -> bool {
    if trace_id.is_empty() {
        return false;
    }
    let parent = SpanContext::new(
        trace_id_of(trace_id),
        span_id_of(unit_id, trace_id),
        TraceFlags::SAMPLED,
        true,
        TraceState::default(),
    );
    span.set_parent(Context::new().with_remote_span_context(parent))
        .is_ok()
}

/// The OpenTelemetry trace id for a unit's `trace_id`: the same 128 bits when it is 32 hex
/// digits or a UUID (the ContextUnit convention), else the first 128 bits of its SHA-256, so
/// any string names one trace and the same string always the same one.
pub fn trace_id_of(trace_id: &str) -> TraceId {
    let hex: String = trace_id.chars().filter(|c| *c != '-').collect();
    let parsed = (hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| TraceId::from_hex(&hex).ok())
        .flatten()
        .filter(|id| *id != TraceId::INVALID);
    parsed.unwrap_or_else(|| {
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&Sha256::digest(trace_id.as_bytes())[..16]);
        nonzero_trace(bytes)
    })
}

fn span_id_of(unit_id: &str, trace_id: &str) -> SpanId {
    let mut hasher = Sha256::new();
    hasher.update(b"contextunit:");
    hasher.update(unit_id.as_bytes());
    hasher.update(b":");
    hasher.update(trace_id.as_bytes());
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&hasher.finalize()[..8]);
    if bytes == [0; 8] {
        bytes[7] = 1;
    }
    SpanId::from_bytes(bytes)
}

fn nonzero_trace(mut bytes: [u8; 16]) -> TraceId {
    if bytes == [0; 16] {
        bytes[15] = 1;
    }
    TraceId::from_bytes(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_uuid_or_hex_trace_id_is_the_trace_id() {
        let uuid = "4bf92f35-77b3-4da6-a3ce-929d0e0e4736";
        assert_eq!(
            trace_id_of(uuid).to_string(),
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
        assert_eq!(
            trace_id_of("4BF92F3577B34DA6A3CE929D0E0E4736").to_string(),
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
    }

    #[test]
    fn any_other_trace_id_names_one_stable_trace() {
        for odd in [
            "req-42",
            "00000000000000000000000000000000",
            "é\n",
            &"x".repeat(10_000),
        ] {
            let id = trace_id_of(odd);
            assert_ne!(id, TraceId::INVALID, "{odd:?}");
            assert_eq!(id, trace_id_of(odd));
        }
        assert_ne!(trace_id_of("req-42"), trace_id_of("req-43"));
    }

    #[test]
    fn without_the_layer_everything_is_a_no_op() {
        let span = tracing::info_span!("x");
        assert!(!adopt_unit(&span, "req-42", "u"));
        assert!(!adopt_traceparent(
            &span,
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        ));
        assert_eq!(span.in_scope(current_traceparent), None);
    }

    #[test]
    fn a_unit_trace_crosses_processes_as_a_traceparent() {
        use tracing_subscriber::layer::SubscriberExt;
        let telemetry = crate::Telemetry::unexported();
        let subscriber = tracing_subscriber::registry().with(telemetry.layer());
        tracing::subscriber::with_default(subscriber, || {
            let rpc = tracing::info_span!("rpc");
            assert!(adopt_unit(
                &rpc,
                "4bf92f35-77b3-4da6-a3ce-929d0e0e4736",
                "unit-1"
            ));
            let sent = rpc.in_scope(current_traceparent).expect("a traceparent");
            assert!(
                sent.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-") && sent.ends_with("-01"),
                "{sent}"
            );
            // Another process: the activity's span continues the trace under the sender.
            let activity = tracing::info_span!("activity");
            assert!(adopt_traceparent(&activity, &sent));
            let next = activity
                .in_scope(current_traceparent)
                .expect("a traceparent");
            assert_eq!(next[..36], sent[..36]);
            assert_ne!(next, sent);
            // A hostile or broken header names no trace.
            for bad in [
                "",
                "00-zz",
                "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            ] {
                assert!(!adopt_traceparent(&tracing::info_span!("x"), bad), "{bad}");
            }
            assert!(!adopt_traceparent(
                &tracing::info_span!("x"),
                &"0".repeat(100_000)
            ));
        });
    }
}
