//! `rpc`: a small client for a running host's gRPC WorkerService.

use base64::Engine as _;
use contextworker_grpc::pb::core::ContextUnit;
use contextworker_grpc::pb::worker::worker_service_client::WorkerServiceClient;
use contextworker_grpc::unit::{json_to_struct, struct_to_json};
use serde_json::{Value, json};

use crate::cli::{RpcArgs, RpcCall};
use crate::commands::{EXIT_FAILED, EXIT_OK};

pub async fn run(args: RpcArgs) -> anyhow::Result<u8> {
    let payload = match &args.call {
        RpcCall::Start { payload } => serde_json::from_str::<Value>(payload)
            .map_err(|e| anyhow::anyhow!("the payload is not JSON: {e}"))?,
        RpcCall::Status { workflow_id } => json!({ "workflow_id": workflow_id }),
        RpcCall::Exec {
            file,
            input,
            json_input,
            timeout_ms,
        } => {
            let bytes =
                std::fs::read(file).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            let is_js = file.extension().is_some_and(|e| e == "js");
            let code = if is_js {
                String::from_utf8(bytes)
                    .map_err(|_| anyhow::anyhow!("{}: not UTF-8", file.display()))?
            } else {
                base64::engine::general_purpose::STANDARD.encode(bytes)
            };
            let input = if *json_input {
                serde_json::from_str(input)
                    .map_err(|e| anyhow::anyhow!("--input is not JSON: {e}"))?
            } else {
                Value::String(input.clone())
            };
            json!({
                "code": code,
                "language": if is_js { "javascript" } else { "wasm" },
                "input": input,
                "timeout_ms": timeout_ms,
            })
        }
    };
    let Some(object) = payload.as_object() else {
        anyhow::bail!("the payload must be a JSON object");
    };
    let mut client = WorkerServiceClient::connect(args.addr.clone())
        .await
        .map_err(|e| anyhow::anyhow!("cannot reach {}: {e}", args.addr))?;
    let mut request = contextworker_grpc::tonic::Request::new(ContextUnit {
        unit_id: format!("cli-{}", std::process::id()),
        trace_id: format!(
            "cli-{:x}",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default()
        ),
        payload: Some(json_to_struct(object)),
        ..ContextUnit::default()
    });
    request.metadata_mut().insert(
        "authorization",
        format!("Bearer {}", args.token)
            .parse()
            .map_err(|_| anyhow::anyhow!("the token has characters a header cannot carry"))?,
    );
    let response = match &args.call {
        RpcCall::Start { .. } => client.start_workflow(request).await,
        RpcCall::Status { .. } => client.get_task_status(request).await,
        RpcCall::Exec { .. } => client.execute_code(request).await,
    }
    .map_err(|s| anyhow::anyhow!("{:?}: {}", s.code(), s.message()))?
    .into_inner();
    let out = response
        .payload
        .as_ref()
        .map(struct_to_json)
        .unwrap_or_default();
    println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
    Ok(if out.contains_key("error") {
        EXIT_FAILED
    } else {
        EXIT_OK
    })
}
