//! `exec`: run a `code` component once, like the ExecuteCode RPC does.

use std::io::Write;
use std::time::Duration;

use contextworker_runtime::{CallError, CallSpec, Data, Limits, MIB, Metering};
use contextworker_types::World;
use serde_json::json;

use crate::cli::{ExecArgs, GlobalArgs};
use crate::commands::{EXIT_FAILED, EXIT_OK, EXIT_SETUP, cancel_on_ctrl_c};
use crate::{context, report};

pub async fn run(args: &GlobalArgs, exec: ExecArgs) -> anyhow::Result<u8> {
    let config = context::host_config(args)?;
    let runtime = context::runtime(&config)?;
    let input = match read_input(exec.input.as_deref()) {
        Ok(input) => input,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(EXIT_SETUP);
        }
    };
    let metering = if exec.fuel.is_some() {
        Metering::Fuel
    } else {
        Metering::Epoch
    };
    let (component_path, input) = match &exec.js {
        Some(script) => match js_request(&config.modules_dir, script, input) {
            Ok(pair) => pair,
            Err(e) => {
                eprintln!("error: {e}");
                return Ok(EXIT_SETUP);
            }
        },
        None => (exec.component.clone().unwrap_or_default(), input),
    };
    let component = match runtime
        .load_file(&component_path, World::Code, metering)
        .await
    {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(EXIT_SETUP);
        }
    };
    let limits = Limits {
        memory_bytes: exec.memory_mb.saturating_mul(MIB),
        timeout: Duration::from_millis(exec.timeout_ms),
        fuel: exec.fuel,
        max_output_bytes: exec.max_output_bytes,
        ..Limits::for_world(World::Code)
    };
    if limits.memory_bytes > runtime.config().max_memory_bytes || exec.memory_mb == 0 {
        eprintln!(
            "error: --memory-mb {} is outside 1..={} (the host's sandbox.max_memory_mb)",
            exec.memory_mb,
            runtime.config().max_memory_bytes / MIB
        );
        return Ok(EXIT_SETUP);
    }
    let name = component_path.file_stem().map_or_else(
        || "component".to_owned(),
        |s| s.to_string_lossy().into_owned(),
    );
    let spec = CallSpec::new(name, "file", limits)
        .with_config(exec.config)
        .with_cancel(cancel_on_ctrl_c());
    let outcome = runtime.run_code(&component, &spec, input).await;

    if exec.json {
        let (output, error) = match &outcome.result {
            Ok(Data::Text(s)) => (json!({ "text": s }), json!(null)),
            Ok(Data::Binary(b)) => (json!({ "binary_len": b.len() }), json!(null)),
            Err(e) => (
                json!(null),
                json!({ "type": e.class().name(), "message": e.to_string(), "retryable": e.is_retryable() }),
            ),
        };
        let doc = json!({
            "output": output,
            "error": error,
            "stdout": outcome.stdout.text(),
            "stdout_truncated": outcome.stdout.truncated,
            "stderr": outcome.stderr.text(),
            "stderr_truncated": outcome.stderr.truncated,
            "receipt": outcome.receipt,
        });
        println!("{doc}");
    } else {
        report::print_guest_stream("stdout", &outcome.stdout);
        report::print_guest_stream("stderr", &outcome.stderr);
        match &outcome.result {
            Ok(Data::Text(text)) => {
                println!("{text}");
            }
            Ok(Data::Binary(bytes)) => {
                std::io::stdout().write_all(bytes)?;
            }
            Err(e) => eprintln!("{}", report::error_line(e)),
        }
        eprintln!("{}", report::receipt_line(&outcome.receipt));
    }
    Ok(match outcome.result {
        Ok(_) => EXIT_OK,
        Err(CallError::Host(_)) => EXIT_SETUP,
        Err(_) => EXIT_FAILED,
    })
}

/// The js module's component and the `{source, input}` document it takes.
fn js_request(
    modules_dir: &std::path::Path,
    script: &std::path::Path,
    input: Data,
) -> Result<(std::path::PathBuf, Data), String> {
    let manifest = contextworker_registry::Manifest::read(
        &modules_dir
            .join("js")
            .join(contextworker_registry::MANIFEST_FILE),
        u64::MAX,
    )
    .map_err(|e| {
        format!(
            "--js needs the `js` module in {}: {e}",
            modules_dir.display()
        )
    })?;
    let source = std::fs::read_to_string(script)
        .map_err(|e| format!("cannot read {}: {e}", script.display()))?;
    let input = match input {
        Data::Text(t) if t.is_empty() => serde_json::Value::Null,
        Data::Text(t) => serde_json::from_str(&t).unwrap_or(serde_json::Value::String(t)),
        Data::Binary(_) => return Err("--js takes text input".to_owned()),
    };
    let request = json!({ "source": source, "input": input });
    Ok((manifest.component, Data::Text(request.to_string())))
}

fn read_input(arg: Option<&str>) -> Result<Data, String> {
    match arg {
        None => Ok(Data::Text(String::new())),
        Some(path) if path.starts_with('@') => {
            let path = &path[1..];
            let bytes = std::fs::read(path)
                .map_err(|e| format!("cannot read the input file {path}: {e}"))?;
            Ok(String::from_utf8(bytes).map_or_else(|e| Data::Binary(e.into_bytes()), Data::Text))
        }
        Some(text) => Ok(Data::Text(text.to_owned())),
    }
}
