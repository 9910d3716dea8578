"""An OTLP/gRPC trace receiver for the tracing tests: the collector side of the protocol, from
the OpenTelemetry project's own generated code (`opentelemetry-proto`), served with grpcio.

Writes one JSON object per received span to OUT, flushed as it comes:
{"trace_id", "span_id", "parent_span_id", "name", "kind", "status", "service", "pid",
 "attributes": {key: value}, "events": [{"name", "attributes"}]}. OUT exists (empty) once the
receiver listens. Runs until killed.

Usage: python3 otlp_receiver.py PORT OUT
"""

import json
import os
import sys
from concurrent import futures

import grpc
from opentelemetry.proto.collector.trace.v1 import (
    trace_service_pb2,
    trace_service_pb2_grpc,
)


def value_of(any_value):
    kind = any_value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [value_of(v) for v in any_value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: value_of(kv.value) for kv in any_value.kvlist_value.values}
    if kind == "bytes_value":
        return any_value.bytes_value.hex()
    return getattr(any_value, kind)


def attributes(kvs):
    return {kv.key: value_of(kv.value) for kv in kvs}


class Receiver(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self, out):
        self.out = out

    def Export(self, request, context):
        for resource_spans in request.resource_spans:
            resource = attributes(resource_spans.resource.attributes)
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    record = {
                        "trace_id": span.trace_id.hex(),
                        "span_id": span.span_id.hex(),
                        "parent_span_id": span.parent_span_id.hex(),
                        "name": span.name,
                        "kind": span.kind,
                        "status": span.status.code,
                        "start_ns": span.start_time_unix_nano,
                        "end_ns": span.end_time_unix_nano,
                        "service": resource.get("service.name"),
                        "pid": resource.get("process.pid"),
                        "attributes": attributes(span.attributes),
                        "events": [
                            {"name": e.name, "attributes": attributes(e.attributes)}
                            for e in span.events
                        ],
                    }
                    self.out.write(json.dumps(record) + "\n")
        self.out.flush()
        return trace_service_pb2.ExportTraceServiceResponse()


def main() -> None:
    port, path = int(sys.argv[1]), sys.argv[2]
    # Guest log lines arrive as span events: allow messages larger than grpc's 4 MiB default.
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=4),
        options=[("grpc.max_receive_message_length", 64 << 20)],
    )
    out = open(path + ".part", "w", encoding="utf-8")
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(Receiver(out), server)
    server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()
    os.rename(path + ".part", path)
    server.wait_for_termination()


if __name__ == "__main__":
    main()
