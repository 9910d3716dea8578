"""A ContextUnity-style client generated from proto/ with grpcio-tools, run by
host/cli/tests/grpc.rs against a running host: StartWorkflow (a harvest), GetTaskStatus until
it completes, ExecuteCode with a wasm component and with a JavaScript snippet. Prints one JSON
document.

Usage: grpc_client.py PROTO_DIR ADDRESS TOKEN SUPPLIER WASM OUT_DIR
"""

import base64
import importlib
import json
import os
import subprocess
import sys
import time
import uuid


def generate(proto_dir: str, out_dir: str) -> None:
    os.makedirs(out_dir, exist_ok=True)
    subprocess.run(
        [
            sys.executable, "-m", "grpc_tools.protoc",
            f"-I{proto_dir}", f"--python_out={out_dir}", f"--grpc_python_out={out_dir}",
            os.path.join(proto_dir, "contextunity/core/contextunit.proto"),
            os.path.join(proto_dir, "contextunity/worker/worker.proto"),
        ],
        check=True,
    )
    sys.path.insert(0, out_dir)


def main() -> None:
    proto_dir, address, token, supplier, wasm, out_dir = sys.argv[1:7]
    generate(proto_dir, out_dir)
    import grpc
    from google.protobuf import json_format, struct_pb2

    unit_pb2 = importlib.import_module("contextunity.core.contextunit_pb2")
    worker_grpc = importlib.import_module("contextunity.worker.worker_pb2_grpc")

    channel = grpc.insecure_channel(address)
    stub = worker_grpc.WorkerServiceStub(channel)
    metadata = [("authorization", f"Bearer {token}")]

    def unit(payload: dict, trace_id: str = "py-trace"):
        s = struct_pb2.Struct()
        s.update(payload)
        return unit_pb2.ContextUnit(unit_id=str(uuid.uuid4()), trace_id=trace_id, payload=s)

    def payload(u) -> dict:
        return json_format.MessageToDict(u.payload)

    started = stub.StartWorkflow(
        unit({"workflow_type": "harvest", "supplier_code": supplier, "request_id": str(uuid.uuid4())}),
        metadata=metadata, timeout=30,
    )
    start = payload(started)
    final = {}
    for _ in range(150):
        status = stub.GetTaskStatus(unit({"workflow_id": start["workflow_id"]}), metadata=metadata, timeout=30)
        final = payload(status)
        if final.get("status") in ("completed", "failed"):
            break
        time.sleep(0.2)
    with open(wasm, "rb") as f:
        code = base64.b64encode(f.read()).decode()
    executed = stub.ExecuteCode(
        unit({"code": code, "language": "wasm", "input": "hello world", "timeout_ms": 2000}),
        metadata=metadata, timeout=30,
    )
    js = stub.ExecuteCode(
        unit({"code": "input.map(x => x * 2)", "language": "javascript", "input": [1, 2, 3]}),
        metadata=metadata, timeout=30,
    )
    print(json.dumps({
        "start": start,
        "final": final,
        "exec": payload(executed),
        "exec_trace_id": executed.trace_id,
        "js": payload(js),
    }))


if __name__ == "__main__":
    main()
