"""Waiting for a workflow to be quiet on the time-skipping test server, and closing it then.

The time-skipping server stops skipping for good (for every workflow on it) when a workflow
is terminated, or its worker stopped, under an activity no worker will complete. So a
simulation, like a test, ends its workflow only once it is idle, while its worker still runs.
"""

from __future__ import annotations

import asyncio
from typing import Any

from temporalio.client import WorkflowExecutionStatus, WorkflowHandle


async def settle(handle: WorkflowHandle[Any, Any]) -> None:
    """Wait until a workflow is quiet: no activity in flight and no workflow task pending
    (a pending task may be about to schedule one)."""
    quiet = 0
    for _ in range(400):
        described = await handle.describe()
        if described.status != WorkflowExecutionStatus.RUNNING:
            return
        raw = described.raw_description
        busy = raw.pending_activities or raw.HasField("pending_workflow_task")
        quiet = 0 if busy else quiet + 1
        if quiet >= 2:
            return
        await asyncio.sleep(0.025)


async def terminate_when_idle(handle: WorkflowHandle[Any, Any], reason: str = "test over") -> None:
    """Terminate a workflow left running once it is quiet."""
    await settle(handle)
    if (await handle.describe()).status == WorkflowExecutionStatus.RUNNING:
        await handle.terminate(reason)
