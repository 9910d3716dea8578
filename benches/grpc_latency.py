"""ExecuteCode latency over gRPC, measured from a client with one persistent channel.

Usage: grpc_latency.py PROTO_DIR ADDRESS TOKEN WASM_FILE [CALLS]
Runs CALLS (default 200) JavaScript calls and CALLS wasm (text-stats) calls after one warm-up
call each (which compiles, or loads from the compile cache), and prints the median, p90 and
p99 round-trip times in milliseconds.
"""

import base64
import importlib
import os
import statistics
import subprocess
import sys
import tempfile
import time


def main() -> None:
    proto_dir, address, token, wasm = sys.argv[1:5]
    calls = int(sys.argv[5]) if len(sys.argv) > 5 else 200
    out = tempfile.mkdtemp()
    subprocess.run(
        [sys.executable, "-m", "grpc_tools.protoc", f"-I{proto_dir}", f"--python_out={out}",
         f"--grpc_python_out={out}",
         os.path.join(proto_dir, "contextunity/core/contextunit.proto"),
         os.path.join(proto_dir, "contextunity/worker/worker.proto")],
        check=True,
    )
    sys.path.insert(0, out)
    import grpc
    from google.protobuf import struct_pb2

    unit_pb2 = importlib.import_module("contextunity.core.contextunit_pb2")
    worker_grpc = importlib.import_module("contextunity.worker.worker_pb2_grpc")
    stub = worker_grpc.WorkerServiceStub(grpc.insecure_channel(address))
    md = [("authorization", f"Bearer {token}")]

    def unit(payload):
        s = struct_pb2.Struct()
        s.update(payload)
        return unit_pb2.ContextUnit(unit_id="bench", trace_id="bench", payload=s)

    with open(wasm, "rb") as f:
        code = base64.b64encode(f.read()).decode()
    cases = {
        "javascript": unit({"code": "input.a + input.b", "language": "javascript", "input": {"a": 1, "b": 2}}),
        "wasm text-stats": unit({"code": code, "input": "one two three"}),
    }
    for name, request in cases.items():
        stub.ExecuteCode(request, metadata=md)  # warm-up: compile or cache load
        times = []
        for _ in range(calls):
            start = time.perf_counter()
            reply = stub.ExecuteCode(request, metadata=md)
            times.append((time.perf_counter() - start) * 1000)
            assert "error" not in reply.payload.fields, reply.payload
        times.sort()
        print(f"{name}: {calls} calls, median {statistics.median(times):.2f} ms, "
              f"p90 {times[int(calls * 0.9)]:.2f} ms, p99 {times[int(calls * 0.99) - 1]:.2f} ms")


if __name__ == "__main__":
    main()
