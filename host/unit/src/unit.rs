//! `ContextUnit` envelopes: reading a request's payload as JSON, and building the response the
//! ContextUnity clients expect (same trace, fresh unit id, parent = the request, provenance,
//! latency).

use std::time::{Instant, SystemTime};

use prost_types::value::Kind;
use prost_types::{ListValue, Struct, Timestamp, Value};
use serde_json::{Map, Number};

use crate::pb::core::{ContextUnit, UnitMetrics};

/// `google.protobuf.Struct` → JSON object.
pub fn struct_to_json(s: &Struct) -> Map<String, serde_json::Value> {
    s.fields
        .iter()
        .map(|(k, v)| (k.clone(), value_to_json(v)))
        .collect()
}

pub fn value_to_json(v: &Value) -> serde_json::Value {
    match &v.kind {
        None | Some(Kind::NullValue(_)) => serde_json::Value::Null,
        Some(Kind::BoolValue(b)) => serde_json::Value::Bool(*b),
        // Struct numbers are doubles on the wire; whole ones come back as integers so that
        // `50.0` reads as `50` where an integer is meant.
        Some(Kind::NumberValue(n)) => {
            if n.fract() == 0.0 && n.abs() < 9.007_199_254_740_992e15 {
                #[allow(clippy::cast_possible_truncation)]
                serde_json::Value::Number(Number::from(*n as i64))
            } else {
                Number::from_f64(*n).map_or(serde_json::Value::Null, serde_json::Value::Number)
            }
        }
        Some(Kind::StringValue(s)) => serde_json::Value::String(s.clone()),
        Some(Kind::ListValue(l)) => {
            serde_json::Value::Array(l.values.iter().map(value_to_json).collect())
        }
        Some(Kind::StructValue(s)) => serde_json::Value::Object(struct_to_json(s)),
    }
}

/// JSON → `google.protobuf.Value`.
pub fn json_to_value(v: &serde_json::Value) -> Value {
    let kind = match v {
        serde_json::Value::Null => Kind::NullValue(0),
        serde_json::Value::Bool(b) => Kind::BoolValue(*b),
        serde_json::Value::Number(n) => Kind::NumberValue(n.as_f64().unwrap_or(0.0)),
        serde_json::Value::String(s) => Kind::StringValue(s.clone()),
        serde_json::Value::Array(a) => Kind::ListValue(ListValue {
            values: a.iter().map(json_to_value).collect(),
        }),
        serde_json::Value::Object(o) => Kind::StructValue(json_to_struct(o)),
    };
    Value { kind: Some(kind) }
}

pub fn json_to_struct(o: &Map<String, serde_json::Value>) -> Struct {
    Struct {
        fields: o
            .iter()
            .map(|(k, v)| (k.clone(), json_to_value(v)))
            .collect(),
    }
}

fn now() -> Timestamp {
    let d = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp {
        seconds: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        nanos: i32::try_from(d.subsec_nanos()).unwrap_or(0),
    }
}

/// The response to `request`: the same trace, a fresh unit, `payload`, one more provenance
/// label, and the time taken since `started`.
pub fn respond(
    request: &ContextUnit,
    label: &str,
    started: Instant,
    payload: &Map<String, serde_json::Value>,
) -> ContextUnit {
    let trace_id = if request.trace_id.is_empty() {
        uuid::Uuid::new_v4().to_string()
    } else {
        request.trace_id.clone()
    };
    let mut provenance = request.provenance.clone();
    provenance.push(label.to_owned());
    ContextUnit {
        unit_id: uuid::Uuid::new_v4().to_string(),
        trace_id,
        parent_unit_id: request.unit_id.clone(),
        modality: request.modality,
        payload: Some(json_to_struct(payload)),
        chain_of_thought: Vec::new(),
        metrics: Some(UnitMetrics {
            latency_ms: i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX),
            ..UnitMetrics::default()
        }),
        security: request.security.clone(),
        created_at: Some(now()),
        provenance,
    }
}

/// The clients' error convention: `{error, error_type}` in the payload.
pub fn error_payload(error_type: &str, message: &str) -> Map<String, serde_json::Value> {
    let mut m = Map::new();
    m.insert("error".into(), message.into());
    m.insert("error_type".into(), error_type.into());
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_doubles_read_as_integers_and_json_round_trips() {
        let json = serde_json::json!({"batch_size": 50.0, "ratio": 0.5, "tags": ["a", null, true], "nested": {"n": 3}});
        let back = struct_to_json(&json_to_struct(json.as_object().expect("object")));
        assert_eq!(
            serde_json::Value::Object(back),
            serde_json::json!({"batch_size": 50, "ratio": 0.5, "tags": ["a", null, true], "nested": {"n": 3}})
        );
    }

    #[test]
    fn responses_keep_the_trace_and_point_at_the_request() {
        let request = ContextUnit {
            unit_id: "u-1".into(),
            trace_id: "t-1".into(),
            provenance: vec!["client".into()],
            ..ContextUnit::default()
        };
        let r = respond(&request, "worker:test", Instant::now(), &Map::new());
        assert_eq!(
            (r.trace_id.as_str(), r.parent_unit_id.as_str()),
            ("t-1", "u-1")
        );
        assert_ne!(r.unit_id, "u-1");
        assert_eq!(r.provenance, ["client", "worker:test"]);
        assert!(r.metrics.is_some() && r.created_at.is_some());
    }
}
