"""The bare-Temporal baseline: the same shape as company setup, without HTTP or SQL.

One workflow per application runs three activities in parallel (the three departments'
steps) and waits for three signals (their decisions), then completes.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import activity, workflow

STEPS = ("registration", "seal", "invoice")


@activity.defn
async def open_step(step: str) -> str:
    return step


@workflow.defn
class BaselineWorkflow:
    def __init__(self) -> None:
        self.decided: set[str] = set()

    @workflow.run
    async def run(self) -> int:
        await asyncio.gather(
            *(
                workflow.execute_activity(
                    open_step, step, start_to_close_timeout=timedelta(seconds=30)
                )
                for step in STEPS
            )
        )
        await workflow.wait_condition(lambda: self.decided >= set(STEPS))
        return len(self.decided)

    @workflow.signal
    def decide(self, step: str) -> None:
        self.decided.add(step)
