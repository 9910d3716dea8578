"""Swap-under-load driver, run by host/cli/tests/hotswap.rs against a live Rust worker.

A Python workflow (served here, on its own task queue) downloads one feed through the Rust
worker, then schedules N `parse_products` activities on the Rust worker's queue at once, while
the test drops a new version of the parsing module into the worker's modules directory. Every
activity's outcome is collected; none may fail.

Prints one JSON document on stdout: {"workflow_id", "results": [{"digest", "version"} | {"error"}]}.
Usage:
    swap_load.py ADDRESS RUST_QUEUE FEED_URL N
"""

import asyncio
import json
import os
import sys
import uuid
from datetime import timedelta

from temporalio import workflow
from temporalio.client import Client
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError
from temporalio.worker import UnsandboxedWorkflowRunner, Worker


@workflow.defn(name="PySwapLoad")
class PySwapLoad:
    @workflow.run
    async def run(self, rust_queue: str, feed_url: str, n: int) -> list:
        opts = dict(
            task_queue=rust_queue,
            start_to_close_timeout=timedelta(minutes=5),
            # One attempt: a failure caused by the swap must show, not be retried away.
            retry_policy=RetryPolicy(maximum_attempts=1),
        )
        fetched = await workflow.execute_activity("download_feed", {"url": feed_url}, **opts)

        async def parse(i: int) -> dict:
            try:
                out = await workflow.execute_activity(
                    "parse_products", {"feed": fetched["feed"], "module": "yml"}, **opts
                )
                return {"digest": out["module"]["digest"], "version": out["module"]["version"],
                        "parsed": out["parsed"]}
            except ActivityError as e:
                return {"error": str(e.cause)}

        return list(await asyncio.gather(*(parse(i) for i in range(n))))


async def main() -> None:
    address, rust_queue, feed_url, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    client = await Client.connect(address)
    py_queue = f"py-{uuid.uuid4()}"
    workflow_id = f"py-swap-load-{uuid.uuid4()}"
    async with Worker(
        client,
        task_queue=py_queue,
        workflows=[PySwapLoad],
        workflow_runner=UnsandboxedWorkflowRunner(),
    ):
        results = await client.execute_workflow(
            PySwapLoad.run,
            args=[rust_queue, feed_url, n],
            id=workflow_id,
            task_queue=py_queue,
            execution_timeout=timedelta(minutes=10),
        )
    print(json.dumps({"workflow_id": workflow_id, "results": results}), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
    # grpcio's threads can crash the interpreter while it finalizes ("PyGILState_Release ...
    # finalizing"), turning a good run into a failed exit: the result is printed, leave now.
    os._exit(0)
