"""Cross-language check, run by host/cli/tests/cross_language.rs against a live worker.

1. A Python client starts the Rust `HarvestWorkflow` by name and reads its result.
2. A Python workflow (served here, on its own task queue) calls module activities of the Rust
   worker by name with JSON arguments: a code module, then a hostile module that runs past
   its deadline (a non-retryable GuestTimeout), then the same module behaving, then the
   `taxonomy-rules` enricher on two products.

Prints one JSON document on stdout. Usage:
    cross_language.py ADDRESS RUST_QUEUE SUPPLIER TENANT
"""

import asyncio
import os
import json
import sys
import uuid
from datetime import timedelta

from temporalio import workflow
from temporalio.client import Client
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.worker import UnsandboxedWorkflowRunner, Worker


@workflow.defn(name="PyCallsModules")
class PyCallsModules:
    @workflow.run
    async def run(self, rust_queue: str) -> dict:
        opts = dict(
            task_queue=rust_queue,
            start_to_close_timeout=timedelta(seconds=60),
            retry_policy=RetryPolicy(maximum_attempts=3),
        )
        stats = await workflow.execute_activity("text-stats", "one two three\nfour", **opts)
        hostile = {}
        try:
            await workflow.execute_activity("hostile", "loop", **opts)
            hostile["loop"] = "returned"
        except ActivityError as e:
            cause = e.cause
            hostile["loop"] = {
                "type": getattr(cause, "type", None),
                "non_retryable": getattr(cause, "non_retryable", None),
                "message": str(cause),
            }
        hostile["ok"] = await workflow.execute_activity("hostile", "ok", **opts)
        products = [
            {"offer_id": "k1", "name": "Чайник сталевий 1,7 л", "availability": "in_stock"},
            {"offer_id": "g1", "name": "Gift card", "availability": "unknown"},
        ]
        enriched = await workflow.execute_activity(
            "taxonomy-rules", {"products": products}, **opts
        )
        return {"text_stats": stats, "hostile": hostile, "enriched": enriched}


async def main() -> None:
    address, rust_queue, supplier, tenant = sys.argv[1:5]
    client = await Client.connect(address)
    harvest = await client.execute_workflow(
        "HarvestWorkflow",
        args=[supplier, tenant],
        id=f"py-harvest-{uuid.uuid4()}",
        task_queue=rust_queue,
        execution_timeout=timedelta(minutes=5),
    )
    py_queue = f"py-{uuid.uuid4()}"
    async with Worker(
        client,
        task_queue=py_queue,
        workflows=[PyCallsModules],
        workflow_runner=UnsandboxedWorkflowRunner(),
    ):
        modules = await client.execute_workflow(
            "PyCallsModules",
            rust_queue,
            id=f"py-modules-{uuid.uuid4()}",
            task_queue=py_queue,
            execution_timeout=timedelta(minutes=5),
        )
    print(json.dumps({"harvest": harvest, "modules": modules}))


if __name__ == "__main__":
    asyncio.run(main())
    # The gRPC extension can abort the interpreter while it finalizes ("PyGILState_Release:
    # thread state ... must be current") after all the work succeeded: leave without finalizing.
    sys.stdout.flush()
    os._exit(0)
