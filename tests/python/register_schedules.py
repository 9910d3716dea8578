"""RegisterSchedules from a client generated from proto/ with grpcio-tools, run by
host/cli/tests/schedules.rs: the original's two schedules registered (twice: the second time
updates), then refusals: another tenant, a workflow type not open to schedules, a bad cron, a
token without worker:schedule. Prints one JSON document of the answers' payloads.

Usage: register_schedules.py PROTO_DIR ADDRESS TOKEN READ_ONLY_TOKEN OUT_DIR
"""

import importlib
import json
import os
import sys
import uuid

from grpc_client import generate


def main() -> None:
    proto_dir, address, token, read_only, out_dir = sys.argv[1:6]
    generate(proto_dir, out_dir)
    import grpc
    from google.protobuf import json_format, struct_pb2

    unit_pb2 = importlib.import_module("contextunity.core.contextunit_pb2")
    worker_grpc = importlib.import_module("contextunity.worker.worker_pb2_grpc")
    stub = worker_grpc.WorkerServiceStub(grpc.insecure_channel(address))

    def register(payload: dict, bearer: str = token) -> dict:
        s = struct_pb2.Struct()
        s.update(payload)
        unit = unit_pb2.ContextUnit(unit_id=str(uuid.uuid4()), trace_id="py-sched", payload=s)
        answer = stub.RegisterSchedules(
            unit, metadata=[("authorization", f"Bearer {bearer}")], timeout=30
        )
        return json_format.MessageToDict(answer.payload)

    def schedule(schedule_id, workflow, cron, args, **extra):
        return dict(
            schedule_id=schedule_id,
            workflow_name=workflow,
            task_queue="harvester-tasks",
            cron=cron,
            args=args,
            **extra,
        )

    originals = [
        schedule("harvester-daily", "HarvestWorkflow", "0 6 * * *", ["all", "acme"],
                 description="every supplier, daily"),
        schedule("gardener-every-5min", "GardenerWorkflow", "*/5 * * * *", ["acme", 50, 10]),
    ]
    ok = {"project_id": "shop", "tenant_id": "acme", "schedules": originals}
    out = {
        "first": register(ok),
        "again": register(ok),
        "other_tenant": register({**ok, "tenant_id": "beta"}),
        "other_tenant_in_args": register(
            {**ok, "schedules": [schedule("x", "GardenerWorkflow", "@daily", ["beta"])]}
        ),
        "workflow": register(
            {**ok, "schedules": [schedule("x", "DropTablesWorkflow", "@daily", [])]}
        ),
        "cron": register(
            {**ok, "schedules": [originals[0], schedule("x", "GardenerWorkflow", "0 25 * * *", [])]}
        ),
        "no_project": register({"tenant_id": "acme", "schedules": originals}),
        "read_only": register(ok, read_only),
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
    # The gRPC extension can abort the interpreter while it finalizes ("PyGILState_Release:
    # thread state ... must be current") after all the work succeeded: leave without finalizing.
    sys.stdout.flush()
    os._exit(0)
