//! Raw payloads ⇄ JSON, without the SDK's panicking conveniences (`RawValue::to_value`
//! unwraps): a caller's bad argument must fail its activity or workflow with a typed error,
//! never the worker.
//!
//! Arguments may come positionally (`args=["demo", "tenant-a"]`, as the original Python
//! workflows pass them) or as one object (`{"supplier_code": "demo"}`); [`from_args`] accepts
//! both for any struct by matching positions to its field names.

use serde::Serialize;
use serde::de::DeserializeOwned;
use temporalio_common::data_converters::RawValue;
use temporalio_common::protos::temporal::api::common::v1::Payload;

const ENCODING: &str = "encoding";
const JSON: &[u8] = b"json/plain";
const NULL: &[u8] = b"binary/null";
const BINARY: &[u8] = b"binary/plain";

/// Why arguments could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ArgError {
    #[error("argument {index} has encoding {encoding:?}; send JSON (json/plain)")]
    Encoding { index: usize, encoding: String },
    #[error("argument {index} is not valid JSON: {reason}")]
    Json { index: usize, reason: String },
    #[error("{reason} (expected {expected})")]
    Shape {
        reason: String,
        expected: &'static str,
    },
}

/// One JSON value per payload. `binary/plain` becomes an array of byte values.
pub fn decode(raw: &RawValue) -> Result<Vec<serde_json::Value>, ArgError> {
    raw.payloads
        .iter()
        .enumerate()
        .map(|(index, p)| {
            let encoding = p.metadata.get(ENCODING).map(Vec::as_slice).unwrap_or(b"");
            match encoding {
                JSON => serde_json::from_slice(&p.data).map_err(|e| ArgError::Json {
                    index,
                    reason: e.to_string(),
                }),
                NULL => Ok(serde_json::Value::Null),
                BINARY => Ok(serde_json::Value::from(p.data.clone())),
                other => Err(ArgError::Encoding {
                    index,
                    encoding: String::from_utf8_lossy(other).into_owned(),
                }),
            }
        })
        .collect()
}

/// Build `T` from positional arguments named `fields` in order, or from a single object.
/// `expected` is shown in errors, e.g. `"(supplier_code, tenant_id?)"`.
pub fn from_args<T: DeserializeOwned>(
    raw: &RawValue,
    fields: &[&str],
    expected: &'static str,
) -> Result<T, ArgError> {
    let values = decode(raw)?;
    let object = match values.as_slice() {
        [serde_json::Value::Object(map)] => serde_json::Value::Object(map.clone()),
        _ if values.len() > fields.len() => {
            return Err(ArgError::Shape {
                reason: format!("{} arguments given", values.len()),
                expected,
            });
        }
        _ => serde_json::Value::Object(
            fields
                .iter()
                .zip(values)
                .filter(|(_, v)| !v.is_null())
                .map(|(f, v)| ((*f).to_owned(), v))
                .collect(),
        ),
    };
    serde_json::from_value(object).map_err(|e| ArgError::Shape {
        reason: e.to_string(),
        expected,
    })
}

/// One JSON payload. Never empty: a payload without an encoding breaks Python callers.
pub fn encode<T: Serialize>(value: &T) -> RawValue {
    RawValue::new(vec![json_payload(value)])
}

pub fn json_payload<T: Serialize>(value: &T) -> Payload {
    // Serializing our own message types cannot fail (no maps with non-string keys); fall
    // back to JSON null rather than an empty payload if it ever does.
    let data = serde_json::to_vec(value).unwrap_or_else(|_| b"null".to_vec());
    Payload {
        metadata: [(ENCODING.to_owned(), JSON.to_vec())].into_iter().collect(),
        data,
        ..Payload::default()
    }
}

/// Bytes as `binary/plain` (Python receives `bytes`).
pub fn binary_payload(data: Vec<u8>) -> RawValue {
    RawValue::new(vec![Payload {
        metadata: [(ENCODING.to_owned(), BINARY.to_vec())]
            .into_iter()
            .collect(),
        data,
        ..Payload::default()
    }])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messages::HarvestArgs;

    const FIELDS: &[&str] = &["supplier_code", "tenant_id"];

    fn raw(values: &[serde_json::Value]) -> RawValue {
        RawValue::new(values.iter().map(json_payload).collect())
    }

    #[test]
    fn positional_and_object_arguments_mean_the_same() {
        let positional: HarvestArgs =
            from_args(&raw(&["demo".into(), "t1".into()]), FIELDS, "x").expect("positional");
        let object: HarvestArgs = from_args(
            &raw(&[serde_json::json!({"supplier_code": "demo", "tenant_id": "t1"})]),
            FIELDS,
            "x",
        )
        .expect("object");
        assert_eq!(positional, object);
        let short: HarvestArgs = from_args(&raw(&["demo".into()]), FIELDS, "x").expect("one");
        assert_eq!(short.tenant_id, None);
    }

    #[test]
    fn bad_arguments_are_typed_errors() {
        let err = from_args::<HarvestArgs>(&raw(&[]), FIELDS, "(supplier_code, tenant_id?)")
            .expect_err("missing");
        assert!(err.to_string().contains("supplier_code"), "{err}");
        let err = from_args::<HarvestArgs>(&raw(&[1.into(), 2.into(), 3.into()]), FIELDS, "x")
            .expect_err("too many");
        assert!(err.to_string().contains("3 arguments"), "{err}");
        let mut bad = raw(&["demo".into()]);
        bad.payloads[0]
            .metadata
            .insert(ENCODING.into(), b"binary/protobuf".to_vec());
        assert!(matches!(
            from_args::<HarvestArgs>(&bad, FIELDS, "x"),
            Err(ArgError::Encoding { index: 0, .. })
        ));
        let mut broken = raw(&["demo".into()]);
        broken.payloads[0].data = b"{not json".to_vec();
        assert!(matches!(
            decode(&broken),
            Err(ArgError::Json { index: 0, .. })
        ));
    }

    #[test]
    fn encoded_payloads_always_carry_an_encoding() {
        let p = encode(&serde_json::Value::Null);
        assert_eq!(p.payloads.len(), 1);
        assert_eq!(
            p.payloads[0].metadata.get(ENCODING).map(Vec::as_slice),
            Some(JSON)
        );
    }
}
