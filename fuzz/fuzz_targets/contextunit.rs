//! A ContextUnit is decoded from any gRPC peer's bytes, and its payload converted to JSON:
//! neither may panic, and the conversion is stable once normalized (JSON → Struct → JSON →
//! Struct gives the same Struct).
#![no_main]

use contextworker_unit::pb::core::ContextUnit;
use contextworker_unit::unit::{json_to_struct, struct_to_json};
use libfuzzer_sys::fuzz_target;
use prost::Message as _;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode % 2 == 0 {
        // Raw protobuf, as it comes off the wire.
        if let Ok(unit) = ContextUnit::decode(rest)
            && let Some(payload) = &unit.payload
        {
            let json = struct_to_json(payload);
            let again = struct_to_json(&json_to_struct(&json));
            assert_eq!(json, again);
        }
    } else if let Ok(serde_json::Value::Object(map)) = serde_json::from_slice(rest) {
        // A JSON payload, as a client library builds it.
        let once = struct_to_json(&json_to_struct(&map));
        let twice = struct_to_json(&json_to_struct(&once));
        assert_eq!(once, twice);
        let unit = ContextUnit {
            payload: Some(json_to_struct(&once)),
            ..ContextUnit::default()
        };
        let decoded = ContextUnit::decode(unit.encode_to_vec().as_slice()).expect("round trip");
        assert_eq!(decoded, unit);
    }
});
