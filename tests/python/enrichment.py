"""Enrichment from Python, run by host/cli/tests/enrichment.rs against a live worker.

Starts the Rust `EnrichmentWorkflow` and `GardenerWorkflow` by name with the original
ContextWorker's argument shapes: `{tenant_id, product_ids}`, then `GardenerWorkflow(tenant_id,
batch_size, max_batches)` positionally, twice, then one bad argument.

Prints one JSON document on stdout. Usage:
    enrichment.py ADDRESS QUEUE TENANT
"""

import asyncio
import json
import sys
import uuid

from temporalio.client import Client, WorkflowFailureError


async def main() -> None:
    address, queue, tenant = sys.argv[1:4]
    client = await Client.connect(address)

    async def run(name, *args):
        return await client.execute_workflow(
            name,
            args=list(args),
            id=f"py-{name}-{uuid.uuid4()}",
            task_queue=queue,
        )

    out = {}
    out["ids"] = await run(
        "EnrichmentWorkflow",
        {"tenant_id": tenant, "product_ids": ["pyshop/p000", "pyshop/p001"]},
    )
    out["gardener"] = await run("GardenerWorkflow", tenant, 50, 2)
    out["gardener_again"] = await run("GardenerWorkflow", tenant, 50, 10)
    try:
        await run("EnrichmentWorkflow", {"tenant_id": tenant, "product_ids": ["no-slash"]})
        out["bad"] = "returned"
    except WorkflowFailureError as e:
        cause = e.cause
        out["bad"] = {"type": getattr(cause, "type", None), "message": str(cause)}
    print(json.dumps(out))


asyncio.run(main())
