//! The JavaScript engine behind ExecuteCode's `javascript` language: Boa (a JavaScript engine
//! written in Rust) compiled into a `code` component, so a script gets exactly the sandbox any
//! component gets: no files, no network, the caller's memory and time limits.
//!
//! Input: `{"source": "<script>", "input": <any JSON>}`. The script sees `input` as a global
//! and `console.log` (printed to the captured stdout). The result is the script's completion
//! value: a string as is, anything else as JSON. A syntax error or an uncaught exception is an
//! `invalid-input` error with the engine's message.

use boa_engine::object::ObjectInitializer;
use boa_engine::property::Attribute;
use boa_engine::{Context, JsResult, JsValue, NativeFunction, Source, js_string};
use contextworker_guest::{Code, Config, Data, ModuleError};

pub struct Js;

fn log(_this: &JsValue, args: &[JsValue], ctx: &mut Context) -> JsResult<JsValue> {
    let parts: Vec<String> = args
        .iter()
        .map(|a| match a.as_string() {
            Some(s) => Ok(s.to_std_string_escaped()),
            None => a.to_string(ctx).map(|s| s.to_std_string_escaped()),
        })
        .collect::<JsResult<_>>()?;
    println!("{}", parts.join(" "));
    Ok(JsValue::undefined())
}

fn script_error(e: impl std::fmt::Display) -> ModuleError {
    ModuleError::invalid_input(e.to_string())
}

/// Run `source` with `input` bound; returns the result text.
pub fn run_script(source: &str, input: &serde_json::Value) -> Result<String, ModuleError> {
    let mut ctx = Context::default();
    let value = JsValue::from_json(input, &mut ctx).map_err(script_error)?;
    ctx.register_global_property(js_string!("input"), value, Attribute::all())
        .map_err(script_error)?;
    let console = ObjectInitializer::new(&mut ctx)
        .function(NativeFunction::from_fn_ptr(log), js_string!("log"), 0)
        .build();
    ctx.register_global_property(js_string!("console"), console, Attribute::all())
        .map_err(script_error)?;
    let result = ctx
        .eval(Source::from_bytes(source.as_bytes()))
        .map_err(script_error)?;
    if let Some(s) = result.as_string() {
        return Ok(s.to_std_string_escaped());
    }
    if result.is_undefined() {
        return Ok("null".to_owned());
    }
    let json = result.to_json(&mut ctx).map_err(script_error)?;
    Ok(json.map_or_else(|| "null".to_owned(), |v| v.to_string()))
}

impl Code for Js {
    fn run(input: Data, _config: &Config) -> Result<Data, ModuleError> {
        let text = match &input {
            Data::Text(s) => s.as_str(),
            Data::Binary(b) => std::str::from_utf8(b)
                .map_err(|e| ModuleError::invalid_input(format!("input is not UTF-8: {e}")))?,
        };
        let request: serde_json::Value = serde_json::from_str(text).map_err(|e| {
            ModuleError::invalid_input(format!("input must be JSON {{source, input}}: {e}"))
        })?;
        let source = request
            .get("source")
            .and_then(serde_json::Value::as_str)
            .ok_or_else(|| ModuleError::invalid_input("input.source (the script) is missing"))?;
        let input = request
            .get("input")
            .cloned()
            .unwrap_or(serde_json::Value::Null);
        run_script(source, &input).map(Data::Text)
    }
}

contextworker_guest::export_code!(Js);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completion_values_become_results() {
        assert_eq!(
            run_script("1 + 2", &serde_json::Value::Null).expect("runs"),
            "3"
        );
        assert_eq!(
            run_script("'a' + input.x", &serde_json::json!({"x": "b"})).expect("runs"),
            "ab"
        );
        assert_eq!(
            run_script(
                "({n: input.length, first: input[0]})",
                &serde_json::json!([5, 6])
            )
            .expect("runs"),
            r#"{"first":5,"n":2}"#
        );
    }

    #[test]
    fn errors_are_invalid_input_with_the_engine_message() {
        let e = run_script("let = ;", &serde_json::Value::Null).expect_err("syntax");
        assert!(
            e.to_string().contains("SyntaxError") || e.to_string().contains("expected"),
            "{e}"
        );
        let e = run_script("throw new Error('boom')", &serde_json::Value::Null).expect_err("throw");
        assert!(e.to_string().contains("boom"), "{e}");
    }
}
