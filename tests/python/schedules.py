"""Schedules across languages: a schedule made by contextworker-host is read and paused with the
Python SDK's ScheduleHandle, and one made here is left for the host to list.

usage: schedules.py ADDRESS HOST_SCHEDULE_ID NEW_SCHEDULE_ID TASK_QUEUE
prints one JSON document.
"""

import asyncio
import json
import os
import sys
from datetime import timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleIntervalSpec,
    ScheduleSpec,
)


async def main(address: str, host_id: str, new_id: str, queue: str) -> None:
    client = await Client.connect(address)
    handle = client.get_schedule_handle(host_id)
    before = await handle.describe()
    action = before.schedule.action
    assert isinstance(action, ScheduleActionStartWorkflow), action
    decoded = await client.data_converter.decode(list(action.args))
    await handle.pause(note="paused from python")
    after = await handle.describe()
    await client.create_schedule(
        new_id,
        Schedule(
            action=ScheduleActionStartWorkflow(
                "GardenerWorkflow", "pytenant", id="py-gardener", task_queue=queue
            ),
            spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=timedelta(hours=1))]),
        ),
    )
    print(
        json.dumps(
            {
                "host_schedule": {
                    "workflow": action.workflow,
                    "task_queue": action.task_queue,
                    "args": decoded,
                    "memo": await before.memo(),
                    "paused_after": after.schedule.state.paused,
                    "note_after": after.schedule.state.note,
                },
                "created": new_id,
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:5]))
    # The gRPC extension can abort the interpreter while it finalizes ("PyGILState_Release:
    # thread state ... must be current") after all the work succeeded: leave without finalizing.
    sys.stdout.flush()
    os._exit(0)
